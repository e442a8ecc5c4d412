// Storage fault injection, SQLite's I/O-error loop translated to Quiver's storage adapter: a
// save-and-reopen scenario runs through the package's real persistence path (VectorStore ->
// storage/persist.ts -> the wasm core) on a memory adapter that counts every storage operation
// (each load, each put and each delete inside saveBatch, each remove). For every N, the
// scenario runs again with operation N failing:
//   - "once":       operation N throws, later ones succeed;
//   - "persistent": operation N and every later one throw (the disk went away);
//   - "torn":       operation N is cut short: a put stores a truncated record, then throws
//                   (a crash mid-write; the manifest is replaced atomically, as the bundled
//                   adapters do with rename / one transaction, so a torn manifest put leaves
//                   the old manifest).
// The adapter is non-atomic on purpose (puts in order, manifest last, then deletes, like
// FileStorage), so every prefix of every save reaches storage at some N.
// After each run the faults stop and: the store opens, holds every acknowledged write (its
// state is the last acknowledged one, or the one whose save failed after its manifest landed),
// the live store (if any) saves successfully, and a reopen then equals its model exactly.
// QUIVER_FAULT_ROUNDS sets the scenario's save rounds (default 8).
import { test } from "node:test";
import assert from "node:assert/strict";
import { VectorStore, isQuiverError } from "../../pkg/dist/node.js";

const dim = 32;
const name = "faulty";
const rounds = Number(process.env.QUIVER_FAULT_ROUNDS ?? 8);

function vector(i, salt) {
  return Array.from({ length: dim }, (_, j) => {
    let h = Math.imul(i + 1 + salt * 7919, 0x9e3779b1) ^ Math.imul(j + 1, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    return ((h ^ (h >>> 12)) >>> 0) / 2 ** 31 - 1;
  });
}

class InjectedFault extends Error {}

/** A non-atomic memory adapter that counts operations and fails the chosen one(s). */
class FaultyStorage {
  constructor(failAt, mode) {
    this.records = new Map();
    this.ops = 0;
    this.failAt = failAt;
    this.mode = mode;
    this.healed = false;
    this.injected = 0;
    /** Puts per saveBatch call: a save with more than a log chunk and the manifest is full. */
    this.batches = [];
  }
  /** Counts one operation; true if it must fail. */
  #fails() {
    const n = ++this.ops;
    if (this.healed) return false;
    const fail = n === this.failAt || (this.mode === "persistent" && n > this.failAt);
    if (fail) this.injected++;
    return fail;
  }
  #throw(what) {
    throw new InjectedFault(`injected fault at operation ${this.ops} (${what})`);
  }
  async load(key) {
    if (this.#fails()) this.#throw(`load ${key}`);
    const bytes = this.records.get(key);
    return bytes && bytes.slice();
  }
  async loadRange(prefix) {
    if (this.#fails()) this.#throw(`loadRange ${prefix}`);
    return [...this.records]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, bytes]) => ({ key, bytes: bytes.slice() }));
  }
  async saveBatch(puts, deletes) {
    this.batches.push(puts.length);
    for (const { key, bytes } of puts) {
      if (this.#fails()) {
        if (this.mode === "torn" && !key.endsWith("/manifest")) {
          this.records.set(key, bytes.slice(0, bytes.length >> 1));
        }
        this.#throw(`put ${key}`);
      }
      this.records.set(key, bytes.slice());
    }
    for (const key of deletes) {
      if (this.#fails()) this.#throw(`delete ${key}`);
      this.records.delete(key);
    }
  }
  async remove(key) {
    if (this.#fails()) this.#throw(`remove ${key}`);
    this.records.delete(key);
  }
}

const clone = (model) => new Map([...model].map(([k, v]) => [k, { vector: [...v.vector], metadata: { ...v.metadata } }]));

/** Whether `store` holds exactly `model` (ids drawn from 0..idSpace). */
async function holds(store, model, idSpace) {
  const stats = await store.stats();
  if (stats.count !== model.size) return `count ${stats.count}, model ${model.size}`;
  for (let i = 0; i < idSpace; i++) {
    const id = `doc-${i}`;
    const got = await store.get(id);
    const want = model.get(id);
    if (!want) {
      if (got) return `${id} is stored but was deleted`;
      continue;
    }
    if (!got) return `${id} is missing`;
    const f32 = Float32Array.from(want.vector);
    if (got.vector.length !== dim || got.vector.some((x, j) => x !== f32[j])) return `${id}: vector differs`;
    if (JSON.stringify(got.metadata) !== JSON.stringify(want.metadata)) return `${id}: metadata differs`;
  }
  return undefined;
}

const idSpace = 300;

/**
 * The scenario: create, then `rounds` rounds of upserts/adds/deletes and a save, with one
 * close-and-reopen in the middle. Enough log accrues that the compaction policy writes a
 * full snapshot part way. Returns what the checker needs.
 */
async function scenario(storage) {
  const out = { acked: undefined, attempted: undefined, store: undefined, model: new Map(), failures: 0, saves: 0 };
  const typed = (e) => {
    if (!(isQuiverError(e, "storage_error") || isQuiverError(e, "quota_exceeded"))) throw e;
    out.failures++;
  };
  try {
    out.store = await VectorStore.create({ name, dimension: dim, metric: "l2", index: "Flat", storage });
  } catch (e) {
    typed(e);
    return out;
  }
  const model = out.model;
  for (let r = 0; r < rounds; r++) {
    const items = [];
    for (let j = 0; j < 80; j++) {
      const i = (r * 97 + j * 13) % idSpace;
      if (items.some((x) => x.id === `doc-${i}`)) continue;
      items.push({ id: `doc-${i}`, vector: vector(i, r), metadata: { i, r } });
    }
    await out.store.upsert(items);
    for (const { id, vector: v, metadata } of items) model.set(id, { vector: v, metadata });
    const doomed = [...model.keys()].filter((_, n) => n % 17 === r % 17);
    await out.store.delete(doomed);
    for (const id of doomed) model.delete(id);

    out.attempted = clone(model);
    try {
      await out.store.save();
      out.acked = out.attempted;
      out.saves++;
    } catch (e) {
      typed(e);
      if (storage.mode === "persistent") return out;
    }
    if (r === Math.floor(rounds / 2)) {
      // Close without saving anything more, and reopen: unsaved changes are gone by design.
      await out.store.close();
      out.store = undefined;
      let reopened;
      for (let attempt = 0; !reopened; attempt++) {
        try {
          reopened = await VectorStore.open({ name, storage });
        } catch (e) {
          typed(e);
          if (storage.mode === "persistent" || attempt > 0) return out;
        }
      }
      out.store = reopened;
      // What came back is what is stored: the last acknowledged state, or the attempted one if
      // its save failed after its manifest landed.
      const vsAcked = out.acked ? await holds(reopened, out.acked, idSpace) : "nothing acknowledged";
      const base = vsAcked === undefined ? out.acked : out.attempted;
      assert.equal(await holds(reopened, base, idSpace), undefined, `reopened mid-scenario (vs acknowledged: ${vsAcked})`);
      model.clear();
      for (const [k, v] of clone(base)) model.set(k, v);
      out.acked = clone(base);
    }
  }
  return out;
}

async function check(storage, out, label) {
  storage.healed = true;
  // 1. The stored store opens and holds every acknowledged write.
  let reopened;
  try {
    reopened = await VectorStore.open({ name, storage });
  } catch (e) {
    assert.ok(out.acked === undefined && isQuiverError(e, "not_found"), `${label}: open after the faults failed: ${e}`);
  }
  if (reopened) {
    const vsAcked = await holds(reopened, out.acked ?? new Map(), idSpace);
    if (vsAcked !== undefined) {
      const vsAttempted = out.attempted ? await holds(reopened, out.attempted, idSpace) : "no save attempted";
      assert.equal(vsAttempted, undefined, `${label}: stored state is neither the acknowledged one (${vsAcked}) nor the attempted one`);
    }
    await reopened.close();
  }
  // 2. The live store saves now, and a reopen equals its model.
  if (out.store) {
    await out.store.save();
    const again = await VectorStore.open({ name, storage });
    assert.equal(await holds(again, out.model, idSpace), undefined, `${label}: reopen after the healed save`);
    await again.close();
    await out.store.close();
  }
}

test("every storage operation of a save-and-reopen scenario fails once, persistently, or torn, and nothing acknowledged is lost", async () => {
  const clean = new FaultyStorage(Infinity, "once");
  const baseline = await scenario(clean);
  assert.equal(baseline.failures, 0);
  assert.equal(baseline.saves, rounds);
  // The scenario must cover the compaction policy: a full snapshot after the first save.
  assert.ok(clean.batches.slice(1).some((puts) => puts > 2), `no compaction in the scenario: puts per save ${clean.batches}`);
  await check(clean, baseline, "no fault");
  const total = clean.ops;
  const figures = { operations: total, runs: 0, injected: 0, failedSaves: 0 };
  for (const mode of ["once", "persistent", "torn"]) {
    for (let n = 1; n <= total; n++) {
      const storage = new FaultyStorage(n, mode);
      const out = await scenario(storage);
      await check(storage, out, `${mode} fault at operation ${n} of ${total}`);
      figures.runs++;
      figures.injected += storage.injected;
      figures.failedSaves += out.failures;
    }
  }
  console.log(`fault injection: ${figures.operations} storage operations per scenario (puts per save: ${clean.batches}), ${figures.runs} runs, ${figures.injected} faults injected, ${figures.failedSaves} operations rejected with a typed error, nothing acknowledged lost`);
});

// Browser side of the persistence tests (tests/package/browser-persist.test.mjs): small
// scenarios the test drives with page.evaluate. Vectors are a deterministic function of the
// item number, so both sides know every vector.
import { IndexedDBStorage, OPFSStorage, VectorStore, WorkerVectorStore, init, isQuiverError } from "/pkg/dist/browser.js";
import { crashStep } from "./crash-plan.js";

export const ready = init();
export const dim = 32;

export function vector(i, salt = 0) {
  return Float32Array.from({ length: dim }, (_, j) => {
    let h = Math.imul(i + 1 + salt * 7919, 0x9e3779b1) ^ Math.imul(j + 1, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    return ((h ^ (h >>> 12)) >>> 0) / 2 ** 31 - 1;
  });
}

const item = (i) => ({ id: `k${i}`, vector: vector(i), metadata: { i } });

function describe(error) {
  return isQuiverError(error) ? `${error.code}: ${error.message}` : String(error);
}

async function answers(store, n = 8) {
  const out = [];
  for (let q = 0; q < n; q++) out.push(await store.search({ vector: vector(1_000_000 + q), k: 10 }));
  return out;
}

/** Opens (or creates) the store `name` in IndexedDB database `database`. */
export function openStore(name, database = "quiver-test", durability = "strict") {
  return VectorStore.open({ name, storage: new IndexedDBStorage({ database, durability }), dimension: dim });
}

/** Round trip with every metric: add, save, reopen, compare; then incremental rounds. */
export async function roundTrip(database) {
  const report = {};
  for (const metric of ["cosine", "l2", "dot"]) {
    const storage = new IndexedDBStorage({ database });
    const store = await VectorStore.create({ name: `rt-${metric}`, dimension: dim, metric, storage });
    await store.add(Array.from({ length: 3000 }, (_, i) => item(i)));
    await store.save();
    const before = await answers(store);
    await store.close();
    let reopened = await VectorStore.open({ name: `rt-${metric}`, storage });
    const same = JSON.stringify(await answers(reopened)) === JSON.stringify(before);
    for (let round = 0; round < 5; round++) {
      await reopened.add(Array.from({ length: 50 }, (_, i) => item(10_000 + round * 50 + i)));
      await reopened.delete([`k${round}`]);
      await reopened.upsert([{ id: `k${100 + round}`, vector: vector(100 + round, 1), metadata: { moved: round } }]);
      await reopened.save();
      const live = await answers(reopened);
      await reopened.close();
      reopened = await VectorStore.open({ name: `rt-${metric}`, storage });
      if (JSON.stringify(await answers(reopened)) !== JSON.stringify(live)) return { error: `${metric} round ${round} differs` };
    }
    report[metric] = { same, count: (await reopened.stats()).count, moved: (await reopened.get("k104")).metadata };
    await reopened.close();
    await storage.close();
  }
  return report;
}

/** The storage adapter of a crash-test backend (also used by crash-worker.js). */
export function crashStorage(backend) {
  if (backend === "indexeddb") return new IndexedDBStorage({ database: "quiver-crash", durability: "strict" });
  if (backend === "opfs") return new OPFSStorage({ directory: "quiver-crash" });
  throw new Error(`unknown crash-test backend ${backend}`);
}

/**
 * Arms a one-shot abort of the next `readwrite` IndexedDB transaction (the `abort-commit` kill
 * mode): once the adapter has issued its requests, the transaction is aborted after `after`
 * of them succeeded (counted modulo their number + 1, so 0 aborts before any succeeded and the
 * largest value right after the last one, before the commit). Patches the IndexedDB prototypes,
 * not the package, so the package's own adapter meets the abort. The returned state says
 * whether `abort()` was called on a live transaction.
 */
function armAbort(after) {
  const transaction = IDBDatabase.prototype.transaction;
  const put = IDBObjectStore.prototype.put;
  const del = IDBObjectStore.prototype.delete;
  const state = { aborted: false, requests: 0, at: -1, error: undefined };
  let armed;
  const restore = () => {
    IDBDatabase.prototype.transaction = transaction;
    IDBObjectStore.prototype.put = put;
    IDBObjectStore.prototype.delete = del;
  };
  const abort = () => {
    if (state.aborted) return;
    try {
      armed.abort();
      state.aborted = true;
    } catch (error) {
      state.error = String(error);
    }
  };
  const track = (request) => {
    if (armed && request.transaction === armed) {
      state.requests++;
      request.addEventListener("success", () => {
        state.succeeded = (state.succeeded ?? 0) + 1;
        if (state.succeeded === state.at) abort();
      });
    }
    return request;
  };
  IDBObjectStore.prototype.put = function (...args) {
    return track(put.apply(this, args));
  };
  IDBObjectStore.prototype.delete = function (...args) {
    return track(del.apply(this, args));
  };
  IDBDatabase.prototype.transaction = function (stores, mode, options) {
    const tx = transaction.call(this, stores, mode, options);
    if (mode !== "readwrite" || armed) return tx;
    armed = tx;
    IDBDatabase.prototype.transaction = transaction;
    // The adapter issues every request synchronously after opening the transaction, so a
    // microtask sees them all.
    queueMicrotask(() => {
      IDBObjectStore.prototype.put = put;
      IDBObjectStore.prototype.delete = del;
      state.at = after % (state.requests + 1);
      if (state.at === 0) abort();
    });
    return tx;
  };
  return { state, restore };
}

/**
 * The crash-test writer (tests/package/crash-harness.mjs): step after step (see crash-plan.js)
 * adds a batch, sometimes deletes an earlier item, saves, and logs `ack <base> <step>` once the
 * save resolved. Runs until the browser is killed — or, with `abort` (`{ step, after, retry }`,
 * the `abort-commit` kill mode), until the save of step `abort.step` has had its IndexedDB
 * transaction aborted (see armAbort). That save must reject; with `retry` the writer saves
 * once more, which must commit the step. Then it closes the store and returns what happened.
 */
export async function writer(seed, base, backend, abort) {
  const store = await VectorStore.open({ name: "crash", storage: crashStorage(backend), dimension: dim });
  // What the writer found: the checker compares it with the state it verified last round.
  console.log(`opened ${base} ${(await store.stats()).count}`);
  let lastAck = -1;
  for (let step = 0; ; step++) {
    const { added, deleted } = crashStep(seed, base, step);
    await store.add(added.map(item));
    if (deleted.length > 0) await store.delete(deleted.map((i) => `k${i}`));
    const hook = abort && step >= abort.step ? armAbort(abort.after) : undefined;
    let failure;
    try {
      await store.save();
    } catch (error) {
      failure = error;
    } finally {
      hook?.restore();
    }
    if (hook?.state.aborted) {
      if (!failure) return { lastAck, step, error: "a save whose transaction was aborted resolved" };
      const code = isQuiverError(failure) ? failure.code : String(failure);
      if (abort.retry) {
        await store.save();
        console.log(`ack ${base} ${step}`);
        lastAck = step;
      }
      await store.close();
      return { lastAck, step, code, retried: abort.retry, requests: hook.state.requests, at: hook.state.at };
    }
    if (failure) throw failure;
    console.log(`ack ${base} ${step}`);
    lastAck = step;
  }
}

/**
 * The `worker-terminate` kill mode: the same writer, but the store lives in a dedicated worker
 * (pages/crash-worker.js, `serveWorker` with the crash-test storage) driven through
 * `WorkerVectorStore`; `delay` ms after the store opened, the page terminates the worker,
 * whatever it is doing. Returns the last acknowledged step.
 */
export async function workerWriter(seed, base, backend, delay) {
  const worker = new Worker(new URL(`./crash-worker.js?backend=${backend}`, import.meta.url), { type: "module" });
  const store = await WorkerVectorStore.open(worker, { name: "crash", dimension: dim });
  console.log(`opened ${base} ${(await store.stats()).count}`);
  let lastAck = -1;
  let failure;
  (async () => {
    for (let step = 0; ; step++) {
      const { added, deleted } = crashStep(seed, base, step);
      await store.add(added.map(item));
      if (deleted.length > 0) await store.delete(deleted.map((i) => `k${i}`));
      await store.save();
      console.log(`ack ${base} ${step}`);
      lastAck = step;
    }
  })().catch((error) => {
    failure = describe(error);
  });
  await new Promise((resolve) => setTimeout(resolve, delay));
  worker.terminate();
  return { lastAck, failure };
}

/**
 * After a crash: opens the store, reports which of the `candidates` are present (and the total
 * count, which catches anything unexpected), then compares its answers with a store rebuilt in
 * memory from the recovered items.
 */
export async function recover(candidates, backend) {
  let store;
  try {
    store = await VectorStore.open({ name: "crash", storage: crashStorage(backend), dimension: dim });
  } catch (error) {
    return { error: describe(error) };
  }
  const present = [];
  const items = [];
  let wrongVector = 0;
  for (const i of candidates) {
    const got = await store.get(`k${i}`);
    if (!got) continue;
    present.push(i);
    const expected = vector(i);
    const norm = Math.hypot(...expected);
    if (!got.vector.every((x, j) => Math.abs(x - expected[j] / norm) < 1e-6)) wrongVector++;
    items.push(item(i));
  }
  const rebuilt = await VectorStore.create({ dimension: dim });
  if (items.length > 0) await rebuilt.add(items);
  const count = (await store.stats()).count;
  const a = await answers(store);
  const b = await answers(rebuilt);
  const equal = a.every((hits, q) => hits.length === b[q].length && hits.every((h, r) => h.id === b[q][r].id && Math.abs(h.score - b[q][r].score) < 1e-6));
  await store.close();
  await rebuilt.close();
  return { present, count, equal, wrongVector };
}

/**
 * Removes the crash test's store, after the browser lost part of it (crash-harness.mjs), so the
 * next rounds start from an empty store.
 */
export async function wipe(backend) {
  if (backend === "opfs") {
    const root = await navigator.storage.getDirectory();
    await root.removeEntry("quiver-crash", { recursive: true }).catch(() => undefined);
    return;
  }
  await new Promise((resolve) => {
    const request = indexedDB.deleteDatabase("quiver-crash");
    request.onsuccess = request.onerror = request.onblocked = resolve;
  });
}

/** Fills the store with random (incompressible) vectors until the quota stops a save. */
export async function fillUntilQuota(batch) {
  const storage = new IndexedDBStorage({ database: "quiver-quota" });
  const store = await VectorStore.create({ name: "quota", dimension: 256, storage });
  let acked = 0;
  let next = 0;
  const log = [];
  for (let round = 0; round < 400; round++) {
    const items = Array.from({ length: batch }, () => {
      const v = new Float32Array(256);
      crypto.getRandomValues(new Uint32Array(v.buffer)).forEach((_, j, a) => (v[j] = (a[j] / 2 ** 32) * 2 - 1));
      return { id: `r${next++}`, vector: v };
    });
    await store.add(items);
    try {
      await store.save();
      acked = next;
      log.push(`saved ${acked}`);
    } catch (error) {
      log.push(`failed at ${next}: ${describe(error)}`);
      const stillUnsaved = (await store.stats()).count;
      // The store stays readable: a separate instance opens the last acknowledged version.
      const other = await VectorStore.open({ name: "quota", storage: new IndexedDBStorage({ database: "quiver-quota" }) });
      const reopenedCount = (await other.stats()).count;
      const firstAcked = acked > 0 ? await other.get(`r0`) : undefined;
      const lastAcked = acked > 0 ? await other.get(`r${acked - 1}`) : undefined;
      const firstUnacked = await other.get(`r${acked}`);
      await other.close();
      // And the failed store keeps its unsaved changes in memory.
      const search = await store.search({ vector: items[0].vector, k: 1 });
      await store.close();
      return {
        code: isQuiverError(error) ? error.code : String(error),
        acked,
        attempted: next,
        stillUnsaved,
        reopenedCount,
        hasFirst: !!firstAcked,
        hasLastAcked: !!lastAcked,
        hasFirstUnacked: !!firstUnacked,
        foundUnsaved: search[0]?.id === items[0].id,
        log: log.slice(-3),
      };
    }
  }
  await store.close();
  return { error: "quota never reached", log: log.slice(-3) };
}

/** A tab of the two-tab test: `rounds` times, add own items, upsert a shared one, save. */
export async function tabWriter(tab, rounds) {
  const store = await openStore("tabs", "quiver-tabs");
  for (let r = 0; r < rounds; r++) {
    await store.add([{ id: `${tab}-${r}`, vector: vector(r + (tab === "a" ? 0 : 5000)), metadata: { tab, r } }]);
    await store.upsert([{ id: "shared", vector: vector(r), metadata: { tab, r } }]);
    if (r % 7 === 3) await store.delete([`${tab}-${r - 1}`]);
    await store.save();
    // Let the other tab interleave.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
  }
  const count = (await store.stats()).count;
  await store.close();
  return count;
}

/** Counts what the store `tabs` holds. */
export async function tabReport(rounds) {
  const store = await openStore("tabs", "quiver-tabs");
  const missing = [];
  const resurrected = [];
  for (const tab of ["a", "b"]) {
    for (let r = 0; r < rounds; r++) {
      const deleted = (r + 1) % 7 === 3 && r + 1 < rounds;
      const has = !!(await store.get(`${tab}-${r}`));
      if (!deleted && !has) missing.push(`${tab}-${r}`);
      if (deleted && has) resurrected.push(`${tab}-${r}`);
    }
  }
  const shared = (await store.get("shared"))?.metadata;
  const count = (await store.stats()).count;
  await store.close();
  return { missing, resurrected, shared, count };
}

/** Counts the records `loadEach` hands over; optionally aborts `controller` at the first. */
class CountingIDB extends IndexedDBStorage {
  delivered = 0;
  controller = undefined;
  loadEach(keys, each) {
    return super.loadEach(keys, (i, bytes) => {
      this.delivered++;
      this.controller?.abort();
      each(i, bytes);
    });
  }
}

/**
 * A store whose first record (in reading order) is damaged in IndexedDB: the open fails with
 * `corrupt` at that record without reading the rest, an abort at the first record stops the
 * open too, neither changes a stored record, and the repaired store opens with the same answers.
 */
export async function damagedRecord(database) {
  const name = "dmg";
  const storage = new IndexedDBStorage({ database });
  const store = await VectorStore.create({ name, dimension: dim, storage });
  await store.add(Array.from({ length: 4000 }, (_, i) => item(i)));
  await store.save();
  const expected = await answers(store);
  await store.close();
  const all = async () => (await storage.loadRange(`${name}/`)).map((e) => [e.key, Array.from(e.bytes)]);
  const stored = await all();
  const records = stored.filter(([k]) => k !== `${name}/manifest`).map(([k]) => k);
  const first = records[0];
  const good = await storage.load(first);
  const bad = good.slice();
  bad[bad.length >> 1] ^= 0x04;
  await storage.saveBatch([{ key: first, bytes: bad }], []);
  const damaged = await all();

  const report = { records: records.length };
  const counting = new CountingIDB({ database });
  try {
    await VectorStore.open({ name, storage: counting });
    report.damaged = "opened";
  } catch (error) {
    report.damaged = isQuiverError(error, "corrupt") && error.message.includes(first.slice(name.length + 1)) ? "corrupt" : describe(error);
  }
  report.deliveredBeforeStop = counting.delivered;
  report.unchangedAfterCorrupt = JSON.stringify(await all()) === JSON.stringify(damaged);

  await storage.saveBatch([{ key: first, bytes: good }], []);
  const aborting = new CountingIDB({ database });
  aborting.controller = new AbortController();
  try {
    await VectorStore.open({ name, storage: aborting, signal: aborting.controller.signal });
    report.aborted = "opened";
  } catch (error) {
    report.aborted = error.name === "AbortError" ? "AbortError" : describe(error);
  }
  report.deliveredBeforeAbort = aborting.delivered;
  report.unchangedAfterAbort = JSON.stringify(await all()) === JSON.stringify(stored);

  const reopened = await VectorStore.open({ name, storage });
  report.sameAnswers = JSON.stringify(await answers(reopened)) === JSON.stringify(expected);
  await reopened.close();
  return report;
}

// Persistence through the package in Node: save/open round trips with the memory and file
// adapters, incremental saves, failures part way (crash, full disk) that leave the stored store
// intact and keep unsaved changes, two writers on one storage, followers catching up, and the
// bytes handed to adapters being copies rather than views of WebAssembly memory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStorage, MemoryStorage, VectorStore, isQuiverError } from "../../pkg/dist/node.js";

const dim = 16;
/** Deterministic pseudo-random vector of item `i`. */
function vector(i, salt = 0) {
  return Float32Array.from({ length: dim }, (_, j) => {
    let h = Math.imul(i + 1 + salt * 7919, 0x9e3779b1) ^ Math.imul(j + 1, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    return ((h ^ (h >>> 12)) >>> 0) / 2 ** 31 - 1;
  });
}
const item = (i, salt = 0) => ({ id: `doc-${i}`, vector: vector(i, salt), metadata: { i, salt, tag: `t${i % 7}` } });
const queries = Array.from({ length: 10 }, (_, q) => vector(10_000 + q));

async function answers(store) {
  const out = [];
  for (const q of queries) out.push(await store.search({ vector: q, k: 10 }));
  return out;
}

/** Counts what adapters are asked to store; optionally fails a chosen call. */
class Recording {
  constructor(inner) {
    this.inner = inner;
    this.saves = [];
    this.failNext = undefined;
  }
  load(key) { return this.inner.load(key); }
  loadRange(prefix) { return this.inner.loadRange(prefix); }
  remove(key) { return this.inner.remove(key); }
  async saveBatch(puts, deletes) {
    this.saves.push({ puts: puts.map((p) => ({ key: p.key, bytes: p.bytes.length, own: p.bytes.byteOffset === 0 && p.bytes.buffer.byteLength === p.bytes.length })), deletes: [...deletes] });
    const fail = this.failNext;
    this.failNext = undefined;
    if (fail === "crash") {
      // A crash part way: only the first half of the puts reached storage, not the manifest.
      await this.inner.saveBatch(puts.slice(0, Math.floor((puts.length - 1) / 2)), []);
      throw new Error("simulated crash");
    }
    if (fail === "quota") throw new DOMException("simulated full quota", "QuotaExceededError");
    return this.inner.saveBatch(puts, deletes);
  }
}

const adapters = {
  memory: () => ({ storage: new MemoryStorage(), cleanup() {} }),
  file: () => {
    const dir = mkdtempSync(join(tmpdir(), "quiver-file-"));
    return { storage: new FileStorage(dir), dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  },
};

for (const [kind, make] of Object.entries(adapters)) {
  test(`${kind} adapter: save, reopen, incremental saves, reopen again`, async () => {
    const { storage: inner, cleanup } = make();
    const storage = new Recording(inner);
    try {
      const store = await VectorStore.create({ name: "docs", dimension: dim, metric: "cosine", storage });
      await store.add(Array.from({ length: 2000 }, (_, i) => item(i)));
      await store.save();
      const full = storage.saves.at(-1);
      assert.ok(full.puts.every((p) => p.own), "bytes are copies, not views of wasm memory");
      assert.equal(full.puts.at(-1).key, "docs/manifest", "the manifest is written last");

      await store.add(Array.from({ length: 100 }, (_, i) => item(5000 + i)));
      await store.upsert([item(3, 1), item(6000, 1)]);
      await store.delete(["doc-10", "doc-11", "doc-5001"]);
      await store.save();
      const incremental = storage.saves.at(-1);
      const bytes = (s) => s.puts.reduce((n, p) => n + p.bytes, 0);
      assert.equal(incremental.puts.length, 2, "one log chunk and the manifest");
      assert.ok(bytes(incremental) < bytes(full) / 10, `${bytes(incremental)} vs ${bytes(full)}`);
      const expected = await answers(store);
      const expectedGet = await store.get("doc-3");
      await store.close();

      const reopened = await VectorStore.open({ name: "docs", storage });
      assert.equal((await reopened.stats()).count, 2098);
      assert.deepEqual(await answers(reopened), expected);
      assert.deepEqual(await reopened.get("doc-3"), expectedGet);
      assert.equal(await reopened.get("doc-10"), undefined);
      // Keeps saving incrementally after a reopen, and deferred deletions catch up.
      await reopened.add([item(7000)]);
      await reopened.save();
      assert.equal(storage.saves.at(-1).puts.length, 2);
      await reopened.close();
      const again = await VectorStore.open({ name: "docs", storage, dimension: dim, metric: "cosine", index: "Flat" });
      assert.equal((await again.stats()).count, 2099);
      await again.close();
      await assert.rejects(VectorStore.open({ name: "docs", storage, dimension: dim + 1 }), (e) => isQuiverError(e, "dimension_mismatch"));
      await assert.rejects(VectorStore.open({ name: "docs", storage, metric: "l2" }), (e) => isQuiverError(e, "invalid_argument"));
      await assert.rejects(VectorStore.create({ name: "docs", storage, dimension: dim }), (e) => isQuiverError(e, "invalid_argument"));
    } finally {
      cleanup();
    }
  });

  test(`${kind} adapter: a crash or a full quota part way keeps the last save and the unsaved changes`, async () => {
    const { storage: inner, cleanup } = make();
    const storage = new Recording(inner);
    try {
      const store = await VectorStore.create({ name: "s", dimension: dim, storage });
      await store.add(Array.from({ length: 300 }, (_, i) => item(i)));
      await store.save();
      const saved = await answers(store);
      await store.add(Array.from({ length: 50 }, (_, i) => item(1000 + i)));
      await store.delete(["doc-0"]);

      storage.failNext = "crash";
      await assert.rejects(store.save(), (e) => isQuiverError(e, "storage_error") && /simulated crash/.test(e.message));
      let other = await VectorStore.open({ name: "s", storage: inner });
      assert.deepEqual(await answers(other), saved, "the stored store is the last acknowledged one");
      await other.close();

      storage.failNext = "quota";
      await assert.rejects(store.save(), (e) => isQuiverError(e, "quota_exceeded"));
      other = await VectorStore.open({ name: "s", storage: inner });
      assert.equal((await other.stats()).count, 300);
      await other.close();

      // The next save writes everything that was not acknowledged.
      await store.save();
      const latest = await answers(store);
      other = await VectorStore.open({ name: "s", storage: inner });
      assert.equal((await other.stats()).count, 349);
      assert.deepEqual(await answers(other), latest);
      await other.close();
      await store.close();
    } finally {
      cleanup();
    }
  });
}

test("file adapter: damaged files are typed errors, temp files are ignored", async () => {
  const dir = mkdtempSync(join(tmpdir(), "quiver-file-"));
  try {
    const storage = new FileStorage(dir);
    const store = await VectorStore.create({ name: "Mixed Case ✓", dimension: dim, storage });
    await store.add(Array.from({ length: 100 }, (_, i) => item(i)));
    await store.save();
    await store.close();
    const files = readdirSync(dir);
    assert.ok(files.every((f) => /^([a-z0-9._-]|%[0-9A-F]{2})+$/.test(f)), `portable file names: ${files}`);
    writeFileSync(join(dir, `${files[0]}.tmp-leftover`), "junk");
    const reopened = await VectorStore.open({ name: "Mixed Case ✓", storage });
    assert.equal((await reopened.stats()).count, 100);
    await reopened.close();
    // Flip one byte in each stored file in turn: opening fails with a typed error.
    for (const file of files) {
      const path = join(dir, file);
      const original = readFileSync(path);
      const damaged = Buffer.from(original);
      damaged[Math.floor(damaged.length / 2)] ^= 0x10;
      writeFileSync(path, damaged);
      await assert.rejects(VectorStore.open({ name: "Mixed Case ✓", storage }), (e) => isQuiverError(e, "corrupt"), file);
      writeFileSync(path, original);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("two writers on one storage lose no updates; a follower catches up on its own", async () => {
  const storage = new MemoryStorage();
  const a = await VectorStore.create({ name: "shared", dimension: dim, storage });
  await a.add([item(0)]);
  await a.save();
  const b = await VectorStore.open({ name: "shared", storage });
  const follower = await VectorStore.open({ name: "shared", storage });
  for (let round = 0; round < 10; round++) {
    // Both change the store before either saves.
    await a.add([item(100 + round)]);
    await b.add([item(200 + round)]);
    await b.upsert([item(0, round + 1)]);
    await Promise.all([a.save(), b.save()]);
  }
  await a.save(); // a rebases onto b's last save
  const last = await VectorStore.open({ name: "shared", storage });
  for (let round = 0; round < 10; round++) {
    for (const id of [`doc-${100 + round}`, `doc-${200 + round}`]) assert.ok(await last.get(id), `${id} lost`);
  }
  assert.equal((await last.stats()).count, 21);
  assert.equal((await last.get("doc-0")).metadata.salt, 10, "the last upsert wins");
  // The follower heard of the saves through BroadcastChannel and replayed them.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await follower.stats()).count, 21);
  assert.deepEqual(await answers(follower), await answers(last));
  for (const s of [a, b, follower, last]) await s.close();
});

test("open and save report progress and can be cancelled", async () => {
  const storage = new MemoryStorage();
  const store = await VectorStore.create({ name: "p", dimension: 256, storage });
  await store.add(Array.from({ length: 1500 }, (_, i) => ({ id: `${i}`, vector: new Float32Array(256).fill((i % 13) + 1) })));
  const phases = [];
  await store.save({ onProgress: (p) => phases.push(p) });
  assert.ok(phases.some((p) => p.phase === "save" && p.done === p.total && p.total > 3));
  await assert.rejects(store.save({ signal: AbortSignal.abort() }), (e) => e.name === "AbortError");
  await store.close();
  const loads = [];
  const reopened = await VectorStore.open({ name: "p", storage, onProgress: (p) => loads.push(p) });
  assert.ok(loads.some((p) => p.phase === "load" && p.done === p.total && p.total > 3));
  await reopened.close();
  await assert.rejects(VectorStore.open({ name: "p", storage, signal: AbortSignal.abort() }), (e) => e.name === "AbortError");
});

/**
 * A memory adapter that hands records to `loadEach` one at a time, in a seeded shuffled order
 * and each in its own task (as IndexedDB's requests complete), like `IndexedDBStorage.loadEach`.
 * `onRecord(n)` runs before the n-th record is handed over.
 */
class Streaming {
  constructor(inner, seed = 1) {
    this.inner = inner;
    this.seed = seed;
    this.delivered = 0;
    this.streams = 0;
    this.onRecord = undefined;
  }
  load(key) { return this.inner.load(key); }
  loadRange(prefix) { return this.inner.loadRange(prefix); }
  listKeys(prefix) { return this.inner.listKeys(prefix); }
  remove(key) { return this.inner.remove(key); }
  saveBatch(puts, deletes) { return this.inner.saveBatch(puts, deletes); }
  async loadEach(keys, each) {
    this.streams++;
    const order = keys.map((_, i) => i);
    let s = this.seed;
    for (let i = order.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const j = s % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const [n, i] of order.entries()) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      this.onRecord?.(n);
      each(i, await this.inner.load(keys[i]));
      this.delivered++;
    }
  }
}

/** Every record of `storage` (a MemoryStorage), as copies. */
async function snapshotOf(storage) {
  return (await storage.loadRange("")).map((e) => [e.key, [...e.bytes]]);
}

test("an adapter that streams records: any order, a bad record stops the open early, an abort too, and nothing stored changes", async () => {
  const inner = new MemoryStorage();
  const store = await VectorStore.create({ name: "st", dimension: 256, index: "HNSW8", storage: inner });
  await store.add(Array.from({ length: 1200 }, (_, i) => ({ id: `${i}`, vector: Float32Array.from({ length: 256 }, (_, j) => Math.sin(i * 0.37 + j * 0.11 + (i % 17))), metadata: { i } })));
  await store.save();
  await store.add([item(5000, 0)].map((x) => ({ ...x, vector: Float32Array.from({ length: 256 }, (_, j) => Math.cos(j)) })));
  await store.delete(["7"]);
  await store.save();
  const q = Float32Array.from({ length: 256 }, (_, j) => Math.sin(j * 0.3));
  const expected = await store.search({ vector: q, k: 10 });
  await store.close();
  const stored = await snapshotOf(inner);
  const records = stored.filter(([k]) => k !== "st/manifest").length;
  assert.ok(records > 4, `${records} records`);

  for (const seed of [1, 2, 3]) {
    const storage = new Streaming(inner, seed);
    const opened = await VectorStore.open({ name: "st", storage });
    assert.equal(storage.streams, 1, "the open streamed its records");
    assert.equal(storage.delivered, records);
    assert.deepEqual(await opened.search({ vector: q, k: 10 }), expected, `seed ${seed}`);
    assert.equal((await opened.stats()).count, 1200);
    await opened.close();
  }

  // A damaged record (one flipped bit) fails the open with `corrupt` as soon as it arrives.
  const damaged = new MemoryStorage();
  const [badKey, badBytes] = stored.find(([k]) => k !== "st/manifest");
  for (const [k, bytes] of stored) {
    const b = Uint8Array.from(bytes);
    if (k === badKey) b[b.length - 1] ^= 0x10;
    await damaged.saveBatch([{ key: k, bytes: b }], []);
  }
  const before = await snapshotOf(damaged);
  const streaming = new Streaming(damaged, 4);
  await assert.rejects(VectorStore.open({ name: "st", storage: streaming }), (e) => isQuiverError(e, "corrupt") && e.message.includes(badKey.slice(3)));
  assert.ok(streaming.delivered < records - 1, `reads stopped at the bad record (${streaming.delivered} of ${records} delivered)`);
  assert.deepEqual(await snapshotOf(damaged), before, "a failed open changes nothing stored");

  // An abort part way stops the reads; the store is as it was and opens afterwards.
  const controller = new AbortController();
  const aborting = new Streaming(inner, 5);
  aborting.onRecord = (n) => n === Math.floor(records / 2) && controller.abort();
  await assert.rejects(VectorStore.open({ name: "st", storage: aborting, signal: controller.signal }), (e) => e.name === "AbortError");
  assert.equal(aborting.delivered, Math.floor(records / 2));
  assert.deepEqual(await snapshotOf(inner), stored);
  const again = await VectorStore.open({ name: "st", storage: new Streaming(inner, 6) });
  assert.deepEqual(await again.search({ vector: q, k: 10 }), expected);
  await again.close();
});

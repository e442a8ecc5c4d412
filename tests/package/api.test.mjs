// The VectorStore API of the built package (pkg/dist/node.js), in Node: results, the closed
// state, chunked writes with progress, cancellation and rollback, call ordering, the storage
// seam (MemoryStorage, open/create/save until persistence lands).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const quiver = await import(new URL("pkg/dist/node.js", `file://${root}`).href);
const { VectorStore, QuiverError, MemoryStorage, isQuiverError, storeKeyPrefix } = quiver;

const rejectsWith = (promise, code) =>
  assert.rejects(promise, (e) => e instanceof QuiverError && e.code === code, `expected ${code}`);

/** A seeded xorshift generator, so failures replay. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32 - 0.5;
  };
}
const randomItems = (n, dim, seed, prefix = "i") => {
  const next = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    vector: Float32Array.from({ length: dim }, next),
    metadata: i % 3 === 0 ? { n: i } : undefined,
  }));
};

test("add, search, get, upsert, delete and stats agree with each other", async () => {
  const store = await VectorStore.create({ name: "basics", dimension: 3, metric: "l2" });
  assert.equal(store.name, "basics");
  assert.equal(store.dimension, 3);
  assert.equal(store.metric, "l2");
  assert.equal(store.index, "Flat");
  await store.add([
    { id: "a", vector: [0, 0, 0], metadata: { tag: "origin" } },
    { id: "b", vector: new Float32Array([1, 0, 0]) },
    { id: "c", vector: [3, 0, 0], metadata: null },
  ]);
  const hits = await store.search({ vector: [0.9, 0, 0], k: 3 });
  assert.deepEqual(hits.map((h) => h.id), ["b", "a", "c"]);
  assert.ok(Math.abs(hits[0].score - 0.01) < 1e-6, "squared L2");
  assert.deepEqual(hits[1].metadata, { tag: "origin" });
  assert.ok(!("metadata" in hits[0]), "no metadata means no metadata key");

  const a = await store.get("a");
  assert.deepEqual({ ...a, vector: [...a.vector] }, { id: "a", vector: [0, 0, 0], metadata: { tag: "origin" } });
  assert.equal(await store.get("missing"), undefined);

  await store.upsert([{ id: "a", vector: [5, 0, 0] }, { id: "d", vector: [0.8, 0, 0], metadata: { tag: "new" } }]);
  assert.deepEqual((await store.search({ vector: [0.95, 0, 0], k: 2 })).map((h) => h.id), ["b", "d"]);
  assert.equal((await store.get("a")).metadata, undefined, "upsert replaces metadata too");

  assert.equal(await store.delete("b"), 1);
  assert.equal(await store.delete(["c", "d"]), 2);
  await rejectsWith(store.delete(["a", "nope"]), "not_found");
  assert.ok(await store.get("a"), "a failed delete deletes nothing");

  const stats = await store.stats();
  assert.equal(stats.count, 1);
  assert.equal(stats.name, "basics");
  assert.equal(stats.simd, true);
  assert.ok(stats.memoryBytes > 0);
  assert.match(stats.version, /^\d+\.\d+\.\d+/);
  await store.close();
});

test("search params reach the core and the metadata type parameter is only a type", async () => {
  const store = await VectorStore.create({ dimension: 2, metric: "dot", index: "Flat", seed: 7 });
  await store.add([{ id: "x", vector: [1, 2] }]);
  const [hit] = await store.search({ vector: [1, 1], k: 5, params: { efSearch: 64, nprobe: 4, rerank: 0 } });
  assert.equal(hit.id, "x");
  assert.equal(hit.score, 3);
  await store.close();
});

test("a closed store rejects every call with `closed`, after finishing calls made before", async () => {
  const store = await VectorStore.create({ dimension: 2 });
  const pending = store.add([{ id: "a", vector: [1, 0] }]);
  const closing = store.close();
  assert.equal(store.closed, true);
  await pending;
  await closing;
  await store.close(); // idempotent
  await rejectsWith(store.add([{ id: "b", vector: [1, 0] }]), "closed");
  await rejectsWith(store.upsert([{ id: "b", vector: [1, 0] }]), "closed");
  await rejectsWith(store.delete("a"), "closed");
  await rejectsWith(store.get("a"), "closed");
  await rejectsWith(store.search({ vector: [1, 0], k: 1 }), "closed");
  await rejectsWith(store.stats(), "closed");
  await rejectsWith(store.save(), "closed");
});

test("calls run in call order, one at a time", async () => {
  const store = await VectorStore.create({ dimension: 8 });
  const items = randomItems(10_000, 8, 1);
  const order = [];
  const add = store.add(items).then(() => order.push("add"));
  const search = store.search({ vector: items[9_999].vector, k: 1 }).then((hits) => {
    order.push("search");
    return hits;
  });
  const del = store.delete("i9999").then(() => order.push("delete"));
  const [, hits] = await Promise.all([add, search, del]);
  assert.deepEqual(order, ["add", "search", "delete"]);
  assert.equal(hits[0].id, "i9999", "search saw the whole add");
  assert.equal((await store.stats()).count, 9_999);
  await store.close();
});

test("a large add reports progress per chunk and ends with every item", async () => {
  const store = await VectorStore.create({ dimension: 16 });
  const items = randomItems(10_000, 16, 2);
  const progress = [];
  await store.add(items, { onProgress: (p) => progress.push({ ...p }) });
  // One report per chunk of 1,024 vectors (2 MiB of floats at most), then the end.
  const chunkEnds = [1024, 2048, 3072, 4096, 5120, 6144, 7168, 8192, 9216, 10_000];
  assert.deepEqual(progress, chunkEnds.map((done) => ({ phase: "add", done, total: 10_000 })));
  assert.equal((await store.stats()).count, 10_000);
  const hit = (await store.search({ vector: items[1234].vector, k: 1 }))[0];
  assert.equal(hit.id, "i1234");
  await store.close();
});

test("a cancelled add rejects with the signal's reason and adds nothing", async () => {
  const store = await VectorStore.create({ dimension: 16 });
  await store.add([{ id: "keep", vector: randomItems(1, 16, 3)[0].vector }]);
  const items = randomItems(20_000, 16, 4);
  const controller = new AbortController();
  const reason = new Error("user cancelled");
  const seen = [];
  await assert.rejects(
    store.add(items, {
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p.done);
        if (p.done >= 8192) controller.abort(reason);
      },
    }),
    (e) => e === reason,
  );
  assert.deepEqual(seen, [1024, 2048, 3072, 4096, 5120, 6144, 7168, 8192]);
  assert.equal((await store.stats()).count, 1, "chunks already added were rolled back");
  assert.equal(await store.get("i0"), undefined);
  // An already aborted signal rejects before any work, with an AbortError by default.
  await assert.rejects(store.add(items, { signal: AbortSignal.abort() }), (e) => e.name === "AbortError");
  // The same ids can be added afterwards: nothing was left behind.
  await store.add(items);
  assert.equal((await store.stats()).count, 20_001);
  await store.close();
});

test("a throwing progress callback cancels and rolls back", async () => {
  const store = await VectorStore.create({ dimension: 4 });
  const boom = new Error("boom");
  await assert.rejects(store.add(randomItems(9_000, 4, 5), { onProgress: () => { throw boom; } }), (e) => e === boom);
  assert.equal((await store.stats()).count, 0);
  await store.close();
});

test("a failure in a later chunk rolls back the earlier chunks", async () => {
  const store = await VectorStore.create({ dimension: 4 });
  await store.add([{ id: "i9000", vector: [1, 2, 3, 4] }]);
  const items = randomItems(10_000, 4, 6); // i9000 is in the third chunk and already stored
  await rejectsWith(store.add(items), "duplicate_id");
  assert.equal((await store.stats()).count, 1);
  // Zero vectors are rejected by the cosine core; in chunk 2 here.
  const zeros = randomItems(5_000, 4, 7, "z");
  zeros[4_500].vector = [0, 0, 0, 0];
  await rejectsWith(store.add(zeros), "zero_vector");
  assert.equal((await store.stats()).count, 1);
  await store.close();
});

test("a cancelled upsert restores what it replaced and removes what it added", async () => {
  const store = await VectorStore.create({ dimension: 8, metric: "l2" });
  const original = randomItems(6_000, 8, 8);
  await store.add(original);
  const before = await store.get("i5000");
  // Replace all 6,000 (new vectors and metadata) and add 4,000 new ones, then cancel midway.
  const replacement = randomItems(10_000, 8, 9).map((item) => ({ ...item, metadata: { v: 2 } }));
  const controller = new AbortController();
  await assert.rejects(
    store.upsert(replacement, { signal: controller.signal, onProgress: (p) => p.done >= 8192 && controller.abort() }),
    (e) => e.name === "AbortError",
  );
  assert.equal((await store.stats()).count, 6_000);
  const after = await store.get("i5000");
  assert.deepEqual([...after.vector], [...before.vector]);
  assert.deepEqual(after.metadata, before.metadata);
  assert.equal((await store.get("i3")).metadata?.n, 3);
  assert.equal(await store.get("i9000"), undefined);
  const [hit] = await store.search({ vector: original[42].vector, k: 1 });
  assert.equal(hit.id, "i42");
  assert.equal(hit.score, 0);
  await store.close();
});

test("chunked writes and rollback work the same over an IVF index", async () => {
  const store = await VectorStore.create({ dimension: 8, index: "IVF8", seed: 3, metric: "l2" });
  assert.equal(store.index, "IVF8");
  const base = randomItems(500, 8, 10, "b");
  await store.add(base);
  const controller = new AbortController();
  await assert.rejects(
    store.add(randomItems(12_000, 8, 11), { signal: controller.signal, onProgress: () => controller.abort() }),
    (e) => e.name === "AbortError",
  );
  assert.equal((await store.stats()).count, 500);
  assert.equal(await store.get("i0"), undefined);
  // Exact self-match with every list probed: the rolled-back store still holds exactly `base`.
  for (const q of [0, 250, 499]) {
    const [hit] = await store.search({ vector: base[q].vector, k: 1, params: { nprobe: 8 } });
    assert.deepEqual([hit.id, hit.score], [`b${q}`, 0]);
  }
  await store.close();
});

test("filters reach the core: the k best among matching items, in-thread and through HNSW", async () => {
  for (const index of ["Flat", "HNSW16"]) {
    const store = await VectorStore.create({ dimension: 2, index, seed: 7 });
    const items = randomItems(300, 2, 11).map((item, i) => ({ ...item, metadata: { cat: i % 3 === 0 ? "a" : "b", n: i } }));
    await store.add(items);
    const query = [0.3, -0.2];
    const hits = await store.search({ vector: query, k: 5, filter: { cat: "a" } });
    assert.equal(hits.length, 5, index);
    assert.ok(hits.every((h) => h.metadata.cat === "a"), `${index}: only matching items`);
    // Exact answer among the matching items (cosine: higher dot of unit vectors is better).
    const unit = (v) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
    const q = unit(query);
    const expected = items.filter((it) => it.metadata.cat === "a")
      .map((it) => ({ id: it.id, s: unit(Array.from(it.vector)).reduce((acc, x, d) => acc + x * q[d], 0) }))
      .sort((x, y) => y.s - x.s).slice(0, 5).map((h) => h.id);
    assert.deepEqual(hits.map((h) => h.id), expected, index);
    assert.equal((await store.search({ vector: query, k: 5, filter: { n: { $lt: 2 } } })).length, 2);
    await rejectsWith(store.search({ vector: query, k: 1, filter: "cat = a" }), "invalid_filter");
    await rejectsWith(store.search({ vector: query, k: 1, filter: { n: { $bogus: 1 } } }), "invalid_filter");
    await store.close();
  }
});

test("save needs storage, and writes to it", async () => {
  const memoryOnly = await VectorStore.create({ dimension: 2 });
  await assert.rejects(memoryOnly.save(), (e) => isQuiverError(e, "unsupported") && /no storage/.test(e.message));
  const storage = new MemoryStorage();
  const stored = await VectorStore.create({ name: "docs", dimension: 2, storage });
  await stored.save();
  assert.ok(storage.size >= 3, "a manifest and its chunks were written");
  await memoryOnly.close();
  await stored.close();
});

test("open creates a missing store when given a dimension, else not_found; never fakes a load", async () => {
  const storage = new MemoryStorage();
  await rejectsWith(VectorStore.open({ name: "docs", storage }), "not_found");
  const store = await VectorStore.open({ name: "docs", storage, dimension: 4, metric: "l2" });
  assert.equal(store.metric, "l2");
  await store.close();
  await rejectsWith(VectorStore.open({ name: "docs" }), "invalid_argument");
  await rejectsWith(VectorStore.open({ name: "a/b", storage, dimension: 2 }), "invalid_argument");
  await assert.rejects(VectorStore.open({ name: "docs", storage, dimension: 2, signal: AbortSignal.abort() }), (e) => e.name === "AbortError");
  // Records that do not decode: refuse rather than start empty.
  await storage.saveBatch([{ key: `${storeKeyPrefix("old")}manifest`, bytes: new Uint8Array([1, 2, 3]) }], []);
  await rejectsWith(VectorStore.open({ name: "old", storage, dimension: 4 }), "corrupt");
  await rejectsWith(VectorStore.create({ name: "old", storage, dimension: 4 }), "invalid_argument");
});

test("MemoryStorage: copies bytes, sorted prefix ranges, atomic batches, idempotent remove", async () => {
  const storage = new MemoryStorage();
  const bytes = new Uint8Array([1, 2, 3]);
  await storage.saveBatch([{ key: "s/b", bytes }, { key: "s/a", bytes: new Uint8Array([9]) }, { key: "t/a", bytes }], []);
  bytes[0] = 42;
  assert.deepEqual([...(await storage.load("s/b"))], [1, 2, 3], "stored a copy");
  const loaded = await storage.load("s/b");
  loaded[0] = 7;
  assert.deepEqual([...(await storage.load("s/b"))], [1, 2, 3], "returned a copy");
  assert.equal(await storage.load("nope"), undefined);
  assert.deepEqual((await storage.loadRange("s/")).map((e) => e.key), ["s/a", "s/b"]);
  await storage.saveBatch([{ key: "s/c", bytes: new Uint8Array([4]) }], ["s/a", "s/b"]);
  assert.deepEqual((await storage.loadRange("s/")).map((e) => e.key), ["s/c"]);
  await assert.rejects(storage.saveBatch([{ key: "s/d", bytes: new Uint8Array(1) }, { key: "s/e", bytes: "no" }], ["s/c"]));
  assert.deepEqual((await storage.loadRange("s/")).map((e) => e.key), ["s/c"], "a failed batch changed nothing");
  await storage.remove("s/c");
  await storage.remove("s/c");
  assert.equal(storage.size, 1);
});

test("memoryBudget: an add past it rejects and changes nothing; a budget below what the store holds is refused", async () => {
  const dim = 32;
  // An empty store holds a few hundred bytes of fixed state; 1 byte is too small for any store.
  await rejectsWith(VectorStore.create({ dimension: dim, memoryBudget: 1 }), "memory_budget_exceeded");
  await rejectsWith(VectorStore.create({ dimension: dim, memoryBudget: -5 }), "invalid_argument");
  await rejectsWith(VectorStore.create({ dimension: dim, memoryBudget: "lots" }), "invalid_argument");

  const budget = 1_000_000;
  const store = await VectorStore.create({ dimension: dim, memoryBudget: budget });
  await store.add(randomItems(500, dim, 1, "a"));
  const before = await store.stats();
  assert.equal(before.memoryBudget, budget);
  assert.ok(before.memoryBytes <= budget, `${before.memoryBytes} bytes held`);
  // 500 items of 32 floats are ~64 KB of vectors; 5,000 more cannot fit in 1 MB (priced at ~800 B each while the store is small).
  await rejectsWith(store.add(randomItems(5_000, dim, 2, "b")), "memory_budget_exceeded");
  const after = await store.stats();
  assert.equal(after.count, 500);
  assert.equal(after.memoryBytes, before.memoryBytes);
  // Searches are never refused, and the parts add up, ids counted on their own.
  assert.equal((await store.search({ vector: randomItems(1, dim, 1, "a")[0].vector, k: 3 })).length, 3);
  const m = after.memory;
  assert.equal(m.vectors + m.codes + m.graph + m.ids + m.metadata + m.other, m.total);
  assert.equal(m.total, after.memoryBytes);
  assert.ok(m.ids > 500 * 8 && m.ids < 500 * 200, `${m.ids} bytes of ids`);

  // Reopening with a budget below what was saved is refused; without one it opens.
  const storage = new MemoryStorage();
  const saved = await VectorStore.create({ dimension: dim, storage, name: "budgeted" });
  await saved.add(randomItems(500, dim, 3, "c"));
  await saved.save();
  await saved.close();
  await rejectsWith(VectorStore.open({ name: "budgeted", storage, memoryBudget: 10_000 }), "memory_budget_exceeded");
  const reopened = await VectorStore.open({ name: "budgeted", storage, memoryBudget: 10_000_000 });
  assert.equal((await reopened.stats()).count, 500);
  await reopened.close();
  await store.close();
});

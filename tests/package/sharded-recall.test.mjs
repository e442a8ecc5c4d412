// Recall and tuning of a sharded store on the minilm-3k fixture: `params.exact` equals one Flat
// store; ShardedStore.measureRecall reports the merged ANN top-k against the merged exact top-k
// (checked against an independent computation and the fixture's ground truth); ShardedStore.tune
// reaches the target recall on the merged result and sets every shard's default, for HNSW and
// IVF, over in-thread and Worker shards; setSearchDefaults persists with a save.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { readVecs } from "./fixture.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { VectorStore, ShardedStore, MemoryStorage, serveWorker, isQuiverError } = await import(new URL("pkg/dist/node.js", `file://${root}`).href);

const base = readVecs("base.fvecs");
const queries = readVecs("query.fvecs");
const groundtruth = readVecs("groundtruth.ivecs");
const items = base.map((vector, i) => ({ id: `doc-${i}`, vector }));
const K = 10;
const SEED = 7;

/** The exact top-K ids of every query, from one Flat store (the reference). */
const flat = await VectorStore.create({ dimension: 384 });
await flat.add(items);
const exactIds = await Promise.all(queries.map(async (vector) => (await flat.search({ vector, k: K })).map((h) => h.id)));

/** Recall of `store.search` at `params` against the reference, found over expected. */
async function recallOf(store, params) {
  let found = 0;
  for (const [q, vector] of queries.entries()) {
    const want = new Set(exactIds[q]);
    for (const h of await store.search({ vector, k: K, params })) if (want.has(h.id)) found++;
  }
  return found / (queries.length * K);
}

async function sharded(n, index, seed = SEED) {
  const shards = [];
  for (let i = 0; i < n; i++) shards.push(await VectorStore.create({ name: `s${i}`, dimension: 384, index, seed: seed + i }));
  const store = new ShardedStore(shards);
  await store.add(items);
  return store;
}

test("params.exact: brute force over the stored vectors equals one Flat store, whatever the index", async () => {
  // The reference itself agrees with the fixture's ground truth (exact cosine top-100).
  let agree = 0;
  exactIds.forEach((ids, q) => ids.forEach((id) => (agree += [...groundtruth[q].slice(0, K)].includes(Number(id.slice(4))) ? 1 : 0)));
  assert.ok(agree / (queries.length * K) >= 0.99, `reference vs fixture ground truth: ${agree}`);

  const hnsw = await VectorStore.create({ dimension: 384, index: "HNSW16", seed: SEED });
  await hnsw.add(items.slice(0, 1000));
  const small = await VectorStore.create({ dimension: 384 });
  await small.add(items.slice(0, 1000));
  for (const vector of queries.slice(0, 20)) {
    assert.deepEqual(await hnsw.search({ vector, k: K, params: { exact: true } }), await small.search({ vector, k: K }));
  }
  await assert.rejects(hnsw.search({ vector: queries[0], k: K, params: { exact: "yes" } }), (e) => isQuiverError(e, "invalid_argument"));
  await assert.rejects(hnsw.search({ vector: queries[0], k: K, filter: { a: 1 }, params: { exact: true } }), (e) => isQuiverError(e, "unsupported"));
  await hnsw.close();
  await small.close();
});

test("sharded HNSW16 over 4 shards: measureRecall is the merged recall; tune reaches the target and sets every shard", async () => {
  const store = await sharded(4, "HNSW16");
  // The merged exact search is the global exact top-k.
  for (const [q, vector] of queries.entries()) {
    assert.deepEqual((await store.search({ vector, k: K, params: { exact: true } })).map((h) => h.id), exactIds[q], `query ${q}`);
  }
  for (const efSearch of [10, 40]) {
    const report = await store.measureRecall({ k: K, queries, params: { efSearch } });
    const independent = await recallOf(store, { efSearch });
    console.log(`HNSW16 x4 (seeds ${SEED}..${SEED + 3}) efSearch ${efSearch}: merged recall@10 ${report.recall.toFixed(3)}`);
    assert.equal(report.recall, independent, `efSearch ${efSearch}`);
    assert.equal(report.queries, queries.length);
    assert.equal(report.params.efSearch, efSearch);
  }

  const target = 0.99;
  const tuned = await store.tune({ targetRecall: target, k: K, queries });
  console.log(`HNSW16 x4 tune(${target}): efSearch ${tuned.value}, merged recall@10 ${tuned.recall.toFixed(3)}`);
  assert.equal(tuned.knob, "efSearch");
  assert.equal(tuned.reached, true);
  assert.ok(tuned.recall >= target);
  assert.ok(tuned.value >= K && tuned.value <= 4096);
  assert.deepEqual(tuned.params, { efSearch: tuned.value });
  for (const s of (await store.stats()).shards) assert.equal(s.searchDefaults.efSearch, tuned.value, s.name);
  // Searches that leave efSearch unset now run at the tuned value: recall as reported, checked
  // independently of the store's own measurement.
  const now = await recallOf(store, {});
  assert.equal(now, tuned.recall);
  assert.ok(now >= target, `recall ${now} at the tuned default`);
  assert.equal((await store.measureRecall({ k: K, queries })).recall, tuned.recall);
  await store.close();
});

test("sharded IVF8 over 4 shards: tune finds the smallest nprobe reaching the target", async () => {
  const store = await sharded(4, "IVF8");
  const target = 0.9;
  const tuned = await store.tune({ targetRecall: target, k: K, queries });
  console.log(`IVF8 x4 tune(${target}): nprobe ${tuned.value}, merged recall@10 ${tuned.recall.toFixed(3)}`);
  assert.equal(tuned.knob, "nprobe");
  assert.equal(tuned.reached, true);
  assert.ok(tuned.recall >= target && tuned.value >= 1 && tuned.value <= 8);
  // IVF over raw vectors is monotone in nprobe, so one less misses the target.
  if (tuned.value > 1) {
    const below = await store.measureRecall({ k: K, queries, params: { nprobe: tuned.value - 1 } });
    assert.ok(below.recall < target, `nprobe ${tuned.value - 1} gives ${below.recall}`);
  }
  assert.equal(await recallOf(store, {}), tuned.recall);
  // Probing every list is exact.
  assert.equal((await store.measureRecall({ k: K, queries, params: { nprobe: 8 } })).recall, 1);
  await store.close();
});

test("sharded Flat: recall 1, nothing to tune; queries are required", async () => {
  const store = await sharded(2, "Flat");
  assert.equal((await store.measureRecall({ k: K, queries: queries.slice(0, 20) })).recall, 1);
  await assert.rejects(store.tune({ targetRecall: 0.9, k: K, queries }), (e) => isQuiverError(e, "unsupported"));
  await assert.rejects(store.measureRecall({ k: K }), (e) => isQuiverError(e, "invalid_argument") && /queries/.test(e.message));
  await assert.rejects(store.measureRecall({ k: 0, queries }), (e) => isQuiverError(e, "invalid_k"));
  await assert.rejects(store.measureRecall({ k: K, queries, params: "fast" }), (e) => isQuiverError(e, "invalid_argument"));
  await assert.rejects(store.tune({ targetRecall: 1.5, k: K, queries }), (e) => isQuiverError(e, "invalid_argument"));
  await assert.rejects(store.measureRecall({ k: K, queries: [new Float32Array(3)] }), (e) => isQuiverError(e, "dimension_mismatch"));
  await store.close();
});

test("Worker shards: exact search, tune and setSearchDefaults cross the worker protocol", async () => {
  const ports = [];
  const store = await ShardedStore.withWorkers({
    count: 2,
    workerUrl: "unused",
    dimension: 384,
    index: "HNSW16",
    seed: SEED,
    createWorker() {
      const { port1, port2 } = new MessageChannel();
      serveWorker({ endpoint: port1 });
      ports.push(port1, port2);
      return port2;
    },
  });
  try {
    await store.add(items.slice(0, 1500));
    const some = queries.slice(0, 30);
    const small = await VectorStore.create({ dimension: 384 });
    await small.add(items.slice(0, 1500));
    for (const vector of some) assert.deepEqual(await store.search({ vector, k: K, params: { exact: true } }), await small.search({ vector, k: K }));
    const tuned = await store.tune({ targetRecall: 0.95, k: K, queries: some });
    assert.equal(tuned.reached, true);
    assert.deepEqual((await store.stats()).shards.map((s) => s.searchDefaults.efSearch), [tuned.value, tuned.value]);
    assert.deepEqual(await store.setSearchDefaults({ efSearch: 64 }), { efSearch: 64 });
    assert.deepEqual((await store.stats()).shards.map((s) => s.searchDefaults.efSearch), [64, 64]);
    await small.close();
  } finally {
    await store.close();
    ports.forEach((p) => p.close());
  }
});

test("setSearchDefaults: merges knobs, rejects bad ones, and persists with a save", async () => {
  const storage = new MemoryStorage();
  const store = await VectorStore.create({ name: "d", dimension: 384, index: "HNSW16", seed: SEED, storage });
  await store.add(items.slice(0, 200));
  assert.deepEqual(await store.setSearchDefaults({ efSearch: 50 }), { efSearch: 50 });
  assert.deepEqual(await store.setSearchDefaults({ rerank: 0 }), { efSearch: 50, rerank: 0 });
  await assert.rejects(store.setSearchDefaults({ efSearch: 0 }), (e) => isQuiverError(e, "invalid_argument"));
  await assert.rejects(store.setSearchDefaults(null), (e) => isQuiverError(e, "invalid_argument"));
  await store.save();
  await store.close();
  const reopened = await VectorStore.open({ name: "d", storage });
  assert.deepEqual((await reopened.stats()).searchDefaults, { efSearch: 50, rerank: 0 });
  await reopened.close();
});

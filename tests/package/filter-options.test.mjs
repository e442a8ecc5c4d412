// The package's filter options: indexed fields (declared at creation, added and dropped later,
// saved with the store) and a forced filtered-search path per query (`params.filterStrategy`).
// Every path must return min(k, matches) matching items, equal to brute force for Flat and
// close to it for HNSW16 (recall@10 ≥ 0.95 over the queries).
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStorage, VectorStore, isQuiverError } from "../../pkg/dist/node.js";

const dim = 16;
const n = 2000;
/** Seeded generator (mulberry32), so a failure replays. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const next = random(20261126);
const vector = () => Float32Array.from({ length: dim }, () => next() * 2 - 1);
const colors = ["red", "green", "blue", "amber"];
// `rare` matches 1% of the items, `color` 25% each, `size` is a number for ranges.
const items = Array.from({ length: n }, (_, i) => ({
  id: `i${i}`,
  vector: vector(),
  metadata: { color: colors[i % 4], size: i % 100, rare: i % 100 === 7 },
}));
const queries = Array.from({ length: 20 }, vector);
const filters = [{ rare: true }, { color: "blue" }, { size: { $lt: 50 } }, { color: { $in: ["red", "green"] } }, {}];
const strategies = [undefined, "auto", "pre-filter", "in-index", "post-filter"];

function matches(filter, m) {
  if (filter.rare !== undefined) return m.rare === filter.rare;
  if (typeof filter.color === "string") return m.color === filter.color;
  if (filter.color?.$in) return filter.color.$in.includes(m.color);
  if (filter.size?.$lt !== undefined) return m.size < filter.size.$lt;
  return true;
}
function bruteForce(query, k, filter) {
  const l2 = (a, b) => a.reduce((s, x, j) => s + (x - b[j]) ** 2, 0);
  return items
    .filter((it) => matches(filter, it.metadata))
    .map((it) => ({ id: it.id, d: l2(query, it.vector) }))
    .sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : 1))
    .slice(0, k)
    .map((h) => h.id);
}

for (const index of ["Flat", "HNSW16"]) {
  test(`${index}: every filterStrategy returns min(k, matches) matching items close to brute force`, async () => {
    const store = await VectorStore.create({ dimension: dim, metric: "l2", index, indexedFields: ["color", "rare"], seed: 7 });
    await store.add(items);
    assert.deepEqual(await store.indexedFields(), ["color", "rare"]);
    for (const filter of filters) {
      const matching = items.filter((it) => matches(filter, it.metadata)).length;
      for (const filterStrategy of strategies) {
        let found = 0;
        let possible = 0;
        for (const query of queries) {
          const k = 10;
          const hits = await store.search({ vector: query, k, filter, params: { filterStrategy, efSearch: 128 } });
          const where = `${index} ${JSON.stringify(filter)} ${filterStrategy}`;
          assert.equal(hits.length, Math.min(k, matching), where);
          for (const h of hits) assert.ok(matches(filter, items[Number(h.id.slice(1))].metadata), `${where}: ${h.id} does not match`);
          const exact = bruteForce(query, k, filter);
          if (index === "Flat") assert.deepEqual(hits.map((h) => h.id), exact, where);
          found += hits.filter((h) => exact.includes(h.id)).length;
          possible += exact.length;
        }
        assert.ok(found / possible >= 0.95, `${index} ${JSON.stringify(filter)} ${filterStrategy}: recall ${found / possible}`);
      }
    }
    await store.close();
  });
}

test("a bad filterStrategy or field path rejects with a clear error and changes nothing", async () => {
  const store = await VectorStore.create({ dimension: dim, metric: "l2", index: "Flat" });
  await store.add(items.slice(0, 50));
  for (const bad of ["fast", 3, null]) {
    await assert.rejects(
      store.search({ vector: queries[0], k: 5, filter: { color: "red" }, params: { filterStrategy: bad } }),
      (e) => isQuiverError(e, "invalid_argument") && /filterStrategy/.test(e.message),
    );
  }
  for (const bad of ["", 42]) {
    await assert.rejects(store.createFieldIndex(bad), (e) => isQuiverError(e, "invalid_argument"));
  }
  await assert.rejects(
    VectorStore.create({ dimension: dim, indexedFields: "color" }),
    (e) => isQuiverError(e, "invalid_argument") && /indexedFields/.test(e.message),
  );
  assert.deepEqual(await store.indexedFields(), []);
  assert.equal((await store.stats()).count, 50);
  await store.close();
});

test("indexed fields are created, dropped and saved with the store", async () => {
  const storage = new MemoryStorage();
  const store = await VectorStore.create({ name: "f", dimension: dim, metric: "l2", index: "HNSW16", storage, indexedFields: ["color"] });
  await store.add(items.slice(0, 500));
  assert.equal(await store.createFieldIndex("size"), true);
  assert.equal(await store.createFieldIndex("size"), false);
  assert.equal(await store.dropFieldIndex("color"), true);
  assert.equal(await store.dropFieldIndex("color"), false);
  await store.save();
  const before = await store.search({ vector: queries[0], k: 10, filter: { size: { $lt: 5 } }, params: { filterStrategy: "pre-filter" } });
  await store.close();
  const reopened = await VectorStore.open({ name: "f", storage });
  assert.deepEqual(await reopened.indexedFields(), ["size"]);
  const after = await reopened.search({ vector: queries[0], k: 10, filter: { size: { $lt: 5 } }, params: { filterStrategy: "pre-filter" } });
  assert.deepEqual(after, before);
  // A field index created after a save is saved by the next (incremental) save.
  assert.equal(await reopened.createFieldIndex("color"), true);
  await reopened.save();
  await reopened.close();
  const again = await VectorStore.open({ name: "f", storage });
  assert.deepEqual(await again.indexedFields(), ["color", "size"]);
  await again.close();
});

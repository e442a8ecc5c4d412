// Filtered search through the package's VectorStore (pkg/dist/node.js) on the committed 3k
// MiniLM fixture with its real metadata: the dev set's real filters (each query's own
// `category`), synthetic selectivities from 0.1% to 100% (a seeded `bucket` field), and the
// operators of the filter language (ranges, `$in`, array contains, `$or`, `$not`, `$exists`),
// on Flat (exact), HNSW16 and IVF64 (filtered recall@10 ≥ 0.95 against filtered brute force);
// and malformed filters rejecting with `invalid_filter` errors that say where and what.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { VectorStore, QuiverError } = await import(new URL("pkg/dist/node.js", `file://${root}`).href);

const dir = new URL("tests/fixtures/minilm-3k/", `file://${root}`);
const readFvecs = (name) => {
  const bytes = readFileSync(new URL(name, dir));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dim = view.getInt32(0, true);
  const rows = bytes.byteLength / (4 * (dim + 1));
  return Array.from({ length: rows }, (_, r) =>
    Float32Array.from({ length: dim }, (_, j) => view.getFloat32(4 * (r * (dim + 1) + 1 + j), true)));
};
const readJsonl = (name) => readFileSync(new URL(name, dir), "utf8").trim().split("\n").map((l) => JSON.parse(l));

const base = readFvecs("base.fvecs");
const queries = readFvecs("query.fvecs").filter((_, q) => q % 4 === 0); // 25 queries
const queryCategories = readJsonl("query-metadata.jsonl").filter((_, q) => q % 4 === 0).map((m) => m.category);
/** A seeded xorshift generator, so failures replay. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s % n;
  };
}
// `bucket`: a seeded permutation's rank mod 1000, so `{ bucket: { $lt: t } }` matches exactly
// t per mille of the 3000 items.
const order = base.map((_, i) => i);
const below = rng(0xf1c5);
for (let i = order.length - 1; i > 0; i--) {
  const j = below(i + 1);
  [order[i], order[j]] = [order[j], order[i]];
}
const metadata = readJsonl("metadata.jsonl").map((m, i) => {
  const { id: _, ...rest } = m;
  return { ...rest, bucket: order[i] % 1000, ...(i % 7 === 0 ? { draft: true } : {}) };
});

/** What a filter matches, evaluated here in JavaScript (the test's own model of docs/filters.md). */
function matches(filter, m) {
  return Object.entries(filter).every(([key, cond]) => {
    if (key === "$and") return cond.every((f) => matches(f, m));
    if (key === "$or") return cond.some((f) => matches(f, m));
    if (key === "$not") return !matches(cond, m);
    const value = m[key];
    const eq = (x) => (Array.isArray(value) ? value.includes(x) : value === x);
    if (cond === null || typeof cond !== "object") return eq(cond);
    return Object.entries(cond).every(([op, x]) => {
      const cmp = (f) => (Array.isArray(value) ? value : [value]).some((v) => typeof v === typeof x && f(v));
      switch (op) {
        case "$eq": return eq(x);
        case "$ne": return value === undefined || !eq(x);
        case "$in": return x.some(eq);
        case "$nin": return !x.some(eq);
        case "$gt": return cmp((v) => v > x);
        case "$gte": return cmp((v) => v >= x);
        case "$lt": return cmp((v) => v < x);
        case "$lte": return cmp((v) => v <= x);
        case "$exists": return (value !== undefined) === x;
        default: throw new Error(`the model has no ${op}`);
      }
    });
  });
}

/** The exact top-k ids among the matching items (cosine on unit vectors: largest dot). */
function bruteForce(query, k, accept) {
  const scored = [];
  for (let i = 0; i < base.length; i++) {
    if (!accept(i)) continue;
    let dot = 0;
    for (let j = 0; j < query.length; j++) dot += base[i][j] * query[j];
    scored.push([dot, i]);
  }
  scored.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return scored.slice(0, k).map(([, i]) => String(i));
}

const synthetic = [1, 10, 100, 500, 1000].map((perMille) => ({
  name: `${perMille / 10}%`,
  filter: { bucket: { $lt: perMille } },
  expectMatches: 3 * perMille,
}));
const language = [
  { name: "array contains", filter: { tags: "crate" } },
  { name: "$in and range", filter: { category: { $in: ["core", "std", "alloc"] }, year: { $gte: 2018, $lte: 2022 } } },
  { name: "$or", filter: { $or: [{ category: "book" }, { bucket: { $lt: 20 } }] } },
  { name: "$not and $exists", filter: { $not: { category: "crates/other" }, draft: { $exists: false } } },
  { name: "$ne and $nin", filter: { lang: { $ne: "de" }, category: { $nin: ["crates/other", "core"] } } },
];

const stores = await (async () => {
  const made = {};
  for (const [index, params] of [["Flat", {}], ["HNSW16", {}], ["IVF64", { nprobe: 16 }]]) {
    const store = await VectorStore.create({ dimension: base[0].length, index, seed: 7 });
    await store.add(base.map((vector, i) => ({ id: String(i), vector, metadata: metadata[i] })));
    made[index] = { store, params };
  }
  return made;
})();

for (const [index, { store, params }] of Object.entries(stores)) {
  test(`${index}: filtered search returns min(k, matches) matching items, ${index === "Flat" ? "exact" : "recall@10 ≥ 0.95"}`, async () => {
    const k = 10;
    const cells = [
      { name: "real category filters", filterOf: (q) => ({ category: queryCategories[q] }) },
      ...[...synthetic, ...language].map((c) => ({ ...c, filterOf: () => c.filter })),
    ];
    const report = [];
    for (const cell of cells) {
      let hits = 0;
      let total = 0;
      for (let q = 0; q < queries.length; q++) {
        const filter = cell.filterOf(q);
        const accept = (i) => matches(filter, metadata[i]);
        const matching = metadata.filter((m) => matches(filter, m)).length;
        if (cell.expectMatches !== undefined) assert.equal(matching, cell.expectMatches, cell.name);
        const found = await store.search({ vector: queries[q], k, filter, params });
        assert.equal(found.length, Math.min(k, matching), `${index} ${cell.name} query ${q}: count`);
        for (const hit of found) {
          assert.ok(accept(Number(hit.id)), `${index} ${cell.name} query ${q}: ${hit.id} does not match`);
          assert.deepEqual(hit.metadata, metadata[Number(hit.id)], "metadata comes back");
        }
        const truth = bruteForce(queries[q], k, accept);
        hits += found.filter((h) => truth.includes(h.id)).length;
        total += truth.length;
      }
      const recall = hits / total;
      report.push(`${cell.name} ${recall.toFixed(3)}`);
      assert.ok(recall >= (index === "Flat" ? 1 : 0.95), `${index} ${cell.name}: filtered recall@10 ${recall}`);
    }
    console.log(`${index}: ${report.join(", ")}`);
  });
}

test("a filter that matches fewer than k items, or none", async () => {
  for (const [index, { store, params }] of Object.entries(stores)) {
    const few = await store.search({ vector: queries[0], k: 50, filter: { bucket: 7 }, params });
    assert.deepEqual(few.map((h) => h.metadata.bucket), [7, 7, 7], index);
    assert.deepEqual(await store.search({ vector: queries[0], k: 5, filter: { category: "no such" }, params }), [], index);
  }
});

test("malformed filters reject with invalid_filter, saying where and what", async () => {
  const { store } = stores.HNSW16;
  const vector = queries[0];
  const cases = [
    [{ year: { $gt: true } }, /at \/year\/\$gt: .*number or a string/],
    [{ $where: "this.a > 1" }, /at \/\$where: .*unknown/],
    [{ year: { $regex: "^19" } }, /at \/year\/\$regex: .*unknown/],
    [{ $or: [] }, /at \/\$or: .*non-empty/],
    [{ $and: [{ a: 1 }, 2] }, /at \/\$and\/1: /],
    [{ a: { $in: "x" } }, /at \/a\/\$in: .*array/],
    [{ a: { b: { $gt: 1 } } }, /at \/a\/b\/\$gt: /],
    [{ "a..b": 1 }, /at \/a\.\.b: /],
    [JSON.parse('{"__proto__": {"admin": true}}'), /at \/__proto__: /],
    [{ meta: { constructor: 1 } }, /at \/meta\/constructor: /],
  ];
  for (const [filter, message] of cases) {
    await assert.rejects(store.search({ vector, k: 1, filter }), (e) => {
      assert.ok(e instanceof QuiverError, `${JSON.stringify(filter)}: a QuiverError`);
      assert.equal(e.code, "invalid_filter", JSON.stringify(filter));
      assert.match(e.message, message, JSON.stringify(filter));
      return true;
    });
  }
  for (const notObject of ["year > 2020", [], null, 5]) {
    await assert.rejects(store.search({ vector, k: 1, filter: notObject }), (e) => e instanceof QuiverError && e.code === "invalid_filter" && /filter must be an object/.test(e.message));
  }
  let deep = { a: 1 };
  for (let i = 0; i < 40; i++) deep = { $not: deep };
  await assert.rejects(store.search({ vector, k: 1, filter: deep }), (e) => e.code === "invalid_filter" && /deeper|depth|nest/i.test(e.message));
  // The store still answers after every refusal.
  assert.equal((await store.search({ vector, k: 3, filter: { bucket: { $lt: 500 } } })).length, 3);
});

test("close the stores", async () => {
  for (const { store } of Object.values(stores)) await store.close();
});

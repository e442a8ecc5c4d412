// The built package (pkg/) imports and answers queries from plain Node, errors carry their
// code, and the .wasm really contains SIMD128 instructions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const quiver = await import(new URL("pkg/dist/node.js", `file://${root}`).href);

test("imports and answers a query", () => {
  const store = new quiver.Collection({ dimension: 3, metric: "cosine", spec: "Flat" });
  store.add(["a", "b", "c"], new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]),
    JSON.stringify([{ tag: "x" }, null, { tag: "z" }]));
  const hits = store.search(new Float32Array([0.9, 0.1, 0]), 2);
  assert.equal(hits.length, 2);
  assert.equal(hits[0].id, "a");
  assert.deepEqual(hits[0].metadata, { tag: "x" });
  assert.ok(hits[0].score > hits[1].score);
  assert.equal(store.length, 3);
  assert.equal(quiver.simdEnabled(), true);
});

/** Runs `fn`, asserts it throws a QuiverError with `code`, and returns the error. */
function expectCode(code, fn) {
  let thrown;
  assert.throws(fn, (e) => {
    thrown = e;
    return quiver.isQuiverError(e, code);
  }, `expected ${code}`);
  return thrown;
}

test("the lean build holds Flat and HNSW; loadFullBuild() holds every family", async () => {
  assert.equal(quiver.specAvailability("HNSW16"), "built");
  assert.equal(quiver.specAvailability("IVF4,PQ2"), "fullBuildOnly");
  assert.equal(quiver.specAvailability("HNSW16,PQ2"), "never");
  expectCode("invalid_spec", () => quiver.specAvailability("LSH"));
  const error = expectCode("unsupported", () => new quiver.Collection({ dimension: 4, metric: "l2", spec: "IVF4,PQ2" }));
  assert.match(error.message, /lean build.*loadFullBuild/);

  const full = await quiver.loadFullBuild();
  assert.equal(full.isFullBuild(), true);
  assert.equal(await quiver.loadFullBuild().then((b) => b.Collection), full.Collection, "loaded once");
  const c = new full.Collection({ dimension: 4, metric: "l2", spec: "IVF2,SQ8", seed: 3 });
  const vectors = Float32Array.from({ length: 100 * 4 }, (_, i) => Math.sin(i * 0.37));
  c.add(Array.from({ length: 100 }, (_, i) => `v${i}`), vectors);
  assert.equal(c.search(vectors.subarray(20, 24), 1)[0].id, "v5");
  // The two builds write one format: a Flat store saved by the full build opens in the lean one.
  const flat = new full.Collection({ dimension: 4, metric: "l2", spec: "Flat" });
  flat.add(["a", "b"], Float32Array.of(1, 0, 0, 0, 0, 1, 0, 0));
  const plan = flat.beginSave();
  const records = new Map(plan.puts);
  const manifest = records.get("manifest");
  const keys = quiver.Collection.requiredChunks(manifest);
  const reopened = quiver.Collection.open(manifest, keys, keys.map((k) => records.get(k)));
  assert.equal(reopened.search(Float32Array.of(0, 1, 0, 0), 1)[0].id, "b");
  for (const x of [c, flat, reopened]) x.free();
});

test("answers the fixture's queries exactly", () => {
  const dir = new URL("tests/fixtures/minilm-3k/", `file://${root}`);
  const readVecs = (name) => {
    const bytes = readFileSync(new URL(name, dir));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const dim = view.getInt32(0, true);
    const rows = bytes.byteLength / (4 * (dim + 1));
    const out = new (name.endsWith(".ivecs") ? Int32Array : Float32Array)(rows * dim);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < dim; j++) {
        const at = 4 * (r * (dim + 1) + 1 + j);
        out[r * dim + j] = name.endsWith(".ivecs") ? view.getInt32(at, true) : view.getFloat32(at, true);
      }
    }
    return { dim, rows, data: out };
  };
  const base = readVecs("base.fvecs");
  const queries = readVecs("query.fvecs");
  const truth = readVecs("groundtruth.ivecs");
  const store = new quiver.Collection({ dimension: base.dim, metric: "cosine", spec: "Flat" });
  store.add(Array.from({ length: base.rows }, (_, i) => String(i)), base.data);
  const results = store.searchBatch(queries.data, 10);
  // The knobs array with every knob unset answers like no knobs at all.
  assert.deepEqual(store.searchBatch(queries.data.subarray(0, 3 * base.dim), 10, Float64Array.of(NaN, NaN, NaN)), results.slice(0, 3));
  let hits = 0;
  results.forEach((row, q) => {
    const expected = new Set(truth.data.subarray(q * truth.dim, q * truth.dim + 10));
    hits += row.filter((h) => expected.has(Number(h.id))).length;
  });
  assert.equal(hits / (queries.rows * 10), 1);
});

test("errors are QuiverErrors with stable codes", () => {
  const store = new quiver.Collection({ dimension: 4, metric: "l2", spec: "Flat" });
  const expectCode = (code, fn) =>
    assert.throws(fn, (e) => quiver.isQuiverError(e, code), `expected ${code}`);
  expectCode("dimension_mismatch", () => store.search(new Float32Array(3), 1));
  expectCode("invalid_vector", () => store.add(["x"], new Float32Array([1, NaN, 0, 0])));
  expectCode("invalid_k", () => store.search(new Float32Array(4), 0));
  expectCode("not_found", () => store.get("missing"));
  expectCode("invalid_dimension", () => new quiver.Collection({ dimension: 0, metric: "l2", spec: "Flat" }));
  expectCode("invalid_spec", () => new quiver.Collection({ dimension: 4, metric: "l2", spec: "Nope" }));
  // Malformed options and knobs are refused by the core, naming what is wrong.
  expectCode("invalid_argument", () => new quiver.Collection({ dimension: 4, metric: "l2" }));
  expectCode("invalid_argument", () => new quiver.Collection({ dimension: 2.5, metric: "l2", spec: "Flat" }));
  expectCode("invalid_argument", () => store.search(new Float32Array(4), 1, Float64Array.of(1.5, NaN, NaN)));
  expectCode("invalid_argument", () => store.search(new Float32Array(4), 1, Float64Array.of(8)));
  expectCode("invalid_metadata", () => store.add(["x"], new Float32Array(4), "{not json"));
  assert.equal(store.length, 0);
});

test("the TypeScript QuiverErrorCode union lists exactly the core's codes", () => {
  const dts = readFileSync(`${root}pkg/dist/errors.d.ts`, "utf8");
  const union = dts.match(/type QuiverErrorCode =([^;]*);/)[1];
  const typed = [...union.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]).sort();
  assert.deepEqual(typed, [...quiver.errorCodes()].sort());
});

test("the .wasm contains SIMD128 instructions", () => {
  const wasmDis = new URL("node_modules/.bin/wasm-dis", `file://${root}`);
  const text = execFileSync(fileURLToPath(wasmDis), [`${root}pkg/wasm/quiver_bg.wasm`], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const simdOps = text.match(/\bf32x4\.(mul|add|sub)\b/g) ?? [];
  assert.ok(simdOps.length >= 20, `only ${simdOps.length} f32x4 arithmetic instructions found`);
});

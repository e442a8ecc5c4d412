// Bad input from untyped JavaScript gives a typed QuiverError with the right code, never a
// trap, a coercion surprise or a hang, and leaves the store unchanged. Every case runs against
// the in-thread VectorStore and against a WorkerVectorStore (over a MessageChannel, which is
// what a Web Worker boundary is), so the two front ends fail identically.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { VectorStore, WorkerVectorStore, QuiverError, serveWorker } = await import(
  new URL("pkg/dist/node.js", `file://${root}`).href
);

const DIM = 3;
const ok = (id = "ok") => ({ id, vector: [1, 0, 0] });
const cyclic = { a: 1 };
cyclic.self = cyclic;

// [label, code, (store) => promise]
const storeCases = [
  // add / upsert: the batch
  ["items undefined", "invalid_argument", (s) => s.add()],
  ["items null", "invalid_argument", (s) => s.add(null)],
  ["items a string", "invalid_argument", (s) => s.add("abc")],
  ["items one object, not an array", "invalid_argument", (s) => s.add(ok())],
  ["item null", "invalid_argument", (s) => s.add([ok("a"), null])],
  ["item a number", "invalid_argument", (s) => s.add([5])],
  ["item an array", "invalid_argument", (s) => s.upsert([["x", [1, 0, 0]]])],
  // ids
  ["id missing", "invalid_id", (s) => s.add([{ vector: [1, 0, 0] }])],
  ["id a number", "invalid_id", (s) => s.add([{ id: 5, vector: [1, 0, 0] }])],
  ["id null", "invalid_id", (s) => s.add([{ id: null, vector: [1, 0, 0] }])],
  ["id an object", "invalid_id", (s) => s.add([{ id: { toString: () => "x" }, vector: [1, 0, 0] }])],
  ["id empty", "invalid_id", (s) => s.add([{ id: "", vector: [1, 0, 0] }])],
  ["id over 1024 bytes", "invalid_id", (s) => s.add([{ id: "é".repeat(600), vector: [1, 0, 0] }])],
  ["id repeated in a batch", "duplicate_id", (s) => s.add([ok("d"), ok("d")])],
  ["id already stored", "duplicate_id", (s) => s.add([ok("base")])],
  // vectors: types
  ["vector missing", "invalid_vector", (s) => s.add([{ id: "x" }])],
  ["vector null", "invalid_vector", (s) => s.add([{ id: "x", vector: null }])],
  ["vector a string", "invalid_vector", (s) => s.add([{ id: "x", vector: "1,0,0" }])],
  ["vector array-like object", "invalid_vector", (s) => s.add([{ id: "x", vector: { 0: 1, 1: 0, 2: 0, length: 3 } }])],
  ["vector Float64Array", "invalid_vector", (s) => s.add([{ id: "x", vector: new Float64Array(3).fill(1) }])],
  ["vector Uint8Array", "invalid_vector", (s) => s.add([{ id: "x", vector: new Uint8Array(3).fill(1) }])],
  ["vector with a string component", "invalid_vector", (s) => s.add([{ id: "x", vector: [1, "2", 3] }])],
  ["vector with null", "invalid_vector", (s) => s.add([{ id: "x", vector: [1, null, 3] }])],
  ["vector with undefined (hole)", "invalid_vector", (s) => s.add([{ id: "x", vector: [1, , 3] }])], // eslint-disable-line no-sparse-arrays
  ["vector with a BigInt", "invalid_vector", (s) => s.add([{ id: "x", vector: [1, 2n, 3] }])],
  // vectors: lengths
  ["Float32Array too short", "dimension_mismatch", (s) => s.add([{ id: "x", vector: new Float32Array(2).fill(1) }])],
  ["Float32Array too long", "dimension_mismatch", (s) => s.add([{ id: "x", vector: new Float32Array(4).fill(1) }])],
  ["array too short", "dimension_mismatch", (s) => s.upsert([{ id: "x", vector: [1, 2] }])],
  ["empty array", "dimension_mismatch", (s) => s.add([{ id: "x", vector: [] }])],
  // vectors: values
  ["NaN in an array", "invalid_vector", (s) => s.add([{ id: "x", vector: [NaN, 0, 1] }])],
  ["NaN in a Float32Array", "invalid_vector", (s) => s.add([{ id: "x", vector: new Float32Array([1, NaN, 0]) }])],
  ["Infinity", "invalid_vector", (s) => s.add([{ id: "x", vector: [1, Infinity, 0] }])],
  ["-Infinity in a Float32Array", "invalid_vector", (s) => s.upsert([{ id: "x", vector: new Float32Array([-Infinity, 0, 0]) }])],
  ["a double that overflows f32", "invalid_vector", (s) => s.add([{ id: "x", vector: [1e39, 0, 0] }])],
  ["zero vector under cosine", "zero_vector", (s) => s.add([{ id: "x", vector: [0, 0, 0] }])],
  ["NaN in the 3rd item of a batch", "invalid_vector", (s) => s.add([ok("a"), ok("b"), { id: "c", vector: [0, NaN, 1] }])],
  // metadata
  ["metadata a string", "invalid_metadata", (s) => s.add([{ ...ok("x"), metadata: "tag" }])],
  ["metadata a number", "invalid_metadata", (s) => s.add([{ ...ok("x"), metadata: 5 }])],
  ["metadata an array", "invalid_metadata", (s) => s.add([{ ...ok("x"), metadata: ["a"] }])],
  ["metadata a Date", "invalid_metadata", (s) => s.add([{ ...ok("x"), metadata: new Date(0) }])],
  ["metadata a Map", "invalid_metadata", (s) => s.add([{ ...ok("x"), metadata: new Map() }])],
  ["metadata with a BigInt", "invalid_metadata", (s) => s.add([{ ...ok("x"), metadata: { n: 1n } }])],
  ["metadata with a cycle", "invalid_metadata", (s) => s.add([{ ...ok("x"), metadata: cyclic }])],
  ["metadata over 64 KiB", "invalid_metadata", (s) => s.add([{ ...ok("x"), metadata: { text: "x".repeat(70_000) } }])],
  // task options
  ["options a string", "invalid_argument", (s) => s.add([ok("x")], "fast")],
  ["signal not an AbortSignal", "invalid_argument", (s) => s.add([ok("x")], { signal: {} })],
  ["onProgress not a function", "invalid_argument", (s) => s.add([ok("x")], { onProgress: 5 })],
  // search
  ["search without a request", "invalid_argument", (s) => s.search()],
  ["search request an array", "invalid_argument", (s) => s.search([1, 0, 0])],
  ["k missing", "invalid_k", (s) => s.search({ vector: [1, 0, 0] })],
  ["k zero", "invalid_k", (s) => s.search({ vector: [1, 0, 0], k: 0 })],
  ["k negative", "invalid_k", (s) => s.search({ vector: [1, 0, 0], k: -1 })],
  ["k fractional", "invalid_k", (s) => s.search({ vector: [1, 0, 0], k: 1.5 })],
  ["k a string", "invalid_k", (s) => s.search({ vector: [1, 0, 0], k: "3" })],
  ["k NaN", "invalid_k", (s) => s.search({ vector: [1, 0, 0], k: NaN })],
  ["k above the core's cap", "invalid_k", (s) => s.search({ vector: [1, 0, 0], k: 10_001 })],
  ["k beyond u32 (would wrap to 1)", "invalid_k", (s) => s.search({ vector: [1, 0, 0], k: 2 ** 32 + 1 })],
  ["query missing", "invalid_vector", (s) => s.search({ k: 1 })],
  ["query wrong length", "dimension_mismatch", (s) => s.search({ vector: new Float32Array(2), k: 1 })],
  ["query with NaN", "invalid_vector", (s) => s.search({ vector: [NaN, 1, 0], k: 1 })],
  ["query Float32Array with NaN", "invalid_vector", (s) => s.search({ vector: new Float32Array([1, NaN, 0]), k: 1 })],
  ["query a string", "invalid_vector", (s) => s.search({ vector: "1,0,0", k: 1 })],
  ["zero query under cosine", "zero_vector", (s) => s.search({ vector: [0, 0, 0], k: 1 })],
  ["params a string", "invalid_argument", (s) => s.search({ vector: [1, 0, 0], k: 1, params: "ef=10" })],
  ["efSearch zero", "invalid_argument", (s) => s.search({ vector: [1, 0, 0], k: 1, params: { efSearch: 0 } })],
  ["nprobe a string", "invalid_argument", (s) => s.search({ vector: [1, 0, 0], k: 1, params: { nprobe: "4" } })],
  ["rerank negative", "invalid_argument", (s) => s.search({ vector: [1, 0, 0], k: 1, params: { rerank: -1 } })],
  ["filter a string", "invalid_filter", (s) => s.search({ vector: [1, 0, 0], k: 1, filter: "a = 1" })],
  // get / delete
  ["get without an id", "invalid_id", (s) => s.get()],
  ["get a number", "invalid_id", (s) => s.get(5)],
  ["get empty", "invalid_id", (s) => s.get("")],
  ["delete without ids", "invalid_argument", (s) => s.delete()],
  ["delete a number", "invalid_argument", (s) => s.delete(5)],
  ["delete a non-string id", "invalid_id", (s) => s.delete(["base", 5])],
  ["delete an unknown id", "not_found", (s) => s.delete(["base", "missing"])],
];

const createCases = [
  ["options missing", "invalid_argument", undefined],
  ["options a string", "invalid_argument", "dim=3"],
  ["dimension missing", "invalid_dimension", {}],
  ["dimension a string", "invalid_dimension", { dimension: "3" }],
  ["dimension zero", "invalid_dimension", { dimension: 0 }],
  ["dimension fractional", "invalid_dimension", { dimension: 1.5 }],
  ["dimension NaN", "invalid_dimension", { dimension: NaN }],
  ["dimension above the cap", "invalid_dimension", { dimension: 100_000 }],
  ["metric unknown", "invalid_metric", { dimension: 3, metric: "manhattan" }],
  ["metric a number", "invalid_metric", { dimension: 3, metric: 2 }],
  ["index unknown", "invalid_spec", { dimension: 3, index: "Nope" }],
  ["index an object", "invalid_spec", { dimension: 3, index: { type: "Flat" } }],
  ["seed negative", "invalid_argument", { dimension: 3, seed: -1 }],
  ["seed a string", "invalid_argument", { dimension: 3, seed: "42" }],
  ["name empty", "invalid_argument", { dimension: 3, name: "" }],
  ["name with a slash", "invalid_argument", { dimension: 3, name: "a/b" }],
  ["name a number", "invalid_argument", { dimension: 3, name: 7 }],
];

/** Fails the test instead of hanging when a promise never settles. */
function settleWithin(promise, ms, label) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer within ${ms} ms (hang)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function expectCode(label, code, run) {
  let promise;
  try {
    promise = run();
  } catch (error) {
    assert.fail(`${label}: threw synchronously (${error}) instead of rejecting`);
  }
  assert.ok(promise && typeof promise.then === "function", `${label}: did not return a promise`);
  await assert.rejects(
    settleWithin(promise, 5_000, label),
    (e) => {
      assert.ok(e instanceof QuiverError, `${label}: expected a QuiverError, got ${e?.name}: ${e?.message}`);
      assert.equal(e.code, code, `${label}: ${e.message}`);
      return true;
    },
    label,
  );
}

const frontEnds = {
  "in-thread VectorStore": async () => ({
    create: (options) => VectorStore.create(options),
    done() {},
  }),
  "WorkerVectorStore over a MessageChannel": async () => {
    const { port1, port2 } = new MessageChannel();
    const stop = serveWorker({ endpoint: port1 });
    return {
      create: (options) => WorkerVectorStore.create(port2, options),
      done() {
        stop();
        port1.close();
        port2.close();
      },
    };
  },
};

for (const [frontEnd, setUp] of Object.entries(frontEnds)) {
  test(`${frontEnd}: bad store calls reject with typed errors and change nothing`, async () => {
    const env = await setUp();
    try {
      const store = await env.create({ dimension: DIM });
      await store.add([{ id: "base", vector: [0, 1, 0], metadata: { keep: true } }]);
      for (const [label, code, run] of storeCases) await expectCode(label, code, () => run(store));
      assert.equal((await store.stats()).count, 1, "no bad call changed the store");
      const [hit] = await store.search({ vector: [0, 1, 0], k: 5 });
      assert.deepEqual({ id: hit.id, metadata: hit.metadata }, { id: "base", metadata: { keep: true } });
      await store.close();
      await expectCode("add after close", "closed", () => store.add([ok("late")]));
    } finally {
      env.done();
    }
  });

  test(`${frontEnd}: bad create options reject with typed errors`, async () => {
    const env = await setUp();
    try {
      for (const [label, code, options] of createCases) await expectCode(label, code, () => env.create(options));
    } finally {
      env.done();
    }
  });
}

test("k has one limit and one message, whichever layer refuses it", async () => {
  const { Collection } = await import(new URL("pkg/dist/node.js", `file://${root}`).href);
  const store = await VectorStore.create({ dimension: DIM });
  await store.add([ok("a"), ok("b")]);
  const message = async (promise) => (await promise.then(() => assert.fail("expected invalid_k"), (e) => e)).message;
  const limit = /: must be an integer between 1 and 10000$/;
  for (const k of [0, 10_001, 4_294_967_295, 1.5]) {
    const e = await message(store.search({ vector: [1, 0, 0], k }));
    assert.match(e, limit, `search k=${k}`);
    assert.match(await message(store.measureRecall({ k, sample: 1 })), limit, `measureRecall k=${k}`);
  }
  // The core's own refusal (the raw binding does no checks of its own) says the same.
  const raw = new Collection({ dimension: DIM, metric: "l2", spec: "Flat" });
  raw.add(["a"], new Float32Array([1, 0, 0]));
  assert.throws(() => raw.search(new Float32Array([1, 0, 0]), 10_001), (e) => e.code === "invalid_k" && /^invalid k 10001: must be an integer between 1 and 10000$/.test(e.message));
  assert.equal((await store.search({ vector: [1, 0, 0], k: 10_000 })).length, 2, "k = 10000 is allowed");
  await store.close();
});

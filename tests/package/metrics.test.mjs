// Metrics, recall and tuning of the built package (pkg/dist/node.js): the fields stats()
// reports, the histogram's percentiles on known inputs, the onMetric event names, measureRecall
// against exact search, and tune on the committed MiniLM fixture, in-thread and over a worker
// boundary (MessageChannel).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const quiver = await import(new URL("pkg/dist/node.js", `file://${root}`).href);
const { VectorStore, WorkerVectorStore, serveWorker, LatencyHistogram, RateWindow, QuiverError } = quiver;

const rejectsWith = (promise, code) =>
  assert.rejects(promise, (e) => e instanceof QuiverError && e.code === code, `expected ${code}`);

function readVecs(name) {
  const bytes = readFileSync(new URL(`tests/fixtures/minilm-3k/${name}`, `file://${root}`));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dim = view.getInt32(0, true);
  const rows = bytes.byteLength / (4 * (dim + 1));
  const out = [];
  for (let r = 0; r < rows; r++) {
    const v = new Float32Array(dim);
    for (let j = 0; j < dim; j++) v[j] = view.getFloat32(4 * (r * (dim + 1) + 1 + j), true);
    out.push(v);
  }
  return out;
}
const base = readVecs("base.fvecs");
const queries = readVecs("query.fvecs");
const items = base.map((vector, i) => ({ id: String(i), vector }));

async function fixtureStore(index, options = {}) {
  const store = await VectorStore.create({ name: index.replace(/,/g, "_"), dimension: 384, index, seed: 7, ...options });
  await store.add(items);
  return store;
}

test("histogram percentiles are within 4.5% on known inputs", () => {
  const h = new LatencyHistogram();
  // 1..1000 ms uniformly: p50 = 500, p95 = 950, p99 = 990.
  for (let ms = 1; ms <= 1000; ms++) h.record(ms);
  const s = h.summary();
  assert.equal(s.count, 1000);
  for (const [got, want] of [[s.p50, 500], [s.p95, 950], [s.p99, 990]]) {
    assert.ok(Math.abs(got - want) / want <= 0.045, `got ${got}, want ${want}`);
  }
  assert.equal(s.max, 1000);
  assert.equal(s.mean, 500.5);
  // A constant input is reported exactly (clamped to min and max).
  const c = new LatencyHistogram();
  for (let i = 0; i < 100; i++) c.record(0.25);
  assert.deepEqual([c.quantile(0.5), c.quantile(0.99)], [0.25, 0.25]);
  // Skewed: 99 fast, 1 slow; p99 is a fast one, the max is the slow one.
  const skew = new LatencyHistogram();
  for (let i = 0; i < 99; i++) skew.record(1);
  skew.record(100);
  assert.ok(Math.abs(skew.quantile(0.99) - 1) <= 0.045);
  assert.equal(skew.summary().max, 100);
  // Empty, zero and huge values do not break it.
  assert.equal(new LatencyHistogram().quantile(0.5), 0);
  const edge = new LatencyHistogram();
  edge.record(0);
  edge.record(1e9);
  assert.equal(edge.quantile(1), 1e9);
});

test("rate window counts the last 60 seconds", () => {
  let now = 0;
  const w = new RateWindow(() => now);
  now = 10_000;
  for (let i = 0; i < 100; i++) w.add(1, 5_000);
  assert.equal(w.rate(), 10); // 100 events over the 10 s the window has existed
  now = 100_000;
  w.add(30, 99_000);
  assert.equal(w.rate(), 0.5); // the first 100 left the 60 s window
  assert.equal(w.total, 130);
});

test("stats() reports counts, memory by component and operation metrics", async () => {
  const store = await fixtureStore("HNSW16");
  for (const q of queries) await store.search({ vector: q, k: 10 });
  await store.delete(["1", "2"]);
  const s = await store.stats();
  assert.equal(s.count, 2998);
  assert.equal(s.tombstones, 2);
  assert.equal(s.search.count, queries.length);
  assert.ok(s.search.qps > 0);
  const l = s.search.latencyMs;
  assert.equal(l.count, queries.length);
  assert.ok(0 < l.p50 && l.p50 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.max, JSON.stringify(l));
  assert.equal(s.insert.count, 3000);
  assert.ok(s.insert.perSecond > 0);
  assert.equal(s.deletes, 2);
  assert.ok(s.windowSeconds > 0 && s.windowSeconds <= 60);
  const m = s.memory;
  assert.equal(m.total, s.memoryBytes);
  assert.equal(m.vectors + m.codes + m.graph + m.ids + m.metadata + m.other, m.total);
  assert.ok(m.ids > 0, "string ids are counted on their own");
  assert.ok(m.vectors >= 3000 * 384 * 4, "HNSW keeps the f32 vectors");
  assert.ok(m.graph > 0 && m.metadata > 0);
  assert.deepEqual(s.searchDefaults, {});
  await store.close();

  const off = await VectorStore.create({ dimension: 2, metrics: false });
  await off.add([{ id: "a", vector: [1, 0] }]);
  await off.search({ vector: [1, 0], k: 1 });
  const so = await off.stats();
  assert.equal(so.search.count, 0);
  assert.equal(so.search.latencyMs.p99, 0);
  await rejectsWith(VectorStore.create({ dimension: 2, onMetric: 1 }), "invalid_argument");
});

test("onMetric receives the documented names and attributes", async () => {
  const events = [];
  const store = await VectorStore.create({ name: "m", dimension: 2, metric: "l2", onMetric: (e) => events.push(e) });
  await store.add([{ id: "a", vector: [0, 0] }, { id: "b", vector: [1, 0] }]);
  await store.search({ vector: [0, 0], k: 1 });
  await store.delete("a");
  await store.measureRecall({ k: 1 });
  const byName = Object.fromEntries(events.map((e) => [e.name, e]));
  assert.deepEqual(Object.keys(byName).sort(), [
    "quiver.delete.count",
    "quiver.insert.count",
    "quiver.insert.duration",
    "quiver.recall",
    "quiver.search.count",
    "quiver.search.duration",
  ]);
  assert.deepEqual(byName["quiver.insert.count"], { name: "quiver.insert.count", value: 2, unit: "{item}", kind: "counter", attributes: { store: "m", index: "Flat" } });
  assert.equal(byName["quiver.search.duration"].unit, "ms");
  assert.equal(byName["quiver.search.duration"].kind, "histogram");
  assert.ok(byName["quiver.search.duration"].value >= 0);
  assert.deepEqual(byName["quiver.recall"].attributes, { store: "m", index: "Flat", k: 1 });
  // A throwing callback never fails the operation.
  const noisy = await VectorStore.create({ dimension: 2, onMetric: () => { throw new Error("boom"); } });
  await noisy.add([{ id: "a", vector: [1, 0] }]);
  assert.equal((await noisy.search({ vector: [1, 0], k: 1 })).length, 1);
});

test("measureRecall is 1 for Flat, on given queries and on a sample", async () => {
  const store = await fixtureStore("Flat");
  const sampled = await store.measureRecall({ k: 10 });
  assert.deepEqual(sampled, { recall: 1, k: 10, queries: 100, params: {} });
  const given = await store.measureRecall({ k: 10, queries: queries.slice(0, 20) });
  assert.equal(given.recall, 1);
  assert.equal(given.queries, 20);
  assert.equal((await store.measureRecall({ k: 5, sample: 7 })).queries, 7);
  await rejectsWith(store.measureRecall({ k: 0 }), "invalid_k");
  await rejectsWith(store.measureRecall({ k: 10, queries: [[1, 2]] }), "dimension_mismatch");
  await rejectsWith(store.measureRecall({ k: 10, sample: 0 }), "invalid_argument");
  await rejectsWith(store.tune({ targetRecall: 0.9, k: 10 }), "unsupported");
  const aborted = AbortSignal.abort();
  await assert.rejects(store.measureRecall({ k: 10, signal: aborted }), (e) => e.name === "AbortError");
  await store.close();
});

for (const [index, knob] of [["IVF32", "nprobe"], ["HNSW16", "efSearch"]]) {
  test(`tune reaches the target on the fixture's queries for ${index}, and measureRecall agrees`, async () => {
    const store = await fixtureStore(index);
    const target = 0.95;
    const chosen = await store.tune({ targetRecall: target, k: 10, queries });
    console.log(`${index}: ${chosen.knob} = ${chosen.value}, recall@10 ${chosen.recall} (seed 7)`);
    assert.equal(chosen.knob, knob);
    assert.ok(chosen.reached && chosen.recall >= target, JSON.stringify(chosen));
    assert.deepEqual(chosen.params, { [knob]: chosen.value });
    assert.deepEqual((await store.stats()).searchDefaults, { [knob]: chosen.value });
    const measured = await store.measureRecall({ k: 10, queries });
    assert.ok(measured.recall >= target, JSON.stringify(measured));
    assert.deepEqual(measured.params, { [knob]: chosen.value });
    // Without queries: tuned on a leave-one-out sample of the stored vectors.
    const sampled = await store.tune({ targetRecall: target, k: 10 });
    assert.ok(sampled.recall >= target, JSON.stringify(sampled));
    // Explicit params override the tuned default: the smallest knob gives less recall.
    const low = await store.measureRecall({ k: 10, queries, params: { [knob]: 1 } });
    assert.ok(low.recall < measured.recall, `${low.recall} vs ${measured.recall}`);
    await rejectsWith(store.tune({ targetRecall: 1.5, k: 10 }), "invalid_argument");
    await store.close();
  });
}

test("measureRecall, tune and stats work through the worker front end", async () => {
  const events = [];
  const { port1, port2 } = new MessageChannel();
  const stop = serveWorker({ endpoint: port1, onMetric: (e) => events.push(e.name) });
  port2.start();
  const store = await WorkerVectorStore.create(port2, { name: "w", dimension: 384, index: "HNSW16", seed: 7 });
  await store.add(items);
  const chosen = await store.tune({ targetRecall: 0.9, k: 10, queries: queries.slice(0, 50) });
  assert.equal(chosen.knob, "efSearch");
  assert.ok(chosen.recall >= 0.9);
  const measured = await store.measureRecall({ k: 10, queries: queries.slice(0, 50) });
  assert.equal(measured.recall, chosen.recall);
  await store.search({ vector: queries[0], k: 10 });
  const s = await store.stats();
  assert.equal(s.search.count, 1);
  assert.equal(s.searchDefaults.efSearch, chosen.value);
  assert.ok(events.includes("quiver.search.duration") && events.includes("quiver.recall"));
  await assert.rejects(WorkerVectorStore.create(port2, { dimension: 2, onMetric: () => {} }), (e) => e.code === "invalid_argument");
  await store.close();
  stop();
  port1.close();
  port2.close();
});

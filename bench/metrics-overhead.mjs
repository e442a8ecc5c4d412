// What the per-store metrics cost: search QPS of a VectorStore with metrics off
// (`metrics: false`), on (the default: histogram + rates, no callback), and on with a no-op
// `onMetric` callback, on the committed fixture (tests/fixtures/minilm-3k, 3000 × 384, cosine).
//
//   node bench/metrics-overhead.mjs [--runs 7] [--searches 3000]
//
// Needs pkg/ (bash scripts/build-pkg.sh). Each run issues `searches` sequential awaited
// searches (k = 10) cycling through the 100 fixture queries; the three modes are interleaved
// run by run so drift in machine load hits all of them alike; medians of `runs` are reported.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const { VectorStore, LatencyHistogram, RateWindow } = await import(new URL("pkg/dist/node.js", `file://${root}`).href);

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg("runs", 7);
const SEARCHES = arg("searches", 3000);

function readVecs(name) {
  const bytes = readFileSync(new URL(`tests/fixtures/minilm-3k/${name}`, `file://${root}`));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dim = view.getInt32(0, true);
  const rows = bytes.byteLength / (4 * (dim + 1));
  return Array.from({ length: rows }, (_, r) => {
    const v = new Float32Array(dim);
    for (let j = 0; j < dim; j++) v[j] = view.getFloat32(4 * (r * (dim + 1) + 1 + j), true);
    return v;
  });
}
const base = readVecs("base.fvecs");
const queries = readVecs("query.fvecs");
const items = base.map((vector, i) => ({ id: String(i), vector }));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

let sink = 0;
const modes = {
  "metrics off": { metrics: false },
  "metrics on (default)": {},
  "metrics on + onMetric": { onMetric: (e) => { sink += e.value; } },
};

console.log(`node ${process.version}, ${RUNS} runs × ${SEARCHES} searches, k = 10, fixture minilm-3k (3000 × 384, cosine)\n`);
console.log("| index | mode | median QPS | vs off |");
console.log("| --- | --- | ---: | ---: |");
for (const index of ["Flat", "HNSW16"]) {
  const stores = {};
  for (const [mode, options] of Object.entries(modes)) {
    stores[mode] = await VectorStore.create({ dimension: 384, index, seed: 7, ...options });
    await stores[mode].add(items);
  }
  const qps = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
  for (let run = 0; run <= RUNS; run++) {
    for (const mode of Object.keys(modes)) {
      const store = stores[mode];
      const started = performance.now();
      for (let i = 0; i < SEARCHES; i++) await store.search({ vector: queries[i % queries.length], k: 10 });
      const seconds = (performance.now() - started) / 1000;
      if (run > 0) qps[mode].push(SEARCHES / seconds); // run 0 warms up the JIT
    }
  }
  const off = median(qps["metrics off"]);
  for (const mode of Object.keys(modes)) {
    const m = median(qps[mode]);
    const delta = mode === "metrics off" ? "" : `${(((m - off) / off) * 100).toFixed(1)}%`;
    console.log(`| ${index} | ${mode} | ${Math.round(m)} | ${delta} |`);
  }
  for (const store of Object.values(stores)) await store.close();
}

// The bookkeeping alone, without a search around it: what a store adds per search when
// metrics are on (two clock reads, one histogram record, one rate-window add). Medians of
// RUNS batches of 1e6.
{
  const h = new LatencyHistogram();
  const w = new RateWindow();
  const per = [];
  for (let run = 0; run <= RUNS; run++) {
    const n = 1_000_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      h.record(performance.now() - t0);
      w.add(1);
    }
    if (run > 0) per.push(((performance.now() - started) * 1e6) / n);
  }
  console.log(`\nbookkeeping per search (2 × performance.now + histogram + rate window): median ${median(per).toFixed(0)} ns`);
}
if (sink === -1) console.log(sink);

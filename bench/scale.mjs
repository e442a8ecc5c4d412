// Scale benchmark (issue 22, part 4): build time, recall@10, p50/p99 latency, QPS and memory per
// index family at 100k and 1M vectors (10M with --10m), on data that needs no download.
//
//   bash scripts/build-pkg.sh
//   node bench/scale.mjs [--sizes 100k,1m] [--10m] [--specs "HNSW16;IVF1024,PQ48"]
//                        [--queries 200] [--spread 0.6] [--check-recall 0.9] [--json]
//
// The data: the dev set's real 384-d sentence embeddings, copied as many times as the size
// needs; copy 0 is the set itself, every further copy moves each vector by a Gaussian step of
// norm `spread` (relative to the unit vectors) and normalizes it again. With spread 0.6 a copy
// keeps a cosine of about 0.86 with its source, near the similarity of a real nearest
// neighbour in this set, so the neighbour structure stays that of real text rather than of
// uniform noise or of exact duplicates. Deterministic: a seeded generator per copy.
//
// Ground truth: the exact top 10 of the dev set's queries by the package's own Flat search,
// computed once per (size, queries, spread) and cached in bench/results/cache/scale/.
//
// Each family runs in a fresh Node process (--expose-gc), so its memory is its own: Node RSS
// delta and WebAssembly memory delta over the build (after a full GC), and stats().memoryBytes;
// each as a multiple of the payload (n × 384 × 4 bytes). Progress bars go to stderr.
// --check-recall R exits non-zero if any family's recall@10 is below R (the CI check at 100k).
// A spec may end in ":codes" for keepVectors: false (only the codes stay in memory), or in
// ":cold" for coldVectors (codes in memory, full vectors in a FileStorage directory under the
// system's temp dir, read for rerank). A cold store is also saved, then reopened in a fresh
// process that has never seen the data: that row reports the time from `open` to the first
// result, and the reopened process's whole RSS (not a delta), as a tab or Worker would hold.
// --knobs "nprobe=32,efSearch=64,rerank=100" sets search knobs for every family; --keep keeps
// the cold store directories.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { argParser } from "./lib/args.mjs";
import { readVecs, writeVecs } from "./lib/data.mjs";
import { grownRow, measureQueries } from "./lib/grow.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const args = process.argv.slice(2);
const { option, flag } = argParser(args);
const MiB = 1024 * 1024;
const K = 10;
const dataDir = option("--data", `${root}../shared/data/dev-minilm-20k`);
const cacheDir = `${root}bench/results/cache/scale`;
// Read once: the parser removes what it reads.
const knobsText = option("--knobs");
// `--sweep "efSearch=64,128,256"`: after the build, search once per value of one knob (on top
// of --knobs); each value is a row of its own.
const sweepText = option("--sweep");
const keepDirectories = flag("--keep");

/** A progress bar on stderr: redrawn in place on a terminal, every 10% otherwise (CI logs). */
function progress(label, total) {
  const start = performance.now();
  let shown = -1;
  return (done) => {
    const fraction = total === 0 ? 1 : done / total;
    const tenth = Math.floor(fraction * 10);
    const seconds = ((performance.now() - start) / 1000).toFixed(1);
    const bar = "█".repeat(Math.round(fraction * 30)).padEnd(30, "░");
    const line = `${label} ${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${done}/${total} ${seconds} s`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line}${done === total ? "\n" : ""}`);
    } else if (tenth !== shown) {
      shown = tenth;
      process.stderr.write(`${line}\n`);
    }
  };
}

/** `n` vectors generated from the dev set (see the header), as one Float32Array. */
function generate(dev, n, spread) {
  const { dim } = dev;
  const data = new Float32Array(n * dim);
  const report = progress(`[generate ${n}]`, n);
  for (let i = 0; i < n; i++) {
    grownRow(dev, i, spread, data.subarray(i * dim, (i + 1) * dim));
    if (i % 20_000 === 0 || i === n - 1) report(i + 1);
  }
  return { dim, rows: n, data };
}

function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) throw new Error(`bad size ${JSON.stringify(text)} (e.g. 100k, 1m)`);
  return Math.round(Number(m[1]) * { "": 1, k: 1e3, m: 1e6 }[m[2].toLowerCase()]);
}

/** `--sweep "efSearch=64,128"` as a list of knob objects (one empty object without it). */
function sweepValues(text) {
  if (!text) return [{}];
  const [key, values] = text.split("=");
  return values.split(",").map((v) => parseKnobs(`${key}=${v}`));
}

/** `--knobs "nprobe=32,rerank=100"` as search params. */
function parseKnobs(text) {
  const params = {};
  for (const part of (text ?? "").split(",").filter(Boolean)) {
    const [key, value] = part.split("=");
    if (!["nprobe", "efSearch", "rerank"].includes(key) || !/^\d+$/.test(value ?? "")) throw new Error(`bad knob ${JSON.stringify(part)} (nprobe, efSearch, rerank = integers)`);
    params[key] = Number(value);
  }
  return params;
}

async function buildStore(quiver, spec, base, label, directory) {
  const [index, mode] = spec.split(":");
  const store = await quiver.VectorStore.create({
    dimension: base.dim,
    metric: "cosine",
    index,
    ...(mode === "codes" ? { keepVectors: false } : {}),
    ...(mode === "cold" ? { name: "scale", storage: new quiver.FileStorage(directory), coldVectors: true } : {}),
  });
  const batch = 5_000;
  const report = progress(label, base.rows);
  for (let s = 0; s < base.rows; s += batch) {
    const e = Math.min(base.rows, s + batch);
    const items = [];
    for (let i = s; i < e; i++) items.push({ id: `v${i}`, vector: base.data.subarray(i * base.dim, (i + 1) * base.dim) });
    await store.add(items);
    report(e);
  }
  return store;
}

if (flag("--child-truth")) {
  const n = Number(option("--n"));
  const nQueries = Number(option("--queries"));
  const spread = Number(option("--spread"));
  const out = option("--out");
  const quiver = await import(`${root}pkg/dist/node.js`);
  const dev = readVecs(`${dataDir}/base.fvecs`);
  const queries = readVecs(`${dataDir}/query.fvecs`);
  const base = generate(dev, n, spread);
  const store = await buildStore(quiver, "Flat", base, `[ground truth ${n}: load]`);
  const truth = new Int32Array(nQueries * K);
  const report = progress(`[ground truth ${n}: search]`, nQueries);
  for (let q = 0; q < nQueries; q++) {
    const hits = await store.search({ vector: queries.data.subarray(q * queries.dim, (q + 1) * queries.dim), k: K });
    hits.forEach((h, i) => { truth[q * K + i] = Number(h.id.slice(1)); });
    report(q + 1);
  }
  writeVecs(`${out}.part`, { dim: K, rows: nQueries, data: truth });
  renameSync(`${out}.part`, out);
  await store.close();
  process.exit(0);
}

if (flag("--child")) {
  const spec = option("--spec");
  const n = Number(option("--n"));
  const nQueries = Number(option("--queries"));
  const spread = Number(option("--spread"));
  const truthPath = option("--truth");
  const quiver = await import(`${root}pkg/dist/node.js`);
  const dev = readVecs(`${dataDir}/base.fvecs`);
  const queries = readVecs(`${dataDir}/query.fvecs`);
  const truth = readVecs(truthPath);
  const base = generate(dev, n, spread);
  const [index] = spec.split(":");
  const lean = /^(Flat|HNSW\d+)$/i.test(index);
  const glue = await import(`${root}pkg/wasm/${lean ? "" : "full/"}quiver.js`);
  const settle = () => { for (let i = 0; i < 3; i++) globalThis.gc(); };
  // Instantiate the build first, so the measured delta is the store's alone.
  await (await quiver.VectorStore.create({ dimension: base.dim, index })).close();
  const wasmMemory = () => glue.initSync({ module: new Uint8Array(0) }).memory.buffer.byteLength;
  settle();
  const before = { rss: process.memoryUsage().rss, wasm: wasmMemory() };
  const directory = spec.endsWith(":cold") ? mkdtempSync(join(tmpdir(), "quiver-scale-")) : undefined;
  const t0 = performance.now();
  const store = await buildStore(quiver, spec, base, `[build ${spec} ${n}]`, directory);
  const buildSeconds = (performance.now() - t0) / 1000;
  settle();
  const after = { rss: process.memoryUsage().rss, wasm: wasmMemory() };
  const stats = await store.stats();
  const sweep = sweepValues(sweepText);
  const sweeps = [];
  for (const extra of sweep.slice(1)) sweeps.push({ knobs: extra, ...(await measureSearch(store, spec, n, queries, truth, nQueries, extra)) });
  const measured = await measureSearch(store, spec, n, queries, truth, nQueries, sweep[0]);
  let saveSeconds;
  if (directory) {
    const t1 = performance.now();
    await store.save();
    saveSeconds = (performance.now() - t1) / 1000;
  }
  console.log(JSON.stringify({
    spec, n, payload: n * base.dim * 4, buildSeconds, saveSeconds, directory,
    knobs: sweep[0], ...measured, sweeps,
    rssDelta: after.rss - before.rss, wasmDelta: after.wasm - before.wasm,
    memoryBytes: stats.memoryBytes, memory: stats.memory,
  }));
  await store.close();
  process.exit(0);
}

/** Recall@10 against `truth`, latency percentiles and QPS over the first `nQueries` queries. */
async function measureSearch(store, spec, n, queries, truth, nQueries, extra = {}) {
  const params = { ...parseKnobs(knobsText), ...extra };
  const report = progress(`[search ${spec} ${n}]`, nQueries);
  return measureQueries(store, queries, truth, nQueries, K, params, (done) => {
    if (done % 20 === 1 || done === nQueries) report(done);
  });
}

if (flag("--child-open")) {
  // A fresh process that never held the data: open the saved cold store, time the first result,
  // then search and report the whole process's memory.
  const spec = option("--spec");
  const n = Number(option("--n"));
  const nQueries = Number(option("--queries"));
  const quiver = await import(`${root}pkg/dist/node.js`);
  const queries = readVecs(`${dataDir}/query.fvecs`);
  const truth = readVecs(option("--truth"));
  const t0 = performance.now();
  const store = await quiver.VectorStore.open({ name: "scale", storage: new quiver.FileStorage(option("--dir")), coldVectors: true });
  const openSeconds = (performance.now() - t0) / 1000;
  await store.search({ vector: queries.data.subarray(0, queries.dim), k: K, params: parseKnobs(knobsText) });
  const firstResultSeconds = (performance.now() - t0) / 1000;
  const measured = await measureSearch(store, `${spec} reopened`, n, queries, truth, nQueries);
  globalThis.gc();
  const stats = await store.stats();
  const glue = await import(`${root}pkg/wasm/full/quiver.js`);
  console.log(JSON.stringify({
    spec: `${spec} reopened`, n, payload: n * queries.dim * 4, openSeconds, firstResultSeconds, ...measured,
    rssTotal: process.memoryUsage().rss, wasmTotal: glue.initSync({ module: new Uint8Array(0) }).memory.buffer.byteLength,
    memoryBytes: stats.memoryBytes, memory: stats.memory, cold: stats.cold,
  }));
  await store.close();
  process.exit(0);
}

const sizes = option("--sizes", "100k,1m").split(",").map(parseSize);
if (flag("--10m")) sizes.push(10_000_000);
const specs = option("--specs", "HNSW16;IVF1024,PQ48;IVF1024,PQ48:codes").split(";");
const nQueries = Number(option("--queries", "200"));
const spread = Number(option("--spread", "0.6"));
const checkRecall = option("--check-recall", undefined);
const json = flag("--json");
if (!existsSync(`${dataDir}/base.fvecs`)) {
  console.log(`scale benchmark skipped: no dev set at ${dataDir} (needs base.fvecs and query.fvecs)`);
  process.exit(0);
}
mkdirSync(cacheDir, { recursive: true });
const node = (extra) => execFileSync(process.execPath,
  ["--expose-gc", "--max-old-space-size=16384", fileURLToPath(import.meta.url), ...extra, "--data", dataDir],
  { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"] });
const rows = [];
for (const n of sizes) {
  const truthPath = `${cacheDir}/truth-n${n}-q${nQueries}-spread${spread}.ivecs`;
  if (!existsSync(truthPath)) {
    node(["--child-truth", "--n", String(n), "--queries", String(nQueries), "--spread", String(spread), "--out", truthPath]);
  }
  const knobs = [...(knobsText ? ["--knobs", knobsText] : []), ...(sweepText ? ["--sweep", sweepText] : [])];
  for (const spec of specs) {
    const out = node(["--child", "--spec", spec, "--n", String(n), "--queries", String(nQueries), "--spread", String(spread), "--truth", truthPath, ...knobs]);
    const row = JSON.parse(out.trim().split("\n").pop());
    rows.push(row);
    if (row.directory) {
      try {
        const reopened = node(["--child-open", "--spec", spec, "--n", String(n), "--queries", String(nQueries), "--truth", truthPath, "--dir", row.directory, ...knobs]);
        rows.push(JSON.parse(reopened.trim().split("\n").pop()));
      } finally {
        if (!keepDirectories) rmSync(row.directory, { recursive: true, force: true });
      }
    }
  }
}
if (json) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  const x = (bytes, payload) => `${(bytes / MiB).toFixed(0)} MiB (×${(bytes / payload).toFixed(2)})`;
  console.log(`\ndata: ${dataDir} grown to each size (spread ${spread}), ${nQueries} queries, k = ${K}, knobs ${knobsText ?? "default"}\n`);
  console.log("| n | index | build s | recall@10 | p50 ms | p99 ms | QPS | Node RSS delta | wasm memory delta | stats().memoryBytes |");
  console.log("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  const label = (r, knobs) => (Object.keys(knobs ?? {}).length ? `${r.spec} (${Object.entries(knobs).map(([k, v]) => `${k} ${v}`).join(", ")})` : r.spec);
  for (const r of rows.filter((r) => r.buildSeconds !== undefined)) {
    console.log(`| ${r.n.toLocaleString("en")} | ${label(r, r.knobs)} | ${r.buildSeconds.toFixed(1)} | ${r.recall.toFixed(3)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.qps.toFixed(0)} | ${x(r.rssDelta, r.payload)} | ${x(r.wasmDelta, r.payload)} | ${x(r.memoryBytes, r.payload)} |`);
    for (const w of r.sweeps ?? []) console.log(`| | ${label(r, w.knobs)} | | ${w.recall.toFixed(3)} | ${w.p50.toFixed(2)} | ${w.p99.toFixed(2)} | ${w.qps.toFixed(0)} | | | |`);
  }
  const reopened = rows.filter((r) => r.openSeconds !== undefined);
  if (reopened.length > 0) {
    console.log("\ncold stores reopened in a fresh process (whole-process memory, not deltas):\n");
    console.log("| n | index | open s | first result s | recall@10 | p50 ms | p99 ms | QPS | Node RSS | wasm memory | stats().memoryBytes | rows read |");
    console.log("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    const mib = (bytes) => `${(bytes / MiB).toFixed(0)} MiB`;
    for (const r of reopened) {
      console.log(`| ${r.n.toLocaleString("en")} | ${r.spec} | ${r.openSeconds.toFixed(2)} | ${r.firstResultSeconds.toFixed(2)} | ${r.recall.toFixed(3)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.qps.toFixed(0)} | ${mib(r.rssTotal)} | ${mib(r.wasmTotal)} | ${mib(r.memoryBytes)} | ${r.cold.rowsRead} |`);
    }
  }
}
if (checkRecall !== undefined) {
  const low = rows.filter((r) => r.recall < Number(checkRecall));
  if (low.length > 0) {
    console.error(`recall@10 below ${checkRecall}: ${low.map((r) => `${r.spec} at ${r.n}: ${r.recall.toFixed(3)}`).join(", ")}`);
    process.exit(1);
  }
}

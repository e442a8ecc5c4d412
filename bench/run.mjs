// The benchmark runner: `node bench/run.mjs [DATA] [--quick] [options]` (bench/run.sh builds
// the packages first and then calls this). See bench/README.md.
//
// 1. Flat suite (issue 3): Quiver SIMD128, the same code built without SIMD, and a plain-JS
//    loop, measured side by side in one process together with memory copy bandwidth, so the
//    ratios and the bandwidth floor come from the same conditions.
// 2. Suite (issue 10): every configured library/index in its own process, recall vs QPS.
// 3. Quantization (issue 6): Quiver's code-size families in wasm, SIMD128 beside scalar, and
//    EdgeVec's binary quantization at equal code size (not with --quick).
// Writes JSON lines (stdout and bench/results/*.jsonl), Markdown tables and an SVG plot.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { quantSessions, suiteGroups } from "./configs.mjs";
import { detectMetric, loadDataset, prepareDataset } from "./lib/data.mjs";
import { describe, flatMarkdown, quantMarkdown, recallQpsSvg, suiteMarkdown } from "./lib/report.mjs";
import { sig } from "./lib/stats.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const log = (...a) => console.error("[bench]", ...a);

function parseArgs(argv) {
  const args = { quick: false, suites: ["flat", "suite", "quant"], positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--quick") args.quick = true;
    else if (a === "--metric") args.metric = value();
    else if (a === "--runs") args.runs = Number(value());
    else if (a === "--queries") args.queries = Number(value());
    else if (a === "--k") args.k = Number(value());
    else if (a === "--seed") args.seed = Number(value());
    else if (a === "--only") args.suites = value().split(",");
    else if (a === "--out") args.out = value();
    else if (a === "--plot-clock") args.plotClock = value();
    else if (a === "--libraries") args.libraries = value().split(",");
    else if (a === "--match") args.match = new RegExp(value());
    else if (a === "--help" || a === "-h") args.help = true;
    else if (a.startsWith("--")) throw new Error(`unknown option ${a}`);
    else args.positional.push(a);
  }
  return args;
}

const usage = `usage: bash bench/run.sh [DATA] [--quick] [--metric cosine|l2|dot] [--runs N]
       [--queries N] [--k K] [--seed S] [--only flat,suite,quant] [--out DIR] [--plot-clock cpu|wall]
       [--libraries quiver,js-brute,...] [--match REGEX]
DATA: a TEXMEX folder (base.fvecs, query.fvecs, groundtruth.ivecs), or one .fvecs / .npy file
(queries are split off with the seed and exact ground truth is computed).
--match keeps the suite groups whose label (e.g. "quiver spec=IVF128 [chromium]") matches REGEX.
Default: ../shared/data/dev-minilm-20k, or tests/fixtures/minilm-3k with --quick.`;

const args = parseArgs(process.argv.slice(2));
if (args.help) {
  console.log(usage);
  process.exit(0);
}
const quick = args.quick;
const defaultData = quick
  ? join(root, "tests/fixtures/minilm-3k")
  : process.env.QUIVER_DATA_DIR
    ? join(process.env.QUIVER_DATA_DIR, "dev-minilm-20k")
    : resolve(root, "../shared/data/dev-minilm-20k");
const input = args.positional[0] ?? defaultData;
if (!existsSync(input)) {
  console.error(`${input}: not found\n${usage}`);
  process.exit(2);
}
const outDir = resolve(args.out ?? join(root, "bench/results"));
mkdirSync(outDir, { recursive: true });
const seed = args.seed ?? 42;
const k = args.k ?? 10;
const runs = args.runs ?? (quick ? 3 : 5);
const maxQueries = args.queries ?? (quick ? 100 : 500);

const prepared = prepareDataset(input, { cacheRoot: join(outDir, "cache"), metric: args.metric ?? "cosine", nQueries: maxQueries, seed, log });
let metric = prepared.computedMetric ?? args.metric;
const data = loadDataset(prepared.dir);
if (!metric) {
  const found = detectMetric(data.base, data.queries, data.truth);
  metric = found.metric;
  log(`metric: ${metric} (reproduces the folder's ground truth on ${(found.agreement * 100).toFixed(0)}% of probe neighbours; override with --metric)`);
  if (found.agreement < 0.9) log("warning: no metric reproduces groundtruth.ivecs well; recall numbers may be meaningless");
}
const rows = data.base.rows;
const dim = data.base.dim;
const nq = Math.min(data.queries.rows, data.truth.rows, maxQueries);
if (data.truth.dim < k) throw new Error(`ground truth has ${data.truth.dim} neighbours per query, k=${k}`);

const context = {
  dataset: prepared.name, rows, dim, nq, k, metric, runs, seed, quick,
  node: `Node ${process.version}`, v8: process.versions.v8,
  cpu: `${cpus()[0]?.model ?? "unknown CPU"} (${cpus().length} cores)`,
  loadavgStart: loadavg().map((x) => sig(x, 3)),
  date: new Date().toISOString(),
};
const stamp = context.date.replace(/[:.]/g, "-").slice(0, 19);
const jsonlPath = join(outDir, `${prepared.name}-${stamp}.jsonl`);
const lines = [];
function record(r) {
  const line = JSON.stringify(r);
  lines.push(line);
  console.log(line);
}

/** Runs one session process and returns its JSON records. */
function session(job) {
  return new Promise((resolvePromise, reject) => {
    // Same job and protocol for every runtime: Node (session.mjs), headless Chromium driven from
    // Node (browser-session.mjs), and Python for faiss (faiss_session.py).
    const command = job.runtime === "python"
      ? [process.env.PYTHON ?? "python3", [join(root, "bench/faiss_session.py"), JSON.stringify(job)]]
      : [process.execPath, ["--expose-gc", join(root, job.runtime === "chromium" ? "bench/lib/browser-session.mjs" : "bench/lib/session.mjs"), JSON.stringify(job)]];
    const child = spawn(command[0], command[1], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => { out += d; });
    // A missing interpreter is a skipped group, not a crash of the whole suite.
    child.on("error", (error) => resolvePromise([{ kind: "skipped", entry: job.label, reason: `spawn: ${error.message}` }]));
    child.on("close", (code) => {
      const records = out.split("\n").filter((l) => l.startsWith("@@bench ")).map((l) => JSON.parse(l.slice(8)));
      if (code !== 0) records.push({ kind: "failed", entry: job.label, reason: `exit code ${code}` });
      resolvePromise(records);
    });
  });
}

const wasmSizes = new Map();
function wasmSize(files) {
  let raw = 0, gzip = 0;
  for (const f of files) {
    if (!wasmSizes.has(f)) {
      const bytes = readFileSync(f);
      wasmSizes.set(f, { raw: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength });
    }
    raw += wasmSizes.get(f).raw;
    gzip += wasmSizes.get(f).gzip;
  }
  return files.length ? { wasmBytes: raw, wasmGzipBytes: gzip } : {};
}

const common = { dataDir: prepared.dir, metric, k, runs, seed, maxQueries: nq, warmupQueries: quick ? 20 : 50 };
const base = { dataset: prepared.name, rows, dim, nq, k, metric };
let failed = false;
const markdown = [];
const exactFailures = [];
const checkExact = (r) => {
  const exact = r.library === "js-brute" || (r.library === "quiver" && /^flat$/i.test(r.build?.spec ?? ""));
  if (exact && r.recall < 0.999) exactFailures.push(`${r.name ?? r.library} ${describe(r)} ${r.mode}: recall ${r.recall}`);
};

if (args.suites.includes("flat")) {
  log(`flat suite: ${rows} x ${dim} ${metric}, ${nq} queries, ${runs} interleaved runs`);
  const names = {
    "quiver-simd/single": "Quiver SIMD128 (wasm)",
    "quiver-scalar/single": "Quiver scalar (same code, no SIMD)",
    "js-brute/single": "plain JS Float32Array loop",
    "quiver-simd/batch8": "Quiver SIMD128, searchBatch of 8",
    "quiver-simd/batch64": "Quiver SIMD128, searchBatch of 64",
  };
  const records = await session({
    ...common, label: "flat",
    floor: { bufferMiB: quick ? 128 : 256 },
    entries: [
      { id: "quiver-simd", adapter: "quiver", options: { variant: "simd" }, build: { spec: "Flat" }, search: [{}, { batch: 8 }, { batch: 64 }] },
      { id: "quiver-scalar", adapter: "quiver", options: { variant: "scalar" }, build: { spec: "Flat" }, search: [{}] },
      { id: "js-brute", adapter: "js-brute", search: [{}] },
    ],
  });
  const byKey = new Map();
  const flatRows = [];
  let bandwidth = null;
  let sessionInfo = {};
  for (const r of records) {
    if (r.kind === "result") {
      const key = `${r.entry}/${r.mode}`;
      const full = { suite: "flat", ...base, runtime: "node", name: names[key] ?? key, ...r, ...wasmSize(r.wasmFiles), gbPerS: (rows * dim * 4) / (r.p50Ms * 1e6) };
      delete full.wasmFiles;
      delete full.kind;
      byKey.set(key, full);
      flatRows.push(full);
      checkExact(full);
      record(full);
    } else if (r.kind === "bandwidth") bandwidth = r;
    else if (r.kind === "session") sessionInfo = r;
    else if (r.kind === "skipped" || r.kind === "failed") {
      failed = true;
      log(`flat suite: ${r.entry} ${r.kind}: ${r.reason}`);
      record({ suite: "flat", ...base, ...r });
    }
  }
  const simd = byKey.get("quiver-simd/single");
  const scalar = byKey.get("quiver-scalar/single");
  const js = byKey.get("js-brute/single");
  const batch = byKey.get("quiver-simd/batch64");
  // Each ratio twice: from wall-clock p50 ms/query (the target's measure) and from CPU time per
  // query (robust to preemption when the machine is shared).
  const ratios = [];
  const ratio = (name, target, ok, wall, cpu) => ratios.push({
    name, target, value: wall, cpuValue: cpu, check: ok,
    met: ok === null ? null : ok(wall), metCpu: ok === null || cpu === null ? null : ok(cpu),
  });
  if (simd && scalar) ratio("SIMD / scalar wasm", ">= 2.5", (v) => v >= 2.5, scalar.p50Ms / simd.p50Ms, scalar.cpuMsPerQuery / simd.cpuMsPerQuery);
  if (simd && js) ratio("SIMD / plain JS", ">= 3", (v) => v >= 3, js.p50Ms / simd.p50Ms, js.cpuMsPerQuery / simd.cpuMsPerQuery);
  if (bandwidth) {
    // A copy moves each byte twice (read + write), so its memory traffic is 2 x bytes copied per
    // second (STREAM's convention); a scan only reads. The lenient floor (bytes copied per second)
    // is recorded too.
    const floorMs = bandwidth.scannedBytes / (2 * bandwidth.setGBs * 1e6);
    const floorCpuMs = bandwidth.scannedBytes / (2 * bandwidth.setCpuGBs * 1e6);
    const lenientFloorMs = bandwidth.scannedBytes / (bandwidth.setGBs * 1e6);
    const floor = {
      suite: "flat", ...base, name: "bandwidth floor (bytes scanned / copy traffic)", kind: "floor",
      p50Ms: floorMs, cpuMsPerQuery: floorCpuMs, qps: 1000 / floorMs, recall: null, lenientFloorMs,
      copyGBs: bandwidth.setGBs, copyCpuGBs: bandwidth.setCpuGBs, copyWithinGBs: bandwidth.copyWithinGBs,
      copyTrafficGBs: 2 * bandwidth.setGBs, bufferMiB: bandwidth.bufferMiB, scannedBytes: bandwidth.scannedBytes,
      gbPerS: 2 * bandwidth.setGBs, runsCopyGBs: bandwidth.runsSetGBs,
    };
    flatRows.push(floor);
    record(floor);
    const readFloorMs = bandwidth.scannedBytes / (bandwidth.readGBs * 1e6);
    const readFloor = {
      suite: "flat", ...base, name: "read floor (bytes scanned / wasm SIMD read bandwidth)", kind: "floor",
      p50Ms: readFloorMs, qps: 1000 / readFloorMs, recall: null, readGBs: bandwidth.readGBs,
      bufferMiB: bandwidth.bufferMiB, scannedBytes: bandwidth.scannedBytes, gbPerS: bandwidth.readGBs,
    };
    flatRows.push(readFloor);
    record(readFloor);
    if (simd) {
      ratio("SIMD ms / floor ms", "<= 1.5", (v) => v <= 1.5, simd.p50Ms / floorMs, simd.cpuMsPerQuery / floorCpuMs);
      ratio("SIMD ms / lenient floor ms (bytes copied/s)", "(info)", null, simd.p50Ms / lenientFloorMs, null);
      ratio("SIMD ms / read floor ms", "(info)", null, simd.p50Ms / readFloorMs, null);
    }
    if (batch) ratio("floor ms / searchBatch-64 ms per query", "(info: > 1 beats the floor)", null, floorMs / batch.p50Ms, floorCpuMs / batch.cpuMsPerQuery);
  }
  record({ suite: "flat", kind: "ratios", ...base, ratios: ratios.map((x) => ({ name: x.name, wall: sig(x.value, 4), cpu: x.cpuValue === null ? null : sig(x.cpuValue, 4), target: x.target, met: x.met, metCpu: x.metCpu })), loadavg: loadavg().map((x) => sig(x, 3)) });
  markdown.push("### Flat search (issue 3)", "", flatMarkdown(flatRows, ratios, { ...context, runs, nq: sessionInfo.nq ?? nq }), "");
}

if (args.suites.includes("suite")) {
  const results = [];
  const skipped = [];
  for (const group of suiteGroups({ quick }).filter((g) => !args.libraries || args.libraries.includes(g.library))) {
    const runtime = group.runtime ?? "node";
    const label = `${group.library}${group.build ? ` ${describe({ build: group.build })}` : ""}${runtime === "node" ? "" : ` [${runtime}]`}`;
    if (args.match && !args.match.test(label)) continue;
    log(`suite: ${label}`);
    const records = await session({ ...common, label, runtime, entries: [{ id: label, ...group }] });
    for (const r of records) {
      if (r.kind === "result") {
        const full = { suite: "suite", ...base, runtime, ...r, ...wasmSize(r.wasmFiles) };
        delete full.wasmFiles;
        delete full.kind;
        results.push(full);
        checkExact(full);
        record(full);
      } else if (r.kind === "skipped" || r.kind === "failed") {
        const s = { suite: "suite", ...base, runtime, library: group.library, build: group.build, ...r };
        skipped.push(s);
        record(s);
        log(`suite: ${label}: ${r.kind}: ${r.reason}`);
      }
    }
  }
  if (results.length) {
    const svgName = `${prepared.name}-recall-qps.svg`;
    // CPU clock by default: on a shared machine wall-clock QPS mostly measures the scheduler.
    const clock = args.plotClock ?? "cpu";
    writeFileSync(join(outDir, svgName), recallQpsSvg(results, { title: `${prepared.name}: recall@${k} vs QPS (${rows} x ${dim}, ${metric}, single queries, ${clock} clock)`, k, clock }));
    markdown.push("### Suite (issue 10)", "", suiteMarkdown(results, skipped, { ...context, runs }), "", `![recall vs QPS](${svgName})`, "");
  }
}

if (args.suites.includes("quant")) {
  const results = [];
  const skipped = [];
  for (const s of quantSessions({ quick })) {
    if (args.match && !args.match.test(s.label)) continue;
    log(`${s.label}: ${s.entries.length} entries`);
    for (const r of await session({ ...common, label: s.label, runtime: "node", entries: s.entries })) {
      if (r.kind === "result") {
        const full = { suite: "quant", ...base, runtime: "node", session: s.label, ...r, ...wasmSize(r.wasmFiles) };
        delete full.wasmFiles;
        delete full.kind;
        results.push(full);
        record(full);
      } else if (r.kind === "skipped" || r.kind === "failed") {
        const x = { suite: "quant", ...base, session: s.label, ...r };
        skipped.push(x);
        record(x);
        log(`${s.label}: ${r.entry} ${r.kind}: ${r.reason}`);
      }
    }
  }
  if (results.length || skipped.length) {
    markdown.push("### Quantization (issue 6)", "", quantMarkdown(results, skipped, { ...context, runs }), "");
  }
}

context.loadavgEnd = loadavg().map((x) => sig(x, 3));
record({ kind: "context", ...context });
writeFileSync(jsonlPath, `${lines.join("\n")}\n`);
const md = [`## ${prepared.name} (${context.date})`, "",
  `${context.cpu}, ${context.node} (V8 ${context.v8}), no flags; load average ${context.loadavgStart.join(" ")} at start, ${context.loadavgEnd.join(" ")} at end.`, "",
  ...markdown].join("\n");
writeFileSync(join(outDir, `${prepared.name}.md`), `${md}\n`);
console.log(`\n${md}`);
log(`wrote ${jsonlPath}, ${join(outDir, `${prepared.name}.md`)}`);
if (exactFailures.length) {
  log(`exact search below recall 1: ${exactFailures.join("; ")}`);
  failed = true;
}
process.exit(failed ? 1 : 0);

// One benchmark process: `node bench/lib/session.mjs '<job json>'`.
//
// Loads the dataset, builds every entry of the job (each an adapter with build parameters and a
// list of search configurations), warms each configuration up, then measures them in
// interleaved rounds, so that load drift on a shared machine hits every entry alike. Optionally
// measures memory copy bandwidth in the same rounds (the bandwidth floor of a one-query scan).
// Prints one JSON object per line on stdout; logs go to stderr.
//
// The suite runner (bench/run.mjs) starts one session per library so that libraries never share
// a process; the flat suite (issue 3) puts Quiver SIMD, Quiver scalar and plain JS in one
// session because its ratios must be measured side by side.
import { loadDataset, recallAt } from "./data.mjs";
import { median, quantile } from "./stats.mjs";

const job = JSON.parse(process.argv[2]);
const log = (...a) => console.error(`[${job.label ?? "session"}]`, ...a);
// Records go to stdout behind a marker; libraries that print to stdout (Emscripten builds do)
// are sent to stderr instead, and anything unmarked is ignored by the runner.
export const MARKER = "@@bench ";
const emit = (record) => process.stdout.write(`${MARKER}${JSON.stringify(record)}\n`);
console.log = console.error;
console.info = console.error;

const { base, queries: allQueries, truth } = loadDataset(job.dataDir);
const nq = Math.min(allQueries.rows, truth.rows, job.maxQueries ?? Infinity);
const dim = base.dim;
const queryAt = (q) => allQueries.data.subarray(q * dim, (q + 1) * dim);
const k = job.k ?? 10;

function memorySnapshot() {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, js: m.heapUsed + m.external };
}

/** One pass over all queries; returns per-query (or per-block) times and the result ids. */
async function pass(adapter, config) {
  const params = config.params ?? {};
  const batch = config.batch ?? 0;
  const ids = new Array(nq);
  const times = [];
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  if (batch > 0) {
    for (let q = 0; q < nq; q += batch) {
      const end = Math.min(nq, q + batch);
      const block = allQueries.data.subarray(q * dim, end * dim);
      const t0 = performance.now();
      let out = adapter.searchBatch(block, k, params);
      if (out instanceof Promise) out = await out;
      // Amortized time per query of the block.
      times.push((performance.now() - t0) / (end - q));
      out.forEach((row, i) => { ids[q + i] = row; });
    }
  } else {
    for (let q = 0; q < nq; q++) {
      const query = queryAt(q);
      const t0 = performance.now();
      let out = adapter.search(query, k, params);
      if (out instanceof Promise) out = await out;
      times.push(performance.now() - t0);
      ids[q] = out;
    }
  }
  const totalMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  // CPU time of the whole process over the pass: immune to preemption on a loaded machine
  // (not to cache or memory-bandwidth contention).
  return { times, ids, totalMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * A 142-byte hand-assembled wasm module: `sum(p, end)` adds up memory[p..end) with four f32x4
 * accumulators (v128.load + f32x4.add per 16 bytes): the fastest a one-query scan could read.
 * Source: (loop (local.set $a (f32x4.add (local.get $a) (v128.load offset=0 (local.get $p))))
 * ... offsets 16, 32, 48 ... (local.set $p (i32.add (local.get $p) (i32.const 64)))
 * (br_if $l (i32.lt_u (local.get $p) (local.get $end)))), then the lanes' sum.
 */
const READ_WASM = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 125, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 16, 2, 6, 109, 101, 109, 111, 114, 121, 2, 0, 3, 115, 117, 109, 0, 0, 10, 96, 1, 94, 1, 4, 123, 3, 64, 32, 2, 32, 0, 253, 0, 4, 0, 253, 228, 1, 33, 2, 32, 3, 32, 0, 253, 0, 4, 16, 253, 228, 1, 33, 3, 32, 4, 32, 0, 253, 0, 4, 32, 253, 228, 1, 33, 4, 32, 5, 32, 0, 253, 0, 4, 48, 253, 228, 1, 33, 5, 32, 0, 65, 192, 0, 106, 33, 0, 32, 0, 32, 1, 73, 13, 0, 11, 32, 2, 32, 3, 253, 228, 1, 32, 4, 32, 5, 253, 228, 1, 253, 228, 1, 253, 31, 0, 11]);

/**
 * Memory bandwidth with buffers larger than the last-level cache: copy (Float32Array.set and
 * copyWithin, as the issue defines the floor) and, for reference, a SIMD read in wasm.
 */
async function makeBandwidthProbe(bufferMiB) {
  const n = (bufferMiB * 1024 * 1024) / 4;
  const src = new Float32Array(n);
  const dst = new Float32Array(n);
  for (let i = 0; i < n; i += 1024) src[i] = i; // touch every page
  dst.set(src);
  const { instance } = await WebAssembly.instantiate(READ_WASM);
  instance.exports.memory.grow(bufferMiB * 16);
  new Float32Array(instance.exports.memory.buffer).fill(1);
  const bytes = n * 4;
  return (reps = 5) => {
    const set = [];
    const setCpu = [];
    const within = [];
    const read = [];
    for (let r = 0; r < reps; r++) {
      const c0 = process.cpuUsage();
      let t0 = performance.now();
      dst.set(src);
      set.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      setCpu.push((c.user + c.system) / 1000);
      // copyWithin: first half <- second half of the same buffer.
      t0 = performance.now();
      src.copyWithin(0, n / 2, n);
      within.push((performance.now() - t0) * 2); // normalize to a full-buffer copy
      t0 = performance.now();
      instance.exports.sum(0, bytes);
      read.push(performance.now() - t0);
    }
    // Bytes copied (or read) per second.
    return {
      setGBs: bytes / median(set) / 1e6,
      setCpuGBs: bytes / median(setCpu) / 1e6,
      copyWithinGBs: bytes / median(within) / 1e6,
      readGBs: bytes / median(read) / 1e6,
    };
  };
}

const entries = [];
for (const entry of job.entries) {
  const mod = await import(new URL(`../adapters/${entry.adapter}.mjs`, import.meta.url));
  let adapter;
  try {
    adapter = await mod.create({ dim, metric: job.metric, seed: job.seed, ...(entry.options ?? {}) });
  } catch (error) {
    log(`${entry.id}: cannot load adapter: ${error.message}`);
    emit({ kind: "skipped", entry: entry.id, library: entry.library ?? entry.adapter, reason: `load: ${error.message}` });
    continue;
  }
  const before = memorySnapshot();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let built;
  try {
    built = (await adapter.build(base, entry.build ?? {})) ?? {};
  } catch (error) {
    log(`${entry.id}: build failed: ${error.message}`);
    emit({ kind: "skipped", entry: entry.id, library: adapter.library, reason: `build: ${error.message}`, build: entry.build });
    continue;
  }
  const buildMs = built.buildMs ?? performance.now() - t0;
  // CPU time of the build too: wall-clock build time on a shared machine is mostly waiting.
  const buildCpu = process.cpuUsage(cpu0);
  const buildCpuMs = (buildCpu.user + buildCpu.system) / 1000;
  const after = memorySnapshot();
  log(`${entry.id}: built ${base.rows} x ${dim} in ${buildMs.toFixed(0)} ms`);
  const configs = (entry.search ?? [{}]).filter((c) => !(c.batch > 0) || adapter.searchBatch);
  entries.push({
    entry, adapter, buildMs, buildCpuMs, configs,
    memory: {
      reportedBytes: built.memoryBytes ?? null, rssDeltaBytes: after.rss - before.rss, jsDeltaBytes: after.js - before.js,
      ...(built.memoryBreakdown ? { breakdown: built.memoryBreakdown } : {}),
    },
    results: configs.map(() => ({ p50: [], p99: [], qps: [], cpu: [], recall: null })),
  });
}

// Warm-up: let the engine tier the hot code up before anything is timed.
for (const e of entries) {
  for (const config of e.configs) {
    const warm = Math.min(nq, job.warmupQueries ?? 50);
    const params = config.params ?? {};
    if (config.batch > 0) {
      for (let q = 0; q < warm; q += config.batch) {
        await e.adapter.searchBatch(allQueries.data.subarray(q * dim, Math.min(nq, q + config.batch) * dim), k, params);
      }
    } else {
      for (let q = 0; q < warm; q++) await e.adapter.search(queryAt(q), k, params);
    }
  }
}

const copyProbe = job.floor ? await makeBandwidthProbe(job.floor.bufferMiB ?? 256) : null;
const copies = [];
const runs = entries.length || copyProbe ? job.runs ?? 5 : 0;
for (let round = 0; round < runs; round++) {
  for (const e of entries) {
    for (let c = 0; c < e.configs.length; c++) {
      const { times, ids, totalMs, cpuMs } = await pass(e.adapter, e.configs[c]);
      const r = e.results[c];
      r.cpu.push(cpuMs / nq);
      r.p50.push(median(times));
      r.p99.push(quantile(times, 0.99));
      r.qps.push((nq * 1000) / totalMs);
      if (r.recall === null) {
        let sum = 0;
        for (let q = 0; q < nq; q++) sum += recallAt(ids[q], truth, q, k);
        r.recall = sum / nq;
      }
    }
  }
  if (copyProbe) copies.push(copyProbe());
  log(`round ${round + 1}/${runs} done`);
}

for (const e of entries) {
  e.configs.forEach((config, c) => {
    const r = e.results[c];
    emit({
      kind: "result",
      entry: e.entry.id,
      library: e.adapter.library,
      version: e.adapter.version,
      variant: e.entry.options?.variant ?? null,
      build: e.entry.build ?? {},
      search: config.params ?? {},
      mode: config.batch > 0 ? `batch${config.batch}` : "single",
      label: config.label ?? null,
      recall: r.recall,
      p50Ms: median(r.p50),
      p99Ms: median(r.p99),
      qps: median(r.qps),
      cpuMsPerQuery: median(r.cpu),
      runsP50Ms: r.p50,
      buildMs: e.buildMs,
      buildCpuMs: e.buildCpuMs,
      memory: e.memory,
      wasmFiles: e.adapter.wasmFiles ?? [],
    });
  });
  e.adapter.free?.();
}

if (copyProbe) {
  const setGBs = median(copies.map((c) => c.setGBs));
  const copyWithinGBs = median(copies.map((c) => c.copyWithinGBs));
  const setCpuGBs = median(copies.map((c) => c.setCpuGBs));
  const readGBs = median(copies.map((c) => c.readGBs));
  emit({ kind: "bandwidth", bufferMiB: job.floor.bufferMiB ?? 256, setGBs, setCpuGBs, copyWithinGBs, readGBs, runsSetGBs: copies.map((c) => c.setGBs), scannedBytes: base.rows * dim * 4 });
}
emit({ kind: "session", nq, k, dim, rows: base.rows, runs, node: process.version, v8: process.versions.v8, execArgv: process.execArgv });

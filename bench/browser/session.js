// The in-page half of a Chromium benchmark session (bench/lib/browser-session.mjs drives it).
// Same steps as bench/lib/session.mjs: load the prepared TEXMEX folder (served under /__data/),
// build each entry with a browser adapter (bench/browser/adapters/<name>.js, same shape as the
// Node adapters), warm up, and run timed passes on request. The driver calls pass() in
// interleaved rounds and reads Chromium's CPU time around each call, so the statistics are
// computed on the Node side exactly as for Node sessions.

function readVecs(buffer, isInt) {
  const view = new DataView(buffer);
  const dim = view.getInt32(0, true);
  const rows = buffer.byteLength / (4 * (dim + 1));
  const src = new Int32Array(buffer);
  const words = new Int32Array(rows * dim);
  for (let r = 0; r < rows; r++) words.set(src.subarray(r * (dim + 1) + 1, (r + 1) * (dim + 1)), r * dim);
  return { dim, rows, data: isInt ? words : new Float32Array(words.buffer) };
}

const fetchVecs = async (name, isInt) => readVecs(await (await fetch(`/__data/${name}`)).arrayBuffer(), isInt);

let job, base, queries, truth, nq, dim, k;
const entries = [];

window.bench = {
  async load(j) {
    job = j;
    [base, queries, truth] = await Promise.all([fetchVecs("base.fvecs"), fetchVecs("query.fvecs"), fetchVecs("groundtruth.ivecs", true)]);
    nq = Math.min(queries.rows, truth.rows, job.maxQueries ?? Infinity);
    dim = base.dim;
    k = job.k ?? 10;
    return { nq, dim, rows: base.rows, crossOriginIsolated: globalThis.crossOriginIsolated, userAgent: navigator.userAgent };
  },

  /** Creates and builds one entry; returns its index, or a skip reason. */
  async add(entry) {
    let adapter;
    try {
      const mod = await import(`./adapters/${entry.adapter}.js`);
      adapter = await mod.create({ dim, metric: job.metric, seed: job.seed, ...(entry.options ?? {}) });
    } catch (error) {
      return { skipped: `load: ${error.message}` };
    }
    const heap = () => performance.memory?.usedJSHeapSize ?? 0;
    const before = heap();
    const t0 = performance.now();
    let built;
    try {
      built = (await adapter.build(base, entry.build ?? {})) ?? {};
    } catch (error) {
      return { skipped: `build: ${error.message}` };
    }
    const buildMs = performance.now() - t0;
    entries.push({ adapter, configs: entry.search ?? [{}] });
    return {
      index: entries.length - 1, buildMs, library: adapter.library, version: adapter.version, wasmFiles: adapter.wasmFiles ?? [],
      memory: { reportedBytes: built.memoryBytes ?? null, rssDeltaBytes: null, jsDeltaBytes: heap() - before },
    };
  },

  async warm(i) {
    const e = entries[i];
    for (const config of e.configs) {
      for (let q = 0; q < Math.min(nq, job.warmupQueries ?? 50); q++) await e.adapter.search(queries.data.subarray(q * dim, (q + 1) * dim), k, config.params ?? {});
    }
  },

  /** One pass over all queries with config c of entry i: per-query ms, pass ms, recall. */
  async pass(i, c) {
    const e = entries[i];
    const params = e.configs[c].params ?? {};
    const times = new Array(nq);
    const ids = new Array(nq);
    const started = performance.now();
    for (let q = 0; q < nq; q++) {
      const query = queries.data.subarray(q * dim, (q + 1) * dim);
      const t0 = performance.now();
      let out = e.adapter.search(query, k, params);
      if (out instanceof Promise) out = await out;
      times[q] = performance.now() - t0;
      ids[q] = out;
    }
    const totalMs = performance.now() - started;
    let hits = 0;
    for (let q = 0; q < nq; q++) {
      const expected = new Set(truth.data.subarray(q * truth.dim, q * truth.dim + k));
      for (let j = 0; j < Math.min(k, ids[q].length); j++) if (expected.has(ids[q][j])) hits++;
    }
    return { times, totalMs, recall: hits / (k * nq) };
  },

  free() {
    for (const e of entries) e.adapter.free?.();
  },
};
window.benchReady = true;

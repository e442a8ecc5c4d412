// The dedicated worker of bench/scale-browser.mjs: builds a cold store in OPFS from the grown dev
// set (bench/lib/grow.mjs), or reopens it and measures search. Posts progress and one result.
import { OPFSStorage, VectorStore, init, loadFullBuild } from "/pkg/dist/browser.js";
import { grownRow, measureQueries } from "/bench/lib/grow.mjs";

const K = 10;

async function vecs(url) {
  const bytes = await (await fetch(url)).arrayBuffer();
  const dim = new DataView(bytes).getInt32(0, true);
  const rows = bytes.byteLength / (4 * (dim + 1));
  const words = new Int32Array(bytes);
  const data = new Int32Array(rows * dim);
  for (let r = 0; r < rows; r++) data.set(words.subarray(r * (dim + 1) + 1, (r + 1) * (dim + 1)), r * dim);
  return { dim, rows, data: url.endsWith(".ivecs") ? data : new Float32Array(data.buffer) };
}

async function wasmBytes() {
  const glue = await import("/pkg/wasm/full/quiver.js");
  return glue.initSync({ module: new Uint8Array(0) }).memory.buffer.byteLength;
}

async function build({ n, spread, index, data }) {
  const dev = await vecs(`${data}/base.fvecs`);
  const storage = new OPFSStorage({ directory: "scale" });
  const store = await VectorStore.create({ name: "scale", dimension: dev.dim, index, storage, coldVectors: true });
  const batch = 5000;
  const t0 = performance.now();
  for (let s = 0; s < n; s += batch) {
    const items = [];
    for (let i = s; i < Math.min(n, s + batch); i++) {
      const vector = new Float32Array(dev.dim);
      grownRow(dev, i, spread, vector);
      items.push({ id: `v${i}`, vector });
    }
    await store.add(items);
    if ((s + batch) % 100_000 === 0) self.postMessage({ progress: `built ${s + batch} of ${n} in ${((performance.now() - t0) / 1000).toFixed(0)} s` });
  }
  const buildSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await store.save();
  const saveSeconds = (performance.now() - t1) / 1000;
  const stats = await store.stats();
  await store.close();
  return { buildSeconds, saveSeconds, memoryBytes: stats.memoryBytes, wasmBytes: await wasmBytes() };
}

async function query({ queries: nQueries, params, data, truth: truthUrl }) {
  const queries = await vecs(`${data}/query.fvecs`);
  const truth = await vecs(truthUrl);
  const t0 = performance.now();
  const store = await VectorStore.open({ name: "scale", storage: new OPFSStorage({ directory: "scale" }), coldVectors: true });
  const openSeconds = (performance.now() - t0) / 1000;
  await store.search({ vector: queries.data.subarray(0, queries.dim), k: K, params });
  const firstResultSeconds = (performance.now() - t0) / 1000;
  const measured = await measureQueries(store, queries, truth, nQueries, K, params);
  const stats = await store.stats();
  // The store stays open: the driver measures the renderer's memory with it loaded.
  self.store = store;
  return { openSeconds, firstResultSeconds, ...measured, memoryBytes: stats.memoryBytes, cold: stats.cold, wasmBytes: await wasmBytes() };
}

/** The baseline: a worker with both builds compiled and nothing opened. */
async function idle() {
  await loadFullBuild();
  return { wasmBytes: await wasmBytes() };
}

self.onmessage = async ({ data: message }) => {
  try {
    await init();
    const phases = { build, query, idle };
    self.postMessage({ result: await phases[message.phase](message) });
  } catch (error) {
    self.postMessage({ error: `${error?.code ?? ""} ${error?.message ?? error}` });
  }
};

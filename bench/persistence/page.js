// Browser side of the persistence benchmark (driven by run.mjs): builds a store from the dev
// set, then times a full save to IndexedDB, incremental saves after 1,000 inserts, and open +
// first query (without a log, and with 1,000 logged inserts).
import { Collection, IndexedDBStorage, VectorStore, init } from "/pkg/dist/browser.js";

export const ready = init();

async function fvecs(url) {
  const buf = await (await fetch(url)).arrayBuffer();
  const view = new DataView(buf);
  const dim = view.getInt32(0, true);
  const n = buf.byteLength / (4 * (dim + 1));
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) out.set(new Float32Array(buf, 4 * (i * (dim + 1) + 1), dim), i * dim);
  return { dim, n, data: out };
}

/** Counts the bytes a save hands to storage. */
class Counting {
  constructor(inner) {
    this.inner = inner;
    this.bytes = 0;
    this.records = 0;
  }
  get coordinationScope() { return this.inner.coordinationScope; }
  load(k) { return this.inner.load(k); }
  loadMany(k) { return this.inner.loadMany(k); }
  loadRange(p) { return this.inner.loadRange(p); }
  remove(k) { return this.inner.remove(k); }
  saveBatch(puts, deletes) {
    this.bytes = puts.reduce((n, p) => n + p.bytes.length, 0);
    this.records = puts.length;
    return this.inner.saveBatch(puts, deletes);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * `n` vectors: the dev set's first `n`, or, past its size, copies of it with seeded noise
 * (normalized by the cosine metric).
 */
function vectorsFor(base, n) {
  const { dim, data } = base;
  const out = new Float32Array(n * dim);
  let seed = 12345;
  const noise = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return (seed / 2 ** 32 - 0.5) * 0.05;
  };
  for (let i = 0; i < n; i++) {
    const src = (i % base.n) * dim;
    const copy = Math.floor(i / base.n);
    for (let j = 0; j < dim; j++) out[i * dim + j] = data[src + j] + (copy > 0 ? noise() : 0);
  }
  return out;
}

export async function run({ n, index, durability, database }) {
  const base = await fvecs("/data/base.fvecs");
  const queries = await fvecs("/data/query.fvecs");
  const dim = base.dim;
  const all = vectorsFor(base, n + 3000);
  const items = (from, to) => Array.from({ length: to - from }, (_, k) => ({ id: `v${from + k}`, vector: all.subarray((from + k) * dim, (from + k + 1) * dim) }));
  const storage = new Counting(new IndexedDBStorage({ database, durability }));
  const store = await VectorStore.create({ name: "bench", dimension: dim, metric: "cosine", index, storage });
  let t = performance.now();
  for (let i = 0; i < n; i += 10_000) await store.add(items(i, Math.min(n, i + 10_000)));
  const buildMs = performance.now() - t;

  t = performance.now();
  await store.save();
  const fullMs = performance.now() - t;
  const fullBytes = storage.bytes;
  const fullRecords = storage.records;

  // Open + first query of the compacted store (a full snapshot, no log).
  const opens = [];
  for (let r = 0; r < 3; r++) opens.push(await openAndQuery(database, durability, queries, dim, r));
  const split = [];
  for (let r = 0; r < 3; r++) split.push(await profileOpen(database));

  const incremental = [];
  for (let r = 0; r < 3; r++) {
    await store.add(items(n + r * 1000, n + (r + 1) * 1000));
    t = performance.now();
    await store.save();
    incremental.push({ ms: performance.now() - t, bytes: storage.bytes, records: storage.records });
    // Start each measured save from an empty log: past 1,024 logged adds the HNSW policy
    // would make the next save a full one (docs/format.md).
    // The save after a compaction deletes the old snapshot's records: do it untimed too.
    if (r < 2) {
      await store.compact();
      await store.save();
    }
  }
  await store.close();
  // Open again, now with 1,000 logged inserts to replay (about the most the HNSW policy lets
  // a log hold).
  const withLog = await openAndQuery(database, durability, queries, dim, 0);
  // Leave a compacted store (no log) for run.mjs's cold opens.
  const last = await VectorStore.open({ name: "bench", storage: new IndexedDBStorage({ database, durability }) });
  await last.compact();
  await last.save();
  await last.close();
  return {
    n,
    dim,
    index,
    durability,
    buildMs,
    fullMs,
    fullBytes,
    fullRecords,
    incrementalMs: median(incremental.map((x) => x.ms)),
    incrementalBytes: median(incremental.map((x) => x.bytes)),
    incrementalRecords: median(incremental.map((x) => x.records)),
    openMs: median(opens.map((x) => x.openMs)),
    firstQueryMs: median(opens.map((x) => x.queryMs)),
    openAndQueryMs: median(opens.map((x) => x.totalMs)),
    countAfterOpen: opens[0].count,
    openWithLogMs: withLog.totalMs,
    countWithLog: withLog.count,
    readMs: median(split.map((x) => x.readMs)),
    decodeMs: median(split.map((x) => x.decodeMs)),
  };
}

/**
 * Open + first query as a user's first visit after a restart sees it: run.mjs calls this in a
 * freshly launched browser on the same profile, so the wasm instance, its memory and
 * Chromium's IndexedDB backing store all start cold (the OS page cache does not).
 */
export async function coldOpen({ database, durability, r }) {
  const queries = await fvecs("/data/query.fvecs");
  return openAndQuery(database, durability, queries, queries.dim, r);
}

async function openAndQuery(database, durability, queries, dim, r) {
  const t0 = performance.now();
  const reopened = await VectorStore.open({ name: "bench", storage: new IndexedDBStorage({ database, durability }) });
  const t1 = performance.now();
  const hits = await reopened.search({ vector: queries.data.subarray(r * dim, (r + 1) * dim), k: 10 });
  const t2 = performance.now();
  const out = { openMs: t1 - t0, queryMs: t2 - t1, totalMs: t2 - t0, top: hits[0].id, count: (await reopened.stats()).count };
  await reopened.close();
  return out;
}

/** Splits open time: reading IndexedDB vs decoding in the core (diagnostics). */
export async function coldProfileOpen({ database }) {
  return profileOpen(database);
}

export async function profileOpen(database) {
  const storage = new IndexedDBStorage({ database });
  const out = {};
  let t = performance.now();
  const manifest = await storage.load("bench/manifest");
  const keys = Collection.requiredChunks(manifest);
  const chunks = await storage.loadMany(keys.map((k) => `bench/${k}`));
  out.readMs = performance.now() - t;
  t = performance.now();
  const c = Collection.open(manifest, keys, chunks);
  out.decodeMs = performance.now() - t;
  out.count = c.length;
  c.free();
  return out;
}

/**
 * Where a cold open's time goes (diagnostics, one cold launch each): the manifest read, the
 * record reads (first and last arrival), the work done on records as they arrive, growing the
 * heap, the decode and the first query. `mode: "stream"` is what `VectorStore.open` does with
 * `IndexedDBStorage` (`loadEach` + `OpenSession`: copy and check each record on arrival);
 * `mode: "loaded"` is the earlier path (`loadMany`, then `Collection.open`). Times in ms from
 * the start.
 */
export async function coldBreakdown({ database, mode, r = 0 }) {
  const queries = await fvecs("/data/query.fvecs");
  const { OpenSession } = await import("/pkg/wasm/quiver.js");
  const storage = new IndexedDBStorage({ database });
  const out = { mode };
  const t0 = performance.now();
  const at = () => performance.now() - t0;
  const manifest = await storage.load("bench/manifest");
  out.manifestAt = at();
  let collection;
  /** The tail of both session modes: grow the heap one task after the reads start, wait for
   *  the last record, decode. */
  const finishSession = async (session, reading) => {
    await Promise.race([reading, new Promise((resolve) => setTimeout(resolve, 0))]);
    let t = performance.now();
    session.prepare();
    out.prepareMs = performance.now() - t;
    await reading;
    out.lastRecordAt = at();
    t = performance.now();
    const opened = session.finish();
    out.decodeMs = performance.now() - t;
    session.free();
    return opened;
  };
  if (mode === "read") {
    // Only the reads (nothing done with the records): the floor of this browser's IndexedDB.
    const keys = Collection.requiredChunks(manifest);
    let bytes = 0;
    await storage.loadEach(keys.map((k) => `bench/${k}`), (i, b) => {
      bytes += b.length;
    });
    out.lastRecordAt = at();
    out.bytes = bytes;
    return out;
  }
  if (mode === "worker") {
    // Experiment: the reads in a dedicated worker (its thread unwraps and deserializes the
    // IndexedDB values), each record transferred to this thread and accepted as it arrives.
    const session = new OpenSession(manifest);
    const keys = session.keys().map((k) => `bench/${k}`);
    const worker = new Worker(URL.createObjectURL(new Blob([WORKER_READER], { type: "text/javascript" })));
    let acceptMs = 0;
    let firstAt;
    const reading = new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => {
        if (data.done) return resolve();
        if (data.error) return reject(new Error(data.error));
        firstAt ??= at();
        const t = performance.now();
        session.accept(data.i, new Uint8Array(data.buffer, data.offset, data.length));
        acceptMs += performance.now() - t;
      };
    });
    worker.postMessage({ database, keys, lanes: 8 });
    collection = await finishSession(session, reading.finally(() => worker.terminate()));
    Object.assign(out, { firstRecordAt: firstAt, acceptMs });
  } else if (mode === "stream") {
    const session = new OpenSession(manifest);
    const keys = session.keys();
    let acceptMs = 0;
    let firstAt;
    const reading = storage.loadEach(keys.map((k) => `bench/${k}`), (i, bytes) => {
      firstAt ??= at();
      const t = performance.now();
      session.accept(i, bytes);
      acceptMs += performance.now() - t;
    });
    collection = await finishSession(session, reading);
    Object.assign(out, { firstRecordAt: firstAt, acceptMs });
  } else {
    const keys = Collection.requiredChunks(manifest);
    const reading = storage.loadMany(keys.map((k) => `bench/${k}`));
    await Promise.race([reading, new Promise((resolve) => setTimeout(resolve, 0))]);
    let t = performance.now();
    Collection.prepareOpen(manifest);
    out.prepareMs = performance.now() - t;
    const chunks = await reading;
    out.lastRecordAt = at();
    t = performance.now();
    collection = Collection.open(manifest, keys, chunks);
    out.decodeMs = performance.now() - t;
  }
  out.openedAt = at();
  const dim = queries.dim;
  let t = performance.now();
  collection.search(queries.data.subarray(r * dim, (r + 1) * dim), 10);
  out.queryMs = performance.now() - t;
  out.totalMs = at();
  out.count = collection.length;
  // Initialising again returns the instance's exports: the heap size after the open.
  const wasm = await (await import("/pkg/wasm/quiver.js")).default();
  out.wasmMemoryMB = wasm.memory.buffer.byteLength / 1048576;
  collection.free();
  return out;
}

/** The reader of the "worker" breakdown mode. */
const WORKER_READER = `
onmessage = ({ data: { database, keys, lanes } }) => {
  const open = indexedDB.open(database);
  open.onerror = () => postMessage({ error: String(open.error) });
  open.onsuccess = () => {
    const db = open.result;
    let pending = lanes;
    for (let lane = 0; lane < lanes; lane++) {
      const tx = db.transaction("records", "readonly");
      const store = tx.objectStore("records");
      for (let i = lane; i < keys.length; i += lanes) {
        const request = store.get(keys[i]);
        request.onsuccess = () => {
          const v = request.result;
          postMessage({ i, buffer: v.buffer, offset: v.byteOffset, length: v.byteLength }, [v.buffer]);
        };
      }
      tx.oncomplete = () => { if (--pending === 0) postMessage({ done: true }); };
      tx.onerror = () => postMessage({ error: String(tx.error) });
    }
  };
};
`;

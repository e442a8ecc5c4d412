// Browser side of the cold-vector tests (tests/package/browser-cold.test.mjs): the same check in
// a dedicated worker (OPFS through synchronous access handles, or IndexedDB) and in the window
// (IndexedDB; OPFS rejects with `unsupported` there). Each builds IVF16,PQ48 over the 3k
// fixture twice, once keeping its vectors and once with coldVectors, and compares the answers,
// before and after a save and reopen.
import { IndexedDBStorage, OPFSStorage, VectorStore, init, isQuiverError } from "/pkg/dist/browser.js";

export const ready = init();

async function fvecs(name) {
  const bytes = await (await fetch(`/tests/fixtures/minilm-3k/${name}`)).arrayBuffer();
  const view = new DataView(bytes);
  const dim = view.getInt32(0, true);
  const rows = bytes.byteLength / (4 * (dim + 1));
  return Array.from({ length: rows }, (_, r) => new Float32Array(bytes, 4 * (r * (dim + 1) + 1), dim));
}

const describe = (error) => (isQuiverError(error) ? `${error.code}: ${error.message}` : String(error));
const params = { nprobe: 16 };

async function answers(store, queries) {
  const out = [];
  for (const vector of queries) out.push((await store.search({ vector, k: 10, params })).map((h) => `${h.id}:${h.score.toFixed(5)}`));
  return out;
}

async function build(options, items) {
  const store = await VectorStore.create({ dimension: 384, index: "IVF16,PQ48", seed: 11, ...options });
  await store.add(items.slice(0, 1000));
  await store.add(items.slice(1000));
  return store;
}

function storageFor(backend, place) {
  return backend === "opfs" ? new OPFSStorage({ directory: `cold-${place}` }) : new IndexedDBStorage({ database: `cold-${place}` });
}

/** Runs the comparison with `backend` ("opfs" or "indexeddb"); `place` names the storage. */
export async function compare(backend, place) {
  try {
    const base = await fvecs("base.fvecs");
    const queries = (await fvecs("query.fvecs")).slice(0, 20);
    const items = base.map((vector, i) => ({ id: `doc-${i}`, vector }));
    const warm = await build({}, items);
    const expected = await answers(warm, queries);
    await warm.close();
    const storage = storageFor(backend, place);
    const cold = await build({ name: "cold", storage, coldVectors: { cacheBytes: 1 << 20 } }, items);
    const got = await answers(cold, queries);
    const stats = await cold.stats();
    await cold.save();
    await cold.close();
    const reopened = await VectorStore.open({ name: "cold", storage: storageFor(backend, place), coldVectors: true });
    const again = await answers(reopened, queries);
    await reopened.close();
    return {
      same: JSON.stringify(got) === JSON.stringify(expected),
      sameReopened: JSON.stringify(again) === JSON.stringify(expected),
      vectorsInMemory: stats.memory.vectors,
      location: stats.cold.location,
      rowsRead: stats.cold.rowsRead,
    };
  } catch (error) {
    return { error: describe(error) };
  }
}

/** Runs {@link compare} in a dedicated module worker. */
export function inWorker(backend, place) {
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./cold-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = ({ data }) => {
      worker.terminate();
      resolve(data);
    };
    worker.onerror = (event) => {
      worker.terminate();
      resolve({ error: event.message });
    };
    worker.postMessage({ backend, place });
  });
}

/**
 * Writes a cold store in a worker until the origin's quota (set small by the test) stops it;
 * reports the error and whether the store still answers and holds exactly the acknowledged adds.
 */
export function quotaInWorker(place) {
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./cold-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = ({ data }) => {
      worker.terminate();
      resolve(data);
    };
    worker.postMessage({ quota: true, place });
  });
}

export async function fillUntilQuota(place) {
  const base = await fvecs("base.fvecs");
  const storage = new OPFSStorage({ directory: `cold-${place}` });
  const store = await VectorStore.create({ name: "full", dimension: 384, index: "IVF16,PQ48", seed: 11, storage, coldVectors: true });
  let added = 0;
  let failure;
  try {
    for (let round = 0; round < 1000 && !failure; round++) {
      const batch = base.map((vector, i) => ({ id: `r${round}-${i}`, vector }));
      try {
        await store.add(batch);
        added += batch.length;
      } catch (error) {
        failure = error;
      }
    }
    const stats = await store.stats();
    const hits = await store.search({ vector: base[5], k: 3, params });
    return { code: failure?.code, message: failure?.message, added, count: stats.count, hits: hits.length };
  } finally {
    await store.close();
  }
}

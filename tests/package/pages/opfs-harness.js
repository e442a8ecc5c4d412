// Browser side of the OPFS tests (tests/package/browser-opfs.test.mjs): the scenarios of
// persist-harness.js with OPFSStorage instead of IndexedDBStorage, plus adapter-level checks.
// The crash test drives persist-harness.js itself, with the `opfs` backend.
import { OPFSStorage, VectorStore, init, isQuiverError } from "/pkg/dist/browser.js";

export const ready = init();
export const dim = 32;

export function vector(i, salt = 0) {
  return Float32Array.from({ length: dim }, (_, j) => {
    let h = Math.imul(i + 1 + salt * 7919, 0x9e3779b1) ^ Math.imul(j + 1, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    return ((h ^ (h >>> 12)) >>> 0) / 2 ** 31 - 1;
  });
}

const item = (i) => ({ id: `k${i}`, vector: vector(i), metadata: { i } });

function describe(error) {
  return isQuiverError(error) ? `${error.code}: ${error.message}` : String(error);
}

async function answers(store, n = 8) {
  const out = [];
  for (let q = 0; q < n; q++) out.push(await store.search({ vector: vector(1_000_000 + q), k: 10 }));
  return out;
}

/** Opens (or creates) the store `name` in the OPFS directory `directory`. */
export function openStore(name, directory = "quiver-test") {
  return VectorStore.open({ name, storage: new OPFSStorage({ directory }), dimension: dim });
}

/** The names of the files in the OPFS directory `directory` (for tests). */
export async function listFiles(directory) {
  const root = await navigator.storage.getDirectory();
  const dir = await root.getDirectoryHandle(directory, { create: true });
  const names = [];
  for await (const name of dir.keys()) names.push(name);
  return names.sort();
}

/** Round trip with every metric: add, save, reopen, compare; then incremental rounds. */
export async function roundTrip(directory) {
  const report = {};
  for (const metric of ["cosine", "l2", "dot"]) {
    const storage = new OPFSStorage({ directory });
    const store = await VectorStore.create({ name: `rt-${metric}`, dimension: dim, metric, storage });
    await store.add(Array.from({ length: 3000 }, (_, i) => item(i)));
    await store.save();
    const before = await answers(store);
    await store.close();
    let reopened = await VectorStore.open({ name: `rt-${metric}`, storage });
    const same = JSON.stringify(await answers(reopened)) === JSON.stringify(before);
    for (let round = 0; round < 5; round++) {
      await reopened.add(Array.from({ length: 50 }, (_, i) => item(10_000 + round * 50 + i)));
      await reopened.delete([`k${round}`]);
      await reopened.upsert([{ id: `k${100 + round}`, vector: vector(100 + round, 1), metadata: { moved: round } }]);
      await reopened.save();
      const live = await answers(reopened);
      await reopened.close();
      // A fresh adapter each time: nothing may survive in the adapter's memory.
      reopened = await VectorStore.open({ name: `rt-${metric}`, storage: new OPFSStorage({ directory }) });
      if (JSON.stringify(await answers(reopened)) !== JSON.stringify(live)) return { error: `${metric} round ${round} differs` };
    }
    report[metric] = { same, count: (await reopened.stats()).count, moved: (await reopened.get("k104")).metadata };
    await reopened.close();
    await storage.close();
  }
  report.files = (await listFiles(directory)).length;
  return report;
}

/**
 * The adapter alone: keys that need escaping (upper case, `%`, `/`, dots, non-ASCII, a leading
 * dot), `loadRange` order and prefix, views into larger buffers stored exactly, deletes after
 * puts, foreign files (a swap file) ignored, bad options rejected.
 */
export async function adapterChecks(directory) {
  const storage = new OPFSStorage({ directory });
  const out = {};
  const keys = ["s/manifest", "s/c.00000000000a", "s/Upper", "s/%41", "s/.hidden", "s/é/ü", "t/other", "s/..", "s/a.crswap"];
  const big = new Uint8Array(64);
  big.forEach((_, i) => (big[i] = i));
  const puts = keys.map((key, i) => ({ key, bytes: big.subarray(i, i + 3 + i) }));
  await storage.saveBatch(puts, []);
  const range = await storage.loadRange("s/");
  out.rangeKeys = range.map((e) => e.key);
  out.expectedKeys = keys.filter((k) => k.startsWith("s/")).sort();
  out.exactBytes = puts.every(({ key, bytes }) => {
    const got = range.find((e) => e.key === key)?.bytes ?? (key.startsWith("t/") ? bytes : undefined);
    return !!got && got.length === bytes.length && got.every((b, j) => b === bytes[j]);
  });
  out.loadMissing = await storage.load("s/nothing");
  // A save that deletes and puts: the deletes happen, the puts are there.
  await storage.saveBatch([{ key: "s/new", bytes: Uint8Array.of(7) }, { key: "s/manifest", bytes: Uint8Array.of(9, 9) }], ["s/Upper", "s/never-existed"]);
  out.afterDelete = (await storage.loadRange("s/")).map((e) => e.key);
  out.manifest = Array.from((await storage.load("s/manifest")) ?? []);
  await storage.remove("s/new");
  await storage.remove("s/new");
  out.removed = (await storage.load("s/new")) === undefined;
  // A leftover swap file (as a crash mid-write leaves) is not a record.
  const root = await navigator.storage.getDirectory();
  const dir = await root.getDirectoryHandle(directory);
  await (await dir.getFileHandle("s%2Fmanifest.crswap", { create: true })).createWritable().then(async (w) => {
    await w.write(Uint8Array.of(1, 2, 3));
    await w.close();
  });
  out.withSwap = (await storage.loadRange("s/")).map((e) => e.key);
  // A crash between getFileHandle({ create: true }) and the swap file's move leaves an empty
  // file: it is no record, and an empty manifest is no store (not a corrupt one).
  await dir.getFileHandle("s%2Fempty", { create: true });
  await dir.getFileHandle("e%2Fmanifest", { create: true });
  out.emptyLoad = await storage.load("s/empty");
  out.withEmpty = (await storage.loadRange("s/")).map((e) => e.key);
  try {
    const store = await VectorStore.open({ name: "e", storage, dimension: 4 });
    await store.add([{ id: "a", vector: [1, 2, 3, 4] }]);
    await store.save();
    await store.close();
    const again = await VectorStore.open({ name: "e", storage: new OPFSStorage({ directory }) });
    out.emptyManifestStore = (await again.stats()).count;
    await again.close();
  } catch (error) {
    out.emptyManifestStore = describe(error);
  }
  await storage.remove("s/empty");
  out.files = await listFiles(directory);
  out.badOptions = [];
  for (const directory of ["", "a/b", "..", 5]) {
    try {
      new OPFSStorage({ directory });
      out.badOptions.push("accepted");
    } catch (error) {
      out.badOptions.push(isQuiverError(error) ? error.code : String(error));
    }
  }
  out.scope = storage.coordinationScope;
  return out;
}

/** Fills the store with random (incompressible) vectors until the quota stops a save. */
export async function fillUntilQuota(batch) {
  const storage = new OPFSStorage({ directory: "quiver-quota" });
  const store = await VectorStore.create({ name: "quota", dimension: 256, storage });
  let acked = 0;
  let next = 0;
  const log = [];
  for (let round = 0; round < 400; round++) {
    const items = Array.from({ length: batch }, () => {
      const v = new Float32Array(256);
      crypto.getRandomValues(new Uint32Array(v.buffer)).forEach((_, j, a) => (v[j] = (a[j] / 2 ** 32) * 2 - 1));
      return { id: `r${next++}`, vector: v };
    });
    await store.add(items);
    try {
      await store.save();
      acked = next;
      log.push(`saved ${acked}`);
    } catch (error) {
      log.push(`failed at ${next}: ${describe(error)}`);
      const stillUnsaved = (await store.stats()).count;
      // The store stays readable: a separate instance opens the last acknowledged version.
      const other = await VectorStore.open({ name: "quota", storage: new OPFSStorage({ directory: "quiver-quota" }) });
      const reopenedCount = (await other.stats()).count;
      const firstAcked = acked > 0 ? await other.get(`r0`) : undefined;
      const lastAcked = acked > 0 ? await other.get(`r${acked - 1}`) : undefined;
      const firstUnacked = await other.get(`r${acked}`);
      await other.close();
      // And the failed store keeps its unsaved changes in memory.
      const search = await store.search({ vector: items[0].vector, k: 1 });
      await store.close();
      return {
        code: isQuiverError(error) ? error.code : String(error),
        acked,
        attempted: next,
        stillUnsaved,
        reopenedCount,
        hasFirst: !!firstAcked,
        hasLastAcked: !!lastAcked,
        hasFirstUnacked: !!firstUnacked,
        foundUnsaved: search[0]?.id === items[0].id,
        log: log.slice(-3),
      };
    }
  }
  await store.close();
  return { error: "quota never reached", log: log.slice(-3) };
}

/** A tab of the two-tab test: `rounds` times, add own items, upsert a shared one, save. */
export async function tabWriter(tab, rounds) {
  const store = await openStore("tabs", "quiver-tabs");
  for (let r = 0; r < rounds; r++) {
    await store.add([{ id: `${tab}-${r}`, vector: vector(r + (tab === "a" ? 0 : 5000)), metadata: { tab, r } }]);
    await store.upsert([{ id: "shared", vector: vector(r), metadata: { tab, r } }]);
    if (r % 7 === 3) await store.delete([`${tab}-${r - 1}`]);
    await store.save();
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
  }
  const count = (await store.stats()).count;
  await store.close();
  return count;
}

/** Counts what the store `tabs` holds. */
export async function tabReport(rounds) {
  const store = await openStore("tabs", "quiver-tabs");
  const missing = [];
  const resurrected = [];
  for (const tab of ["a", "b"]) {
    for (let r = 0; r < rounds; r++) {
      const deleted = (r + 1) % 7 === 3 && r + 1 < rounds;
      const has = !!(await store.get(`${tab}-${r}`));
      if (!deleted && !has) missing.push(`${tab}-${r}`);
      if (deleted && has) resurrected.push(`${tab}-${r}`);
    }
  }
  const shared = (await store.get("shared"))?.metadata;
  const count = (await store.stats()).count;
  await store.close();
  return { missing, resurrected, shared, count };
}

/** Runs a round trip inside a dedicated module worker (opfs-worker.js). */
export function inWorker(directory) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./opfs-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = (event) => {
      worker.terminate();
      resolve(event.data);
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(event.message));
    };
    worker.postMessage({ directory });
  });
}

/** Count of the stored store `name` in `directory`, and whether `id` is absent. */
export async function inspect(name, directory, id) {
  const store = await VectorStore.open({ name, storage: new OPFSStorage({ directory }) });
  const out = { count: (await store.stats()).count, gone: (await store.get(id)) === undefined };
  await store.close();
  return out;
}

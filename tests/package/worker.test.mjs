// The Web Worker front end over a MessageChannel (the same structured-clone boundary as a
// Worker): same results as in-thread, transfers instead of clones, progress and cancellation
// across the boundary, ordering, several stores per worker, and a dead worker failing calls
// instead of hanging them. The real-Worker run is in consumers.test.mjs (Vite + Chromium).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { VectorStore, WorkerVectorStore, QuiverError, serveWorker, MemoryStorage } = await import(
  new URL("pkg/dist/node.js", `file://${root}`).href
);
const { Collection } = await import(new URL("pkg/wasm/quiver.js", `file://${root}`).href);

/** A "worker": serveWorker on one port; the returned endpoint records what crosses. */
function channel(options = {}) {
  const { port1, port2 } = new MessageChannel();
  const stop = serveWorker({ endpoint: port1, ...options });
  const sent = [];
  const endpoint = {
    postMessage(message, transfer) {
      sent.push({ message, transfer });
      port2.postMessage(message, transfer);
    },
    addEventListener: (type, listener) => port2.addEventListener(type, listener),
    start: () => port2.start(),
  };
  return {
    endpoint,
    sent,
    close() {
      stop();
      port1.close();
      port2.close();
    },
  };
}

const items = (n, dim, prefix = "i") =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    vector: Float32Array.from({ length: dim }, (_, j) => Math.sin(i * 31 + j * 7)),
    metadata: i % 2 ? { i } : undefined,
  }));

test("a worker store answers exactly like an in-thread store", async () => {
  const ch = channel();
  try {
    const data = items(500, 12);
    const local = await VectorStore.create({ dimension: 12, metric: "dot" });
    const remote = await WorkerVectorStore.create(ch.endpoint, { dimension: 12, metric: "dot" });
    assert.deepEqual([remote.name, remote.dimension, remote.metric, remote.index], ["default", 12, "dot", "Flat"]);
    await local.add(data);
    await remote.add(data);
    for (const q of [3, 77, 499]) {
      const request = { vector: data[q].vector, k: 10 };
      assert.deepEqual(await remote.search(request), await local.search(request));
      const filtered = { ...request, filter: { i: { $gte: 100 } } };
      const hits = await remote.search(filtered);
      assert.ok(hits.length === 10 && hits.every((h) => h.metadata.i >= 100));
      assert.deepEqual(hits, await local.search(filtered));
    }
    assert.deepEqual(await remote.get("i7"), await local.get("i7"));
    assert.equal(await remote.get("missing"), undefined);
    await remote.upsert([{ id: "i1", vector: data[2].vector, metadata: { moved: true } }]);
    assert.deepEqual((await remote.get("i1")).metadata, { moved: true });
    assert.equal(await remote.delete(["i1", "i2"]), 2);
    const stats = await remote.stats();
    assert.equal(stats.count, 498);
    await remote.close();
    await local.close();
  } finally {
    ch.close();
  }
});

test("vectors are packed into one transferred buffer; the caller's arrays are never detached", async () => {
  const ch = channel();
  try {
    const store = await WorkerVectorStore.create(ch.endpoint, { dimension: 4 });
    const data = items(100, 4);
    await store.add(data);
    const add = ch.sent.find((s) => s.message.op === "add");
    assert.equal(add.transfer.length, 1, "one transferred buffer per call");
    assert.equal(add.transfer[0].byteLength, 0, "it was transferred (detached on the sending side)");
    assert.ok(data.every((item) => item.vector.length === 4), "the caller's vectors are intact");

    const query = data[5].vector;
    const [hit] = await store.search({ vector: query, k: 1 });
    assert.equal(hit.id, "i5");
    assert.equal(query.length, 4, "the caller's query is intact (a copy was transferred)");
    const search = ch.sent.find((s) => s.message.op === "search");
    assert.equal(search.transfer.length, 1);

    const got = await store.get("i5");
    assert.ok(got.vector instanceof Float32Array && got.vector.length === 4, "get returns the vector");
    await store.close();
  } finally {
    ch.close();
  }
});

test("progress crosses the boundary; cancellation rolls back in the worker", async () => {
  const ch = channel();
  try {
    const store = await WorkerVectorStore.create(ch.endpoint, { dimension: 2, metric: "l2" });
    const data = Array.from({ length: 40 * 4096 }, (_, i) => ({ id: `p${i}`, vector: [i, 0] }));
    const progress = [];
    await store.add(data.slice(0, 10_000), { onProgress: (p) => progress.push(p.done) });
    assert.deepEqual(progress, [1024, 2048, 3072, 4096, 5120, 6144, 7168, 8192, 9216, 10_000]);

    const controller = new AbortController();
    await assert.rejects(
      store.add(data.slice(10_000), { signal: controller.signal, onProgress: () => controller.abort() }),
      (e) => e === controller.signal.reason,
    );
    assert.equal((await store.stats()).count, 10_000, "the cancelled add left nothing behind");

    const boom = new Error("callback failed");
    await assert.rejects(store.add(data.slice(10_000), { onProgress: () => { throw boom; } }), (e) => e === boom);
    assert.equal((await store.stats()).count, 10_000);

    await assert.rejects(store.add(data.slice(10_000), { signal: AbortSignal.abort() }), (e) => e.name === "AbortError");
    await store.close();
  } finally {
    ch.close();
  }
});

test("calls are answered in call order; stores in one worker are independent", async () => {
  const ch = channel();
  try {
    const a = await WorkerVectorStore.create(ch.endpoint, { name: "a", dimension: 2 });
    const b = await WorkerVectorStore.create(ch.endpoint, { name: "b", dimension: 3, metric: "l2" });
    const order = [];
    const calls = [
      a.add(items(9_000, 2)).then(() => order.push("a.add")),
      a.search({ vector: [1, 0], k: 1 }).then(() => order.push("a.search")),
      b.add(items(10, 3)).then(() => order.push("b.add")),
      a.delete("i0").then(() => order.push("a.delete")),
      a.stats().then((s) => order.push(`a.count=${s.count}`)),
    ];
    await Promise.all(calls);
    assert.deepEqual(order.filter((o) => o.startsWith("a.")), ["a.add", "a.search", "a.delete", "a.count=8999"]);
    assert.equal((await b.stats()).count, 10);
    await a.close();
    await assert.rejects(a.stats(), (e) => e instanceof QuiverError && e.code === "closed");
    assert.equal((await b.stats()).count, 10, "closing a does not touch b");
    await b.close();
  } finally {
    ch.close();
  }
});

test("open and save use the worker's storage; without it they say so", async () => {
  const bare = channel();
  const storage = new MemoryStorage();
  const withStorage = channel({ storage: () => storage });
  try {
    await assert.rejects(WorkerVectorStore.open(bare.endpoint, { name: "x", dimension: 2 }), (e) => e.code === "invalid_argument");
    await assert.rejects(WorkerVectorStore.create(bare.endpoint, { dimension: 2, storage: new MemoryStorage() }), (e) => e.code === "invalid_argument");
    const store = await WorkerVectorStore.open(withStorage.endpoint, { name: "x", dimension: 2 });
    await store.add([{ id: "a", vector: [1, 0] }]);
    await store.save();
    // compact() crosses too: the second item goes into a new snapshot, not the log.
    await store.add([{ id: "b", vector: [0, 1] }]);
    await store.compact();
    await store.close();
    assert.equal(Collection.manifestInfo(await storage.load("x/manifest")).logOps, 0);
    const reopened = await WorkerVectorStore.open(withStorage.endpoint, { name: "x" });
    assert.equal((await reopened.stats()).count, 2);
    await reopened.close();
  } finally {
    bare.close();
    withStorage.close();
  }
});

test("a worker that fails rejects pending and later calls with `closed` instead of hanging", async () => {
  const listeners = {};
  const dead = {
    postMessage() {}, // a worker that never answers...
    addEventListener: (type, listener) => (listeners[type] = listener),
  };
  const pending = WorkerVectorStore.create(dead, { dimension: 2 });
  listeners.error({ message: "script failed to load" }); // ...then reports an error event
  await assert.rejects(pending, (e) => e instanceof QuiverError && e.code === "closed" && /script failed/.test(e.message));
  await assert.rejects(WorkerVectorStore.create(dead, { dimension: 2 }), (e) => e.code === "closed");
  await assert.rejects(WorkerVectorStore.create({}, { dimension: 2 }), (e) => e.code === "invalid_argument");
});

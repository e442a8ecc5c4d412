// ShardedStore: routing stability (golden FNV-1a values), merged results equal to one store for
// Flat over 1, 2 and 4 shards on the minilm-3k fixture, HNSW recall at least one store's,
// cross-shard all-or-nothing writes, and shard failures (error, timeout, partial opt-in).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const quiver = await import(new URL("pkg/dist/node.js", `file://${root}`).href);
const { VectorStore, ShardedStore, WorkerVectorStore, serveWorker, fnv1a32, shardOf, isQuiverError, errorCodes } = quiver;

function readVecs(name) {
  const bytes = readFileSync(new URL(`tests/fixtures/minilm-3k/${name}`, `file://${root}`));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dim = view.getInt32(0, true);
  const rows = bytes.byteLength / (4 * (dim + 1));
  const isInt = name.endsWith(".ivecs");
  const out = Array.from({ length: rows }, (_, r) => {
    const row = isInt ? new Int32Array(dim) : new Float32Array(dim);
    for (let j = 0; j < dim; j++) {
      const at = 4 * (r * (dim + 1) + 1 + j);
      row[j] = isInt ? view.getInt32(at, true) : view.getFloat32(at, true);
    }
    return row;
  });
  return out;
}

const base = readVecs("base.fvecs");
const queries = readVecs("query.fvecs");
const truth = readVecs("groundtruth.ivecs");
const items = base.map((vector, i) => ({ id: `doc-${i}`, vector, metadata: { i, even: i % 2 === 0 } }));

async function shardedOver(n, options = {}, createOptions = {}) {
  const shards = [];
  for (let i = 0; i < n; i++) shards.push(await VectorStore.create({ name: `s${i}`, dimension: 384, ...createOptions }));
  return new ShardedStore(shards, options);
}

test("routing: FNV-1a 32 over UTF-8, golden values", () => {
  // Reference values of FNV-1a 32 (offset basis 0x811c9dc5, prime 0x01000193).
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
  // UTF-8, not UTF-16: "é" is the bytes c3 a9.
  let h = 0x811c9dc5;
  for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  assert.equal(fnv1a32("é"), h);
  // Frozen: changing the hash would move every stored id.
  const ids = ["doc-0", "doc-1", "doc-2", "user:42", "日本"];
  assert.deepEqual(ids.map(fnv1a32), [1494172424, 1510950043, 1527727662, 795573122, 2670128721]);
  assert.deepEqual(ids.map((id) => shardOf(id, 4)), [0, 3, 2, 2, 1]);
  assert.equal(errorCodes().includes("shard_failed"), true);
});

test("Flat: merged results equal one store's over 1, 2 and 4 shards", async () => {
  const single = await VectorStore.create({ dimension: 384 });
  await single.add(items);
  for (const n of [1, 2, 4]) {
    const store = await shardedOver(n);
    await store.add(items);
    const stats = await store.stats();
    assert.equal(stats.count, items.length);
    assert.equal(stats.shards.length, n);
    if (n > 1) assert.ok(stats.shards.every((s) => s.count > items.length / n / 2), "routing spreads ids");
    for (const [q, vector] of queries.entries()) {
      const expected = await single.search({ vector, k: 10 });
      const got = await store.search({ vector, k: 10 });
      assert.deepEqual(got, expected, `n=${n} query ${q}`);
      assert.equal(got.partial, undefined);
    }
    // Every id is in exactly the shard the hash names.
    for (const id of ["doc-0", "doc-17", "doc-2999"]) {
      assert.ok(await store.shards[shardOf(id, n)].get(id));
      assert.deepEqual(await store.get(id), await single.get(id));
    }
    await store.close();
  }
  await single.close();
});

test("l2: merge keeps the lowest scores first", async () => {
  const single = await VectorStore.create({ dimension: 384, metric: "l2" });
  const store = await shardedOver(3, {}, { metric: "l2" });
  const some = items.slice(0, 600);
  await single.add(some);
  await store.add(some);
  for (const vector of queries.slice(0, 20)) {
    assert.deepEqual(await store.search({ vector, k: 7 }), await single.search({ vector, k: 7 }));
  }
});

test("HNSW: recall@10 over 4 shards is at least one store's", async () => {
  const recall = async (store) => {
    let hits = 0;
    for (const [q, vector] of queries.entries()) {
      const expected = new Set(Array.from(truth[q].subarray(0, 10), (i) => `doc-${i}`));
      hits += (await store.search({ vector, k: 10, params: { efSearch: 32 } })).filter((h) => expected.has(h.id)).length;
    }
    return hits / (queries.length * 10);
  };
  const single = await VectorStore.create({ dimension: 384, index: "HNSW16", seed: 7 });
  await single.add(items);
  const store = await shardedOver(4, {}, { index: "HNSW16", seed: 7 });
  await store.add(items);
  const [one, four] = [await recall(single), await recall(store)];
  console.log(`HNSW16 efSearch=32 recall@10: one store ${one.toFixed(3)}, 4 shards ${four.toFixed(3)} (seed 7)`);
  assert.ok(four >= one, `4 shards ${four} < one store ${one} (seed 7)`);
});

test("writes are all or nothing across shards", async () => {
  const store = await shardedOver(4);
  await store.add(items.slice(0, 100));
  // duplicate_id on one shard: the other shards' adds are rolled back.
  await assert.rejects(store.add([...items.slice(100, 200), items[5]]), (e) => isQuiverError(e, "duplicate_id") && e.shard === shardOf("doc-5", 4));
  assert.equal((await store.stats()).count, 100);
  assert.equal(await store.get("doc-150"), undefined);
  // Deleting an unknown id deletes nothing.
  await assert.rejects(store.delete(["doc-1", "doc-2", "nope"]), (e) => isQuiverError(e, "not_found"));
  assert.equal((await store.stats()).count, 100);
  assert.equal(await store.delete(["doc-1", "doc-2"]), 2);
  assert.equal((await store.stats()).count, 98);
  // Upsert failing on one shard (a bad vector) restores the replaced items on the others.
  const before = await store.get("doc-10");
  const bad = { id: "doc-bad", vector: new Float32Array(384).fill(NaN) };
  await assert.rejects(store.upsert([{ id: "doc-10", vector: base[11] }, { id: "doc-500", vector: base[500] }, bad]));
  assert.deepEqual(await store.get("doc-10"), before);
  assert.equal(await store.get("doc-500"), undefined);
  assert.equal((await store.stats()).count, 98);
  // Cancellation rolls back like a failure.
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(store.add(items.slice(1000, 1400), { signal: controller.signal }), (e) => e === controller.signal.reason);
  assert.equal((await store.stats()).count, 98);
  // Progress sums over shards.
  const seen = [];
  await store.add(items.slice(2000, 2400), { onProgress: (p) => seen.push(p) });
  assert.deepEqual(seen.at(-1), { phase: "add", done: 400, total: 400 });
  await store.close();
  assert.equal(store.closed, true);
  await assert.rejects(store.search({ vector: base[0], k: 1 }), (e) => isQuiverError(e, "closed"));
});

/** A shard that delegates to a real store but can be made to fail or hang. */
function faulty(inner) {
  const shard = {
    mode: "ok",
    name: inner.name,
    dimension: inner.dimension,
    metric: inner.metric,
    index: inner.index,
    get closed() {
      return inner.closed;
    },
  };
  for (const method of ["add", "upsert", "delete", "get", "search", "save", "stats", "close"]) {
    shard[method] = (...args) => {
      if (shard.mode === "error" && method !== "close") return Promise.reject(new Error("disk on fire"));
      if (shard.mode === "hang" && method !== "close") return new Promise(() => {});
      return inner[method](...args);
    };
  }
  return shard;
}

test("a failing shard fails the query with shard_failed naming it, or gives partial results on opt-in", async () => {
  const inner = await Promise.all([0, 1, 2].map((i) => VectorStore.create({ name: `f${i}`, dimension: 384 })));
  const shards = inner.map(faulty);
  const strict = new ShardedStore(shards, { timeoutMs: 200 });
  const lenient = new ShardedStore(shards, { timeoutMs: 200, allowPartial: true });
  await strict.add(items.slice(0, 300));
  const request = { vector: queries[0], k: 10 };
  const full = await strict.search(request);
  const wide = await strict.search({ ...request, k: 40 });

  shards[1].mode = "error";
  await assert.rejects(strict.search(request), (e) => isQuiverError(e, "shard_failed") && e.shard === 1 && /shard 1 of 3/.test(e.message));
  const partial = await lenient.search(request);
  assert.equal(partial.partial, true);
  assert.deepEqual(partial.failures.map((f) => f.shard), [1]);
  // Partial results are exactly the healthy shards' merge: never wrong, only incomplete.
  assert.deepEqual(
    partial.map((h) => h.id),
    wide.filter((h) => shardOf(h.id, 3) !== 1).map((h) => h.id).slice(0, 10),
  );
  // A write touching the failed shard rolls back the others.
  const before = (await Promise.all(inner.map((s) => s.stats()))).map((s) => s.count);
  await assert.rejects(strict.add(items.slice(300, 400)), (e) => isQuiverError(e, "shard_failed") && e.shard === 1);
  assert.deepEqual((await Promise.all(inner.map((s) => s.stats()))).map((s) => s.count), before);

  shards[1].mode = "hang";
  await assert.rejects(strict.search(request), (e) => isQuiverError(e, "shard_failed") && e.shard === 1 && /timed out/.test(e.message));
  await assert.rejects(strict.get(items.find((it) => shardOf(it.id, 3) === 1).id), (e) => e.shard === 1);
  assert.equal((await lenient.search(request)).partial, true);

  shards[1].mode = "ok";
  assert.deepEqual(await strict.search(request), full);
  // Every shard failing is an error even with allowPartial.
  shards.forEach((s) => (s.mode = "error"));
  await assert.rejects(lenient.search(request), (e) => isQuiverError(e, "shard_failed"));
  shards.forEach((s) => (s.mode = "ok"));
  await strict.close();
});

test("shards can be Worker stores (over MessageChannels)", async () => {
  const ports = [];
  const store = await ShardedStore.withWorkers({
    count: 2,
    workerUrl: "unused",
    dimension: 384,
    createWorker() {
      const { port1, port2 } = new MessageChannel();
      const stop = serveWorker({ endpoint: port1 });
      ports.push(port1, port2);
      return Object.assign(port2, { terminate: () => (stop(), port1.close(), port2.close()) });
    },
  });
  assert.ok(store.shards.every((s) => s instanceof WorkerVectorStore));
  const single = await VectorStore.create({ dimension: 384 });
  await single.add(items.slice(0, 1000));
  await store.add(items.slice(0, 1000));
  for (const vector of queries.slice(0, 10)) {
    assert.deepEqual(await store.search({ vector, k: 5 }), await single.search({ vector, k: 5 }));
  }
  assert.deepEqual((await store.stats()).shards.map((s) => s.name), ["sharded-0", "sharded-1"]);
  await store.close();
});

test("reshard: 2 shards to 3, same results, ids re-routed", async () => {
  const { reshard } = quiver;
  const two = await shardedOver(2);
  const some = items.slice(0, 800);
  await two.add(some);
  const three = await shardedOver(3);
  assert.equal(await reshard(two, three, some.map((it) => it.id), { batchSize: 300 }), 800);
  assert.equal((await three.stats()).count, 800);
  for (const vector of queries.slice(0, 10)) {
    assert.deepEqual(await three.search({ vector, k: 10 }), await two.search({ vector, k: 10 }));
  }
  assert.ok(await three.shards[shardOf("doc-7", 3)].get("doc-7"));
  await assert.rejects(reshard(two, three, ["missing"]), (e) => isQuiverError(e, "not_found"));
});

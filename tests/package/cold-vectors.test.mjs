// `coldVectors` through the package, on the minilm-3k fixture: quantized stores whose full
// vectors live in storage (a file with FileStorage, one record per row with other adapters)
// answer exactly what the same store with its vectors in memory answers, hold only codes in
// memory, survive save and reopen, and turn damage, missing rows and full storage into typed
// errors without changing what is stored (docs/memory.md, "Cold vectors").
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, open, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readVecs } from "./fixture.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { VectorStore, MemoryStorage, FileStorage, QuiverError, isQuiverError } = await import(new URL("pkg/dist/node.js", `file://${root}`).href);

const base = readVecs("base.fvecs");
const queries = readVecs("query.fvecs").slice(0, 40);
const groundtruth = readVecs("groundtruth.ivecs");
const items = base.map((vector, i) => ({ id: `doc-${i}`, vector, metadata: i % 2 === 0 ? { even: true } : { even: false } }));
const K = 10;
const SEED = 11;

async function rejectsWith(promise, code, context) {
  await assert.rejects(promise, (e) => isQuiverError(e, code), `${context}: expected ${code}`);
}

function recallAt(hitsPerQuery) {
  let found = 0;
  hitsPerQuery.forEach((hits, q) => {
    const truth = new Set(Array.from(groundtruth[q].subarray(0, K), (i) => `doc-${i}`));
    found += hits.filter((h) => truth.has(h.id)).length;
  });
  return found / (hitsPerQuery.length * K);
}

const searchAll = (store, params) => Promise.all(queries.map((vector) => store.search({ vector, k: K, params })));

function sameHits(actual, expected, context) {
  assert.deepEqual(
    actual.map((hits) => hits.map((h) => h.id)),
    expected.map((hits) => hits.map((h) => h.id)),
    context,
  );
  actual.forEach((hits, q) => hits.forEach((h, i) => assert.ok(Math.abs(h.score - expected[q][i].score) < 1e-5, `${context}: score of query ${q}`)));
}

async function withDirectory(run) {
  const dir = await mkdtemp(join(tmpdir(), "quiver-cold-"));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const { index, params } of [
  { index: "IVF16,PQ48", params: { nprobe: 16 } },
  { index: "BIN", params: {} },
]) {
  test(`${index} with coldVectors answers as with its vectors in memory, in a file and in records`, async () => {
    // The same batches as the cold store below: training depends on what is buffered when.
    const warm = await VectorStore.create({ dimension: 384, index, seed: SEED });
    await warm.add(items.slice(0, 1000));
    await warm.add(items.slice(1000));
    const expected = await searchAll(warm, params);
    const warmStats = await warm.stats();
    await warm.close();

    for (const kind of ["file", "records"]) {
      await withDirectory(async (dir) => {
        const storage = kind === "file" ? new FileStorage(dir) : new MemoryStorage();
        const cold = await VectorStore.create({ name: "cold", dimension: 384, index, seed: SEED, storage, coldVectors: { cacheBytes: 1 << 20 } });
        await cold.add(items.slice(0, 1000));
        await cold.add(items.slice(1000));
        const first = await searchAll(cold, params);
        sameHits(first, expected, `${index} in ${kind}`);
        // Again, now partly from the cache.
        sameHits(await searchAll(cold, params), expected, `${index} in ${kind}, cached`);
        const stats = await cold.stats();
        assert.equal(stats.keepVectors, false);
        assert.equal(stats.memory.vectors, 0, "no full vectors in memory");
        assert.ok(stats.memory.cache > 0 && stats.memory.cache <= (1 << 20) * 1.2, `cache ${stats.memory.cache}`);
        // Without the cache (sized for a large store), a fraction of the store with its vectors.
        assert.ok(stats.memoryBytes - stats.memory.cache < warmStats.memoryBytes / 3, `${stats.memoryBytes} vs ${warmStats.memoryBytes}`);
        assert.equal(stats.cold.rowBytes, 384 * 4 + 12);
        assert.ok(stats.cold.rowsRead > 0 && stats.cold.cacheHits > 0, JSON.stringify(stats.cold));
        assert.ok(stats.cold.location.includes(kind === "file" ? dir : "cold-vectors"), stats.cold.location);
        // Filters apply to the reranked candidates.
        const even = await cold.search({ vector: queries[0], k: K, filter: { even: true }, params });
        assert.equal(even.length, K);
        assert.ok(even.every((h) => h.metadata.even === true));

        await cold.save();
        await cold.close();
        const reopened = await VectorStore.open({ name: "cold", storage, coldVectors: true });
        sameHits(await searchAll(reopened, params), expected, `${index} in ${kind}, reopened`);
        await reopened.close();
        // Opened without coldVectors, the store answers from its codes only.
        const codesOnly = await VectorStore.open({ name: "cold", storage });
        assert.equal((await codesOnly.stats()).cold, null);
        await rejectsWith(codesOnly.search({ vector: queries[0], k: K, params: { rerank: 50 } }), "unsupported", "rerank without cold vectors");
        await codesOnly.close();
      });
    }
  });
}

test("cold stores follow upserts and deletes, and recall holds", async () => {
  const storage = new MemoryStorage();
  const store = await VectorStore.create({ dimension: 384, index: "IVF16,PQ48", seed: SEED, storage, coldVectors: true });
  await store.add(items);
  assert.ok(recallAt(await searchAll(store, { nprobe: 16 })) >= 0.95, "recall@10 with cold rerank");
  // Move doc-7 onto query 0: the rerank must score its new vector, not the old row.
  await store.upsert([{ id: "doc-7", vector: queries[0] }]);
  const [best] = await store.search({ vector: queries[0], k: 1, params: { nprobe: 16 } });
  assert.equal(best.id, "doc-7");
  assert.ok(best.score > 0.999, `score ${best.score}`);
  await store.delete(["doc-7"]);
  const hits = await store.search({ vector: queries[0], k: K, params: { nprobe: 16 } });
  assert.ok(!hits.some((h) => h.id === "doc-7"));
  await store.close();
});

test("a damaged or missing cold file is a typed error naming it; the codes still answer", async () => {
  await withDirectory(async (dir) => {
    const storage = new FileStorage(dir);
    const store = await VectorStore.create({ name: "damaged", dimension: 384, index: "IVF16,PQ48", seed: SEED, storage, coldVectors: { cacheBytes: 0 } });
    await store.add(items);
    await store.save();
    const { location } = (await store.stats()).cold;
    // Flip every 1000th byte of the file.
    const file = await open(location, "r+");
    const { size } = await file.stat();
    const buffer = new Uint8Array(1);
    for (let at = 500; at < size; at += 1000) {
      await file.read(buffer, 0, 1, at);
      buffer[0] ^= 0xff;
      await file.write(buffer, 0, 1, at);
    }
    await file.close();
    await assert.rejects(
      store.search({ vector: queries[0], k: K }),
      (e) => isQuiverError(e, "corrupt") && e.message.includes(location) && e.message.includes("internal id"),
      "damaged rows",
    );
    const codes = await store.search({ vector: queries[0], k: K, params: { rerank: 0 } });
    assert.equal(codes.length, K, "the codes still answer");
    assert.equal((await store.getMetadata("doc-3")).id, "doc-3");
    await store.close();

    await unlink(location);
    const reopened = await VectorStore.open({ name: "damaged", storage, coldVectors: true });
    await assert.rejects(reopened.search({ vector: queries[1], k: K }), (e) => isQuiverError(e, "corrupt") && e.message.includes(location), "missing file");
    assert.equal((await reopened.search({ vector: queries[1], k: K, params: { rerank: 0 } })).length, K);
    await reopened.close();
  });
});

test("a cold store has one writer: a save that would rebase is refused, and rows another writer overwrote are corrupt", async () => {
  const storage = new MemoryStorage();
  const a = await VectorStore.create({ name: "shared", dimension: 384, index: "IVF16,PQ48", seed: SEED, storage, coldVectors: true });
  await a.add(items.slice(0, 2000));
  await a.save();
  const b = await VectorStore.open({ name: "shared", storage, coldVectors: true });
  // Both hand out the same next internal ids, so a's rows overwrite b's.
  await b.add(items.slice(2000, 2100));
  await a.add(items.slice(2100, 2200));
  await a.save();
  await rejectsWith(b.save(), "unsupported", "a save of b that would rebase onto a's");
  await assert.rejects(b.search({ vector: items[2050].vector, k: 1, params: { nprobe: 16 } }), (e) => isQuiverError(e, "corrupt"), "b's overwritten rows");
  const [hit] = await a.search({ vector: items[2150].vector, k: 1, params: { nprobe: 16 } });
  assert.equal(hit.id, "doc-2150", "a's rows are its own");
  await a.close();
  await b.close();
});

/** MemoryStorage whose writes fail with quota_exceeded once `full` is set. */
class FillingStorage extends MemoryStorage {
  full = false;
  async saveBatch(puts, deletes) {
    if (this.full) throw new QuiverError("quota_exceeded", "storage quota exceeded (test)");
    return super.saveBatch(puts, deletes);
  }
}

test("a cold write that does not fit rejects with quota_exceeded and changes nothing", async () => {
  const storage = new FillingStorage();
  const store = await VectorStore.create({ dimension: 384, index: "IVF16,PQ48", seed: SEED, storage, coldVectors: true });
  await store.add(items.slice(0, 2000));
  const before = await searchAll(store, { nprobe: 16 });
  storage.full = true;
  await rejectsWith(store.add(items.slice(2000)), "quota_exceeded", "add past the quota");
  await rejectsWith(store.upsert([{ id: "doc-1", vector: queries[0] }]), "quota_exceeded", "upsert past the quota");
  const stats = await store.stats();
  assert.equal(stats.count, 2000);
  storage.full = false;
  sameHits(await searchAll(store, { nprobe: 16 }), before, "unchanged after the failed writes");
  await store.add(items.slice(2000));
  assert.equal((await store.stats()).count, items.length);
  await store.close();
});

test("coldVectors rejects what it cannot do, before creating anything", async () => {
  const storage = new MemoryStorage();
  const cases = [
    [{ dimension: 384, index: "PQ48", coldVectors: true }, "invalid_argument", "without storage"],
    [{ dimension: 384, index: "PQ48", storage, coldVectors: true, keepVectors: true }, "invalid_argument", "with keepVectors: true"],
    [{ dimension: 384, index: "Flat", storage, coldVectors: true }, "invalid_argument", "over raw vectors"],
    [{ dimension: 384, index: "PQ48", storage, coldVectors: { cacheBytes: -1 } }, "invalid_argument", "a negative cache"],
    [{ dimension: 384, index: "PQ48", storage, coldVectors: "yes" }, "invalid_argument", "not a boolean"],
  ];
  for (const [options, code, context] of cases) await rejectsWith(VectorStore.create(options), code, context);
  assert.equal(storage.size, 0, "nothing was written");
});

// `compact()` and orphan cleanup through the package in Node, with the memory and file adapters:
// compaction folds the op log into a new snapshot (the next open replays nothing), keeps every
// item, and the old snapshot's records go with the next save; records left by a save that
// crashed part way are deleted by a later save, never before a manifest that no longer needs
// them is committed, and the store opens with every acknowledged write at every step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStorage, MemoryStorage, VectorStore, isQuiverError } from "../../pkg/dist/node.js";
import { Collection } from "../../pkg/wasm/quiver.js";

const dim = 16;
/** Deterministic pseudo-random vector of item `i`. */
function vector(i, salt = 0) {
  return Float32Array.from({ length: dim }, (_, j) => {
    let h = Math.imul(i + 1 + salt * 7919, 0x9e3779b1) ^ Math.imul(j + 1, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    return ((h ^ (h >>> 12)) >>> 0) / 2 ** 31 - 1;
  });
}
const item = (i, salt = 0) => ({ id: `doc-${i}`, vector: vector(i, salt), metadata: { i, salt } });
const range = (from, n) => Array.from({ length: n }, (_, i) => from + i);
const queries = range(50_000, 8).map((q) => vector(q));

async function answers(store) {
  const out = [];
  for (const q of queries) out.push(await store.search({ vector: q, k: 10 }));
  return out;
}

/** Records each batch; `crashAfter = n` makes the next batch store only its first `n` puts (no
 * deletes, no manifest) and then fail, as a process killed part way through a non-atomic write. */
class Crashy {
  constructor(inner) {
    this.inner = inner;
    this.saves = [];
    this.crashAfter = undefined;
  }
  load(key) { return this.inner.load(key); }
  loadRange(prefix) { return this.inner.loadRange(prefix); }
  listKeys(prefix) { return this.inner.listKeys(prefix); }
  remove(key) { return this.inner.remove(key); }
  async saveBatch(puts, deletes) {
    this.saves.push({ puts: puts.map((p) => p.key), deletes: [...deletes] });
    const n = this.crashAfter;
    this.crashAfter = undefined;
    if (n !== undefined) {
      for (const p of puts.slice(0, n)) await this.inner.saveBatch([p], []);
      throw new Error("simulated crash");
    }
    return this.inner.saveBatch(puts, deletes);
  }
}

const adapters = {
  memory: () => ({ storage: new MemoryStorage(), cleanup() {} }),
  file: () => {
    const dir = mkdtempSync(join(tmpdir(), "quiver-compact-"));
    return { storage: new FileStorage(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  },
};

const manifestInfo = async (storage, name) => Collection.manifestInfo(await storage.load(`${name}/manifest`));
const keysOf = async (storage, name) => (await storage.listKeys(`${name}/`)).map((k) => k.slice(name.length + 1));

for (const [kind, make] of Object.entries(adapters)) {
  for (const index of ["Flat", "HNSW8"]) {
    test(`${kind} adapter, ${index}: compact() folds the log into a new snapshot`, async () => {
      const { storage, cleanup } = make();
      try {
        const store = await VectorStore.create({ name: "docs", dimension: dim, metric: "cosine", index, storage });
        await store.add(range(0, 600).map((i) => item(i)));
        await store.save();
        await store.add(range(600, 100).map((i) => item(i)));
        await store.upsert([item(3, 1)]);
        await store.delete(["doc-10", "doc-11"]);
        await store.save();
        const logged = await manifestInfo(storage, "docs");
        assert.ok(logged.logOps > 0, "the incremental save wrote a log");
        const expected = await answers(store);

        await store.compact();
        const compacted = await manifestInfo(storage, "docs");
        assert.equal(compacted.logOps, 0, "the log is folded into the snapshot");
        assert.equal(compacted.generation, logged.generation + 1);
        assert.equal(compacted.items, 698);
        assert.deepEqual(await answers(store), expected, "compacting changes no results");

        const reopened = await VectorStore.open({ name: "docs", storage });
        assert.equal((await reopened.stats()).count, 698);
        assert.deepEqual(await answers(reopened), expected, "same results after reopening");
        assert.deepEqual((await reopened.get("doc-3")).metadata, { i: 3, salt: 1 });
        assert.equal(await reopened.get("doc-10"), undefined);
        await reopened.close();

        // The old snapshot is declared garbage; the next save deletes it.
        const live = Collection.requiredChunks(await storage.load("docs/manifest"));
        assert.ok((await keysOf(storage, "docs")).length > live.length + 1, "old records still there");
        await store.add([item(9000)]);
        await store.save();
        const after = Collection.requiredChunks(await storage.load("docs/manifest"));
        assert.deepEqual((await keysOf(storage, "docs")).sort(), [...after, "manifest"].sort(), "only the live records remain");

        // Compacting with nothing logged still writes a full snapshot; a store without storage
        // cannot compact.
        await store.compact();
        assert.equal((await manifestInfo(storage, "docs")).generation, compacted.generation + 1);
        await store.close();
        const memoryOnly = await VectorStore.create({ name: "m", dimension: dim });
        await assert.rejects(memoryOnly.compact(), (e) => isQuiverError(e, "unsupported"));
        await memoryOnly.close();
        await assert.rejects(store.compact(), (e) => isQuiverError(e, "closed"));
      } finally {
        cleanup();
      }
    });
  }

  test(`${kind} adapter: a failed compact() leaves the store intact and the next save compacts`, async () => {
    const { storage: inner, cleanup } = make();
    const storage = new Crashy(inner);
    try {
      const store = await VectorStore.create({ name: "docs", dimension: dim, storage });
      await store.add(range(0, 300).map((i) => item(i)));
      await store.save();
      await store.add(range(300, 50).map((i) => item(i)));
      await store.save();
      const before = await manifestInfo(inner, "docs");
      storage.crashAfter = 1;
      await assert.rejects(store.compact(), (e) => isQuiverError(e, "storage_error"));
      assert.deepEqual(await manifestInfo(inner, "docs"), before, "the stored manifest is unchanged");
      const reader = await VectorStore.open({ name: "docs", storage: inner });
      assert.equal((await reader.stats()).count, 350);
      await reader.close();
      await store.save();
      const after = await manifestInfo(inner, "docs");
      assert.equal(after.logOps, 0, "the save after a failed compact() writes the snapshot");
      assert.equal(after.generation, before.generation + 1);
      await store.close();
    } finally {
      cleanup();
    }
  });

  test(`${kind} adapter: records left by a crash mid-save are deleted by a later save`, async () => {
    const { storage: inner, cleanup } = make();
    const storage = new Crashy(inner);
    try {
      const writer = await VectorStore.create({ name: "docs", dimension: dim, storage });
      await writer.add(range(0, 2000).map((i) => item(i)));
      await writer.save();
      await writer.close();

      // A writer on the committed store makes a large change (a save of several records) and
      // is killed after two of them reached storage.
      const crashed = await VectorStore.open({ name: "docs", storage });
      const stored = await keysOf(inner, "docs");
      await crashed.add(range(3000, 2000).map((i) => item(i)));
      storage.crashAfter = 2;
      await assert.rejects(crashed.compact(), (e) => isQuiverError(e, "storage_error"));
      const orphans = (await keysOf(inner, "docs")).filter((k) => !stored.includes(k));
      assert.equal(orphans.length, 2, "two records of the crashed save reached storage");
      const manifest = await inner.load("docs/manifest");
      assert.deepEqual(Collection.orphanChunks(manifest, await keysOf(inner, "docs")).sort(), orphans.sort());

      // A new process opens the store: the acknowledged state, nothing of the crashed save.
      const next = await VectorStore.open({ name: "docs", storage });
      const count = (await next.stats()).count;
      assert.equal(await next.get("doc-3000"), undefined);
      const expected = await answers(next);
      // Its first save deletes the orphans in the same batch as its manifest (or overwrites
      // them: its new records take the same fresh keys the crashed save had taken).
      await next.add([item(8000)]);
      await next.save();
      const batch = storage.saves.at(-1);
      assert.equal(batch.puts.at(-1), "docs/manifest", "the manifest is in the batch that deletes the orphans");
      for (const k of orphans) {
        const key = `docs/${k}`;
        assert.ok(batch.deletes.includes(key) !== batch.puts.includes(key), `${k} deleted or overwritten, not both`);
      }
      assert.ok(batch.deletes.some((k) => orphans.includes(k.slice(5))), "at least one orphan deleted");
      const remaining = await keysOf(inner, "docs");
      const live = Collection.requiredChunks(await inner.load("docs/manifest"));
      assert.deepEqual(Collection.orphanChunks(await inner.load("docs/manifest"), remaining), [], "no orphans remain");
      for (const k of live) assert.ok(remaining.includes(k), `live record ${k} kept`);

      const reopened = await VectorStore.open({ name: "docs", storage: inner });
      assert.equal((await reopened.stats()).count, count + 1);
      await next.delete("doc-8000");
      assert.deepEqual(await answers(next), expected);
      await reopened.close();
      await next.close();
      await crashed.close();
    } finally {
      cleanup();
    }
  });
}

test("a crash in the very first save leaves orphans that the next first save deletes", async () => {
  const inner = new MemoryStorage();
  const storage = new Crashy(inner);
  const store = await VectorStore.create({ name: "fresh", dimension: dim, storage });
  await store.add(range(0, 10_000).map((i) => item(i)));
  storage.crashAfter = 3;
  await assert.rejects(store.save(), (e) => isQuiverError(e, "storage_error"));
  await store.close();
  assert.equal(await inner.load("fresh/manifest"), undefined, "nothing committed");
  const leftovers = await keysOf(inner, "fresh");
  assert.equal(leftovers.length, 3);
  assert.deepEqual(Collection.orphanChunks(undefined, leftovers).sort(), leftovers.sort());

  // Another process creates the store again and saves a smaller one: its chunk keys start from
  // the same ids, so it overwrites some leftovers and deletes the rest — never its own records.
  const again = await VectorStore.open({ name: "fresh", dimension: dim, storage });
  await again.add(range(0, 10).map((i) => item(i)));
  await again.save();
  const keys = await keysOf(inner, "fresh");
  const live = Collection.requiredChunks(await inner.load("fresh/manifest"));
  assert.deepEqual(keys.sort(), [...live, "manifest"].sort());
  const reopened = await VectorStore.open({ name: "fresh", storage: inner });
  assert.equal((await reopened.stats()).count, 10);
  await reopened.close();
  await again.close();
});

// The Cloudflare template (quiver-vectors/cloudflare) in workerd via Miniflare: a router Worker
// plus 4 Durable Object shards, each keeping its store in Durable Object storage through
// DurableObjectStorageAdapter. Add, search (equal to one in-process store), tune the merged
// HNSW search through the router, restart Miniflare on the same persisted storage (every object
// evicted), search again: the same results, HNSW graphs and tuned defaults included. A shard
// written in the interim one-key-per-item layout is migrated on open. The shard config carries
// indexedFields (field indexes created in every shard) and keepVectors (a shard answering from
// its codes alone, equal to an in-process store created alike).
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { VectorStore, shardOf } = await import(new URL("pkg/dist/node.js", `file://${root}`).href);

function readVecs(name) {
  const bytes = readFileSync(join(root, "tests/fixtures/minilm-3k", name));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dim = view.getInt32(0, true);
  const rows = bytes.byteLength / (4 * (dim + 1));
  return Array.from({ length: rows }, (_, r) => Float32Array.from({ length: dim }, (_, j) => view.getFloat32(4 * (r * (dim + 1) + 1 + j), true)));
}

test("router + 4 Durable Object shards in Miniflare: add, search, tune, restart, same results", { timeout: 240_000 }, async (t) => {
  let Miniflare, esbuild;
  try {
    ({ Miniflare } = await import("miniflare"));
    esbuild = await import("esbuild");
  } catch {
    t.skip("miniflare or esbuild not installed");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "quiver-cf-"));
  // Disposed in `finally` too, so a failed assertion does not leave workerd (and the test) running.
  let mf;
  try {
    writeFileSync(
      join(dir, "worker.js"),
      `import { QuiverShard, createRouter } from ${JSON.stringify(join(root, "pkg/dist/cloudflare.js"))};
export { QuiverShard };
const docs = createRouter({ binding: "SHARDS", shards: 4, dimension: 384, name: "docs" });
// A second logical store on the same namespace: 4 HNSW shards (objects ann-0..ann-3), each
// indexing the metadata field "i" for filters.
const ann = createRouter({ binding: "SHARDS", shards: 4, dimension: 384, name: "ann", index: "HNSW16", seed: 7, indexedFields: ["i"] });
// A third: one SQ8 shard (SQ8 trains itself at 1,000 vectors) that drops its full vectors once
// trained (keepVectors: false).
const codes = createRouter({ binding: "SHARDS", shards: 1, dimension: 384, name: "codes", index: "SQ8", seed: 3, keepVectors: false });
// A shard object that can also write the interim layout (one "i:<id>" key per item) and list
// its raw keys, to test the migration and the storage layout.
export class LegacyShard extends QuiverShard {
  constructor(state, env) {
    super(state, env);
    this.raw = state.storage;
  }
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/seed-legacy") {
      const { config, records } = await request.json();
      await this.raw.put("config", config);
      await this.raw.put(records);
      return Response.json({ ok: true });
    }
    if (path === "/keys") return Response.json([...(await this.raw.list()).keys()]);
    return super.fetch(request);
  }
}
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/legacy/")) {
      return env.LEGACY.get(env.LEGACY.idFromName("old")).fetch(new Request(new URL(url.pathname.slice(7), url), request));
    }
    if (url.pathname.startsWith("/codes/")) return codes.fetch(new Request(new URL(url.pathname.slice(6), url), request), env);
    if (!url.pathname.startsWith("/ann/")) return docs.fetch(request, env);
    return ann.fetch(new Request(new URL(url.pathname.slice(4), url), request), env);
  },
};
`,
    );
    const wasm = [];
    await esbuild.build({
      entryPoints: [join(dir, "worker.js")],
      outfile: join(dir, "dist/worker.js"),
      bundle: true,
      format: "esm",
      platform: "neutral",
      conditions: ["workerd", "worker", "browser"],
      logLevel: "error",
      plugins: [{
        name: "wasm-module",
        setup(build) {
          // The lean and the full build, each its own module (as wrangler keeps them).
          build.onResolve({ filter: /\.wasm$/ }, (args) => {
            const name = `./${wasm.length}.wasm`;
            wasm.push({ source: join(args.resolveDir, args.path), name });
            return { path: name, external: true };
          });
        },
      }],
    });
    for (const { source, name } of wasm) cpSync(source, join(dir, "dist", name));

    const start = () =>
      new Miniflare({
        modules: true,
        scriptPath: join(dir, "dist/worker.js"),
        modulesRoot: join(dir, "dist"),
        modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
        compatibilityDate: "2025-01-01",
        durableObjects: { SHARDS: "QuiverShard", LEGACY: "LegacyShard" },
        durableObjectsPersist: join(dir, "do"),
      });
    const post = async (mf, op, body) => {
      const response = await mf.dispatchFetch(`http://router/${op}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
      const json = await response.json();
      return { status: response.status, json };
    };

    const base = readVecs("base.fvecs").slice(0, 1200);
    const queries = readVecs("query.fvecs").slice(0, 20);
    const items = base.map((vector, i) => ({ id: `doc-${i}`, vector: Array.from(vector), metadata: { i } }));
    const single = await VectorStore.create({ dimension: 384 });
    await single.add(items);

    mf = start();
    for (let i = 0; i < items.length; i += 300) {
      const r = await post(mf, "add", { items: items.slice(i, i + 300) });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
    const stats = (await post(mf, "stats")).json;
    assert.equal(stats.count, 1200);
    assert.deepEqual(stats.shards.map((s) => s.name), ["docs-0", "docs-1", "docs-2", "docs-3"]);
    assert.deepEqual(stats.shards.map((s) => s.indexedFields), [[], [], [], []]);
    assert.deepEqual(
      stats.shards.map((s) => s.count),
      [0, 1, 2, 3].map((n) => items.filter((it) => shardOf(it.id, 4) === n).length),
    );
    const search = async () => Promise.all(queries.map(async (q) => (await post(mf, "search", { vector: Array.from(q), k: 10 })).json));
    const before = await search();
    for (const [q, vector] of queries.entries()) {
      assert.deepEqual(before[q].hits, await single.search({ vector, k: 10 }), `query ${q}`);
      assert.equal(before[q].partial, false);
    }
    // Typed errors come back through the router, naming the shard.
    const dup = await post(mf, "add", { items: [items[3]] });
    assert.equal(dup.status, 400);
    assert.equal(dup.json.code, "duplicate_id");
    assert.equal(dup.json.shard, shardOf("doc-3", 4));
    assert.equal((await post(mf, "delete", { ids: ["doc-5"] })).json.deleted, 1);
    await single.delete("doc-5");
    const afterDelete = await search();

    // HNSW shards: tune the merged search through the router, then restart.
    for (let i = 0; i < items.length; i += 300) {
      const r = await post(mf, "ann/add", { items: items.slice(i, i + 300) });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
    assert.equal((await post(mf, "ann/delete", { ids: ["doc-9"] })).json.deleted, 1);
    const plainQueries = queries.map((q) => Array.from(q));
    const tuned = await post(mf, "ann/tune", { targetRecall: 0.995, k: 10, queries: plainQueries });
    assert.equal(tuned.status, 200, JSON.stringify(tuned.json));
    assert.equal(tuned.json.knob, "efSearch");
    assert.equal(tuned.json.reached, true);
    assert.ok(tuned.json.recall >= 0.995);
    console.log(`Durable Object HNSW16 x4, 1199 items: tune(0.995) -> efSearch ${tuned.json.value}, merged recall@10 ${tuned.json.recall}`);
    const measured = await post(mf, "ann/measureRecall", { k: 10, queries: plainQueries });
    assert.equal(measured.status, 200, JSON.stringify(measured.json));
    assert.equal(measured.json.recall, tuned.json.recall);
    const ann = async (params) => Promise.all(queries.map(async (q) => (await post(mf, "ann/search", { vector: Array.from(q), k: 10, params })).json));
    const annBefore = await ann(undefined);
    // The merged exact search through the router equals one in-process Flat store.
    const annFlat = await VectorStore.create({ dimension: 384 });
    await annFlat.add(items.filter((it) => it.id !== "doc-9"));
    const exact = await ann({ exact: true });
    for (const [q, vector] of queries.entries()) assert.deepEqual(exact[q].hits, await annFlat.search({ vector, k: 10 }), `exact, query ${q}`);
    // Filters through the router, answered from each shard's field index ("pre-filter" scores
    // exactly the matching items, so the merged hits equal the in-process exact filtered search).
    const filter = { i: { $lt: 150 } };
    const filtered = async () =>
      Promise.all(queries.map(async (q) => (await post(mf, "ann/search", { vector: Array.from(q), k: 10, filter, params: { filterStrategy: "pre-filter" } })).json));
    const filteredBefore = await filtered();
    for (const [q, vector] of queries.entries()) {
      assert.deepEqual(filteredBefore[q].hits, await annFlat.search({ vector, k: 10, filter }), `filtered, query ${q}`);
    }

    // keepVectors: false through the shard config: the shard drops its vectors once trained and
    // answers exactly as an in-process store created alike; get rejects with a typed error.
    const codesLocal = await VectorStore.create({ dimension: 384, index: "SQ8", seed: 3, keepVectors: false });
    for (let i = 0; i < items.length; i += 300) {
      const r = await post(mf, "codes/add", { items: items.slice(i, i + 300) });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      await codesLocal.add(items.slice(i, i + 300).map((it) => ({ ...it, vector: Float32Array.from(it.vector) })));
    }
    const codesStats = (await post(mf, "codes/stats")).json;
    assert.equal(codesStats.count, 1200);
    assert.deepEqual(codesStats.shards.map((s) => [s.keepVectors, s.memory.vectors]), [[false, 0]], "trained, vectors dropped");
    const codesGet = await post(mf, "codes/get", { id: "doc-7" });
    assert.deepEqual([codesGet.status, codesGet.json.code], [400, "unsupported"]);
    const codesSearch = async () => Promise.all(queries.map(async (q) => (await post(mf, "codes/search", { vector: Array.from(q), k: 10 })).json));
    const codesBefore = await codesSearch();
    for (const [q, vector] of queries.entries()) assert.deepEqual(codesBefore[q].hits, await codesLocal.search({ vector, k: 10 }), `codes, query ${q}`);

    await mf.dispose();
    mf = start();
    assert.deepEqual(await codesSearch(), codesBefore, "keepVectors: false shards reopen to the same answers");
    assert.deepEqual((await post(mf, "codes/stats")).json.shards.map((s) => s.keepVectors), [false]);
    const after = await search();
    assert.deepEqual(after, afterDelete, "same results after restarting Miniflare");
    assert.equal((await post(mf, "stats")).json.count, 1199);
    assert.equal((await post(mf, "get", { id: "doc-5" })).json.item, null);
    assert.deepEqual((await post(mf, "get", { id: "doc-7" })).json.item.vector, Array.from(await single.get("doc-7").then((it) => it.vector)));
    // HNSW shards reopen their saved graphs: identical answers, and the tuned default survives.
    assert.deepEqual(await ann(undefined), annBefore, "HNSW shards answer identically after a restart");
    assert.deepEqual(await ann({ exact: true }), exact);
    const annStats = (await post(mf, "ann/stats")).json;
    assert.equal(annStats.count, 1199);
    assert.deepEqual(annStats.shards.map((s) => s.searchDefaults.efSearch), [1, 2, 3, 4].map(() => tuned.json.value));
    assert.deepEqual(annStats.shards.map((s) => s.indexedFields), [["i"], ["i"], ["i"], ["i"]], "field indexes are created with the shards and saved");
    assert.deepEqual(await filtered(), filteredBefore);
    assert.equal((await post(mf, "ann/measureRecall", { k: 10, queries: plainQueries })).json.recall, tuned.json.recall);

    // A shard written by the interim template (one key per item) is migrated on open.
    const legacyItems = items.slice(0, 50);
    const records = Object.fromEntries(legacyItems.map((it) => [`i:${it.id}`, { v: it.vector, m: it.metadata }]));
    assert.equal((await post(mf, "legacy/seed-legacy", { config: { name: "old", dimension: 384 }, records })).status, 200);
    const legacyFlat = await VectorStore.create({ dimension: 384 });
    await legacyFlat.add(legacyItems);
    const migrated = await post(mf, "legacy/search", { vector: Array.from(queries[0]), k: 5 });
    assert.equal(migrated.status, 200, JSON.stringify(migrated.json));
    assert.deepEqual(migrated.json.hits, await legacyFlat.search({ vector: queries[0], k: 5 }));
    // The shard object's own recall and tuning routes (what DurableObjectShard calls).
    const own = await post(mf, "legacy/measureRecall", { k: 5, queries: plainQueries.slice(0, 3) });
    assert.deepEqual([own.status, own.json.recall, own.json.queries], [200, 1, 3]);
    const flatTune = await post(mf, "legacy/tune", { targetRecall: 0.9, k: 5, queries: plainQueries.slice(0, 3) });
    assert.deepEqual([flatTune.status, flatTune.json.code], [400, "unsupported"]);
    assert.deepEqual((await post(mf, "legacy/setSearchDefaults", { rerank: 4 })).json, { rerank: 4 });
    const keys = (await post(mf, "legacy/keys")).json;
    assert.ok(keys.includes("config") && keys.some((k) => k.startsWith("old/")), JSON.stringify(keys));
    assert.ok(!keys.some((k) => k.startsWith("i:")), "legacy keys are deleted after the migration");
    await mf.dispose();
    mf = start();
    const reopened = await post(mf, "legacy/search", { vector: Array.from(queries[0]), k: 5 });
    assert.deepEqual(reopened.json.hits, migrated.json.hits);
    assert.deepEqual((await post(mf, "legacy/stats")).json.searchDefaults, { rerank: 4 }, "saved by setSearchDefaults");
    await mf.dispose();
  } finally {
    await mf?.dispose().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});

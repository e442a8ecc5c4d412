// The Cloudflare template (quiver-vectors/cloudflare) in workerd via Miniflare: a router Worker
// plus 4 Durable Object shards. Add, search (equal to one in-process store), restart Miniflare
// on the same persisted storage, search again: the same results.
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

test("router + 4 Durable Object shards in Miniflare: add, search, restart, same results", { timeout: 240_000 }, async (t) => {
  let Miniflare, esbuild;
  try {
    ({ Miniflare } = await import("miniflare"));
    esbuild = await import("esbuild");
  } catch {
    t.skip("miniflare or esbuild not installed");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "quiver-cf-"));
  try {
    writeFileSync(
      join(dir, "worker.js"),
      `import { QuiverShard, createRouter } from ${JSON.stringify(join(root, "pkg/dist/cloudflare.js"))};
export { QuiverShard };
export default createRouter({ binding: "SHARDS", shards: 4, dimension: 384, name: "docs" });
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
          build.onResolve({ filter: /\.wasm$/ }, (args) => {
            wasm.push(join(args.resolveDir, args.path));
            return { path: "./quiver.wasm", external: true };
          });
        },
      }],
    });
    cpSync(wasm[0], join(dir, "dist/quiver.wasm"));

    const start = () =>
      new Miniflare({
        modules: true,
        scriptPath: join(dir, "dist/worker.js"),
        modulesRoot: join(dir, "dist"),
        modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
        compatibilityDate: "2025-01-01",
        durableObjects: { SHARDS: "QuiverShard" },
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

    let mf = start();
    for (let i = 0; i < items.length; i += 300) {
      const r = await post(mf, "add", { items: items.slice(i, i + 300) });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
    const stats = (await post(mf, "stats")).json;
    assert.equal(stats.count, 1200);
    assert.deepEqual(stats.shards.map((s) => s.name), ["docs-0", "docs-1", "docs-2", "docs-3"]);
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

    await mf.dispose();
    mf = start();
    const after = await search();
    assert.deepEqual(after, afterDelete, "same results after restarting Miniflare");
    assert.equal((await post(mf, "stats")).json.count, 1199);
    assert.equal((await post(mf, "get", { id: "doc-5" })).json.item, null);
    assert.deepEqual((await post(mf, "get", { id: "doc-7" })).json.item.vector, Array.from(await single.get("doc-7").then((it) => it.vector)));
    await mf.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

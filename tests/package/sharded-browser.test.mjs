// Headless Chromium, 2 real Web Worker shards (ShardedStore.withWorkers over the package's
// worker script): add the minilm-3k fixture, search, and compare with one in-page store.
// Then shards persisted in IndexedDB: save, reload the page, open, search again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

test("2 Worker shards in headless Chromium answer like one store", { timeout: 120_000 }, async (t) => {
  if (!existsSync(chromiumPath)) {
    t.skip(`no Chromium at ${chromiumPath}`);
    return;
  }
  const { chromium } = await import("playwright-core");
  const types = { ".js": "text/javascript", ".wasm": "application/wasm" };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path === "/") return res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>t</title>");
    const file = normalize(join(root, path));
    if (!file.startsWith(root) || !existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const result = await page.evaluate(async () => {
      const q = await import("/pkg/dist/browser.js");
      const buf = await (await fetch("/tests/fixtures/minilm-3k/base.fvecs")).arrayBuffer();
      const qbuf = await (await fetch("/tests/fixtures/minilm-3k/query.fvecs")).arrayBuffer();
      const rows = (b) => Array.from({ length: b.byteLength / (4 * 385) }, (_, r) => new Float32Array(b, 4 * (r * 385 + 1), 384).slice());
      const items = rows(buf).map((vector, i) => ({ id: `doc-${i}`, vector, metadata: { i } }));
      const queries = rows(qbuf).slice(0, 30);
      const single = await q.VectorStore.create({ dimension: 384 });
      await single.add(items);
      const store = await q.ShardedStore.withWorkers({ count: 2, workerUrl: "/pkg/dist/worker.js", dimension: 384, name: "docs" });
      await store.add(items);
      const stats = await store.stats();
      let equal = 0;
      for (const vector of queries) {
        const [a, b] = [await store.search({ vector, k: 10 }), await single.search({ vector, k: 10 })];
        if (JSON.stringify(a) === JSON.stringify(b)) equal++;
      }
      const got = await store.get("doc-42");
      await store.close();
      return { equal, total: queries.length, counts: stats.shards.map((s) => s.count), names: stats.shards.map((s) => s.name), got: got?.metadata };
    });
    assert.deepEqual(errors, []);
    assert.equal(result.equal, result.total, "every merged top-10 equals the single store's");
    assert.deepEqual(result.names, ["docs-0", "docs-1"]);
    assert.equal(result.counts[0] + result.counts[1], 3000);
    assert.ok(result.counts.every((c) => c > 1200), `routing spreads ids: ${result.counts}`);
    assert.deepEqual(result.got, { i: 42 });

    // Persisted Worker shards (IndexedDB, one store per shard): add, search, save, reload the
    // page, open the shards again, search again: the same results.
    const run = (mode) =>
      page.evaluate(async (mode) => {
        const q = await import("/pkg/dist/browser.js");
        const rows = (b) => Array.from({ length: b.byteLength / (4 * 385) }, (_, r) => new Float32Array(b, 4 * (r * 385 + 1), 384).slice());
        const queries = rows(await (await fetch("/tests/fixtures/minilm-3k/query.fvecs")).arrayBuffer()).slice(0, 20);
        const store = await q.ShardedStore.withWorkers({ count: 2, workerUrl: "/tests/package/pages/shard-idb-worker.js", dimension: 384, name: "persisted", mode });
        if (mode === "create") {
          const base = rows(await (await fetch("/tests/fixtures/minilm-3k/base.fvecs")).arrayBuffer());
          await store.add(base.map((vector, i) => ({ id: `doc-${i}`, vector })));
          await store.save();
        }
        const hits = [];
        for (const vector of queries) hits.push(await store.search({ vector, k: 10 }));
        const count = (await store.stats()).count;
        await store.close();
        return { hits: JSON.stringify(hits), count };
      }, mode);
    const before = await run("create");
    await page.reload();
    const after = await run("open");
    assert.equal(after.count, 3000);
    assert.equal(after.hits, before.hits, "same results after reloading the page");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});

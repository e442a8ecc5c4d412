// Sharding benchmark: search QPS in headless Chromium with 1 and 2 Web Worker shards
// (ShardedStore.withWorkers over the package's worker script), on the dev set
// (../shared/data/dev-minilm-20k or $QUIVER_DATA_DIR), Flat and HNSW32, k = 10.
// Also checks that 1 and 2 shards return the same Flat top-10, and reports the merge's cost.
// Usage: node bench/sharding.mjs [--base N] [--queries Q] [--index Flat,HNSW32]   (needs pkg/ built)
import { createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("../", import.meta.url));
const dataDir = process.env.QUIVER_DATA_DIR ?? join(root, "../shared/data/dev-minilm-20k");
if (!existsSync(join(dataDir, "base.fvecs"))) {
  console.log(`skipped: no dev set at ${dataDir} (set QUIVER_DATA_DIR)`);
  process.exit(0);
}
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const nBase = Number(arg("base", 20000));
const nQueries = Number(arg("queries", 200));
const indexes = arg("index", "Flat,HNSW32").split(",");

const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  if (path === "/") return res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>sharding bench</title>");
  const [dir, rel] = path.startsWith("/data/") ? [dataDir, path.slice(6)] : [root, path];
  const file = normalize(join(dir, rel));
  if (!file.startsWith(dir) || !existsSync(file)) return res.writeHead(404).end();
  res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
  res.end(readFileSync(file));
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(url);
  const result = await page.evaluate(async ({ nBase, nQueries, indexes }) => {
    const q = await import("/pkg/dist/browser.js");
    const fvecs = async (name, rows) => {
      const buf = await (await fetch(`/data/${name}`)).arrayBuffer();
      const view = new DataView(buf);
      const dim = view.getInt32(0, true);
      const total = buf.byteLength / (4 * (dim + 1));
      return Array.from({ length: Math.min(rows, total) }, (_, r) => new Float32Array(buf, 4 * (r * (dim + 1) + 1), dim).slice());
    };
    const base = await fvecs("base.fvecs", nBase);
    const queries = await fvecs("query.fvecs", nQueries);
    const items = base.map((vector, i) => ({ id: `d${i}`, vector }));
    const out = { cores: navigator.hardwareConcurrency, rows: [] };
    for (const index of indexes) {
      const answers = {};
      for (const count of [1, 2]) {
        const store = await q.ShardedStore.withWorkers({ count, workerUrl: "/pkg/dist/worker.js", dimension: 384, index, seed: 1 });
        let t = performance.now();
        await store.add(items);
        const addMs = performance.now() - t;
        const params = index.startsWith("HNSW") ? { efSearch: 64 } : undefined;
        for (const v of queries.slice(0, 20)) await store.search({ vector: v, k: 10, params }); // warm up
        // One query at a time: latency-bound QPS (what one user's search sees).
        t = performance.now();
        const hits = [];
        for (const v of queries) hits.push(await store.search({ vector: v, k: 10, params }));
        const serialMs = performance.now() - t;
        // 8 queries in flight: throughput-bound QPS.
        t = performance.now();
        let next = 0;
        await Promise.all(Array.from({ length: 8 }, async () => {
          while (next < queries.length) await store.search({ vector: queries[next++], k: 10, params });
        }));
        const concurrentMs = performance.now() - t;
        // The merge alone, on the per-shard lists of every query.
        const lists = await Promise.all(queries.map((v) => Promise.all(store.shards.map((s) => s.search({ vector: v, k: 10, params })))));
        t = performance.now();
        for (let rep = 0; rep < 10; rep++) for (const l of lists) q.mergeTopK(l, 10, "cosine");
        const mergeUs = ((performance.now() - t) * 1000) / (10 * lists.length);
        answers[count] = hits.map((h) => h.map((x) => x.id).join());
        out.rows.push({ index, shards: count, addS: addMs / 1000, serialQps: queries.length / (serialMs / 1000), concurrentQps: queries.length / (concurrentMs / 1000), mergeUs });
        await store.close();
      }
      if (index === "Flat") out.flatEqual = answers[1].every((a, i) => a === answers[2][i]);
    }
    return out;
  }, { nBase, nQueries, indexes });
  console.log(`headless Chromium, ${result.cores} logical cores, ${nBase} x 384 base, ${nQueries} queries, k=10 (HNSW efSearch 64)`);
  console.log("| index | worker shards | add (s) | QPS, 1 in flight | QPS, 8 in flight | merge (µs/query) |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const r of result.rows) {
    console.log(`| ${r.index} | ${r.shards} | ${r.addS.toFixed(1)} | ${r.serialQps.toFixed(0)} | ${r.concurrentQps.toFixed(0)} | ${r.mergeUs.toFixed(1)} |`);
  }
  if (result.flatEqual !== undefined) console.log(`Flat top-10 identical with 1 and 2 shards: ${result.flatEqual}`);
  if (result.flatEqual === false) process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
}

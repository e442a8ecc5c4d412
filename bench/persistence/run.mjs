// Persistence benchmark in headless Chromium (IndexedDB or OPFS): full save, incremental save
// after 1,000 inserts, open + first query, on the dev set (20k × 384) and on a 100k × 384 store.
//   node bench/persistence/run.mjs [--sizes 20000,100000] [--index Flat] [--durability strict]
//     [--storage idb,opfs]   (durability applies to IndexedDB only)
// Needs the built package (scripts/build-pkg.sh) and the dev set ($QUIVER_DATA_DIR or
// ../shared/data). Prints a Markdown table and writes bench/results/persistence.json.
import { createServer } from "node:http";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dataDir = join(process.env.QUIVER_DATA_DIR ?? join(root, "../shared/data"), "dev-minilm-20k");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const sizes = arg("sizes", "20000,100000").split(",").map(Number);
const indexes = arg("index", "Flat").split(",");
const durabilities = arg("durability", "strict").split(",");
const storages = arg("storage", "idb").split(",");

if (!existsSync(join(dataDir, "base.fvecs"))) {
  console.log(`SKIPPED: dev set not found at ${dataDir} (set QUIVER_DATA_DIR)`);
  process.exit(0);
}

const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const [dir, rel] = path.startsWith("/data/") ? [dataDir, path.slice(6)] : [root, path];
  const file = normalize(join(dir, rel));
  if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) return res.writeHead(404).end();
  res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "content-length": statSync(file).size });
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/bench/persistence/page.html`;

const profile = mkdtempSync(join(tmpdir(), "quiver-bench-persist-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking", "--js-flags=--max-old-space-size=8192"],
});
const results = [];
try {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { state: "attached", timeout: 60_000 });
  for (const storage of storages) {
    for (const index of indexes) {
      for (const durability of storage === "opfs" ? ["-"] : durabilities) {
        for (const n of sizes) {
          const r = await page.evaluate((o) => window.bench.run(o), { n, index, durability, storage, database: `bench-${index}-${durability}-${n}` });
          results.push(r);
          console.error(JSON.stringify(r));
        }
      }
    }
  }
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}

const mb = (b) => (b / 1048576).toFixed(1);
const ms = (x) => (x < 10 ? x.toFixed(1) : Math.round(x).toString());
console.log("| storage | store | index | durability | full save | incremental save (1k inserts) | incr / full | open (read + decode) | first query | open + first query |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of results) {
  console.log(
    `| ${r.storage} | ${r.n / 1000}k × ${r.dim} | ${r.index} | ${r.durability} | ${ms(r.fullMs)} ms (${mb(r.fullBytes)} MB, ${r.fullRecords} records) | ` +
      `${ms(r.incrementalMs)} ms (${mb(r.incrementalBytes)} MB, ${r.incrementalRecords} records) | ${((100 * r.incrementalMs) / r.fullMs).toFixed(1)}% time, ${((100 * r.incrementalBytes) / r.fullBytes).toFixed(1)}% bytes | ` +
      `${ms(r.openMs)} ms (${ms(r.readMs)} + ${ms(r.decodeMs)}) | ${ms(r.firstQueryMs)} ms | ${ms(r.openAndQueryMs)} ms |`,
  );
}
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/persistence.json"), JSON.stringify({ date: new Date().toISOString(), chromium: context.browser?.()?.version?.(), results }, null, 2));

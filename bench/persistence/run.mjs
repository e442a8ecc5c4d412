// Persistence benchmark in headless Chromium (IndexedDB): full save, incremental save after
// 1,000 inserts, open + first query, on the dev set (20k × 384) and on a 100k × 384 store.
//   node bench/persistence/run.mjs [--sizes 20000,100000] [--index Flat] [--durability strict]
//                                  [--cold-opens 3] [--profile DIR [--open-only]]
// [--port P] --profile keeps the browser profile (and the stores in it) in DIR; --open-only then measures
// only the cold opens of stores an earlier run saved there, e.g. on a machine made quiet for it.
// Needs the built package (scripts/build-pkg.sh) and the dev set ($QUIVER_DATA_DIR or
// ../shared/data). Prints a Markdown table and writes bench/results/persistence.json.
import { createServer } from "node:http";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
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
// Specs contain commas ("HNSW16,SQ8"): an encoding token joins the structure before it.
const indexes = arg("index", "Flat")
  .split(",")
  .reduce((out, t) => (/^(SQ8|BIN|PQ\d+)$/i.test(t) && out.length > 0 && !/^(SQ8|BIN|PQ\d+)$|,/i.test(out[out.length - 1]) ? [...out.slice(0, -1), `${out[out.length - 1]},${t}`] : [...out, t]), []);
const durabilities = arg("durability", "strict").split(",");
// Each cold open relaunches Chromium on the same profile: a fresh wasm instance and a fresh
// IndexedDB backing store, like a user's first visit after a restart.
const coldOpens = Number(arg("cold-opens", "3"));
// --breakdown N: N more cold launches per mode ("stream,loaded" unless --modes says otherwise)
// that time each phase of an open (page.js coldBreakdown).
const breakdowns = Number(arg("breakdown", "0"));
const modes = arg("modes", "stream,loaded").split(",");
// --cpu-profile: sample the renderer's main thread during each breakdown open and print the
// functions with the most self time (a build with wasm names shows Rust functions).
const cpuProfile = process.argv.includes("--cpu-profile");
// CPU time (ms) used so far by this machine's Chromium processes, by process type (Linux).
const chromiumCpu = () => {
  const procs = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      procs.push({ pid, ppid: f[1], cmd, ms: ((Number(f[11]) + Number(f[12])) * 1000) / 100 });
    } catch {
      // The process ended.
    }
  }
  // The browser (its command line names the profile) and its descendants.
  const mine = new Set(procs.filter((p) => p.cmd.includes(profile) && !p.cmd.includes("--type=")).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!mine.has(p.pid) && mine.has(p.ppid)) (mine.add(p.pid), (grew = true));
  }
  const out = {};
  for (const p of procs.filter((p) => mine.has(p.pid))) {
    const type = /--type=([a-z-]+)/.exec(p.cmd)?.[1] ?? "browser";
    out[type] = (out[type] ?? 0) + p.ms;
  }
  return out;
};
const selfTimes = (profile) => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const name = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}`;
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return Object.fromEntries([...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => [k, Math.round(v)]));
};

if (!existsSync(join(dataDir, "base.fvecs"))) {
  console.log(`SKIPPED: dev set not found at ${dataDir} (set QUIVER_DATA_DIR)`);
  process.exit(0);
}

const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
// QUIVER_BENCH_PKG=DIR serves another build of the package as /pkg/ (before/after comparisons).
const pkgDir = process.env.QUIVER_BENCH_PKG;
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const [dir, rel] = path.startsWith("/data/") ? [dataDir, path.slice(6)] : pkgDir && path.startsWith("/pkg/") ? [pkgDir, path.slice(5)] : [root, path];
  const file = normalize(join(dir, rel));
  if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) return res.writeHead(404).end();
  res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "content-length": statSync(file).size });
  createReadStream(file).pipe(res);
});
// IndexedDB is per origin, port included: a kept profile needs the same port every run.
const port = Number(arg("port", process.argv.includes("--profile") ? "47321" : "0"));
await new Promise((r) => server.listen(port, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/bench/persistence/page.html`;

const keptProfile = arg("profile", undefined);
const openOnly = process.argv.includes("--open-only");
const profile = keptProfile ?? mkdtempSync(join(tmpdir(), "quiver-bench-persist-"));
const launch = () =>
  chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking", "--js-flags=--max-old-space-size=8192"],
  });
const openPage = async (context) => {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { state: "attached", timeout: 60_000 });
  return page;
};
let context = await launch();
let chromiumVersion;
const results = [];
try {
  chromiumVersion = context.browser()?.version();
  for (const index of indexes) {
    for (const durability of durabilities) {
      for (const n of sizes) {
        const database = `bench-${index}-${durability}-${n}`;
        let r = { n, dim: 384, index, durability, database };
        if (!openOnly) {
          const page = await openPage(context);
          r = await page.evaluate((o) => window.bench.run(o), { n, index, durability, database });
          await page.close();
        }
        const cold = [];
        for (let c = 0; c < coldOpens; c++) {
          await context.close();
          context = await launch();
          const coldPage = await openPage(context);
          cold.push(await coldPage.evaluate((o) => window.bench.coldOpen(o), { database, durability, r: c }));
          await coldPage.close();
        }
        if (coldOpens > 0 && !process.argv.includes("--no-split")) {
          // One more cold launch, split into reading IndexedDB and decoding in the core.
          await context.close();
          context = await launch();
          const splitPage = await openPage(context);
          r.coldSplit = await splitPage.evaluate((o) => window.bench.coldProfileOpen(o), { database });
          await splitPage.close();
        }
        r.breakdown = [];
        for (let b = 0; b < breakdowns; b++) {
          for (const mode of modes) {
            await context.close();
            context = await launch();
            const page = await openPage(context);
            // Main-thread busy time of the renderer over the open (CDP Performance metrics).
            const cdp = await context.newCDPSession(page);
            await cdp.send("Performance.enable");
            const metrics = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
            const m0 = await metrics();
            if (cpuProfile) {
              await cdp.send("Profiler.enable");
              await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
              await cdp.send("Profiler.start");
            }
            const c0 = chromiumCpu();
            const x = await page.evaluate((o) => window.bench.coldBreakdown(o), { database, mode, r: b });
            const m1 = await metrics();
            const c1 = chromiumCpu();
            x.cpuMs = Object.fromEntries(Object.keys(c1).map((k) => [k, c1[k] - (c0[k] ?? 0)]));
            x.mainThreadBusyMs = 1000 * (m1.TaskDuration - m0.TaskDuration);
            if (cpuProfile) x.selfMs = selfTimes((await cdp.send("Profiler.stop")).profile);
            x.scriptMs = 1000 * (m1.ScriptDuration - m0.ScriptDuration);
            r.breakdown.push(x);
            console.error(JSON.stringify(x));
            await page.close();
          }
        }
        if (cold.length > 0) {
          const sorted = cold.map((x) => x.totalMs).sort((a, b) => a - b);
          r.coldOpenAndQueryMs = sorted[Math.floor(sorted.length / 2)];
          r.coldOpenAndQueryAllMs = cold.map((x) => x.totalMs);
          r.coldFirstQueryMs = cold.map((x) => x.queryMs);
        }
        results.push(r);
        console.error(JSON.stringify(r));
      }
    }
  }
} finally {
  await context.close();
  server.close();
  if (keptProfile === undefined) rmSync(profile, { recursive: true, force: true });
}

const x0 = (xs) => xs[0];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (b) => (b / 1048576).toFixed(1);
const ms = (x) => (x < 10 ? x.toFixed(1) : Math.round(x).toString());
console.log("| store | index | durability | full save | incremental save (1k inserts) | incr / full | open (read + decode) | first query | open + first query | cold open + first query | … with 1k logged inserts |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of results) {
  for (const mode of modes) {
    const xs = r.breakdown.filter((x) => x.mode === mode);
    if (xs.length === 0) continue;
    const med = (f) => ms(median(xs.map(f)));
    console.log(
      `| ${r.n / 1000}k × ${r.dim} ${r.index} breakdown, ${mode} (median of ${xs.length}) | manifest ${med((x) => x.manifestAt)} | grow heap ${med((x) => x.prepareMs)} | last record at ${med((x) => x.lastRecordAt)} | ` +
        `on-arrival work ${x0(xs).acceptMs === undefined ? "–" : med((x) => x.acceptMs)} | decode ${med((x) => x.decodeMs)} | query ${med((x) => x.queryMs)} | total ${med((x) => x.totalMs)} (runs ${xs.map((x) => ms(x.totalMs)).join(", ")}) | wasm memory ${med((x) => x.wasmMemoryMB ?? 0)} MB | main thread busy ${med((x) => x.mainThreadBusyMs)} (script ${med((x) => x.scriptMs)}) | CPU ms ${Object.keys(xs[0].cpuMs).map((k) => `${k} ${med((x) => x.cpuMs[k] ?? 0)}`).join(", ")} |`,
    );
  }
  if (openOnly) {
    if (r.coldOpenAndQueryMs === undefined) continue;
    console.log(`| ${r.n / 1000}k × ${r.dim} | ${r.index} | ${r.durability} | cold open + first query ${ms(r.coldOpenAndQueryMs)} ms (runs: ${r.coldOpenAndQueryAllMs.map(ms).join(", ")})${r.coldSplit ? `; cold split: read ${ms(r.coldSplit.readMs)} + decode ${ms(r.coldSplit.decodeMs)} ms` : ""} |`);
    continue;
  }
  console.log(
    `| ${r.n / 1000}k × ${r.dim} | ${r.index} | ${r.durability} | ${ms(r.fullMs)} ms (${mb(r.fullBytes)} MB, ${r.fullRecords} records) | ` +
      `${ms(r.incrementalMs)} ms (${mb(r.incrementalBytes)} MB, ${r.incrementalRecords} records) | ${((100 * r.incrementalMs) / r.fullMs).toFixed(1)}% time, ${((100 * r.incrementalBytes) / r.fullBytes).toFixed(1)}% bytes | ` +
      `${ms(r.openMs)} ms (${ms(r.readMs)} + ${ms(r.decodeMs)}) | ${ms(r.firstQueryMs)} ms | ${ms(r.openAndQueryMs)} ms | ${r.coldOpenAndQueryMs === undefined ? "–" : `${ms(r.coldOpenAndQueryMs)} ms`} | ${ms(r.openWithLogMs)} ms |`,
  );
}
mkdirSync(join(root, "bench/results"), { recursive: true });
if (!openOnly) writeFileSync(join(root, "bench/results/persistence.json"), JSON.stringify({ date: new Date().toISOString(), chromium: chromiumVersion, results }, null, 2));

// The scale benchmark's cold row in headless Chromium (issue 22, part 2): a dedicated Worker
// builds an IVF-PQ store with coldVectors in OPFS (synchronous access handles) from the grown
// dev set (the data of bench/scale.mjs), saves it; the browser is closed, relaunched on the
// same profile, and a fresh Worker reopens the store and searches. Reports build and save time,
// open and first-result time, recall@10 against the cached ground truth of bench/scale.mjs,
// p50/p99, QPS, the store's bytes, the wasm memory and the renderer process's memory (its
// proportional set size from Linux /proc; the worker runs in it).
//
//   bash scripts/build-pkg.sh
//   node bench/scale-browser.mjs [--n 1m] [--index IVF1024,PQ48] [--queries 200] [--knobs rerank=150]
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../scripts/serve.mjs";
import { argParser } from "./lib/args.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const { option } = argParser(process.argv.slice(2));
const parseSize = (t) => Math.round(Number(/^[\d.]+/.exec(t)[0]) * ({ k: 1e3, m: 1e6 }[t.slice(-1).toLowerCase()] ?? 1));
const n = parseSize(option("--n", "1m"));
const index = option("--index", "IVF1024,PQ48");
const nQueries = Number(option("--queries", "200"));
const spread = Number(option("--spread", "0.6"));
const knobsText = option("--knobs", "rerank=150");
const dataDir = option("--data", `${root}../shared/data/dev-minilm-20k`);
const params = Object.fromEntries(knobsText.split(",").filter(Boolean).map((p) => [p.split("=")[0], Number(p.split("=")[1])]));
const MiB = 1024 * 1024;

if (!existsSync(`${dataDir}/base.fvecs`)) {
  console.log(`browser scale benchmark skipped: no dev set at ${dataDir}`);
  process.exit(0);
}
const cache = `${root}bench/results/cache/scale`;
const truthPath = `${cache}/truth-n${n}-q${nQueries}-spread${spread}.ivecs`;
if (!existsSync(truthPath)) {
  mkdirSync(cache, { recursive: true });
  execFileSync(process.execPath, ["--max-old-space-size=16384", `${root}bench/scale.mjs`, "--child-truth", "--n", String(n), "--queries", String(nQueries), "--spread", String(spread), "--out", truthPath, "--data", dataDir], { stdio: ["ignore", "inherit", "inherit"] });
}
// The page can only fetch what the server serves: copy the inputs under the repo.
const served = `${cache}/browser`;
mkdirSync(served, { recursive: true });
for (const f of ["base.fvecs", "query.fvecs"]) copyFileSync(`${dataDir}/${f}`, `${served}/${f}`);
copyFileSync(truthPath, `${served}/truth.ivecs`);

/**
 * Memory of the Chromium renderer processes not in `known` (the page's, which runs the worker):
 * the proportional set size (`Pss` in /proc/<pid>/smaps_rollup), so that pages shared with other
 * Chromium processes (code, fonts, ICU data) count once across them rather than in full.
 */
function rendererResident(known) {
  let total = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p) && !known.has(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--type=renderer")) continue;
      total += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0) * 1024;
    } catch {
      // Gone in between.
    }
  }
  return total;
}
const pids = () => new Set(readdirSync("/proc").filter((p) => /^\d+$/.test(p)));

const { server, url } = await serve(root, 0);
const profile = mkdtempSync(join(tmpdir(), "quiver-scale-browser-"));
const args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];
const launch = () => chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args });
const message = { n, spread, index, queries: nQueries, params, data: "/bench/results/cache/scale/browser", truth: "/bench/results/cache/scale/browser/truth.ivecs" };

async function phase(name) {
  const before = pids();
  const context = await launch();
  try {
    const page = await context.newPage();
    page.on("console", (m) => console.error(`[${name}] ${m.text()}`));
    await page.goto(`${url}bench/browser/scale.html`);
    await page.waitForSelector("body[data-ready=true]", { state: "attached" });
    const out = await page.evaluate((m) => window.runPhase(m), { ...message, phase: name });
    if (out.error) throw new Error(`${name}: ${out.error}`);
    return { ...out.result, rendererBytes: rendererResident(before) };
  } finally {
    await context.close();
  }
}

try {
  console.error(`[build] ${n} vectors, ${index}, coldVectors in OPFS…`);
  const built = await phase("build");
  const reopened = await phase("query");
  const idle = await phase("idle");
  console.log(`\nChromium ${index} with coldVectors in OPFS (dedicated Worker), ${n.toLocaleString("en")} vectors, ${nQueries} queries, knobs ${knobsText}\n`);
  console.log("| build s | save s | open s | first result s | recall@10 | p50 ms | p99 ms | QPS | stats().memoryBytes | wasm memory | renderer PSS (reopened) | renderer PSS (build) | renderer PSS (idle worker) |");
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  const mib = (b) => `${(b / MiB).toFixed(0)} MiB`;
  console.log(`| ${built.buildSeconds.toFixed(1)} | ${built.saveSeconds.toFixed(1)} | ${reopened.openSeconds.toFixed(2)} | ${reopened.firstResultSeconds.toFixed(2)} | ${reopened.recall.toFixed(3)} | ${reopened.p50.toFixed(2)} | ${reopened.p99.toFixed(2)} | ${reopened.qps.toFixed(0)} | ${mib(reopened.memoryBytes)} | ${mib(reopened.wasmBytes)} | ${mib(reopened.rendererBytes)} | ${mib(built.rendererBytes)} | ${mib(idle.rendererBytes)} |`);
} finally {
  server.close();
  rmSync(profile, { recursive: true, force: true });
}

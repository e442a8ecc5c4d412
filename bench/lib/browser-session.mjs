// One benchmark session in headless Chromium: `node bench/lib/browser-session.mjs '<job json>'`.
//
// Same job, same records (`@@bench {json}` lines on stdout) as bench/lib/session.mjs, with
// `runtime: "chromium"`. Serves the repository with scripts/serve.mjs (the prepared dataset is
// routed in under /__data/), opens bench/browser/page.html in a fresh headless Chromium (the
// flags of tests/package/browser-persist.test.mjs), builds each entry in the page, warms up,
// then runs interleaved rounds of passes, each a page.evaluate of one full pass over the queries.
//
// Timers: the page is served cross-origin isolated (COOP/COEP headers added by a route), so
// performance.now() has 5 us resolution instead of 100 us. CPU time: Chromium's
// `Performance.getMetrics` (CDP) ThreadTime of the page's main thread, read before and after each
// pass: like process.cpuUsage() in Node, it leaves out time spent waiting for a core.
// Memory: the JS heap growth over the build (performance.memory) when the library reports none.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "../../scripts/serve.mjs";
import { chromiumArgs, executablePath } from "./chromium.mjs";
import { median, quantile } from "./stats.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const job = JSON.parse(process.argv[2]);
const MARKER = "@@bench ";
const emit = (record) => process.stdout.write(`${MARKER}${JSON.stringify(record)}\n`);
const log = (...a) => console.error(`[${job.label ?? "chromium"}]`, ...a);

function skipAll(reason) {
  for (const entry of job.entries) emit({ kind: "skipped", entry: entry.id, library: entry.library ?? entry.adapter, reason });
}

let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch (error) {
  skipAll(`load: playwright-core: ${error.message}`);
  process.exit(0);
}
if (!existsSync(executablePath)) {
  skipAll(`load: no Chromium at ${executablePath} (set CHROMIUM)`);
  process.exit(0);
}

const { server, url } = await serve(root, 0);
const browser = await chromium.launch({ executablePath, args: chromiumArgs });
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.error(`[page] ${m.text()}`));
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  await page.route("**/__data/*", (route) => {
    const name = new URL(route.request().url()).pathname.split("/").pop();
    if (!["base.fvecs", "query.fvecs", "groundtruth.ivecs"].includes(name)) return route.fulfill({ status: 404 });
    return route.fulfill({ path: join(job.dataDir, name), contentType: "application/octet-stream" });
  });
  // Cross-origin isolation for 5 us timers: COOP/COEP on the page, CORP on same-origin files.
  // (Routes registered later take precedence: hand the dataset back to the route above.)
  await page.route(`${url}**`, async (route) => {
    if (new URL(route.request().url()).pathname.startsWith("/__data/")) return route.fallback();
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" } });
  });
  await page.goto(`${url}bench/browser/page.html`);
  await page.waitForFunction(() => window.benchReady === true);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable", { timeDomain: "threadTicks" });
  const threadMs = async () => {
    const { metrics } = await cdp.send("Performance.getMetrics");
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
    return (m.ThreadTime ?? NaN) * 1000;
  };
  const info = await page.evaluate((j) => window.bench.load(j), job);
  log(`loaded ${info.rows} x ${info.dim}, ${info.nq} queries; crossOriginIsolated=${info.crossOriginIsolated}; ${info.userAgent}`);
  const version = browser.version();

  const entries = [];
  for (const entry of job.entries) {
    const built = await page.evaluate((e) => window.bench.add(e), entry);
    if (built.skipped) {
      log(`${entry.id}: ${built.skipped}`);
      emit({ kind: "skipped", entry: entry.id, library: entry.library ?? entry.adapter, reason: built.skipped, build: entry.build });
      continue;
    }
    log(`${entry.id}: built in ${built.buildMs.toFixed(0)} ms`);
    const configs = entry.search ?? [{}];
    entries.push({ entry, built, configs, results: configs.map(() => ({ p50: [], p99: [], qps: [], cpu: [], recall: null })) });
  }
  for (const e of entries) await page.evaluate((i) => window.bench.warm(i), e.built.index);

  const runs = entries.length ? job.runs ?? 5 : 0;
  for (let round = 0; round < runs; round++) {
    for (const e of entries) {
      for (let c = 0; c < e.configs.length; c++) {
        const cpu0 = await threadMs();
        const { times, totalMs, recall } = await page.evaluate(([i, cc]) => window.bench.pass(i, cc), [e.built.index, c]);
        const cpuMs = (await threadMs()) - cpu0;
        const r = e.results[c];
        r.cpu.push(cpuMs / info.nq);
        r.p50.push(median(times));
        r.p99.push(quantile(times, 0.99));
        r.qps.push((info.nq * 1000) / totalMs);
        r.recall ??= recall;
      }
    }
    log(`round ${round + 1}/${runs} done`);
  }
  for (const e of entries) {
    e.configs.forEach((config, c) => {
      const r = e.results[c];
      emit({
        kind: "result", entry: e.entry.id, library: e.built.library, version: e.built.version, variant: e.entry.options?.variant ?? null,
        build: e.entry.build ?? {}, search: config.params ?? {}, mode: "single", label: config.label ?? null,
        recall: r.recall, p50Ms: median(r.p50), p99Ms: median(r.p99), qps: median(r.qps), cpuMsPerQuery: median(r.cpu),
        runsP50Ms: r.p50, buildMs: e.built.buildMs, memory: e.built.memory,
        wasmFiles: e.built.wasmFiles.map((f) => join(root, f)), browser: `Chromium ${version}`, timerIsolated: info.crossOriginIsolated,
      });
    });
  }
  emit({ kind: "session", nq: info.nq, k: job.k, dim: info.dim, rows: info.rows, runs, browser: `Chromium ${version}`, crossOriginIsolated: info.crossOriginIsolated });
} finally {
  await browser.close();
  server.close();
}

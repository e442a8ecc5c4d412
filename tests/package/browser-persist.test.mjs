// Persistence in headless Chromium with IndexedDB (the page: tests/package/pages/):
//   - round trips for every metric, with incremental saves and reopen after each;
//   - crash safety: a writer that saves step after step is killed with SIGKILL (the whole
//     browser, process group and all) at a random moment, over QUIVER_CRASH_ROUNDS rounds
//     (default 20); the same profile is reopened and must hold every acknowledged step, the
//     step in flight entirely or not at all, nothing else, and answer exactly as a store
//     rebuilt from the recovered items;
//   - a full quota (CDP Storage.overrideQuotaForOrigin, random incompressible vectors): saves
//     commit fully or fail with `quota_exceeded`, and the store stays readable;
//   - two tabs writing the same store at once lose no update.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";
import { crashStep } from "./pages/crash-plan.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const chromiumArgs = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run", "--disable-quic",
];
let server;
let pageUrl;
const profiles = [];

before(async () => {
  ({ server, url: pageUrl } = await serve(root, 0));
  pageUrl += "tests/package/pages/persist.html";
});

after(() => {
  server?.close();
  for (const p of profiles) rmSync(p, { recursive: true, force: true });
});

function profile() {
  const dir = mkdtempSync(join(tmpdir(), "quiver-idb-"));
  profiles.push(dir);
  return dir;
}

async function openHarness(context) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(pageUrl);
  await page.waitForSelector("body[data-ready=true]", { state: "attached", timeout: 60_000 });
  return { page, errors };
}

const persistent = (dir) => chromium.launchPersistentContext(dir, { executablePath, args: chromiumArgs });

test("IndexedDB: round trips for every metric, incremental saves and reopens", async () => {
  const context = await persistent(profile());
  try {
    const { page, errors } = await openHarness(context);
    const report = await page.evaluate(() => window.harness.roundTrip("quiver-rt"));
    for (const metric of ["cosine", "l2", "dot"]) {
      assert.deepEqual(report[metric], { same: true, count: 3000 + 250 - 5, moved: { moved: 4 } }, JSON.stringify(report));
    }
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

/** Starts a Chromium we own (so we can SIGKILL it) on `dir`, connected over CDP. */
async function spawnChromium(dir) {
  const proc = spawn(executablePath, [...chromiumArgs, `--user-data-dir=${dir}`, "--remote-debugging-port=0", "about:blank"], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const endpoint = await new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${text}`)), 30_000);
    proc.stderr.on("data", (chunk) => {
      text += chunk;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", () => reject(new Error(`Chromium exited: ${text}`)));
  });
  const browser = await chromium.connectOverCDP(endpoint);
  const exited = new Promise((resolve) => proc.on("exit", resolve));
  return { proc, browser, context: browser.contexts()[0], exited };
}

function kill(proc) {
  try {
    process.kill(-proc.pid, "SIGKILL");
  } catch {
    proc.kill("SIGKILL");
  }
}

test("crash: SIGKILL of the browser at random points never loses an acknowledged save", { timeout: 900_000 }, async () => {
  const rounds = Number(process.env.QUIVER_CRASH_ROUNDS ?? 20);
  const baseSeed = Number(process.env.QUIVER_CRASH_SEED ?? Date.now() % 100_000);
  const dir = profile();
  /** id → present, as established after each recovery. */
  const model = new Set();
  const candidates = new Set();
  let totalAcked = 0;
  let inFlightCommitted = 0;
  for (let round = 0; round < rounds; round++) {
    const seed = baseSeed + round;
    const base = round * 100_000;
    const context = `round ${round} (QUIVER_CRASH_SEED=${baseSeed})`;
    let lastAck = -1;
    const writer = await spawnChromium(dir);
    try {
      const { page } = await openHarness(writer.context);
      page.on("console", (msg) => {
        const m = /^ack (\d+) (\d+)$/.exec(msg.text());
        if (m && Number(m[1]) === base) lastAck = Math.max(lastAck, Number(m[2]));
      });
      page.evaluate(([s, b]) => window.harness.writer(s, b, "strict"), [seed, base]).catch(() => undefined);
      // Kill at a random moment: early (during the first full save) to late.
      const delay = 50 + ((seed * 2654435761) >>> 0) % 1500;
      await new Promise((r) => setTimeout(r, delay));
    } finally {
      kill(writer.proc);
      await writer.exited;
      await writer.browser.close().catch(() => undefined);
    }
    // What must hold: the store is the state after some prefix of the steps that includes every
    // acknowledged one. (Acknowledgements reach this process through console messages, so the
    // last few may be lost with the browser: later steps may be committed too, but only whole
    // and in order.)
    for (let step = 0; step <= lastAck; step++) {
      const { added, deleted } = crashStep(seed, base, step);
      for (const i of added) model.add(i);
      for (const i of deleted) model.delete(i);
      for (const i of added) candidates.add(i);
    }
    const LOOKAHEAD = 40;
    const later = Array.from({ length: LOOKAHEAD }, (_, k) => crashStep(seed, base, lastAck + 1 + k));
    for (const step of later) for (const i of step.added) candidates.add(i);
    totalAcked += lastAck + 1;

    const checker = await spawnChromium(dir);
    try {
      const { page } = await openHarness(checker.context);
      const result = await page.evaluate((c) => window.harness.recover(c), [...candidates]);
      assert.equal(result.error, undefined, `${context}: the store does not open: ${result.error}`);
      const present = new Set(result.present);
      const state = new Set(model);
      const same = () => state.size === present.size && [...state].every((i) => present.has(i));
      let matched = same() ? 0 : -1;
      for (let k = 0; matched < 0 && k < LOOKAHEAD; k++) {
        for (const i of later[k].added) state.add(i);
        for (const i of later[k].deleted) state.delete(i);
        if (same()) matched = k + 1;
      }
      if (matched < 0) {
        const lost = [...model].filter((i) => !present.has(i));
        assert.fail(`${context}: the store is not the state after any prefix of the steps (last ack ${lastAck}; acknowledged items missing: ${JSON.stringify(lost.slice(0, 10))}; ${present.size} present, ${model.size} expected at least)`);
      }
      // Adopt the recovered state (the steps found committed) for the following rounds.
      model.clear();
      for (const i of state) model.add(i);
      inFlightCommitted += matched;
      for (const step of later.slice(matched)) for (const i of step.added) candidates.delete(i);
      assert.equal(result.count, model.size, `${context}: items outside the plan`);
      assert.equal(result.wrongVector, 0, `${context}: vectors changed`);
      assert.ok(result.equal, `${context}: answers differ from a rebuild`);
    } finally {
      await checker.browser.close().catch(() => undefined);
      kill(checker.proc);
      await checker.exited;
    }
  }
  console.log(`crash test: ${rounds} rounds, ${totalAcked} acknowledged saves, ${inFlightCommitted} unreported saves found committed, ${model.size} items at the end (QUIVER_CRASH_SEED=${baseSeed})`);
  assert.ok(totalAcked > rounds, "the writer made progress");
});

test("quota: saves commit fully or fail with quota_exceeded, and the store stays readable", async () => {
  const context = await persistent(profile());
  try {
    const { page, errors } = await openHarness(context);
    const cdp = await context.newCDPSession(page);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(pageUrl).origin, quotaSize: 6 * 1024 * 1024 });
    const r = await page.evaluate(() => window.harness.fillUntilQuota(400));
    assert.equal(r.code, "quota_exceeded", JSON.stringify(r));
    assert.ok(r.acked > 0, JSON.stringify(r));
    assert.equal(r.reopenedCount, r.acked, "the stored store is the last acknowledged one");
    assert.ok(r.hasFirst && r.hasLastAcked && !r.hasFirstUnacked, JSON.stringify(r));
    assert.equal(r.stillUnsaved, r.attempted, "unsaved changes stay in memory");
    assert.ok(r.foundUnsaved);
    assert.deepEqual(errors, []);
    console.log(`quota test: ${r.acked} items saved, then ${JSON.stringify(r.log)}`);
  } finally {
    await context.close();
  }
});

test("two tabs writing one store at once lose no update", async () => {
  const context = await persistent(profile());
  try {
    const a = await openHarness(context);
    const b = await openHarness(context);
    const rounds = 40;
    const [countA, countB] = await Promise.all([
      a.page.evaluate((n) => window.harness.tabWriter("a", n), rounds),
      b.page.evaluate((n) => window.harness.tabWriter("b", n), rounds),
    ]);
    const report = await a.page.evaluate((n) => window.harness.tabReport(n), rounds);
    assert.deepEqual(report.missing, [], "lost updates");
    assert.deepEqual(report.resurrected, [], "lost deletes");
    // 2 × 40 own items, 6 deleted per tab, plus the shared one.
    assert.equal(report.count, 2 * rounds - 12 + 1);
    assert.equal(report.shared.r, rounds - 1, "the shared item holds a last write");
    assert.ok(countA > 0 && countB > 0);
    assert.deepEqual([...a.errors, ...b.errors], []);
  } finally {
    await context.close();
  }
});

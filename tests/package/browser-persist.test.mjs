// Persistence in headless Chromium with IndexedDB (the page: tests/package/pages/):
//   - round trips for every metric, with incremental saves and reopen after each;
//   - crash safety (tests/package/crash-harness.mjs): a writer that saves step after step is
//     killed at a random moment, over QUIVER_CRASH_ROUNDS rounds (default 25), the kill modes of
//     QUIVER_CRASH_MODES (comma-separated; default all five) in turn: SIGKILL of the whole
//     browser, CDP Page.crash, CDP Browser.crash, worker.terminate() of a writer in a Web
//     Worker, and an aborted IndexedDB commit; the same profile is reopened and must hold every
//     acknowledged step, the step in flight entirely or not at all, nothing else, and answer
//     exactly as a store rebuilt from the recovered items. Rounds where Chromium itself found
//     its IndexedDB corrupt and deleted it are counted apart (see docs/storage.md);
//   - a full quota (CDP Storage.overrideQuotaForOrigin, random incompressible vectors): saves
//     commit fully or fail with `quota_exceeded`, and the store stays readable;
//   - two tabs writing the same store at once lose no update;
//   - a damaged record stops an open (`corrupt`) as it arrives, an abort too, store unchanged.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";
import { CRASH_MODES, crashRounds, modeSummary, parseModes } from "./crash-harness.mjs";

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

test("IndexedDB: a damaged record fails the open with corrupt as it arrives, an abort stops it, and neither changes the store", async () => {
  const context = await persistent(profile());
  try {
    const { page, errors } = await openHarness(context);
    const r = await page.evaluate(() => window.harness.damagedRecord("quiver-dmg"));
    assert.ok(r.records >= 3, JSON.stringify(r));
    assert.equal(r.damaged, "corrupt", JSON.stringify(r));
    assert.ok(r.deliveredBeforeStop < r.records, `the reads stopped at the damaged record: ${JSON.stringify(r)}`);
    assert.equal(r.unchangedAfterCorrupt, true);
    assert.equal(r.aborted, "AbortError", JSON.stringify(r));
    assert.ok(r.deliveredBeforeAbort < r.records, JSON.stringify(r));
    assert.equal(r.unchangedAfterAbort, true);
    assert.equal(r.sameAnswers, true);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

const crashRoundCount = Number(process.env.QUIVER_CRASH_ROUNDS ?? 25);
const crashModes = parseModes(process.env.QUIVER_CRASH_MODES, CRASH_MODES);

test(`crash: ${crashModes.join(", ")} at random points never lose an acknowledged save`, { timeout: Math.max(900_000, crashRoundCount * 60_000) }, async () => {
  const rounds = crashRoundCount;
  const baseSeed = Number(process.env.QUIVER_CRASH_SEED ?? Date.now() % 100_000);
  const r = await crashRounds({ executablePath, chromiumArgs, pageUrl, dir: profile(), rounds, baseSeed, backend: "indexeddb", modes: crashModes });
  for (const line of modeSummary(r)) console.log(line);
  console.log(
    `crash test: ${rounds} rounds, ${r.totalAcked} acknowledged saves, ${r.inFlightCommitted} unreported saves found committed, ` +
      `${r.browserResets} browser resets (Chromium deleted its corrupt IndexedDB), ${r.items} items at the end (QUIVER_CRASH_SEED=${baseSeed}, QUIVER_CRASH_MODES=${crashModes.join(",")})`,
  );
  assert.ok(r.totalAcked > rounds, "the writer made progress");
  // A reset in most rounds would leave nothing verified; Chromium resets far less often.
  assert.ok(r.browserResets <= Math.max(2, rounds / 4), `${r.browserResets} browser resets in ${rounds} rounds`);
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

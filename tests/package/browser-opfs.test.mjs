// OPFSStorage in headless Chromium (the page: tests/package/pages/opfs.html):
//   - the adapter alone: escaped keys, loadRange order, exact bytes, deletes, swap files and
//     empty files ignored, an empty manifest read as no store;
//   - round trips for every metric, with incremental saves and a reopen after each;
//   - a dedicated worker saves and reopens, and the window opens what it saved;
//   - a full quota (CDP Storage.overrideQuotaForOrigin): saves commit fully or fail with
//     `quota_exceeded`, and the store stays readable;
//   - two tabs writing the same store at once lose no update;
//   - crash safety (tests/package/crash-harness.mjs, the loop of the IndexedDB crash test, on
//     the page pages/persist.html with the `opfs` backend): the whole browser is SIGKILLed at a
//     random moment over QUIVER_CRASH_ROUNDS rounds (default 20; other kill modes with
//     QUIVER_OPFS_CRASH_MODES, e.g. `sigkill,page-crash,browser-crash,worker-terminate`); every acknowledged save must
//     survive, except in rounds where Chromium's own OPFS directory database (a LevelDB) dropped
//     entries after the kill, which are counted apart (see crash-harness.mjs, docs/storage.md);
//   - in Node, where there is no OPFS, the adapter rejects with `unsupported`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";
import { crashRounds, modeSummary, parseModes } from "./crash-harness.mjs";

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
  pageUrl += "tests/package/pages/opfs.html";
});

after(() => {
  server?.close();
  for (const p of profiles) rmSync(p, { recursive: true, force: true });
});

function profile() {
  const dir = mkdtempSync(join(tmpdir(), "quiver-opfs-"));
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

test("OPFS adapter: escaped keys, sorted ranges, exact bytes, deletes, swap and empty files ignored", async () => {
  const context = await persistent(profile());
  try {
    const { page, errors } = await openHarness(context);
    const r = await page.evaluate(() => window.harness.adapterChecks("quiver-adapter"));
    assert.deepEqual(r.rangeKeys, r.expectedKeys, JSON.stringify(r));
    assert.ok(r.exactBytes, "bytes of views stored exactly");
    assert.equal(r.loadMissing, undefined);
    assert.deepEqual(r.afterDelete, r.expectedKeys.filter((k) => k !== "s/Upper").concat("s/new").sort());
    assert.deepEqual(r.manifest, [9, 9]);
    assert.ok(r.removed);
    assert.deepEqual(r.withSwap, r.afterDelete.filter((k) => k !== "s/new"));
    assert.equal(r.emptyLoad, undefined, "an empty file is no record");
    assert.deepEqual(r.withEmpty, r.withSwap);
    assert.equal(r.emptyManifestStore, 1, "an empty manifest is no store: open creates one");
    // No file name we write has a dot, so swap files (and `.`/`..`) cannot be mistaken for keys.
    assert.deepEqual(r.files.filter((n) => n.includes(".")), ["s%2Fmanifest.crswap"], JSON.stringify(r.files));
    assert.deepEqual(r.badOptions, ["invalid_argument", "invalid_argument", "invalid_argument", "invalid_argument"]);
    assert.equal(r.scope, "opfs:quiver-adapter");
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("OPFS: round trips for every metric, incremental saves and reopens", async () => {
  const context = await persistent(profile());
  try {
    const { page, errors } = await openHarness(context);
    const report = await page.evaluate(() => window.harness.roundTrip("quiver-rt"));
    for (const metric of ["cosine", "l2", "dot"]) {
      assert.deepEqual(report[metric], { same: true, count: 3000 + 250 - 5, moved: { moved: 4 } }, JSON.stringify(report));
    }
    console.log(`OPFS round trip: ${report.files} files for 3 stores after 6 saves each`);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("OPFS in a dedicated worker: saves there open in the window", async () => {
  const context = await persistent(profile());
  try {
    const { page, errors } = await openHarness(context);
    const r = await page.evaluate(() => window.harness.inWorker("quiver-worker"));
    assert.deepEqual(r, { count: 500, late: { worker: true }, nearest: "w3" });
    const fromWindow = await page.evaluate(() => window.harness.inspect("w", "quiver-worker", "w0"));
    assert.deepEqual(fromWindow, { count: 500, gone: true });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("OPFS quota: saves commit fully or fail with quota_exceeded, and the store stays readable", async () => {
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
    console.log(`OPFS quota test: ${r.acked} items saved, then ${JSON.stringify(r.log)}`);
  } finally {
    await context.close();
  }
});

test("OPFS: two tabs writing one store at once lose no update", async () => {
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
    assert.equal(report.count, 2 * rounds - 12 + 1);
    assert.equal(report.shared.r, rounds - 1, "the shared item holds a last write");
    assert.ok(countA > 0 && countB > 0);
    assert.deepEqual([...a.errors, ...b.errors], []);
  } finally {
    await context.close();
  }
});

const crashRoundCount = Number(process.env.QUIVER_CRASH_ROUNDS ?? 20);
// SIGKILL by default; page-crash, browser-crash and worker-terminate work here too
// (abort-commit aborts IndexedDB transactions, so not).
const opfsCrashModes = parseModes(process.env.QUIVER_OPFS_CRASH_MODES, ["sigkill"]);

test("OPFS crash: SIGKILL of the browser at random points never loses an acknowledged save", { timeout: Math.max(900_000, crashRoundCount * 60_000) }, async () => {
  const rounds = crashRoundCount;
  const baseSeed = Number(process.env.QUIVER_CRASH_SEED ?? Date.now() % 100_000);
  const crashPage = new URL("persist.html", pageUrl).href;
  const r = await crashRounds({ executablePath, chromiumArgs, pageUrl: crashPage, dir: profile(), rounds, baseSeed, backend: "opfs", modes: opfsCrashModes });
  for (const line of modeSummary(r)) console.log(`OPFS ${line}`);
  console.log(
    `OPFS crash test: ${rounds} rounds, ${r.totalAcked} acknowledged saves, ${r.inFlightCommitted} unreported saves found committed, ` +
      `${r.fileSystemLosses} file-system losses (Chromium's OPFS directory database dropped entries), ${r.browserResets} IndexedDB resets, ` +
      `${r.items} items at the end (QUIVER_CRASH_SEED=${baseSeed})`,
  );
  assert.ok(r.totalAcked > rounds, "the writer made progress");
  assert.equal(r.browserResets, 0, "no IndexedDB in use, so no IndexedDB reset");
  // A loss in most rounds would leave nothing verified; Chromium loses entries far less often.
  assert.ok(r.fileSystemLosses <= Math.max(2, rounds / 4), `${r.fileSystemLosses} file-system losses in ${rounds} rounds`);
});

test("OPFSStorage in Node (no OPFS) rejects with unsupported", async () => {
  const { OPFSStorage, isQuiverError } = await import("../../pkg/dist/node.js");
  const storage = new OPFSStorage();
  assert.equal(storage.coordinationScope, "opfs:quiver");
  await assert.rejects(storage.load("a/manifest"), (e) => isQuiverError(e, "unsupported"));
  await assert.rejects(storage.saveBatch([{ key: "a/manifest", bytes: Uint8Array.of(1) }], []), (e) => isQuiverError(e, "unsupported"));
});

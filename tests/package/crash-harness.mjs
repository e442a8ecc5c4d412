// The crash test, shared by the storage backends that persist in a browser profile
// (tests/package/browser-persist.test.mjs runs it over IndexedDB, browser-opfs.test.mjs over
// OPFS, scripts/crash-test.sh at scale).
//
// Each round runs the page's `writer` (which saves step after step and logs `ack <base> <step>`)
// in a Chromium we own on one profile, stops it at a random moment in the round's kill mode
// (CRASH_MODES below: SIGKILL of the whole browser, Page.crash, Browser.crash,
// worker.terminate(), an aborted IndexedDB commit), then a page — of a new Chromium on the same
// profile if the browser died — runs `recover`. The recovered store must be the state after some prefix of the steps that includes
// every acknowledged one, and answer exactly as a store rebuilt from the recovered items.
//
// One outcome is not Quiver's to prevent: Chromium sometimes finds its own IndexedDB LevelDB
// corrupt after the kill and deletes the origin's whole IndexedDB ("IndexedDB recovering from
// a corrupted (and deleted) database" in its log; crbug.com/146284). Such a round is counted as
// a browser reset: the store must then be cleanly absent (no error, no stray items), and the
// model starts again from empty. Anything else that disagrees with the model fails the test.
//
// OPFS has its own version of that (tests/package/browser-opfs.test.mjs): Chromium keeps the
// Origin Private File System's directory tree in a LevelDB too (`File System/<n>/t/Paths`),
// opens it ignoring corruption, and, when it finds a damaged log record after a kill, drops the
// rest of that 32 KB log block ("(ignoring error) … dropping N bytes; Corruption: checksum
// mismatch" in that LevelDB's LOG) — every file created or renamed in it vanishes, silently.
// A round whose store disagrees with the model after such a LOG line is counted as a file-system
// loss; the store is then removed (`harness.wipe`) and the model starts again from empty.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { crashStep } from "./pages/crash-plan.js";

/** What Chromium logs when it deleted a corrupt IndexedDB backing store. */
const BROWSER_RESET = /recovering from a corrupted \(and deleted\) database/;
/** What LevelDB logs when it skipped damaged records while recovering its log. */
const LEVELDB_DROP = /dropping \d+ bytes; Corruption/;

/** The LOG files of the profile's OPFS directory databases (one per storage bucket). */
function fileSystemLogs(dir) {
  const root = join(dir, "Default", "File System");
  const out = [];
  try {
    for (const entry of readdirSync(root)) {
      const log = join(root, entry, "t", "Paths", "LOG");
      try {
        out.push({ path: log, text: readFileSync(log, "utf8") });
      } catch {
        // No file system for this bucket yet.
      }
    }
  } catch {
    // No OPFS in this profile yet.
  }
  return out;
}

/**
 * Watches the OPFS directory databases' LOGs for records dropped at a new place. LevelDB
 * rewrites LOG on every open, and reports the same damage again at every open until it
 * compacts the log, so a drop counts once: by its text without the timestamp.
 */
function fileSystemDropWatcher(dir) {
  const seen = new Set();
  return () => {
    const dropped = [];
    for (const { path, text } of fileSystemLogs(dir)) {
      for (const line of text.split("\n").filter((l) => LEVELDB_DROP.test(l))) {
        const what = `${path}: ${line.replace(/^\S+ \S+ /, "")}`;
        if (seen.has(what)) continue;
        seen.add(what);
        dropped.push(line);
      }
    }
    return dropped;
  };
}

/** Starts a Chromium we own (so we can SIGKILL it) on `dir`, connected over CDP. */
async function spawnChromium(executablePath, chromiumArgs, dir) {
  const args = [...chromiumArgs, "--enable-logging=stderr", "--log-level=0", `--user-data-dir=${dir}`, "--remote-debugging-port=0", "about:blank"];
  const proc = spawn(executablePath, args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  // Chromium's storage-related log lines, for failure reports and to recognise browser resets.
  const log = [];
  const endpoint = await new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${text}`)), 30_000);
    proc.stderr.on("data", (chunk) => {
      text += chunk;
      log.push(...String(chunk).split("\n").filter((l) => /indexed|leveldb|corrupt|backing|file ?system/i.test(l)));
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
  return { proc, browser, context: browser.contexts()[0], exited, log };
}

function kill(proc) {
  try {
    process.kill(-proc.pid, "SIGKILL");
  } catch {
    proc.kill("SIGKILL");
  }
}

/** The profile's IndexedDB files and the tail of LevelDB's own LOG, for failure reports. */
function storageReport(dir) {
  const root = join(dir, "Default", "IndexedDB");
  const lines = fileSystemLogs(dir).flatMap(({ path, text }) => [path, ...text.trim().split("\n").slice(-6)]);
  try {
    for (const entry of readdirSync(root)) {
      const files = readdirSync(join(root, entry));
      lines.push(`${entry}: ${files.join(" ")}`);
      if (files.includes("LOG")) lines.push(...readFileSync(join(root, entry, "LOG"), "utf8").trim().split("\n").slice(-15));
    }
  } catch (error) {
    lines.push(String(error));
  }
  return lines.join("\n");
}

async function openHarness(context, pageUrl) {
  const page = await context.newPage();
  await page.goto(pageUrl);
  await page.waitForSelector("body[data-ready=true]", { state: "attached", timeout: 60_000 });
  return page;
}

/**
 * The kill modes, in round-robin order:
 * - `sigkill`: SIGKILL of the whole browser (process group) at a random moment;
 * - `page-crash`: CDP `Page.crash` of the writer's renderer at a random moment; the browser
 *   lives on, and a new page of it checks;
 * - `browser-crash`: CDP `Browser.crash` (the browser process crashes on its main thread) at a
 *   random moment; then whatever is left of the process group is SIGKILLed;
 * - `worker-terminate`: the store lives in a dedicated Web Worker (`serveWorker` behind
 *   `WorkerVectorStore`) and the page calls `worker.terminate()` at a random moment; a new page
 *   checks;
 * - `abort-commit` (IndexedDB only): the IndexedDB transaction of a save chosen at random is
 *   aborted at a random point (before or after any of its requests succeeded, never after
 *   the commit); the save must reject, and the store must then hold exactly the acknowledged
 *   steps (or, when the writer saved again after the abort, the aborted step too).
 * A browser that survives its round's kill serves the next round, so only `sigkill` and
 * `browser-crash` rounds start a new Chromium.
 */
export const CRASH_MODES = ["sigkill", "page-crash", "browser-crash", "worker-terminate", "abort-commit"];

/** Parses a comma-separated list of kill modes (`all` for every one). */
export function parseModes(text, fallback) {
  if (!text) return fallback;
  const modes = text === "all" ? CRASH_MODES : text.split(",").map((m) => m.trim()).filter(Boolean);
  for (const m of modes) if (!CRASH_MODES.includes(m)) throw new Error(`unknown crash mode ${m} (known: ${CRASH_MODES.join(", ")})`);
  if (modes.length === 0) throw new Error("no crash mode given");
  return modes;
}

/** A deterministic 32-bit hash of the round's seed and a salt, for its random choices. */
function roll(seed, salt) {
  let h = Math.imul(seed ^ Math.imul(salt + 1, 0x85ebca6b), 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

/** Resolves `promise`, or rejects with `message` after `ms` (without keeping the process alive). */
async function within(promise, ms, message) {
  let timer;
  try {
    return await Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills the browser's process group and waits for it. */
async function killBrowser(b) {
  kill(b.proc);
  await b.exited;
  await b.browser.close().catch(() => undefined);
  // Chromium's crash handler (chrome_crashpad_handler, in a process group of its own, so not
  // killed above) inherits stderr and can hold the pipe open for half a minute after a crash,
  // which would keep this process alive.
  b.proc.stderr?.destroy();
}

/**
 * Runs `rounds` crash rounds on the profile `dir`, round `r` in kill mode
 * `modes[r % modes.length]`. `backend` is passed to the page's
 * `harness.writer(seed, base, backend)`, `harness.recover(candidates, backend)` and
 * `harness.wipe(backend)`. Returns `{ totalAcked, inFlightCommitted, browserResets,
 * fileSystemLosses, items, modes }`, `modes` holding per kill mode `{ rounds, acked,
 * inFlightCommitted, browserResets, fileSystemLosses, abortedSaves, ms }`.
 */
export async function crashRounds({ executablePath, chromiumArgs, pageUrl, dir, rounds, baseSeed, backend, modes = ["sigkill"] }) {
  for (const m of modes) if (!CRASH_MODES.includes(m)) throw new Error(`unknown crash mode ${m}`);
  if (backend !== "indexeddb" && modes.includes("abort-commit")) throw new Error("abort-commit aborts IndexedDB transactions: IndexedDB backend only");
  /** Items present, as established after each recovery. */
  const model = new Set();
  const candidates = new Set();
  let totalAcked = 0;
  let inFlightCommitted = 0;
  let browserResets = 0;
  let fileSystemLosses = 0;
  const perMode = Object.fromEntries(
    modes.map((m) => [m, { rounds: 0, acked: 0, inFlightCommitted: 0, browserResets: 0, fileSystemLosses: 0, abortedSaves: 0, ms: 0 }]),
  );
  const fileSystemDrops = fileSystemDropWatcher(dir);
  /** The live Chromium on the profile, if any: it serves rounds until a round kills it. */
  let live;
  try {
    for (let round = 0; round < rounds; round++) {
      const mode = modes[round % modes.length];
      const stats = perMode[mode];
      const started = Date.now();
      const seed = baseSeed + round;
      const base = round * 100_000;
      const context = `${backend} ${mode} round ${round} (QUIVER_CRASH_SEED=${baseSeed}, QUIVER_CRASH_MODES=${modes.join(",")})`;
      let lastAck = -1;
      let openedCount;
      /** Whether the writer's outcome is known exactly (no step may be found beyond lastAck). */
      let exact = false;
      live ??= await spawnChromium(executablePath, chromiumArgs, dir);
      const writer = live;
      const writerMark = writer.log.length;
      // Kill at a random moment: early (during the first save) to late.
      const delay = 50 + (((seed * 2654435761) >>> 0) % 1500);
      const page = await openHarness(writer.context, pageUrl);
      page.on("console", (msg) => {
        const m = /^(ack|opened) (\d+) (\d+)$/.exec(msg.text());
        if (!m || Number(m[2]) !== base) return;
        if (m[1] === "ack") lastAck = Math.max(lastAck, Number(m[3]));
        else openedCount = Number(m[3]);
      });
      if (mode === "sigkill" || mode === "browser-crash") {
        try {
          page.evaluate(([s, b, k]) => window.harness.writer(s, b, k), [seed, base, backend]).catch(() => undefined);
          const cdp = mode === "browser-crash" ? await writer.browser.newBrowserCDPSession() : undefined;
          await new Promise((r) => setTimeout(r, delay));
          if (cdp) {
            cdp.send("Browser.crash").catch(() => undefined);
            // The browser process dies; its helpers notice, or are killed below.
            await within(writer.exited, 10_000, "").catch(() => undefined);
          }
        } finally {
          live = undefined;
          await killBrowser(writer);
        }
      } else if (mode === "page-crash") {
        const cdp = await writer.context.newCDPSession(page);
        page.evaluate(([s, b, k]) => window.harness.writer(s, b, k), [seed, base, backend]).catch(() => undefined);
        await new Promise((r) => setTimeout(r, delay));
        const crashed = new Promise((r) => page.once("crash", r));
        cdp.send("Page.crash").catch(() => undefined);
        await within(crashed, 30_000, `${context}: Page.crash did not crash the page`);
        await page.close().catch(() => undefined);
      } else if (mode === "worker-terminate") {
        // Counted from the moment the worker's store is open (the page logs `opened`).
        const r = await page.evaluate(([s, b, k, d]) => window.harness.workerWriter(s, b, k, d), [seed, base, backend, delay]);
        assert.equal(r.failure, undefined, `${context}: the worker's writer failed before it was terminated`);
        lastAck = Math.max(lastAck, r.lastAck);
        await page.close();
      } else {
        // abort-commit: abort the save of a step in 0..11, at a random point of its transaction.
        const abort = { step: roll(seed, 1) % 12, after: roll(seed, 2), retry: roll(seed, 3) % 2 === 1 };
        const r = await page.evaluate(([s, b, k, a]) => window.harness.writer(s, b, k, a), [seed, base, backend, abort]);
        assert.equal(r.error, undefined, `${context}: ${r.error}`);
        assert.equal(r.code, "storage_error", `${context}: an aborted save must reject with storage_error, got ${r.code}`);
        lastAck = Math.max(lastAck, r.lastAck);
        assert.equal(lastAck, r.retried ? r.step : r.step - 1, `${context}: acknowledgements around the aborted save`);
        stats.abortedSaves++;
        const where = r.at === 0 ? "beforeAnyRequest" : r.at === r.requests ? "afterLastRequest" : "partWay";
        stats.abortPoints ??= { beforeAnyRequest: 0, partWay: 0, afterLastRequest: 0, retried: 0 };
        stats.abortPoints[where]++;
        if (r.retried) stats.abortPoints.retried++;
        exact = true;
        await page.close();
      }
      const writerLog = writer.log.slice(writerMark);
      const dropped = fileSystemDrops();
      const writerReset = writerLog.some((l) => BROWSER_RESET.test(l));
      if (writerReset) {
        // The browser dropped everything before the writer read it.
        browserResets++;
        stats.browserResets++;
        console.log(`${context}: browser reset when the writer opened the profile (${model.size} items dropped by Chromium)`);
        model.clear();
      }
      // The writer must have found the state the last check verified; less means the store
      // vanished between two browser sessions without the browser saying so.
      if (openedCount !== undefined && openedCount !== model.size) {
        assert.fail(`${context}: the writer opened ${openedCount} items, the last check verified ${model.size}\nChromium log:\n${writerLog.join("\n")}\n${storageReport(dir)}`);
      }
      // Acknowledgements reach this process through console messages, so the last few may be
      // lost with the browser: later steps may be committed too, but only whole and in order.
      for (let step = 0; step <= lastAck; step++) {
        const { added, deleted } = crashStep(seed, base, step);
        for (const i of added) model.add(i);
        for (const i of deleted) model.delete(i);
        for (const i of added) candidates.add(i);
      }
      const LOOKAHEAD = exact ? 1 : 40;
      const later = Array.from({ length: LOOKAHEAD }, (_, k) => crashStep(seed, base, lastAck + 1 + k));
      for (const step of later) for (const i of step.added) candidates.add(i);
      totalAcked += lastAck + 1;
      stats.acked += lastAck + 1;
      stats.rounds++;

      live ??= await spawnChromium(executablePath, chromiumArgs, dir);
      const checker = live;
      const checkerMark = checker.log.length;
      const checkPage = await openHarness(checker.context, pageUrl);
      try {
        const result = await checkPage.evaluate(([c, k]) => window.harness.recover(c, k), [[...candidates], backend]);
        dropped.push(...fileSystemDrops());
        const checkerLog = checker.log.slice(checkerMark);
        if (checkerLog.some((l) => BROWSER_RESET.test(l))) {
          // Reset while the checker opened the profile: the store must be cleanly absent.
          browserResets++;
          stats.browserResets++;
          console.log(`${context}: browser reset when the checker opened the profile`);
          assert.equal(result.error, undefined, `${context}: after a browser reset the store does not open cleanly: ${result.error}`);
          assert.equal(result.count, 0, `${context}: items survived a browser reset`);
          model.clear();
          continue;
        }
        const present = new Set(result.present);
        const state = new Set(model);
        const same = () => state.size === present.size && [...state].every((i) => present.has(i));
        let matched = same() ? 0 : -1;
        // After an aborted commit the outcome is known: nothing beyond the acknowledged steps.
        for (let k = 0; matched < 0 && !exact && k < LOOKAHEAD; k++) {
          for (const i of later[k].added) state.add(i);
          for (const i of later[k].deleted) state.delete(i);
          if (same()) matched = k + 1;
        }
        if (backend === "opfs" && (result.error !== undefined || matched < 0) && dropped.length > 0) {
          // Chromium's OPFS directory database dropped entries (see the top of this file).
          fileSystemLosses++;
          stats.fileSystemLosses++;
          console.log(`${context}: file-system loss: ${result.error ?? `${present.size} items present, ${model.size} expected`} after\n${dropped.join("\n")}`);
          await checkPage.evaluate((k) => window.harness.wipe(k), backend);
          model.clear();
          continue;
        }
        assert.equal(result.error, undefined, `${context}: the store does not open: ${result.error}\n${storageReport(dir)}`);
        if (matched < 0) {
          const lost = [...model].filter((i) => !present.has(i));
          const extra = [...present].filter((i) => !model.has(i));
          assert.fail(
            `${context}: the store is not the state after ${exact ? "exactly the acknowledged steps" : "any prefix of the steps"} (last ack ${lastAck}; acknowledged items missing: ${JSON.stringify(lost.slice(0, 10))}; unacknowledged present: ${JSON.stringify(extra.slice(0, 10))}; ${present.size} present, ${model.size} expected at least; the writer opened ${openedCount})\nChromium log:\n${[...writerLog, ...checkerLog].join("\n")}\n${storageReport(dir)}`,
          );
        }
        // Adopt the recovered state (the steps found committed) for the following rounds.
        model.clear();
        for (const i of state) model.add(i);
        inFlightCommitted += matched;
        stats.inFlightCommitted += matched;
        for (const step of later.slice(matched)) for (const i of step.added) candidates.delete(i);
        assert.equal(result.count, model.size, `${context}: items outside the plan`);
        assert.equal(result.wrongVector, 0, `${context}: vectors changed`);
        assert.ok(result.equal, `${context}: answers differ from a rebuild`);
      } finally {
        await checkPage.close().catch(() => undefined);
        stats.ms += Date.now() - started;
      }
    }
  } finally {
    if (live) {
      await live.browser.close().catch(() => undefined);
      await killBrowser(live);
    }
  }
  return { totalAcked, inFlightCommitted, browserResets, fileSystemLosses, items: model.size, modes: perMode };
}

/**
 * One line per kill mode, in the format scripts/crash-test.sh parses, then where the aborted
 * commits were aborted (a line of its own, which the script passes through).
 */
export function modeSummary(r) {
  const lines = Object.entries(r.modes).map(
    ([mode, m]) =>
      `crash mode ${mode}: ${m.rounds} rounds, ${m.acked} acknowledged saves, 0 lost, 0 failed opens, ` +
      `${m.inFlightCommitted} unreported saves found committed, ${m.browserResets} browser resets, ` +
      `${m.fileSystemLosses} file-system losses, ${m.abortedSaves} aborted saves, ${m.ms} ms`,
  );
  const a = r.modes["abort-commit"]?.abortPoints;
  if (a) {
    lines.push(
      `crash aborts: ${a.beforeAnyRequest} before any request of the save succeeded, ${a.partWay} part way, ` +
        `${a.afterLastRequest} after its last request (before the commit); ${a.retried} saved again successfully after the abort`,
    );
  }
  return lines;
}

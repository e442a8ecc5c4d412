// coldVectors in headless Chromium (the page: tests/package/pages/cold.html): IVF16,PQ48 over
// the 3k fixture with its full vectors in OPFS (a dedicated worker: synchronous access
// handles) or IndexedDB (worker and window) answers exactly as the same store keeping them in
// memory, before and after a save and reopen; in a window, OPFS rejects with `unsupported`; a
// full quota stops a cold write with `quota_exceeded` and the store keeps every acknowledged add.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const chromiumArgs = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run", "--disable-quic",
];
let server;
let pageUrl;
let context;
let profile;

before(async () => {
  ({ server, url: pageUrl } = await serve(root, 0));
  pageUrl += "tests/package/pages/cold.html";
  profile = mkdtempSync(join(tmpdir(), "quiver-cold-"));
  context = await chromium.launchPersistentContext(profile, { executablePath, args: chromiumArgs });
});

after(async () => {
  await context?.close();
  server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function openHarness() {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(pageUrl);
  await page.waitForSelector("body[data-ready=true]", { state: "attached", timeout: 60_000 });
  return { page, errors };
}

for (const [backend, where] of [
  ["opfs", "worker"],
  ["indexeddb", "worker"],
  ["indexeddb", "window"],
]) {
  test(`cold vectors in ${backend}, in a ${where}, answer as vectors in memory`, async () => {
    const { page, errors } = await openHarness();
    const r = await page.evaluate(
      ([b, w]) => (w === "worker" ? window.harness.inWorker(b, `${b}-${w}`) : window.harness.compare(b, `${b}-${w}`)),
      [backend, where],
    );
    assert.equal(r.error, undefined, r.error);
    assert.ok(r.same, "same answers as with the vectors in memory");
    assert.ok(r.sameReopened, "same answers after save and reopen");
    assert.equal(r.vectorsInMemory, 0);
    assert.ok(r.rowsRead > 0);
    assert.match(r.location, backend === "opfs" ? /^OPFS cold-opfs-worker\/.*\.rows$/ : /cold-vectors/);
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test("cold vectors in OPFS from a window reject with unsupported", async () => {
  const { page } = await openHarness();
  const r = await page.evaluate(() => window.harness.compare("opfs", "opfs-window"));
  assert.match(r.error, /^unsupported: .*Worker/);
  await page.close();
});

test("a full OPFS quota stops a cold write with quota_exceeded and keeps every acknowledged add", async () => {
  const { page } = await openHarness();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(pageUrl).origin, quotaSize: 40 * 1024 * 1024 });
  try {
    const r = await page.evaluate(() => window.harness.quotaInWorker("quota"));
    assert.equal(r.code, "quota_exceeded", JSON.stringify(r));
    assert.ok(r.added >= 3000, `added ${r.added} before the quota`);
    assert.equal(r.count, r.added, "the store holds exactly the acknowledged adds");
    assert.equal(r.hits, 3);
  } finally {
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(pageUrl).origin });
    await page.close();
  }
});

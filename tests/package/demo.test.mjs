// The demo page, built from the packed package, loads in headless Chromium, indexes the
// embedded corpus and shows the exact top result for the first example query.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
export const chromiumArgs = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run", "--disable-quic",
];

test("demo answers the first example query with the exact top result", async () => {
  const { server, url } = await serve(join(root, "www/dist"), 0);
  const profile = mkdtempSync(join(tmpdir(), "quiver-demo-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: chromiumArgs,
  });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
    await page.waitForSelector("#results li");
    const firstId = await page.$eval("#results li", (li) => li.dataset.id);
    const truth = readFileSync(join(root, "tests/fixtures/minilm-3k/groundtruth.ivecs"));
    assert.equal(Number(firstId), truth.readInt32LE(4), "top result of query 0");
    assert.match(await page.textContent("#status"), /Indexed 3000 passages/);
    assert.deepEqual(errors, []);
    mkdirSync(join(root, "target/artifacts"), { recursive: true });
    await page.screenshot({ path: join(root, "target/artifacts/demo.png"), fullPage: true });
  } finally {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

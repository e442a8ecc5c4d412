// The size guard: a page that uses Quiver downloads the .wasm plus the package's JS as its
// bundler ships it. The budgets are in size-budget.json at the repository root: this test fails
// when the download grows past them, so growth is a decision, not an accident. Issue 21's goal
// is 150 KB; bench/README.md, "Package size", says what dominates and which levers were taken.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { measure } from "../../bench/package-size.mjs";

const budget = JSON.parse(readFileSync(new URL("../../size-budget.json", import.meta.url), "utf8"));
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

test(`the .wasm plus the bundled JS gzip to at most ${kb(budget.pageGzipBytes)} (size-budget.json; goal ${kb(budget.goalPageGzipBytes)})`, async () => {
  const m = await measure({ withBreakdown: false });
  const verdict = m.totalGzip <= budget.goalPageGzipBytes ? "within the goal" : `${m.totalGzip - budget.goalPageGzipBytes} B over the goal`;
  console.log(`wasm ${m.wasm.gzip} B gzip + bundled JS ${m.bundledBrowserJs.gzip} B gzip = ${m.totalGzip} B; budget ${budget.pageGzipBytes} B (${verdict})`);
  assert.ok(m.totalGzip <= budget.pageGzipBytes, `${m.totalGzip} bytes gzipped exceeds the budget of ${budget.pageGzipBytes} in size-budget.json; see bench/package-size.mjs for what dominates`);
  assert.ok(m.bundledBrowserJs.gzip <= budget.bundledJsGzipBytes, `the JS alone is ${m.bundledBrowserJs.gzip} bytes gzipped (budget ${budget.bundledJsGzipBytes})`);
  const typical = m.wasm.gzip + m.typicalAppJs.gzip;
  console.log(`an app importing VectorStore and IndexedDBStorage: ${typical} B (budget ${budget.typicalAppGzipBytes} B)`);
  assert.ok(typical <= budget.typicalAppGzipBytes, `the typical app downloads ${typical} bytes gzipped (budget ${budget.typicalAppGzipBytes})`);
});

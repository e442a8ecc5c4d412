// The size budget: a page that uses Quiver downloads the .wasm plus the package's JS as its
// bundler ships it; gzipped, that must stay within 120 KB (the goal in issue 8). The numbers
// and what dominates them are in bench/README.md ("Package size"; `node bench/package-size.mjs`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { measure } from "../../bench/package-size.mjs";

const BUDGET = 120 * 1024;

test("the .wasm plus the bundled JS gzip to at most 120 KB", async () => {
  const m = await measure({ withBreakdown: false });
  console.log(`wasm ${m.wasm.gzip} B gzip + bundled JS ${m.bundledBrowserJs.gzip} B gzip = ${m.totalGzip} B (budget ${BUDGET} B)`);
  assert.ok(m.totalGzip <= BUDGET, `${m.totalGzip} bytes gzipped exceeds the ${BUDGET}-byte budget; see bench/package-size.mjs for what dominates`);
  assert.ok(m.bundledBrowserJs.gzip < 16 * 1024, `the JS alone is ${m.bundledBrowserJs.gzip} bytes gzipped`);
});

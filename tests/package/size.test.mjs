// The size guard: a page that uses Quiver downloads the .wasm plus the package's JS as its
// bundler ships it. Issue 8's goal is 120 KB gzipped; with every index family, filters and the
// snapshot format the build is well above it (bench/README.md, "Package size", says what
// dominates). Until the size work lands, this test is a regression ceiling: it fails if the
// download grows past CEILING, so growth is a decision, not an accident.
import { test } from "node:test";
import assert from "node:assert/strict";
import { measure } from "../../bench/package-size.mjs";

const GOAL = 120 * 1024;
const CEILING = 240 * 1024;

test(`the .wasm plus the bundled JS gzip to at most ${CEILING / 1024} KB (goal ${GOAL / 1024} KB)`, async () => {
  const m = await measure({ withBreakdown: false });
  const verdict = m.totalGzip <= GOAL ? "within the goal" : `${m.totalGzip - GOAL} B over the goal`;
  console.log(`wasm ${m.wasm.gzip} B gzip + bundled JS ${m.bundledBrowserJs.gzip} B gzip = ${m.totalGzip} B (${verdict})`);
  assert.ok(m.totalGzip <= CEILING, `${m.totalGzip} bytes gzipped exceeds the ${CEILING}-byte ceiling; see bench/package-size.mjs for what dominates`);
  assert.ok(m.bundledBrowserJs.gzip < 24 * 1024, `the JS alone is ${m.bundledBrowserJs.gzip} bytes gzipped`);
});

// Which functions two builds differ by: `node bench/size-diff.mjs before.json after.json`,
// where each file was written by `QUIVER_SIZE_FUNCTIONS=file.json node bench/package-size.mjs`.
// Prints the largest growths and shrinks by function name (same-named functions summed).
import { readFileSync } from "node:fs";

const [beforePath, afterPath, limit = "25"] = process.argv.slice(2);
if (!beforePath || !afterPath) {
  console.error("usage: node bench/size-diff.mjs before.json after.json [rows]");
  process.exit(2);
}
const totals = (path) => {
  const map = new Map();
  for (const { name, size } of JSON.parse(readFileSync(path, "utf8"))) map.set(name, (map.get(name) ?? 0) + size);
  return map;
};
const before = totals(beforePath);
const after = totals(afterPath);
const rows = [...new Set([...before.keys(), ...after.keys()])]
  .map((name) => ({ name, delta: (after.get(name) ?? 0) - (before.get(name) ?? 0) }))
  .filter((r) => r.delta !== 0)
  .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta));
const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);
console.log(`code bytes: ${sum(before)} -> ${sum(after)} (${sum(after) - sum(before) >= 0 ? "+" : ""}${sum(after) - sum(before)})`);
for (const { name, delta } of rows.slice(0, Number(limit))) console.log(`${delta > 0 ? "+" : ""}${delta}\t${name.slice(0, 150)}`);

// The fixed cost of one search call through the wasm bindings: a Flat collection so small that
// scoring is negligible, so what is timed is crossing the boundary and building the result
// objects. Usage: node bench/result-overhead.mjs <pkg dir> [n=10] [k=10] [meta]
// Compare two builds side by side by running it on both package directories in turn.
const q = await import(new URL(`${process.argv[2] ?? "pkg"}/dist/node.js`, `file://${process.cwd()}/`).href);
const dim = 384, n = Number(process.argv[3] ?? 10), k = Number(process.argv[4] ?? 10), withMeta = process.argv[5] === "meta";
let s = 1;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
const data = Float32Array.from({ length: n * dim }, rnd);
const c = new q.Collection({ dimension: dim, metric: "cosine", spec: "Flat", seed: 42 });
const ids = Array.from({ length: n }, (_, i) => `item-${i}`);
c.add(ids, data, withMeta ? JSON.stringify(ids.map((id, i) => ({ title: `t${i}`, n: i, tags: ["a", "b"] }))) : undefined);
const queries = Array.from({ length: 200 }, () => Float32Array.from({ length: dim }, rnd));
const meds = [];
for (let rep = 0; rep < 7; rep++) {
  const t = performance.now();
  for (let r = 0; r < 10; r++) for (const v of queries) c.search(v, k);
  meds.push((performance.now() - t) / 2000 * 1000);
}
meds.sort((a, b) => a - b);
console.log(`n=${n} k=${k} ${withMeta?"meta":""}: us/query median ${meds[3].toFixed(1)}`);

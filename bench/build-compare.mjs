// QPS of two builds of the core side by side: the size levers' speed check (issue 21: no QPS loss
// over 5% on HNSW ef 20, Flat and IVF-PQ). Both raw modules are loaded into one Node process,
// build the same indexes from the same data, and are searched with the same queries in
// interleaved rounds; the ratio is of medians over rounds of CPU time per query.
//
//   bash bench/build-compare.sh <name> [cargo args…]   # builds target/build-compare/<name>
//   node bench/build-compare.mjs <before> <after> [DATA_DIR] [--rounds 5] [--specs "Flat;HNSW16"]
//
// Default specs and knobs: Flat; HNSW16 with efSearch 20; IVF256,PQ48 with nprobe 16 and
// rerank 100 (the bench/README.md operating points).
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { readVecs, recallAt } from "./lib/data.mjs";
import { median } from "./lib/stats.mjs";

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL("../", import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : fallback;
};
const rounds = Number(option("--rounds", "5"));
const specs = option("--specs", "Flat;HNSW16;IVF256,PQ48").split(";");
const [beforeName, afterName, dataDir = `${root}../shared/data/dev-minilm-20k`] = args;
if (!beforeName || !afterName) {
  console.error("usage: node bench/build-compare.mjs <before> <after> [DATA_DIR] [--rounds N] [--specs a;b]");
  process.exit(2);
}
const K = 10;
const KNOBS = { Flat: [NaN, NaN, NaN], HNSW16: [20, NaN, NaN], "IVF256,PQ48": [NaN, 16, 100] };

const base = readVecs(`${dataDir}/base.fvecs`);
const queries = readVecs(`${dataDir}/query.fvecs`);
const truth = readVecs(`${dataDir}/groundtruth.ivecs`);
const dim = base.dim;

const builds = [beforeName, afterName].map((name) => {
  const dir = `${root}target/build-compare/${name}`;
  // wasm-bindgen's nodejs output is CommonJS; the repository's package.json says "module".
  writeFileSync(`${dir}/package.json`, '{ "type": "commonjs" }\n');
  return { name, quiver: require(`${dir}/quiver.js`) };
});

const KNOB_NAMES = ["efSearch", "nprobe", "rerank"];
const recall = (found) => found.reduce((sum, ids, q) => sum + recallAt(ids, truth, q, K), 0) / found.length;

console.log(`data: ${dataDir} (${base.rows} x ${dim}, ${queries.rows} queries), k=${K}, ${rounds} interleaved rounds, Node ${process.version}\n`);
console.log(`| spec | knobs | ${beforeName} CPU ms/q | ${afterName} CPU ms/q | QPS ${afterName} / ${beforeName} | recall (${beforeName}, ${afterName}) |`);
console.log("| --- | --- | ---: | ---: | ---: | --- |");
for (const spec of specs) {
  const knobs = Float64Array.from(KNOBS[spec] ?? [NaN, NaN, NaN]);
  const built = builds.map(({ name, quiver }) => {
    const c = new quiver.Collection({ dimension: dim, metric: "cosine", spec, seed: 42 });
    const ids = Array.from({ length: base.rows }, (_, i) => String(i));
    for (let s = 0; s < base.rows; s += 4096) {
      const e = Math.min(base.rows, s + 4096);
      c.add(ids.slice(s, e), base.data.subarray(s * dim, e * dim));
    }
    if (!c.isTrained) c.train();
    return { name, c, cpu: [], found: null };
  });
  for (let round = 0; round < rounds; round++) {
    // Alternate which build goes first, so neither always runs on a warmer machine.
    for (const v of round % 2 ? [...built].reverse() : built) {
      const found = [];
      const cpu = process.cpuUsage();
      for (let q = 0; q < queries.rows; q++) {
        const hits = v.c.search(queries.data.subarray(q * dim, (q + 1) * dim), K, knobs);
        found.push(hits.map((h) => Number(h.id)));
      }
      const used = process.cpuUsage(cpu);
      v.cpu.push((used.user + used.system) / 1e3 / queries.rows);
      v.found = found;
    }
  }
  const [a, b] = built.map((v) => median(v.cpu));
  const knobText = KNOB_NAMES.flatMap((name, i) => (Number.isNaN(knobs[i]) ? [] : [`${name} ${knobs[i]}`])).join(", ") || "—";
  console.log(`| ${spec} | ${knobText} | ${a.toFixed(3)} | ${b.toFixed(3)} | ×${(a / b).toFixed(3)} | ${recall(built[0].found).toFixed(4)}, ${recall(built[1].found).toFixed(4)} |`);
  for (const v of built) v.c.free();
}

// Wasm QPS of the quantized kernels: the same source built with SIMD128 and without (scalar
// kernels, no auto-vectorization), loaded side by side in one Node process, searched with the
// same queries in interleaved rounds. Specs: Flat (the f32 reference), SQ8 (flat scan over u8
// codes: the SQ8 kernel alone) and HNSW16,SQ8 (the graph over codes, rerank 40).
//
// Build the two raw modules first (no TypeScript layer, no wasm-opt, so numbers differ a little
// from the shipped package):
//   cargo build --release --target wasm32-unknown-unknown --lib
//   RUSTFLAGS="-C target-feature=-simd128" cargo build --release --target wasm32-unknown-unknown \
//     --target-dir target/scalar --lib
//   wasm-bindgen --target nodejs --out-dir target/quant-wasm/simd \
//     target/wasm32-unknown-unknown/release/quiver.wasm
//   wasm-bindgen --target nodejs --out-dir target/quant-wasm/scalar \
//     target/scalar/wasm32-unknown-unknown/release/quiver.wasm
// then `node bench/quant-wasm.mjs [DATA_DIR] [--specs SQ8,HNSW16,SQ8]`. PQ48, BIN and IVF over
// codes (and EdgeVec's binary quantization) are measured by `bash bench/run.sh --only quant`, on
// the shipped package and its scalar twin instead of these raw modules.
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { readVecs } from "./lib/data.mjs";

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL("../", import.meta.url));
const args = process.argv.slice(2);
const dataDir = args.find((a) => !a.startsWith("--")) ?? `${root}../shared/data/dev-minilm-20k`;
const specsArg = args.indexOf("--specs");
const specs = specsArg >= 0 ? args[specsArg + 1].split(";") : ["Flat", "SQ8", "HNSW16,SQ8"];
const ROUNDS = 5;
const K = 10;

const base = readVecs(`${dataDir}/base.fvecs`);
const queries = readVecs(`${dataDir}/query.fvecs`);
const truth = readVecs(`${dataDir}/groundtruth.ivecs`);
const dim = base.dim;

const variants = ["simd", "scalar"].map((name) => {
  // wasm-bindgen's nodejs output is CommonJS; the repository's package.json says "module".
  writeFileSync(`${root}target/quant-wasm/${name}/package.json`, '{ "type": "commonjs" }\n');
  const quiver = require(`${root}target/quant-wasm/${name}/quiver.js`);
  if (quiver.simdEnabled() !== (name === "simd")) throw new Error(`${name}: wrong build`);
  return { name, quiver };
});

function recall(found) {
  let hits = 0;
  for (let q = 0; q < found.length; q++) {
    const want = new Set(truth.data.subarray(q * truth.dim, q * truth.dim + K));
    hits += found[q].filter((id) => want.has(id)).length;
  }
  return hits / (found.length * K);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`data: ${dataDir} (${base.rows} x ${dim}, ${queries.rows} queries, cosine), k=${K}, ` +
  `${ROUNDS} interleaved rounds, Node ${process.version}\n`);
console.log("| spec | build | build s (CPU) | recall@10 | ms/query p50 of rounds | CPU ms/query | QPS (CPU) |");
console.log("|---|---|---|---|---|---|---|");
const rows = [];
for (const spec of specs) {
  const params = spec.startsWith("HNSW") ? Float64Array.of(64, NaN, 40) : Float64Array.of(NaN, NaN, 0);
  const built = variants.map(({ name, quiver }) => {
    const cpu = process.cpuUsage();
    const c = new quiver.Collection({ dimension: dim, metric: "cosine", spec, seed: 42 });
    const ids = Array.from({ length: base.rows }, (_, i) => String(i));
    for (let s = 0; s < base.rows; s += 4096) {
      const e = Math.min(base.rows, s + 4096);
      c.add(ids.slice(s, e), base.data.subarray(s * dim, e * dim));
    }
    const used = process.cpuUsage(cpu);
    return { name, c, buildCpu: (used.user + used.system) / 1e6, wall: [], cpu: [], found: null };
  });
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of built) {
      const found = [];
      const cpu = process.cpuUsage();
      const t = process.hrtime.bigint();
      for (let q = 0; q < queries.rows; q++) {
        const hits = v.c.search(queries.data.subarray(q * dim, (q + 1) * dim), K, params);
        found.push(hits.map((h) => Number(h.id)));
      }
      const wall = Number(process.hrtime.bigint() - t) / 1e6 / queries.rows;
      const used = process.cpuUsage(cpu);
      v.wall.push(wall);
      v.cpu.push((used.user + used.system) / 1e3 / queries.rows);
      v.found = found;
    }
  }
  for (const v of built) {
    const cpuMs = median(v.cpu);
    const row = { spec, build: v.name, buildCpu: v.buildCpu, recall: recall(v.found), wallMs: median(v.wall), cpuMs };
    rows.push(row);
    console.log(`| ${spec} | ${v.name} | ${v.buildCpu.toFixed(1)} | ${row.recall.toFixed(4)} | ` +
      `${row.wallMs.toFixed(3)} | ${cpuMs.toFixed(3)} | ${(1000 / cpuMs).toFixed(0)} |`);
    v.c.free();
  }
}
console.log("\n| spec | SIMD / scalar speed-up (CPU ms/query) | (p50 wall) |");
console.log("|---|---|---|");
for (const spec of specs) {
  const [s, c] = ["simd", "scalar"].map((b) => rows.find((r) => r.spec === spec && r.build === b));
  console.log(`| ${spec} | ${(c.cpuMs / s.cpuMs).toFixed(2)} | ${(c.wallMs / s.wallMs).toFixed(2)} |`);
}

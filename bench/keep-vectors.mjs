// Bytes per vector and recall@10 of quantized stores with and without their full f32 vectors
// (`keepVectors`), through the npm package (pkg/dist/node.js) in Node.
//
//   node bench/keep-vectors.mjs [texmex-folder] [spec ...]
//
// Defaults: ../shared/data/dev-minilm-20k (or $QUIVER_DATA_DIR/dev-minilm-20k), specs BIN, PQ48,
// SQ8, HNSW16,SQ8. Each store gets every base vector in one `add` (the package sends chunks of
// 4,096), ids "0".."n-1", no metadata, seed 42; recall@10 is over every query against the
// folder's groundtruth.ivecs. Prints one JSON line per store, then a Markdown table.
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { readVecs } from "./lib/data.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const { VectorStore } = await import(new URL("pkg/dist/node.js", `file://${root}`).href);

const args = process.argv.slice(2);
const dataDir =
  args[0] && existsSync(args[0])
    ? args.shift()
    : `${process.env.QUIVER_DATA_DIR ?? `${root}../shared/data`}/dev-minilm-20k`;
const specs = args.length > 0 ? args : ["BIN", "PQ48", "SQ8", "HNSW16,SQ8"];

/** A TEXMEX file as one typed-array view per row (bench/lib/data.mjs reads and checks it). */
function rowsOf(path) {
  const { dim, rows, data } = readVecs(path);
  return Array.from({ length: rows }, (_, r) => data.subarray(r * dim, (r + 1) * dim));
}

const base = rowsOf(`${dataDir}/base.fvecs`);
const queries = rowsOf(`${dataDir}/query.fvecs`);
const groundtruth = rowsOf(`${dataDir}/groundtruth.ivecs`);
const dimension = base[0].length;
const K = 10;
const items = base.map((vector, i) => ({ id: String(i), vector }));

async function recallOf(store, params) {
  let found = 0;
  const cpu = process.cpuUsage();
  for (const [q, vector] of queries.entries()) {
    const hits = await store.search({ vector, k: K, params });
    const truth = new Set(Array.from(groundtruth[q].subarray(0, K), String));
    found += hits.filter((h) => truth.has(h.id)).length;
  }
  const used = process.cpuUsage(cpu);
  return { recall: found / (queries.length * K), cpuMsPerQuery: (used.user + used.system) / 1000 / queries.length };
}

const rows = [];
console.error(`# ${dataDir}: ${base.length} × ${dimension}, ${queries.length} queries; ${cpus()[0]?.model}; load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const index of specs) {
  for (const keepVectors of [true, false]) {
    const store = await VectorStore.create({ dimension, index, seed: 42, keepVectors });
    const started = process.cpuUsage();
    await store.add(items);
    const build = process.cpuUsage(started);
    const stats = await store.stats();
    const searches = keepVectors ? [{ label: "default", params: {} }, { label: "rerank=0", params: { rerank: 0 } }] : [{ label: "default (codes)", params: {} }];
    for (const { label, params } of searches) {
      const { recall, cpuMsPerQuery } = await recallOf(store, params);
      const m = stats.memory;
      const row = {
        index,
        keepVectors,
        search: label,
        count: stats.count,
        bytesPerVector: stats.memoryBytes / stats.count,
        indexBytesPerVector: (stats.memoryBytes - m.metadata) / stats.count,
        codesBytesPerVector: m.codes / stats.count,
        vectorsBytesPerVector: m.vectors / stats.count,
        idsBytesPerVector: m.metadata / stats.count,
        recall,
        cpuMsPerQuery,
        buildCpuS: (build.user + build.system) / 1e6,
        load: loadavg()[0],
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
    await store.close();
  }
}

const f = (x, d = 1) => x.toFixed(d);
console.log("\n| index | keepVectors | search | bytes/vector (memoryBytes) | of which index | codes | f32 vectors | string ids | recall@10 | CPU ms/query |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.index} | ${r.keepVectors} | ${r.search} | ${f(r.bytesPerVector)} | ${f(r.indexBytesPerVector)} | ${f(r.codesBytesPerVector)} | ${f(r.vectorsBytesPerVector)} | ${f(r.idsBytesPerVector)} | ${f(r.recall, 4)} | ${f(r.cpuMsPerQuery, 3)} |`,
  );
}
console.error(`# load at end ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);

// Resident memory of a store against its payload (issue 22, part 1): for each index family, a
// fresh Node process loads the data set, builds a store through the package's public API
// (`VectorStore.create` + `add` in batches, as an app would) and reports
//   - the Node RSS delta and the WebAssembly memory delta over the build, after a full GC,
//   - what `stats().memoryBytes` and `stats().memory` account for,
// each as a multiple of the payload (n × dim × 4 bytes of f32 vectors).
//
//   bash scripts/build-pkg.sh
//   node bench/memory.mjs [DATA_DIR] [--specs "Flat;HNSW16"] [--batch 1000] [--repeat 5] [--json]
//
// The data set is read before the first measurement, so its own buffers are not counted.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { argParser } from "./lib/args.mjs";
import { readVecs } from "./lib/data.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const args = process.argv.slice(2);
const { option, flag } = argParser(args);
const MiB = 1024 * 1024;

if (flag("--child")) {
  const spec = option("--spec", "Flat");
  const batch = Number(option("--batch", "1000"));
  const repeat = Number(option("--repeat", "1"));
  const [dataDir] = args;
  const quiver = await import(`${root}pkg/dist/node.js`);
  const lean = await import(`${root}pkg/wasm/quiver.js`);
  const dev = readVecs(`${dataDir}/base.fvecs`);
  // --repeat R: R copies of the data set, each copy's components nudged deterministically (for
  // memory at larger sizes; the content does not change what a store holds per vector).
  const base = repeat === 1 ? dev : (() => {
    const data = new Float32Array(dev.data.length * repeat);
    for (let r = 0; r < repeat; r++) {
      const offset = r * dev.data.length;
      for (let i = 0; i < dev.data.length; i++) data[offset + i] = dev.data[i] + r * 1e-3 * Math.sin(i);
    }
    return { dim: dev.dim, rows: dev.rows * repeat, data };
  })();
  const ids = Array.from({ length: base.rows }, (_, i) => `doc-${i}`);
  // The glue's initSync hands back the already instantiated module's exports.
  const wasmMemory = () => lean.initSync({ module: new Uint8Array(0) }).memory.buffer.byteLength;
  const settle = () => { for (let i = 0; i < 3; i++) globalThis.gc(); };
  settle();
  const usage = () => {
    const m = process.memoryUsage();
    // `external` counts the wasm memory too (it is an ArrayBuffer); the JS side is the rest.
    return { rss: m.rss, heap: m.heapUsed, external: m.external, wasm: wasmMemory() };
  };
  const before = usage();
  const store = await quiver.VectorStore.create({ dimension: base.dim, metric: "cosine", index: spec });
  for (let s = 0; s < base.rows; s += batch) {
    const e = Math.min(base.rows, s + batch);
    const items = [];
    for (let i = s; i < e; i++) items.push({ id: ids[i], vector: base.data.subarray(i * base.dim, (i + 1) * base.dim) });
    await store.add(items);
  }
  settle();
  const stats = await store.stats();
  const after = usage();
  let full = 0;
  if (stats.index !== "Flat" && !/^HNSW\d+$/.test(stats.index)) {
    const fullGlue = await import(`${root}pkg/wasm/full/quiver.js`);
    full = fullGlue.initSync({ module: new Uint8Array(0) }).memory.buffer.byteLength;
  }
  const payload = base.rows * base.dim * 4;
  console.log(JSON.stringify({
    spec: stats.index, rows: base.rows, dim: base.dim, payload,
    rssDelta: after.rss - before.rss, wasmDelta: after.wasm - before.wasm + full,
    jsHeapDelta: after.heap - before.heap, jsExternalDelta: after.external - before.external - (after.wasm - before.wasm),
    memoryBytes: stats.memoryBytes, memory: stats.memory,
  }));
  await store.close();
  process.exit(0);
}

const specs = option("--specs", "Flat;HNSW16;IVF256,PQ48;HNSW16,SQ8").split(";");
const batch = option("--batch", "1000");
const repeat = option("--repeat", "1");
const json = flag("--json");
const [dataDir = `${root}../shared/data/dev-minilm-20k`] = args;
const rows = specs.map((spec) => JSON.parse(execFileSync(process.execPath,
  ["--expose-gc", fileURLToPath(import.meta.url), "--child", "--spec", spec, "--batch", batch, "--repeat", repeat, dataDir],
  { encoding: "utf8", maxBuffer: 1 << 24 }).trim().split("\n").pop()));
if (json) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  const x = (bytes, payload) => `${(bytes / MiB).toFixed(1)} MiB (×${(bytes / payload).toFixed(2)})`;
  console.log(`data: ${dataDir} (${rows[0].rows} × ${rows[0].dim}), batches of ${batch}, payload ${(rows[0].payload / MiB).toFixed(1)} MiB of f32 vectors\n`);
  console.log("| index | Node RSS delta | wasm memory delta | JS heap delta | stats().memoryBytes | vectors | codes | graph | ids | metadata | other |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    const m = r.memory;
    const mb = (b) => (b / MiB).toFixed(1);
    console.log(`| ${r.spec} | ${x(r.rssDelta, r.payload)} | ${x(r.wasmDelta, r.payload)} | ${mb(r.jsHeapDelta + r.jsExternalDelta)} MiB | ${x(r.memoryBytes, r.payload)} | ${mb(m.vectors)} | ${mb(m.codes)} | ${mb(m.graph)} | ${mb(m.ids ?? 0)} | ${mb(m.metadata)} | ${mb(m.other)} |`);
  }
}

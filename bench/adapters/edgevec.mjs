// EdgeVec (Rust + wasm-bindgen, SIMD). Its f32 index is HNSW only: in 0.9.0 the Flat index type
// accepts binary vectors only (insert() on it throws), so there is no exact f32 EdgeVec
// configuration. ef_search is fixed in the config at construction, so each ef is its own build.
// Its "cosine" and "dot" metrics return the *farthest* neighbours in 0.9.0 (recall@10 = 0 on
// MiniLM; "l2" is right), so for cosine this adapter normalizes vectors and queries and uses
// "l2", which ranks unit vectors exactly like cosine. Build params: m, efConstruction, ef.
//
// Quantization (the npm 0.9.0 package has binary quantization only, no PQ; see bench/README.md):
// - build `bq: true`: HNSW with binary quantization enabled before inserting (`enableBQ()`; it is
//   off by default despite the docs). Search params `bq: "raw"` (`searchBQ`: the graph walked
//   with Hamming distances) or `bq: "rescore", rescore: F` (`searchBQRescored`: k·F BQ candidates
//   rescored in f32); no `bq` searches the f32 graph. EdgeVec keeps the f32 vectors and the
//   graph beside the 1-bit codes, and `memoryUsage()` does not count the codes (checked: the
//   same number with BQ on and off), so this adapter adds rows·⌈dim/8⌉ bytes for them.
// - build `index: "binary-flat"`: the Flat index over 1-bit codes (metric "hamming",
//   `insertBinary` / `searchBinary`), the only EdgeVec index that holds codes alone. The caller
//   packs the bits: `bits: "sign"` (bit = x > 0, what `insertWithBq` documents) or
//   `bits: "centered"` (bit = x > mean of the base, Quiver's BIN encoding). No rerank exists
//   for it (there are no f32 vectors to rescore with).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(new URL("../package.json", import.meta.url));

function normalized(data, dim) {
  const out = Float32Array.from(data);
  for (let o = 0; o < out.length; o += dim) {
    let s = 0;
    for (let j = o; j < o + dim; j++) s += out[j] * out[j];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = o; j < o + dim; j++) out[j] *= inv;
  }
  return out;
}

/** One bit per dimension, packed little-endian in bytes: bit i = v[i] > threshold[i]. */
function packBits(v, threshold) {
  const out = new Uint8Array(Math.ceil(v.length / 8));
  for (let i = 0; i < v.length; i++) if (v[i] > threshold[i]) out[i >> 3] |= 1 << (i & 7);
  return out;
}

function columnMeans(data, dim, rows) {
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) mean[j] += data[r * dim + j];
  return Float32Array.from(mean, (s) => s / rows);
}

export async function create({ dim, metric }) {
  const wasmPath = new URL("../node_modules/edgevec/edgevec_bg.wasm", import.meta.url);
  const edgevec = await import(new URL("../node_modules/edgevec/edgevec.js", import.meta.url));
  edgevec.initSync({ module: readFileSync(wasmPath) });
  const version = require("edgevec/package.json").version;
  let db = null;
  let rowOf = null;
  let threshold = null; // binary-flat: the per-dimension bit threshold
  const toRows = (hits) => hits.map((hit) => rowOf.get(hit.id));
  const prepare = (query) => (metric === "cosine" ? normalized(query, dim) : query);
  return {
    library: "edgevec",
    version,
    wasmFiles: [wasmPath.pathname],
    async build(base, { index = "hnsw", m = 16, efConstruction = 200, ef = 64, bq = false, bits = "sign" } = {}) {
      rowOf = new Map();
      if (index === "binary-flat") {
        const config = new edgevec.EdgeVecConfig(dim);
        config.indexType = edgevec.JsIndexType.Flat;
        config.vector_type = edgevec.VectorType.Binary;
        config.metric = "hamming";
        db = new edgevec.EdgeVec(config);
        threshold = bits === "centered" ? columnMeans(base.data, dim, base.rows) : new Float32Array(dim);
        for (let row = 0; row < base.rows; row++) {
          rowOf.set(db.insertBinary(packBits(base.data.subarray(row * dim, (row + 1) * dim), threshold)), row);
        }
        return { memoryBytes: db.memoryUsage() };
      }
      const config = new edgevec.EdgeVecConfig(dim);
      config.metric = metric === "cosine" ? "l2" : metric;
      config.m = m;
      config.m0 = 2 * m;
      config.ef_construction = efConstruction;
      config.ef_search = ef;
      db = new edgevec.EdgeVec(config);
      if (bq) db.enableBQ();
      const data = metric === "cosine" ? normalized(base.data, dim) : base.data;
      const ids = db.insertBatchFlat(data, base.rows);
      ids.forEach((id, row) => rowOf.set(id, row));
      return { memoryBytes: db.memoryUsage() + (bq ? base.rows * Math.ceil(dim / 8) : 0) };
    },
    search(query, k, { bq, rescore = 10 } = {}) {
      if (threshold) return toRows(db.searchBinary(packBits(query, threshold), k));
      if (bq === "raw") return toRows(db.searchBQ(prepare(query), k));
      if (bq === "rescore") return toRows(db.searchBQRescored(prepare(query), k, rescore));
      return toRows(db.search(prepare(query), k));
    },
    free() {
      db?.free();
      db = null;
    },
  };
}

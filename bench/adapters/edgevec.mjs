// EdgeVec (Rust + wasm-bindgen, SIMD). Its f32 index is HNSW only: in 0.9.0 the Flat index type
// accepts binary vectors only (insert() on it throws), so there is no exact f32 EdgeVec
// configuration. ef_search is fixed in the config at construction, so each ef is its own build.
// Its "cosine" and "dot" metrics return the *farthest* neighbours in 0.9.0 (recall@10 = 0 on
// MiniLM; "l2" is right), so for cosine this adapter normalizes vectors and queries and uses
// "l2", which ranks unit vectors exactly like cosine. Build params: m, efConstruction, ef.
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

export async function create({ dim, metric }) {
  const wasmPath = new URL("../node_modules/edgevec/edgevec_bg.wasm", import.meta.url);
  const edgevec = await import(new URL("../node_modules/edgevec/edgevec.js", import.meta.url));
  edgevec.initSync({ module: readFileSync(wasmPath) });
  const version = require("edgevec/package.json").version;
  let db = null;
  let rowOf = null;
  return {
    library: "edgevec",
    version,
    wasmFiles: [wasmPath.pathname],
    async build(base, { m = 16, efConstruction = 200, ef = 64 } = {}) {
      const config = new edgevec.EdgeVecConfig(dim);
      config.metric = metric === "cosine" ? "l2" : metric;
      config.m = m;
      config.m0 = 2 * m;
      config.ef_construction = efConstruction;
      config.ef_search = ef;
      db = new edgevec.EdgeVec(config);
      const data = metric === "cosine" ? normalized(base.data, dim) : base.data;
      const ids = db.insertBatchFlat(data, base.rows);
      rowOf = new Map();
      ids.forEach((id, row) => rowOf.set(id, row));
      return { memoryBytes: db.memoryUsage() };
    },
    search(query, k) {
      return db.search(metric === "cosine" ? normalized(query, dim) : query, k).map((hit) => rowOf.get(hit.id));
    },
  };
}

// EdgeVec in the browser (wasm-bindgen "web" target: init() fetches its .wasm). Same quirks and
// workaround as bench/adapters/edgevec.mjs: cosine = l2 on normalized vectors, because its own
// cosine returns the farthest neighbours in 0.9.0; ef_search fixed at construction.
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
  const edgevec = await import("/bench/node_modules/edgevec/edgevec.js");
  await edgevec.default({ module_or_path: "/bench/node_modules/edgevec/edgevec_bg.wasm" });
  const version = (await (await fetch("/bench/node_modules/edgevec/package.json")).json()).version;
  let db = null;
  let rowOf = null;
  return {
    library: "edgevec",
    version,
    wasmFiles: ["bench/node_modules/edgevec/edgevec_bg.wasm"],
    async build(base, { m = 16, efConstruction = 200, ef = 64 } = {}) {
      const config = new edgevec.EdgeVecConfig(dim);
      config.metric = metric === "cosine" ? "l2" : metric;
      config.m = m;
      config.m0 = 2 * m;
      config.ef_construction = efConstruction;
      config.ef_search = ef;
      db = new edgevec.EdgeVec(config);
      const ids = db.insertBatchFlat(metric === "cosine" ? normalized(base.data, dim) : base.data, base.rows);
      rowOf = new Map();
      ids.forEach((id, row) => rowOf.set(id, row));
      return { memoryBytes: db.memoryUsage() };
    },
    search(query, k) {
      return db.search(metric === "cosine" ? normalized(query, dim) : query, k).map((hit) => rowOf.get(hit.id));
    },
  };
}

// voy-search in the browser: the package targets bundlers, so (as in bench/adapters/
// voy-search.mjs) the page instantiates the .wasm against the package's glue itself. L2 k-d
// tree; cosine via normalization; exact.
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
  if (metric === "dot") throw new Error("voy-search supports L2 only (cosine via normalization), not dot");
  const dir = "/bench/node_modules/voy-search/";
  const glue = await import(`${dir}voy_search_bg.js`);
  const { instance } = await WebAssembly.instantiateStreaming(fetch(`${dir}voy_search_bg.wasm`), { "./voy_search_bg.js": glue });
  glue.__wbg_set_wasm(instance.exports);
  const version = (await (await fetch(`${dir}package.json`)).json()).version;
  const cosine = metric === "cosine";
  let voy = null;
  return {
    library: "voy-search",
    version,
    wasmFiles: ["bench/node_modules/voy-search/voy_search_bg.wasm"],
    async build(base) {
      const data = cosine ? normalized(base.data, dim) : base.data;
      const embeddings = new Array(base.rows);
      for (let r = 0; r < base.rows; r++) embeddings[r] = { id: String(r), title: "", url: "", embeddings: Array.from(data.subarray(r * dim, (r + 1) * dim)) };
      voy = new glue.Voy({ embeddings });
      return {};
    },
    search(query, k) {
      return voy.search(cosine ? normalized(query, dim) : query, k).neighbors.map((n) => Number(n.id));
    },
    free() {
      voy?.free();
      voy = null;
    },
  };
}

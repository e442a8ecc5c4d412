// voy-search (Rust + wasm-bindgen, "bundler" target): a k-d tree (the kiddo crate) over squared
// L2 distance; exact search, no parameters. Its package is built for bundlers (`import * as wasm
// from "./voy_search_bg.wasm"`), which Node cannot load, so the adapter instantiates the .wasm
// itself against the package's own glue (`voy_search_bg.js`) and hands it over with
// `__wbg_set_wasm`, as a bundler would.
// Metric: L2 only. For cosine, vectors and queries are normalized first (squared L2 on unit
// vectors ranks exactly like cosine); dot is not supported (the adapter throws, so the suite
// reports it as skipped).
// Ids: Voy takes `{ id, title, url, embeddings: number[] }` resources (passed to Rust through
// JSON, so a build converts every vector to a JS array); ids are strings, mapped back with
// Number(id) to base row indices.
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
  if (metric === "dot") throw new Error("voy-search supports L2 only (cosine via normalization), not dot");
  const dir = new URL("../node_modules/voy-search/", import.meta.url);
  const glue = await import(new URL("voy_search_bg.js", dir));
  const wasmPath = new URL("voy_search_bg.wasm", dir);
  const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), { "./voy_search_bg.js": glue });
  glue.__wbg_set_wasm(instance.exports);
  const version = require("voy-search/package.json").version;
  const cosine = metric === "cosine";
  let voy = null;
  return {
    library: "voy-search",
    version,
    wasmFiles: [wasmPath.pathname],
    async build(base) {
      const data = cosine ? normalized(base.data, dim) : base.data;
      const embeddings = new Array(base.rows);
      for (let r = 0; r < base.rows; r++) {
        embeddings[r] = { id: String(r), title: "", url: "", embeddings: Array.from(data.subarray(r * dim, (r + 1) * dim)) };
      }
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

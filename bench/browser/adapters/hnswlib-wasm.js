// hnswlib-wasm in the browser, where it is meant to run (its IDBFS mount works here). Same
// parameters as bench/adapters/hnswlib-wasm.mjs. Its .wasm is embedded in the JS as base64.
export async function create({ dim, metric, seed = 42 }) {
  const { loadHnswlib } = await import("/bench/node_modules/hnswlib-wasm/dist/hnswlib.js");
  const lib = await loadHnswlib();
  const version = (await (await fetch("/bench/node_modules/hnswlib-wasm/package.json")).json()).version;
  const space = metric === "l2" ? "l2" : metric === "dot" ? "ip" : "cosine";
  let index = null;
  return {
    library: "hnswlib-wasm",
    version,
    async build(base, { m = 16, efConstruction = 200 } = {}) {
      index = new lib.HierarchicalNSW(space, dim, "");
      index.initIndex(base.rows, m, efConstruction, seed);
      for (let start = 0; start < base.rows; start += 1000) {
        const end = Math.min(base.rows, start + 1000);
        const items = [];
        const labels = [];
        for (let r = start; r < end; r++) {
          items.push(base.data.slice(r * dim, (r + 1) * dim));
          labels.push(r);
        }
        index.addPoints(items, labels, false);
      }
      return { memoryBytes: base.rows * (dim * 4 + 2 * m * 4 + 8) };
    },
    search(query, k, { ef = 64 } = {}) {
      index.setEfSearch(Math.max(ef, k));
      return index.searchKnn(query, k, undefined).neighbors;
    },
  };
}

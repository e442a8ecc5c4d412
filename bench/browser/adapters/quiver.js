// Quiver in the browser: the package's browser entry (pkg/dist/browser.js), whose init() fetches
// and compiles the .wasm (streaming). Same build and search as bench/adapters/quiver.mjs.
export async function create({ dim, metric, seed = 42 }) {
  const quiver = await import("/pkg/dist/browser.js");
  await quiver.init();
  if (!quiver.simdEnabled()) throw new Error("pkg/ is not the SIMD build");
  const pkg = await (await fetch("/pkg/package.json")).json();
  let collection = null;
  const toIds = (hits) => hits.map((h) => Number(h.id));
  return {
    library: "quiver",
    version: pkg.version,
    wasmFiles: ["pkg/wasm/quiver_bg.wasm"],
    async build(base, { spec = "Flat" } = {}) {
      // Flat and HNSW are in the lean build; other families take the full build's Collection.
      const build = quiver.specAvailability(spec) === "fullBuildOnly" ? await quiver.loadFullBuild() : quiver;
      collection = new build.Collection({ dimension: dim, metric, spec, seed });
      const ids = Array.from({ length: base.rows }, (_, i) => String(i));
      const chunk = 10_000;
      for (let start = 0; start < base.rows; start += chunk) {
        const end = Math.min(base.rows, start + chunk);
        collection.add(ids.slice(start, end), base.data.subarray(start * dim, end * dim));
      }
      if (typeof collection.train === "function" && collection.isTrained === false) collection.train();
      return { memoryBytes: collection.memoryBytes() };
    },
    search(query, k, { efSearch, nprobe, rerank } = {}) {
      return toIds(collection.search(query, k, Float64Array.of(efSearch ?? NaN, nprobe ?? NaN, rerank ?? NaN)));
    },
    free() {
      collection?.free();
      collection = null;
    },
  };
}

// Quiver through its raw wasm API. The spec (`Flat`, `IVF256`, `HNSW16`, `HNSW16,SQ8`, ...) is a
// build parameter, so new index families are benchmarked by adding configs, not code.
// `variant: "scalar"` loads the twin built without SIMD128 (pkg-scalar/), as a separate module
// with its own wasm instance, so both can be measured side by side in one process.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

export async function create({ dim, metric, seed = 42, variant = "simd" }) {
  const pkgDir = `${root}${variant === "scalar" ? "pkg-scalar" : "pkg"}/`;
  const quiver = await import(`${pkgDir}dist/node.js`);
  const wantSimd = variant !== "scalar";
  if (quiver.simdEnabled() !== wantSimd) {
    throw new Error(`${pkgDir}: simdEnabled() = ${quiver.simdEnabled()}, expected ${wantSimd}`);
  }
  const pkg = JSON.parse(readFileSync(`${pkgDir}package.json`, "utf8"));
  let collection = null;
  const toIds = (hits) => hits.map((h) => Number(h.id));
  return {
    library: "quiver",
    version: pkg.version,
    wasmFiles: [`${pkgDir}wasm/quiver_bg.wasm`],
    async build(base, { spec = "Flat" } = {}) {
      // Flat and HNSW are in the lean build; other families take the full build's Collection.
      const build = quiver.specAvailability(spec) === "fullBuildOnly" ? await quiver.loadFullBuild() : quiver;
      collection = new build.Collection({ dimension: dim, metric, spec, seed });
      const ids = Array.from({ length: base.rows }, (_, i) => String(i));
      // Add in slices so the bindings never copy one huge array twice.
      const chunk = 10_000;
      for (let start = 0; start < base.rows; start += chunk) {
        const end = Math.min(base.rows, start + chunk);
        collection.add(ids.slice(start, end), base.data.subarray(start * dim, end * dim));
      }
      // Trained families (IVF, PQ) train on what they hold; the time counts as build time.
      if (typeof collection.train === "function" && collection.isTrained === false) collection.train();
      // The breakdown separates the f32 store (kept for rerank and get) from codes and graph,
      // so the quantization table can show what an index holds with full vectors cold.
      return { memoryBytes: collection.memoryBytes(), memoryBreakdown: collection.memoryBreakdown?.() };
    },
    search(query, k, { efSearch, nprobe, rerank } = {}) {
      return toIds(collection.search(query, k, Float64Array.of(efSearch ?? NaN, nprobe ?? NaN, rerank ?? NaN)));
    },
    searchBatch(queries, k, { efSearch, nprobe, rerank } = {}) {
      return collection.searchBatch(queries, k, Float64Array.of(efSearch ?? NaN, nprobe ?? NaN, rerank ?? NaN)).map(toIds);
    },
    free() {
      collection?.free();
      collection = null;
    },
  };
}

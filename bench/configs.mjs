// What the suite (issue 10) runs. Each group is one process: one library with one set of build
// parameters, searched with a sweep of parameters (each sweep point is one point of the
// library's recall/QPS curve). A new Quiver family or a new peer adds a group here; a group
// whose adapter cannot load or build (package not installed, spec not merged yet) is reported
// as skipped, never as a failure.

// ef_search / ef sweeps shared by graph indexes.
const efSweep = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256];
const browserEfSweep = [16, 32, 64, 128];
const nprobeSweep = [1, 2, 4, 8, 16, 32, 64];

export function suiteGroups({ quick }) {
  const groups = [
    { library: "quiver", adapter: "quiver", build: { spec: "Flat" }, search: [{}, { batch: 64 }] },
    { library: "js-brute", adapter: "js-brute", search: [{}] },
  ];
  if (quick) return groups;
  groups.push(
    // Quiver's ANN families: picked up automatically once their branches are merged.
    ...["IVF128", "IVF128,SQ8", "IVF128,PQ48"].map((spec) => ({
      library: "quiver", adapter: "quiver", build: { spec },
      search: nprobeSweep.map((nprobe) => ({ params: { nprobe }, label: `nprobe=${nprobe}` })),
    })),
    ...["HNSW16", "HNSW16,SQ8"].map((spec) => ({
      library: "quiver", adapter: "quiver", build: { spec },
      search: efSweep.map((efSearch) => ({ params: { efSearch }, label: `ef=${efSearch}` })),
    })),
    // Peers (npm packages from bench/package.json; `npm install --prefix bench` first).
    { library: "hnswlib-wasm", adapter: "hnswlib-wasm", build: { m: 16, efConstruction: 200 },
      search: efSweep.map((ef) => ({ params: { ef }, label: `ef=${ef}` })) },
    { library: "hnswlib-node", adapter: "hnswlib-node", build: { m: 16, efConstruction: 200 },
      search: efSweep.map((ef) => ({ params: { ef }, label: `ef=${ef}` })) },
    // EdgeVec fixes ef_search at construction: one build (and process) per ef.
    ...[32, 128].map((ef) => ({ library: "edgevec", adapter: "edgevec", build: { m: 16, efConstruction: 200, ef }, search: [{}] })),
    // Native ceiling: faiss-cpu from Python (bench/faiss_session.py), one thread.
    { library: "faiss", runtime: "python", build: { spec: "Flat" }, search: [{}] },
    { library: "faiss", runtime: "python", build: { spec: "HNSW16", efConstruction: 200 },
      search: efSweep.map((efSearch) => ({ params: { efSearch }, label: `ef=${efSearch}` })) },
    { library: "faiss", runtime: "python", build: { spec: "IVF128,Flat" },
      search: nprobeSweep.map((nprobe) => ({ params: { nprobe }, label: `nprobe=${nprobe}` })) },
    // Headless Chromium (bench/lib/browser-session.mjs): Quiver SIMD and the wasm peers, same
    // parameters as their Node groups, a shorter ef sweep.
    { library: "quiver", runtime: "chromium", adapter: "quiver", build: { spec: "Flat" }, search: [{}] },
    { library: "quiver", runtime: "chromium", adapter: "quiver", build: { spec: "HNSW16" },
      search: browserEfSweep.map((efSearch) => ({ params: { efSearch }, label: `ef=${efSearch}` })) },
    { library: "quiver", runtime: "chromium", adapter: "quiver", build: { spec: "IVF128" },
      search: nprobeSweep.map((nprobe) => ({ params: { nprobe }, label: `nprobe=${nprobe}` })) },
    { library: "hnswlib-wasm", runtime: "chromium", adapter: "hnswlib-wasm", build: { m: 16, efConstruction: 200 },
      search: browserEfSweep.map((ef) => ({ params: { ef }, label: `ef=${ef}` })) },
    { library: "edgevec", runtime: "chromium", adapter: "edgevec", build: { m: 16, efConstruction: 200, ef: 32 }, search: [{}] },
    { library: "voy-search", runtime: "chromium", adapter: "voy-search", search: [{}] },
    { library: "pglite", runtime: "chromium", adapter: "pglite", build: { index: "flat" }, search: [{}] },
    { library: "pglite", runtime: "chromium", adapter: "pglite", build: { index: "hnsw", m: 16, efConstruction: 200 },
      search: browserEfSweep.map((ef) => ({ params: { ef }, label: `ef=${ef}` })) },
    // Exact peers: a k-d tree (Voy), a JS linear scan (Orama), Postgres' sequential scan (PGlite).
    { library: "voy-search", adapter: "voy-search", search: [{}] },
    { library: "orama", adapter: "orama", search: [{}] },
    { library: "pglite", adapter: "pglite", build: { index: "flat" }, search: [{}] },
    { library: "pglite", adapter: "pglite", build: { index: "hnsw", m: 16, efConstruction: 200 },
      search: efSweep.map((ef) => ({ params: { ef }, label: `ef=${ef}` })) },
  );
  return groups;
}

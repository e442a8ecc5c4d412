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
    { library: "orama", runtime: "chromium", adapter: "orama", search: [{}] },
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

// The quantization comparison (issue 6), `--only quant`: Quiver's code-size families in wasm,
// the SIMD128 package beside its scalar twin (pkg-scalar/) in one process, so the SIMD / scalar
// ratios come from the same conditions, and EdgeVec's binary quantization at the same 48 bytes
// per 384-d vector (npm EdgeVec 0.9.0 has no PQ). Each session is one process; its entries are
// measured in interleaved rounds. Rerank 100 = 10·k, Quiver's default for PQ, BIN and IVF-PQ.
export function quantSessions({ quick }) {
  if (quick) return [];
  const rerankSweep = (extra = {}) => [0, 100].map((rerank) => ({
    params: { ...extra, rerank },
    label: [...Object.entries(extra).map(([k, v]) => `${k}=${v}`), `rerank=${rerank}`].join(" "),
  }));
  const quiver = (spec, search) => ["simd", "scalar"].map((variant) => ({
    id: `quiver-${variant} ${spec}`, library: "quiver", adapter: "quiver", options: { variant }, build: { spec }, search,
  }));
  return [
    {
      label: "quant: 48-byte codes (Quiver PQ48, BIN; EdgeVec BQ)",
      entries: [
        ...quiver("PQ48", rerankSweep()),
        ...quiver("BIN", rerankSweep()),
        // EdgeVec's Flat index over 1-bit codes: the codes alone, no rerank possible.
        ...["sign", "centered"].map((bits) => ({
          id: `edgevec binary-flat ${bits}`, library: "edgevec", adapter: "edgevec",
          build: { index: "binary-flat", bits }, search: [{}],
        })),
        // EdgeVec's BQ on its HNSW graph (f32 vectors and graph kept beside the codes).
        {
          id: "edgevec hnsw+bq", library: "edgevec", adapter: "edgevec",
          build: { m: 16, efConstruction: 200, ef: 64, bq: true },
          search: [
            { params: { bq: "raw" }, label: "searchBQ" },
            { params: { bq: "rescore", rescore: 10 }, label: "searchBQRescored x10" },
            { params: {}, label: "f32 search" },
          ],
        },
      ],
    },
    {
      label: "quant: IVF over codes (Quiver IVF256,PQ48, IVF64,SQ8)",
      entries: [
        ...quiver("IVF256,PQ48", rerankSweep({ nprobe: 32 })),
        ...quiver("IVF64,SQ8", [8, 16].map((nprobe) => ({ params: { nprobe, rerank: 0 }, label: `nprobe=${nprobe} rerank=0` }))),
      ],
    },
  ];
}

// The scale benchmark's data and its search measurement, shared by bench/scale.mjs (Node) and
// bench/browser/ (Chromium):
// no Node imports, so a browser can load it. See bench/scale.mjs for what the data is.

/** A seeded generator of uniforms in [0, 1) (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes vector `i` of the grown set into `row`: copy 0 (`i < dev.rows`) is the dev vector
 * itself; copy c > 0 moves it by a Gaussian step of norm about `spread` and normalizes it.
 */
export function grownRow(dev, i, spread, row) {
  const { dim } = dev;
  const source = i % dev.rows;
  const copy = Math.floor(i / dev.rows);
  row.set(dev.data.subarray(source * dim, (source + 1) * dim));
  if (copy === 0) return;
  const sigma = spread / Math.sqrt(dim);
  const next = rng(copy * 0x9e3779b1 + source);
  for (let j = 0; j < dim; j += 2) {
    // Box–Muller: two standard normals per two uniforms.
    const r = Math.sqrt(-2 * Math.log(1 - next())) * sigma;
    const t = 2 * Math.PI * next();
    row[j] += r * Math.cos(t);
    if (j + 1 < dim) row[j + 1] += r * Math.sin(t);
  }
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += row[j] * row[j];
  const scale = 1 / Math.sqrt(norm);
  for (let j = 0; j < dim; j++) row[j] *= scale;
}

/**
 * Searches `store` with the first `count` of `queries` (`{ dim, data }`) and scores the hits
 * against `truth` (`{ data }`, `k` ids per query; hit ids are `v<row>`): recall@k, p50/p99
 * latency in ms and QPS. `onQuery(done)` is called after each query.
 */
export async function measureQueries(store, queries, truth, count, k, params, onQuery = () => {}) {
  const latencies = [];
  let recall = 0;
  const s0 = performance.now();
  for (let q = 0; q < count; q++) {
    const vector = queries.data.subarray(q * queries.dim, (q + 1) * queries.dim);
    const start = performance.now();
    const hits = await store.search({ vector, k, params });
    latencies.push(performance.now() - start);
    const expected = new Set(truth.data.subarray(q * k, (q + 1) * k));
    recall += hits.filter((h) => expected.has(Number(h.id.slice(1)))).length / k;
    onQuery(q + 1);
  }
  const seconds = (performance.now() - s0) / 1000;
  latencies.sort((a, b) => a - b);
  const pick = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { recall: recall / count, p50: pick(0.5), p99: pick(0.99), qps: count / seconds };
}

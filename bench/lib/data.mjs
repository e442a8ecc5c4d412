// Dataset loading for the benchmarks: TEXMEX folders (base.fvecs, query.fvecs,
// groundtruth.ivecs), or a single .fvecs / .npy file from which queries are split off with a
// fixed seed and exact ground truth is computed (float64 brute force, ties by smaller index).
// Prepared single-file datasets are cached as TEXMEX folders under bench/results/cache/.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";

/** Reads `.fvecs` (Float32Array) or `.ivecs` (Int32Array) into `{ dim, rows, data }`. */
export function readVecs(path) {
  const bytes = readFileSync(path);
  const isInt = path.endsWith(".ivecs");
  if (bytes.byteLength === 0) return { dim: 0, rows: 0, data: isInt ? new Int32Array(0) : new Float32Array(0) };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dim = view.getInt32(0, true);
  if (dim <= 0 || bytes.byteLength % (4 * (dim + 1)) !== 0) {
    throw new Error(`${path}: not a TEXMEX file (dimension ${dim}, ${bytes.byteLength} bytes)`);
  }
  const rows = bytes.byteLength / (4 * (dim + 1));
  // Copy the payload into an aligned buffer, skipping each record's dimension word.
  const words = new Int32Array(rows * dim);
  const src = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  for (let r = 0; r < rows; r++) {
    if (src[r * (dim + 1)] !== dim) throw new Error(`${path}: record ${r} has dimension ${src[r * (dim + 1)]}`);
    words.set(src.subarray(r * (dim + 1) + 1, (r + 1) * (dim + 1)), r * dim);
  }
  return { dim, rows, data: isInt ? words : new Float32Array(words.buffer) };
}

/** Writes `{ dim, rows, data }` as `.fvecs` or `.ivecs` (chosen by the data's type). */
export function writeVecs(path, { dim, rows, data }) {
  const out = new Int32Array(rows * (dim + 1));
  const words = new Int32Array(data.buffer, data.byteOffset, rows * dim);
  for (let r = 0; r < rows; r++) {
    out[r * (dim + 1)] = dim;
    out.set(words.subarray(r * dim, (r + 1) * dim), r * (dim + 1) + 1);
  }
  writeFileSync(path, new Uint8Array(out.buffer));
}

/** Reads a 2-D little-endian float32 or float64 `.npy` array (C order) as float32. */
export function readNpy(path) {
  const bytes = readFileSync(path);
  if (bytes.toString("latin1", 0, 6) !== "\x93NUMPY") throw new Error(`${path}: not an .npy file`);
  const major = bytes[6];
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.toString("latin1", headerStart, headerStart + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1] === "True";
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "").split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.length !== 2 || fortran) throw new Error(`${path}: need a 2-D C-order array, got shape (${shape}) fortran=${fortran}`);
  const [rows, dim] = shape;
  const payload = bytes.subarray(headerStart + headerLen);
  const aligned = new Uint8Array(payload); // copy: the payload offset need not be aligned
  let data;
  if (descr === "<f4") data = new Float32Array(aligned.buffer, 0, rows * dim);
  else if (descr === "<f8") data = Float32Array.from(new Float64Array(aligned.buffer, 0, rows * dim));
  else throw new Error(`${path}: dtype ${descr} not supported (need <f4 or <f8)`);
  return { dim, rows, data };
}

/** Deterministic PRNG (mulberry32) so splits and samples are the same on every run. */
import { rng } from "./grow.mjs";

export { rng };

function normsOf({ dim, rows, data }) {
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = r * dim; j < (r + 1) * dim; j++) s += data[j] * data[j];
    norms[r] = Math.sqrt(s);
  }
  return norms;
}

/**
 * Exact top-`k` base indices for each query, in float64, ties by smaller index. `metric` is
 * `cosine` (both sides normalized), `l2` or `dot`. Optionally only the first `limit` queries.
 */
export function exactGroundTruth(base, queries, metric, k = 100, limit = queries.rows) {
  const { dim } = base;
  k = Math.min(k, base.rows);
  const baseNorms = metric === "cosine" ? normsOf(base) : null;
  const out = new Int32Array(limit * k);
  const dist = new Float64Array(base.rows);
  const order = new Int32Array(base.rows);
  for (let q = 0; q < limit; q++) {
    const qo = q * dim;
    let qn = 0;
    for (let j = 0; j < dim; j++) qn += queries.data[qo + j] * queries.data[qo + j];
    qn = Math.sqrt(qn) || 1;
    for (let r = 0; r < base.rows; r++) {
      const ro = r * dim;
      let s = 0;
      if (metric === "l2") {
        for (let j = 0; j < dim; j++) { const d = queries.data[qo + j] - base.data[ro + j]; s += d * d; }
      } else {
        for (let j = 0; j < dim; j++) s += queries.data[qo + j] * base.data[ro + j];
        s = metric === "cosine" ? -s / (qn * (baseNorms[r] || 1)) : -s;
      }
      dist[r] = s;
      order[r] = r;
    }
    // Partial selection is not worth the code here: one sort per query is a few ms.
    const sorted = Array.from(order).sort((a, b) => dist[a] - dist[b] || a - b);
    for (let i = 0; i < k; i++) out[q * k + i] = sorted[i];
  }
  return { dim: k, rows: limit, data: out };
}

/** recall@k of `ids` (array of numbers) against the first k entries of ground-truth row q. */
export function recallAt(ids, truth, q, k) {
  const expected = new Set(truth.data.subarray(q * truth.dim, q * truth.dim + k));
  let hits = 0;
  for (let i = 0; i < Math.min(k, ids.length); i++) if (expected.has(ids[i])) hits++;
  return hits / k;
}

/**
 * Picks the metric whose exact search best reproduces the folder's ground truth on its first
 * few queries (TEXMEX folders do not say which metric their ground truth used).
 */
export function detectMetric(base, queries, truth, probe = 8) {
  const n = Math.min(probe, queries.rows, truth.rows);
  let best = { metric: "cosine", agreement: -1 };
  for (const metric of ["cosine", "l2", "dot"]) {
    const gt = exactGroundTruth(base, queries, metric, 10, n);
    let agreement = 0;
    for (let q = 0; q < n; q++) agreement += recallAt(Array.from(gt.data.subarray(q * 10, q * 10 + 10)), truth, q, 10);
    agreement /= n;
    if (agreement > best.agreement) best = { metric, agreement };
    if (agreement === 1) break;
  }
  return best;
}

/**
 * Resolves the benchmark input to a TEXMEX folder: a folder is used as is; a single `.fvecs`
 * or `.npy` file is split (seeded) into base and `nQueries` queries, with exact ground truth,
 * and cached under `cacheRoot`. Returns `{ dir, name, metric }` (metric: the one the ground
 * truth was computed with, or null when the folder's own ground truth is used).
 */
export function prepareDataset(input, { cacheRoot, metric = "cosine", nQueries = 500, seed = 42, log = console.error }) {
  const path = resolve(input);
  const stat = statSync(path);
  if (stat.isDirectory()) {
    for (const f of ["base.fvecs", "query.fvecs"]) {
      if (!existsSync(join(path, f))) throw new Error(`${path}: missing ${f}`);
    }
    if (existsSync(join(path, "groundtruth.ivecs"))) return { dir: path, name: basename(path), computedMetric: null };
    // A folder without ground truth: compute it once into the cache.
    const key = createHash("sha256").update(`${path}|${stat.mtimeMs}|${metric}`).digest("hex").slice(0, 12);
    const dir = join(cacheRoot, `${basename(path)}-${metric}-${key}`);
    if (!existsSync(join(dir, "groundtruth.ivecs"))) {
      mkdirSync(dir, { recursive: true });
      const base = readVecs(join(path, "base.fvecs"));
      const queries = readVecs(join(path, "query.fvecs"));
      log(`[data] computing exact ${metric} ground truth for ${queries.rows} queries x ${base.rows} rows`);
      writeVecs(join(dir, "base.fvecs"), base);
      writeVecs(join(dir, "query.fvecs"), queries);
      writeAtomically(join(dir, "groundtruth.ivecs"), exactGroundTruth(base, queries, metric));
    }
    return { dir, name: basename(path), computedMetric: metric };
  }
  const all = path.endsWith(".npy") ? readNpy(path) : path.endsWith(".fvecs") ? readVecs(path) : null;
  if (!all) throw new Error(`${path}: expected a TEXMEX folder, a .fvecs or a .npy file`);
  nQueries = Math.min(nQueries, Math.floor(all.rows / 10));
  const key = createHash("sha256").update(`${path}|${stat.size}|${stat.mtimeMs}|${metric}|${nQueries}|${seed}`).digest("hex").slice(0, 12);
  const dir = join(cacheRoot, `${basename(path).replace(/\.(npy|fvecs)$/, "")}-${metric}-${key}`);
  if (!existsSync(join(dir, "groundtruth.ivecs"))) {
    mkdirSync(dir, { recursive: true });
    // Seeded Fisher-Yates: the first nQueries rows of the permutation become the queries.
    const random = rng(seed);
    const perm = Int32Array.from({ length: all.rows }, (_, i) => i);
    for (let i = all.rows - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    const queryRows = Array.from(perm.subarray(0, nQueries)).sort((a, b) => a - b);
    const isQuery = new Uint8Array(all.rows);
    for (const r of queryRows) isQuery[r] = 1;
    const take = (rows) => {
      const data = new Float32Array(rows.length * all.dim);
      rows.forEach((r, i) => data.set(all.data.subarray(r * all.dim, (r + 1) * all.dim), i * all.dim));
      return { dim: all.dim, rows: rows.length, data };
    };
    const baseRows = [];
    for (let r = 0; r < all.rows; r++) if (!isQuery[r]) baseRows.push(r);
    const base = take(baseRows);
    const queries = take(queryRows);
    log(`[data] split ${path}: ${base.rows} base, ${queries.rows} queries (seed ${seed}); computing exact ${metric} ground truth`);
    writeVecs(join(dir, "base.fvecs"), base);
    writeVecs(join(dir, "query.fvecs"), queries);
    writeAtomically(join(dir, "groundtruth.ivecs"), exactGroundTruth(base, queries, metric));
  }
  return { dir, name: basename(path), computedMetric: metric };
}

function writeAtomically(path, vecs) {
  writeVecs(`${path}.tmp`, vecs);
  renameSync(`${path}.tmp`, path);
}

/** Loads a prepared TEXMEX folder. */
export function loadDataset(dir) {
  return {
    base: readVecs(join(dir, "base.fvecs")),
    queries: readVecs(join(dir, "query.fvecs")),
    truth: readVecs(join(dir, "groundtruth.ivecs")),
  };
}

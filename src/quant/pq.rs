//! PQ: product quantization (Jégou, Douze & Schmid, "Product quantization for nearest neighbor
//! search", TPAMI 2011) with `m` sub-quantizers of `nbits = 8`.
//!
//! The `dim` dimensions are cut into `m` contiguous sub-spaces of `dsub = dim / m` dimensions
//! (`dim` must be divisible by `m`: a typed `invalid_spec` error otherwise). Each sub-space has
//! its own codebook of `ksub = 256` centroids, trained with seeded k-means (k-means++ then
//! Lloyd, [`super::kmeans()`]) on the sub-vectors; a vector is encoded as the index of the
//! nearest centroid in each sub-space: `m` bytes.
//!
//! Search is asymmetric (ADC): a query builds `m` lookup tables of 256 entries, the distance
//! between its sub-vector and every centroid of that sub-space (squared L2, or minus the inner
//! product for `dot`/`cosine`); the distance to a code is then the sum of `m` table entries,
//! exact for the decoded vector. Building the tables costs `256 · dim` multiply-adds, the same
//! as scoring 256 raw vectors; scanning a code costs `m` lookups.

use super::encoding::Encoding;
use super::{seeded, training_rows, Codec, Sample, SplitMix64};
use crate::distance::quantized::{pq_adc, pq_adc4, PQ_KSUB};
use crate::distance::Metric;
use crate::error::{Error, Result};

/// Centroids per sub-space (`2^nbits`).
pub const KSUB: usize = PQ_KSUB;

/// Fewest vectors PQ trains on: one per centroid. Explicit training accepts this; the automatic
/// threshold is higher ([`PQ_AUTO_TRAIN`]).
pub const PQ_MIN_TRAIN: usize = KSUB;

/// Buffered vectors at which a PQ index trains itself: faiss's 39 points per centroid.
pub const PQ_AUTO_TRAIN: usize = super::MIN_POINTS_PER_CENTROID * KSUB;

/// Lloyd iterations per sub-space codebook (faiss uses 25). With 15, PQ48 recall@10 on MiniLM
/// is within 0.008 of faiss's, with and without rerank (`bench/README.md`).
pub const PQ_TRAIN_ITERATIONS: usize = 15;

/// A product quantizer with `m` sub-quantizers of 256 centroids.
#[derive(Debug, Clone, PartialEq)]
pub struct Pq {
    dim: usize,
    metric: Metric,
    m: usize,
    dsub: usize,
    /// `m × 256 × dsub`: sub-space `j`'s codebook is rows `j·256 .. (j+1)·256`. Empty until
    /// trained.
    centroids: Vec<f32>,
    /// The same codebooks laid out for encoding: per sub-space, the 256 squared norms `‖c‖²`
    /// followed by the centroids transposed (`dsub × 256`), `(dsub + 1) × 256` floats.
    transposed: Vec<f32>,
}

impl Pq {
    /// An untrained quantizer; `dim` must be a positive multiple of `m`.
    pub fn new(dim: usize, metric: Metric, m: usize) -> Result<Self> {
        if m == 0 || dim == 0 || dim % m != 0 {
            return Err(Error::InvalidSpec {
                spec: format!("PQ{m}"),
                reason: format!(
                    "PQ needs the dimension to be divisible by m: {dim} is not divisible by {m}"
                ),
            });
        }
        Ok(Pq {
            dim,
            metric,
            m,
            dsub: dim / m,
            centroids: Vec::new(),
            transposed: Vec::new(),
        })
    }

    /// A trained quantizer from stored codebooks (a snapshot).
    pub fn from_codebooks(
        dim: usize,
        metric: Metric,
        m: usize,
        centroids: Vec<f32>,
    ) -> Result<Self> {
        let mut pq = Pq::new(dim, metric, m)?;
        if centroids.len() != KSUB * dim || centroids.iter().any(|x| !x.is_finite()) {
            return Err(Error::Corrupt {
                what: "PQ codebooks".into(),
            });
        }
        pq.transposed = transpose_codebooks(&centroids, m, dim / m);
        pq.centroids = centroids;
        Ok(pq)
    }

    /// Number of sub-quantizers.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Dimensions per sub-space.
    pub fn dsub(&self) -> usize {
        self.dsub
    }

    /// The codebooks, `m × 256 × dsub` (empty until trained).
    pub fn codebooks(&self) -> &[f32] {
        &self.centroids
    }

    fn codebook(&self, j: usize) -> &[f32] {
        &self.centroids[j * KSUB * self.dsub..(j + 1) * KSUB * self.dsub]
    }

    /// Lookup tables of `query` under `metric` into `tables` (`m × 256`): squared L2 (`l2`) or
    /// minus the inner product (`dot`, `cosine`) between each query sub-vector and each
    /// centroid of its sub-space.
    pub fn tables_for(&self, metric: Metric, query: &[f32], tables: &mut Vec<f32>) {
        tables.resize(self.m * KSUB, 0.0);
        for (j, table) in tables.chunks_exact_mut(KSUB).enumerate() {
            let sub = &query[j * self.dsub..(j + 1) * self.dsub];
            metric.distance_batch(sub, self.codebook(j), table);
        }
    }

    /// Distance of one code from prepared tables (same arithmetic as [`Codec::distances`]).
    #[inline]
    pub fn distance(&self, tables: &[f32], code: &[u8]) -> f32 {
        pq_adc(tables, code)
    }

    /// ADC over a block of codes (`m` bytes each) into `out`, four codes per kernel call.
    pub fn scan(&self, tables: &[f32], codes: &[u8], out: &mut [f32]) {
        let m = self.m;
        let mut groups = codes.chunks_exact(4 * m);
        let mut out_groups = out.chunks_exact_mut(4);
        for (group, out4) in (&mut groups).zip(&mut out_groups) {
            let (c0, rest) = group.split_at(m);
            let (c1, rest) = rest.split_at(m);
            let (c2, c3) = rest.split_at(m);
            out4.copy_from_slice(&pq_adc4(tables, [c0, c1, c2, c3]));
        }
        for (code, o) in groups
            .remainder()
            .chunks_exact(m)
            .zip(out_groups.into_remainder())
        {
            *o = pq_adc(tables, code);
        }
    }
}

impl Codec for Pq {
    /// The `m × 256` lookup tables.
    type Query = Vec<f32>;

    fn encoding(&self) -> Encoding {
        Encoding::Pq { m: self.m }
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    fn code_size(&self) -> usize {
        self.m
    }

    fn is_trained(&self) -> bool {
        !self.centroids.is_empty()
    }

    fn min_train_vectors(&self) -> usize {
        PQ_MIN_TRAIN
    }

    fn auto_train_vectors(&self) -> usize {
        PQ_AUTO_TRAIN
    }

    fn train(&mut self, data: &[f32], seed: u64) -> Result<()> {
        let n = training_rows(data, self.dim, PQ_MIN_TRAIN)?;
        let mut rng = seeded(seed);
        // At most 256 points per centroid, drawn once and shared by every sub-space.
        let n_train = n.min(KSUB * super::MAX_POINTS_PER_CENTROID);
        let rows = sample_indices(n, n_train, &mut rng);
        let dsub = self.dsub;
        let mut centroids = Vec::with_capacity(self.m * KSUB * dsub);
        let mut sub = Vec::with_capacity(n_train * dsub);
        for j in 0..self.m {
            sub.clear();
            for &row in &rows {
                let start = row * self.dim + j * dsub;
                sub.extend_from_slice(&data[start..start + dsub]);
            }
            let mut sub_rng = rng.fork();
            centroids.extend(train_codebook(
                &sub,
                dsub,
                PQ_TRAIN_ITERATIONS,
                &mut sub_rng,
            ));
        }
        self.transposed = transpose_codebooks(&centroids, self.m, dsub);
        self.centroids = centroids;
        Ok(())
    }

    fn encode(&self, vector: &[f32], out: &mut [u8]) {
        let dsub = self.dsub;
        let stride = (dsub + 1) * KSUB;
        for (j, o) in out.iter_mut().enumerate().take(self.m) {
            let sub = &vector[j * dsub..(j + 1) * dsub];
            let book = &self.transposed[j * stride..(j + 1) * stride];
            *o = nearest_centroid(sub, book).0 as u8;
        }
    }

    fn decode(&self, code: &[u8], out: &mut [f32]) {
        let dsub = self.dsub;
        for (j, &c) in code.iter().enumerate().take(self.m) {
            let centroid = &self.codebook(j)[usize::from(c) * dsub..(usize::from(c) + 1) * dsub];
            out[j * dsub..(j + 1) * dsub].copy_from_slice(centroid);
        }
    }

    fn prepare(&self, query: &[f32], tables: &mut Vec<f32>) {
        self.tables_for(self.metric, query, tables);
    }

    fn distances(&self, tables: &Vec<f32>, codes: &[u8], out: &mut [f32]) {
        self.scan(tables, codes, out);
    }

    /// 10·k candidates rescored exactly (rerank 100 at k = 10, the setting).
    fn default_rerank(&self, k: usize) -> usize {
        k.saturating_mul(10)
    }

    fn memory_bytes(&self) -> usize {
        (self.centroids.capacity() + self.transposed.capacity()) * 4
    }

    /// `u8 trained`, then the `256 × dim` codebook floats.
    fn write_params(&self, out: &mut dyn crate::codec::Write) {
        out.u8(self.is_trained() as u8);
        if self.is_trained() {
            out.f32s(&self.centroids);
        }
    }

    fn read_params(self, input: &mut dyn crate::codec::Read) -> Result<Self> {
        if !super::read_trained_flag(input)? {
            return Ok(self);
        }
        let centroids = input.f32s((KSUB * self.dim) as u64, "PQ codebooks")?;
        Pq::from_codebooks(self.dim, self.metric, self.m, centroids)
    }
}

/// `count` distinct row indices out of `n` (partial Fisher–Yates), in increasing order.
fn sample_indices(n: usize, count: usize, rng: &mut SplitMix64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if count < n {
        for i in 0..count {
            let j = i + rng.below(n - i);
            order.swap(i, j);
        }
        order.truncate(count);
        order.sort_unstable();
    }
    order
}

/// Per sub-space: 256 squared norms, then the `dsub × 256` transposed centroids.
fn transpose_codebooks(centroids: &[f32], m: usize, dsub: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(m * (dsub + 1) * KSUB);
    for book in centroids.chunks_exact(KSUB * dsub).take(m) {
        out.extend(
            book.chunks_exact(dsub)
                .map(|c| c.iter().map(|&x| x * x).sum::<f32>()),
        );
        for d in 0..dsub {
            out.extend(book.chunks_exact(dsub).map(|c| c[d]));
        }
    }
    out
}

/// The nearest of 256 centroids to `x` under squared L2, ties to the lower index, with its
/// distance. `book` is one sub-space of [`transpose_codebooks`]: computing
/// `‖c‖² − 2·x·c` for all 256 centroids at once is a loop over contiguous lanes
/// ([`crate::distance::axpy`], explicit SIMD128 in wasm, where LLVM left the plain loop
/// scalar), whatever `dsub` is, where a per-centroid distance
/// over `dsub = 8` floats would be all loop overhead. (That is what makes training 10× faster
/// than the generic k-means assignment.)
#[inline]
fn nearest_centroid(x: &[f32], book: &[f32]) -> (usize, f32) {
    let (norms, columns) = book.split_at(KSUB);
    let mut acc = [0.0f32; KSUB];
    acc.copy_from_slice(norms);
    for (&xd, column) in x.iter().zip(columns.chunks_exact(KSUB)) {
        crate::distance::axpy(&mut acc, -2.0 * xd, column);
    }
    let mut best = (0usize, f32::INFINITY);
    for (c, &d) in acc.iter().enumerate() {
        if d < best.1 {
            best = (c, d);
        }
    }
    let x_norm: f32 = x.iter().map(|&v| v * v).sum();
    (best.0, (best.1 + x_norm).max(0.0))
}

/// Trains one sub-space codebook: 256 distinct training points drawn with the seed as the
/// initial centroids (faiss's PQ initialisation; k-means++ costs as much as several Lloyd
/// passes here and gains nothing measurable on 8-dimensional sub-spaces), then `iterations`
/// Lloyd passes. An empty cluster is re-seeded at the point farthest from its centroid in the
/// largest cluster, as in [`super::kmeans`].
fn train_codebook(sub: &[f32], dsub: usize, iterations: usize, rng: &mut SplitMix64) -> Vec<f32> {
    let n = sub.len() / dsub;
    let mut centroids: Vec<f32> = sample_indices(n, KSUB.min(n), rng)
        .iter()
        .flat_map(|&i| sub[i * dsub..(i + 1) * dsub].iter().copied())
        .collect();
    // Fewer points than centroids (explicit training allows n ≥ 256, so only with duplicates
    // handled below): pad by repeating; the repeats stay empty and are split.
    while centroids.len() < KSUB * dsub {
        let c = centroids[..dsub].to_vec();
        centroids.extend(c);
    }
    let mut labels = vec![0usize; n];
    let mut distances = vec![0.0f32; n];
    let mut sums = vec![0.0f64; KSUB * dsub];
    let mut counts = vec![0usize; KSUB];
    for _ in 0..iterations {
        let book = transpose_codebooks(&centroids, 1, dsub);
        let mut changed = 0;
        for ((x, label), distance) in sub
            .chunks_exact(dsub)
            .zip(labels.iter_mut())
            .zip(distances.iter_mut())
        {
            let (best, d) = nearest_centroid(x, &book);
            changed += usize::from(*label != best);
            *label = best;
            *distance = d;
        }
        sums.fill(0.0);
        counts.fill(0);
        for (x, &label) in sub.chunks_exact(dsub).zip(&labels) {
            counts[label] += 1;
            for (s, &v) in sums[label * dsub..(label + 1) * dsub].iter_mut().zip(x) {
                *s += f64::from(v);
            }
        }
        for ((centroid, sum), &count) in centroids
            .chunks_exact_mut(dsub)
            .zip(sums.chunks_exact(dsub))
            .zip(&counts)
        {
            if count > 0 {
                for (c, &s) in centroid.iter_mut().zip(sum) {
                    *c = (s / count as f64) as f32;
                }
            }
        }
        for empty in 0..KSUB {
            if counts[empty] > 0 {
                continue;
            }
            let donor =
                (0..KSUB).fold(0, |best, c| if counts[c] > counts[best] { c } else { best });
            if counts[donor] < 2 {
                break;
            }
            let farthest = (0..n)
                .filter(|&i| labels[i] == donor && distances[i] >= 0.0)
                .fold(None, |best: Option<usize>, i| match best {
                    Some(b) if distances[b] >= distances[i] => Some(b),
                    _ => Some(i),
                });
            let Some(point) = farthest else { break };
            distances[point] = -1.0;
            centroids[empty * dsub..(empty + 1) * dsub]
                .copy_from_slice(&sub[point * dsub..(point + 1) * dsub]);
            let moved = counts[donor] / 2;
            counts[donor] -= moved;
            counts[empty] = moved;
        }
        if changed == 0 {
            break;
        }
    }
    centroids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clustered(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = seeded(seed);
        let centres: Vec<f32> = (0..8 * dim).map(|_| rng.unit_f64() as f32 * 4.0).collect();
        (0..n)
            .flat_map(|_| {
                let c = rng.below(8);
                (0..dim)
                    .map(|d| centres[c * dim + d] + (rng.unit_f64() as f32 - 0.5) * 0.2)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn dim_must_be_divisible_by_m() {
        assert_eq!(
            Pq::new(10, Metric::L2, 4).unwrap_err().code(),
            "invalid_spec"
        );
        assert!(Pq::new(12, Metric::L2, 4).is_ok());
    }

    #[test]
    fn adc_equals_distance_to_decoded_vector_and_training_is_deterministic() {
        let dim = 16;
        let data = clustered(600, dim, 1);
        for metric in [Metric::L2, Metric::Dot] {
            let mut pq = Pq::new(dim, metric, 4).unwrap();
            pq.train(&data, 7).unwrap();
            let mut again = Pq::new(dim, metric, 4).unwrap();
            again.train(&data, 7).unwrap();
            assert_eq!(pq, again);
            let query = &data[5 * dim..6 * dim];
            let mut tables = Vec::new();
            pq.prepare(query, &mut tables);
            let mut codes = vec![0u8; 9 * 4];
            for (row, code) in data.chunks_exact(dim).zip(codes.chunks_exact_mut(4)) {
                pq.encode(row, code);
            }
            let mut out = vec![0.0; 9];
            pq.distances(&tables, &codes, &mut out);
            let mut back = vec![0.0; dim];
            for (code, &d) in codes.chunks_exact(4).zip(&out) {
                pq.decode(code, &mut back);
                let expect = metric.distance(query, &back);
                assert!(
                    (d - expect).abs() <= 1e-4 * (1.0 + expect.abs()),
                    "{metric}"
                );
            }
        }
    }

    #[test]
    fn reconstruction_error_is_small_on_clustered_data() {
        let dim = 16;
        let data = clustered(2000, dim, 2);
        let mut pq = Pq::new(dim, Metric::L2, 8).unwrap();
        pq.train(&data, 1).unwrap();
        let (mut code, mut back) = (vec![0u8; 8], vec![0.0; dim]);
        let (mut error, mut energy) = (0.0f64, 0.0f64);
        for row in data.chunks_exact(dim) {
            pq.encode(row, &mut code);
            pq.decode(&code, &mut back);
            error += f64::from(Metric::L2.distance(row, &back));
            energy += row
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum::<f64>();
        }
        // Noise is ±0.1 per dimension around 8 centres; 256 centroids per 2-d sub-space leave
        // well under 1% of the energy as error.
        assert!(error / energy < 0.01, "relative error {}", error / energy);
    }
}

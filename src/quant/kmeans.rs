//! Seeded k-means: k-means++ initialisation, then Lloyd iterations (or mini-batch updates),
//! with every point-to-centroid distance computed by the batched SIMD kernel.
//!
//! What it promises:
//! - **Geometry.** Squared L2. With [`KmeansParams::spherical`] the centroids are re-normalized
//!   after every update (spherical k-means, Dhillon & Modha 2001): on unit vectors, the nearest
//!   unit centroid under L2 is the one with the largest inner product, so this is how cosine
//!   data is clustered. Inner-product (`dot`) data is clustered under plain L2.
//! - **Training on a sample.** At most `max_points_per_centroid · k` points are used (faiss uses
//!   256), drawn without replacement with the seed; fewer than `min_points_per_centroid · k`
//!   points (faiss warns below 39) is a typed error, because centroids trained on a handful of
//!   points each are mostly noise. Callers that know better can lower the floor to 1.
//! - **Empty clusters** are split off the largest cluster: the empty centroid moves to the point
//!   of the largest cluster farthest from that cluster's centroid (the relocation sklearn makes,
//!   restricted to the cluster a split would help most), so every centroid stays on the data.
//! - **Determinism.** Same data, parameters and seed → bit-identical centroids. Ties in
//!   assignment go to the lower centroid index.
//! - **Mini-batch** (Sculley 2010) for large samples: each step assigns a random batch and moves
//!   each centroid towards its points with a per-centroid learning rate `1 / count`.

use super::rng::{seeded, Sample, SplitMix64};
use crate::distance::{self, Metric};
use crate::error::{Error, Result};

/// faiss's default cap on training points per centroid: beyond it, more points barely move the
/// centroids but cost linear time.
pub const MAX_POINTS_PER_CENTROID: usize = 256;

/// faiss's warning floor on training points per centroid; below it centroids are mostly noise.
pub const MIN_POINTS_PER_CENTROID: usize = 39;

/// Points assigned per kernel call: each centroid row is read once per block of points.
const ASSIGN_BLOCK: usize = 8;

/// Parameters of one k-means run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmeansParams {
    /// Seed of sampling, initialisation and mini-batch draws.
    pub seed: u64,
    /// Lloyd iterations (full passes), or mini-batch steps when `mini_batch` is set. Lloyd stops
    /// early once no assignment changes.
    pub iterations: usize,
    /// Training uses at most this many points per centroid (a seeded sample of the input).
    pub max_points_per_centroid: usize,
    /// Fewer than this many points per centroid is an error (1 allows any `n ≥ k`).
    pub min_points_per_centroid: usize,
    /// Re-normalize centroids to unit length after each update (spherical k-means, for cosine).
    pub spherical: bool,
    /// `Some(b)`: mini-batch k-means with `b` points per step instead of full Lloyd passes.
    pub mini_batch: Option<usize>,
}

impl Default for KmeansParams {
    fn default() -> Self {
        KmeansParams {
            seed: 0x5EED_0F0E,
            iterations: 20,
            max_points_per_centroid: MAX_POINTS_PER_CENTROID,
            min_points_per_centroid: MIN_POINTS_PER_CENTROID,
            spherical: false,
            mini_batch: None,
        }
    }
}

/// What a run did, for tests, benchmarks and callers judging the result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KmeansStats {
    /// Points actually trained on (after sampling).
    pub n_train: usize,
    /// Lloyd passes (or mini-batch steps) performed.
    pub iterations: usize,
    /// Sum of squared L2 distances of the training points to their nearest returned centroid.
    pub inertia: f64,
    /// Inertia measured at each assignment pass, in order (Lloyd: non-increasing; mini-batch:
    /// the inertia of each batch, noisy), ending with the final centroids' inertia.
    pub inertia_trace: Vec<f64>,
    /// How many times an empty cluster was re-seeded by splitting the largest one.
    pub empty_splits: usize,
}

/// `k` trained centroids of dimension `dim`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Centroids {
    dim: usize,
    data: Vec<f32>,
    /// How training went.
    pub stats: KmeansStats,
}

impl Centroids {
    /// Wraps existing row-major centroids (for example ones read back from a snapshot).
    pub fn from_rows(dim: usize, data: Vec<f32>) -> Result<Self> {
        if dim == 0 || data.is_empty() || data.len() % dim != 0 {
            return Err(Error::InvalidArgument {
                name: "centroids",
                reason: format!("{} floats do not form rows of dimension {dim}", data.len()),
            });
        }
        Ok(Centroids {
            dim,
            data,
            stats: KmeansStats::default(),
        })
    }

    /// Number of centroids.
    pub fn k(&self) -> usize {
        self.data.len() / self.dim
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// All centroids, row-major (`k × dim`).
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Centroid `i`.
    pub fn get(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The nearest centroid (squared L2, ties to the lower index) and its distance.
    pub fn nearest(&self, vector: &[f32]) -> (usize, f32) {
        let mut distances = vec![0.0; self.k()];
        Metric::L2.distance_batch(vector, &self.data, &mut distances);
        argmin(&distances)
    }

    /// Nearest centroid of every row of `data` (row-major, `n × dim`) and its distance.
    pub fn assign(&self, data: &[f32]) -> (Vec<u32>, Vec<f32>) {
        let n = data.len() / self.dim;
        let mut labels = vec![u32::MAX; n];
        let mut distances = vec![0.0; n];
        let mut buffer = Vec::new();
        assign(
            data,
            self.dim,
            &self.data,
            &mut labels,
            &mut distances,
            &mut buffer,
        );
        (labels, distances)
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.data.capacity() * 4 + self.stats.inertia_trace.capacity() * 8
    }
}

fn invalid(name: &'static str, reason: String) -> Error {
    Error::InvalidArgument { name, reason }
}

/// Clusters the `n × dim` row-major `data` into `k` centroids. See the module documentation for
/// the rules; errors are typed and nothing panics on bad input.
pub fn kmeans(data: &[f32], dim: usize, k: usize, params: &KmeansParams) -> Result<Centroids> {
    if dim == 0 {
        return Err(invalid("dim", "must be positive".into()));
    }
    if data.len() % dim != 0 {
        return Err(invalid(
            "data",
            format!(
                "{} floats is not a whole number of rows of {dim}",
                data.len()
            ),
        ));
    }
    if k == 0 {
        return Err(invalid("k", "must be positive".into()));
    }
    let n = data.len() / dim;
    let min_ppc = params.min_points_per_centroid.max(1);
    let max_ppc = params.max_points_per_centroid;
    if max_ppc < min_ppc {
        return Err(invalid(
            "max_points_per_centroid",
            format!("{max_ppc} is below min_points_per_centroid {min_ppc}"),
        ));
    }
    if params.mini_batch == Some(0) {
        return Err(invalid("mini_batch", "batch size must be positive".into()));
    }
    let needed = k.saturating_mul(min_ppc);
    if n < needed {
        return Err(invalid(
            "training vectors",
            format!(
                "k-means with k = {k} needs at least {needed} training vectors \
                 ({min_ppc} per centroid), got {n}"
            ),
        ));
    }
    if let Some((i, &value)) = data.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(Error::NonFiniteComponent {
            item: i / dim,
            component: i % dim,
            value,
        });
    }

    let mut rng = seeded(params.seed);
    let n_train = n.min(k.saturating_mul(max_ppc));
    let sample_storage;
    let train: &[f32] = if n_train < n {
        sample_storage = sample_rows(data, dim, n_train, &mut rng);
        &sample_storage
    } else {
        data
    };

    let mut centroids = kmeans_plus_plus(train, dim, k, &mut rng);
    if params.spherical {
        normalize_rows(&mut centroids, dim);
    }
    let mut stats = KmeansStats {
        n_train,
        ..KmeansStats::default()
    };
    match params.mini_batch {
        Some(batch) if batch < n_train => mini_batch(
            train,
            dim,
            &mut centroids,
            batch,
            params,
            &mut rng,
            &mut stats,
        ),
        _ => lloyd(train, dim, &mut centroids, params, &mut stats),
    }
    Ok(Centroids {
        dim,
        data: centroids,
        stats,
    })
}

/// `count` distinct rows drawn without replacement (partial Fisher–Yates), copied out in their
/// original order so the sample is read sequentially afterwards.
fn sample_rows(data: &[f32], dim: usize, count: usize, rng: &mut SplitMix64) -> Vec<f32> {
    let n = data.len() / dim;
    let mut order: Vec<u32> = (0..n as u32).collect();
    for i in 0..count {
        let j = i + rng.below(n - i);
        order.swap(i, j);
    }
    let chosen = &mut order[..count];
    chosen.sort_unstable();
    let mut out = Vec::with_capacity(count * dim);
    for &row in chosen.iter() {
        let row = row as usize;
        out.extend_from_slice(&data[row * dim..(row + 1) * dim]);
    }
    out
}

/// k-means++ seeding (Arthur & Vassilvitskii 2007): the first centroid uniformly, each next one
/// with probability proportional to its squared distance to the nearest centroid chosen so far.
/// Each round is one batched kernel pass over the points.
fn kmeans_plus_plus(train: &[f32], dim: usize, k: usize, rng: &mut SplitMix64) -> Vec<f32> {
    let n = train.len() / dim;
    let row = |i: usize| &train[i * dim..(i + 1) * dim];
    let mut centroids = Vec::with_capacity(k * dim);
    centroids.extend_from_slice(row(rng.below(n)));
    let mut nearest = vec![0.0f32; n];
    Metric::L2.distance_batch(&centroids[..dim], train, &mut nearest);
    let mut fresh = vec![0.0f32; n];
    for _ in 1..k {
        let total: f64 = nearest.iter().map(|&d| f64::from(d)).sum();
        let pick = if total > 0.0 && total.is_finite() {
            let mut target = rng.unit_f64() * total;
            let mut pick = n - 1;
            for (i, &d) in nearest.iter().enumerate() {
                target -= f64::from(d);
                if target < 0.0 {
                    pick = i;
                    break;
                }
            }
            pick
        } else {
            // Every point coincides with a centroid: fewer distinct points than k. Any choice
            // duplicates a centroid; the duplicates stay empty and are reported as such.
            rng.below(n)
        };
        let start = centroids.len();
        centroids.extend_from_slice(row(pick));
        Metric::L2.distance_batch(&centroids[start..start + dim], train, &mut fresh);
        for (best, &d) in nearest.iter_mut().zip(&fresh) {
            if d < *best {
                *best = d;
            }
        }
    }
    centroids
}

/// Index and value of the smallest distance, ties to the lower index.
#[inline]
fn argmin(distances: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::INFINITY);
    for (i, &d) in distances.iter().enumerate() {
        if d < best.1 {
            best = (i, d);
        }
    }
    best
}

/// Assigns every row of `data` to its nearest centroid. Returns the inertia and how many labels
/// changed.
fn assign(
    data: &[f32],
    dim: usize,
    centroids: &[f32],
    labels: &mut [u32],
    distances: &mut [f32],
    buffer: &mut Vec<f32>,
) -> (f64, usize) {
    let k = centroids.len() / dim;
    buffer.resize(ASSIGN_BLOCK * k, 0.0);
    let mut inertia = 0.0f64;
    let mut changed = 0;
    for ((block, block_labels), block_distances) in data
        .chunks(ASSIGN_BLOCK * dim)
        .zip(labels.chunks_mut(ASSIGN_BLOCK))
        .zip(distances.chunks_mut(ASSIGN_BLOCK))
    {
        let out = &mut buffer[..block_labels.len() * k];
        Metric::L2.distance_block(block, dim, centroids, out);
        for ((row, label), distance) in out
            .chunks_exact(k)
            .zip(block_labels.iter_mut())
            .zip(block_distances.iter_mut())
        {
            let (best, d) = argmin(row);
            if *label != best as u32 {
                changed += 1;
                *label = best as u32;
            }
            // The kernel can round a true zero to a tiny negative; inertia counts it as zero.
            *distance = d.max(0.0);
            inertia += f64::from(*distance);
        }
    }
    (inertia, changed)
}

fn normalize_rows(rows: &mut [f32], dim: usize) {
    for row in rows.chunks_exact_mut(dim) {
        // A zero centroid has no direction; it stays put and will be re-seeded if it empties.
        distance::normalize(row);
    }
}

/// Full-pass Lloyd iterations with empty-cluster splitting. Ends with an assignment pass so the
/// reported inertia is that of the returned centroids.
fn lloyd(
    train: &[f32],
    dim: usize,
    centroids: &mut [f32],
    params: &KmeansParams,
    stats: &mut KmeansStats,
) {
    let n = train.len() / dim;
    let k = centroids.len() / dim;
    let mut labels = vec![u32::MAX; n];
    let mut distances = vec![0.0f32; n];
    let mut buffer = Vec::new();
    let mut sums = vec![0.0f64; k * dim];
    let mut counts = vec![0usize; k];
    let mut iteration = 0;
    loop {
        let (inertia, changed) = assign(
            train,
            dim,
            centroids,
            &mut labels,
            &mut distances,
            &mut buffer,
        );
        stats.inertia_trace.push(inertia);
        stats.inertia = inertia;
        // Unchanged labels would give the same means again: converged.
        if iteration == params.iterations || (iteration > 0 && changed == 0) {
            break;
        }
        iteration += 1;
        sums.fill(0.0);
        counts.fill(0);
        for (row, &label) in train.chunks_exact(dim).zip(&labels) {
            let label = label as usize;
            counts[label] += 1;
            for (s, &x) in sums[label * dim..(label + 1) * dim].iter_mut().zip(row) {
                *s += f64::from(x);
            }
        }
        for (c, (centroid, sum)) in centroids
            .chunks_exact_mut(dim)
            .zip(sums.chunks_exact(dim))
            .enumerate()
        {
            if counts[c] > 0 {
                let inverse = 1.0 / counts[c] as f64;
                for (x, &s) in centroid.iter_mut().zip(sum) {
                    *x = (s * inverse) as f32;
                }
            }
        }
        stats.empty_splits +=
            split_empty_clusters(train, dim, centroids, &labels, &mut distances, &mut counts);
        if params.spherical {
            normalize_rows(centroids, dim);
        }
    }
    stats.iterations = iteration;
}

/// Re-seeds each empty centroid at the point of the currently largest cluster farthest from
/// that cluster's centroid, and halves the donor's count so that several empty clusters draw
/// on several large ones. `distances` (each point's distance to its centroid) marks used points.
fn split_empty_clusters(
    train: &[f32],
    dim: usize,
    centroids: &mut [f32],
    labels: &[u32],
    distances: &mut [f32],
    counts: &mut [usize],
) -> usize {
    let mut splits = 0;
    for empty in 0..counts.len() {
        if counts[empty] > 0 {
            continue;
        }
        // Largest cluster, ties to the lower index.
        let mut donor = 0;
        for (c, &count) in counts.iter().enumerate() {
            if count > counts[donor] {
                donor = c;
            }
        }
        if counts[donor] < 2 {
            break;
        }
        let mut farthest: Option<(usize, f32)> = None;
        for (i, (&label, &d)) in labels.iter().zip(distances.iter()).enumerate() {
            if label as usize == donor && d >= 0.0 && farthest.is_none_or(|(_, best)| d > best) {
                farthest = Some((i, d));
            }
        }
        let Some((point, _)) = farthest else {
            break;
        };
        distances[point] = -1.0;
        let (source, target) = (point * dim, empty * dim);
        centroids[target..target + dim].copy_from_slice(&train[source..source + dim]);
        let moved = counts[donor] / 2;
        counts[donor] -= moved;
        counts[empty] = moved;
        splits += 1;
    }
    splits
}

/// Mini-batch k-means (Sculley 2010), then one full assignment (splitting any cluster left
/// empty) so the reported inertia is that of the returned centroids over the whole sample.
fn mini_batch(
    train: &[f32],
    dim: usize,
    centroids: &mut [f32],
    batch: usize,
    params: &KmeansParams,
    rng: &mut SplitMix64,
    stats: &mut KmeansStats,
) {
    let n = train.len() / dim;
    let k = centroids.len() / dim;
    let mut counts = vec![0u64; k];
    let mut batch_rows = vec![0.0f32; batch * dim];
    let mut labels = vec![u32::MAX; batch];
    let mut distances = vec![0.0f32; batch];
    let mut buffer = Vec::new();
    for _ in 0..params.iterations {
        for row in batch_rows.chunks_exact_mut(dim) {
            let i = rng.below(n);
            row.copy_from_slice(&train[i * dim..(i + 1) * dim]);
        }
        let (inertia, _) = assign(
            &batch_rows,
            dim,
            centroids,
            &mut labels,
            &mut distances,
            &mut buffer,
        );
        stats.inertia_trace.push(inertia);
        for (row, &label) in batch_rows.chunks_exact(dim).zip(&labels) {
            let label = label as usize;
            counts[label] += 1;
            let rate = 1.0 / counts[label] as f32;
            for (c, &x) in centroids[label * dim..(label + 1) * dim]
                .iter_mut()
                .zip(row)
            {
                *c += rate * (x - *c);
            }
        }
        if params.spherical {
            normalize_rows(centroids, dim);
        }
        stats.iterations += 1;
    }
    let mut labels = vec![u32::MAX; n];
    let mut distances = vec![0.0f32; n];
    let (mut inertia, _) = assign(
        train,
        dim,
        centroids,
        &mut labels,
        &mut distances,
        &mut buffer,
    );
    let mut sizes = vec![0usize; k];
    for &label in &labels {
        sizes[label as usize] += 1;
    }
    let splits = split_empty_clusters(train, dim, centroids, &labels, &mut distances, &mut sizes);
    if splits > 0 {
        if params.spherical {
            normalize_rows(centroids, dim);
        }
        inertia = assign(
            train,
            dim,
            centroids,
            &mut labels,
            &mut distances,
            &mut buffer,
        )
        .0;
    }
    stats.empty_splits += splits;
    stats.inertia_trace.push(inertia);
    stats.inertia = inertia;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` points around `clusters` random centres in `[-1, 1]^dim`, with noise `spread`.
    fn clustered(seed: u64, n: usize, dim: usize, clusters: usize, spread: f32) -> Vec<f32> {
        let mut rng = seeded(seed);
        let mut signed = move || rng.unit_f64() as f32 * 2.0 - 1.0;
        let centres: Vec<f32> = (0..clusters * dim).map(|_| signed()).collect();
        let mut out = Vec::with_capacity(n * dim);
        for i in 0..n {
            let c = i % clusters;
            for d in 0..dim {
                out.push(centres[c * dim + d] + spread * signed());
            }
        }
        out
    }

    fn params(seed: u64) -> KmeansParams {
        KmeansParams {
            seed,
            ..KmeansParams::default()
        }
    }

    #[test]
    fn same_seed_gives_identical_centroids() {
        let data = clustered(1, 2000, 16, 10, 0.2);
        let a = kmeans(&data, 16, 10, &params(7)).unwrap();
        let b = kmeans(&data, 16, 10, &params(7)).unwrap();
        assert_eq!(a, b);
        let c = kmeans(&data, 16, 10, &params(8)).unwrap();
        assert_ne!(
            a.as_slice(),
            c.as_slice(),
            "a different seed starts elsewhere"
        );
    }

    #[test]
    fn lloyd_inertia_never_increases_and_finds_planted_clusters() {
        let (dim, k) = (12, 8);
        let data = clustered(3, 4000, dim, k, 0.1);
        let result = kmeans(&data, dim, k, &params(11)).unwrap();
        let trace = &result.stats.inertia_trace;
        assert!(trace.len() >= 2, "seed 11: trace {trace:?}");
        for pair in trace.windows(2) {
            assert!(
                pair[1] <= pair[0] * (1.0 + 1e-6),
                "seed 11: inertia rose {trace:?}"
            );
        }
        // Well-separated planted clusters: each point ends near its centre, so the mean squared
        // distance is close to the noise variance dim · spread² / 3.
        let mean = result.stats.inertia / 4000.0;
        let noise = dim as f64 * 0.01 / 3.0;
        assert!(
            mean < 1.5 * noise,
            "seed 11: mean inertia {mean} vs noise {noise}"
        );
        let (labels, _) = result.assign(&data);
        for c in 0..k {
            assert!(labels.iter().any(|&l| l as usize == c), "cluster {c} empty");
        }
    }

    #[test]
    fn an_empty_cluster_is_split_off_the_largest() {
        // Two tight blobs, and a third centroid far from every point: it gets no points in the
        // first assignment and must be re-seeded inside the bigger blob.
        let dim = 2;
        let mut data = Vec::new();
        for i in 0..300 {
            let jitter = (i % 10) as f32 * 0.01;
            data.extend_from_slice(&[0.0 + jitter, 0.0 - jitter]);
        }
        for i in 0..100 {
            let jitter = (i % 10) as f32 * 0.01;
            data.extend_from_slice(&[5.0 + jitter, 5.0]);
        }
        let mut centroids = vec![0.05, -0.05, 5.05, 5.0, 100.0, 100.0];
        let mut stats = KmeansStats::default();
        let p = KmeansParams {
            iterations: 5,
            ..KmeansParams::default()
        };
        lloyd(&data, dim, &mut centroids, &p, &mut stats);
        assert!(stats.empty_splits >= 1, "{stats:?}");
        let c = Centroids {
            dim,
            data: centroids.clone(),
            stats: stats.clone(),
        };
        let (labels, _) = c.assign(&data);
        let mut sizes = [0; 3];
        for &l in &labels {
            sizes[l as usize] += 1;
        }
        assert!(
            sizes.iter().all(|&s| s > 0),
            "sizes {sizes:?}, {centroids:?}"
        );
        // The re-seeded centroid lives in the big blob.
        assert!(centroids[4] < 1.0 && centroids[5] < 1.0, "{centroids:?}");
    }

    #[test]
    fn spherical_centroids_are_unit_length() {
        let mut data = clustered(5, 1000, 8, 5, 0.3);
        for row in data.chunks_exact_mut(8) {
            distance::normalize(row);
        }
        let p = KmeansParams {
            spherical: true,
            ..params(2)
        };
        let result = kmeans(&data, 8, 5, &p).unwrap();
        for i in 0..5 {
            let norm = distance::norm(result.get(i));
            assert!((norm - 1.0).abs() < 1e-5, "centroid {i} norm {norm}");
        }
    }

    #[test]
    fn mini_batch_gets_close_to_lloyd() {
        let (dim, k) = (10, 16);
        let data = clustered(9, 8000, dim, k, 0.15);
        let full = kmeans(&data, dim, k, &params(4)).unwrap();
        let p = KmeansParams {
            mini_batch: Some(512),
            iterations: 100,
            ..params(4)
        };
        let mb = kmeans(&data, dim, k, &p).unwrap();
        assert_eq!(mb.stats.iterations, 100);
        assert!(
            mb.stats.inertia <= 1.2 * full.stats.inertia,
            "seed 4: mini-batch {} vs lloyd {}",
            mb.stats.inertia,
            full.stats.inertia
        );
        assert_eq!(mb, kmeans(&data, dim, k, &p).unwrap(), "deterministic");
    }

    #[test]
    fn samples_at_most_max_points_per_centroid() {
        let data = clustered(2, 3000, 4, 4, 0.2);
        let p = KmeansParams {
            max_points_per_centroid: 100,
            ..params(1)
        };
        let result = kmeans(&data, 4, 4, &p).unwrap();
        assert_eq!(result.stats.n_train, 400);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let data = clustered(2, 100, 4, 4, 0.2);
        let code = |r: Result<Centroids>| r.unwrap_err().code();
        assert_eq!(code(kmeans(&data, 4, 10, &params(1))), "invalid_argument");
        assert_eq!(code(kmeans(&data, 0, 2, &params(1))), "invalid_argument");
        assert_eq!(
            code(kmeans(&data[..5], 4, 1, &params(1))),
            "invalid_argument"
        );
        assert_eq!(code(kmeans(&data, 4, 0, &params(1))), "invalid_argument");
        let relaxed = KmeansParams {
            min_points_per_centroid: 1,
            ..params(1)
        };
        assert!(kmeans(&data, 4, 10, &relaxed).is_ok());
        assert_eq!(code(kmeans(&data, 4, 101, &relaxed)), "invalid_argument");
        let mut bad = data.clone();
        bad[7] = f32::NAN;
        assert_eq!(code(kmeans(&bad, 4, 2, &relaxed)), "invalid_vector");
    }

    #[test]
    fn duplicate_points_do_not_break_training() {
        // Three distinct points, five centroids: two must stay duplicates, nothing panics.
        let data: Vec<f32> = (0..60).flat_map(|i| [(i % 3) as f32, 1.0]).collect();
        let relaxed = KmeansParams {
            min_points_per_centroid: 1,
            ..params(3)
        };
        let result = kmeans(&data, 2, 5, &relaxed).unwrap();
        assert_eq!(result.stats.inertia, 0.0);
    }
}

//! Shared helpers for the native integration tests: the real data set (skipped with a message
//! when absent), seeded synthetic data, brute-force ground truth and recall.
#![allow(dead_code)]

use std::path::PathBuf;

use quiver::texmex::{parse_fvecs, parse_ivecs};
use quiver::{Collection, CollectionConfig, Item, Metric};

/// A TEXMEX data set: base vectors, queries and exact ground truth.
pub struct DataSet {
    pub dim: usize,
    pub base: Vec<f32>,
    pub queries: Vec<f32>,
    /// Row-major ground truth, `gt_k` ids per query.
    pub truth: Vec<i32>,
    pub gt_k: usize,
}

impl DataSet {
    pub fn n_base(&self) -> usize {
        self.base.len() / self.dim
    }
    pub fn n_queries(&self) -> usize {
        self.queries.len() / self.dim
    }
    pub fn query(&self, q: usize) -> &[f32] {
        &self.queries[q * self.dim..(q + 1) * self.dim]
    }
    pub fn row(&self, i: usize) -> &[f32] {
        &self.base[i * self.dim..(i + 1) * self.dim]
    }
}

/// `$QUIVER_DATA_DIR`, or `../shared/data` beside the repository.
pub fn data_dir() -> PathBuf {
    std::env::var_os("QUIVER_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
}

/// Loads `dev-minilm-20k` with the given file names, or prints why it is skipped and returns
/// `None`.
pub fn load_dev_set(base: &str, query: &str, truth: &str) -> Option<DataSet> {
    let dir = data_dir().join("dev-minilm-20k");
    let read = |name: &str| std::fs::read(dir.join(name));
    match (read(base), read(query), read(truth)) {
        (Ok(b), Ok(q), Ok(t)) => {
            let (dim, base) = parse_fvecs(&b).expect("base parses");
            let (_, queries) = parse_fvecs(&q).expect("queries parse");
            let (gt_k, truth) = parse_ivecs(&t).expect("ground truth parses");
            Some(DataSet {
                dim,
                base,
                queries,
                truth,
                gt_k,
            })
        }
        _ => {
            eprintln!(
                "SKIPPED: real data set not found at {} (set QUIVER_DATA_DIR)",
                dir.display()
            );
            None
        }
    }
}

/// The cosine dev set (`base.fvecs`, `query.fvecs`, `groundtruth.ivecs`).
pub fn dev_cosine() -> Option<DataSet> {
    load_dev_set("base.fvecs", "query.fvecs", "groundtruth.ivecs")
}

/// The L2 dev set (scaled copies with `groundtruth-l2.ivecs`).
pub fn dev_l2() -> Option<DataSet> {
    load_dev_set(
        "base-scaled.fvecs",
        "query-scaled.fvecs",
        "groundtruth-l2.ivecs",
    )
}

/// The committed 3k-passage fixture (always present).
pub fn fixture_3k() -> DataSet {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm-3k");
    let read = |name: &str| std::fs::read(dir.join(name)).expect("fixture present");
    let (dim, base) = parse_fvecs(&read("base.fvecs")).unwrap();
    let (_, queries) = parse_fvecs(&read("query.fvecs")).unwrap();
    let (gt_k, truth) = parse_ivecs(&read("groundtruth.ivecs")).unwrap();
    DataSet {
        dim,
        base,
        queries,
        truth,
        gt_k,
    }
}

/// SplitMix64: a tiny seeded generator for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform in [-1, 1).
    pub fn signed(&mut self) -> f32 {
        self.unit() * 2.0 - 1.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.signed()).collect()
    }
}

/// Seeded clustered data: `n` points around `clusters` random centres.
pub fn clustered(seed: u64, n: usize, dim: usize, clusters: usize) -> Vec<f32> {
    let mut rng = Rng(seed);
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| rng.vector(dim)).collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = &centres[rng.below(clusters)];
        out.extend(c.iter().map(|x| x + 0.15 * rng.signed()));
    }
    out
}

/// A collection over row-major `data` with ids `"0".."n-1"`.
pub fn collection_with(spec: &str, metric: Metric, dim: usize, data: &[f32]) -> Collection {
    let mut collection = Collection::new(CollectionConfig::new(
        dim,
        metric,
        spec.parse().expect("spec parses"),
    ))
    .expect("collection");
    let ids: Vec<String> = (0..data.len() / dim).map(|i| i.to_string()).collect();
    for (chunk_ids, chunk) in ids.chunks(4096).zip(data.chunks(4096 * dim)) {
        let items: Vec<Item> = chunk_ids
            .iter()
            .zip(chunk.chunks_exact(dim))
            .map(|(id, v)| Item {
                id,
                vector: v,
                metadata: None,
            })
            .collect();
        collection.add(&items).expect("add");
    }
    collection
}

/// Brute-force top-k (internal distance, ties by index) in f64: the reference.
pub fn brute_force(
    metric: Metric,
    dim: usize,
    data: &[f32],
    query: &[f32],
    k: usize,
) -> Vec<usize> {
    let q: Vec<f64> = query.iter().map(|&x| x as f64).collect();
    let q_norm = q.iter().map(|x| x * x).sum::<f64>().sqrt();
    let mut scored: Vec<(f64, usize)> = data
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, row)| {
            let dot: f64 = row.iter().zip(&q).map(|(&a, b)| a as f64 * b).sum();
            let distance = match metric {
                Metric::L2 => row
                    .iter()
                    .zip(&q)
                    .map(|(&a, b)| (a as f64 - b).powi(2))
                    .sum(),
                Metric::Dot => -dot,
                Metric::Cosine => {
                    let norm = row.iter().map(|&a| (a as f64).powi(2)).sum::<f64>().sqrt();
                    -dot / (norm * q_norm)
                }
            };
            (distance, i)
        })
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

/// Recall@k of a collection (ids are row numbers) against row-major ground truth.
pub fn recall(
    collection: &Collection,
    set: &DataSet,
    k: usize,
    params: &quiver::SearchParams,
) -> f64 {
    let mut found = Vec::with_capacity(set.n_queries());
    for q in 0..set.n_queries() {
        let hits = collection
            .search_with(set.query(q), k, params)
            .expect("search");
        found.push(
            hits.iter()
                .map(|h| h.id.parse::<u32>().unwrap())
                .collect::<Vec<u32>>(),
        );
    }
    quiver::texmex::recall_at_k(&found, &set.truth, set.gt_k, k)
}

//! Recall of the quantized families on real data (`dev-minilm-20k`, skipped with a message when
//! absent), against exact ground truth, with and without rerank.

mod common;

use std::time::Instant;

use common::{collection_with, dev_cosine, dev_l2, recall};
use quiver::{Metric, SearchParams};

fn params(rerank: Option<usize>, nprobe: Option<usize>) -> SearchParams<'static> {
    SearchParams {
        rerank,
        nprobe,
        ..SearchParams::default()
    }
}

/// Builds `spec` over the dev set once, then checks recall@10 for each `(rerank, nprobe, min)`.
fn check(spec: &str, metric: Metric, cases: &[(Option<usize>, Option<usize>, f64)]) {
    let set = match metric {
        Metric::L2 => dev_l2(),
        _ => dev_cosine(),
    };
    let Some(set) = set else { return };
    let started = Instant::now();
    let collection = collection_with(spec, metric, set.dim, &set.base);
    let built = started.elapsed();
    assert!(collection.index().is_trained(), "{spec}: trained itself");
    for &(rerank, nprobe, min) in cases {
        let r = recall(&collection, &set, 10, &params(rerank, nprobe));
        eprintln!(
            "{spec} {metric} rerank {rerank:?} nprobe {nprobe:?}: recall@10 {r:.4} \
             (build {built:.1?}, {} bytes)",
            collection.index().memory_bytes()
        );
        assert!(
            r >= min,
            "{spec} {metric} rerank {rerank:?} nprobe {nprobe:?}: recall@10 {r} < {min}"
        );
    }
}

#[test]
fn sq8_without_rerank() {
    check(
        "SQ8",
        Metric::Cosine,
        &[(None, None, 0.95), (Some(0), None, 0.95)],
    );
    check("SQ8", Metric::L2, &[(Some(0), None, 0.95)]);
}

#[test]
fn pq48_with_rerank_100() {
    check(
        "PQ48",
        Metric::Cosine,
        &[
            (Some(0), None, 0.6),
            (Some(100), None, 0.95),
            (None, None, 0.95),
        ],
    );
}

#[test]
fn bin_with_rerank() {
    check(
        "BIN",
        Metric::Cosine,
        &[
            (Some(0), None, 0.5),
            (Some(100), None, 0.9),
            (None, None, 0.9),
        ],
    );
}

#[test]
fn ivf_pq_with_rerank_at_tuned_nprobe() {
    check(
        "IVF256,PQ48",
        Metric::Cosine,
        &[
            (Some(0), Some(32), 0.6),
            (Some(100), Some(16), 0.9),
            // nprobe 32 of 256 lists (12.5%): the coarse quantizer, not PQ, limits recall.
            (Some(100), Some(32), 0.95),
            (None, Some(32), 0.95),
        ],
    );
}

#[test]
fn ivf_sq8_at_tuned_nprobe() {
    check(
        "IVF256,SQ8",
        Metric::Cosine,
        &[(Some(0), Some(16), 0.9), (Some(0), Some(32), 0.95)],
    );
}

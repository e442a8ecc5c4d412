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

// IVF256,SQ8 (recall@10 0.971 at nprobe 32) is measured by `examples/quant_bench.rs` and
// checked on synthetic data in `tests/quant.rs`; a dev-set build here would cost another
// coarse k-means of the test budget.

/// The checks `tests/wasm_recall.rs` runs in WebAssembly, natively on the same 3k fixture.
#[test]
fn fixture_recall_matches_the_wasm_checks() {
    let set = common::fixture_3k();
    for (spec, rerank, nprobe, min) in [
        ("SQ8", 0, None, 0.95),
        ("PQ48", 100, None, 0.95),
        ("BIN", 100, None, 0.9),
        ("IVF32,PQ48", 100, Some(12), 0.95),
    ] {
        let mut collection = collection_with(spec, Metric::Cosine, set.dim, &set.base);
        if !collection.index().is_trained() {
            collection.index_mut().train_on_stored().unwrap();
        }
        let r = recall(&collection, &set, 10, &params(Some(rerank), nprobe));
        eprintln!("fixture {spec} rerank {rerank} nprobe {nprobe:?}: recall@10 {r:.4}");
        assert!(r >= min, "fixture {spec}: recall@10 {r} < {min}");
    }
}

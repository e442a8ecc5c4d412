//! Monitoring hooks of the core: memory by component, tombstone counts, and measured recall.

mod common;

use common::{clustered, collection_with};
use quiver::{Metric, SearchParams};

const SPECS: &[&str] = &[
    "Flat", "SQ8", "PQ8", "IVF8", "IVF8,SQ8", "IVF8,PQ8", "HNSW16",
];

#[test]
fn memory_breakdown_sums_to_memory_bytes() {
    let dim = 32;
    let data = clustered(11, 1000, dim, 8);
    for spec in SPECS {
        let collection = collection_with(spec, Metric::L2, dim, &data);
        let index = collection.index();
        let parts = index.memory_breakdown();
        assert_eq!(parts.total(), index.memory_bytes(), "{spec}: {parts:?}");
        // 1000 vectors of 32 f32 are 128 kB whichever way they are held.
        assert!(
            parts.vectors + parts.codes >= 1000 * dim,
            "{spec}: nothing counted as vectors or codes: {parts:?}"
        );
        assert_eq!(
            collection.memory_bytes(),
            index.memory_bytes() + collection.metadata_memory_bytes()
        );
    }
}

#[test]
fn hnsw_reports_tombstones_flat_does_not() {
    let dim = 16;
    let data = clustered(12, 500, dim, 4);
    for (spec, expect) in [("Flat", 0), ("HNSW8", 3)] {
        let mut collection = collection_with(spec, Metric::L2, dim, &data);
        collection.delete(&["1", "2", "3"]).expect("delete");
        assert_eq!(collection.index().tombstones(), expect, "{spec}");
    }
}

#[test]
fn measured_recall_is_exact_for_flat_and_reaches_the_tuned_target() {
    let dim = 32;
    let data = clustered(13, 2000, dim, 16);
    let none = SearchParams::default();
    let flat = collection_with("Flat", Metric::Cosine, dim, &data);
    let report = flat.measure_recall(None, 10, 50, &none).expect("measure");
    assert_eq!(report.recall, 1.0);
    assert_eq!(report.queries, 50);

    for spec in ["IVF16", "HNSW8"] {
        let mut collection = collection_with(spec, Metric::Cosine, dim, &data);
        let tuned = collection.tune(None, 0.95, 10).expect("tune");
        assert!(tuned.reached, "{spec}: {tuned:?}");
        // Same sample (same seed and size), so the recall at the tuned defaults is the tuned one.
        let measured = collection
            .measure_recall(None, 10, 100, &none)
            .expect("measure");
        assert_eq!(measured.recall, tuned.recall, "{spec}");
    }

    let bad = flat.measure_recall(None, 0, 10, &none);
    assert_eq!(bad.expect_err("k = 0").code(), "invalid_k");
}

//! IVF on real data: recall at the tuned nprobe against the shipped exact ground truth,
//! determinism, deletes, filters, and the collection-level training/tuning surface.

mod common;

use common::{brute_force, collection_with, dev_cosine, dev_l2, fixture_3k, recall, DataSet};
use quiver::index::ivf::IvfFlat;
use quiver::index::{Index, IndexOptions, Scratch};
use quiver::{Collection, CollectionConfig, Metric, SearchDefaults, SearchParams};

/// Tunes on the collection's own vectors (leave-one-out), then checks recall@10 of the held-out
/// dev queries against the shipped ground truth at the tuned nprobe.
fn tuned_recall_on(set: &DataSet, metric: Metric, spec: &str) {
    let mut collection = collection_with(spec, metric, set.dim, &set.base);
    assert!(collection.index().is_trained(), "{spec} trained itself");
    // Tune a little above the bar: the sampled stored vectors stand in for the held-out queries.
    let report = collection.tune(None, 0.96, 10).unwrap();
    assert!(report.reached, "{report:?}");
    let nprobe = report.value;
    assert_eq!(collection.search_defaults().nprobe, Some(nprobe));
    let r = recall(&collection, set, 10, &SearchParams::default());
    eprintln!(
        "{spec} {metric}: tuned nprobe {nprobe} (sampled recall {:.3}, {} evaluations {:?}); \
         dev-query recall@10 {r:.4}",
        report.recall,
        report.evaluations.len(),
        report.evaluations
    );
    assert!(
        r >= 0.95,
        "{spec} {metric}: recall@10 {r} < 0.95 at nprobe {nprobe}"
    );
    // The binary search found the smallest value: one less misses the target on the sample.
    if nprobe > 1 {
        let below = report
            .evaluations
            .iter()
            .find(|(v, _)| *v == nprobe - 1)
            .map(|&(_, r)| r);
        assert!(below.is_none_or(|r| r < 0.96), "{report:?}");
    }
}

#[test]
fn ivf_cosine_recall_at_tuned_nprobe_on_dev_set() {
    let Some(set) = dev_cosine() else { return };
    tuned_recall_on(&set, Metric::Cosine, "IVF128");
}

#[test]
fn ivf_l2_recall_at_tuned_nprobe_on_scaled_dev_set() {
    let Some(set) = dev_l2() else { return };
    tuned_recall_on(&set, Metric::L2, "IVF128");
}

#[test]
fn tuning_with_given_queries_reaches_the_target_on_the_fixture() {
    let set = fixture_3k();
    let mut collection = collection_with("IVF32", Metric::Cosine, set.dim, &set.base);
    let report = collection.tune(Some(&set.queries), 0.95, 10).unwrap();
    assert!(report.reached && report.value < 32, "{report:?}");
    // The tuned value is now the default, and a query's own nprobe still wins over it.
    let r = recall(&collection, &set, 10, &SearchParams::default());
    assert!(
        r >= 0.95,
        "fixture recall@10 {r} at tuned nprobe {}",
        report.value
    );
    let one = SearchParams {
        nprobe: Some(1),
        ..SearchParams::default()
    };
    let r1 = recall(&collection, &set, 10, &one);
    assert!(r1 < r, "nprobe 1 recall {r1} should be below the tuned {r}");
    collection.set_search_defaults(SearchDefaults::default());
    let all = SearchParams {
        nprobe: Some(32),
        ..SearchParams::default()
    };
    assert_eq!(recall(&collection, &set, 10, &all), 1.0);
}

#[test]
fn same_seed_same_centroids_and_results() {
    let set = fixture_3k();
    let ids: Vec<u32> = (0..set.n_base() as u32).collect();
    let build = |seed: u64| {
        let mut ivf = IvfFlat::new_flat(
            32,
            set.dim,
            Metric::Cosine,
            &IndexOptions {
                seed,
                ..IndexOptions::default()
            },
        );
        ivf.add(&ids, &set.base).unwrap();
        ivf
    };
    let (a, b, c) = (build(17), build(17), build(18));
    let centroids = a.centroids().expect("trained");
    assert_eq!(centroids, b.centroids().unwrap(), "seed 17");
    assert_ne!(centroids.as_slice(), c.centroids().unwrap().as_slice());
    assert_eq!(a.list_sizes(), b.list_sizes());
    let params = SearchParams {
        nprobe: Some(4),
        ..SearchParams::default()
    };
    let mut scratch = Scratch::default();
    for q in 0..set.n_queries() {
        let hits_a = a.search(set.query(q), 10, &params, &mut scratch).unwrap();
        let hits_b = b.search(set.query(q), 10, &params, &mut scratch).unwrap();
        assert_eq!(hits_a, hits_b, "seed 17, query {q}");
    }
}

#[test]
fn deleted_vectors_never_appear() {
    let set = fixture_3k();
    let mut collection = collection_with("IVF32", Metric::Cosine, set.dim, &set.base);
    let deleted: Vec<String> = (0..set.n_base())
        .step_by(3)
        .map(|i| i.to_string())
        .collect();
    collection.delete(&deleted).unwrap();
    let remaining: Vec<usize> = (0..set.n_base()).filter(|i| i % 3 != 0).collect();
    let kept: Vec<f32> = remaining
        .iter()
        .flat_map(|&i| set.row(i).iter().copied())
        .collect();
    for nprobe in [1, 4, 32] {
        let params = SearchParams {
            nprobe: Some(nprobe),
            ..SearchParams::default()
        };
        for q in 0..set.n_queries() {
            let hits = collection.search_with(set.query(q), 20, &params).unwrap();
            assert_eq!(hits.len(), 20);
            let found: Vec<usize> = hits.iter().map(|h| h.id.parse().unwrap()).collect();
            assert!(found.iter().all(|i| i % 3 != 0), "query {q}: {found:?}");
            // Deleted rows themselves (searched as queries) are gone too.
            if nprobe == 32 {
                let truth: Vec<usize> =
                    brute_force(Metric::Cosine, set.dim, &kept, set.query(q), 20)
                        .into_iter()
                        .map(|r| remaining[r])
                        .collect();
                assert_eq!(found, truth, "query {q}: probing every list is exact");
            }
        }
    }
    for i in (0..set.n_base()).step_by(3).take(50) {
        let hits = collection.search(set.row(i), 5).unwrap();
        assert!(hits.iter().all(|h| h.id != i.to_string()));
    }
}

#[test]
fn filtered_search_returns_min_k_matches_from_the_filter() {
    let set = fixture_3k();
    let collection = collection_with("IVF32", Metric::Cosine, set.dim, &set.base);
    // Internal ids follow insertion order here, so they are the row numbers.
    for (modulus, expect) in [(50u32, 10usize), (600, 5)] {
        let filter = move |id: u32| id % modulus == 7;
        let params = SearchParams {
            nprobe: Some(1),
            filter: Some(&filter),
            ..SearchParams::default()
        };
        for q in 0..20 {
            let hits = collection.search_with(set.query(q), 10, &params).unwrap();
            assert_eq!(hits.len(), expect, "modulus {modulus} query {q}");
            assert!(hits
                .iter()
                .all(|h| h.id.parse::<u32>().unwrap() % modulus == 7));
        }
    }
}

#[test]
fn training_and_tuning_errors_are_typed() {
    let set = fixture_3k();
    // 3000 vectors are below IVF128's auto-train threshold (39 · 128 = 4992): exact answers,
    // explicit training refuses, and tuning says the index is not trained.
    let mut collection = collection_with("IVF128", Metric::Cosine, set.dim, &set.base);
    assert!(!collection.index().is_trained());
    assert_eq!(recall(&collection, &set, 10, &SearchParams::default()), 1.0);
    assert_eq!(collection.train().unwrap_err().code(), "invalid_argument");
    assert_eq!(
        collection.tune(None, 0.9, 10).unwrap_err().code(),
        "not_trained"
    );
    let flat = collection_with("Flat", Metric::Cosine, set.dim, &set.base[..100 * set.dim]);
    assert_eq!(
        quiver::tune::tune(&flat, None, 0.9, 10).unwrap_err().code(),
        "unsupported"
    );
    let mut small = Collection::new(CollectionConfig::new(
        set.dim,
        Metric::Cosine,
        "IVF8".parse().unwrap(),
    ))
    .unwrap();
    assert_eq!(small.tune(None, 0.9, 10).unwrap_err().code(), "not_trained");
    let trained = collection_with("IVF16", Metric::Cosine, set.dim, &set.base);
    for (target, k) in [(0.0, 10), (1.5, 10), (f64::NAN, 10), (0.9, 0)] {
        let err = quiver::tune::tune(&trained, None, target, k).unwrap_err();
        assert!(
            ["invalid_argument", "invalid_k"].contains(&err.code()),
            "{target} {k}: {err}"
        );
    }
    let err = quiver::tune::tune(&trained, Some(&[0.0; 5]), 0.9, 10).unwrap_err();
    assert_eq!(err.code(), "invalid_argument");
    let bad = SearchParams {
        nprobe: Some(0),
        ..SearchParams::default()
    };
    assert_eq!(
        trained
            .search_with(set.query(0), 10, &bad)
            .unwrap_err()
            .code(),
        "invalid_argument"
    );
}

#[test]
fn explicit_training_through_the_collection() {
    let set = fixture_3k();
    // IVF64 needs 2496 vectors; add 2000 (stays exact), then the rest crosses the threshold.
    let mut collection = collection_with("IVF64", Metric::L2, set.dim, &set.base[..2000 * set.dim]);
    assert!(!collection.index().is_trained());
    assert_eq!(collection.train().unwrap_err().code(), "invalid_argument");
    let mut more = collection_with("IVF64", Metric::L2, set.dim, &set.base);
    assert!(more.index().is_trained());
    // Re-training on the stored vectors keeps every item and stays exact at nprobe = nlist.
    more.train().unwrap();
    assert_eq!(more.len(), set.n_base());
    let all = SearchParams {
        nprobe: Some(64),
        ..SearchParams::default()
    };
    for q in 0..10 {
        let truth = brute_force(Metric::L2, set.dim, &set.base, set.query(q), 10);
        let found: Vec<usize> = more
            .search_with(set.query(q), 10, &all)
            .unwrap()
            .iter()
            .map(|h| h.id.parse().unwrap())
            .collect();
        assert_eq!(found, truth, "query {q}");
    }
    drop(collection);
}

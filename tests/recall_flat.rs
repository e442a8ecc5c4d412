//! Exact search on real data: flat returns exactly the ground-truth top-10.

mod common;

use common::{collection_with, dev_cosine, dev_l2, fixture_3k, recall};
use quiver::{Metric, SearchParams};

#[test]
fn flat_cosine_recall_is_exact_on_dev_set() {
    let Some(set) = dev_cosine() else { return };
    let collection = collection_with("Flat", Metric::Cosine, set.dim, &set.base);
    let r = recall(&collection, &set, 10, &SearchParams::default());
    assert_eq!(r, 1.0, "flat cosine recall@10 = {r}");
}

#[test]
fn flat_l2_recall_is_exact_on_scaled_dev_set() {
    let Some(set) = dev_l2() else { return };
    let collection = collection_with("Flat", Metric::L2, set.dim, &set.base);
    let r = recall(&collection, &set, 10, &SearchParams::default());
    assert_eq!(r, 1.0, "flat l2 recall@10 = {r}");
}

#[test]
fn flat_batch_search_equals_single_search_on_fixture() {
    let set = fixture_3k();
    let collection = collection_with("Flat", Metric::Cosine, set.dim, &set.base);
    let params = SearchParams::default();
    let r = recall(&collection, &set, 10, &params);
    assert_eq!(r, 1.0, "fixture recall@10 = {r}");
    let batch = collection.search_batch(&set.queries, 10, &params).unwrap();
    for (q, hits) in batch.iter().enumerate() {
        assert_eq!(hits, &collection.search(set.query(q), 10).unwrap());
    }
}

//! Recall checks in WebAssembly (Node and headless Chromium) on the committed 3k fixture, which
//! is embedded in the test module because a browser cannot read files.
#![cfg(target_arch = "wasm32")]

use quiver::texmex::{parse_fvecs, parse_ivecs, recall_at_k};
use quiver::{Collection, Item, SearchParams};
use wasm_bindgen_test::wasm_bindgen_test;

const BASE: &[u8] = include_bytes!("fixtures/minilm-3k/base.fvecs");
const QUERIES: &[u8] = include_bytes!("fixtures/minilm-3k/query.fvecs");
const TRUTH: &[u8] = include_bytes!("fixtures/minilm-3k/groundtruth.ivecs");

/// Builds a cosine collection over the fixture and returns its recall@10 with `params`.
pub fn fixture_recall(spec: &str, params: &SearchParams) -> f64 {
    fixture_recall_with(spec, params, false)
}

/// [`fixture_recall`], training the index on the stored vectors first when it has not trained
/// itself (PQ's automatic threshold, 9984 vectors, is above the fixture's 3000).
pub fn fixture_recall_trained(spec: &str, params: &SearchParams) -> f64 {
    fixture_recall_with(spec, params, true)
}

fn fixture_recall_with(spec: &str, params: &SearchParams, train: bool) -> f64 {
    let (dim, base) = parse_fvecs(BASE).unwrap();
    let (_, queries) = parse_fvecs(QUERIES).unwrap();
    let (gt_k, truth) = parse_ivecs(TRUTH).unwrap();
    let mut collection = Collection::with_strings(dim, "cosine", spec).unwrap();
    let ids: Vec<String> = (0..base.len() / dim).map(|i| i.to_string()).collect();
    let items: Vec<Item> = ids
        .iter()
        .zip(base.chunks_exact(dim))
        .map(|(id, vector)| Item {
            id,
            vector,
            metadata: None,
        })
        .collect();
    collection.add(&items).unwrap();
    if train && !collection.index().is_trained() {
        collection.index_mut().train_on_stored().unwrap();
    }
    let found: Vec<Vec<u32>> = queries
        .chunks_exact(dim)
        .map(|q| {
            collection
                .search_with(q, 10, params)
                .unwrap()
                .iter()
                .map(|h| h.id.parse().unwrap())
                .collect()
        })
        .collect();
    recall_at_k(&found, &truth, gt_k, 10)
}

#[wasm_bindgen_test]
fn flat_is_exact_in_wasm() {
    let recall = fixture_recall("Flat", &SearchParams::default());
    assert_eq!(recall, 1.0, "flat recall@10 in wasm = {recall}");
}

fn rerank(rerank: usize, nprobe: Option<usize>) -> SearchParams<'static> {
    SearchParams {
        rerank: Some(rerank),
        nprobe,
        ..SearchParams::default()
    }
}

#[wasm_bindgen_test]
fn sq8_recall_in_wasm() {
    let recall = fixture_recall_trained("SQ8", &rerank(0, None));
    assert!(
        recall >= 0.95,
        "SQ8 recall@10 without rerank in wasm = {recall}"
    );
}

#[wasm_bindgen_test]
fn pq48_recall_with_rerank_in_wasm() {
    let recall = fixture_recall_trained("PQ48", &rerank(100, None));
    assert!(
        recall >= 0.95,
        "PQ48 rerank 100 recall@10 in wasm = {recall}"
    );
}

#[wasm_bindgen_test]
fn bin_recall_with_rerank_in_wasm() {
    let recall = fixture_recall_trained("BIN", &rerank(100, None));
    assert!(recall >= 0.9, "BIN rerank 100 recall@10 in wasm = {recall}");
}

#[wasm_bindgen_test]
fn ivf_pq_recall_with_rerank_in_wasm() {
    let recall = fixture_recall_trained("IVF32,PQ48", &rerank(100, Some(12)));
    assert!(
        recall >= 0.95,
        "IVF32,PQ48 rerank 100 nprobe 12 recall@10 in wasm = {recall}"
    );
}

/// The graph over SQ8 codes (SIMD kernels in wasm), with the default rerank (4·k) at the
/// default `ef_search` (64); `tests/recall_hnsw_sq8.rs` runs the same check natively.
#[wasm_bindgen_test]
fn hnsw_sq8_recall_in_wasm() {
    let params = SearchParams {
        ef_search: Some(64),
        ..SearchParams::default()
    };
    let recall = fixture_recall("HNSW16,SQ8", &params);
    assert!(
        recall >= 0.95,
        "HNSW16,SQ8 recall@10 with the default rerank in wasm = {recall}"
    );
}

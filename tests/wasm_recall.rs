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

//! The HNSW recall check in WebAssembly (SIMD128 kernels), on the committed 3k fixture:
//! run with wasm-bindgen-test in Node or headless Chromium (docs/hnsw.md).
#![cfg(target_arch = "wasm32")]

use quiver::texmex::{parse_fvecs, parse_ivecs, recall_at_k};
use quiver::{Collection, Item, SearchParams};
use wasm_bindgen_test::wasm_bindgen_test;

const BASE: &[u8] = include_bytes!("fixtures/minilm-3k/base.fvecs");
const QUERIES: &[u8] = include_bytes!("fixtures/minilm-3k/query.fvecs");
const TRUTH: &[u8] = include_bytes!("fixtures/minilm-3k/groundtruth.ivecs");

#[wasm_bindgen_test]
fn hnsw16_recall_at_10_on_fixture() {
    let (dim, base) = parse_fvecs(BASE).unwrap();
    let (_, queries) = parse_fvecs(QUERIES).unwrap();
    let (gt_k, truth) = parse_ivecs(TRUTH).unwrap();
    let mut collection = Collection::with_strings(dim, "cosine", "HNSW16").unwrap();
    let names: Vec<String> = (0..base.len() / dim).map(|i| i.to_string()).collect();
    let items: Vec<Item> = names
        .iter()
        .zip(base.chunks_exact(dim))
        .map(|(id, vector)| Item {
            id,
            vector,
            metadata: None,
        })
        .collect();
    collection.add(&items).unwrap();
    for (ef, min_recall) in [(16, 0.95), (64, 0.99)] {
        let params = SearchParams {
            ef_search: Some(ef),
            ..SearchParams::default()
        };
        let found: Vec<Vec<u32>> = queries
            .chunks_exact(dim)
            .map(|q| {
                collection
                    .search_with(q, 10, &params)
                    .unwrap()
                    .iter()
                    .map(|h| h.id.parse().unwrap())
                    .collect()
            })
            .collect();
        let recall = recall_at_k(&found, &truth, gt_k, 10);
        assert!(
            recall >= min_recall,
            "wasm HNSW16 recall@10 at ef {ef} = {recall} < {min_recall}"
        );
    }
}

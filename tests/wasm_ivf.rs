//! The IVF recall check inside WebAssembly (Node, or headless Chromium with
//! `WASM_BINDGEN_USE_BROWSER=1`), on the committed 3k fixture: the SIMD128 kernels, k-means and
//! the tuned nprobe must give the same guarantees as natively.
#![cfg(target_arch = "wasm32")]

use quiver::texmex::{parse_fvecs, parse_ivecs, recall_at_k};
use quiver::{Collection, Item, SearchParams};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

const BASE: &[u8] = include_bytes!("fixtures/minilm-3k/base.fvecs");
const QUERIES: &[u8] = include_bytes!("fixtures/minilm-3k/query.fvecs");
const TRUTH: &[u8] = include_bytes!("fixtures/minilm-3k/groundtruth.ivecs");

#[wasm_bindgen_test]
fn ivf_recall_at_tuned_nprobe_in_wasm() {
    let (dim, base) = parse_fvecs(BASE).unwrap();
    let (_, queries) = parse_fvecs(QUERIES).unwrap();
    let (gt_k, truth) = parse_ivecs(TRUTH).unwrap();
    let mut collection = Collection::with_strings(dim, "cosine", "IVF32").unwrap();
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
    let start = js_sys::Date::now();
    collection.add(&items).unwrap();
    let trained_ms = js_sys::Date::now() - start;
    assert!(collection.index().is_trained());
    let report = collection.tune(Some(&queries), 0.95, 10).unwrap();
    let found: Vec<Vec<u32>> = queries
        .chunks_exact(dim)
        .map(|q| {
            collection
                .search_with(q, 10, &SearchParams::default())
                .unwrap()
                .iter()
                .map(|h| h.id.parse().unwrap())
                .collect()
        })
        .collect();
    let recall = recall_at_k(&found, &truth, gt_k, 10);
    console_log!(
        "wasm (simd128: {}): IVF32 add+train of 3000 x {dim} in {trained_ms} ms; tuned nprobe {} \
         -> recall@10 {recall}",
        quiver::distance::SIMD128,
        report.value
    );
    assert!(
        recall >= 0.95,
        "recall@10 {recall} at nprobe {}",
        report.value
    );
}

//! Filtered search inside WebAssembly (Node and headless Chromium through
//! wasm-bindgen-test-runner): the parser's refusals and limits, and exact `min(k, matches)`
//! answers for every strategy at several selectivities, with and without a field index.
#![cfg(target_arch = "wasm32")]

use quiver::{Collection, Filter, Item, SearchParams, Strategy};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

const DIM: usize = 8;
const N: usize = 2_000;

fn row(i: usize) -> Vec<f32> {
    // A fixed, well-spread set of points: no ties at the top.
    (0..DIM)
        .map(|j| (((i * 7919 + j * 104_729) % 1_000) as f32) / 1_000.0 - 0.5)
        .collect()
}

fn collection() -> Collection {
    let mut c = Collection::with_strings(DIM, "l2", "Flat").unwrap();
    let ids: Vec<String> = (0..N).map(|i| i.to_string()).collect();
    let rows: Vec<Vec<f32>> = (0..N).map(row).collect();
    let items: Vec<Item> = (0..N)
        .map(|i| Item {
            id: &ids[i],
            vector: &rows[i],
            metadata: Some(json!({"bucket": (i * 37) % 1000, "tags": [format!("t{}", i % 10)]})),
        })
        .collect();
    c.add(&items).unwrap();
    c
}

#[wasm_bindgen_test]
fn malformed_filters_are_typed_errors_in_wasm() {
    for bad in [
        r#"{"__proto__": {"x": 1}}"#,
        r#"{"a": {"$where": 1}}"#,
        r#"{"a": {"$gt": true}}"#,
        r#"{"$or": []}"#,
        "[",
    ] {
        assert_eq!(
            Filter::from_json_str(bad).unwrap_err().code(),
            "invalid_filter"
        );
    }
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(
        Filter::from_json_str(&nested).unwrap_err().code(),
        "invalid_filter"
    );
}

#[wasm_bindgen_test]
fn every_strategy_is_exact_in_wasm() {
    let mut c = collection();
    let query = row(12_345);
    for indexed in [false, true] {
        if indexed {
            c.create_field_index("bucket").unwrap();
        }
        for (filter, matches) in [
            (json!({"bucket": {"$lt": 1}}), 2),
            (json!({"bucket": {"$lt": 10}}), 20),
            (json!({"bucket": {"$lt": 100}}), 200),
            (json!({"tags": "t3"}), 200),
            (json!({"bucket": {"$gte": 500}}), 1_000),
            (json!({}), N),
        ] {
            let filter = Filter::parse(&filter).unwrap();
            let reference = c
                .search_filtered(
                    &query,
                    10,
                    &filter,
                    &SearchParams::default(),
                    Strategy::PreFilter,
                )
                .unwrap();
            assert_eq!(reference.len(), 10.min(matches));
            for strategy in [Strategy::Auto, Strategy::InIndex, Strategy::PostFilter] {
                let hits = c
                    .search_filtered(&query, 10, &filter, &SearchParams::default(), strategy)
                    .unwrap();
                assert_eq!(hits, reference, "{strategy} indexed={indexed}");
            }
        }
    }
}

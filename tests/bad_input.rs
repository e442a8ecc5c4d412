//! Every bad input is a typed error, and the store is unchanged afterwards.

mod common;

use quiver::{limits, Collection, Item};
use serde_json::json;

const DIM: usize = 8;

fn store() -> Collection {
    let mut c = Collection::with_strings(DIM, "cosine", "Flat").unwrap();
    let v: Vec<Vec<f32>> = (0..5)
        .map(|i| (0..DIM).map(|j| (i * DIM + j) as f32 + 1.0).collect())
        .collect();
    let items: Vec<Item> = (0..5)
        .map(|i| Item {
            id: ["a", "b", "c", "d", "e"][i],
            vector: &v[i],
            metadata: Some(json!({ "n": i })),
        })
        .collect();
    c.add(&items).unwrap();
    c
}

/// Everything observable about the store.
fn snapshot(c: &Collection) -> Vec<(String, Vec<f32>, Option<serde_json::Value>)> {
    let mut out: Vec<_> = ["a", "b", "c", "d", "e", "x"]
        .iter()
        .filter_map(|id| c.get(id).ok())
        .map(|r| (r.id, r.vector, r.metadata))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let hits = c.search(&[1.0; DIM], 5).unwrap();
    out.extend(hits.into_iter().map(|h| (h.id, vec![h.score], h.metadata)));
    out.push((format!("len={}", c.len()), vec![], None));
    out
}

fn expect_code(code: &str, f: impl FnOnce(&mut Collection) -> quiver::Result<()>) {
    let mut c = store();
    let before = snapshot(&c);
    let err = f(&mut c).expect_err("must fail");
    assert_eq!(err.code(), code, "{err}");
    assert!(!err.to_string().is_empty());
    assert_eq!(snapshot(&c), before, "store changed after a `{code}` error");
}

fn item<'a>(id: &'a str, vector: &'a [f32]) -> Item<'a> {
    Item {
        id,
        vector,
        metadata: None,
    }
}

#[test]
fn wrong_dimension() {
    let good = [1.0; DIM];
    expect_code("dimension_mismatch", |c| {
        c.add(&[item("x", &[1.0; DIM - 1])])
    });
    expect_code("dimension_mismatch", |c| {
        c.add(&[item("x", &good), item("y", &[1.0; DIM + 1])])
    });
    expect_code("dimension_mismatch", |c| c.upsert(&[item("a", &[1.0; 3])]));
    expect_code("dimension_mismatch", |c| c.search(&[1.0; 3], 1).map(drop));
}

#[test]
fn non_finite_components() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut v = [1.0; DIM];
        v[3] = bad;
        expect_code("invalid_vector", |c| {
            c.add(&[item("x", &[1.0; DIM]), item("y", &v)])
        });
        expect_code("invalid_vector", |c| c.upsert(&[item("a", &v)]));
        expect_code("invalid_vector", |c| c.search(&v, 3).map(drop));
    }
}

#[test]
fn zero_vector_under_cosine() {
    expect_code("zero_vector", |c| c.add(&[item("x", &[0.0; DIM])]));
    expect_code("zero_vector", |c| c.upsert(&[item("b", &[0.0; DIM])]));
    expect_code("zero_vector", |c| c.search(&[0.0; DIM], 3).map(drop));
    // Under l2 a zero vector is an ordinary point.
    let mut l2 = Collection::with_strings(DIM, "l2", "Flat").unwrap();
    l2.add(&[item("zero", &[0.0; DIM])]).unwrap();
    assert_eq!(l2.search(&[0.0; DIM], 1).unwrap()[0].id, "zero");
}

#[test]
fn k_out_of_range() {
    expect_code("invalid_k", |c| c.search(&[1.0; DIM], 0).map(drop));
    expect_code("invalid_k", |c| {
        c.search(&[1.0; DIM], limits::MAX_K + 1).map(drop)
    });
    let c = store();
    assert_eq!(c.search(&[1.0; DIM], limits::MAX_K).unwrap().len(), 5);
}

#[test]
fn bad_ids() {
    let v = [1.0; DIM];
    expect_code("invalid_id", |c| c.add(&[item("", &v)]));
    let long = "x".repeat(limits::MAX_ID_BYTES + 1);
    expect_code("invalid_id", |c| c.add(&[item(&long, &v)]));
    expect_code("duplicate_id", |c| c.add(&[item("x", &v), item("x", &v)]));
    expect_code("duplicate_id", |c| {
        c.upsert(&[item("x", &v), item("x", &v)])
    });
    expect_code("duplicate_id", |c| c.add(&[item("x", &v), item("a", &v)]));
}

#[test]
fn unknown_ids() {
    expect_code("not_found", |c| c.get("nope").map(drop));
    expect_code("not_found", |c| c.delete(&["a", "nope"]).map(drop));
}

#[test]
fn bad_metadata() {
    let v = [1.0; DIM];
    expect_code("invalid_metadata", |c| {
        c.add(&[Item {
            id: "x",
            vector: &v,
            metadata: Some(json!([1, 2])),
        }])
    });
    let huge = "y".repeat(limits::MAX_METADATA_BYTES);
    expect_code("invalid_metadata", |c| {
        c.add(&[Item {
            id: "x",
            vector: &v,
            metadata: Some(json!({ "s": huge })),
        }])
    });
}

#[test]
fn bad_dimension_metric_and_spec_at_creation() {
    for dim in [0, limits::MAX_DIMENSION + 1] {
        let err = Collection::with_strings(dim, "cosine", "Flat").unwrap_err();
        assert_eq!(err.code(), "invalid_dimension");
    }
    assert!(Collection::with_strings(limits::MAX_DIMENSION, "l2", "Flat").is_ok());
    assert_eq!(
        Collection::with_strings(4, "manhattan", "Flat")
            .unwrap_err()
            .code(),
        "invalid_metric"
    );
    assert_eq!(
        Collection::with_strings(4, "l2", "Fancy9")
            .unwrap_err()
            .code(),
        "invalid_spec"
    );
}

#[test]
fn extreme_but_finite_values_are_accepted() {
    let mut c = Collection::with_strings(4, "cosine", "Flat").unwrap();
    c.add(&[
        item("huge", &[3.0e38, 3.0e38, 0.0, 0.0]),
        item("tiny", &[1.0e-40, 0.0, 0.0, 0.0]),
    ])
    .unwrap();
    let hits = c.search(&[1.0, 0.0, 0.0, 0.0], 2).unwrap();
    assert_eq!(hits[0].id, "tiny");
    assert!((hits[0].score - 1.0).abs() < 1e-6);
    let mut l2 = Collection::with_strings(2, "l2", "Flat").unwrap();
    l2.add(&[item("big", &[3.0e38, 3.0e38]), item("small", &[1.0, 1.0])])
        .unwrap();
    let hits = l2.search(&[0.0, 0.0], 2).unwrap();
    assert_eq!(hits[0].id, "small");
    assert_eq!(
        hits[1].score,
        f32::INFINITY,
        "overflowing distance ranks last, not NaN"
    );
}

#[test]
fn every_error_code_is_listed() {
    assert_eq!(
        quiver::Error::ALL_CODES.len(),
        quiver::Error::ALL_CODES
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
    );
}

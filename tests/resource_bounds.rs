//! Resource bounds: the memory budget refuses growth with a typed error and leaves the store
//! unchanged; search knobs (`k`, `ef_search`, `nprobe`, `rerank`) and batch sizes are capped.

mod common;

use common::Rng;
use quiver::{limits, Collection, Item, SearchParams};

const DIM: usize = 32;

fn items(rng: &mut Rng, first: usize, n: usize) -> (Vec<String>, Vec<Vec<f32>>) {
    let ids = (first..first + n).map(|i| format!("item-{i}")).collect();
    let vectors = (0..n).map(|_| rng.vector(DIM)).collect();
    (ids, vectors)
}

fn batch<'a>(ids: &'a [String], vectors: &'a [Vec<f32>]) -> Vec<Item<'a>> {
    ids.iter()
        .zip(vectors)
        .map(|(id, v)| Item {
            id,
            vector: v,
            metadata: Some(serde_json::json!({ "tag": id })),
        })
        .collect()
}

#[test]
fn memory_budget_refuses_growth_and_leaves_the_store_unchanged() {
    for spec in ["Flat", "IVF16", "HNSW16", "SQ8", "PQ8", "BIN"] {
        let budget = 1024 * 1024;
        let mut store = Collection::with_strings(DIM, "l2", spec).expect("collection");
        store.set_memory_budget(Some(budget)).unwrap();
        assert_eq!(store.memory_budget(), Some(budget));
        let mut rng = Rng(7);
        let mut next = 0;
        let refused = loop {
            let (ids, vectors) = items(&mut rng, next, 16);
            let before = (store.len(), store.memory_bytes());
            match store.add(&batch(&ids, &vectors)) {
                Ok(()) => next += 16,
                Err(e) => {
                    assert_eq!(e.code(), "memory_budget_exceeded", "{spec}: {e}");
                    assert_eq!(
                        (store.len(), store.memory_bytes()),
                        before,
                        "{spec}: changed"
                    );
                    assert!(!store.contains(&ids[0]), "{spec}");
                    break e;
                }
            }
            assert!(next < 100_000, "{spec}: the budget never refused an add");
        };
        // The estimate is conservative up to one capacity doubling (docs/reliability.md).
        assert!(
            store.memory_bytes() <= 2 * budget,
            "{spec}: {} bytes held",
            store.memory_bytes()
        );
        let (held, refused_at) = (store.memory_bytes(), store.len());
        assert!(
            store.len() > 100,
            "{spec}: refused too early at {} items ({refused})",
            store.len()
        );
        // Upserts are refused too; deletes and searches still work; removing the budget lets
        // the store grow again.
        let (ids, vectors) = items(&mut rng, 0, 16);
        let e = store
            .upsert(&batch(&ids, &vectors))
            .expect_err("upsert over budget");
        assert_eq!(e.code(), "memory_budget_exceeded");
        assert_eq!(
            store.get("item-0").expect("kept").metadata,
            Some(serde_json::json!({ "tag": "item-0" }))
        );
        store.search(&vectors[0], 5).expect("search under budget");
        assert_eq!(store.delete(&["item-1"]).expect("delete"), 1);
        store.set_memory_budget(None).unwrap();
        let (ids, vectors) = items(&mut rng, next, 16);
        store.add(&batch(&ids, &vectors)).expect("no budget");
        eprintln!("{spec}: refused at {refused_at} items, {held} bytes held, budget {budget}");
    }
}

#[test]
fn search_knobs_and_batches_are_capped() {
    let mut rng = Rng(3);
    let mut store = Collection::with_strings(DIM, "l2", "HNSW16").expect("collection");
    let (ids, vectors) = items(&mut rng, 0, 50);
    store.add(&batch(&ids, &vectors)).expect("add");
    let q = &vectors[0];
    let over = [
        (
            "ef_search",
            SearchParams {
                ef_search: Some(limits::MAX_EF_SEARCH + 1),
                ..Default::default()
            },
        ),
        (
            "nprobe",
            SearchParams {
                nprobe: Some(limits::MAX_NPROBE + 1),
                ..Default::default()
            },
        ),
        (
            "rerank",
            SearchParams {
                rerank: Some(limits::MAX_RERANK + 1),
                ..Default::default()
            },
        ),
        (
            "ef_search",
            SearchParams {
                ef_search: Some(usize::MAX),
                ..Default::default()
            },
        ),
    ];
    for (name, params) in &over {
        let e = store.search_with(q, 5, params).expect_err(name);
        assert_eq!(e.code(), "invalid_argument", "{name}: {e}");
        assert!(e.to_string().contains(name), "{e}");
        let e = store.search_batch(q, 5, params).expect_err(name);
        assert_eq!(e.code(), "invalid_argument", "{name}: {e}");
        let filter = quiver::Filter::all();
        let e = store
            .search_filtered(q, 5, &filter, params, quiver::Strategy::Auto)
            .expect_err(name);
        assert_eq!(e.code(), "invalid_argument", "{name}: {e}");
    }
    // At the caps the searches run.
    let at = SearchParams {
        ef_search: Some(limits::MAX_EF_SEARCH),
        ..Default::default()
    };
    assert_eq!(store.search_with(q, 5, &at).expect("at cap").len(), 5);
    for k in [0, limits::MAX_K + 1] {
        assert_eq!(store.search(q, k).expect_err("k").code(), "invalid_k");
    }
    // Query batches: more than MAX_BATCH queries is refused before copying them.
    let too_many = vec![0.5f32; limits::MAX_BATCH + 1];
    let tiny = Collection::with_strings(1, "l2", "Flat").expect("collection");
    let e = tiny
        .search_batch(&too_many, 1, &SearchParams::default())
        .expect_err("batch");
    assert_eq!(e.code(), "invalid_argument");
    // Dimension.
    let e = Collection::with_strings(limits::MAX_DIMENSION + 1, "l2", "Flat").expect_err("dim");
    assert_eq!(e.code(), "invalid_dimension");
}

#[test]
fn a_budget_that_cannot_hold_one_item_is_refused_and_changes_nothing() {
    let mut store = Collection::with_strings(DIM, "l2", "Flat").expect("collection");
    let err = store.set_memory_budget(Some(100)).unwrap_err();
    assert_eq!(err.code(), "memory_budget_exceeded", "{err}");
    assert_eq!(store.memory_budget(), None);
    // Enough for the fixed state and one item: accepted.
    store.set_memory_budget(Some(64 * 1024)).unwrap();
    assert_eq!(store.memory_budget(), Some(64 * 1024));
}

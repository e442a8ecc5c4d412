//! The public collection API driven by arbitrary operation sequences, checked after every
//! operation against a plain model (a map from id to vector and metadata): `len`, `contains`,
//! `get` and metadata always agree (`get` of every id every few operations, see
//! `FULL_CHECK_EVERY`; vectors bit for bit on raw families); a rejected operation changes nothing; a valid operation on
//! an L2 collection succeeds; search returns `min(k, len)` distinct stored ids, and exact
//! (Flat) search returns the model's best distance first.
#![no_main]

#[path = "../common/limit_alloc.rs"]
mod limit_alloc;

#[global_allocator]
static ALLOC: limit_alloc::LimitedAlloc = limit_alloc::LimitedAlloc;

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use quiver::{Collection, Item, SearchParams, Strategy};
use serde_json::{json, Value};

const DIM: usize = 4;
const SPECS: &[&str] = &["Flat", "IVF4", "HNSW8", "SQ8", "BIN", "PQ2", "IVF4,SQ8"];
const METRICS: &[&str] = &["l2", "cosine", "dot"];

#[derive(Arbitrary, Debug)]
struct Input {
    spec: u8,
    metric: u8,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
struct NewItem {
    id: u8,
    vector: [i8; DIM],
    /// Replaces component 0 with NaN, infinity or a huge value.
    poison: Option<u8>,
    meta: Option<u8>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Add(Vec<NewItem>),
    Upsert(Vec<NewItem>),
    Delete(Vec<u8>),
    Get(u8),
    Search {
        query: [i8; DIM],
        k: u16,
        ef: Option<u16>,
        nprobe: Option<u16>,
        rerank: Option<u16>,
    },
    SearchFiltered {
        query: [i8; DIM],
        k: u16,
        color: u8,
        strategy: u8,
    },
    IndexField,
    Train,
    WeirdId(String),
}

fn id_of(n: u8) -> String {
    format!("id{}", n % 48)
}

fn vector_of(item: &NewItem) -> Vec<f32> {
    let mut v: Vec<f32> = item.vector.iter().map(|&x| x as f32 / 16.0).collect();
    if let Some(p) = item.poison {
        v[0] = match p % 4 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::MAX,
            _ => -1e30,
        };
    }
    v
}

fn meta_of(item: &NewItem) -> Option<Value> {
    item.meta.map(|m| json!({ "color": m % 3, "n": m }))
}

type Model = BTreeMap<String, (Vec<f32>, Option<Value>)>;

/// A full `get` of all 48 ids runs every `FULL_CHECK_EVERY` operations, after the last one and
/// after training or indexing (which touch every item); the operations between check `len` and
/// `contains` of all 48 ids and `get` of the ids they named. An operation that damages an
/// item it did not name is still caught, at the next full check, unless an operation in
/// between replaces or deletes that item.
const FULL_CHECK_EVERY: usize = 8;

/// `len` and `contains` of every id (`all_ids`, formatted once per input) agree with the model;
/// `get` of `ids` returns the model's id, metadata and (`exact`: families that keep vectors bit
/// for bit) vector.
fn check(c: &Collection, model: &Model, all_ids: &[String], ids: &[String], exact: bool) {
    assert_eq!(c.len(), model.len());
    for id in all_ids {
        assert_eq!(c.contains(id), model.contains_key(id), "contains {id}");
    }
    for id in ids {
        match (c.get(id), model.get(id)) {
            (Ok(record), Some((vector, meta))) => {
                assert_eq!(&record.metadata, meta, "metadata of {id}");
                assert_eq!(&record.id, id);
                if exact {
                    assert_eq!(&record.vector, vector, "vector of {id}");
                }
            }
            (Err(e), Some(_)) => assert_eq!(e.code(), "unsupported", "get {id}: {e:?}"),
            (Err(e), None) => assert_eq!(e.code(), "not_found"),
            (Ok(_), None) => panic!("get {id} found a deleted item"),
        }
    }
}

fn batch_is_valid(items: &[NewItem], model: &Model, upsert: bool) -> bool {
    let mut seen = std::collections::HashSet::new();
    items.iter().all(|item| {
        let id = id_of(item.id);
        let finite = vector_of(item).iter().all(|x| x.is_finite());
        seen.insert(id.clone()) && finite && (upsert || !model.contains_key(&id))
    })
}

fn apply(c: &mut Collection, model: &mut Model, items: &[NewItem], upsert: bool, l2: bool) {
    let ids: Vec<String> = items.iter().map(|i| id_of(i.id)).collect();
    let vectors: Vec<Vec<f32>> = items.iter().map(vector_of).collect();
    let batch: Vec<Item> = items
        .iter()
        .enumerate()
        .map(|(i, item)| Item {
            id: &ids[i],
            vector: &vectors[i],
            metadata: meta_of(item),
        })
        .collect();
    let valid = batch_is_valid(items, model, upsert);
    let result = if upsert {
        c.upsert(&batch)
    } else {
        c.add(&batch)
    };
    match result {
        Ok(()) => {
            assert!(valid, "an invalid batch was accepted");
            for (i, item) in items.iter().enumerate() {
                model.insert(ids[i].clone(), (vectors[i].clone(), meta_of(item)));
            }
        }
        Err(e) => {
            // On L2 every valid batch must be accepted (cosine may reject numerically zero
            // vectors; dot may overflow on huge ones).
            assert!(!(valid && l2), "a valid batch was rejected: {e:?}");
            assert!(
                [
                    "duplicate_id",
                    "invalid_vector",
                    "zero_vector",
                    "invalid_argument",
                    "not_trained"
                ]
                .contains(&e.code()),
                "unexpected error {e:?}"
            );
        }
    }
}

fuzz_target!(|input: Input| {
    let spec = SPECS[input.spec as usize % SPECS.len()];
    let metric = METRICS[input.metric as usize % METRICS.len()];
    let l2 = metric == "l2";
    let Ok(mut c) = Collection::with_strings(DIM, metric, spec) else {
        panic!("cannot create {spec} {metric}");
    };
    let mut model = Model::new();
    // Raw families keep vectors exactly (cosine stores them normalised).
    let exact = matches!(spec, "Flat" | "HNSW8" | "IVF4") && metric != "cosine";
    let all_ids: Vec<String> = (0..48u8).map(id_of).collect();
    let ops = &input.ops[..input.ops.len().min(64)];
    for (step, op) in ops.iter().enumerate() {
        // The ids this operation names (`get` checks them after it), or all (`full`).
        let mut touched: Vec<String> = Vec::new();
        let mut full = step % FULL_CHECK_EVERY == FULL_CHECK_EVERY - 1 || step + 1 == ops.len();
        match op {
            Op::Add(items) => {
                touched.extend(items.iter().map(|i| id_of(i.id)));
                apply(&mut c, &mut model, items, false, l2);
            }
            Op::Upsert(items) => {
                touched.extend(items.iter().map(|i| id_of(i.id)));
                apply(&mut c, &mut model, items, true, l2);
            }
            Op::Delete(ns) => {
                let ids: Vec<String> = ns.iter().map(|&n| id_of(n)).collect();
                touched.extend(ids.iter().cloned());
                let all_known = ids.iter().all(|id| model.contains_key(id));
                match c.delete(&ids) {
                    Ok(n) => {
                        assert!(all_known);
                        let removed = ids.iter().filter(|id| model.remove(*id).is_some()).count();
                        assert_eq!(n, removed);
                    }
                    Err(e) => {
                        assert!(!all_known, "delete of known ids failed: {e:?}");
                        assert_eq!(e.code(), "not_found");
                    }
                }
            }
            Op::Get(n) => {
                let id = id_of(*n);
                touched.push(id.clone());
                assert_eq!(
                    c.get(&id).is_ok() || c.contains(&id),
                    model.contains_key(&id)
                );
            }
            Op::Search {
                query,
                k,
                ef,
                nprobe,
                rerank,
            } => {
                let q: Vec<f32> = query.iter().map(|&x| x as f32).collect();
                let k = *k as usize;
                let params = SearchParams {
                    ef_search: ef.map(usize::from),
                    nprobe: nprobe.map(usize::from),
                    rerank: rerank.map(usize::from),
                    filter: None,
                };
                match c.search_with(&q, k, &params) {
                    Ok(hits) => {
                        assert!(hits.len() <= k.min(model.len()));
                        let exact = spec == "Flat" || model.len() < 8;
                        if spec == "Flat" {
                            assert_eq!(hits.len(), k.min(model.len()));
                        }
                        let mut seen = std::collections::HashSet::new();
                        for h in &hits {
                            assert!(
                                model.contains_key(&h.id),
                                "search returned deleted {}",
                                h.id
                            );
                            assert!(seen.insert(h.id.clone()), "duplicate hit {}", h.id);
                            assert!(!h.score.is_nan(), "NaN score");
                        }
                        if exact && spec == "Flat" && l2 && !hits.is_empty() {
                            let best = model
                                .values()
                                .map(|(v, _)| {
                                    v.iter()
                                        .zip(&q)
                                        .map(|(a, b)| (a - b) * (a - b))
                                        .sum::<f32>()
                                })
                                .fold(f32::INFINITY, f32::min);
                            // Both sides may overflow to infinity on huge (finite) components.
                            assert!(
                                hits[0].score == best
                                    || (hits[0].score - best).abs() <= 1e-3 * (1.0 + best),
                                "{} vs {best}",
                                hits[0].score
                            );
                        }
                    }
                    Err(e) => assert!(
                        ["invalid_k", "zero_vector", "invalid_argument"].contains(&e.code()),
                        "unexpected search error {e:?}"
                    ),
                }
            }
            Op::SearchFiltered {
                query,
                k,
                color,
                strategy,
            } => {
                let strategy = [
                    Strategy::Auto,
                    Strategy::PreFilter,
                    Strategy::InIndex,
                    Strategy::PostFilter,
                ][*strategy as usize % 4];
                let q: Vec<f32> = query.iter().map(|&x| x as f32).collect();
                let filter = quiver::Filter::parse(&json!({ "color": color % 3 })).unwrap();
                if let Ok(hits) = c.search_filtered(
                    &q,
                    (*k as usize).max(1),
                    &filter,
                    &SearchParams::default(),
                    strategy,
                ) {
                    for h in &hits {
                        let meta = &model.get(&h.id).expect("filtered hit not stored").1;
                        assert!(
                            filter.matches(meta.as_ref()),
                            "hit {} fails the filter",
                            h.id
                        );
                    }
                }
            }
            Op::IndexField => {
                let _ = c.create_field_index("color");
                full = true;
            }
            Op::Train => {
                let _ = c.train();
                full = true;
            }
            Op::WeirdId(id) => {
                let v = [1.0f32; DIM];
                let r = c.add(&[Item {
                    id,
                    vector: &v,
                    metadata: None,
                }]);
                if r.is_ok() {
                    model.insert(id.clone(), (v.to_vec(), None));
                    let _ = c.delete(&[id.as_str()]);
                    model.remove(id);
                }
            }
        }
        let get = if full { &all_ids } else { &touched };
        check(&c, &model, &all_ids, get, exact);
    }
});

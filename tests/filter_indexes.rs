//! Indexed fields stay correct across add, upsert and delete: a random-operations test that
//! drives a collection with field indexes and a plain model side by side, and checks after
//! each round that every strategy returns exactly the matching items the model has, and that
//! exact estimates are exact.

mod common;

use std::collections::BTreeMap;

use common::Rng;
use quiver::{Collection, Filter, Item, SearchParams, Strategy};
use serde_json::{json, Value};

const DIM: usize = 8;

fn pick<'a>(rng: &mut Rng, options: &[&'a str]) -> &'a str {
    options[rng.below(options.len())]
}

/// Metadata with mixed types on purpose: `n` is sometimes a float or a numeric string, `tags`
/// holds strings, numbers, a nested array or an object, fields go missing.
fn random_metadata(rng: &mut Rng) -> Option<Value> {
    if rng.below(15) == 0 {
        return None;
    }
    let mut m = serde_json::Map::new();
    if rng.below(6) != 0 {
        m.insert("cat".into(), json!(pick(rng, &["a", "b", "c", "d"])));
    }
    match rng.below(6) {
        0 => {}
        1 => {
            m.insert("n".into(), json!(rng.below(20) as f64 + 0.5));
        }
        2 => {
            m.insert("n".into(), json!(rng.below(20).to_string()));
        }
        _ => {
            m.insert("n".into(), json!(rng.below(20)));
        }
    }
    if rng.below(4) != 0 {
        let tags: Vec<Value> = (0..rng.below(4))
            .map(|_| match rng.below(8) {
                0 => json!(rng.below(3)),
                1 => json!([pick(rng, &["x", "y"])]),
                2 => json!({"k": pick(rng, &["x", "y"])}),
                _ => json!(pick(rng, &["x", "y", "z", "w"])),
            })
            .collect();
        m.insert("tags".into(), Value::Array(tags));
    } else if rng.below(3) == 0 {
        m.insert("tags".into(), json!(pick(rng, &["x", "y"])));
    }
    if rng.below(2) == 0 {
        m.insert(
            "meta".into(),
            json!({"lang": pick(rng, &["en", "de", "fr"]), "v": rng.below(3)}),
        );
    }
    match rng.below(4) {
        0 => {
            m.insert("flag".into(), Value::Null);
        }
        1 => {
            m.insert("flag".into(), json!(rng.below(2) == 0));
        }
        _ => {}
    }
    Some(Value::Object(m))
}

fn random_leaf(rng: &mut Rng) -> Value {
    let cat = || json!(["a", "b", "c", "d", "e"]);
    match rng.below(16) {
        0 => json!({"cat": pick(rng, &["a", "b", "e"])}),
        1 => json!({"cat": {"$in": [pick(rng, &["a", "b"]), pick(rng, &["c", "e"])]}}),
        2 => json!({"cat": {"$ne": pick(rng, &["a", "d"])}}),
        3 => json!({"n": {"$gt": rng.below(20)}}),
        4 => json!({"n": {"$lte": rng.below(20) as f64 + 0.5, "$gte": 3}}),
        5 => json!({"n": {"$lt": pick(rng, &["12", "5", "3"])}}),
        6 => json!({"n": rng.below(20)}),
        7 => json!({"tags": pick(rng, &["x", "y", "q"])}),
        8 => json!({"tags": ["x", pick(rng, &["y", "z"])]}),
        9 => json!({"tags": {"$nin": [pick(rng, &["x", "w"]), 1]}}),
        10 => json!({"tags": {"$in": [0, 2, "z"]}}),
        11 => json!({"meta.lang": pick(rng, &["en", "de"])}),
        12 => json!({"meta": {"lang": "fr"}}),
        13 => json!({"flag": null}),
        14 => {
            json!({pick(rng, &["n", "tags", "flag", "meta.lang"]): {"$exists": rng.below(2) == 0}})
        }
        _ => json!({"cat": {"$nin": cat()}}),
    }
}

fn random_filter(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => json!({"$and": [random_leaf(rng), random_leaf(rng)]}),
        1 => json!({"$or": [random_leaf(rng), random_leaf(rng)]}),
        2 => json!({"$not": random_leaf(rng)}),
        3 => {
            let mut a = random_leaf(rng);
            let b = random_leaf(rng);
            // Implicit AND of two keys when they differ.
            if let (Value::Object(a), Value::Object(b)) = (&mut a, b) {
                for (k, v) in b {
                    a.entry(k).or_insert(v);
                }
            }
            a
        }
        _ => random_leaf(rng),
    }
}

fn upsert_or_add(
    collection: &mut Collection,
    model: &mut BTreeMap<String, Option<Value>>,
    id: String,
    vector: &[f32],
    metadata: Option<Value>,
    upsert: bool,
) {
    let item = Item {
        id: &id,
        vector,
        metadata: metadata.clone(),
    };
    if upsert {
        collection.upsert(&[item]).unwrap();
    } else {
        collection.add(&[item]).unwrap();
    }
    model.insert(id, metadata);
}

#[test]
fn indexed_fields_agree_with_evaluation_across_add_upsert_delete() {
    let seed = 0x1DE7_F1E1;
    let mut rng = Rng(seed);
    let mut collection = Collection::with_strings(DIM, "l2", "Flat").unwrap();
    // `flag` stays unindexed so that mixed filters take the superset-then-evaluate path;
    // `meta.lang` is indexed after data exists.
    for field in ["cat", "n", "tags"] {
        collection.create_field_index(field).unwrap();
    }
    let mut model: BTreeMap<String, Option<Value>> = BTreeMap::new();
    let mut next = 0;
    let mut checked = 0;
    for round in 0..12 {
        // Mutations: adds, upserts of live ids (new metadata), deletes.
        for _ in 0..120 {
            let vector = rng.vector(DIM);
            let metadata = random_metadata(&mut rng);
            match rng.below(7) {
                0 | 1 => {
                    upsert_or_add(
                        &mut collection,
                        &mut model,
                        next.to_string(),
                        &vector,
                        metadata,
                        false,
                    );
                    next += 1;
                }
                2 if !model.is_empty() => {
                    let id = model.keys().nth(rng.below(model.len())).unwrap().clone();
                    upsert_or_add(&mut collection, &mut model, id, &vector, metadata, true);
                }
                3 if !model.is_empty() => {
                    // A batch of up to 3 ids (repeats allowed: deleted once).
                    let ids: Vec<String> = (0..1 + rng.below(3))
                        .map(|_| model.keys().nth(rng.below(model.len())).unwrap().clone())
                        .collect();
                    collection.delete(&ids).unwrap();
                    for id in &ids {
                        model.remove(id);
                    }
                }
                4 if model.len() > 8 && rng.below(2) == 0 => {
                    // A batch upsert replacing several live items at once.
                    let mut ids: Vec<String> = (0..4)
                        .map(|_| model.keys().nth(rng.below(model.len())).unwrap().clone())
                        .collect();
                    ids.sort();
                    ids.dedup();
                    let metadata: Vec<Option<Value>> =
                        ids.iter().map(|_| random_metadata(&mut rng)).collect();
                    let items: Vec<Item> = ids
                        .iter()
                        .zip(&metadata)
                        .map(|(id, m)| Item {
                            id,
                            vector: &vector,
                            metadata: m.clone(),
                        })
                        .collect();
                    collection.upsert(&items).unwrap();
                    for (id, m) in ids.iter().zip(metadata) {
                        model.insert(id.clone(), m);
                    }
                }
                _ => {
                    upsert_or_add(
                        &mut collection,
                        &mut model,
                        next.to_string(),
                        &vector,
                        metadata,
                        true,
                    );
                    next += 1;
                }
            }
        }
        if round == 4 {
            collection.create_field_index("meta.lang").unwrap();
        }
        if round == 8 {
            collection.drop_field_index("cat").unwrap();
            collection.create_field_index("cat").unwrap();
        }
        assert_eq!(collection.len(), model.len());
        let query = rng.vector(DIM);
        for _ in 0..40 {
            let filter_json = random_filter(&mut rng);
            let filter = Filter::parse(&filter_json).unwrap();
            let mut expected: Vec<&String> = model
                .iter()
                .filter(|(_, m)| filter.matches(m.as_ref()))
                .map(|(id, _)| id)
                .collect();
            expected.sort();
            let estimate = collection.estimate_matches(&filter);
            let context = format!("seed {seed:#x} round {round}: {filter_json}");
            if estimate.exact {
                assert_eq!(
                    estimate.matches,
                    expected.len() as f64,
                    "{context}: exact estimate"
                );
            }
            for strategy in [Strategy::PreFilter, Strategy::InIndex, Strategy::PostFilter] {
                let hits = collection
                    .search_filtered(
                        &query,
                        quiver::limits::MAX_K,
                        &filter,
                        &SearchParams::default(),
                        strategy,
                    )
                    .unwrap();
                let mut found: Vec<&String> = hits.iter().map(|h| &h.id).collect();
                found.sort();
                assert_eq!(found, expected, "{context} {strategy}");
                for hit in &hits {
                    assert_eq!(&hit.metadata, &model[&hit.id], "{context}: stale metadata");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 480);
    // The churn must leave a collection worth querying.
    assert!(model.len() > 300, "only {} live items", model.len());
    println!("{} live items after {next} inserted", model.len());
}

#[test]
fn upsert_moves_an_item_between_postings() {
    let mut c = Collection::with_strings(2, "l2", "Flat").unwrap();
    c.create_field_index("cat").unwrap();
    let add = |c: &mut Collection, cat: &str| {
        c.upsert(&[Item {
            id: "x",
            vector: &[1.0, 0.0],
            metadata: Some(json!({ "cat": cat })),
        }])
        .unwrap();
    };
    add(&mut c, "a");
    let a = Filter::parse(&json!({"cat": "a"})).unwrap();
    let b = Filter::parse(&json!({"cat": "b"})).unwrap();
    let count = |c: &Collection, f: &Filter| {
        c.search_filtered(
            &[1.0, 0.0],
            5,
            f,
            &SearchParams::default(),
            Strategy::PreFilter,
        )
        .unwrap()
        .len()
    };
    assert_eq!((count(&c, &a), count(&c, &b)), (1, 0));
    add(&mut c, "b");
    assert_eq!((count(&c, &a), count(&c, &b)), (0, 1));
    assert_eq!(c.estimate_matches(&a).matches, 0.0);
    c.delete(&["x"]).unwrap();
    assert_eq!((count(&c, &a), count(&c, &b)), (0, 0));
    assert_eq!(c.estimate_matches(&Filter::all()).matches, 0.0);
}

//! The filter language: semantics of every operator, the malformed filters listed in
//! `docs/filters.md` (read from the doc itself, so the list and the test cannot drift), and a
//! seeded fuzz test that the parser never panics on random and mutated filters.

mod common;

use common::Rng;
use quiver::{limits, Error, Filter};
use serde_json::{json, Value};

fn matches(filter: Value, metadata: Value) -> bool {
    Filter::parse(&filter)
        .unwrap_or_else(|e| panic!("{filter} should parse: {e}"))
        .matches(Some(&metadata))
}

fn book() -> Value {
    json!({
        "category": "book",
        "year": 2019,
        "price": 12.5,
        "title": "Rust in Action",
        "tags": ["rust", "systems", 3],
        "draft": false,
        "editor": null,
        "meta": {"lang": "en", "pages": 456, "authors": ["Tim"]},
        "reviews": [{"stars": 5, "by": "ann"}, {"stars": 3, "by": "bob"}]
    })
}

#[test]
fn equality_shorthand_and_eq() {
    let m = book();
    assert!(matches(json!({"category": "book"}), m.clone()));
    assert!(!matches(json!({"category": "film"}), m.clone()));
    assert!(matches(json!({"category": {"$eq": "book"}}), m.clone()));
    // Numbers compare by value: 2019 == 2019.0.
    assert!(matches(json!({"year": 2019.0}), m.clone()));
    assert!(matches(json!({"draft": false}), m.clone()));
    // null matches a present null, not a missing field.
    assert!(matches(json!({"editor": null}), m.clone()));
    assert!(!matches(json!({"missing": null}), m.clone()));
    // No type coercion.
    assert!(!matches(json!({"year": "2019"}), m.clone()));
    // Several fields: all must hold.
    assert!(matches(
        json!({"category": "book", "year": 2019}),
        m.clone()
    ));
    assert!(!matches(json!({"category": "book", "year": 2020}), m));
}

#[test]
fn arrays_contain_scalars_and_containment_is_order_free() {
    let m = book();
    assert!(matches(json!({"tags": "rust"}), m.clone()));
    assert!(matches(json!({"tags": 3}), m.clone()));
    assert!(!matches(json!({"tags": "go"}), m.clone()));
    assert!(matches(json!({"tags": ["systems", "rust"]}), m.clone()));
    assert!(!matches(json!({"tags": ["rust", "go"]}), m.clone()));
    assert!(matches(json!({"tags": []}), m.clone()));
    // `$eq` with an array operand is exact equality (order matters), or an element equal to it.
    assert!(matches(
        json!({"tags": {"$eq": ["rust", "systems", 3]}}),
        m.clone()
    ));
    assert!(!matches(
        json!({"tags": {"$eq": ["systems", "rust", 3]}}),
        m.clone()
    ));
    assert!(matches(json!({"tags": {"$eq": "rust"}}), m.clone()));
    // An array pattern does not match a scalar field.
    assert!(!matches(json!({"category": ["book"]}), m));
    // Array patterns follow PostgreSQL: a scalar element must equal an element, not an
    // element of a nested array; a nested array pattern is contained in a nested array.
    let nested = json!({"a": [1, 2, [1, 3]]});
    assert!(!matches(json!({"a": [1, 3]}), nested.clone()));
    assert!(matches(json!({"a": [[1, 3]]}), nested.clone()));
    assert!(matches(json!({"a": [[3], 2]}), nested.clone()));
    assert!(!matches(json!({"a": 3}), nested));
}

#[test]
fn nested_objects_by_containment_and_dotted_paths() {
    let m = book();
    assert!(matches(json!({"meta": {"lang": "en"}}), m.clone()));
    assert!(matches(
        json!({"meta": {"lang": "en", "authors": ["Tim"]}}),
        m.clone()
    ));
    assert!(!matches(json!({"meta": {"lang": "de"}}), m.clone()));
    assert!(matches(json!({"meta": {}}), m.clone()));
    assert!(matches(json!({"meta.lang": "en"}), m.clone()));
    assert!(matches(json!({"meta.pages": {"$gt": 400}}), m.clone()));
    assert!(matches(json!({"meta.authors": "Tim"}), m.clone()));
    assert!(!matches(
        json!({"meta.nothing": {"$exists": true}}),
        m.clone()
    ));
    // An object pattern matches an array holding a containing object.
    assert!(matches(json!({"reviews": {"by": "bob"}}), m.clone()));
    assert!(matches(json!({"reviews": [{"stars": 5}]}), m.clone()));
    assert!(!matches(
        json!({"reviews": {"by": "bob", "stars": 5}}),
        m.clone()
    ));
    // Dotted paths do not descend into arrays.
    assert!(!matches(json!({"reviews.by": "bob"}), m));
}

#[test]
fn membership_and_negations() {
    let m = book();
    assert!(matches(
        json!({"category": {"$in": ["film", "book"]}}),
        m.clone()
    ));
    assert!(!matches(json!({"category": {"$in": []}}), m.clone()));
    assert!(matches(json!({"tags": {"$in": ["go", "rust"]}}), m.clone()));
    assert!(!matches(
        json!({"tags": {"$nin": ["go", "rust"]}}),
        m.clone()
    ));
    assert!(matches(json!({"tags": {"$nin": ["go"]}}), m.clone()));
    assert!(matches(json!({"category": {"$ne": "film"}}), m.clone()));
    assert!(!matches(json!({"tags": {"$ne": "rust"}}), m.clone()));
    // $ne and $nin match items without the field.
    assert!(matches(json!({"missing": {"$ne": 1}}), m.clone()));
    assert!(matches(json!({"missing": {"$nin": [1]}}), m));
}

#[test]
fn comparisons_of_numbers_and_strings_never_across_types() {
    let m = book();
    assert!(matches(
        json!({"year": {"$gte": 2019, "$lt": 2020}}),
        m.clone()
    ));
    assert!(!matches(json!({"year": {"$gt": 2019}}), m.clone()));
    assert!(matches(json!({"price": {"$lte": 12.5}}), m.clone()));
    assert!(matches(json!({"title": {"$gt": "Rust"}}), m.clone()));
    assert!(matches(json!({"title": {"$lt": "S"}}), m.clone()));
    // A string field is neither greater nor less than a number, and the other way round.
    assert!(!matches(json!({"title": {"$gt": 0}}), m.clone()));
    assert!(!matches(json!({"title": {"$lt": 0}}), m.clone()));
    assert!(!matches(json!({"year": {"$lt": "9999"}}), m.clone()));
    // Arrays: any element of the operand's type.
    assert!(matches(json!({"tags": {"$gt": 2}}), m.clone()));
    assert!(matches(json!({"tags": {"$gte": "s"}}), m.clone()));
    assert!(!matches(json!({"tags": {"$gt": 3}}), m.clone()));
    // Missing fields fail every comparison.
    assert!(!matches(json!({"missing": {"$lt": 1}}), m));
}

#[test]
fn exists_and_logic() {
    let m = book();
    assert!(matches(json!({"editor": {"$exists": true}}), m.clone()));
    assert!(matches(json!({"missing": {"$exists": false}}), m.clone()));
    assert!(!matches(json!({"year": {"$exists": false}}), m.clone()));
    assert!(matches(
        json!({"$or": [{"category": "film"}, {"year": 2019}]}),
        m.clone()
    ));
    assert!(!matches(
        json!({"$and": [{"category": "book"}, {"year": 2018}]}),
        m.clone()
    ));
    assert!(matches(json!({"$not": {"category": "film"}}), m.clone()));
    assert!(!matches(
        json!({"year": {"$not": {"$gte": 2000, "$lte": 2020}}}),
        m.clone()
    ));
    assert!(matches(json!({"year": {"$not": {"$gt": 2019}}}), m.clone()));
    // The empty filter matches everything, including items without metadata.
    assert!(matches(json!({}), m));
    assert!(Filter::parse(&json!({})).unwrap().matches(None));
    assert!(!Filter::parse(&json!({"a": 1})).unwrap().matches(None));
    assert!(Filter::parse(&json!({"a": {"$exists": false}}))
        .unwrap()
        .matches(None));
}

#[test]
fn filter_text_parses_like_the_value() {
    let text = r#"{"category": "book", "year": {"$gte": 2015}}"#;
    let a: Filter = text.parse().unwrap();
    let b = Filter::parse(&serde_json::from_str(text).unwrap()).unwrap();
    assert_eq!(a, b);
}

/// The rows of the malformed-filter table in `docs/filters.md`: `(filter, pointer)`.
fn documented_malformed_cases() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/filters.md"))
        .expect("docs/filters.md is present");
    let start = doc
        .find("<!-- malformed-cases:start -->")
        .expect("start marker");
    let end = doc
        .find("<!-- malformed-cases:end -->")
        .expect("end marker");
    doc[start..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let unquote = |c: &str| {
                c.trim_matches(|ch| ch == '|' || ch == ' ')
                    .trim_matches('`')
                    .to_string()
            };
            (unquote(cells[0]), unquote(cells[1]))
        })
        .collect()
}

#[test]
fn every_documented_malformed_filter_is_an_invalid_filter_error() {
    let cases = documented_malformed_cases();
    assert!(cases.len() >= 25, "only {} documented cases", cases.len());
    for (text, pointer) in cases {
        match Filter::from_json_str(&text) {
            Err(Error::InvalidFilter { path, reason }) => {
                assert_eq!(path, pointer, "{text}: reported at {path} ({reason})");
                assert!(!reason.is_empty());
            }
            other => panic!("{text}: expected invalid_filter, got {other:?}"),
        }
    }
}

#[test]
fn generated_limits_are_enforced() {
    // Too deep: nested $not.
    let mut deep = json!({"a": 1});
    for _ in 0..limits::MAX_FILTER_DEPTH {
        deep = json!({ "$not": deep });
    }
    let err = Filter::parse(&deep).unwrap_err();
    assert_eq!(err.code(), "invalid_filter");
    // Too many values: a long $in list.
    let list: Vec<u32> = (0..limits::MAX_FILTER_NODES as u32).collect();
    let err = Filter::parse(&json!({"a": {"$in": list}})).unwrap_err();
    assert_eq!(err.code(), "invalid_filter");
    // Just under both limits parses.
    let list: Vec<u32> = (0..limits::MAX_FILTER_NODES as u32 - 4).collect();
    assert!(Filter::parse(&json!({"a": {"$in": list}})).is_ok());
    // Text that is too long, or nested past serde_json's own limit, is refused without a crash.
    let long = format!("{{\"a\": \"{}\"}}", "x".repeat(limits::MAX_FILTER_BYTES));
    assert_eq!(
        Filter::from_json_str(&long).unwrap_err().code(),
        "invalid_filter"
    );
    let nested = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    assert_eq!(
        Filter::from_json_str(&nested).unwrap_err().code(),
        "invalid_filter"
    );
    // A deep value built in memory (not from text) is refused at the depth limit.
    let mut value = json!(1);
    for _ in 0..2_000 {
        value = json!([value]);
    }
    assert!(Filter::parse(&json!({ "a": value })).is_err());
}

// --- Fuzzing -------------------------------------------------------------------------------

const KEYS: &[&str] = &[
    "$and",
    "$or",
    "$not",
    "$eq",
    "$ne",
    "$in",
    "$nin",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$exists",
    "$regex",
    "$where",
    "__proto__",
    "constructor",
    "prototype",
    "category",
    "year",
    "tags",
    "meta",
    "meta.lang",
    "a..b",
    "",
    ".x",
    "n",
];

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let choice = if depth == 0 {
        rng.below(6)
    } else {
        rng.below(8)
    };
    match choice {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => json!(rng.below(5) as i64 - 1),
        3 => json!(rng.signed() * 3000.0),
        4 => json!(["book", "film", "rust", "en", "", "2019"][rng.below(6)]),
        5 => json!(u64::MAX - rng.below(3) as u64),
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|_| {
                    (
                        KEYS[rng.below(KEYS.len())].to_string(),
                        random_value(rng, depth - 1),
                    )
                })
                .collect(),
        ),
    }
}

fn valid_filters() -> Vec<Value> {
    vec![
        json!({"category": "book"}),
        json!({"year": {"$gte": 2015, "$lt": 2020}}),
        json!({"tags": {"$in": ["rust", "go"]}, "meta.lang": "en"}),
        json!({"$or": [{"category": "book"}, {"$not": {"year": {"$gt": 2000}}}]}),
        json!({"$and": [{"n": {"$exists": true}}, {"n": {"$nin": [1, 2]}}]}),
        json!({"meta": {"lang": "en"}, "tags": ["rust"]}),
        json!({"n": {"$not": {"$eq": null}}, "category": {"$ne": "film"}}),
    ]
}

/// Replaces, drops or renames one random node of `value`.
fn mutate(rng: &mut Rng, value: &mut Value) {
    match value {
        Value::Object(object) if !object.is_empty() && rng.below(3) != 0 => {
            let keys: Vec<String> = object.keys().cloned().collect();
            let key = &keys[rng.below(keys.len())];
            match rng.below(4) {
                0 => {
                    object.remove(key);
                }
                1 => {
                    let child = object.remove(key).unwrap_or(Value::Null);
                    object.insert(KEYS[rng.below(KEYS.len())].to_string(), child);
                }
                _ => mutate(rng, object.get_mut(key).unwrap()),
            }
        }
        Value::Array(items) if !items.is_empty() && rng.below(3) != 0 => {
            let i = rng.below(items.len());
            if rng.below(4) == 0 {
                items.remove(i);
            } else {
                mutate(rng, &mut items[i]);
            }
        }
        _ => *value = random_value(rng, 3),
    }
}

fn check_never_panics(filter: &Value, metadata: &[Value]) {
    match Filter::parse(filter) {
        Ok(parsed) => {
            for m in metadata {
                let _ = parsed.matches(Some(m));
            }
            let _ = parsed.matches(None);
        }
        Err(e) => assert_eq!(e.code(), "invalid_filter", "{filter}: {e:?}"),
    }
    // The text route accepts and refuses the same filters as the value route (the ASTs may
    // differ in the last bit of a float: serde_json's default float parsing is not exactly
    // round-trip).
    let text = filter.to_string();
    assert_eq!(
        Filter::from_json_str(&text)
            .map(|_| ())
            .map_err(|e| e.code()),
        Filter::parse(filter).map(|_| ()).map_err(|e| e.code()),
        "{text}"
    );
}

#[test]
fn fuzz_random_and_mutated_filters_never_panic() {
    let seed = 0x0F11_7E45;
    let mut rng = Rng(seed);
    let metadata: Vec<Value> = (0..8).map(|_| random_value(&mut rng, 3)).collect();
    let mut metadata = metadata;
    metadata.push(book());
    let (mut accepted, mut rejected) = (0, 0);
    for round in 0..4_000 {
        let filter = if round % 2 == 0 {
            random_value(&mut rng, 4)
        } else {
            let mut f = valid_filters()[rng.below(valid_filters().len())].clone();
            for _ in 0..1 + rng.below(3) {
                mutate(&mut rng, &mut f);
            }
            f
        };
        let outcome = std::panic::catch_unwind(|| check_never_panics(&filter, &metadata));
        assert!(
            outcome.is_ok(),
            "seed {seed:#x} round {round}: panicked on {filter}"
        );
        if Filter::parse(&filter).is_ok() {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    // The generator must exercise both sides.
    assert!(
        accepted > 300 && rejected > 300,
        "accepted {accepted}, rejected {rejected}"
    );
}

#[test]
fn fuzz_mutated_filter_text_never_panics() {
    let seed = 0x7E47;
    let mut rng = Rng(seed);
    for round in 0..3_000 {
        let base = valid_filters()[rng.below(valid_filters().len())].to_string();
        let mut bytes = base.into_bytes();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(bytes.len().max(1));
            match rng.below(3) {
                0 if !bytes.is_empty() => {
                    bytes.remove(i.min(bytes.len() - 1));
                }
                1 => bytes.insert(i.min(bytes.len()), b"{}[]\":,$.\\x0_"[rng.below(13)]),
                _ if !bytes.is_empty() => {
                    let j = i.min(bytes.len() - 1);
                    bytes[j] = rng.below(256) as u8;
                }
                _ => {}
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let outcome = std::panic::catch_unwind(|| match Filter::from_json_str(&text) {
            Ok(f) => {
                let _ = f.matches(Some(&book()));
            }
            Err(e) => assert_eq!(e.code(), "invalid_filter"),
        });
        assert!(
            outcome.is_ok(),
            "seed {seed:#x} round {round}: panicked on {text:?}"
        );
    }
}

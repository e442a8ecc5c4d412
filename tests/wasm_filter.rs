//! Filtered search inside WebAssembly (Node and headless Chromium through
//! wasm-bindgen-test-runner), the wasm twin of `tests/filter_search.rs`: the parser's refusals
//! and limits; exact `min(k, matches)` answers for every strategy on synthetic data; and on the
//! committed 3k MiniLM fixture (embedded, a browser cannot read files) with its real metadata,
//! for `Flat`, `HNSW16` and `IVF64`: the dev set's real filters (each query's own `category`,
//! as in `query-filters.jsonl`) and synthetic selectivities 0.1%–100%, `auto` and each forced
//! strategy, with and without a field index — `min(k, matches)` matching results, exact for
//! flat, filtered recall@10 ≥ 0.95 for the approximate families against filtered brute force —
//! and the same answers after a save and reopen (full snapshot, then an incremental op log).
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeMap;

use quiver::snapshot::MANIFEST_KEY;
use quiver::texmex::parse_fvecs;
use quiver::{Collection, CollectionConfig, Filter, IndexOptions, Item, SearchParams, Strategy};
use serde_json::{json, Value};
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

const BASE: &[u8] = include_bytes!("fixtures/minilm-3k/base.fvecs");
const QUERIES: &[u8] = include_bytes!("fixtures/minilm-3k/query.fvecs");
const METADATA: &str = include_str!("fixtures/minilm-3k/metadata.jsonl");
const QUERY_METADATA: &str = include_str!("fixtures/minilm-3k/query-metadata.jsonl");

const STRATEGIES: [Strategy; 4] = [
    Strategy::Auto,
    Strategy::PreFilter,
    Strategy::InIndex,
    Strategy::PostFilter,
];

/// `{"bucket": {"$lt": t}}` matches `t` per mille of the fixture: 0.1% (3 items), 1%, 10%,
/// 50%, 100%.
const PER_MILLE: [usize; 5] = [1, 10, 100, 500, 1000];

/// The fixture with its real metadata plus a synthetic `bucket` field in `0..1000` (a seeded
/// permutation's rank mod 1000, so each bucket holds 3 items and selectivities are exact).
struct Fixture {
    dim: usize,
    base: Vec<f32>,
    queries: Vec<f32>,
    metadata: Vec<Value>,
    /// Each query's real filter: its own `category` (what `query-filters.jsonl` holds).
    query_filters: Vec<Value>,
    /// Per query, every base index from nearest to farthest by exact cosine (f64, ties by
    /// index): the filtered ground truth is the first `k` matching entries.
    ranked: Vec<Vec<u32>>,
}

impl Fixture {
    fn load() -> Self {
        let (dim, base) = parse_fvecs(BASE).unwrap();
        let (_, queries) = parse_fvecs(QUERIES).unwrap();
        let n = base.len() / dim;
        let mut order: Vec<usize> = (0..n).collect();
        let mut state = 0xF1C5_u64;
        for i in (1..n).rev() {
            order.swap(i, (splitmix(&mut state) % (i as u64 + 1)) as usize);
        }
        let metadata: Vec<Value> = METADATA
            .lines()
            .zip(&order)
            .map(|(line, rank)| {
                let mut m: Value = serde_json::from_str(line).unwrap();
                m["bucket"] = json!(rank % 1000);
                m
            })
            .collect();
        assert_eq!(metadata.len(), n);
        let query_filters = QUERY_METADATA
            .lines()
            .map(|line| {
                let m: Value = serde_json::from_str(line).unwrap();
                json!({"category": m["category"]})
            })
            .collect();
        let ranked = queries
            .chunks_exact(dim)
            .map(|query| {
                let mut scored: Vec<(f64, u32)> = base
                    .chunks_exact(dim)
                    .zip(0..)
                    .map(|(row, i)| {
                        let dot: f64 = row
                            .iter()
                            .zip(query)
                            .map(|(&a, &b)| a as f64 * b as f64)
                            .sum();
                        (-dot, i)
                    })
                    .collect();
                scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                scored.into_iter().map(|(_, i)| i).collect()
            })
            .collect();
        Fixture {
            dim,
            base,
            queries,
            metadata,
            query_filters,
            ranked,
        }
    }

    /// Which base items `filter` matches.
    fn mask(&self, filter: &Filter) -> Vec<bool> {
        self.metadata
            .iter()
            .map(|m| filter.matches(Some(m)))
            .collect()
    }

    fn n(&self) -> usize {
        self.base.len() / self.dim
    }

    fn query(&self, q: usize) -> &[f32] {
        &self.queries[q * self.dim..(q + 1) * self.dim]
    }

    /// A cosine collection of `spec` over the fixture. HNSW is built at `ef_construction` 64
    /// instead of 200: a third of the build time in the page, and filtered recall (what is
    /// tested here) stays ≥ 0.99 on 3k items.
    fn collection(&self, spec: &str) -> Collection {
        let mut config =
            CollectionConfig::new(self.dim, "cosine".parse().unwrap(), spec.parse().unwrap());
        config.options = IndexOptions {
            ef_construction: 64,
            ..IndexOptions::default()
        };
        let mut c = Collection::new(config).unwrap();
        let ids: Vec<String> = (0..self.n()).map(|i| i.to_string()).collect();
        let items: Vec<Item> = ids
            .iter()
            .zip(self.base.chunks_exact(self.dim))
            .zip(&self.metadata)
            .map(|((id, vector), m)| Item {
                id,
                vector,
                metadata: Some(m.clone()),
            })
            .collect();
        c.add(&items).unwrap();
        c
    }

    /// Exact filtered top-k of query `q` among the items of `mask`.
    fn truth(&self, q: usize, k: usize, mask: &[bool]) -> Vec<usize> {
        self.ranked[q]
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| mask[i])
            .take(k)
            .collect()
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A filter with the base items it matches.
type Case = (Filter, Vec<bool>);

/// Runs every `query_step`-th query with its case and `strategy`, checks that each answer
/// holds exactly `min(k, matches)` matching items, and returns the filtered recall@10 against
/// brute force.
fn cell(
    fixture: &Fixture,
    collection: &Collection,
    params: &SearchParams,
    strategy: Strategy,
    query_step: usize,
    cases: &[&Case],
    context: &str,
) -> f64 {
    let k = 10;
    let (mut hits, mut total) = (0, 0);
    for q in (0..fixture.queries.len() / fixture.dim).step_by(query_step) {
        let (filter, mask) = cases[q];
        let matching = mask.iter().filter(|&&m| m).count();
        let found = collection
            .search_filtered(fixture.query(q), k, filter, params, strategy)
            .unwrap();
        assert_eq!(
            found.len(),
            k.min(matching),
            "{context} query {q}: {} results, {matching} matches",
            found.len()
        );
        let ids: Vec<usize> = found.iter().map(|h| h.id.parse().unwrap()).collect();
        assert!(
            ids.iter().all(|&i| mask[i]),
            "{context} query {q}: a result does not match"
        );
        let truth = fixture.truth(q, k, mask);
        hits += ids.iter().filter(|i| truth.contains(i)).count();
        total += truth.len();
    }
    hits as f64 / total as f64
}

/// The fixture sweep for one family: the real per-query category filters and the synthetic
/// selectivities, `auto` without a field index, then `auto` and each forced strategy with
/// `bucket` and `category` indexed; every cell must reach `min_recall`. Misses are collected,
/// so one run reports every cell.
fn fixture_sweep(
    fixture: &Fixture,
    collection: &mut Collection,
    params: &SearchParams,
    min_recall: f64,
) {
    let spec = collection.spec().to_string();
    let mut failures = Vec::new();
    let mut categories = BTreeMap::<String, Case>::new();
    for filter in &fixture.query_filters {
        let parsed = Filter::parse(filter).unwrap();
        let mask = fixture.mask(&parsed);
        categories.insert(filter.to_string(), (parsed, mask));
    }
    let real: Vec<&Case> = fixture
        .query_filters
        .iter()
        .map(|f| &categories[&f.to_string()])
        .collect();
    let synthetic: Vec<(usize, Case)> = PER_MILLE
        .iter()
        .map(|&per_mille| {
            let filter = Filter::parse(&json!({"bucket": {"$lt": per_mille}})).unwrap();
            let mask = fixture.mask(&filter);
            assert_eq!(
                mask.iter().filter(|&&m| m).count(),
                fixture.n() * per_mille / 1000
            );
            (per_mille, (filter, mask))
        })
        .collect();
    for indexed in [false, true] {
        let strategies: &[Strategy] = if indexed {
            collection.create_field_index("bucket").unwrap();
            collection.create_field_index("category").unwrap();
            &STRATEGIES
        } else {
            &[Strategy::Auto]
        };
        for &strategy in strategies {
            let mut check = |what: &str, step: usize, cases: &[&Case]| {
                let context = format!("{spec} {what} indexed={indexed} {strategy}");
                let recall = cell(fixture, collection, params, strategy, step, cases, &context);
                if recall < min_recall {
                    failures.push(format!("{context}: filtered recall@10 {recall:.4}"));
                }
            };
            // Real filters, 2%–44% of the fixture: every query with auto, every 4th forced.
            let step = if strategy == Strategy::Auto { 1 } else { 4 };
            check("real category filters", step, &real);
            for (per_mille, case) in &synthetic {
                let all_queries = vec![case; fixture.ranked.len()];
                check(
                    &format!("{:.1}%", *per_mille as f64 / 10.0),
                    2,
                    &all_queries,
                );
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[wasm_bindgen_test]
fn flat_filtered_search_is_exact_on_the_fixture_in_wasm() {
    let fixture = Fixture::load();
    let mut collection = fixture.collection("Flat");
    fixture_sweep(&fixture, &mut collection, &SearchParams::default(), 1.0);
}

#[wasm_bindgen_test]
fn hnsw_filtered_recall_and_reopen_on_the_fixture_in_wasm() {
    let fixture = Fixture::load();
    let mut collection = fixture.collection("HNSW16");
    let params = SearchParams::default();
    fixture_sweep(&fixture, &mut collection, &params, 0.95);
    filters_survive_save_and_reopen(&fixture, collection, &params);
}

/// nprobe 16 of 64 lists: where unfiltered recall@10 on the fixture (47 vectors a list) is
/// above 0.95, as in `tests/filter_search.rs`.
#[wasm_bindgen_test]
fn ivf_filtered_recall_and_reopen_on_the_fixture_in_wasm() {
    let fixture = Fixture::load();
    let mut collection = fixture.collection("IVF64");
    let params = SearchParams {
        nprobe: Some(16),
        ..SearchParams::default()
    };
    fixture_sweep(&fixture, &mut collection, &params, 0.95);
    filters_survive_save_and_reopen(&fixture, collection, &params);
}

/// Saves `collection` into `store` (a full snapshot the first time, an op log after) and
/// acknowledges the save.
fn save(collection: &mut Collection, store: &mut BTreeMap<String, Vec<u8>>) -> bool {
    let plan = collection.begin_save().unwrap();
    for (key, bytes) in &plan.puts {
        store.insert(key.clone(), bytes.clone());
    }
    for key in &plan.deletes {
        store.remove(key);
    }
    collection.ack_save(plan.token).unwrap();
    plan.full
}

fn reopen(store: &BTreeMap<String, Vec<u8>>) -> Collection {
    Collection::open(&store[MANIFEST_KEY], &mut store.clone()).unwrap()
}

/// Filtered answers (every strategy, several filters, 5 queries) of two collections agree
/// exactly: ids, scores and metadata.
fn assert_same_filtered(
    fixture: &Fixture,
    a: &Collection,
    b: &Collection,
    params: &SearchParams,
    context: &str,
) {
    assert_eq!(a.indexed_fields(), b.indexed_fields(), "{context}");
    let filters = [
        json!({"bucket": {"$lt": 1}}),
        json!({"bucket": {"$lt": 10}}),
        json!({"bucket": {"$gte": 900}}),
        json!({"category": "core"}),
        json!({"tags": "crate", "year": {"$gte": 2020}}),
        json!({"$or": [{"category": "book"}, {"bucket": {"$in": [1, 2, 3]}}]}),
        json!({"$not": {"category": "crates/other"}}),
    ];
    for filter in &filters {
        let parsed = Filter::parse(filter).unwrap();
        for strategy in STRATEGIES {
            for q in (0..100).step_by(20) {
                let query = fixture.query(q);
                let x = a
                    .search_filtered(query, 10, &parsed, params, strategy)
                    .unwrap();
                let y = b
                    .search_filtered(query, 10, &parsed, params, strategy)
                    .unwrap();
                assert_eq!(x, y, "{context} {filter} {strategy} query {q}");
                for hit in &x {
                    assert!(
                        parsed.matches(hit.metadata.as_ref()),
                        "{context} {filter} {strategy} query {q}: {} does not match",
                        hit.id
                    );
                }
            }
        }
    }
}

/// Filters survive save and reopen: the indexed fields are in the manifest and their postings
/// are rebuilt from the stored metadata, so a reopened collection (from a full snapshot, then
/// from snapshot + op log after upserts that change metadata and deletes) answers every
/// filtered search exactly as the live one does.
fn filters_survive_save_and_reopen(fixture: &Fixture, mut live: Collection, params: &SearchParams) {
    let spec = live.spec().to_string();
    assert_eq!(
        live.indexed_fields(),
        vec!["bucket".to_string(), "category".to_string()],
        "left by the sweep"
    );
    let mut store = BTreeMap::new();
    assert!(save(&mut live, &mut store), "{spec}: first save is full");
    let reopened = reopen(&store);
    assert_eq!(
        reopened.indexed_fields(),
        vec!["bucket".to_string(), "category".to_string()]
    );
    assert_same_filtered(fixture, &live, &reopened, params, &format!("{spec} full"));

    // Move 30 items into bucket 0, delete 30 others, and save incrementally.
    let moved: Vec<String> = (0..30).map(|i| (i * 97).to_string()).collect();
    let rows: Vec<Vec<f32>> = (0..30)
        .map(|i| fixture.base[i * 97 * fixture.dim..(i * 97 + 1) * fixture.dim].to_vec())
        .collect();
    let items: Vec<Item> = moved
        .iter()
        .zip(&rows)
        .enumerate()
        .map(|(i, (id, vector))| {
            let mut m = fixture.metadata[i * 97].clone();
            m["bucket"] = json!(0);
            Item {
                id,
                vector,
                metadata: Some(m),
            }
        })
        .collect();
    live.upsert(&items).unwrap();
    let deleted: Vec<String> = (0..30).map(|i| (i * 97 + 50).to_string()).collect();
    assert_eq!(live.delete(&deleted).unwrap(), 30);
    assert!(!save(&mut live, &mut store), "{spec}: second save is a log");
    let reopened = reopen(&store);
    assert_same_filtered(fixture, &live, &reopened, params, &format!("{spec} log"));
    let bucket0 = Filter::parse(&json!({"bucket": {"$lt": 1}})).unwrap();
    let expected = (0..fixture.n())
        .map(|i| i.to_string())
        .filter(|id| !deleted.contains(id))
        .filter(|id| {
            moved.contains(id) || fixture.metadata[id.parse::<usize>().unwrap()]["bucket"] == 0
        })
        .count();
    for strategy in STRATEGIES {
        let hits = reopened
            .search_filtered(fixture.query(0), 50, &bucket0, params, strategy)
            .unwrap();
        assert_eq!(hits.len(), expected, "{spec} {strategy}");
        assert!(hits.iter().all(|h| !deleted.contains(&h.id)));
    }
}

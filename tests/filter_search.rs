//! Filtered search returns the right k: on the real dev set with its per-query filters and
//! exact filtered ground truth, and on seeded synthetic data at selectivities from 0.1% to
//! 100%, for every strategy forced and for the automatic choice, with and without an index on
//! the filtered field.

mod common;

use common::{clustered, data_dir, fixture_3k, load_dev_set, Rng};
use quiver::{
    Collection, CollectionConfig, Filter, IndexOptions, Item, Metric, SearchParams, Strategy,
};
use serde_json::{json, Value};

/// A family under test: its spec, whether filtered results must be exact, the filtered
/// recall@10 it must reach (aggregated over the queries of one filter and strategy; the
/// measured values are in `docs/filters.md`), the parameters it is searched with, and whether
/// it is built on the 20k dev set (time: PQ training takes longer than the test budget, and
/// the flat quantized scans add little over the fixture and `IVF64,SQ8`). A
/// new family adds a line. Specs must suit both 384-d real data and the 24-d synthetic data.
struct Family {
    spec: &'static str,
    exact: bool,
    min_recall: f64,
    /// The worst filtered recall allowed in one cell (6 queries) of the 24-d synthetic test
    /// (the measured worst in brackets in `FAMILIES`).
    synthetic_min_recall: f64,
    params: SearchParams<'static>,
    /// The parameters of the 24-d synthetic test, where random queries far from the clustered
    /// data are harder than real ones: chosen so that the family's *unfiltered* recall@10
    /// there is ≥ 0.95, so that every filtered cell can be held to 0.95 too.
    synthetic_params: SearchParams<'static>,
    on_dev_set: bool,
}

const DEFAULT_PARAMS: SearchParams<'static> = SearchParams {
    ef_search: None,
    nprobe: None,
    rerank: None,
    filter: None,
};

/// IVF64: a quarter of the lists, where unfiltered recall@10 on the 3k fixture (47 vectors a
/// list) and the dev set is above 0.95; the default eighth reaches only ~0.86 on the fixture.
const IVF_PARAMS: SearchParams<'static> = SearchParams {
    nprobe: Some(16),
    ..DEFAULT_PARAMS
};

const FAMILIES: &[Family] = &[
    Family {
        spec: "Flat",
        exact: true,
        min_recall: 1.0,
        synthetic_min_recall: 1.0, // measured worst: exact
        params: DEFAULT_PARAMS,
        synthetic_params: DEFAULT_PARAMS,
        on_dev_set: true,
    },
    Family {
        spec: "IVF64",
        exact: false,
        min_recall: 0.95,
        synthetic_min_recall: 0.95, // measured worst: 1.0
        params: IVF_PARAMS,
        synthetic_params: IVF_PARAMS,
        on_dev_set: true,
    },
    Family {
        spec: "HNSW16",
        exact: false,
        min_recall: 0.95,
        // Measured worst: 0.90 at 100%, every strategy, equal to unfiltered HNSW on the same 6
        // queries (the graph over tight clusters; ef 512 gives 0.906); ≥ 0.95 elsewhere.
        synthetic_min_recall: 0.95,
        params: DEFAULT_PARAMS,
        // Unfiltered recall@10 there (k = 10 and 50): 0.79 at the default ef 64, 0.90 at 128,
        // 0.986 at 256; k = 50 needs more.
        synthetic_params: SearchParams {
            ef_search: Some(256),
            ..DEFAULT_PARAMS
        },
        on_dev_set: true,
    },
    // SQ8 codes without rerank: 0.956 at 50% on the fixture, 0.983 on the dev set.
    Family {
        spec: "IVF64,SQ8",
        exact: false,
        min_recall: 0.94,
        synthetic_min_recall: 0.95, // measured worst: 0.97
        params: IVF_PARAMS,
        synthetic_params: IVF_PARAMS,
        on_dev_set: true,
    },
    // PQ8 on 384-d (48-d sub-vectors) is coarse: 0.906 at 50% on the fixture (50 queries;
    // 0.924 on 100) even with the default rerank of 10·k from the kept vectors.
    Family {
        spec: "IVF64,PQ8",
        exact: false,
        min_recall: 0.88,
        synthetic_min_recall: 0.95, // measured worst: 1.0
        params: IVF_PARAMS,
        synthetic_params: IVF_PARAMS,
        on_dev_set: false,
    },
    Family {
        spec: "SQ8",
        exact: false,
        min_recall: 0.95,
        synthetic_min_recall: 0.95, // measured worst: 0.97
        params: DEFAULT_PARAMS,
        synthetic_params: DEFAULT_PARAMS,
        on_dev_set: false,
    },
    Family {
        spec: "BIN",
        exact: false,
        min_recall: 0.95,
        synthetic_min_recall: 0.95, // measured worst: 0.967 (100%)
        params: DEFAULT_PARAMS,
        // 24 sign bits barely rank the clustered 24-d data: unfiltered recall@10 there is 0.32
        // at the default rerank (10 per result), 0.54 at 1 000, 0.80 at 3 000, 0.97 at 8 000.
        synthetic_params: SearchParams {
            rerank: Some(8000),
            ..DEFAULT_PARAMS
        },
        on_dev_set: false,
    },
    Family {
        spec: "PQ8",
        exact: false,
        min_recall: 0.95,
        synthetic_min_recall: 0.95, // measured worst: 0.99
        params: DEFAULT_PARAMS,
        synthetic_params: DEFAULT_PARAMS,
        on_dev_set: false,
    },
];

const STRATEGIES: [Strategy; 4] = [
    Strategy::Auto,
    Strategy::PreFilter,
    Strategy::InIndex,
    Strategy::PostFilter,
];

fn build(spec: &str, metric: Metric, dim: usize, data: &[f32], metadata: &[Value]) -> Collection {
    let mut collection =
        Collection::new(CollectionConfig::new(dim, metric, spec.parse().unwrap())).unwrap();
    let ids: Vec<String> = (0..data.len() / dim).map(|i| i.to_string()).collect();
    let items: Vec<Item> = ids
        .iter()
        .zip(data.chunks_exact(dim))
        .zip(metadata)
        .map(|((id, vector), m)| Item {
            id,
            vector,
            metadata: Some(m.clone()),
        })
        .collect();
    for chunk in items.chunks(4096) {
        collection.add(chunk).unwrap();
    }
    collection
}

fn read_jsonl(name: &str) -> Option<Vec<Value>> {
    let text = std::fs::read_to_string(data_dir().join("dev-minilm-20k").join(name)).ok()?;
    Some(
        text.lines()
            .map(|l| serde_json::from_str(l).expect("valid JSON line"))
            .collect(),
    )
}

#[test]
fn real_filters_reach_exact_filtered_recall_on_dev_set() {
    let Some(set) = load_dev_set("base.fvecs", "query.fvecs", "groundtruth-filtered.ivecs") else {
        return;
    };
    let (Some(metadata), Some(filters)) = (
        read_jsonl("metadata.jsonl"),
        read_jsonl("query-filters.jsonl"),
    ) else {
        eprintln!("SKIPPED: metadata.jsonl or query-filters.jsonl missing");
        return;
    };
    let filters: Vec<Filter> = filters
        .iter()
        .map(|line| Filter::parse(&line["filter"]).expect("dataset filters parse"))
        .collect();
    let k = 10;
    let buckets = buckets(set.n_base(), 0xB0C7);
    let metadata = with_buckets(metadata, &buckets);
    for family in FAMILIES.iter().filter(|f| f.on_dev_set) {
        let mut collection = build(family.spec, Metric::Cosine, set.dim, &set.base, &metadata);
        // 50 of the 500 queries (time: forced post-filter at 0.1% walks HNSW at ef ≈ 12 500).
        let failures = selectivity_sweep(
            "dev-minilm-20k",
            family,
            &mut collection,
            &set,
            &buckets,
            10,
            false,
        );
        assert!(failures.is_empty(), "{failures:#?}");
        for indexed in [false, true] {
            if indexed {
                collection.create_field_index("category").unwrap();
            }
            for strategy in STRATEGIES {
                // Half the queries with Auto, a tenth with each forced strategy (time).
                let step = if strategy == Strategy::Auto { 2 } else { 10 };
                let (mut hits, mut total, mut fallbacks) = (0, 0, 0);
                for q in (0..set.n_queries()).step_by(step) {
                    let found = collection
                        .search_filtered_internal(
                            set.query(q),
                            k,
                            &filters[q],
                            &family.params,
                            strategy,
                        )
                        .unwrap();
                    assert_eq!(found.neighbors.len(), k, "query {q}: short answer");
                    fallbacks += found.fallback as usize;
                    let truth = &set.truth[q * set.gt_k..q * set.gt_k + k];
                    for n in &found.neighbors {
                        assert!(
                            filters[q].matches(metadata.get(n.id as usize)),
                            "query {q}: item {} does not match the filter",
                            n.id
                        );
                    }
                    hits += found
                        .neighbors
                        .iter()
                        .filter(|n| truth.contains(&(n.id as i32)))
                        .count();
                    total += k;
                }
                let recall = hits as f64 / total as f64;
                println!(
                    "{} indexed={indexed} {strategy}: filtered recall@10 {recall:.4}, {fallbacks} fallbacks",
                    family.spec
                );
                assert!(
                    recall >= family.min_recall,
                    "{} indexed={indexed} {strategy}: filtered recall@10 {recall} < {}",
                    family.spec,
                    family.min_recall
                );
            }
        }
    }
}

/// `{"bucket": {"$lt": t}}` matches `t` per mille of the items: 50%, 10%, 1%, 0.1%.
const SWEEP_PER_MILLE: [usize; 4] = [500, 100, 10, 1];

/// A bucket in `0..1000` per item: a seeded permutation's rank mod 1000, so each bucket
/// holds `n / 1000` items (3 on the fixture, 20 on the dev set) and selectivities are exact.
fn buckets(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order.iter().map(|rank| rank % 1000).collect()
}

/// The real metadata with the synthetic `bucket` field added.
fn with_buckets(mut metadata: Vec<Value>, buckets: &[usize]) -> Vec<Value> {
    for (m, &b) in metadata.iter_mut().zip(buckets) {
        m["bucket"] = json!(b);
    }
    metadata
}

/// Filtered recall@10 of `family` on real vectors at the selectivities of `SWEEP_PER_MILLE`,
/// against exact filtered brute force over every `query_step`-th query: `Auto` without and
/// with an index on `bucket`, and each strategy forced (indexed; without the index the
/// forced strategies find the same ids, only slower). Every answer must hold
/// `min(k, matches)` matching items; the recall over the queries must reach the family's
/// threshold (misses are returned, so one run reports every cell). Without
/// `forced_at_0_1`, forced in-index and post-filter are skipped at 0.1%. Leaves the
/// collection without the `bucket` index.
fn selectivity_sweep(
    data: &str,
    family: &Family,
    collection: &mut Collection,
    set: &common::DataSet,
    buckets: &[usize],
    query_step: usize,
    forced_at_0_1: bool,
) -> Vec<String> {
    let mut failures = Vec::new();
    let k = 10;
    let queries: Vec<usize> = (0..set.n_queries()).step_by(query_step).collect();
    let truths: Vec<Vec<Vec<usize>>> = SWEEP_PER_MILLE
        .iter()
        .map(|&t| {
            queries
                .iter()
                .map(|&q| {
                    brute_force_filtered(Metric::Cosine, set.dim, &set.base, set.query(q), k, |i| {
                        buckets[i] < t
                    })
                })
                .collect()
        })
        .collect();
    for indexed in [false, true] {
        let strategies: &[Strategy] = if indexed {
            collection.create_field_index("bucket").unwrap();
            &STRATEGIES
        } else {
            &[Strategy::Auto]
        };
        for (&per_mille, truths) in SWEEP_PER_MILLE.iter().zip(&truths) {
            let filter = Filter::parse(&json!({"bucket": {"$lt": per_mille}})).unwrap();
            let matching = buckets.iter().filter(|&&b| b < per_mille).count();
            for &strategy in strategies {
                if per_mille == 1
                    && !forced_at_0_1
                    && matches!(strategy, Strategy::InIndex | Strategy::PostFilter)
                {
                    // Both fall back to pre-filter there after a long walk (HNSW post-filter
                    // at ef ≈ 12 500); the fixture covers them.
                    continue;
                }
                let context = format!(
                    "{data} {} {:.1}% indexed={indexed} {strategy}",
                    family.spec,
                    per_mille as f64 / 10.0
                );
                let (mut hits, mut total, mut fallbacks) = (0, 0, 0);
                let mut chosen = std::collections::BTreeSet::new();
                for (&q, truth) in queries.iter().zip(truths) {
                    let found = collection
                        .search_filtered_internal(
                            set.query(q),
                            k,
                            &filter,
                            &family.params,
                            strategy,
                        )
                        .unwrap();
                    assert_eq!(
                        found.neighbors.len(),
                        k.min(matching),
                        "{context} query {q}: count"
                    );
                    assert!(
                        found
                            .neighbors
                            .iter()
                            .all(|n| buckets[n.id as usize] < per_mille),
                        "{context} query {q}: a result does not match"
                    );
                    fallbacks += found.fallback as usize;
                    chosen.insert(found.strategy.as_str());
                    hits += found
                        .neighbors
                        .iter()
                        .filter(|n| truth.contains(&(n.id as usize)))
                        .count();
                    total += truth.len();
                }
                let recall = hits as f64 / total as f64;
                println!(
                    "{context}: filtered recall@10 {recall:.4} over {} queries, {fallbacks} fallbacks, ran {chosen:?}",
                    queries.len()
                );
                if recall < family.min_recall {
                    failures.push(format!(
                        "{context}: filtered recall@10 {recall} < {}",
                        family.min_recall
                    ));
                }
            }
        }
    }
    collection.drop_field_index("bucket").unwrap();
    failures
}

#[test]
fn filtered_recall_by_selectivity_on_the_fixture() {
    let set = fixture_3k();
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/minilm-3k/metadata.jsonl"),
    )
    .expect("fixture metadata");
    let metadata: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect();
    let buckets = buckets(set.n_base(), 0xF1C5);
    let metadata = with_buckets(metadata, &buckets);
    let mut failures = Vec::new();
    for family in FAMILIES {
        let mut collection = build(family.spec, Metric::Cosine, set.dim, &set.base, &metadata);
        failures.extend(selectivity_sweep(
            "minilm-3k",
            family,
            &mut collection,
            &set,
            &buckets,
            2,
            true,
        ));
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Exact filtered top-k in f64 (ties by index): the reference.
fn brute_force_filtered(
    metric: Metric,
    dim: usize,
    data: &[f32],
    query: &[f32],
    k: usize,
    accept: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let q: Vec<f64> = query.iter().map(|&x| x as f64).collect();
    let q_norm = q.iter().map(|x| x * x).sum::<f64>().sqrt();
    let mut scored: Vec<(f64, usize)> = data
        .chunks_exact(dim)
        .enumerate()
        .filter(|(i, _)| accept(*i))
        .map(|(i, row)| {
            let dot: f64 = row.iter().zip(&q).map(|(&a, b)| a as f64 * b).sum();
            let distance = match metric {
                Metric::L2 => row
                    .iter()
                    .zip(&q)
                    .map(|(&a, b)| (a as f64 - b).powi(2))
                    .sum(),
                Metric::Dot => -dot,
                Metric::Cosine => {
                    let norm = row.iter().map(|&a| (a as f64).powi(2)).sum::<f64>().sqrt();
                    -dot / (norm * q_norm)
                }
            };
            (distance, i)
        })
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

const N: usize = 20_000;
const DIM: usize = 24;
/// Bucket values 0..1000, each held by exactly N / 1000 = 20 items.
const BUCKETS: usize = 1000;

/// Metadata with a `bucket` of a seeded permutation (exact selectivities), a `tags` array and
/// some items without the field at all.
fn synthetic_metadata(seed: u64) -> Vec<Value> {
    let mut rng = Rng(seed);
    let mut order: Vec<usize> = (0..N).collect();
    for i in (1..N).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
        .iter()
        .map(|&rank| {
            let bucket = rank % BUCKETS;
            let tag = format!("t{}", bucket % 10);
            json!({"bucket": bucket, "tags": [tag, "any"], "even": bucket % 2 == 0})
        })
        .collect()
}

#[test]
fn synthetic_selectivities_return_exactly_k_and_exact_results() {
    let seed = 0x05E1_EC71;
    let metadata = synthetic_metadata(seed);
    let data = clustered(seed, N, DIM, 40);
    // (selectivity, filter): bucket ranges, an array-contains tag filter, a negation.
    let cases: Vec<(f64, Value)> = vec![
        (0.001, json!({"bucket": {"$lt": 1}})),
        (0.01, json!({"bucket": {"$gte": 990}})),
        (
            0.1,
            json!({"bucket": {"$in": (0..100).map(|b| b * 10).collect::<Vec<_>>()}}),
        ),
        (0.1, json!({"tags": "t3"})),
        (0.5, json!({"$not": {"even": true}})),
        (
            0.5,
            json!({"$or": [{"bucket": {"$lt": 250}}, {"bucket": {"$gte": 750}}]}),
        ),
        (1.0, json!({"tags": "any"})),
        (1.0, json!({})),
    ];
    // Approximate families: filtered recall over the 6 queries (k = 10 and 50) of each
    // filter and strategy, checked per family once its cells are all run.
    let mut failures = Vec::new();
    // Per cell: hits, total, and the key of the cell's unfiltered tally.
    let mut recalls = std::collections::BTreeMap::<String, (usize, usize, String)>::new();
    // Per family, metric and filter: the unfiltered recall over the same queries, the bound
    // for a filter that matches everything.
    let mut unfiltered = std::collections::BTreeMap::<String, (usize, usize)>::new();
    for family in FAMILIES {
        recalls.clear();
        unfiltered.clear();
        // Exact families under both metrics; the approximate ones under L2 only (time: the
        // real-data tests run them under cosine).
        let metrics: &[Metric] = if family.exact {
            &[Metric::Cosine, Metric::L2]
        } else {
            &[Metric::L2]
        };
        for &metric in metrics {
            let mut collection = build(family.spec, metric, DIM, &data, &metadata);
            for indexed in [false, true] {
                if indexed {
                    for field in ["bucket", "tags", "even"] {
                        collection.create_field_index(field).unwrap();
                    }
                }
                for (selectivity, filter_json) in &cases {
                    let filter = Filter::parse(filter_json).unwrap();
                    let matching = metadata.iter().filter(|m| filter.matches(Some(m))).count();
                    assert_eq!(
                        matching,
                        (selectivity * N as f64).round() as usize,
                        "{filter_json}"
                    );
                    let estimate = collection.estimate_matches(&filter);
                    if estimate.exact {
                        assert_eq!(estimate.matches, matching as f64, "{filter_json}");
                    }
                    let mut rng = Rng(seed ^ matching as u64);
                    for k in [10, 50] {
                        for _ in 0..3 {
                            let query = rng.vector(DIM);
                            if !family.exact && !indexed {
                                let all =
                                    brute_force_filtered(metric, DIM, &data, &query, k, |_| true);
                                let found = collection
                                    .search_internal(&query, k, &family.synthetic_params)
                                    .unwrap();
                                let tally = unfiltered
                                    .entry(format!("{metric} {filter_json}"))
                                    .or_insert((0, 0));
                                tally.0 += found
                                    .iter()
                                    .filter(|n| all.contains(&(n.id as usize)))
                                    .count();
                                tally.1 += all.len();
                            }
                            let truth = brute_force_filtered(metric, DIM, &data, &query, k, |i| {
                                filter.matches(Some(&metadata[i]))
                            });
                            for strategy in STRATEGIES {
                                let context = format!(
                                    "seed {seed:#x} {} {metric} indexed={indexed} {strategy} k={k} {filter_json}",
                                    family.spec
                                );
                                let found = collection
                                    .search_filtered_internal(
                                        &query,
                                        k,
                                        &filter,
                                        &family.synthetic_params,
                                        strategy,
                                    )
                                    .unwrap();
                                let ids: Vec<usize> =
                                    found.neighbors.iter().map(|n| n.id as usize).collect();
                                assert_eq!(ids.len(), k.min(matching), "{context}: count");
                                assert!(
                                    ids.iter().all(|&i| filter.matches(Some(&metadata[i]))),
                                    "{context}: a result does not match"
                                );
                                if family.exact {
                                    assert_eq!(ids, truth, "{context}: not exact");
                                } else {
                                    let key = format!(
                                        "seed {seed:#x} {} {metric} indexed={indexed} {strategy} {filter_json}",
                                        family.spec
                                    );
                                    let tally = recalls.entry(key).or_insert((
                                        0,
                                        0,
                                        format!("{metric} {filter_json}"),
                                    ));
                                    tally.0 += ids.iter().filter(|i| truth.contains(i)).count();
                                    tally.1 += truth.len();
                                }
                            }
                        }
                    }
                }
            }
        }
        // Every cell reaches the family's threshold, or, where the index's own unfiltered
        // recall on the same queries is below it (HNSW16 on these tight clusters), that
        // unfiltered recall less 0.05 (6 queries: one in 180 results is 0.0056).
        let mut worst: Option<(f64, &String)> = None;
        for (key, (hits, total, base_key)) in &recalls {
            let recall = *hits as f64 / *total as f64;
            let (base_hits, base_total) = unfiltered[base_key];
            let base = base_hits as f64 / base_total as f64;
            let floor = family.synthetic_min_recall.min(base - 0.05);
            if recall < family.synthetic_min_recall {
                println!(
                    "{key}: filtered recall {recall:.4}, unfiltered on the same queries {base:.4}"
                );
            }
            if recall < floor {
                failures.push(format!(
                    "{key}: filtered recall {recall}, unfiltered {base}"
                ));
            }
            if worst.is_none_or(|(w, _)| recall < w) {
                worst = Some((recall, key));
            }
        }
        if let Some((recall, key)) = worst {
            println!(
                "{}: worst synthetic filtered recall {recall:.4} ({key})",
                family.spec
            );
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn fewer_matches_than_k_and_no_matches() {
    let metadata = synthetic_metadata(3);
    let data = clustered(3, N, DIM, 10);
    for family in FAMILIES {
        let collection = build(family.spec, Metric::L2, DIM, &data, &metadata);
        let query = Rng(4).vector(DIM);
        for strategy in STRATEGIES {
            let few = Filter::parse(&json!({"bucket": 7})).unwrap();
            let found = collection
                .search_filtered(&query, 100, &few, &family.params, strategy)
                .unwrap();
            assert_eq!(found.len(), 20, "{} {strategy}", family.spec);
            let none = Filter::parse(&json!({"bucket": "no such value"})).unwrap();
            let found = collection
                .search_filtered(&query, 10, &none, &family.params, strategy)
                .unwrap();
            assert!(found.is_empty(), "{} {strategy}", family.spec);
        }
    }
}

#[test]
fn a_caller_filter_in_params_still_applies() {
    let metadata = synthetic_metadata(5);
    let data = clustered(5, N, DIM, 10);
    let collection = build("Flat", Metric::Cosine, DIM, &data, &metadata);
    let filter = Filter::parse(&json!({"even": true})).unwrap();
    let below_1000 = |id: u32| id < 1000;
    let params = SearchParams {
        filter: Some(&below_1000),
        ..SearchParams::default()
    };
    let query = Rng(6).vector(DIM);
    let truth = brute_force_filtered(Metric::Cosine, DIM, &data, &query, 10, |i| {
        i < 1000 && metadata[i]["even"] == json!(true)
    });
    for strategy in STRATEGIES {
        let found = collection
            .search_filtered_internal(&query, 10, &filter, &params, strategy)
            .unwrap();
        let ids: Vec<usize> = found.neighbors.iter().map(|n| n.id as usize).collect();
        assert_eq!(ids, truth, "{strategy}");
    }
}

#[test]
fn auto_picks_pre_filter_when_selective_and_scan_when_broad_on_flat() {
    let metadata = synthetic_metadata(8);
    let data = clustered(8, N, DIM, 10);
    let mut collection = build("Flat", Metric::L2, DIM, &data, &metadata);
    collection.create_field_index("bucket").unwrap();
    let query = Rng(9).vector(DIM);
    let selective = Filter::parse(&json!({"bucket": {"$lt": 10}})).unwrap();
    let broad = Filter::parse(&json!({"tags": "any"})).unwrap();
    let params = SearchParams::default();
    let run = |f: &Filter| {
        collection
            .search_filtered_internal(&query, 10, f, &params, Strategy::Auto)
            .unwrap()
    };
    assert_eq!(run(&selective).strategy, Strategy::PreFilter);
    assert!(run(&selective).estimate.exact);
    assert_eq!(run(&broad).strategy, Strategy::InIndex);
    assert!(!run(&broad).estimate.exact, "tags is not indexed: sampled");
}

#[test]
fn filter_errors_are_typed_and_strategy_names_parse() {
    assert_eq!(
        "in-graph".parse::<Strategy>().unwrap(),
        Strategy::InIndex,
        "the HNSW name of in-index"
    );
    for s in ["auto", "pre-filter", "in-index", "post-filter"] {
        assert_eq!(s.parse::<Strategy>().unwrap().to_string(), s);
    }
    assert_eq!(
        "sideways".parse::<Strategy>().unwrap_err().code(),
        "invalid_argument"
    );
    let mut collection = Collection::with_strings(4, "cosine", "Flat").unwrap();
    for bad in ["", "a..b", "__proto__", "x.constructor", "$eq"] {
        assert_eq!(
            collection.create_field_index(bad).unwrap_err().code(),
            "invalid_filter",
            "{bad:?}"
        );
    }
    assert!(collection.create_field_index("a.b").unwrap());
    assert!(!collection.create_field_index("a.b").unwrap());
    assert_eq!(collection.indexed_fields(), vec!["a.b".to_string()]);
    assert!(collection.drop_field_index("a.b").unwrap());
    assert!(collection.indexed_fields().is_empty());
}

/// Lossy families built without full vectors (`keep_vectors = false`) have nothing to score
/// candidates with in f32: their `search_candidates` scores the candidates' own codes (list
/// by list for IVF), so every strategy still returns `min(k, matches)` matching items, and
/// pre-filter finds about what a scan of the codes would.
#[test]
fn lossy_families_without_full_vectors_filter_from_their_codes() {
    let seed = 0xC0DE5;
    let metadata = synthetic_metadata(seed);
    let data = clustered(seed, N, DIM, 40);
    for spec in ["SQ8", "BIN", "PQ8", "IVF64,SQ8", "IVF64,PQ8"] {
        let mut config = CollectionConfig::new(DIM, Metric::L2, spec.parse().unwrap());
        config.options = IndexOptions {
            keep_vectors: false,
            ..IndexOptions::default()
        };
        let mut collection = Collection::new(config).unwrap();
        let ids: Vec<String> = (0..N).map(|i| i.to_string()).collect();
        let items: Vec<Item> = ids
            .iter()
            .zip(data.chunks_exact(DIM))
            .zip(&metadata)
            .map(|((id, vector), m)| Item {
                id,
                vector,
                metadata: Some(m.clone()),
            })
            .collect();
        for chunk in items.chunks(4096) {
            collection.add(chunk).unwrap();
        }
        assert!(collection.index().is_trained(), "{spec}");
        assert!(
            collection.index().vector(0).is_none(),
            "{spec}: no f32 kept"
        );
        collection.create_field_index("bucket").unwrap();
        let mut rng = Rng(seed);
        for per_mille in [1usize, 10, 100] {
            let filter = Filter::parse(&json!({"bucket": {"$lt": per_mille}})).unwrap();
            let matching = N * per_mille / 1000;
            let (mut hits, mut total) = (0, 0);
            for _ in 0..5 {
                let query = rng.vector(DIM);
                let mut answers = Vec::new();
                let truth = brute_force_filtered(Metric::L2, DIM, &data, &query, 10, |i| {
                    metadata[i]["bucket"].as_u64().unwrap() < per_mille as u64
                });
                for strategy in STRATEGIES {
                    let found = collection
                        .search_filtered_internal(
                            &query,
                            10,
                            &filter,
                            &SearchParams::default(),
                            strategy,
                        )
                        .unwrap();
                    let context = format!("seed {seed:#x} {spec} {per_mille}‰ {strategy}");
                    assert_eq!(found.neighbors.len(), 10.min(matching), "{context}");
                    assert!(
                        found
                            .neighbors
                            .iter()
                            .all(|n| filter.matches(Some(&metadata[n.id as usize]))),
                        "{context}: a result does not match"
                    );
                    answers.push(found.neighbors.iter().map(|n| n.id).collect::<Vec<_>>());
                    if strategy == Strategy::PreFilter {
                        hits += found
                            .neighbors
                            .iter()
                            .filter(|n| truth.contains(&(n.id as usize)))
                            .count();
                        total += truth.len();
                    }
                }
                if !spec.starts_with("IVF") {
                    // A flat scan of the codes (in-index) ranks the matches by the same code
                    // distances as scoring them gathered (pre-filter): the same answer.
                    assert_eq!(answers[1], answers[2], "{spec} {per_mille}‰");
                }
            }
            // Codes only, no rerank: recall is the codec's own, and coarse on 24-d clustered
            // data with thousands of candidates (measured: SQ8 0.98–1.0, PQ8 0.42–0.96, BIN
            // 0.24–0.74); the floor only shows that codes were scored, not skipped.
            let recall = hits as f64 / total as f64;
            println!("{spec} {per_mille}‰ pre-filter from codes: recall@10 {recall:.3}");
            let floor = if spec.contains("SQ8") { 0.9 } else { 0.15 };
            assert!(recall >= floor, "{spec} {per_mille}‰: recall {recall}");
        }
    }
}

/// The measured `Auto` choices of the approximate families (`docs/filters.md`): pre-filter
/// for few known matches or a tiny sampled selectivity; otherwise post-filter on HNSW and
/// in-index on IVF.
#[test]
fn auto_choices_of_the_approximate_families() {
    let set = fixture_3k();
    let buckets = buckets(set.n_base(), 0xA070);
    let metadata: Vec<Value> = buckets.iter().map(|b| json!({"bucket": b})).collect();
    let query = set.query(0);
    let params = SearchParams::default();
    for (spec, broad) in [
        ("HNSW16", Strategy::PostFilter),
        ("IVF64", Strategy::InIndex),
    ] {
        let mut collection = build(spec, Metric::Cosine, set.dim, &set.base, &metadata);
        let chosen = |c: &Collection, per_mille: usize| {
            let filter = Filter::parse(&json!({"bucket": {"$lt": per_mille}})).unwrap();
            c.search_filtered_internal(query, 10, &filter, &params, Strategy::Auto)
                .unwrap()
                .strategy
        };
        // Unindexed: 0.1% samples no match (pre-filter); 50% is broad.
        assert_eq!(chosen(&collection, 1), Strategy::PreFilter, "{spec}");
        assert_eq!(chosen(&collection, 500), broad, "{spec}");
        collection.create_field_index("bucket").unwrap();
        // Indexed: 1 500 known matches are scored; 2 700 are too many.
        assert_eq!(chosen(&collection, 500), Strategy::PreFilter, "{spec}");
        assert_eq!(chosen(&collection, 900), broad, "{spec}");
    }
}

/// The post-filter's widened `ef_search` and scaled `rerank` (`docs/filters.md`, "Post-filter
/// keeps the caller's accuracy"): the slack beyond the oversampled depth, the per-result
/// rerank ratio, and their bounds.
#[test]
fn post_filter_widens_ef_and_scales_rerank() {
    use quiver::filter::strategy::{post_filter_ef, post_filter_rerank};
    // ef 64 for k = 10 keeps 54 spare candidates beyond 133 oversampled results.
    assert_eq!(post_filter_ef(Some(64), 10, 133), Some(187));
    // ef below k is raised to k first: no slack.
    assert_eq!(post_filter_ef(Some(5), 10, 40), Some(40));
    assert_eq!(post_filter_ef(None, 10, 40), None);
    assert_eq!(post_filter_ef(Some(64), 10, usize::MAX), Some(usize::MAX));
    // rerank 100 for k = 10 is 10 per result: 1 330 for 133 results, capped by the index size.
    assert_eq!(post_filter_rerank(Some(100), 10, 133, 20_000), Some(1330));
    assert_eq!(post_filter_rerank(Some(100), 10, 133, 500), Some(500));
    // Never below the caller's value, nor changed when nothing is oversampled.
    assert_eq!(post_filter_rerank(Some(100), 10, 133, 50), Some(100));
    assert_eq!(post_filter_rerank(Some(100), 10, 10, 20_000), Some(100));
    assert_eq!(post_filter_rerank(None, 10, 133, 20_000), None);
    assert_eq!(
        post_filter_rerank(Some(100_000), 10, usize::MAX, usize::MAX),
        Some(usize::MAX)
    );
}

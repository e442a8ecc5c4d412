//! Filtered search: time per query and recall of each strategy against selectivity, on the
//! dev set (20k MiniLM vectors with their real metadata, plus a synthetic `bucket` field that
//! gives exact selectivities), with and without a field index. This is how the `Auto`
//! thresholds in `src/filter/strategy.rs` were chosen (see `docs/filters.md`).
//!
//! `cargo run --release --example filter_strategies -- [SPEC] [QUERIES] [PER_MILLE,...]`
//! (defaults: `Flat`, 100, `1,5,10,20,50,100,200,300,500,700,1000`). Recall is against exact
//! filtered search (flat pre-filter). Prints one row per cell, then a wide summary (one row
//! per selectivity, every strategy side by side) that `bench/filter.sh` collects.

use std::path::PathBuf;
use std::time::Instant;

use quiver::texmex::parse_fvecs;
use quiver::{Collection, CollectionConfig, Filter, Item, Metric, SearchParams, Strategy};
use serde_json::{json, Value};

fn data_dir() -> PathBuf {
    std::env::var_os("QUIVER_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
        .join("dev-minilm-20k")
}

fn build(spec: &str, dim: usize, base: &[f32], metadata: &[Value]) -> Collection {
    let mut c = Collection::new(CollectionConfig::new(
        dim,
        Metric::Cosine,
        spec.parse().expect("spec"),
    ))
    .expect("collection");
    let ids: Vec<String> = (0..metadata.len()).map(|i| i.to_string()).collect();
    let items: Vec<Item> = ids
        .iter()
        .zip(base.chunks_exact(dim))
        .zip(metadata)
        .map(|((id, vector), m)| Item {
            id,
            vector,
            metadata: Some(m.clone()),
        })
        .collect();
    if !c.index().is_trained() {
        c.index_mut().train(base).expect("train");
    }
    for chunk in items.chunks(4096) {
        c.add(chunk).expect("add");
    }
    c
}

fn main() {
    let mut args = std::env::args().skip(1);
    let spec = args.next().unwrap_or_else(|| "Flat".into());
    let n_queries: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let per_milles: Vec<usize> = args
        .next()
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 5, 10, 20, 50, 100, 200, 300, 500, 700, 1000]);
    let dir = data_dir();
    let (Ok(base), Ok(queries), Ok(meta_text)) = (
        std::fs::read(dir.join("base.fvecs")),
        std::fs::read(dir.join("query.fvecs")),
        std::fs::read_to_string(dir.join("metadata.jsonl")),
    ) else {
        eprintln!("data set not found at {}", dir.display());
        return;
    };
    let (dim, base) = parse_fvecs(&base).expect("base");
    let (_, queries) = parse_fvecs(&queries).expect("queries");
    let n = base.len() / dim;
    // bucket = a fixed permutation of 0..n, mod 1000: each value held by n / 1000 items.
    let mut metadata: Vec<Value> = meta_text
        .lines()
        .map(|l| serde_json::from_str(l).expect("metadata line"))
        .collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    for (m, rank) in metadata.iter_mut().zip(&order) {
        m["bucket"] = json!(rank % 1000);
    }

    let mut plain = build(&spec, dim, &base, &metadata);
    if std::env::var_os("COSTS").is_some() {
        costs(&mut plain, &queries, dim, n);
        return;
    }
    let mut oracle = build("Flat", dim, &base, &metadata);
    oracle.create_field_index("bucket").expect("index");
    let params = SearchParams::default();
    let k = 10;
    println!("spec {spec}, n {n}, dim {dim}, k {k}, {n_queries} queries per cell");
    let mut wide = Vec::new();
    println!("| selectivity | indexed | strategy | median µs/query | recall@10 | auto chose |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for indexed in [false, true] {
        if indexed {
            plain.create_field_index("bucket").expect("index");
        }
        for &per_mille in &per_milles {
            let filter = Filter::parse(&json!({"bucket": {"$lt": per_mille}})).expect("filter");
            let truth: Vec<Vec<u32>> = (0..n_queries)
                .map(|q| {
                    let query = &queries[q * dim..(q + 1) * dim];
                    oracle
                        .search_filtered_internal(query, k, &filter, &params, Strategy::PreFilter)
                        .expect("search")
                        .neighbors
                        .iter()
                        .map(|n| n.id)
                        .collect()
                })
                .collect();
            // Strategies take turns query by query, so that load from other processes on a
            // shared machine falls on all of them alike; the median per-query time is kept.
            const STRATEGIES: [Strategy; 4] = [
                Strategy::Auto,
                Strategy::PreFilter,
                Strategy::InIndex,
                Strategy::PostFilter,
            ];
            let mut times = vec![Vec::with_capacity(n_queries); STRATEGIES.len()];
            let mut hits = [0usize; STRATEGIES.len()];
            let mut chose = None;
            for (q, truth) in truth.iter().enumerate() {
                let query = &queries[q * dim..(q + 1) * dim];
                // Rotate which strategy goes first: the first one pays for cold caches.
                for turn in 0..STRATEGIES.len() {
                    let s = (turn + q) % STRATEGIES.len();
                    let strategy = STRATEGIES[s];
                    let start = Instant::now();
                    let found = plain
                        .search_filtered_internal(query, k, &filter, &params, strategy)
                        .expect("search");
                    times[s].push(start.elapsed().as_secs_f64() * 1e6);
                    if strategy == Strategy::Auto {
                        chose = Some(found.strategy);
                    }
                    hits[s] += found
                        .neighbors
                        .iter()
                        .filter(|n| truth.contains(&n.id))
                        .count();
                }
            }
            let mut row = format!(
                "| {spec} | {:.1}% | {} |",
                per_mille as f64 / 10.0,
                if indexed { "yes" } else { "no" }
            );
            for (s, strategy) in STRATEGIES.iter().enumerate() {
                times[s].sort_by(f64::total_cmp);
                let median = times[s][times[s].len() / 2];
                let recall = hits[s] as f64 / (n_queries * k) as f64;
                row += &match (strategy, chose) {
                    (Strategy::Auto, Some(c)) => format!(" {median:.0} µs, {recall:.3} ({c}) |"),
                    _ => format!(" {median:.0} µs, {recall:.3} |"),
                };
                let chose = match (strategy, chose) {
                    (Strategy::Auto, Some(c)) => c.to_string(),
                    _ => String::new(),
                };
                println!(
                    "| {:.1}% | {indexed} | {strategy} | {median:.0} | {recall:.4} | {chose} |",
                    per_mille as f64 / 10.0
                );
            }
            wide.push(row);
        }
    }
    println!();
    println!("Median µs/query and recall@10 ({n_queries} queries, k = {k}):");
    println!();
    println!(
        "| family | selectivity | indexed | auto (chose) | pre-filter | in-index | post-filter |"
    );
    println!("| --- | ---: | --- | --- | --- | --- | --- |");
    for row in wide {
        println!("{row}");
    }
}

/// Per-item costs, each the minimum over repetitions (robust to other load on the machine):
/// evaluating a filter on an item's metadata, scanning a row, scoring a gathered candidate.
fn costs(c: &mut Collection, queries: &[f32], dim: usize, n: usize) {
    let selective = Filter::parse(&json!({"bucket": {"$lt": 1}})).expect("filter");
    let everything = Filter::parse(&json!({"bucket": {"$gte": 0}})).expect("filter");
    let min_ns = |c: &Collection, f: &dyn Fn(&Collection, &[f32])| {
        (0..25)
            .map(|r| {
                let q = &queries[(r % 50) * dim..(r % 50 + 1) * dim];
                let start = Instant::now();
                f(c, q);
                start.elapsed().as_secs_f64() * 1e9 / n as f64
            })
            .fold(f64::INFINITY, f64::min)
    };
    fn search<'a>(f: &'a Filter, s: Strategy) -> impl Fn(&Collection, &[f32]) + 'a {
        move |c: &Collection, q: &[f32]| {
            c.search_filtered_internal(q, 10, f, &SearchParams::default(), s)
                .expect("search");
        }
    }
    let scan = min_ns(c, &|c, q| {
        c.search(q, 10).expect("search");
    });
    let eval = min_ns(c, &search(&selective, Strategy::PreFilter));
    c.create_field_index("bucket").expect("index");
    let gather = min_ns(c, &search(&everything, Strategy::PreFilter));
    println!("minimum over 25 runs, per item of {n}:");
    println!("  scan (unfiltered flat search):             {scan:.0} ns/row");
    println!("  unindexed pre-filter at 0.1% (evaluation): {eval:.0} ns/item");
    println!("  indexed pre-filter at 100% (gather+score): {gather:.0} ns/candidate");
    println!(
        "  => indexed crossover d/g = {:.2}; evaluation/scan = {:.2}",
        scan / gather,
        eval / scan
    );
    for per_mille in [100, 200, 300, 400, 500, 700] {
        let f = Filter::parse(&json!({"bucket": {"$lt": per_mille}})).expect("filter");
        let pre = min_ns(c, &search(&f, Strategy::PreFilter));
        let inside = min_ns(c, &search(&f, Strategy::InIndex));
        println!(
            "  indexed {:.0}%: pre-filter {:.0} µs, in-index {:.0} µs",
            per_mille as f64 / 10.0,
            pre * n as f64 / 1e3,
            inside * n as f64 / 1e3
        );
    }
    c.drop_field_index("bucket").expect("drop");
    for per_mille in [1, 2, 5, 10, 20, 50] {
        let f = Filter::parse(&json!({"bucket": {"$lt": per_mille}})).expect("filter");
        let pre = min_ns(c, &search(&f, Strategy::PreFilter));
        let inside = min_ns(c, &search(&f, Strategy::InIndex));
        println!(
            "  unindexed {:.1}%: pre-filter {:.0} µs, in-index {:.0} µs",
            per_mille as f64 / 10.0,
            pre * n as f64 / 1e3,
            inside * n as f64 / 1e3
        );
    }
}

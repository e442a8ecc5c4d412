//! Native HNSW micro-benchmark on a TEXMEX folder (default: the dev set).
//!
//! `cargo run --release --example hnsw_bench -- [DIR] [M] [EF_CONSTRUCTION] [SEED]`
//! Prints build time, then recall@10 and QPS over an `ef_search` sweep (one query at a time).

use std::time::Instant;

use quiver::index::hnsw::Hnsw;
use quiver::texmex::{parse_fvecs, parse_ivecs, recall_at_k};
use quiver::{Index, IndexOptions, Metric, Scratch, SearchParams};

/// CPU seconds used by this process so far (user + system), from `/proc/self/stat` on Linux;
/// the machine may be shared, so CPU time is steadier than wall time. `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "../shared/data/dev-minilm-20k".into());
    let m: usize = args.get(2).map_or(16, |s| s.parse().expect("m"));
    let ef_construction: usize = args.get(3).map_or(200, |s| s.parse().expect("efC"));
    let seed: Option<u64> = args.get(4).map(|s| s.parse().expect("seed"));
    let read = |name: &str| std::fs::read(format!("{dir}/{name}")).expect(name);
    let (dim, mut base) = parse_fvecs(&read("base.fvecs")).unwrap();
    let (_, mut queries) = parse_fvecs(&read("query.fvecs")).unwrap();
    let (gt_k, truth) = parse_ivecs(&read("groundtruth.ivecs")).unwrap();
    for row in base
        .chunks_exact_mut(dim)
        .chain(queries.chunks_exact_mut(dim))
    {
        quiver::distance::normalize(row);
    }
    let n = base.len() / dim;
    let mut options = IndexOptions {
        ef_construction,
        ..IndexOptions::default()
    };
    if let Some(seed) = seed {
        options.seed = seed;
    }
    let mut index = Hnsw::new(dim, Metric::Cosine, m, &options).unwrap();
    let ids: Vec<u32> = (0..n as u32).collect();
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    index.add(&ids, &base).unwrap();
    let build = start.elapsed();
    let cpu = cpu_seconds().zip(cpu_start).map(|(b, a)| b - a);
    println!(
        "build {n} x {dim}, M={m}, efC={ef_construction}: {:.2?} wall, {} CPU, {:.1} MB, {:?}",
        build,
        cpu.map_or("?".into(), |c| format!("{c:.2}s")),
        index.memory_bytes() as f64 / 1e6,
        index.stats()
    );
    let mut scratch = Scratch::default();
    for ef in [10, 16, 24, 32, 48, 64, 96, 128, 256] {
        let params = SearchParams {
            ef_search: Some(ef),
            ..SearchParams::default()
        };
        let mut found = Vec::new();
        let start = Instant::now();
        let cpu_start = cpu_seconds();
        for _ in 0..3 {
            found.clear();
            for q in queries.chunks_exact(dim) {
                let hits = index.search(q, 10, &params, &mut scratch).unwrap();
                found.push(hits.iter().map(|h| h.id).collect::<Vec<u32>>());
            }
        }
        let wall = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds().zip(cpu_start).map_or(wall, |(b, a)| b - a);
        let queries_run = (3 * found.len()) as f64;
        let r = recall_at_k(&found, &truth, gt_k, 10);
        println!(
            "ef {ef:>4}: recall@10 {r:.4}  {:>8.0} QPS wall  {:>8.0} QPS per CPU second",
            queries_run / wall,
            queries_run / cpu.max(1e-9)
        );
    }
}

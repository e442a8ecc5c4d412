//! Quantization benchmark: for each spec on a TEXMEX folder (default: the MiniLM dev set,
//! cosine), bytes per vector, recall@10 without and with rerank, single-thread QPS and
//! build/training time, plus the projection to 1M × 384-d and whether it fits a 128 MB Worker.
//!
//! `cargo run --release --example quant_bench [DATA_DIR] [metric]`; prints a Markdown table.
//! The numbers in `bench/README.md` ("Quantization") come from this program.

use std::time::Instant;

use quiver::index::{build_index, Index};
use quiver::texmex::{parse_fvecs, parse_ivecs, recall_at_k};
use quiver::{IndexOptions, Metric, Scratch, SearchParams};

struct Case {
    spec: &'static str,
    rerank: usize,
    nprobe: Option<usize>,
}

/// `ef_search` of the graph cases (the HNSW default).
const EF_SEARCH: usize = 64;

const CASES: &[Case] = &[
    Case {
        spec: "Flat",
        rerank: 0,
        nprobe: None,
    },
    Case {
        spec: "SQ8",
        rerank: 0,
        nprobe: None,
    },
    Case {
        spec: "PQ48",
        rerank: 100,
        nprobe: None,
    },
    Case {
        spec: "PQ96",
        rerank: 100,
        nprobe: None,
    },
    Case {
        spec: "BIN",
        rerank: 100,
        nprobe: None,
    },
    Case {
        spec: "IVF256,SQ8",
        rerank: 0,
        nprobe: Some(32),
    },
    Case {
        spec: "IVF256,PQ48",
        rerank: 100,
        nprobe: Some(32),
    },
    Case {
        spec: "HNSW16",
        rerank: 0,
        nprobe: None,
    },
    Case {
        spec: "HNSW16,SQ8",
        rerank: 40,
        nprobe: None,
    },
];

/// A Cloudflare Worker isolate's memory.
const WORKER_BYTES: f64 = 128.0 * 1024.0 * 1024.0;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .unwrap_or_else(|| "../shared/data/dev-minilm-20k".to_string());
    let metric: Metric = args
        .next()
        .map(|m| m.parse().expect("metric"))
        .unwrap_or(Metric::Cosine);
    let (base_file, query_file, truth_file) = match metric {
        Metric::L2 => (
            "base-scaled.fvecs",
            "query-scaled.fvecs",
            "groundtruth-l2.ivecs",
        ),
        _ => ("base.fvecs", "query.fvecs", "groundtruth.ivecs"),
    };
    let read = |name: &str| std::fs::read(format!("{dir}/{name}")).expect("data file");
    let (dim, mut base) = parse_fvecs(&read(base_file)).unwrap();
    let (_, mut queries) = parse_fvecs(&read(query_file)).unwrap();
    let (gt_k, truth) = parse_ivecs(&read(truth_file)).unwrap();
    if metric == Metric::Cosine {
        for v in base
            .chunks_exact_mut(dim)
            .chain(queries.chunks_exact_mut(dim))
        {
            quiver::distance::normalize(v);
        }
    }
    let n = base.len() / dim;
    let nq = queries.len() / dim;
    println!("data: {dir} ({n} × {dim}, {nq} queries, {metric}); one thread\n");
    println!(
        "| spec | bytes/vector (codes only) | bytes/vector (+ full vectors) | build+train s | \
         recall@10 no rerank | recall@10 rerank | rerank | nprobe | QPS no rerank | QPS rerank | \
         1M × {dim}: measured codes-only | 1M × {dim}: payload | payload fits 128 MB | \
         build CPU s | QPS per CPU s no rerank | QPS per CPU s rerank |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let ids: Vec<u32> = (0..n as u32).collect();
    // `QUANT_BENCH_ONLY=HNSW16,SQ8;SQ8` runs only the listed specs.
    let only: Option<Vec<String>> = std::env::var("QUANT_BENCH_ONLY")
        .ok()
        .map(|s| s.split(';').map(str::to_string).collect());
    for case in CASES {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|s| s == case.spec))
        {
            continue;
        }
        let spec: quiver::index::IndexSpec = case.spec.parse().unwrap();
        let build = |keep_vectors: bool| -> (Box<dyn Index>, f64, f64) {
            let options = IndexOptions {
                keep_vectors,
                ..IndexOptions::default()
            };
            let started = Instant::now();
            let cpu = cpu_seconds();
            let mut index = build_index(&spec, dim, metric, &options).unwrap();
            // Batches of 4096 as an application would add them; families train themselves.
            for (chunk_ids, chunk) in ids.chunks(4096).zip(base.chunks(4096 * dim)) {
                index.add(chunk_ids, chunk).unwrap();
            }
            if !index.is_trained() {
                index.train_on_stored().unwrap();
            }
            (index, started.elapsed().as_secs_f64(), cpu_seconds() - cpu)
        };
        let (index, seconds, build_cpu) = build(true);
        let with_full = index.memory_bytes() as f64 / n as f64;
        let codes_only = if case.spec == "Flat" {
            with_full
        } else {
            build(false).0.memory_bytes() as f64 / n as f64
        };
        let mut scratch = Scratch::default();
        let mut run = |rerank: usize| -> (f64, f64, f64) {
            let params = SearchParams {
                rerank: Some(rerank),
                nprobe: case.nprobe,
                ef_search: matches!(spec.structure, quiver::index::Structure::Hnsw { .. })
                    .then_some(EF_SEARCH),
                ..SearchParams::default()
            };
            let started = Instant::now();
            let cpu = cpu_seconds();
            let found: Vec<Vec<u32>> = queries
                .chunks_exact(dim)
                .map(|q| {
                    index
                        .search(q, 10, &params, &mut scratch)
                        .unwrap()
                        .iter()
                        .map(|h| h.id)
                        .collect()
                })
                .collect();
            let qps = nq as f64 / started.elapsed().as_secs_f64();
            let qps_cpu = nq as f64 / (cpu_seconds() - cpu).max(1e-9);
            (recall_at_k(&found, &truth, gt_k, 10), qps, qps_cpu)
        };
        let (recall0, qps0, cpu_qps0) = run(0);
        let (recall_r, qps_r, cpu_qps_r) = if case.rerank > 0 {
            run(case.rerank)
        } else {
            (recall0, qps0, cpu_qps0)
        };
        let projected = codes_only * 1e6;
        // Minimal steady-state payload per vector: the code, the u32 id, and one hash-map
        // bucket (flat: 4 + 4 + 1 bytes, IVF: 4 + 8 + 1) at hashbrown's 7/8 maximum load.
        let code = match spec.encoding {
            quiver::index::Encoding::Raw => 4 * dim,
            quiver::index::Encoding::Sq8 => dim,
            quiver::index::Encoding::Pq { m } => m,
            quiver::index::Encoding::Binary => dim.div_ceil(8),
        } as f64;
        let map = match spec.structure {
            quiver::index::Structure::Ivf { .. } => 13.0,
            _ => 9.0,
        } / 0.875;
        // HNSW adds its layer-0 list (count + 2m links, u32) and a state byte per node; the
        // upper layers (~1/m of the nodes) are left out of this floor.
        let graph = match spec.structure {
            quiver::index::Structure::Hnsw { m } => (4 * (2 * m + 1) + 1) as f64,
            _ => 0.0,
        };
        let payload = (code + 4.0 + map + graph) * 1e6;
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.4} | {:.4} | {} | {} | {:.0} | {:.0} | {:.1} MB | {:.1} MB | {} | {:.2} | {:.0} | {:.0} |",
            case.spec,
            codes_only,
            with_full,
            seconds,
            recall0,
            recall_r,
            case.rerank,
            case.nprobe.map_or("-".to_string(), |p| p.to_string()),
            qps0,
            qps_r,
            projected / 1e6,
            payload / 1e6,
            if payload < WORKER_BYTES { "yes" } else { "no" },
            build_cpu,
            cpu_qps0,
            cpu_qps_r,
        );
    }
}

/// CPU seconds (user + system) of this process from `/proc/self/stat` (Linux; clock ticks of
/// 1/100 s), or 0 elsewhere. On a shared machine CPU time is steadier than wall time.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

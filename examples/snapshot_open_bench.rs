//! Native profile of opening a saved store (the decode half of "open + first query").
//!
//! `cargo run --profile bench-native --example snapshot_open_bench -- [N] [SPEC] [EF_CONSTRUCTION] [DIR]`
//! (defaults: 100000, HNSW16, 20, the dev set). Builds an `N` × dim store from the dev set's
//! vectors (repeated with seeded noise past its size; a low `ef_construction` keeps the build
//! short — decoding does not depend on graph quality), saves it in memory, then opens it five
//! times and prints the median open time next to the cost of the passes every open makes over
//! the bytes (CRC-32, copying), so `perf record` on this binary shows where the rest goes.

use std::collections::BTreeMap;
use std::time::Instant;

use quiver::snapshot::{crc32, MANIFEST_KEY};
use quiver::texmex::parse_fvecs;
use quiver::{Collection, CollectionConfig, IndexOptions, Item, Metric};

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(100_000, |s| s.parse().expect("N"));
    let spec = args.get(2).cloned().unwrap_or_else(|| "HNSW16".into());
    let ef_construction: usize = args.get(3).map_or(20, |s| s.parse().expect("efC"));
    let dir = args
        .get(4)
        .cloned()
        .unwrap_or_else(|| "../shared/data/dev-minilm-20k".into());
    // QUIVER_OPEN_CACHE=DIR keeps the saved records between runs (one file per key).
    let cache = std::env::var("QUIVER_OPEN_CACHE").ok();
    let store = match cache
        .as_deref()
        .filter(|d| std::path::Path::new(d).exists())
    {
        Some(d) => {
            let mut store = BTreeMap::new();
            for entry in std::fs::read_dir(d).expect("cache") {
                let entry = entry.expect("entry");
                let key = entry.file_name().into_string().expect("key");
                store.insert(key, std::fs::read(entry.path()).expect("read"));
            }
            store
        }
        None => {
            let store = build(n, &spec, ef_construction, &dir);
            if let Some(d) = &cache {
                std::fs::create_dir_all(d).expect("cache dir");
                for (k, v) in &store {
                    std::fs::write(format!("{d}/{k}"), v).expect("write");
                }
            }
            store
        }
    };
    let bytes: usize = store.values().map(Vec::len).sum();
    println!(
        "snapshot: {} records, {:.1} MB",
        store.len(),
        bytes as f64 / 1e6
    );
    let n = Collection::manifest_info(&store[MANIFEST_KEY])
        .expect("manifest")
        .items as usize;

    let manifest = store[MANIFEST_KEY].clone();
    let mut opens = Vec::new();
    for _ in 0..5 {
        let mut source = store.clone();
        let t = Instant::now();
        let opened = Collection::open(&manifest, &mut source).expect("open");
        opens.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(opened.len(), n);
    }
    if std::env::var_os("QUIVER_OPEN_ONLY").is_some() {
        println!("open (median of 5): {:.1} ms", median(opens));
        return;
    }
    let mut crcs = Vec::new();
    let mut copies = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut x = 0u32;
        for v in store.values() {
            x ^= crc32(v);
        }
        crcs.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(x);
        let t = Instant::now();
        let copied: Vec<Vec<u8>> = store.values().cloned().collect();
        copies.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(copied);
    }
    println!(
        "open (median of 5): {:.1} ms; of which at least: CRC-32 of every byte {:.1} ms, one copy of every byte {:.1} ms",
        median(opens),
        median(crcs),
        median(copies)
    );
}

fn build(n: usize, spec: &str, ef_construction: usize, dir: &str) -> BTreeMap<String, Vec<u8>> {
    let (dim, base) =
        parse_fvecs(&std::fs::read(format!("{dir}/base.fvecs")).expect("base")).expect("fvecs");
    let rows = base.len() / dim;
    let mut seed = 12345u32;
    let mut noise = || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (seed as f32 / 4_294_967_296.0 - 0.5) * 0.05
    };
    let mut data = Vec::with_capacity(n * dim);
    for i in 0..n {
        let copy = i / rows;
        for j in 0..dim {
            let x = base[(i % rows) * dim + j];
            data.push(if copy > 0 { x + noise() } else { x });
        }
    }
    let config = CollectionConfig {
        options: IndexOptions {
            ef_construction,
            ..IndexOptions::default()
        },
        ..CollectionConfig::new(dim, Metric::Cosine, spec.parse().expect("spec"))
    };
    let mut c = Collection::new(config).expect("collection");
    let t = Instant::now();
    let ids: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    for (chunk_ids, chunk) in ids.chunks(4096).zip(data.chunks(4096 * dim)) {
        let items: Vec<Item> = chunk_ids
            .iter()
            .zip(chunk.chunks_exact(dim))
            .map(|(id, v)| Item {
                id,
                vector: v,
                metadata: None,
            })
            .collect();
        c.add(&items).expect("add");
    }
    println!(
        "built {n} × {dim} {spec} (efC {ef_construction}) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let plan = c.begin_save().expect("save");
    let store: BTreeMap<String, Vec<u8>> = plan.puts.into_iter().collect();
    store
}

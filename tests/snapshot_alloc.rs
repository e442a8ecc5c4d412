//! Decoding never allocates more than the input justifies: a counting global allocator measures
//! the peak heap growth while opening stores, valid and hostile, and checks it stays within
//! `ALLOC_FACTOR × input bytes + ALLOC_SLACK`. A dedicated test binary (one test) so nothing
//! else allocates concurrently.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::Rng;
use quiver::snapshot::{crc32, MANIFEST_KEY};
use quiver::{Collection, CollectionConfig, Item, Metric};
use serde_json::json;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            if new_size > layout.size() {
                let grow = new_size - layout.size();
                let now = CURRENT.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The documented bound (docs/format.md): peak heap growth while decoding `b` stored bytes is
/// at most `ALLOC_FACTOR * b + ALLOC_SLACK`.
const ALLOC_FACTOR: usize = 64;
const ALLOC_SLACK: usize = 256 * 1024;

type Store = BTreeMap<String, Vec<u8>>;

/// Peak heap growth while opening `store`, and whether it opened.
fn measure(store: &Store) -> (usize, bool) {
    let manifest = store.get(MANIFEST_KEY).cloned().unwrap_or_default();
    let mut source = store.clone();
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = Collection::open(&manifest, &mut source);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let ok = result.is_ok();
    drop(result);
    (peak, ok)
}

fn build(spec: &str, dim: usize, n: usize, seed: u64, with_log: bool) -> Store {
    let mut rng = Rng(seed);
    let mut c = Collection::new(CollectionConfig::new(
        dim,
        Metric::L2,
        spec.parse().unwrap(),
    ))
    .unwrap();
    let ids: Vec<String> = (0..n).map(|i| format!("{i}")).collect();
    let vectors: Vec<Vec<f32>> = (0..n).map(|_| rng.vector(dim)).collect();
    let items: Vec<Item> = ids
        .iter()
        .zip(&vectors)
        .enumerate()
        .map(|(i, (id, v))| Item {
            id,
            vector: v,
            metadata: (i % 3 == 0).then(|| json!({ "i": i, "list": [1, 2, 3] })),
        })
        .collect();
    let half = items.len() / 2;
    c.add(&items[..half]).unwrap();
    if !c.index().is_trained() && half >= 300 {
        c.train().unwrap();
    }
    let mut store = Store::new();
    let save = |c: &mut Collection, store: &mut Store| {
        let plan = c.begin_save().unwrap();
        for (k, v) in plan.puts {
            store.insert(k, v);
        }
        for k in plan.deletes {
            store.remove(&k);
        }
        c.ack_save(plan.token).unwrap();
    };
    if with_log {
        save(&mut c, &mut store);
    }
    c.add(&items[half..]).unwrap();
    save(&mut c, &mut store);
    store
}

fn reseal(store: &mut Store, key: &str) {
    let bytes = store.get_mut(key).unwrap();
    let old = bytes[16..20].to_vec();
    let mut covered = bytes[..16].to_vec();
    covered.extend_from_slice(&bytes[20..]);
    let new = crc32(&covered).to_le_bytes();
    bytes[16..20].copy_from_slice(&new);
    if key != MANIFEST_KEY {
        let manifest = store.get_mut(MANIFEST_KEY).unwrap();
        if let Some(at) = manifest.windows(4).skip(20).position(|w| w == old) {
            manifest[20 + at..24 + at].copy_from_slice(&new);
        }
        reseal(store, MANIFEST_KEY);
    }
}

#[test]
fn decoding_allocates_at_most_a_constant_factor_of_its_input() {
    let mut worst = 0.0f64;
    let check = |store: &Store, what: &str, worst: &mut f64| {
        let input: usize = store.values().map(Vec::len).sum();
        let (peak, ok) = measure(store);
        let bound = ALLOC_FACTOR * input + ALLOC_SLACK;
        assert!(
            peak <= bound,
            "{what}: {peak} bytes allocated for {input} input bytes (opened: {ok})"
        );
        if input > 10_000 {
            *worst = worst.max(peak as f64 / input as f64);
        }
    };
    for (dim, n) in [(1, 0), (1, 5000), (4, 3000), (64, 1000), (384, 300)] {
        for with_log in [false, true] {
            let store = build("Flat", dim, n, dim as u64 + n as u64, with_log);
            check(
                &store,
                &format!("valid dim {dim} n {n} log {with_log}"),
                &mut worst,
            );
        }
    }
    for spec in [
        "SQ8",
        "BIN",
        "PQ4",
        "IVF8",
        "IVF8,SQ8",
        "IVF8,PQ4",
        "HNSW8",
        "HNSW8,SQ8",
    ] {
        let store = build(spec, 8, 1200, 11, true);
        check(&store, &format!("valid {spec}"), &mut worst);
    }
    // Hostile: large counts and lengths written into every third position of the payloads,
    // resealed so the checksums pass.
    let mut rng = Rng(17);
    for (spec, n) in [("Flat", 60), ("IVF4,PQ4", 400), ("SQ8", 60), ("HNSW4", 80)] {
        let base = build(spec, 4, n, 3, true);
        for key in base.keys().cloned().collect::<Vec<_>>() {
            let len = base[&key].len();
            // Large stores: sample positions rather than visiting every one.
            let step = (len / 120).max(3);
            for at in (20..len.saturating_sub(8)).step_by(step) {
                for value in [
                    u64::MAX,
                    u32::MAX as u64,
                    1 << 32 | 1,
                    1 << 28,
                    rng.next_u64(),
                ] {
                    let mut store = base.clone();
                    let bytes = store.get_mut(&key).unwrap();
                    let take = (len - at).min(8);
                    bytes[at..at + take].copy_from_slice(&value.to_le_bytes()[..take]);
                    reseal(&mut store, &key);
                    check(
                        &store,
                        &format!("{spec} {key} @{at} = {value:#x}"),
                        &mut worst,
                    );
                }
            }
        }
    }
    println!("worst peak allocation: {worst:.1} bytes per input byte");
}

//! `"HNSW{m},SQ8"` beyond the conformance suite: the training policy, memory accounting (codes
//! vs graph vs kept vectors), cold full vectors through a `VectorSource`, filters, deletes and
//! determinism. Small synthetic data, so the file runs in a few seconds.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{brute_force, clustered, Rng};
use quiver::index::{build_index, Index, VectorSource};
use quiver::{Error, IndexOptions, Metric, Scratch, SearchParams};

const DIM: usize = 32;

fn build(spec: &str, metric: Metric, options: &IndexOptions) -> Box<dyn Index> {
    build_index(&spec.parse().unwrap(), DIM, metric, options).unwrap()
}

fn ids(range: std::ops::Range<u32>) -> Vec<u32> {
    range.collect()
}

fn rows(data: &[f32], range: std::ops::Range<u32>) -> &[f32] {
    &data[range.start as usize * DIM..range.end as usize * DIM]
}

fn search(index: &dyn Index, query: &[f32], k: usize, params: &SearchParams) -> Vec<u32> {
    let mut scratch = Scratch::default();
    index
        .search(query, k, params, &mut scratch)
        .unwrap()
        .iter()
        .map(|n| n.id)
        .collect()
}

#[test]
fn exact_buffer_until_trained_then_a_graph_over_codes() {
    let mut data = clustered(11, 1500, DIM, 10);
    // The index takes prepared vectors: unit length for cosine (the collection's job).
    for row in data.chunks_exact_mut(DIM) {
        quiver::distance::normalize(row);
    }
    for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
        let mut index = build("HNSW16,SQ8", metric, &IndexOptions::default());
        let mut flat = build("Flat", metric, &IndexOptions::default());
        index.add(&ids(0..900), rows(&data, 0..900)).unwrap();
        flat.add(&ids(0..900), rows(&data, 0..900)).unwrap();
        assert!(!index.is_trained(), "{metric}: buffers below 1000");
        // A query near the data, as in real use (uniform queries far from tight clusters see
        // every cluster member almost equidistant: a test of the quantizer's noise floor).
        let mut rng = Rng(3);
        let mut query: Vec<f32> = rows(&data, 77..78)
            .iter()
            .map(|x| x + 0.02 * rng.signed())
            .collect();
        quiver::distance::normalize(&mut query);
        let p = SearchParams::default();
        assert_eq!(
            search(index.as_ref(), &query, 10, &p),
            search(flat.as_ref(), &query, 10, &p),
            "{metric}: exact before training"
        );
        // Crossing the threshold trains the quantizer and builds the graph over the buffer.
        index.add(&ids(900..1500), rows(&data, 900..1500)).unwrap();
        assert!(index.is_trained(), "{metric}: trained itself at 1000");
        assert_eq!(index.len(), 1500);
        assert!((0..1500).all(|id| index.contains(id)));
        let truth = brute_force(metric, DIM, &data, &query, 10);
        let found = search(index.as_ref(), &query, 10, &p);
        let hits = found
            .iter()
            .filter(|&&id| truth.contains(&(id as usize)))
            .count();
        assert!(hits >= 9, "{metric}: {hits}/10 of the exact top 10");
        // The codes are lossy: re-training after encoding is refused, the index unchanged.
        let err = index.train_on_stored().unwrap_err();
        assert_eq!(err.code(), "unsupported", "{metric}");
        assert_eq!(search(index.as_ref(), &query, 10, &p), found);
    }
}

#[test]
fn explicit_training_and_its_errors() {
    let data = clustered(12, 600, DIM, 6);
    let mut index = build("HNSW8,SQ8", Metric::L2, &IndexOptions::default());
    index.add(&ids(0..20), rows(&data, 0..20)).unwrap();
    // Too few vectors: a typed error, the index stays exact and keeps its vectors.
    let err = index.train_on_stored().unwrap_err();
    assert_eq!(err.code(), "invalid_argument");
    assert!(!index.is_trained());
    assert_eq!(index.vector(3).unwrap(), rows(&data, 3..4));
    // Training on explicit samples moves the buffered vectors into the graph.
    index.train(rows(&data, 100..600)).unwrap();
    assert!(index.is_trained());
    index.add(&ids(20..100), rows(&data, 20..100)).unwrap();
    assert_eq!(index.len(), 100);
    let found = search(
        index.as_ref(),
        rows(&data, 42..43),
        1,
        &SearchParams::default(),
    );
    assert_eq!(found, [42]);
    // Full vectors are kept by default (rerank and `get`).
    assert_eq!(index.vector(42).unwrap(), rows(&data, 42..43));
}

#[test]
fn memory_splits_into_codes_graph_and_kept_vectors() {
    let n = 2000u32;
    let data = clustered(13, n as usize, DIM, 10);
    let cold = IndexOptions {
        keep_vectors: false,
        ..IndexOptions::default()
    };
    let mut codes_only = build("HNSW16,SQ8", Metric::Cosine, &cold);
    let mut kept = build("HNSW16,SQ8", Metric::Cosine, &IndexOptions::default());
    let mut raw = build("HNSW16", Metric::Cosine, &IndexOptions::default());
    for index in [&mut codes_only, &mut kept, &mut raw] {
        index.add(&ids(0..n), &data).unwrap();
    }
    let b = codes_only.memory_breakdown();
    assert_eq!(b.total(), codes_only.memory_bytes());
    assert_eq!(b.vectors, 0, "no f32 vectors once trained, {b:?}");
    assert!(b.codes >= n as usize * DIM, "one byte per dimension, {b:?}");
    // One 256 KiB page holds the first 8192 codes of 32 bytes.
    assert!(b.codes <= (1 << 18) + 1024, "{b:?}");
    assert!(b.graph > 0);
    assert!(codes_only.vector(5).is_none());
    let k = kept.memory_breakdown();
    assert_eq!(k.total(), kept.memory_bytes());
    assert!(k.vectors >= 4 * n as usize * DIM, "kept f32 vectors, {k:?}");
    assert_eq!((k.codes, k.graph), (b.codes, b.graph));
    // The same graph over raw vectors holds f32 rows, no codes (at this size both fit in one
    // 256 KiB page, so their totals are alike; the 4× shows at scale, see bench/README.md).
    let r = raw.memory_breakdown();
    assert!(r.vectors >= 4 * n as usize * DIM && r.codes == 0, "{r:?}");
}

/// A cold store: counts how many vectors rerank fetched.
struct Cold {
    data: Vec<f32>,
    fetched: Rc<RefCell<usize>>,
}

impl VectorSource for Cold {
    fn fetch(&self, ids: &[u32], out: &mut [f32]) -> quiver::Result<()> {
        *self.fetched.borrow_mut() += ids.len();
        for (&id, row) in ids.iter().zip(out.chunks_exact_mut(DIM)) {
            let start = id as usize * DIM;
            let source = self
                .data
                .get(start..start + DIM)
                .ok_or(Error::NotFound { id: id.to_string() })?;
            row.copy_from_slice(source);
        }
        Ok(())
    }
}

#[test]
fn cold_vectors_are_fetched_for_rerank_only() {
    let data = clustered(14, 3000, DIM, 12);
    let cold_options = IndexOptions {
        keep_vectors: false,
        ..IndexOptions::default()
    };
    let mut cold = build("HNSW16,SQ8", Metric::L2, &cold_options);
    let mut warm = build("HNSW16,SQ8", Metric::L2, &IndexOptions::default());
    cold.add(&ids(0..3000), &data).unwrap();
    warm.add(&ids(0..3000), &data).unwrap();
    let query = rows(&data, 10..11);
    let rerank = |r| SearchParams {
        rerank: Some(r),
        ..SearchParams::default()
    };
    // Without a source: codes only by default; asking for rerank is a typed error.
    assert_eq!(
        search(cold.as_ref(), query, 5, &SearchParams::default()).len(),
        5
    );
    let mut scratch = Scratch::default();
    let err = cold
        .search(query, 5, &rerank(50), &mut scratch)
        .unwrap_err();
    assert_eq!(err.code(), "unsupported");
    let fetched = Rc::new(RefCell::new(0));
    cold.set_vector_source(Box::new(Cold {
        data: data.clone(),
        fetched: fetched.clone(),
    }))
    .unwrap();
    let a = cold.search(query, 5, &rerank(50), &mut scratch).unwrap();
    let b = warm.search(query, 5, &rerank(50), &mut scratch).unwrap();
    assert_eq!(a, b, "cold rerank equals in-memory rerank");
    assert_eq!(a[0].id, 10);
    assert_eq!(*fetched.borrow(), 50, "fetched exactly the candidates");
}

#[test]
fn filters_deletes_and_determinism() {
    let data = clustered(15, 2500, DIM, 10);
    let options = IndexOptions {
        seed: 7,
        ..IndexOptions::default()
    };
    let mut a = build("HNSW16,SQ8", Metric::L2, &options);
    let mut b = build("HNSW16,SQ8", Metric::L2, &options);
    a.add(&ids(0..2500), &data).unwrap();
    b.add(&ids(0..2500), &data).unwrap();
    let mut rng = Rng(21);
    let queries: Vec<Vec<f32>> = (0..20).map(|_| rng.vector(DIM)).collect();
    for q in &queries {
        assert_eq!(
            search(a.as_ref(), q, 10, &SearchParams::default()),
            search(b.as_ref(), q, 10, &SearchParams::default()),
            "same seed, same operations, same results (seed 7)"
        );
    }
    // Filters: only accepted ids, and still k of them when enough match.
    let even = |id: u32| id % 7 == 0;
    let filtered = SearchParams {
        filter: Some(&even),
        ..SearchParams::default()
    };
    for q in &queries {
        let found = search(a.as_ref(), q, 10, &filtered);
        assert_eq!(found.len(), 10);
        assert!(found.iter().all(|&id| id % 7 == 0), "{found:?}");
    }
    // Deletes: a few are tombstones (hidden at once), many trigger consolidation.
    let few: Vec<u32> = (0..2500).step_by(50).collect();
    assert_eq!(a.remove(&few), few.len());
    assert_eq!(a.tombstones(), few.len());
    let many: Vec<u32> = (1..2500).step_by(4).collect();
    a.remove(&many);
    assert_eq!(a.tombstones(), 0, "consolidated past 1/10");
    assert_eq!(a.len(), 2500 - few.len() - many.len());
    for q in &queries {
        let found = search(a.as_ref(), q, 20, &SearchParams::default());
        assert_eq!(found.len(), 20);
        assert!(found.iter().all(|id| id % 50 != 0 && id % 4 != 1));
    }
    // Freed slots are reused by new inserts, which are found.
    a.add(&ids(5000..5100), rows(&data, 0..100)).unwrap();
    let found = search(a.as_ref(), rows(&data, 7..8), 2, &SearchParams::default());
    assert!(found.contains(&5007), "{found:?}");
}

/// Trained (the conformance suite's snapshot test stays below the training threshold): a full
/// snapshot, then logged adds and deletes saved incrementally, reopen to the same results, and
/// later inserts continue the same graph.
#[test]
fn trained_snapshots_and_incremental_saves_reopen_identically() {
    use quiver::{Collection, CollectionConfig, Item};
    use std::collections::HashMap;

    fn save(c: &mut Collection, store: &mut HashMap<String, Vec<u8>>) {
        let plan = c.begin_save().expect("begin_save");
        store.extend(plan.puts);
        for key in &plan.deletes {
            store.remove(key);
        }
        c.ack_save(plan.token).unwrap();
    }
    fn open(store: &HashMap<String, Vec<u8>>) -> Collection {
        let manifest = store[quiver::snapshot::MANIFEST_KEY].clone();
        Collection::open(&manifest, &mut store.clone()).expect("open")
    }
    fn add(c: &mut Collection, data: &[f32], range: std::ops::Range<usize>) {
        let ids: Vec<String> = range.clone().map(|i| i.to_string()).collect();
        let items: Vec<Item> = ids
            .iter()
            .zip(data[range.start * DIM..range.end * DIM].chunks_exact(DIM))
            .map(|(id, vector)| Item {
                id,
                vector,
                metadata: None,
            })
            .collect();
        c.add(&items).unwrap();
    }
    let data = clustered(16, 1800, DIM, 10);
    for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
        let same = |a: &Collection, b: &Collection, stage: &str| {
            assert_eq!(a.len(), b.len(), "{metric} {stage}");
            let mut rng = Rng(31);
            for _ in 0..20 {
                let base = rng.below(1800);
                let q: Vec<f32> = rows(&data, base as u32..base as u32 + 1)
                    .iter()
                    .map(|x| x + 0.05 * rng.signed())
                    .collect();
                for rerank in [Some(0), None] {
                    let p = SearchParams {
                        rerank,
                        ..SearchParams::default()
                    };
                    assert_eq!(
                        a.search_with(&q, 10, &p).unwrap(),
                        b.search_with(&q, 10, &p).unwrap(),
                        "{metric} {stage} rerank {rerank:?}: results differ after reopen"
                    );
                }
            }
        };
        let mut live = Collection::new(CollectionConfig::new(
            DIM,
            metric,
            "HNSW16,SQ8".parse().unwrap(),
        ))
        .unwrap();
        add(&mut live, &data, 0..1200);
        assert!(live.index().is_trained());
        let mut store = HashMap::new();
        save(&mut live, &mut store);
        same(&live, &open(&store), "full snapshot");
        add(&mut live, &data, 1200..1500);
        let deleted: Vec<String> = (0..1500).step_by(40).map(|i| i.to_string()).collect();
        live.delete(&deleted).unwrap();
        save(&mut live, &mut store);
        let mut reopened = open(&store);
        same(&live, &reopened, "incremental save");
        assert_eq!(live.index().tombstones(), reopened.index().tombstones());
        // The same later inserts build the same graph in both.
        add(&mut live, &data, 1500..1800);
        add(&mut reopened, &data, 1500..1800);
        same(&live, &reopened, "inserts after reopen");
    }
}

#[test]
fn graph_specs_without_a_storage_are_invalid_specs() {
    for spec in ["HNSW16,PQ8", "HNSW16,BIN"] {
        let err = quiver::Collection::with_strings(DIM, "l2", spec).unwrap_err();
        assert_eq!(err.code(), "invalid_spec", "{spec}");
    }
    for spec in ["HNSW16,SQ8", "hnsw4, sq8"] {
        assert!(
            quiver::Collection::with_strings(DIM, "l2", spec).is_ok(),
            "{spec}"
        );
    }
}

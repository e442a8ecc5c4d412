//! Quantized families, trained: the conformance behaviours with codes in use (the shared suite
//! mostly sees their exact pre-training buffer), code sizes, determinism, cold full vectors
//! through a `VectorSource`, rerank semantics and typed errors.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{brute_force, clustered, collection_with, fixture_3k, Rng};
use quiver::index::{build_index, VectorSource};
use quiver::{Collection, CollectionConfig, Error, IndexOptions, Item, Metric, SearchParams};

const DIM: usize = 32;

/// Specs with explicit training on small synthetic data, and the rerank they are searched with.
const SPECS: &[(&str, Option<usize>, f64)] = &[
    // Tight synthetic clusters are harder for 8 bits than real embeddings (0.99 on MiniLM).
    ("SQ8", Some(0), 0.9),
    ("PQ8", Some(100), 0.9),
    ("BIN", Some(400), 0.9),
    ("IVF8,SQ8", Some(0), 0.85),
    ("IVF8,PQ8", Some(100), 0.85),
    ("HNSW8,SQ8", Some(40), 0.9),
];

fn params(rerank: Option<usize>) -> SearchParams<'static> {
    SearchParams {
        rerank,
        nprobe: Some(4),
        ..SearchParams::default()
    }
}

fn trained(spec: &str, metric: Metric, data: &[f32]) -> Collection {
    let mut collection = collection_with(spec, metric, DIM, data);
    // SQ8, BIN and small IVFs have trained themselves already (see the training policy).
    if !collection.index().is_trained() {
        collection.index_mut().train_on_stored().expect("train");
    }
    assert!(collection.index().is_trained(), "{spec} trained");
    collection
}

fn ids(hits: &[quiver::SearchHit]) -> Vec<usize> {
    hits.iter().map(|h| h.id.parse().unwrap()).collect()
}

#[test]
fn trained_recall_deletes_and_upserts() {
    let data = clustered(7, 2000, DIM, 20);
    for &(spec, rerank, min) in SPECS {
        for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
            let mut collection = trained(spec, metric, &data);
            let p = params(rerank);
            let mut rng = Rng(99);
            let (mut hits, mut total) = (0, 0);
            for _ in 0..30 {
                // Queries near the data, as in real use.
                let base = rng.below(2000);
                let query: Vec<f32> = data[base * DIM..(base + 1) * DIM]
                    .iter()
                    .map(|x| x + 0.2 * rng.signed())
                    .collect();
                let truth = brute_force(metric, DIM, &data, &query, 10);
                let found = ids(&collection.search_with(&query, 10, &p).unwrap());
                hits += found.iter().filter(|i| truth.contains(i)).count();
                total += 10;
            }
            let recall = hits as f64 / total as f64;
            assert!(recall >= min, "{spec} {metric}: recall {recall} < {min}");

            let deleted: Vec<String> = (0..2000).step_by(3).map(|i| i.to_string()).collect();
            collection.delete(&deleted).unwrap();
            for i in (1..2000).step_by(97) {
                let found = ids(&collection
                    .search_with(&data[i * DIM..(i + 1) * DIM], 20, &p)
                    .unwrap());
                assert!(
                    found.iter().all(|id| id % 3 != 0),
                    "{spec}: deleted id found"
                );
            }
            let target = data[2 * DIM..3 * DIM].to_vec();
            collection
                .upsert(&[Item {
                    id: "1",
                    vector: &target,
                    metadata: None,
                }])
                .unwrap();
            let mut top: Vec<String> = collection
                .search_with(&target, 2, &p)
                .unwrap()
                .into_iter()
                .map(|h| h.id)
                .collect();
            top.sort();
            // Under dot, a longer vector can beat a vector's own twin.
            if metric != Metric::Dot {
                assert_eq!(top, ["1", "2"], "{spec} {metric}: upserted twin");
            }
        }
    }
}

#[test]
fn code_sizes_are_as_documented() {
    // bytes per vector of the codes alone: SQ8 dim, PQm m, BIN ceil(dim/8).
    let data = clustered(3, 1200, DIM, 10);
    let options = IndexOptions {
        keep_vectors: false,
        ..IndexOptions::default()
    };
    for (spec, per_vector) in [("SQ8", DIM), ("PQ8", 8), ("PQ4", 4), ("BIN", DIM / 8)] {
        let mut index = build_index(&spec.parse().unwrap(), DIM, Metric::L2, &options).unwrap();
        let ids: Vec<u32> = (0..1200).collect();
        index.add(&ids[..300], &data[..300 * DIM]).unwrap();
        index.train_on_stored().unwrap();
        index.add(&ids[300..], &data[300 * DIM..]).unwrap();
        let small = index.memory_bytes();
        let more: Vec<u32> = (1200..2400).collect();
        index.add(&more, &data).unwrap();
        // Growth per added vector: the code, the id (4 bytes) and the id → row map entry (9
        // bytes per bucket), within allocation slack.
        let per = (index.memory_bytes() - small) as f64 / 1200.0;
        let floor = (per_vector + 4) as f64;
        assert!(
            per >= floor && per <= 2.0 * (per_vector + 4 + 9) as f64 + 8.0,
            "{spec}: {per} bytes per vector, code is {per_vector}"
        );
        assert!(index.vector(0).is_none(), "{spec}: no full vectors kept");
    }
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let set = fixture_3k();
    let query = set.query(0);
    let run = |spec: &str, seed: u64| {
        let mut config = CollectionConfig::new(set.dim, Metric::Cosine, spec.parse().unwrap());
        config.options.seed = seed;
        let mut collection = Collection::new(config).unwrap();
        let ids: Vec<String> = (0..set.n_base()).map(|i| i.to_string()).collect();
        let items: Vec<Item> = ids
            .iter()
            .zip(set.base.chunks_exact(set.dim))
            .map(|(id, v)| Item {
                id,
                vector: v,
                metadata: None,
            })
            .collect();
        collection.add(&items).unwrap();
        if !collection.index().is_trained() {
            collection.index_mut().train_on_stored().unwrap();
        }
        collection.search_with(query, 20, &params(Some(0))).unwrap()
    };
    for spec in ["PQ16", "IVF16,PQ16"] {
        let a = run(spec, 42);
        assert_eq!(
            a,
            run(spec, 42),
            "{spec}: same seed, same results (seed 42)"
        );
        assert_ne!(a, run(spec, 43), "{spec}: another seed, other codebooks");
    }
}

/// A cold store: counts how many vectors rerank fetched.
struct Cold {
    dim: usize,
    data: Vec<f32>,
    fetched: Rc<RefCell<usize>>,
}

impl VectorSource for Cold {
    fn fetch(&self, ids: &[u32], out: &mut [f32]) -> quiver::Result<()> {
        *self.fetched.borrow_mut() += ids.len();
        for (&id, row) in ids.iter().zip(out.chunks_exact_mut(self.dim)) {
            let start = id as usize * self.dim;
            let source = self
                .data
                .get(start..start + self.dim)
                .ok_or(Error::NotFound { id: id.to_string() })?;
            row.copy_from_slice(source);
        }
        Ok(())
    }
}

#[test]
fn cold_vectors_are_fetched_for_rerank_only() {
    let data = clustered(5, 3000, DIM, 12);
    for spec in ["PQ8", "IVF8,PQ8", "BIN"] {
        let options = IndexOptions {
            keep_vectors: false,
            ..IndexOptions::default()
        };
        let mut index = build_index(&spec.parse().unwrap(), DIM, Metric::L2, &options).unwrap();
        let ids: Vec<u32> = (0..3000).collect();
        index.add(&ids[..500], &data[..500 * DIM]).unwrap();
        if !index.is_trained() {
            index.train_on_stored().unwrap();
        }
        index.add(&ids[500..], &data[500 * DIM..]).unwrap();
        let kept = build_index(
            &spec.parse().unwrap(),
            DIM,
            Metric::L2,
            &IndexOptions::default(),
        )
        .map(|mut i| {
            i.add(&ids[..500], &data[..500 * DIM]).unwrap();
            if !i.is_trained() {
                i.train_on_stored().unwrap();
            }
            i.add(&ids[500..], &data[500 * DIM..]).unwrap();
            i
        })
        .unwrap();
        assert!(
            index.memory_bytes() * 3 < kept.memory_bytes(),
            "{spec}: codes only ({}) vs kept ({})",
            index.memory_bytes(),
            kept.memory_bytes()
        );
        let mut scratch = quiver::Scratch::default();
        let query = &data[10 * DIM..11 * DIM];
        // Without a source: codes only by default, rerank asked for is a typed error.
        let default = index
            .search(query, 5, &SearchParams::default(), &mut scratch)
            .unwrap();
        assert_eq!(default.len(), 5);
        let err = index
            .search(query, 5, &params(Some(50)), &mut scratch)
            .unwrap_err();
        assert_eq!(err.code(), "unsupported");
        let fetched = Rc::new(RefCell::new(0));
        index
            .set_vector_source(Box::new(Cold {
                dim: DIM,
                data: data.clone(),
                fetched: fetched.clone(),
            }))
            .unwrap();
        let cold = index
            .search(query, 5, &params(Some(50)), &mut scratch)
            .unwrap();
        let warm = kept
            .search(query, 5, &params(Some(50)), &mut scratch)
            .unwrap();
        assert_eq!(cold, warm, "{spec}: cold rerank equals in-memory rerank");
        assert_eq!(cold[0].id, 10);
        assert_eq!(
            *fetched.borrow(),
            50,
            "{spec}: fetched exactly the candidates"
        );
    }
}

#[test]
fn typed_errors_and_buffer_before_training() {
    // PQ48 needs dim divisible by 48.
    for spec in ["PQ48", "IVF16,PQ48"] {
        let err = Collection::with_strings(40, "l2", spec).unwrap_err();
        assert_eq!(err.code(), "invalid_spec", "{spec}");
        assert!(err.to_string().contains(spec), "{err}");
    }
    // Too few vectors for explicit PQ training; the index stays exact and usable.
    let data = clustered(1, 100, DIM, 4);
    let mut collection = collection_with("PQ8", Metric::L2, DIM, &data);
    let err = collection.index_mut().train_on_stored().unwrap_err();
    assert_eq!(err.code(), "invalid_argument");
    assert!(!collection.index().is_trained());
    let hits = collection
        .search_with(&data[..DIM], 3, &SearchParams::default())
        .unwrap();
    assert_eq!(hits[0].id, "0");
    assert_eq!(collection.get("5").unwrap().vector, data[5 * DIM..6 * DIM]);
    // Training on explicit samples then re-training with kept vectors re-encodes.
    let more = clustered(2, 600, DIM, 4);
    collection.index_mut().train(&more).unwrap();
    collection.index_mut().train(&more).unwrap();
    assert_eq!(collection.len(), 100);
    let hits = collection
        .search_with(&data[..DIM], 3, &SearchParams::default())
        .unwrap();
    assert_eq!(hits[0].id, "0");
}

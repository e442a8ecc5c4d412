//! Cold vectors (docs/memory.md, "Cold vectors"): a lossy index without its vectors reranks from
//! rows kept in storage, read in rounds, and answers exactly as the same index keeping its
//! vectors in memory. Storage here is a map from internal id to the encoded row, standing in for
//! the package's cold file.

mod common;

use std::collections::HashMap;

use common::fixture_3k;
use quiver::api::{CreateOptions, SearchOptions};
use quiver::{Collection, SearchDefaults, SearchHit};

type Storage = HashMap<u32, Vec<u8>>;

fn create(spec: &str, keep_vectors: bool) -> Collection {
    Collection::create(&CreateOptions {
        dimension: 384,
        metric: "cosine".into(),
        spec: spec.into(),
        seed: Some(11.0),
        keep_vectors: Some(keep_vectors),
    })
    .unwrap()
}

/// Adds `rows` (ids `"0"..`); for a cold collection, first writes their rows to `storage`, as
/// the package does.
fn fill(c: &mut Collection, rows: &[f32], storage: Option<&mut Storage>) {
    let n = rows.len() / 384;
    let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    if let Some(storage) = storage {
        write_rows(c, rows, storage);
    }
    c.add_flat(&ids, rows, None).unwrap();
    // Flat-quantized families train once they hold enough vectors; 3k may be short of that.
    if !c.index().is_trained() {
        c.train().unwrap();
    }
}

fn write_rows(c: &Collection, rows: &[f32], storage: &mut Storage) {
    let ids: Vec<String> = (0..rows.len() / 384).map(|i| i.to_string()).collect();
    let (first, bytes) = c.cold_rows_for(&ids, rows).unwrap();
    let size = bytes.len() / (rows.len() / 384);
    for (i, row) in bytes.chunks_exact(size).enumerate() {
        storage.insert(first + i as u32, row.to_vec());
    }
}

/// A search in rounds, as the package runs it; returns the hits and the rounds it took.
fn search_cold(
    c: &Collection,
    storage: &Storage,
    query: &[f32],
    options: &SearchOptions,
) -> (Vec<SearchHit>, usize) {
    for round in 1..=8 {
        let hits = c.search_options(query, 10, options).unwrap();
        let missing = c.cold_missing().unwrap();
        if missing.is_empty() {
            return (hits, round);
        }
        let bytes: Vec<u8> = missing.iter().flat_map(|id| storage[id].clone()).collect();
        c.stage_cold_rows(&missing, &bytes).unwrap();
    }
    panic!("no result after 8 rounds");
}

fn options(filter: Option<&str>) -> SearchOptions {
    SearchOptions {
        knobs: SearchDefaults::default(),
        filter: filter.map(str::to_string),
        strategy: None,
    }
}

#[test]
fn cold_rerank_answers_exactly_as_vectors_in_memory() {
    let set = fixture_3k();
    for spec in ["IVF16,PQ16", "PQ16", "BIN", "HNSW8,SQ8"] {
        let mut warm = create(spec, true);
        fill(&mut warm, &set.base, None);
        let mut cold = create(spec, false);
        let mut storage = Storage::new();
        cold.enable_cold((1 << 20) as f64).unwrap();
        fill(&mut cold, &set.base, Some(&mut storage));
        assert_eq!(storage.len(), set.n_base(), "{spec}: every row written");
        let mut rounds = [0usize; 3];
        for q in 0..set.n_queries().min(40) {
            let query = set.query(q);
            let expected = warm.search_options(query, 10, &options(None)).unwrap();
            let (hits, r) = search_cold(&cold, &storage, query, &options(None));
            rounds[r.min(2)] += 1;
            let ids = |h: &[SearchHit]| h.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&hits), ids(&expected), "{spec} query {q}");
            for (a, b) in hits.iter().zip(&expected) {
                assert!(
                    (a.score - b.score).abs() < 1e-5,
                    "{spec} query {q}: {} vs {}",
                    a.score,
                    b.score
                );
            }
        }
        // A miss costs a second round; nothing needs a third.
        assert_eq!(rounds[0], 0, "{spec}");
        let report = cold.cold_report().unwrap();
        assert!(
            report.rows_read > 0 && report.cached_rows > 0,
            "{spec}: {report:?}"
        );
        assert!(cold.memory_report().cache > 0, "{spec}");
    }
}

#[test]
fn a_warm_cache_answers_in_one_round_and_filters_apply() {
    let set = fixture_3k();
    let mut cold = create("IVF16,PQ16", false);
    let mut storage = Storage::new();
    cold.enable_cold((64 << 20) as f64).unwrap();
    let n = set.n_base();
    let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let metadata: Vec<String> = (0..n)
        .map(|i| format!("{{\"even\":{}}}", i % 2 == 0))
        .collect();
    write_rows(&cold, &set.base, &mut storage);
    cold.add_flat(&ids, &set.base, Some(&format!("[{}]", metadata.join(","))))
        .unwrap();
    let query = set.query(3);
    let (first, rounds) = search_cold(&cold, &storage, query, &options(None));
    assert_eq!(rounds, 2);
    let (again, rounds) = search_cold(&cold, &storage, query, &options(None));
    assert_eq!((again, rounds), (first, 1));
    let (filtered, _) = search_cold(&cold, &storage, query, &options(Some(r#"{"even":true}"#)));
    assert_eq!(filtered.len(), 10);
    assert!(filtered
        .iter()
        .all(|h| h.id.parse::<usize>().unwrap() % 2 == 0));
}

#[test]
fn a_damaged_row_is_corrupt_and_the_codes_still_answer() {
    let set = fixture_3k();
    let mut cold = create("PQ16", false);
    let mut storage = Storage::new();
    cold.enable_cold(0.0).unwrap();
    fill(&mut cold, &set.base, Some(&mut storage));
    let query = set.query(0);
    cold.search_options(query, 10, &options(None)).unwrap();
    let missing = cold.cold_missing().unwrap();
    let mut bytes: Vec<u8> = missing.iter().flat_map(|id| storage[id].clone()).collect();
    bytes[100] ^= 0x40;
    let error = cold.stage_cold_rows(&missing, &bytes).unwrap_err();
    assert_eq!(error.code(), "corrupt");
    assert!(error.to_string().contains("internal id"), "{error}");
    // Without rerank, the codes alone answer, in one round.
    let codes_only = SearchOptions {
        knobs: SearchDefaults::from_knobs(Some(&[f64::NAN, f64::NAN, 0.0])).unwrap(),
        ..options(None)
    };
    assert_eq!(
        cold.search_options(query, 10, &codes_only).unwrap().len(),
        10
    );
    assert!(cold.cold_missing().unwrap().is_empty());
    // A budget of 0 caches nothing: every search reads its candidates.
    let (_, rounds) = search_cold(&cold, &storage, query, &options(None));
    assert_eq!(rounds, 2);
    assert_eq!(cold.cold_report().unwrap().cached_rows, 0);
}

#[test]
fn cold_vectors_need_a_store_without_its_vectors() {
    let mut warm = create("IVF16,PQ16", true);
    assert_eq!(
        warm.enable_cold(1024.0).unwrap_err().code(),
        "invalid_argument"
    );
    let mut cold = create("PQ16", false);
    assert_eq!(
        cold.enable_cold(f64::NAN).unwrap_err().code(),
        "invalid_argument"
    );
    assert!(
        cold.cold_rows_for(&["a"], &[0.5; 384]).is_err(),
        "not on yet"
    );
    cold.enable_cold(1024.0).unwrap();
    let code = |ids: &[&str], v: &[f32]| cold.cold_rows_for(ids, v).unwrap_err().code();
    assert_eq!(code(&["a"], &[0.5; 383]), "dimension_mismatch");
    assert_eq!(code(&["a"], &[f32::NAN; 384]), "invalid_vector");
    assert_eq!(code(&["a"], &[0.5; 768]), "invalid_argument");
    let (first, bytes) = cold.cold_rows_for(&["a", "b"], &[0.5; 768]).unwrap();
    assert_eq!((first, bytes.len()), (0, 2 * 1548));
}

#[test]
fn a_cold_store_saves_and_reopens_after_a_bulk_load_and_is_never_rebased() {
    use quiver::snapshot::MANIFEST_KEY;
    use std::collections::BTreeMap;
    let set = fixture_3k();
    let mut cold = create("IVF16,PQ16", false);
    let mut storage = Storage::new();
    cold.enable_cold((1 << 20) as f64).unwrap();
    let mut records: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut save = |c: &mut Collection| {
        let plan = c.begin_save().unwrap();
        for (key, bytes) in &plan.puts {
            records.insert(key.clone(), bytes.clone());
        }
        for key in &plan.deletes {
            records.remove(key);
        }
        c.ack_save(plan.token).unwrap();
        (plan.full, records.clone())
    };
    save(&mut cold);
    // A bulk load after the first save: far more than a log may hold before compaction, so the
    // journal is dropped as it grows and the next save is a full snapshot.
    for (start, chunk) in set.base.chunks(500 * 384).enumerate() {
        let ids: Vec<String> = (0..chunk.len() / 384)
            .map(|i| (start * 500 + i).to_string())
            .collect();
        let (first, bytes) = cold.cold_rows_for(&ids, chunk).unwrap();
        for (i, row) in bytes.chunks_exact(1548).enumerate() {
            storage.insert(first + i as u32, row.to_vec());
        }
        cold.add_flat(&ids, chunk, None).unwrap();
    }
    let (full, stored) = save(&mut cold);
    assert!(full, "a bulk load is saved as a full snapshot");
    let mut reopened = Collection::open(&stored[MANIFEST_KEY], &mut stored.clone()).unwrap();
    reopened.enable_cold((1 << 20) as f64).unwrap();
    for q in 0..5 {
        let query = set.query(q);
        let (a, _) = search_cold(&cold, &storage, query, &options(None));
        let (b, _) = search_cold(&reopened, &storage, query, &options(None));
        assert_eq!(a, b, "query {q}");
    }
    let mut other = Collection::open(&stored[MANIFEST_KEY], &mut stored.clone()).unwrap();
    assert_eq!(
        cold.rebase_onto(&mut other).unwrap_err().code(),
        "unsupported"
    );
}

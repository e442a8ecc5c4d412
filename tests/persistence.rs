//! Persistence: save/open round trips, incremental saves and compaction, crash safety at every
//! prefix of a save, corruption (every bit flip and truncation), followers and rebases, and the
//! committed old-format fixtures that must open forever.

mod common;

use std::collections::BTreeMap;

use common::{clustered, Rng};
use quiver::snapshot::{crc32, OpenSession, SavePlan, UpdatePlan, MANIFEST_KEY};
use quiver::{Collection, CollectionConfig, Item, Metric};
use serde_json::{json, Value};

/// A key-value store that applies save plans the way an atomic adapter does.
#[derive(Debug, Default, Clone)]
struct MemStore {
    values: BTreeMap<String, Vec<u8>>,
}

impl MemStore {
    fn apply(&mut self, plan: &SavePlan) {
        for (key, bytes) in &plan.puts {
            self.values.insert(key.clone(), bytes.clone());
        }
        for key in &plan.deletes {
            self.values.remove(key);
        }
    }

    fn save(&mut self, collection: &mut Collection) -> SavePlan {
        let plan = collection.begin_save().expect("begin save");
        self.apply(&plan);
        collection.ack_save(plan.token).expect("ack");
        plan
    }

    fn manifest(&self) -> &[u8] {
        &self.values[MANIFEST_KEY]
    }

    fn open(&self) -> quiver::Result<Collection> {
        let manifest = self
            .values
            .get(MANIFEST_KEY)
            .ok_or(quiver::Error::NotFound {
                id: MANIFEST_KEY.into(),
            })?;
        Collection::open(manifest, &mut self.values.clone())
    }

    fn bytes(&self) -> usize {
        self.values.values().map(Vec::len).sum()
    }
}

fn plan_bytes(plan: &SavePlan) -> usize {
    plan.puts.iter().map(|(_, b)| b.len()).sum()
}

/// The expected contents: id → (vector as given, metadata).
type Model = BTreeMap<String, (Vec<f32>, Option<Value>)>;

fn new_collection(metric: Metric, dim: usize) -> Collection {
    Collection::new(CollectionConfig::new(dim, metric, "Flat".parse().unwrap())).unwrap()
}

fn metadata_for(rng: &mut Rng, i: usize) -> Option<Value> {
    match rng.below(3) {
        0 => None,
        1 => Some(json!({ "n": i, "tag": format!("t{}", rng.below(5)) })),
        _ => Some(json!({ "nested": { "list": [i, "x", null, true] }, "ünïcode": "✓" })),
    }
}

fn add_batch(c: &mut Collection, model: &mut Model, rng: &mut Rng, ids: &[String], upsert: bool) {
    let dim = c.dimension();
    let vectors: Vec<Vec<f32>> = ids.iter().map(|_| rng.vector(dim)).collect();
    let metadata: Vec<Option<Value>> = (0..ids.len()).map(|i| metadata_for(rng, i)).collect();
    let items: Vec<Item> = ids
        .iter()
        .zip(&vectors)
        .zip(&metadata)
        .map(|((id, v), m)| Item {
            id,
            vector: v,
            metadata: m.clone(),
        })
        .collect();
    if upsert {
        c.upsert(&items).unwrap();
    } else {
        c.add(&items).unwrap();
    }
    for ((id, v), m) in ids.iter().zip(vectors).zip(metadata) {
        model.insert(id.clone(), (v, m));
    }
}

/// Checks that two collections hold the same items and answer queries identically.
fn assert_same(live: &Collection, other: &Collection, model: &Model, seed: u64, context: &str) {
    assert_eq!(live.len(), other.len(), "{context}: len (seed {seed})");
    assert_eq!(
        other.len(),
        model.len(),
        "{context}: model len (seed {seed})"
    );
    for id in model.keys() {
        assert_eq!(
            live.get(id).unwrap(),
            other.get(id).unwrap(),
            "{context}: get({id}) (seed {seed})"
        );
    }
    let mut rng = Rng(seed ^ 0xABCD);
    for _ in 0..8 {
        let q = rng.vector(live.dimension());
        let k = 1 + rng.below(12);
        assert_eq!(
            live.search(&q, k).unwrap(),
            other.search(&q, k).unwrap(),
            "{context}: search (seed {seed})"
        );
    }
}

/// Checks a collection's contents against the model (vectors compared after preparation).
fn assert_matches_model(c: &Collection, model: &Model, context: &str) {
    assert_eq!(c.len(), model.len(), "{context}: len");
    for (id, (vector, metadata)) in model {
        let record = c
            .get(id)
            .unwrap_or_else(|e| panic!("{context}: get({id}): {e}"));
        assert_eq!(
            record.vector,
            c.prepare_vector(vector, 0).unwrap(),
            "{context}: {id}"
        );
        assert_eq!(&record.metadata, metadata, "{context}: metadata of {id}");
    }
}

#[test]
fn full_snapshot_round_trips_for_every_metric() {
    for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
        let dim = 24;
        let data = clustered(3, 700, dim, 10);
        let mut c = new_collection(metric, dim);
        let mut model = Model::new();
        let mut rng = Rng(5);
        let ids: Vec<String> = (0..700).map(|i| format!("doc-{i}")).collect();
        for (chunk_ids, rows) in ids.chunks(128).zip(data.chunks(128 * dim)) {
            let items: Vec<Item> = chunk_ids
                .iter()
                .zip(rows.chunks_exact(dim))
                .enumerate()
                .map(|(i, (id, v))| Item {
                    id,
                    vector: v,
                    metadata: metadata_for(&mut rng, i),
                })
                .collect();
            c.add(&items).unwrap();
            for item in items {
                model.insert(item.id.to_string(), (item.vector.to_vec(), item.metadata));
            }
        }
        let mut store = MemStore::default();
        let plan = store.save(&mut c);
        assert!(plan.full);
        assert_eq!(
            plan.puts.last().unwrap().0,
            MANIFEST_KEY,
            "manifest is put last"
        );
        let reopened = store.open().unwrap();
        assert_same(&c, &reopened, &model, 1, &format!("{metric}"));
        assert_matches_model(&reopened, &model, &format!("{metric}"));
        assert!(!reopened.has_unsaved_changes());
        assert_eq!(reopened.saved_version(), 1);
    }
}

#[test]
fn chunks_are_bounded_and_saves_are_deterministic() {
    let dim = 384;
    let data = clustered(9, 2000, dim, 8);
    let build = || common::collection_with("Flat", Metric::L2, dim, &data);
    let (mut a, mut b) = (build(), build());
    let (pa, pb) = (a.begin_save().unwrap(), b.begin_save().unwrap());
    assert_eq!(pa, pb, "same collection, same bytes");
    for (key, bytes) in &pa.puts {
        assert!(bytes.len() <= 256 * 1024, "{key}: {} bytes", bytes.len());
    }
    // 2000 × 384 floats are ~3 MB: cut into ~12 full chunks.
    let full_chunks = pa.puts.iter().filter(|(_, b)| b.len() > 200 * 1024).count();
    assert!(
        full_chunks >= 10,
        "{full_chunks} chunks near the size bound"
    );
}

#[test]
fn incremental_saves_emit_only_the_log_and_replay_exactly() {
    let dim = 16;
    let mut rng = Rng(77);
    let mut c = new_collection(Metric::Cosine, dim);
    let mut model = Model::new();
    let ids: Vec<String> = (0..400).map(|i| format!("a{i}")).collect();
    add_batch(&mut c, &mut model, &mut rng, &ids, false);
    let mut store = MemStore::default();
    let first = store.save(&mut c);
    assert!(first.full);

    // Adds, upserts (existing and new ids) and deletes, then an incremental save.
    add_batch(
        &mut c,
        &mut model,
        &mut rng,
        &["new1".into(), "new2".into()],
        false,
    );
    add_batch(
        &mut c,
        &mut model,
        &mut rng,
        &["a3".into(), "a4".into(), "up-new".into()],
        true,
    );
    c.delete(&["a10", "a11", "new1"]).unwrap();
    for id in ["a10", "a11", "new1"] {
        model.remove(id);
    }
    assert!(c.has_unsaved_changes());
    let second = store.save(&mut c);
    assert!(!second.full);
    // One log chunk plus the manifest; nothing deleted yet (nothing was garbage).
    assert_eq!(
        second.puts.len(),
        2,
        "{:?}",
        second.puts.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    assert!(second.deletes.is_empty());
    let reopened = store.open().unwrap();
    assert_same(&c, &reopened, &model, 2, "after log replay");
    assert_matches_model(&reopened, &model, "after log replay");

    // A small follow-up save rewrites the open tail chunk under a new key; the old tail is
    // garbage in the new manifest and is deleted by the save after that.
    let old_tail = second.puts[0].0.clone();
    add_batch(&mut c, &mut model, &mut rng, &["late".into()], false);
    let third = store.save(&mut c);
    assert!(!third.full);
    assert_eq!(third.puts.len(), 2);
    assert!(store.values.contains_key(&old_tail), "deletion is deferred");
    add_batch(&mut c, &mut model, &mut rng, &["later".into()], false);
    let fourth = store.save(&mut c);
    assert_eq!(fourth.deletes, vec![old_tail.clone()]);
    assert!(!store.values.contains_key(&old_tail));
    let reopened = store.open().unwrap();
    assert_same(&c, &reopened, &model, 3, "after tail rewrites");

    // A reopened collection continues incrementally.
    let mut reopened = reopened;
    add_batch(
        &mut reopened,
        &mut model,
        &mut rng,
        &["after-reopen".into()],
        false,
    );
    let fifth = store.save(&mut reopened);
    assert!(!fifth.full);
    assert_same(
        &reopened,
        &store.open().unwrap(),
        &model,
        4,
        "after reopen + save",
    );
}

#[test]
fn incremental_save_after_1k_inserts_is_far_smaller_than_a_full_save() {
    let dim = 64;
    let data = clustered(11, 21_000, dim, 16);
    let mut c = common::collection_with("Flat", Metric::Cosine, dim, &data[..20_000 * dim]);
    let mut store = MemStore::default();
    let full = plan_bytes(&store.save(&mut c));
    let ids: Vec<String> = (20_000..21_000).map(|i| i.to_string()).collect();
    let items: Vec<Item> = ids
        .iter()
        .zip(data[20_000 * dim..].chunks_exact(dim))
        .map(|(id, v)| Item {
            id,
            vector: v,
            metadata: None,
        })
        .collect();
    c.add(&items).unwrap();
    let plan = store.save(&mut c);
    let incremental = plan_bytes(&plan);
    assert!(!plan.full);
    let ratio = incremental as f64 / full as f64;
    println!(
        "full save {full} bytes, incremental after 1k inserts {incremental} bytes ({:.2}%)",
        100.0 * ratio
    );
    assert!(ratio < 0.06, "incremental {incremental} vs full {full}");
    assert_eq!(store.open().unwrap().len(), 21_000);
}

#[test]
fn compaction_runs_by_policy_and_on_request_and_frees_old_chunks() {
    let dim = 32;
    let mut rng = Rng(4);
    let mut c = new_collection(Metric::L2, dim);
    let mut model = Model::new();
    let ids: Vec<String> = (0..1000).map(|i| format!("base{i}")).collect();
    add_batch(&mut c, &mut model, &mut rng, &ids, false);
    let mut store = MemStore::default();
    store.save(&mut c);
    let snapshot = store.bytes();
    // Keep adding until the log passes a quarter of the snapshot: the save that would push it
    // past writes a full snapshot instead.
    let mut saves = 0;
    let mut logged = 0;
    loop {
        let ids: Vec<String> = (0..20).map(|i| format!("more{saves}-{i}")).collect();
        add_batch(&mut c, &mut model, &mut rng, &ids, false);
        let plan = store.save(&mut c);
        saves += 1;
        if plan.full {
            break;
        }
        logged += plan_bytes(&plan);
        assert!(saves < 100, "never compacted");
    }
    let info = Collection::manifest_info(store.manifest()).unwrap();
    println!(
        "compacted after {saves} saves ({logged} log bytes written vs {snapshot} snapshot bytes)"
    );
    assert!(saves > 3, "compacted too early");
    assert_eq!(info.log_ops, 0);
    assert_eq!(info.generation, 2);
    // Old snapshot chunks are garbage now and go with the next save.
    let before = store.values.len();
    c.delete(&["base0"]).unwrap();
    model.remove("base0");
    let plan = store.save(&mut c);
    assert!(!plan.deletes.is_empty());
    assert!(store.values.len() < before);
    let live = Collection::required_chunks(store.manifest()).unwrap();
    assert_eq!(
        store.values.len(),
        live.len() + 1 + declared_garbage(&store),
        "only live chunks, the manifest and declared garbage remain"
    );
    assert_same(&c, &store.open().unwrap(), &model, 5, "after compaction");

    // On request.
    c.compact();
    assert!(c.has_unsaved_changes());
    assert!(store.save(&mut c).full);
    assert_same(&c, &store.open().unwrap(), &model, 6, "after compact()");
    // A save with nothing to do writes nothing but the pending deletions.
    let idle = store.save(&mut c);
    assert!(idle.puts.len() <= 1);
    let idle = store.save(&mut c);
    assert!(idle.puts.is_empty() && idle.deletes.is_empty());
}

#[test]
fn graph_families_compact_after_max_logged_inserts() {
    use quiver::snapshot::MAX_LOGGED_GRAPH_INSERTS;
    // Small vectors over a large base, so the byte ratio alone would keep the log far longer:
    // only the insert count can trigger compaction here.
    let dim = 8;
    let base = 10_000;
    let batch = 200usize;
    let data = clustered(21, base + 4000, dim, 12);
    let rows = |from: usize, n: usize| &data[from * dim..(from + n) * dim];
    let add = |c: &mut Collection, from: usize, n: usize| {
        let ids: Vec<String> = (from..from + n).map(|i| i.to_string()).collect();
        let items: Vec<Item> = ids
            .iter()
            .zip(rows(from, n).chunks_exact(dim))
            .map(|(id, v)| Item {
                id,
                vector: v,
                metadata: None,
            })
            .collect();
        c.add(&items).unwrap();
    };
    for spec in ["HNSW8", "Flat"] {
        let mut c = common::collection_with(spec, Metric::L2, dim, rows(0, base));
        let mut store = MemStore::default();
        assert!(store.save(&mut c).full);
        let snapshot = Collection::manifest_info(store.manifest())
            .unwrap()
            .snapshot_bytes;
        let mut follower = store.open().unwrap();
        let mut next = base;
        let mut logged = 0u64;
        // Saves of `batch` adds stay incremental while the log holds at most the limit.
        while logged + batch as u64 <= MAX_LOGGED_GRAPH_INSERTS {
            add(&mut c, next, batch);
            next += batch;
            logged += batch as u64;
            assert!(!store.save(&mut c).full, "{spec}: {logged} logged adds");
        }
        // Removes are not graph inserts: a large delete stays in the log.
        let doomed: Vec<String> = (0..1000).map(|i| (i * 3).to_string()).collect();
        c.delete(&doomed).unwrap();
        assert!(
            !store.save(&mut c).full,
            "{spec}: removes are cheap to replay"
        );
        let info = Collection::manifest_info(store.manifest()).unwrap();
        assert!(
            info.log_bytes * 4 < snapshot,
            "{spec}: the byte ratio alone would not compact yet ({} log vs {snapshot} snapshot bytes)",
            info.log_bytes
        );

        // A follower counts the adds of the updates it applies: its own next batch crosses too.
        follower
            .apply_update(store.manifest(), &mut store.values.clone())
            .unwrap();
        assert_eq!(follower.len(), c.len());
        add(&mut follower, next, batch);
        let plan = follower.begin_save().unwrap();
        assert_eq!(plan.full, spec != "Flat", "{spec}: follower's save");
        follower.abort_save(plan.token);

        // A reopened store counts the adds in its log: one more batch crosses the limit.
        let mut reopened = store.open().unwrap();
        assert_eq!(reopened.len(), c.len());
        add(&mut reopened, next, batch);
        let plan = store.save(&mut reopened);
        let info = Collection::manifest_info(store.manifest()).unwrap();
        if spec == "Flat" {
            assert!(
                !plan.full,
                "Flat: the insert count applies to graph families only"
            );
            assert!(info.log_ops > MAX_LOGGED_GRAPH_INSERTS);
        } else {
            assert!(
                plan.full,
                "{spec}: compacted after {} logged adds",
                logged + batch as u64
            );
            assert_eq!(info.log_ops, 0);
            // After compaction the count starts again from zero.
            add(&mut reopened, next + batch, batch);
            assert!(!store.save(&mut reopened).full, "{spec}: after compaction");
        }
        // The reopened writer's store equals the original collection plus the same adds.
        let reloaded = store.open().unwrap();
        assert_eq!(reloaded.len(), reopened.len());
        let mut rng = Rng(77);
        for _ in 0..8 {
            let q = rng.vector(dim);
            assert_eq!(
                reopened.search(&q, 10).unwrap(),
                reloaded.search(&q, 10).unwrap(),
                "{spec}: search after reopen"
            );
        }
    }
}

/// Garbage keys the stored manifest declares that are still present (checking that there are
/// no orphans besides).
fn declared_garbage(store: &MemStore) -> usize {
    let keys: Vec<String> = store.values.keys().cloned().collect();
    assert!(Collection::orphan_chunks(store.manifest(), &keys)
        .unwrap()
        .is_empty());
    let live = Collection::required_chunks(store.manifest()).unwrap();
    keys.iter()
        .filter(|k| k.as_str() != MANIFEST_KEY && !live.contains(k))
        .count()
}

/// A crash can stop a save after any prefix of its puts and deletes (for adapters that are not
/// atomic), and an unacknowledged save is retried. At every point the store opens to the last
/// acknowledged state or the new one, never anything else.
#[test]
fn every_prefix_of_a_save_leaves_a_store_that_opens() {
    let seed = 0xC0FFEE;
    let dim = 6;
    let mut rng = Rng(seed);
    let mut c = new_collection(Metric::Dot, dim);
    let mut model = Model::new();
    let mut store = MemStore::default();
    let mut committed: Option<Model> = None;
    let mut next = 0;
    for round in 0..60 {
        // A few random operations.
        for _ in 0..1 + rng.below(3) {
            match rng.below(4) {
                0 | 1 => {
                    let ids: Vec<String> = (0..1 + rng.below(30))
                        .map(|_| {
                            next += 1;
                            format!("k{next}")
                        })
                        .collect();
                    add_batch(&mut c, &mut model, &mut rng, &ids, false);
                }
                2 if !model.is_empty() => {
                    let mut ids: Vec<String> = model
                        .keys()
                        .filter(|_| rng.below(4) == 0)
                        .cloned()
                        .collect();
                    ids.push(format!("u{round}"));
                    add_batch(&mut c, &mut model, &mut rng, &ids, true);
                }
                _ if !model.is_empty() => {
                    let ids: Vec<String> = model
                        .keys()
                        .filter(|_| rng.below(5) == 0)
                        .cloned()
                        .collect();
                    c.delete(&ids).unwrap();
                    for id in &ids {
                        model.remove(id);
                    }
                }
                _ => {}
            }
        }
        if rng.below(8) == 0 {
            c.compact();
        }
        let plan = c.begin_save().unwrap();
        let steps = plan.puts.len() + plan.deletes.len();
        // Every crash point of this save, on a copy of the store.
        for cut in 0..steps {
            let mut crashed = store.clone();
            for (key, bytes) in plan.puts.iter().take(cut) {
                crashed.values.insert(key.clone(), bytes.clone());
            }
            for key in plan
                .deletes
                .iter()
                .take(cut.saturating_sub(plan.puts.len()))
            {
                crashed.values.remove(key);
            }
            let expected = if cut >= plan.puts.len() {
                Some(&model)
            } else {
                committed.as_ref()
            };
            match (crashed.open(), expected) {
                (Ok(reopened), Some(expected)) => assert_matches_model(
                    &reopened,
                    expected,
                    &format!("round {round} cut {cut} (seed {seed})"),
                ),
                (Err(e), None) => assert_eq!(e.code(), "not_found"),
                (Ok(_), None) => panic!("round {round} cut {cut}: opened before the first commit"),
                (Err(e), Some(_)) => panic!("round {round} cut {cut} (seed {seed}): {e}"),
            }
        }
        // Sometimes the save fails (not acknowledged): the next one must carry its operations.
        if rng.below(4) == 0 {
            let mut partial = plan.clone();
            partial.puts.truncate(rng.below(plan.puts.len()));
            partial.deletes.clear();
            store.apply(&partial);
            c.abort_save(plan.token);
            continue;
        }
        store.apply(&plan);
        c.ack_save(plan.token).unwrap();
        committed = Some(model.clone());
        if rng.below(5) == 0 {
            // Restart from storage.
            let reopened = store.open().unwrap();
            assert_same(
                &c,
                &reopened,
                &model,
                seed + round,
                &format!("round {round}"),
            );
            c = reopened;
        }
    }
    // Nothing leaks: once a save commits after any aborted ones, only live chunks, declared
    // garbage and the manifest remain.
    store.save(&mut c);
    assert_same(&c, &store.open().unwrap(), &model, seed, "final");
    let keys: Vec<String> = store.values.keys().cloned().collect();
    let orphans = Collection::orphan_chunks(store.manifest(), &keys).unwrap();
    // Aborted saves' chunks that reached storage are declared garbage by the next manifest.
    assert!(orphans.is_empty(), "orphans: {orphans:?}");
}

#[test]
fn stale_tokens_and_overlapping_saves_are_handled() {
    let mut rng = Rng(8);
    let mut c = new_collection(Metric::L2, 4);
    let mut model = Model::new();
    add_batch(&mut c, &mut model, &mut rng, &["a".into()], false);
    let mut store = MemStore::default();
    store.save(&mut c);
    add_batch(&mut c, &mut model, &mut rng, &["b".into()], false);
    let first = c.begin_save().unwrap();
    // Operations during a save go to the next one.
    add_batch(&mut c, &mut model, &mut rng, &["c".into()], false);
    let second = c.begin_save().unwrap();
    assert_eq!(
        c.ack_save(first.token).unwrap_err().code(),
        "invalid_argument"
    );
    store.apply(&second);
    c.ack_save(second.token).unwrap();
    assert_matches_model(&store.open().unwrap(), &model, "second save covers both");
    assert!(!c.has_unsaved_changes());
    // Ops recorded while a save is in flight stay unsaved after its ack.
    add_batch(&mut c, &mut model, &mut rng, &["d".into()], false);
    let third = c.begin_save().unwrap();
    add_batch(&mut c, &mut model, &mut rng, &["e".into()], false);
    store.apply(&third);
    c.ack_save(third.token).unwrap();
    assert!(c.has_unsaved_changes());
    store.save(&mut c);
    assert_matches_model(&store.open().unwrap(), &model, "ops during a save");
}

/// Stores used by the corruption tests: a snapshot followed by a log with adds, an upsert and
/// deletes.
fn small_store() -> (MemStore, Collection, Model) {
    let mut rng = Rng(21);
    let mut c = new_collection(Metric::Cosine, 4);
    let mut model = Model::new();
    let ids: Vec<String> = (0..8).map(|i| format!("id{i}")).collect();
    add_batch(&mut c, &mut model, &mut rng, &ids, false);
    let mut store = MemStore::default();
    store.save(&mut c);
    add_batch(
        &mut c,
        &mut model,
        &mut rng,
        &["x".into(), "y".into()],
        false,
    );
    add_batch(&mut c, &mut model, &mut rng, &["id1".into()], true);
    c.delete(&["id2", "x"]).unwrap();
    model.remove("id2");
    model.remove("x");
    store.save(&mut c);
    (store, c, model)
}

#[test]
fn every_bit_flip_and_truncation_is_a_typed_error() {
    let (store, _, model) = small_store();
    assert_matches_model(&store.open().unwrap(), &model, "intact");
    let total: usize = store.bytes();
    assert!(total < 4096, "small store is {total} bytes");
    let mut flips = 0;
    for (key, bytes) in &store.values {
        for bit in 0..bytes.len() * 8 {
            let mut damaged = store.clone();
            damaged.values.get_mut(key).unwrap()[bit / 8] ^= 1 << (bit % 8);
            match damaged.open() {
                Ok(_) => panic!("flip of bit {bit} of {key:?} went undetected"),
                Err(e) => assert!(
                    matches!(e.code(), "corrupt" | "unsupported_version"),
                    "{key:?} bit {bit}: {e}"
                ),
            }
            flips += 1;
        }
        for len in 0..bytes.len() {
            let mut damaged = store.clone();
            damaged.values.get_mut(key).unwrap().truncate(len);
            let e = damaged.open().expect_err("truncation detected");
            assert_eq!(e.code(), "corrupt", "{key:?} truncated to {len}: {e}");
        }
        if key != MANIFEST_KEY {
            let mut damaged = store.clone();
            damaged.values.remove(key);
            assert_eq!(damaged.open().unwrap_err().code(), "corrupt");
        }
    }
    println!(
        "{flips} single-bit flips over {} values, all detected",
        store.values.len()
    );
    // Chunks swapped between keys fail too (the manifest pins each key's checksum).
    let keys: Vec<&String> = store.values.keys().filter(|k| *k != MANIFEST_KEY).collect();
    let mut swapped = store.clone();
    let (a, b) = (
        swapped.values[keys[0]].clone(),
        swapped.values[keys[1]].clone(),
    );
    swapped.values.insert(keys[0].clone(), b);
    swapped.values.insert(keys[1].clone(), a);
    assert_eq!(swapped.open().unwrap_err().code(), "corrupt");
}

/// Re-computes a chunk's checksum after editing it, and pins the new checksum in the manifest
/// too: what a hostile writer (not random damage) could produce.
fn reseal(store: &mut MemStore, key: &str) {
    let bytes = store.values.get_mut(key).unwrap();
    if bytes.len() < 20 {
        return;
    }
    let old = bytes[16..20].to_vec();
    let mut covered = bytes[..16].to_vec();
    covered.extend_from_slice(&bytes[20..]);
    let new = crc32(&covered).to_le_bytes();
    bytes[16..20].copy_from_slice(&new);
    if key != MANIFEST_KEY {
        let manifest = store.values.get_mut(MANIFEST_KEY).unwrap();
        if let Some(at) = manifest.windows(4).skip(20).position(|w| w == old) {
            manifest[20 + at..24 + at].copy_from_slice(&new);
        }
        reseal(store, MANIFEST_KEY);
    }
}

#[test]
fn hostile_resealed_bytes_never_panic() {
    let mut stores = vec![small_store().0];
    stores.extend(
        FIXTURES
            .iter()
            .map(|&(_, spec, metric, with_log)| build_fixture(spec, metric, with_log).0),
    );
    let mut rng = Rng(0xBAD);
    let (mut opened, mut total) = (0, 0);
    for store in &stores {
        let keys: Vec<String> = store.values.keys().cloned().collect();
        for _ in 0..600 {
            let mut damaged = store.clone();
            let key = &keys[rng.below(keys.len())];
            let bytes = damaged.values.get_mut(key).unwrap();
            match rng.below(4) {
                // Random bytes in the payload.
                0 | 1 => {
                    for _ in 0..1 + rng.below(4) {
                        let at = 20 + rng.below(bytes.len() - 20);
                        bytes[at] = rng.next_u64() as u8;
                    }
                }
                // A large count or length somewhere.
                2 => {
                    let at = 20 + rng.below(bytes.len() - 24);
                    let v = [u32::MAX, u32::MAX / 2, 1 << 20, 0][rng.below(4)];
                    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
                }
                // Truncated payload with a consistent header.
                _ => {
                    let len = 20 + rng.below(bytes.len() - 20);
                    bytes.truncate(len);
                    let payload = (len - 20) as u32;
                    bytes[12..16].copy_from_slice(&payload.to_le_bytes());
                }
            }
            reseal(&mut damaged, key);
            // Decoding goes as far as it can; whatever opens must answer queries without
            // panicking. Never a panic.
            total += 1;
            if let Ok(c) = damaged.open() {
                opened += 1;
                let q = Rng(opened).vector(c.dimension());
                let _ = c.search(&q, 5);
                let _ = c.search_with(
                    &q,
                    5,
                    &quiver::SearchParams {
                        rerank: Some(10),
                        nprobe: Some(4),
                        ..quiver::SearchParams::default()
                    },
                );
            }
        }
    }
    println!("{opened} of {total} hostile stores still opened (the rest were typed errors)");
}

#[test]
fn unsupported_versions_are_reported_as_such() {
    let (mut store, _, _) = small_store();
    let manifest = store.values.get_mut(MANIFEST_KEY).unwrap();
    manifest[4..8].copy_from_slice(&2u32.to_le_bytes());
    reseal(&mut store, MANIFEST_KEY);
    let e = store.open().unwrap_err();
    assert_eq!(e.code(), "unsupported_version", "{e}");
}

#[test]
fn a_follower_catches_up_incrementally_and_reopens_after_compaction() {
    let mut rng = Rng(31);
    let mut writer = new_collection(Metric::L2, 8);
    let mut model = Model::new();
    let ids: Vec<String> = (0..50).map(|i| format!("w{i}")).collect();
    add_batch(&mut writer, &mut model, &mut rng, &ids, false);
    let mut store = MemStore::default();
    store.save(&mut writer);
    let mut follower = store.open().unwrap();
    assert_eq!(
        follower.update_plan(store.manifest()).unwrap(),
        UpdatePlan::UpToDate
    );
    for round in 0..5 {
        add_batch(
            &mut writer,
            &mut model,
            &mut rng,
            &[format!("n{round}")],
            false,
        );
        writer.delete(&[format!("w{round}")]).unwrap();
        model.remove(&format!("w{round}"));
        store.save(&mut writer);
        match follower.update_plan(store.manifest()).unwrap() {
            UpdatePlan::Incremental(keys) => assert_eq!(keys.len(), 1, "only the log tail"),
            other => panic!("round {round}: {other:?}"),
        }
        follower
            .apply_update(store.manifest(), &mut store.values.clone())
            .unwrap();
        assert_same(&writer, &follower, &model, 40 + round, "follower");
        assert_eq!(follower.saved_version(), writer.saved_version());
    }
    writer.compact();
    store.save(&mut writer);
    assert_eq!(
        follower.update_plan(store.manifest()).unwrap(),
        UpdatePlan::Reopen
    );
    // A follower with local changes must reopen and rebase rather than replay.
    let mut other = store.open().unwrap();
    add_batch(&mut writer, &mut model, &mut rng, &["z".into()], false);
    store.save(&mut writer);
    other.delete(&["n0"]).unwrap();
    assert_eq!(
        other.update_plan(store.manifest()).unwrap(),
        UpdatePlan::Reopen
    );
}

/// Two writers (tabs) that opened the same version both change it; the second to save rebases
/// its unsaved operations onto what the first committed. No update is lost.
#[test]
fn two_writers_lose_no_updates() {
    let seed = 99;
    let mut rng = Rng(seed);
    let mut base = new_collection(Metric::Cosine, 8);
    let mut model = Model::new();
    let ids: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
    add_batch(&mut base, &mut model, &mut rng, &ids, false);
    let mut store = MemStore::default();
    store.save(&mut base);
    let mut a = store.open().unwrap();
    let mut b = store.open().unwrap();
    let mut model_a = Model::new();
    let mut model_b = Model::new();
    for round in 0..20 {
        // Each tab adds its own ids and upserts/deletes shared ones.
        add_batch(
            &mut a,
            &mut model_a,
            &mut rng,
            &[format!("a{round}"), format!("s{}", round % 40)],
            true,
        );
        add_batch(
            &mut b,
            &mut model_b,
            &mut rng,
            &[format!("b{round}")],
            false,
        );
        if round % 3 == 0 {
            b.delete(&[format!("s{}", 20 + round)]).unwrap();
        }
        for (writer, _) in [(&mut a, 0), (&mut b, 1)] {
            let stored = Collection::manifest_info(store.manifest()).unwrap().version;
            if stored != writer.saved_version() {
                let mut fresh = store.open().unwrap();
                writer.rebase_onto(&mut fresh).unwrap();
                *writer = fresh;
            }
            store.save(writer);
        }
    }
    let last = store.open().unwrap();
    for round in 0..20 {
        assert!(
            last.contains(&format!("a{round}")),
            "a{round} lost (seed {seed})"
        );
        assert!(
            last.contains(&format!("b{round}")),
            "b{round} lost (seed {seed})"
        );
        if round % 3 == 0 {
            assert!(
                !last.contains(&format!("s{}", 20 + round)) || (20 + round) % 40 < 20,
                "delete of s{} lost",
                20 + round
            );
        }
    }
    // The last upsert of each shared id wins: a upserted s0..s19 last.
    for round in 0..20 {
        let id = format!("s{round}");
        let want = &model_a[&id];
        assert_eq!(last.get(&id).unwrap().metadata, want.1, "{id}");
    }
    let _ = (model, model_b);
}

#[test]
fn replacing_an_existing_store_keeps_it_openable_until_the_new_one_commits() {
    let (mut store, _, _) = small_store();
    let old_keys: Vec<String> = store.values.keys().cloned().collect();
    let mut fresh = new_collection(Metric::L2, 3);
    fresh
        .add(&[Item {
            id: "only",
            vector: &[1.0, 2.0, 3.0],
            metadata: None,
        }])
        .unwrap();
    fresh.replace_stored(store.manifest()).unwrap();
    let plan = fresh.begin_save().unwrap();
    for (key, _) in &plan.puts[..plan.puts.len() - 1] {
        assert!(
            !old_keys.contains(key),
            "{key} would overwrite a live chunk"
        );
    }
    store.apply(&plan);
    fresh.ack_save(plan.token).unwrap();
    assert_eq!(store.open().unwrap().len(), 1);
    // The old chunks are garbage and go with the next save.
    store.save(&mut fresh);
    for key in old_keys.iter().filter(|k| *k != MANIFEST_KEY) {
        assert!(!store.values.contains_key(key), "{key} not collected");
    }
}

// ---- Old-format fixtures: committed bytes that every future build must open. ----

fn fixture_dir(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/snapshots")
        .join(name)
}

fn read_fixture(name: &str) -> (MemStore, Value) {
    let dir = fixture_dir(name);
    let mut store = MemStore::default();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        if let Some(key) = file.strip_suffix(".bin") {
            store
                .values
                .insert(key.to_string(), std::fs::read(&path).unwrap());
        }
    }
    let expected =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    (store, expected)
}

/// The fixtures: (directory, spec, metric, whether the store ends with an op log). Each holds
/// a snapshot of 40 items (trained, for families that train), then adds, an upsert and
/// deletes; an indexed metadata field and a tuned search default.
const FIXTURES: [(&str, &str, Metric, bool); 9] = [
    ("v1-flat-cosine-log", "Flat", Metric::Cosine, true),
    ("v1-flat-l2-compacted", "Flat", Metric::L2, false),
    ("v1-sq8-dot-log", "SQ8", Metric::Dot, true),
    ("v1-bin-cosine-log", "BIN", Metric::Cosine, true),
    ("v1-pq4-l2-log", "PQ4", Metric::L2, true),
    ("v1-ivf4-cosine-log", "IVF4", Metric::Cosine, true),
    ("v1-ivf4-sq8-l2-log", "IVF4,SQ8", Metric::L2, true),
    ("v1-ivf4-pq4-dot-compacted", "IVF4,PQ4", Metric::Dot, false),
    ("v1-hnsw4-l2-log", "HNSW4", Metric::L2, true),
];

const FIXTURE_DIM: usize = 8;

fn build_fixture(spec: &str, metric: Metric, with_log: bool) -> (MemStore, Collection) {
    let mut rng = Rng(2024);
    let mut c = Collection::new(CollectionConfig::new(
        FIXTURE_DIM,
        metric,
        spec.parse().unwrap(),
    ))
    .unwrap();
    let mut model = Model::new();
    // PQ needs 256 training vectors; the others train on fewer.
    let n = if spec.contains("PQ") { 300 } else { 200 };
    let ids: Vec<String> = (0..n).map(|i| format!("item-{i}")).collect();
    add_batch(&mut c, &mut model, &mut rng, &ids, false);
    if !c.index().is_trained() {
        c.train().unwrap();
    }
    c.create_field_index("tag").unwrap();
    let mut defaults = c.search_defaults();
    defaults.nprobe = Some(2);
    c.set_search_defaults(defaults);
    let mut store = MemStore::default();
    store.save(&mut c);
    add_batch(
        &mut c,
        &mut model,
        &mut rng,
        &["late-1".into(), "late-2".into()],
        false,
    );
    add_batch(
        &mut c,
        &mut model,
        &mut rng,
        &["item-3".into(), "item-4".into()],
        true,
    );
    c.delete(&["item-7", "late-1"]).unwrap();
    if !with_log {
        c.compact();
    }
    store.save(&mut c);
    (store, c)
}

fn expected_of(c: &Collection, ids: &[String]) -> Value {
    let mut rng = Rng(7);
    let queries: Vec<Value> = (0..5)
        .map(|_| {
            let q = rng.vector(FIXTURE_DIM);
            let hits: Vec<Value> = c
                .search(&q, 6)
                .unwrap()
                .into_iter()
                .map(|h| json!({ "id": h.id, "score": h.score }))
                .collect();
            json!({ "query": q, "hits": hits })
        })
        .collect();
    let items: Vec<Value> = ids
        .iter()
        .filter(|id| c.contains(id))
        .map(|id| {
            let r = c.get(id).unwrap();
            json!({ "id": r.id, "vector": r.vector, "metadata": r.metadata })
        })
        .collect();
    json!({
        "len": c.len(),
        "items": items,
        "queries": queries,
        "indexed_fields": c.indexed_fields(),
        "nprobe": c.search_defaults().nprobe,
    })
}

fn fixture_ids() -> Vec<String> {
    let mut ids: Vec<String> = (0..60).map(|i| format!("item-{i}")).collect();
    ids.extend(["late-1".to_string(), "late-2".to_string()]);
    ids
}

/// Writes the fixtures. Run once per format version with `QUIVER_WRITE_FIXTURES=1`; never
/// regenerate an existing version's fixtures.
#[test]
fn write_fixtures_when_asked() {
    if std::env::var_os("QUIVER_WRITE_FIXTURES").is_none() {
        return;
    }
    for (name, spec, metric, with_log) in FIXTURES {
        let (store, c) = build_fixture(spec, metric, with_log);
        let dir = fixture_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (key, bytes) in &store.values {
            std::fs::write(dir.join(format!("{key}.bin")), bytes).unwrap();
        }
        let expected = expected_of(&c, &fixture_ids());
        std::fs::write(
            dir.join("expected.json"),
            serde_json::to_vec(&expected).unwrap(),
        )
        .unwrap();
    }
}

#[test]
fn old_format_fixtures_open_forever() {
    for (name, _, _, with_log) in FIXTURES {
        let (store, expected) = read_fixture(name);
        let info = Collection::manifest_info(store.manifest()).unwrap();
        assert_eq!(info.log_ops > 0, with_log, "{name}");
        let c = store
            .open()
            .unwrap_or_else(|e| panic!("{name} no longer opens: {e}"));
        assert_eq!(
            json!(c.indexed_fields()),
            expected["indexed_fields"],
            "{name}"
        );
        assert_eq!(
            json!(c.search_defaults().nprobe),
            expected["nprobe"],
            "{name}"
        );
        assert_eq!(c.len() as u64, expected["len"].as_u64().unwrap(), "{name}");
        for item in expected["items"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap();
            let record = c.get(id).unwrap();
            let vector: Vec<f32> = serde_json::from_value(item["vector"].clone()).unwrap();
            assert_eq!(record.vector, vector, "{name}: vector of {id}");
            let metadata = match &item["metadata"] {
                Value::Null => None,
                v => Some(v.clone()),
            };
            assert_eq!(record.metadata, metadata, "{name}: metadata of {id}");
        }
        for query in expected["queries"].as_array().unwrap() {
            let q: Vec<f32> = serde_json::from_value(query["query"].clone()).unwrap();
            let hits = c.search(&q, 6).unwrap();
            let want = query["hits"].as_array().unwrap();
            assert_eq!(hits.len(), want.len(), "{name}");
            for (hit, want) in hits.iter().zip(want) {
                assert_eq!(hit.id, want["id"].as_str().unwrap(), "{name}");
                let score = want["score"].as_f64().unwrap() as f32;
                assert!(
                    (hit.score - score).abs() <= 1e-5,
                    "{name}: {} vs {score}",
                    hit.score
                );
            }
        }
        // And it keeps working: an incremental save on top of an old store.
        let mut c = c;
        let mut store = store;
        c.add(&[Item {
            id: "new",
            vector: &[0.5; FIXTURE_DIM],
            metadata: None,
        }])
        .unwrap();
        let plan = store.save(&mut c);
        assert!(!plan.full, "{name}");
        assert_eq!(store.open().unwrap().len(), c.len());
    }
}

/// Two writers create the same store before either saved: the second rebases its journal
/// (kept from creation with `enable_journal`) onto the first one's save.
#[test]
fn a_journaled_new_collection_rebases_onto_a_store_created_meanwhile() {
    let mut rng = Rng(12);
    let mut store = MemStore::default();
    let (mut a, mut b) = (new_collection(Metric::L2, 4), new_collection(Metric::L2, 4));
    b.enable_journal();
    let (mut model_a, mut model_b) = (Model::new(), Model::new());
    add_batch(
        &mut a,
        &mut model_a,
        &mut rng,
        &["a1".into(), "both".into()],
        false,
    );
    add_batch(
        &mut b,
        &mut model_b,
        &mut rng,
        &["b1".into(), "both".into()],
        false,
    );
    store.save(&mut a);
    let mut fresh = store.open().unwrap();
    b.rebase_onto(&mut fresh).unwrap();
    store.save(&mut fresh);
    let last = store.open().unwrap();
    assert_eq!(last.len(), 3);
    assert_eq!(
        last.get("both").unwrap().metadata,
        model_b["both"].1,
        "the later writer wins"
    );
    // Without a journal, a non-empty never-saved collection cannot be rebased.
    let mut c = new_collection(Metric::L2, 4);
    add_batch(&mut c, &mut Model::new(), &mut rng, &["x".into()], false);
    assert_eq!(
        c.rebase_onto(&mut store.open().unwrap())
            .unwrap_err()
            .code(),
        "unsupported"
    );
}

/// Every family, trained before the snapshot or training itself during log replay, with and
/// without kept vectors: reopening gives the same results (with and without rerank) and the
/// same settings.
#[test]
fn every_family_round_trips_trained_and_mid_log() {
    use quiver::index::IndexOptions;
    use quiver::SearchParams;
    let dim = 16;
    let specs = [
        "Flat",
        "SQ8",
        "BIN",
        "PQ4",
        "IVF8",
        "IVF8,SQ8",
        "IVF8,PQ4",
        "HNSW8",
        "HNSW8,SQ8",
    ];
    for spec in specs {
        for keep_vectors in [true, false] {
            for train_first in [true, false] {
                let context =
                    format!("{spec} keep_vectors={keep_vectors} train_first={train_first}");
                let mut config = CollectionConfig::new(dim, Metric::L2, spec.parse().unwrap());
                config.options = IndexOptions {
                    keep_vectors,
                    ..config.options
                };
                let mut c = Collection::new(config).unwrap();
                let mut rng = Rng(5);
                let mut model = Model::new();
                let first: Vec<String> = (0..400).map(|i| format!("a{i}")).collect();
                add_batch(&mut c, &mut model, &mut rng, &first, false);
                if train_first && !c.index().is_trained() {
                    c.train().unwrap();
                }
                c.create_field_index("tag").unwrap();
                let mut store = MemStore::default();
                store.save(&mut c);
                // More adds (enough to make SQ8/BIN/IVF train themselves during the log when
                // they are not trained yet), an upsert and deletes.
                // (Without metadata, so that the log stays under the compaction threshold.)
                let more: Vec<String> = (0..700).map(|i| format!("b{i}")).collect();
                let vectors: Vec<Vec<f32>> = more.iter().map(|_| rng.vector(dim)).collect();
                let items: Vec<Item> = more
                    .iter()
                    .zip(&vectors)
                    .map(|(id, vector)| Item {
                        id,
                        vector,
                        metadata: None,
                    })
                    .collect();
                c.add(&items).unwrap();
                add_batch(
                    &mut c,
                    &mut model,
                    &mut rng,
                    &["a1".into(), "b1".into()],
                    true,
                );
                c.delete(&["a2", "b3"]).unwrap();
                let mut defaults = c.search_defaults();
                defaults.rerank = Some(20);
                c.set_search_defaults(defaults);
                let plan = store.save(&mut c);
                assert!(!plan.full, "{context}: incremental");
                let reopened = store.open().unwrap_or_else(|e| panic!("{context}: {e}"));
                assert_eq!(reopened.len(), c.len(), "{context}");
                assert_eq!(
                    reopened.index().is_trained(),
                    c.index().is_trained(),
                    "{context}"
                );
                assert_eq!(
                    reopened.indexed_fields(),
                    vec!["tag".to_string()],
                    "{context}"
                );
                assert_eq!(reopened.search_defaults(), c.search_defaults(), "{context}");
                let mut q = Rng(77);
                for _ in 0..10 {
                    let query = q.vector(dim);
                    for rerank in [None, Some(0)] {
                        let params = SearchParams {
                            rerank,
                            nprobe: Some(3),
                            ..SearchParams::default()
                        };
                        let a = c.search_with(&query, 7, &params);
                        let b = reopened.search_with(&query, 7, &params);
                        assert_eq!(a, b, "{context} rerank {rerank:?}");
                    }
                }
                if keep_vectors
                    || !c.index().is_trained()
                    || ["Flat", "IVF8", "HNSW8"].contains(&spec)
                {
                    assert_eq!(
                        c.get("b1").unwrap(),
                        reopened.get("b1").unwrap(),
                        "{context}"
                    );
                }
            }
        }
    }
}

/// Settings changed by a writer that then rebases (another writer saved first) are kept.
#[test]
fn rebased_settings_follow_the_later_writer() {
    let mut rng = Rng(3);
    let mut base = new_collection(Metric::L2, 4);
    add_batch(&mut base, &mut Model::new(), &mut rng, &["a".into()], false);
    let mut store = MemStore::default();
    store.save(&mut base);
    let mut first = store.open().unwrap();
    let second = store.open().unwrap();
    first.create_field_index("tag").unwrap();
    store.save(&mut first);
    let mut second = second;
    second.create_field_index("n").unwrap();
    let mut defaults = second.search_defaults();
    defaults.ef_search = Some(99);
    second.set_search_defaults(defaults);
    let mut fresh = store.open().unwrap();
    second.rebase_onto(&mut fresh).unwrap();
    store.save(&mut fresh);
    let last = store.open().unwrap();
    assert_eq!(last.indexed_fields(), vec!["n".to_string()]);
    assert_eq!(last.search_defaults().ef_search, Some(99));
}

/// Opens `store` through an [`OpenSession`], handing it the records in `order` (indexes into
/// the session's keys; repeats allowed), as an adapter that streams them would.
fn open_by_session(store: &MemStore, order: &[usize]) -> quiver::Result<Collection> {
    let mut session = OpenSession::new(store.manifest())?;
    let keys = session.keys().to_vec();
    for &i in order {
        if let Some(bytes) = store.values.get(&keys[i]) {
            session.accept(i, bytes.clone())?;
        }
    }
    session.finish()
}

fn shuffled(n: usize, rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
}

/// A store of `spec` with several chunks per section and an op log (adds and deletes).
fn multi_chunk_store(spec: &str, seed: u64) -> (MemStore, Collection, Model) {
    let dim = 64;
    let mut c = Collection::new(CollectionConfig::new(
        dim,
        Metric::L2,
        spec.parse().unwrap(),
    ))
    .unwrap();
    let mut rng = Rng(seed);
    let mut model = Model::new();
    let first: Vec<String> = (0..2500).map(|i| format!("a{i}")).collect();
    add_batch(&mut c, &mut model, &mut rng, &first, false);
    let mut store = MemStore::default();
    store.save(&mut c);
    let more: Vec<String> = (0..40).map(|i| format!("b{i}")).collect();
    add_batch(&mut c, &mut model, &mut rng, &more, false);
    c.delete(&["a3", "b5"]).unwrap();
    model.remove("a3");
    model.remove("b5");
    store.save(&mut c);
    (store, c, model)
}

#[test]
fn an_open_session_takes_records_in_any_order() {
    for (spec, seed) in [("Flat", 31), ("HNSW8", 32), ("IVF8,SQ8", 33)] {
        let (store, live, model) = multi_chunk_store(spec, seed);
        let session = OpenSession::new(store.manifest()).unwrap();
        let n = session.keys().len();
        assert_eq!(
            session.keys(),
            Collection::required_chunks(store.manifest()).unwrap(),
            "{spec}"
        );
        let info = Collection::manifest_info(store.manifest()).unwrap();
        assert!(info.log_ops > 0, "{spec}: the store has a log");
        assert!(n >= 4, "{spec}: {n} records, want several per section");
        let opened = store.open().unwrap();
        let mut rng = Rng(seed);
        let forward: Vec<usize> = (0..n).collect();
        let reverse: Vec<usize> = (0..n).rev().collect();
        let mut repeated = shuffled(n, &mut rng);
        repeated.extend(shuffled(n, &mut rng).into_iter().take(n / 2));
        for (name, order) in [
            ("forward", forward),
            ("reverse", reverse),
            ("shuffled", shuffled(n, &mut rng)),
            ("with repeats", repeated),
        ] {
            let context = format!("{spec}, records {name}");
            let c = open_by_session(&store, &order).unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_matches_model(&c, &model, &context);
            assert_same(&live, &c, &model, seed, &context);
            assert_same(&opened, &c, &model, seed, &context);
            assert_eq!(c.saved_version(), opened.saved_version(), "{context}");
        }
    }
}

#[test]
fn an_open_session_rejects_a_bad_record_as_it_arrives() {
    let (store, _, model) = small_store();
    let keys = OpenSession::new(store.manifest()).unwrap().keys().to_vec();
    let mut checked = 0;
    for (i, key) in keys.iter().enumerate() {
        let bytes = &store.values[key];
        let mut damaged = Vec::new();
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            damaged.push((format!("bit {bit} flipped"), b));
        }
        for len in 0..bytes.len() {
            damaged.push((format!("truncated to {len}"), bytes[..len].to_vec()));
        }
        let mut longer = bytes.clone();
        longer.push(0);
        damaged.push(("one byte longer".into(), longer));
        for (what, b) in damaged {
            let mut session = OpenSession::new(store.manifest()).unwrap();
            let e = session
                .accept(i, b)
                .expect_err(&format!("{key:?} {what}: accepted"));
            assert!(
                matches!(e.code(), "corrupt" | "unsupported_version"),
                "{key:?} {what}: {e}"
            );
            // The bad record is not kept: the good one still completes the open.
            for (j, k) in keys.iter().enumerate() {
                session.accept(j, store.values[k].clone()).unwrap();
            }
            assert_matches_model(&session.finish().unwrap(), &model, &what);
            checked += 1;
        }
    }
    println!("{checked} damaged records rejected on arrival");

    // A record handed in under another record's index fails its manifest checksum.
    let mut session = OpenSession::new(store.manifest()).unwrap();
    let e = session
        .accept(0, store.values[&keys[1]].clone())
        .unwrap_err();
    assert_eq!(e.code(), "corrupt", "{e}");
    // An index past the manifest's records is the caller's mistake.
    let e = session.accept(keys.len(), Vec::new()).unwrap_err();
    assert_eq!(e.code(), "invalid_argument", "{e}");
    // A record never handed in fails the decode.
    for missing in 0..keys.len() {
        let order: Vec<usize> = (0..keys.len()).filter(|&j| j != missing).collect();
        let e = open_by_session(&store, &order).unwrap_err();
        assert_eq!(e.code(), "corrupt", "record {missing} missing: {e}");
        assert!(e.to_string().contains("missing"), "{e}");
    }
    // A bad manifest fails before any read.
    let mut manifest = store.manifest().to_vec();
    manifest[30] ^= 1;
    assert_eq!(OpenSession::new(&manifest).unwrap_err().code(), "corrupt");
}

#[test]
fn an_abandoned_open_session_leaves_the_store_as_it_was() {
    let (store, live, model) = multi_chunk_store("HNSW8", 41);
    let before = store.clone();
    let keys = OpenSession::new(store.manifest()).unwrap().keys().to_vec();
    for stop_after in [0, 1, keys.len() / 2, keys.len() - 1, keys.len()] {
        let mut session = OpenSession::new(store.manifest()).unwrap();
        for (i, key) in keys.iter().enumerate().take(stop_after) {
            session.accept(i, store.values[key].clone()).unwrap();
        }
        assert_eq!(session.accepted(), stop_after);
        drop(session);
        assert_eq!(store.values, before.values, "stopped after {stop_after}");
    }
    // A bad record part way (the JS side then stops reading) changes nothing either.
    let mut session = OpenSession::new(store.manifest()).unwrap();
    session.accept(0, store.values[&keys[0]].clone()).unwrap();
    let mut bad = store.values[&keys[1]].clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x40;
    assert_eq!(session.accept(1, bad).unwrap_err().code(), "corrupt");
    drop(session);
    assert_eq!(store.values, before.values);
    let all: Vec<usize> = (0..keys.len()).collect();
    let reopened = open_by_session(&store, &all).unwrap();
    assert_same(
        &live,
        &reopened,
        &model,
        41,
        "reopened after abandoned sessions",
    );
}

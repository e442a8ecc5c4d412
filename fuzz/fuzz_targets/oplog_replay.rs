//! Op-log replay: arbitrary bytes as the payload of an op-log segment, applied on top of a
//! valid small snapshot. Stores of several families are built once: a full snapshot, then an
//! incremental save whose log chunk the input replaces. The target seals the input in a valid
//! envelope and patches the manifest's reference (length, checksum), so the bytes reach the
//! record decoder and the replay itself rather than stopping at the checksum.
//!
//! Input layout (raw bytes, so the seed corpus is plain valid payloads):
//! ```text
//! byte 0     which store (family)
//! byte 1     flags: bit 0 follower path (open the snapshot-only version, then apply_update the
//!            fuzzed one), bit 1 set the manifest's log entry (first op, op count) from the
//!            payload prefix instead of keeping the original entry
//! bytes 2..4 i16 LE added to the manifest's item count
//! bytes 4..  the OLOG payload: u64 first op, u32 record count, records
//! ```
//!
//! Checked: never a panic, never an allocation past libFuzzer's limits; opening or applying
//! the update succeeds or fails with `corrupt` (or `unsupported_version`). What succeeds must be
//! a consistent collection: `len` equals the manifest's count and the ids it lists, every item
//! answers `get`, search returns stored ids; a compacting save reopens to the same items and
//! the same search results; and a further add is saved incrementally (appending to the fuzzed
//! tail) and reopens.
//!
//! `QUIVER_WRITE_SEEDS=<dir>` writes the valid inputs (one per store and path) to `<dir>`.
#![no_main]

#[path = "../common/limit_alloc.rs"]
mod limit_alloc;

#[global_allocator]
static ALLOC: limit_alloc::LimitedAlloc = limit_alloc::LimitedAlloc;

use std::collections::HashMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use quiver::snapshot::{crc32, UpdatePlan, MANIFEST_KEY};
use quiver::{Collection, Item};

const DIM: usize = 4;
const STORES: &[(&str, &str)] = &[
    ("Flat", "l2"),
    ("Flat", "cosine"),
    ("HNSW8", "l2"),
    ("IVF4", "l2"),
    ("SQ8", "dot"),
    ("PQ2", "l2"),
    ("BIN", "l2"),
];
const HEADER_LEN: usize = 20;

type Records = HashMap<String, Vec<u8>>;

/// One store in two versions: `base` (snapshot plus one log chunk) and `next` (the same, with
/// the open log chunk rewritten under a new key with more records appended), and the key of
/// the log chunk each version's manifest names last.
struct Saved {
    base: Records,
    base_log: String,
    next: Records,
    next_log: String,
}

fn vector(i: usize) -> Vec<f32> {
    (0..DIM)
        .map(|j| ((i * 7 + j * 3) % 11) as f32 - 4.5)
        .collect()
}

fn put(records: &mut Records, c: &mut Collection) -> Vec<String> {
    let plan = c.begin_save().expect("save");
    let mut keys = Vec::new();
    for (key, bytes) in plan.puts {
        keys.push(key.clone());
        records.insert(key, bytes);
    }
    for key in plan.deletes {
        records.remove(&key);
    }
    c.ack_save(plan.token).expect("ack");
    keys
}

fn write(c: &mut Collection, range: std::ops::Range<usize>, upsert: bool) {
    let ids: Vec<String> = range.clone().map(|i| format!("id{i}")).collect();
    let vectors: Vec<Vec<f32>> = range.clone().map(vector).collect();
    let items: Vec<Item> = ids
        .iter()
        .zip(&vectors)
        .enumerate()
        .map(|(n, (id, v))| Item {
            id,
            vector: v,
            metadata: (n % 3 != 0).then(|| serde_json::json!({ "n": n, "t": ["x"] })),
        })
        .collect();
    if upsert {
        c.upsert(&items).expect("upsert");
    } else {
        c.add(&items).expect("add");
    }
}

/// The key of the last log chunk a save put (the put before the manifest).
fn log_key(keys: &[String]) -> String {
    keys[keys.len() - 2].clone()
}

fn saved() -> &'static Vec<Saved> {
    static SAVED: OnceLock<Vec<Saved>> = OnceLock::new();
    SAVED.get_or_init(|| {
        let stores: Vec<Saved> = STORES
            .iter()
            .map(|(spec, metric)| {
                let mut c = Collection::with_strings(DIM, metric, spec).expect("collection");
                let mut records = Records::new();
                write(&mut c, 0..24, false);
                put(&mut records, &mut c);
                // Logged: an add batch, an upsert (adds plus the removal of replaced ids), a
                // delete batch.
                write(&mut c, 24..30, false);
                write(&mut c, 20..26, true);
                c.delete(&["id1", "id2", "id27"]).expect("delete");
                let keys = put(&mut records, &mut c);
                let base = records.clone();
                let base_log = log_key(&keys);
                write(&mut c, 30..33, false);
                c.delete(&["id5"]).expect("delete");
                let keys = put(&mut records, &mut c);
                Saved {
                    base,
                    base_log,
                    next: records,
                    next_log: log_key(&keys),
                }
            })
            .collect();
        if let Ok(dir) = std::env::var("QUIVER_WRITE_SEEDS") {
            for (s, saved) in stores.iter().enumerate() {
                for (flags, records, key) in [
                    (0u8, &saved.base, &saved.base_log),
                    (1u8, &saved.next, &saved.next_log),
                ] {
                    let mut input = vec![s as u8, flags, 0, 0];
                    input.extend_from_slice(&records[key.as_str()][HEADER_LEN..]);
                    let name = format!("{dir}/{}-{}-{}", STORES[s].0, STORES[s].1, flags);
                    std::fs::write(name, input).expect("write seed");
                }
            }
        }
        stores
    })
}

/// Seals `payload` as an OLOG chunk: (bytes, payload crc as the manifest states it).
fn seal(payload: &[u8]) -> (Vec<u8>, u32) {
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.extend_from_slice(b"QVRC");
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(b"OLOG");
    bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    let mut covered = bytes.clone();
    covered.extend_from_slice(payload);
    let crc = crc32(&covered);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes.extend_from_slice(payload);
    (bytes, crc)
}

fn read_u32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

/// Rewrites `manifest` (a sealed chunk) so its reference to `key` states `len` and `crc`
/// (and optionally the log entry's first op and op count), and its item count moves by
/// `items_delta`; reseals it.
fn patch_manifest(
    manifest: &[u8],
    key: &str,
    len: u32,
    crc: u32,
    entry: Option<(u64, u32)>,
    items_delta: i16,
) -> Vec<u8> {
    let mut m = manifest.to_vec();
    // Item count: after u64 version, generation, next chunk id, u32 dimension, str metric,
    // str spec, u64 seed, u8 keep_vectors, u32 ef_construction, u32 ef_search.
    let mut at = HEADER_LEN + 24 + 4;
    at += 4 + read_u32(&m, at);
    at += 4 + read_u32(&m, at);
    at += 8 + 1 + 4 + 4;
    let items = u64::from_le_bytes(m[at..at + 8].try_into().expect("8 bytes"));
    let items = (items as i64 + items_delta as i64).max(0) as u64;
    m[at..at + 8].copy_from_slice(&items.to_le_bytes());
    // The reference: u32 key length, key, u32 payload length, u32 crc, then (a log entry)
    // u64 first op, u32 op count.
    let mut needle = (key.len() as u32).to_le_bytes().to_vec();
    needle.extend_from_slice(key.as_bytes());
    let at = m
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("the log key is in the manifest")
        + needle.len();
    m[at..at + 4].copy_from_slice(&len.to_le_bytes());
    m[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
    if let Some((first, ops)) = entry {
        m[at + 8..at + 16].copy_from_slice(&first.to_le_bytes());
        m[at + 16..at + 20].copy_from_slice(&ops.to_le_bytes());
    }
    let mut covered = m[..16].to_vec();
    covered.extend_from_slice(&m[HEADER_LEN..]);
    let crc = crc32(&covered);
    m[16..20].copy_from_slice(&crc.to_le_bytes());
    m
}

fn expect_typed(e: &quiver::Error) {
    assert!(
        ["corrupt", "unsupported_version"].contains(&e.code()),
        "unexpected error {e:?}"
    );
}

type Snapshot = Vec<(String, Vec<f32>, Option<serde_json::Value>)>;

/// Every item, in internal id order, checked against `get`.
fn items_of(c: &Collection) -> Snapshot {
    let ids = c.internal_ids();
    assert_eq!(ids.len(), c.len(), "internal ids and len disagree");
    ids.iter()
        .map(|&internal| {
            let id = c.external_id_of(internal).expect("a listed id has a name");
            assert_eq!(c.internal_id_of(id), Some(internal), "id maps disagree");
            assert!(c.contains(id));
            let metadata = c.metadata_of(internal).cloned();
            match c.get(id) {
                Ok(record) => {
                    assert_eq!(record.metadata, metadata, "metadata of {id}");
                    assert_eq!(record.vector.len(), c.dimension());
                    (id.to_string(), record.vector, metadata)
                }
                // Quantized families without kept vectors cannot return them.
                Err(e) => {
                    assert_eq!(e.code(), "unsupported", "get {id}: {e:?}");
                    (id.to_string(), Vec::new(), metadata)
                }
            }
        })
        .collect()
}

fn searches(c: &Collection) -> Vec<Vec<(String, u32)>> {
    [[1.0, 2.0, 3.0, 4.0], [-3.0, 0.5, 2.0, -1.0]]
        .iter()
        .map(|q| {
            let hits = c.search(q, 8).expect("search on a consistent collection");
            assert!(hits.len() <= c.len().min(8));
            let mut seen = std::collections::HashSet::new();
            for h in &hits {
                assert!(c.contains(&h.id), "hit {} is not stored", h.id);
                assert!(seen.insert(h.id.clone()), "hit {} twice", h.id);
            }
            hits.into_iter()
                .map(|h| (h.id, h.score.to_bits()))
                .collect()
        })
        .collect()
}

fn apply(records: &mut Records, c: &mut Collection) -> Vec<u8> {
    let plan = c.begin_save().expect("save after replay");
    for (key, bytes) in plan.puts {
        records.insert(key, bytes);
    }
    for key in plan.deletes {
        records.remove(&key);
    }
    c.ack_save(plan.token).expect("ack after replay");
    records[MANIFEST_KEY].clone()
}

/// What a successful replay left must be a consistent collection that saves and reopens.
fn check_consistent(mut c: Collection, mut records: Records) {
    let items = items_of(&c);
    searches(&c);

    // A further add, saved incrementally: appends to the fuzzed (now validated) tail.
    let extra = [0.25f32, -0.5, 0.75, 1.0];
    let fresh = "fresh-after-replay";
    if !c.contains(fresh) {
        c.add(&[Item {
            id: fresh,
            vector: &extra,
            metadata: None,
        }])
        .expect("add after replay");
        let manifest = apply(&mut records, &mut c);
        let reopened = Collection::open(&manifest, &mut records).expect("reopen after an add");
        assert_eq!(reopened.len(), c.len());
        assert!(reopened.contains(fresh));
        assert_eq!(items_of(&reopened), items_of(&c));
        c.delete(&[fresh]).expect("delete");
    }

    // A compacting save folds the log in; the snapshot reopens to the same state (and the
    // same answers: the index state is written exactly).
    let results = searches(&c);
    c.compact();
    let manifest = apply(&mut records, &mut c);
    let reopened = Collection::open(&manifest, &mut records).expect("reopen after compaction");
    assert_eq!(items_of(&reopened), items);
    assert_eq!(searches(&reopened), results);
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let stores = saved();
    let saved = &stores[data[0] as usize % stores.len()];
    let follower = data[1] & 1 != 0;
    let set_entry = data[1] & 2 != 0;
    let items_delta = i16::from_le_bytes([data[2], data[3]]);
    let payload = &data[4..];
    let entry = (set_entry && payload.len() >= 12).then(|| {
        (
            u64::from_le_bytes(payload[..8].try_into().expect("8 bytes")),
            u32::from_le_bytes(payload[8..12].try_into().expect("4 bytes")),
        )
    });

    let (original, key) = if follower {
        (&saved.next, &saved.next_log)
    } else {
        (&saved.base, &saved.base_log)
    };
    let mut records = original.clone();
    let (chunk, crc) = seal(payload);
    let manifest = patch_manifest(
        &records[MANIFEST_KEY],
        key,
        payload.len() as u32,
        crc,
        entry,
        items_delta,
    );
    records.insert(key.clone(), chunk);
    records.insert(MANIFEST_KEY.to_string(), manifest.clone());
    let untouched = records == *original;

    let mut follower = follower.then(|| {
        let mut base = saved.base.clone();
        let base_manifest = base[MANIFEST_KEY].clone();
        Collection::open(&base_manifest, &mut base).expect("base opens")
    });
    // A follower holds the previous version and replays only the new records, unless the
    // manifest says the history changed: then it reopens, as the package does.
    if let Some(c) = &follower {
        match c.update_plan(&manifest) {
            Ok(UpdatePlan::Incremental(_)) => {}
            Ok(UpdatePlan::Reopen) => follower = None,
            Ok(UpdatePlan::UpToDate) => panic!("a newer manifest is up to date"),
            Err(e) => {
                expect_typed(&e);
                return;
            }
        }
    }
    if let Some(mut c) = follower {
        match c.apply_update(&manifest, &mut records) {
            Ok(()) => {
                let manifest_items = quiver::Collection::manifest_info(&manifest)
                    .expect("manifest")
                    .items;
                assert_eq!(c.len() as u64, manifest_items);
                check_consistent(c, records);
            }
            Err(e) => {
                assert!(!untouched, "an undamaged update failed: {e:?}");
                // The follower may hold part of the update; it must still answer without
                // panicking (it is reopened by the package).
                expect_typed(&e);
                let _ = c.search(&[1.0, 2.0, 3.0, 4.0], 5);
                let _ = c.get("id1");
            }
        }
    } else {
        match Collection::open(&manifest, &mut records) {
            Ok(c) => check_consistent(c, records),
            Err(e) => {
                assert!(!untouched, "an undamaged store failed to open: {e:?}");
                expect_typed(&e);
            }
        }
    }
});

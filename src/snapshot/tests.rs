//! Unit tests of the envelope, the manifest and the section reader/writer.

use super::chunk::{self, kind, Expect, HEADER_LEN, MAX_PAYLOAD};
use super::codec::{Emitter, StateReader, StateWriter};
use super::manifest::{LogRef, Manifest};
use super::*;
use crate::codec::{Read, Write};
use crate::collection::CollectionConfig;
use crate::distance::Metric;

fn expect(kind: [u8; 4]) -> Expect<'static> {
    Expect {
        key: "k",
        kind,
        payload_len: None,
        crc: None,
        max_len: chunk::MAX_CHUNK_LEN,
    }
}

#[test]
fn envelope_round_trips_and_checks_each_field() {
    let (bytes, crc) = chunk::seal(kind::META, b"hello");
    assert_eq!(bytes.len(), HEADER_LEN + 5);
    assert_eq!(chunk::verify(&bytes, &expect(kind::META)).unwrap(), crc);
    let code = |b: &[u8], e: &Expect| chunk::verify(b, e).unwrap_err().code();
    assert_eq!(code(&bytes, &expect(kind::INDEX)), "corrupt");
    let mut wrong = expect(kind::META);
    wrong.payload_len = Some(6);
    assert_eq!(code(&bytes, &wrong), "corrupt");
    wrong.payload_len = Some(5);
    wrong.crc = Some(crc ^ 1);
    assert_eq!(code(&bytes, &wrong), "corrupt");
    let mut newer = bytes.clone();
    newer[4] = 9;
    assert_eq!(code(&newer, &expect(kind::META)), "unsupported_version");
    let mut magic = bytes.clone();
    magic[0] = b'X';
    assert_eq!(code(&magic, &expect(kind::META)), "corrupt");
    assert_eq!(code(&bytes[..10], &expect(kind::META)), "corrupt");
}

fn write_section(values: &[f32], extra: &[u8]) -> (Vec<(String, Vec<u8>)>, Vec<codec::ChunkRef>) {
    let mut out = Vec::new();
    let mut sink = |k: String, b: Vec<u8>| out.push((k, b));
    let mut emitter = Emitter::new(&mut sink, 7);
    let mut w = StateWriter::new(&mut emitter, kind::INDEX);
    w.raw(extra);
    w.u64(values.len() as u64);
    w.f32s(values);
    w.str("tail");
    let refs = w.finish();
    (out, refs)
}

#[test]
fn sections_straddle_chunks_and_read_back() {
    // An odd prefix puts floats across chunk boundaries.
    let values: Vec<f32> = (0..150_000).map(|i| i as f32 * 0.5).collect();
    let (chunks, refs) = write_section(&values, &[1, 2, 3]);
    assert_eq!(chunks.len(), refs.len());
    assert!(chunks.len() >= 3);
    for (key, bytes) in &chunks[..chunks.len() - 1] {
        assert_eq!(bytes.len(), HEADER_LEN + MAX_PAYLOAD, "{key}");
    }
    assert_eq!(chunks[0].0, "c.000000000007");
    let mut source: std::collections::HashMap<String, Vec<u8>> = chunks.into_iter().collect();
    let mut r = StateReader::new(&mut source, kind::INDEX, &refs);
    let mut prefix = [0u8; 3];
    r.read_into(&mut prefix, "prefix").unwrap();
    assert_eq!(prefix, [1, 2, 3]);
    let n = r.count(4, "n").unwrap();
    assert_eq!(r.f32s(n as u64, "values").unwrap(), values);
    assert_eq!(r.str(10, "tail").unwrap(), "tail");
    r.finish("section").unwrap();
    assert_eq!(r.u8("past the end").unwrap_err().code(), "corrupt");
}

#[test]
fn counts_beyond_the_input_are_refused_before_allocating() {
    let (chunks, refs) = write_section(&[1.0, 2.0], &[]);
    let mut source: std::collections::HashMap<String, Vec<u8>> = chunks.into_iter().collect();
    let mut r = StateReader::new(&mut source, kind::INDEX, &refs);
    // 2 floats are there; ask for more (and for an overflowing count).
    assert_eq!(
        r.check_count(u64::MAX, 4, "x").unwrap_err().code(),
        "corrupt"
    );
    let _ = r.u64("n").unwrap();
    assert!(r.f32s(1 << 40, "values").is_err());
    // 2 floats and the 8-byte "tail" string remain: 16 bytes.
    assert!(r.f32s(5, "values").is_err());
}

#[test]
fn manifest_round_trips() {
    let refs = |n: u64| {
        (0..n)
            .map(|i| codec::ChunkRef {
                key: codec::chunk_key(i),
                len: 100 + i as u32,
                crc: i as u32 * 7,
            })
            .collect::<Vec<_>>()
    };
    let manifest = Manifest {
        version: 12,
        generation: 3,
        next_chunk_id: 99,
        config: CollectionConfig::new(384, Metric::Cosine, "Flat".parse().unwrap()),
        items: 20_000,
        defaults: crate::collection::SearchDefaults {
            ef_search: Some(64),
            nprobe: None,
            rerank: Some(0),
        },
        indexed_fields: vec!["lang".into(), "meta.year".into()],
        meta: refs(2),
        index: refs(3)
            .into_iter()
            .map(|mut r| {
                r.key.push('i');
                r
            })
            .collect(),
        log: vec![
            LogRef {
                chunk: codec::ChunkRef {
                    key: "c.log1".into(),
                    len: 10,
                    crc: 1,
                },
                first_op: 0,
                ops: 4,
            },
            LogRef {
                chunk: codec::ChunkRef {
                    key: "c.log2".into(),
                    len: 10,
                    crc: 2,
                },
                first_op: 4,
                ops: 1,
            },
        ],
        garbage: vec!["c.old".into()],
    };
    let (bytes, _) = chunk::seal(kind::MANIFEST, &manifest.encode());
    assert_eq!(Manifest::decode(&bytes).unwrap(), manifest);
    // Log segments must be contiguous.
    let mut gap = manifest.clone();
    gap.log[1].first_op = 5;
    let (bytes, _) = chunk::seal(kind::MANIFEST, &gap.encode());
    assert_eq!(Manifest::decode(&bytes).unwrap_err().code(), "corrupt");
    // A key listed twice.
    let mut twice = manifest;
    twice.index[0].key = twice.meta[0].key.clone();
    let (bytes, _) = chunk::seal(kind::MANIFEST, &twice.encode());
    assert_eq!(Manifest::decode(&bytes).unwrap_err().code(), "corrupt");
}

/// Found by the `oplog_replay` fuzzer: a follower skips the log records it already applied,
/// so a rewritten open chunk whose first records differ from them (a buggy or hostile writer;
/// the checksums are valid) must be refused, not half-applied. Before the check the follower
/// kept `a1` while the store said `zz`, and its next save appended to a history it never ran.
#[test]
fn a_follower_refuses_a_log_chunk_that_rewrites_applied_records() {
    use std::collections::HashMap;
    let mut writer = Collection::new(CollectionConfig::new(
        2,
        Metric::L2,
        "Flat".parse().unwrap(),
    ))
    .unwrap();
    let mut store: HashMap<String, Vec<u8>> = HashMap::new();
    let save = |c: &mut Collection, store: &mut HashMap<String, Vec<u8>>| {
        let plan = c.begin_save().unwrap();
        store.extend(plan.puts);
        for key in plan.deletes {
            store.remove(&key);
        }
        c.ack_save(plan.token).unwrap();
    };
    let add = |c: &mut Collection, id: &str| {
        c.add(&[Item {
            id,
            vector: &[1.0, 2.0],
            metadata: None,
        }])
        .unwrap()
    };
    add(&mut writer, "a0");
    save(&mut writer, &mut store);
    add(&mut writer, "a1");
    save(&mut writer, &mut store);
    let mut follower = Collection::open(&store[MANIFEST_KEY].clone(), &mut store.clone()).unwrap();
    add(&mut writer, "a2");
    save(&mut writer, &mut store);

    // The writer's new manifest rewrote the open chunk: records of a1 and a2.
    let mut manifest = Manifest::decode(&store[MANIFEST_KEY]).unwrap();
    let log = manifest.log.last_mut().unwrap();
    assert_eq!((log.first_op, log.ops), (0, 2));
    let chunk = store[&log.chunk.key].clone();
    let at = chunk.windows(2).position(|w| w == b"a1").unwrap();
    let mut payload = chunk[HEADER_LEN..].to_vec();
    payload[at - HEADER_LEN..at - HEADER_LEN + 2].copy_from_slice(b"zz");
    let (bytes, crc) = chunk::seal(kind::OPLOG, &payload);
    log.chunk.crc = crc;
    store.insert(log.chunk.key.clone(), bytes);
    let (tampered, _) = chunk::seal(kind::MANIFEST, &manifest.encode());
    store.insert(MANIFEST_KEY.into(), tampered.clone());

    // Whole, the tampered store is consistent and opens with zz.
    let reopened = Collection::open(&tampered, &mut store.clone()).unwrap();
    assert!(reopened.contains("zz") && !reopened.contains("a1"));
    // The follower cannot take it incrementally.
    let err = follower
        .apply_update(&tampered, &mut store.clone())
        .unwrap_err();
    assert_eq!(err.code(), "corrupt", "{err}");
    assert!(err.to_string().contains("rewrites operations"), "{err}");
}

/// Found by the `oplog_replay` fuzzer: an upsert is logged as adds then removals, so a log
/// without the removal (its manifest adjusted to match) left two items under one id: `len` 2,
/// `get` reaching one, search returning both. Replay now refuses it.
#[test]
fn a_log_that_leaves_an_id_stored_twice_is_corrupt() {
    use std::collections::HashMap;
    let mut c = Collection::new(CollectionConfig::new(
        2,
        Metric::L2,
        "Flat".parse().unwrap(),
    ))
    .unwrap();
    let mut store: HashMap<String, Vec<u8>> = HashMap::new();
    let save = |c: &mut Collection, store: &mut HashMap<String, Vec<u8>>| {
        let plan = c.begin_save().unwrap();
        store.extend(plan.puts);
        c.ack_save(plan.token).unwrap();
    };
    let item = |vector: &'static [f32]| Item {
        id: "x",
        vector,
        metadata: None,
    };
    c.add(&[item(&[1.0, 1.0])]).unwrap();
    save(&mut c, &mut store);
    c.upsert(&[item(&[2.0, 2.0])]).unwrap();
    save(&mut c, &mut store);

    let mut manifest = Manifest::decode(&store[MANIFEST_KEY]).unwrap();
    let log = manifest.log.last_mut().unwrap();
    assert_eq!(log.ops, 2, "the upsert's add and removal");
    let chunk = &store[&log.chunk.key];
    // Drop the removal record (kind, internal id, "x") and fix the counts.
    let mut payload = chunk[HEADER_LEN..chunk.len() - (1 + 4 + 4 + 1)].to_vec();
    payload[8..12].copy_from_slice(&1u32.to_le_bytes());
    let (bytes, crc) = chunk::seal(kind::OPLOG, &payload);
    log.ops = 1;
    log.chunk.len = payload.len() as u32;
    log.chunk.crc = crc;
    store.insert(log.chunk.key.clone(), bytes);
    manifest.items = 2;
    let (tampered, _) = chunk::seal(kind::MANIFEST, &manifest.encode());
    let err = Collection::open(&tampered, &mut store).unwrap_err();
    assert_eq!(err.code(), "corrupt", "{err}");
    assert!(err.to_string().contains("stored twice"), "{err}");
}

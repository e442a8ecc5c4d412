//! Snapshot decoding: stores of several families are saved once; each input picks one and
//! damages it (byte flips, truncations, dropped or swapped chunks, or a manifest replaced by
//! the input itself). Opening must never panic and never allocate past libFuzzer's limits:
//! it succeeds, or fails with `corrupt` / `unsupported_version`. An undamaged store opens with
//! every item.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use quiver::snapshot::MANIFEST_KEY;
use quiver::{Collection, Item};

const SPECS: &[&str] = &["Flat", "IVF4", "HNSW8", "SQ8", "PQ2", "BIN"];

fn saved() -> &'static Vec<(usize, HashMap<String, Vec<u8>>)> {
    static SAVED: OnceLock<Vec<(usize, HashMap<String, Vec<u8>>)>> = OnceLock::new();
    SAVED.get_or_init(|| {
        SPECS
            .iter()
            .map(|spec| {
                let mut c = Collection::with_strings(4, "l2", spec).expect("collection");
                let ids: Vec<String> = (0..300).map(|i| format!("id{i}")).collect();
                let vectors: Vec<Vec<f32>> =
                    (0..300).map(|i| (0..4).map(|j| ((i * 7 + j * 3) % 11) as f32).collect()).collect();
                let items: Vec<Item> = ids
                    .iter()
                    .zip(&vectors)
                    .enumerate()
                    .map(|(i, (id, v))| Item {
                        id,
                        vector: v,
                        metadata: Some(serde_json::json!({ "n": i })),
                    })
                    .collect();
                c.add(&items).expect("add");
                c.delete(&["id3", "id77"]).expect("delete");
                let mut store = HashMap::new();
                let ticket = c
                    .begin_save_into(&mut |key, bytes| {
                        store.insert(key, bytes);
                    })
                    .expect("save");
                c.ack_save(ticket.token).expect("ack");
                (c.len(), store)
            })
            .collect()
    })
}

#[derive(Arbitrary, Debug)]
enum Damage {
    Flip { chunk: u8, offset: u32, xor: u8 },
    Truncate { chunk: u8, len: u32 },
    Drop { chunk: u8 },
    Swap { a: u8, b: u8 },
    Manifest(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    store: u8,
    damage: Vec<Damage>,
}

fuzz_target!(|input: Input| {
    let (len, original) = &saved()[input.store as usize % SPECS.len()];
    let mut store = original.clone();
    let mut keys: Vec<String> = store.keys().cloned().collect();
    keys.sort();
    for damage in input.damage.iter().take(8) {
        let key = |n: u8| keys[n as usize % keys.len()].clone();
        match damage {
            Damage::Flip { chunk, offset, xor } => {
                if let Some(bytes) = store.get_mut(&key(*chunk)) {
                    if !bytes.is_empty() {
                        let i = *offset as usize % bytes.len();
                        bytes[i] ^= xor;
                    }
                }
            }
            Damage::Truncate { chunk, len } => {
                if let Some(bytes) = store.get_mut(&key(*chunk)) {
                    let keep = *len as usize % (bytes.len() + 1);
                    bytes.truncate(keep);
                }
            }
            Damage::Drop { chunk } => {
                store.remove(&key(*chunk));
            }
            Damage::Swap { a, b } => {
                let (ka, kb) = (key(*a), key(*b));
                if let (Some(x), Some(y)) = (store.remove(&ka), store.remove(&kb)) {
                    store.insert(ka, y);
                    store.insert(kb, x);
                }
            }
            Damage::Manifest(bytes) => {
                store.insert(MANIFEST_KEY.to_string(), bytes.clone());
            }
        }
    }
    let manifest = store.get(MANIFEST_KEY).cloned().unwrap_or_default();
    match Collection::open(&manifest, &mut store) {
        Ok(c) => {
            if &store == original {
                assert_eq!(c.len(), *len);
            }
            // Whatever opened must answer without panicking.
            let _ = c.search(&[1.0, 2.0, 3.0, 4.0], 5);
            let _ = c.get("id1");
        }
        Err(e) => {
            assert!(&store != original, "an undamaged store failed to open: {e:?}");
            assert!(["corrupt", "unsupported_version"].contains(&e.code()), "unexpected error {e:?}");
        }
    }
});

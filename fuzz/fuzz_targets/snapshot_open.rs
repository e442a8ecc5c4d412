//! Snapshot decoding: stores of several families are saved once; each input picks one and
//! damages it (byte flips, truncations, dropped or swapped chunks, or a manifest replaced by
//! the input itself). Opening must never panic and never allocate past libFuzzer's limits:
//! it succeeds, or fails with `corrupt` / `unsupported_version`. An undamaged store opens with
//! every item. The same bytes are also opened record by record through `OpenSession` (the
//! package's streaming open), fed in an order the input picks: it must reach the same outcome
//! (both open with the same items and answers, or both fail with `corrupt` /
//! `unsupported_version`).
//!
//! The stores are built once per process (`saved`); each input only clones one (a few KB).
#![no_main]

#[path = "../common/limit_alloc.rs"]
mod limit_alloc;

#[global_allocator]
static ALLOC: limit_alloc::LimitedAlloc = limit_alloc::LimitedAlloc;

use std::collections::HashMap;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use quiver::snapshot::{OpenSession, MANIFEST_KEY};
use quiver::{Collection, Item};

/// The stores: (spec, items, train). Small on purpose: opening decodes every item (its metadata
/// is JSON), so the store's size sets the rate, and a few dozen items exercise every decoder as
/// well as 300 did. Quantized families are saved both untrained (raw buffer) and trained (codes,
/// codebooks); IVF4 trained (lists, at its minimum of 156 vectors) and untrained (buffer); HNSW8 large enough for upper layers.
const STORES: &[(&str, usize, bool)] = &[
    ("Flat", 32, false),
    ("IVF4", 160, true),
    ("IVF4", 24, false),
    ("HNSW8", 64, false),
    ("SQ8", 40, true),
    ("SQ8", 24, false),
    ("PQ2", 256, true),
    ("PQ2", 24, false),
    ("BIN", 40, true),
    ("BIN", 24, false),
];

/// Distinct, spread-out vectors (a multiplicative hash): k-means-based training needs more
/// distinct points than it has centroids.
fn vector(i: usize) -> Vec<f32> {
    (0..4)
        .map(|j| {
            let h = ((i * 4 + j) as u32).wrapping_mul(2_654_435_761) >> 16;
            (h % 1024) as f32 / 64.0 - 8.0
        })
        .collect()
}

fn saved() -> &'static Vec<(usize, HashMap<String, Vec<u8>>)> {
    static SAVED: OnceLock<Vec<(usize, HashMap<String, Vec<u8>>)>> = OnceLock::new();
    SAVED.get_or_init(|| {
        STORES
            .iter()
            .map(|&(spec, n, train)| {
                let mut c = Collection::with_strings(4, "l2", spec).expect("collection");
                let ids: Vec<String> = (0..n).map(|i| format!("id{i}")).collect();
                let vectors: Vec<Vec<f32>> = (0..n).map(vector).collect();
                let items: Vec<Item> = ids
                    .iter()
                    .zip(&vectors)
                    .enumerate()
                    .map(|(i, (id, v))| Item {
                        id,
                        vector: v,
                        metadata: (i % 4 != 0).then(|| serde_json::json!({ "n": i, "t": ["x"] })),
                    })
                    .collect();
                c.add(&items).expect("add");
                // IVF trains itself at 39 · nlist vectors; the quantizers train when asked.
                if train && !c.index().is_trained() {
                    c.train().expect("train");
                }
                let untrainable = matches!(spec, "Flat" | "HNSW8");
                assert!(
                    untrainable || c.index().is_trained() == train,
                    "{spec} with {n} items"
                );
                c.delete(&["id3", "id17"]).expect("delete");
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
    let (len, original) = &saved()[input.store as usize % STORES.len()];
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
    let streamed = open_streaming(&manifest, &store, input.store as usize / STORES.len());
    let opened = Collection::open(&manifest, &mut store);
    match (&opened, &streamed) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.len(), b.len(), "streaming open holds other items");
            let query = [1.0, 2.0, 3.0, 4.0];
            // Compared by bits: a damaged store may decode to NaN scores, equal on both sides.
            let answer = |c: &Collection| {
                c.search(&query, 5).ok().map(|hits| {
                    hits.into_iter()
                        .map(|h| (h.id, h.score.to_bits(), h.metadata))
                        .collect::<Vec<_>>()
                })
            };
            assert_eq!(answer(a), answer(b), "streaming open answers differently");
        }
        (Err(_), Err(e)) => assert!(
            ["corrupt", "unsupported_version"].contains(&e.code()),
            "unexpected streaming error {e:?}"
        ),
        (a, b) => panic!(
            "open and streaming open disagree: {:?} vs {:?}",
            a.as_ref().map(|c| c.len()),
            b.as_ref().map(|c| c.len())
        ),
    }
    match opened {
        Ok(c) => {
            if &store == original {
                assert_eq!(c.len(), *len);
            }
            // Whatever opened must answer without panicking.
            let _ = c.search(&[1.0, 2.0, 3.0, 4.0], 5);
            let _ = c.get("id1");
        }
        Err(e) => {
            assert!(
                &store != original,
                "an undamaged store failed to open: {e:?}"
            );
            assert!(
                ["corrupt", "unsupported_version"].contains(&e.code()),
                "unexpected error {e:?}"
            );
        }
    }
});

/// Opens through `OpenSession`, handing it the stored records in an order chosen by `order`
/// (rotated, and reversed when odd), as IndexedDB reads may complete in any order.
fn open_streaming(
    manifest: &[u8],
    store: &HashMap<String, Vec<u8>>,
    order: usize,
) -> quiver::error::Result<Collection> {
    let mut session = OpenSession::new(manifest)?;
    let mut indexes: Vec<usize> = (0..session.keys().len()).collect();
    if !indexes.is_empty() {
        let n = indexes.len();
        indexes.rotate_left(order % n);
    }
    if order % 2 == 1 {
        indexes.reverse();
    }
    for i in indexes {
        if let Some(bytes) = store.get(&session.keys()[i]) {
            session.accept(i, bytes.clone())?;
        }
    }
    session.finish()
}

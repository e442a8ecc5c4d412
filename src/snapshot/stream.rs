//! Opening a store while its records arrive: [`OpenSession`].
//!
//! [`Collection::open`] reads every chunk from a [`ChunkSource`] once all of them are loaded,
//! so copying them into wasm memory and checking their CRC-32s (about a third of the decode
//! of a large store) waits for the slowest read. A session instead takes each record as its
//! read completes, in any order, checks it against the manifest at once (envelope, length,
//! checksum) and keeps it; [`OpenSession::finish`] then decodes from the kept chunks without
//! checking them again, dropping each as soon as decoding has consumed it, so the heap holds
//! about one copy of the store at any time.
//!
//! What it keeps of [`Collection::open`]'s promises: every chunk is checked against the
//! manifest's length and checksum before a byte of it is decoded; a bad chunk fails
//! [`OpenSession::accept`] with `Corrupt` as soon as it arrives (the caller can stop reading);
//! a missing one fails [`OpenSession::finish`]; and a session only reads, so abandoning it
//! (dropping it) at any point leaves the stored data as it was.

use std::collections::HashMap;

use super::chunk::{self, kind, Expect, MAX_CHUNK_LEN};
use super::codec::ChunkSource;
use super::manifest::Manifest;
use crate::codec::corrupt_at;
use crate::collection::Collection;
use crate::error::{Error, Result};

/// What the manifest says one chunk must be: its kind, payload length and checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    kind: [u8; 4],
    len: u32,
    crc: u32,
}

impl Expected {
    fn of<'a>(&self, key: &'a str) -> Expect<'a> {
        Expect {
            key,
            kind: self.kind,
            payload_len: Some(self.len),
            crc: Some(self.crc),
            max_len: MAX_CHUNK_LEN,
        }
    }

    /// Whether a chunk checked against `self` passes `want` too.
    fn covers(&self, want: &Expect<'_>) -> bool {
        want.kind == self.kind
            && want.payload_len == Some(self.len)
            && want.crc == Some(self.crc)
            && want.max_len >= MAX_CHUNK_LEN
    }
}

/// The checked chunks of a session: what decoding reads from.
#[derive(Debug, Default)]
struct Checked {
    /// Every key the manifest needs, in reading order (what [`OpenSession::keys`] returns).
    keys: Vec<String>,
    expected: Vec<Expected>,
    index_of: HashMap<String, u32>,
    /// By index; taken (and so freed) as decoding reads them.
    chunks: Vec<Option<Vec<u8>>>,
}

impl Checked {
    fn slot(&self, key: &str) -> Option<usize> {
        self.index_of.get(key).map(|&i| i as usize)
    }
}

/// A store being opened record by record. See the module documentation.
#[derive(Debug)]
pub struct OpenSession {
    manifest: Manifest,
    checked: Checked,
}

impl OpenSession {
    /// The error for using a session after `finish` consumed it (bindings that hold the
    /// session behind a handle report it).
    pub fn spent() -> Error {
        Error::InvalidArgument {
            name: "session",
            reason: "this open already finished".into(),
        }
    }

    /// Starts opening the store whose manifest is `manifest` (a bad manifest is `Corrupt` or
    /// `UnsupportedVersion` here).
    pub fn new(manifest: &[u8]) -> Result<Self> {
        let manifest = Manifest::decode(manifest)?;
        let sections = manifest
            .meta
            .iter()
            .map(|r| (r, kind::META))
            .chain(manifest.index.iter().map(|r| (r, kind::INDEX)))
            .chain(manifest.log.iter().map(|l| (&l.chunk, kind::OPLOG)));
        let mut checked = Checked::default();
        for (r, kind) in sections {
            // The manifest rejects a key listed twice, so each key has one expectation. A
            // manifest lists far fewer than 2^32 chunks (it is at most 2 MiB).
            checked
                .index_of
                .insert(r.key.clone(), checked.keys.len() as u32);
            checked.keys.push(r.key.clone());
            checked.expected.push(Expected {
                kind,
                len: r.len,
                crc: r.crc,
            });
            checked.chunks.push(None);
        }
        Ok(OpenSession { manifest, checked })
    }

    /// The keys of the records to load, in the order decoding reads them (the same list as
    /// [`Collection::required_chunks`]). [`OpenSession::accept`] takes an index into it.
    pub fn keys(&self) -> &[String] {
        &self.checked.keys
    }

    /// Stored bytes of the snapshot and log the manifest names (to size the heap ahead).
    /// Grows the heap once to fit the store, touching its pages (see `heap`): call it once the
    /// reads are issued, before most records arrive.
    pub fn prepare(&self) {
        crate::heap::reserve(self.stored_bytes() as f64, true);
    }

    pub fn stored_bytes(&self) -> u64 {
        self.manifest.snapshot_bytes() + self.manifest.log_bytes()
    }

    /// Takes the bytes stored under `keys()[index]`, in any order: checks them against the
    /// manifest now and keeps them for [`OpenSession::finish`]. A chunk that fails the check
    /// is `Corrupt` (and not kept); an index out of range is `InvalidArgument`. Accepting the
    /// same record again replaces it.
    pub fn accept(&mut self, index: usize, bytes: Vec<u8>) -> Result<()> {
        let c = &mut self.checked;
        let (Some(key), Some(e), Some(slot)) = (
            c.keys.get(index),
            c.expected.get(index),
            c.chunks.get_mut(index),
        ) else {
            return Err(Error::InvalidArgument {
                name: "index",
                reason: format!("no record {index} in this manifest"),
            });
        };
        chunk::verify(&bytes, &e.of(key))?;
        *slot = Some(bytes);
        Ok(())
    }

    /// How many distinct records were accepted.
    pub fn accepted(&self) -> usize {
        self.checked.chunks.iter().filter(|c| c.is_some()).count()
    }

    /// Decodes the accepted records into the collection, as [`Collection::open`] would: a
    /// record never accepted is `Corrupt` ("chunk is missing").
    pub fn finish(mut self) -> Result<Collection> {
        Collection::open_decoded(self.manifest, &mut self.checked)
    }
}

impl ChunkSource for Checked {
    fn stored_len(&self, key: &str) -> Option<usize> {
        self.chunks.get(self.slot(key)?)?.as_ref().map(Vec::len)
    }

    /// Hands the chunk over (decoding reads each once), so it is freed once consumed.
    fn read(&mut self, key: &str) -> Option<Vec<u8>> {
        let i = self.slot(key)?;
        self.chunks.get_mut(i)?.take()
    }

    fn read_checked(&mut self, key: &str, want: &Expect<'_>) -> Result<Vec<u8>> {
        let bytes = self
            .read(key)
            .ok_or_else(|| corrupt_at(key, "chunk is missing"))?;
        let checked = self.slot(key).and_then(|i| self.expected.get(i));
        if !checked.is_some_and(|e| e.covers(want)) {
            chunk::verify(&bytes, want)?;
        }
        Ok(bytes)
    }
}

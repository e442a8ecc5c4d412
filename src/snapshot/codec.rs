//! The snapshot's side of encoding: a section writer that cuts a logical stream into bounded
//! chunks as it goes, and a reader that loads and checks each chunk as reading reaches it. The
//! primitives they carry ([`Read`], [`Write`]) are the wire codec's (`crate::codec`).

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use super::chunk::{self, Expect, HEADER_LEN, MAX_CHUNK_LEN, MAX_PAYLOAD};
use crate::codec::{corrupt_at, Read, Write};
use crate::error::Result;

/// Where a stored chunk is and how to check it: its key, payload length and checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRef {
    pub key: String,
    pub len: u32,
    pub crc: u32,
}

impl ChunkRef {
    /// Stored size in bytes, header included.
    pub fn stored_len(&self) -> u64 {
        self.len as u64 + HEADER_LEN as u64
    }
}

/// Where decoding reads chunks from: the bytes JavaScript loaded, or a map in tests.
pub trait ChunkSource {
    /// Stored length of the chunk under `key`, or `None` when it is missing. Lets a reader
    /// check every chunk it will need before allocating anything.
    fn stored_len(&self, key: &str) -> Option<usize>;
    /// The bytes stored under `key`.
    fn read(&mut self, key: &str) -> Option<Vec<u8>>;
    /// The bytes stored under `key`, checked against `expect` (envelope, length, checksum). A
    /// source that already checked a chunk against the same expectation when it arrived
    /// ([`super::OpenSession`]) hands it over without checking it again.
    fn read_checked(&mut self, key: &str, expect: &Expect<'_>) -> Result<Vec<u8>> {
        let bytes = self
            .read(key)
            .ok_or_else(|| corrupt_at(key, "chunk is missing"))?;
        chunk::verify(&bytes, expect)?;
        Ok(bytes)
    }
}

impl<S: BuildHasher> ChunkSource for HashMap<String, Vec<u8>, S> {
    fn stored_len(&self, key: &str) -> Option<usize> {
        self.get(key).map(Vec::len)
    }
    fn read(&mut self, key: &str) -> Option<Vec<u8>> {
        self.get(key).cloned()
    }
}

impl ChunkSource for BTreeMap<String, Vec<u8>> {
    fn stored_len(&self, key: &str) -> Option<usize> {
        self.get(key).map(Vec::len)
    }
    fn read(&mut self, key: &str) -> Option<Vec<u8>> {
        self.get(key).cloned()
    }
}

/// Receives sealed chunks as they are produced, so a save never holds a whole snapshot in
/// wasm memory (the wasm layer copies each into a `Uint8Array` and drops it).
pub(crate) struct Emitter<'s> {
    sink: &'s mut dyn FnMut(String, Vec<u8>),
    pub(crate) next_id: u64,
    /// Keys emitted so far, in order.
    pub(crate) keys: Vec<String>,
    /// Stored bytes emitted so far.
    pub(crate) bytes: u64,
}

/// Prefix of every chunk key; the manifest lives under [`super::MANIFEST_KEY`].
pub const CHUNK_KEY_PREFIX: &str = "c.";

pub(crate) fn chunk_key(id: u64) -> String {
    format!("{CHUNK_KEY_PREFIX}{id:012x}")
}

impl<'s> Emitter<'s> {
    pub(crate) fn new(sink: &'s mut dyn FnMut(String, Vec<u8>), next_id: u64) -> Self {
        Emitter {
            sink,
            next_id,
            keys: Vec::new(),
            bytes: 0,
        }
    }

    /// Seals `payload` into a new chunk under a fresh key and hands it to the sink.
    pub(crate) fn emit(&mut self, kind: [u8; 4], payload: &[u8]) -> ChunkRef {
        let key = chunk_key(self.next_id);
        self.next_id += 1;
        self.emit_as(key, kind, payload)
    }

    /// Seals `payload` under a given key (the manifest).
    pub(crate) fn emit_as(&mut self, key: String, kind: [u8; 4], payload: &[u8]) -> ChunkRef {
        let (bytes, crc) = chunk::seal(kind, payload);
        self.bytes += bytes.len() as u64;
        self.keys.push(key.clone());
        (self.sink)(key.clone(), bytes);
        ChunkRef {
            key,
            len: payload.len() as u32,
            crc,
        }
    }
}

/// Writes one section of a snapshot (collection state or index state) as a byte stream that is
/// cut into chunks of at most 256 KB as it fills. Values may straddle chunk boundaries; the
/// reader reassembles them.
pub struct StateWriter<'e, 's> {
    emitter: &'e mut Emitter<'s>,
    kind: [u8; 4],
    buf: Vec<u8>,
    chunks: Vec<ChunkRef>,
}

impl<'e, 's> StateWriter<'e, 's> {
    pub(crate) fn new(emitter: &'e mut Emitter<'s>, kind: [u8; 4]) -> Self {
        StateWriter {
            emitter,
            kind,
            buf: Vec::with_capacity(MAX_PAYLOAD),
            chunks: Vec::new(),
        }
    }

    fn flush(&mut self) {
        let chunk = self.emitter.emit(self.kind, &self.buf);
        self.chunks.push(chunk);
        self.buf.clear();
    }

    /// Emits the last, partly filled chunk and returns the section's chunk list.
    pub(crate) fn finish(mut self) -> Vec<ChunkRef> {
        if !self.buf.is_empty() || self.chunks.is_empty() {
            self.flush();
        }
        self.chunks
    }
}

impl Write for StateWriter<'_, '_> {
    fn raw(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let room = MAX_PAYLOAD - self.buf.len();
            let take = room.min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == MAX_PAYLOAD {
                self.flush();
            }
        }
    }
}

/// What a section or log chunk listed in the manifest as `r` must be.
pub(crate) fn section_expect(r: &ChunkRef, kind: [u8; 4]) -> Expect<'_> {
    Expect {
        key: &r.key,
        kind,
        payload_len: Some(r.len),
        crc: Some(r.crc),
        max_len: MAX_CHUNK_LEN,
    }
}

/// Reads one section of a snapshot as a single byte stream over its chunks, loading and
/// checking each chunk (kind, length, checksum against the manifest) only when reading
/// reaches it, so decoding holds one chunk at a time besides what it builds.
pub struct StateReader<'a> {
    source: &'a mut dyn ChunkSource,
    kind: [u8; 4],
    refs: &'a [ChunkRef],
    next: usize,
    current: Vec<u8>,
    pos: usize,
    remaining: u64,
    id_limit: u32,
}

impl<'a> StateReader<'a> {
    /// Declares that the input's internal ids are below `limit` ([`Read::id_limit`]).
    pub(crate) fn with_id_limit(mut self, limit: u32) -> Self {
        self.id_limit = limit;
        self
    }

    /// A reader over `refs`, whose stored lengths the caller has checked against `source`.
    pub(crate) fn new(
        source: &'a mut dyn ChunkSource,
        kind: [u8; 4],
        refs: &'a [ChunkRef],
    ) -> Self {
        let remaining = refs.iter().map(|r| r.len as u64).sum();
        StateReader {
            source,
            kind,
            refs,
            next: 0,
            current: Vec::new(),
            pos: 0,
            id_limit: u32::MAX,
            remaining,
        }
    }

    fn load_next(&mut self, what: &str) -> Result<()> {
        let Some(r) = self.refs.get(self.next) else {
            return Err(corrupt_at(what, "section ends early"));
        };
        self.next += 1;
        let bytes = self
            .source
            .read_checked(&r.key, &section_expect(r, self.kind))?;
        self.current = bytes;
        self.pos = HEADER_LEN;
        Ok(())
    }

    /// Fails unless the whole section was read.
    pub(crate) fn finish(&self, what: &str) -> Result<()> {
        if self.remaining != 0 {
            return Err(corrupt_at(what, "unread trailing bytes"));
        }
        Ok(())
    }
}

impl Read for StateReader<'_> {
    fn id_limit(&self) -> u32 {
        self.id_limit
    }

    fn remaining(&self) -> u64 {
        self.remaining
    }

    fn next_slice(&mut self, max: usize, what: &str) -> Result<&[u8]> {
        if max == 0 {
            return Ok(&[]);
        }
        if self.remaining == 0 {
            return Err(corrupt_at(what, "section ends early"));
        }
        while self.pos >= self.current.len() {
            self.load_next(what)?;
        }
        let take = (self.current.len() - self.pos).min(max);
        let start = self.pos;
        self.pos += take;
        self.remaining -= take as u64;
        Ok(&self.current[start..start + take])
    }

    fn read_into(&mut self, out: &mut [u8], what: &str) -> Result<()> {
        if out.len() as u64 > self.remaining {
            return Err(corrupt_at(what, "section ends early"));
        }
        let mut filled = 0;
        while filled < out.len() {
            if self.pos >= self.current.len() {
                self.load_next(what)?;
                continue;
            }
            let take = (self.current.len() - self.pos).min(out.len() - filled);
            out[filled..filled + take].copy_from_slice(&self.current[self.pos..self.pos + take]);
            self.pos += take;
            filled += take;
            self.remaining -= take as u64;
        }
        Ok(())
    }
}

//! The chunk envelope every stored value shares (manifest, sections, op log).
//!
//! ```text
//! offset size
//!  0     4    magic  b"QVRC"
//!  4     4    format version, u32 LE
//!  8     4    kind tag, four ASCII bytes (b"MANI", b"META", b"INDX", b"OLOG")
//! 12     4    payload length, u32 LE
//! 16     4    CRC-32 of bytes 0..16 followed by the payload
//! 20     ..   payload
//! ```
//!
//! Checks run in the order that gives the most useful error: magic (is this ours at all), then
//! version (a newer writer is `UnsupportedVersion`, not "corrupt"), then kind and length, then
//! the checksum. Every byte of a chunk is covered by the checksum.

use super::crc32::Crc32;
use crate::error::{Error, Result};

pub const MAGIC: [u8; 4] = *b"QVRC";
/// The format version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
pub const HEADER_LEN: usize = 20;

/// Largest stored chunk, header included, for section and log chunks (the 64–256 KB cell size
/// that suits IndexedDB records and stays far below Durable Object value limits).
pub const MAX_CHUNK_LEN: usize = 256 * 1024;
/// Largest payload of a section or log chunk.
pub const MAX_PAYLOAD: usize = MAX_CHUNK_LEN - HEADER_LEN;
/// The manifest grows with the number of chunks (about 40 bytes each), so it gets a larger
/// cap: 2 MiB lists ~50k chunks, a store of ~12 GB, far past wasm32's memory.
pub const MAX_MANIFEST_LEN: usize = 2 * 1024 * 1024;

/// Chunk kinds.
pub mod kind {
    pub const MANIFEST: [u8; 4] = *b"MANI";
    /// Collection state: next internal id, external ids, metadata.
    pub const META: [u8; 4] = *b"META";
    /// Index state, written by the family named in the manifest's spec.
    pub const INDEX: [u8; 4] = *b"INDX";
    /// A segment of the operation log.
    pub const OPLOG: [u8; 4] = *b"OLOG";
}

/// Wraps `payload` in a header; returns the chunk and its checksum.
pub fn seal(kind: [u8; 4], payload: &[u8]) -> (Vec<u8>, u32) {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&kind);
    // Payloads are bounded by MAX_MANIFEST_LEN, far below u32::MAX.
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    let mut crc = Crc32::new();
    crc.update(&out[..16]);
    crc.update(payload);
    let crc = crc.finish();
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    (out, crc)
}

/// What a caller expects of a chunk before reading it.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// Where the chunk came from, for error messages.
    pub key: &'a str,
    pub kind: [u8; 4],
    /// Payload length, when the manifest states it.
    pub payload_len: Option<u32>,
    /// Checksum, when the manifest states it.
    pub crc: Option<u32>,
    pub max_len: usize,
}

fn corrupt(key: &str, what: &str) -> Error {
    crate::codec::corrupt_at(key, what)
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Checks a chunk's envelope and returns its checksum; the payload is `bytes[HEADER_LEN..]`.
pub fn verify(bytes: &[u8], expect: &Expect<'_>) -> Result<u32> {
    let key = expect.key;
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(key, "shorter than a chunk header"));
    }
    if bytes.len() > expect.max_len {
        return Err(corrupt(key, "above the chunk size limit"));
    }
    if bytes[0..4] != MAGIC {
        return Err(corrupt(key, "bad magic (not a Quiver chunk)"));
    }
    let version = le32(bytes, 4);
    if version > FORMAT_VERSION {
        return Err(Error::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version == 0 {
        return Err(corrupt(key, "format version 0"));
    }
    let kind: [u8; 4] = [bytes[8], bytes[9], bytes[10], bytes[11]];
    if kind != expect.kind {
        return Err(corrupt(key, "a chunk of another kind"));
    }
    let len = le32(bytes, 12);
    if len as usize != bytes.len() - HEADER_LEN {
        return Err(corrupt(key, "length differs from its header"));
    }
    if let Some(expected) = expect.payload_len {
        if expected != len {
            return Err(corrupt(key, "length differs from the manifest"));
        }
    }
    let stored = le32(bytes, 16);
    let mut crc = Crc32::new();
    crc.update(&bytes[..16]);
    crc.update(&bytes[HEADER_LEN..]);
    if crc.finish() != stored {
        return Err(corrupt(key, "checksum mismatch"));
    }
    if let Some(expected) = expect.crc {
        if expected != stored {
            return Err(corrupt(
                key,
                "checksum differs from the manifest's (a stale or foreign chunk)",
            ));
        }
    }
    Ok(stored)
}

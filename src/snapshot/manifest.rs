//! The manifest: the one small value whose replacement commits a save. It names the
//! collection's configuration and every live chunk (with length and checksum), the op-log
//! segments in order, and the garbage keys that the *next* save deletes.

use std::collections::HashSet;

use super::chunk::{self, kind, Expect, MAX_MANIFEST_LEN};
use super::codec::ChunkRef;
use crate::codec::{corrupt, corrupt_at, Cursor, Read, Write};
use crate::collection::{CollectionConfig, SearchDefaults};
use crate::distance::Metric;
use crate::error::Result;
use crate::index::{IndexOptions, IndexSpec};
use crate::limits;

/// The key of the manifest; every other key starts with [`CHUNK_KEY_PREFIX`](super::CHUNK_KEY_PREFIX).
pub const MANIFEST_KEY: &str = "manifest";

/// Longest chunk key a manifest may name.
pub(crate) const MAX_KEY_BYTES: usize = 256;

/// One segment of the op log: a chunk holding operations `first_op .. first_op + ops`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogRef {
    pub chunk: ChunkRef,
    pub first_op: u64,
    pub ops: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Manifest {
    /// Commit counter: each committed save writes a manifest one higher.
    pub version: u64,
    /// Snapshot generation: bumped by each full snapshot (compaction).
    pub generation: u64,
    /// Chunk ids below this were handed out by earlier saves.
    pub next_chunk_id: u64,
    pub config: CollectionConfig,
    /// Live items after replaying the log (checked on open).
    pub items: u64,
    /// The collection's search defaults (tuned knobs).
    pub defaults: SearchDefaults,
    /// Metadata fields with a field index, rebuilt on open.
    pub indexed_fields: Vec<String>,
    pub meta: Vec<ChunkRef>,
    pub index: Vec<ChunkRef>,
    pub log: Vec<LogRef>,
    /// Keys no longer referenced; deleted by the next save, once this manifest is committed.
    pub garbage: Vec<String>,
}

impl Manifest {
    /// Every chunk key this manifest needs, in reading order.
    pub fn live_keys(&self) -> impl Iterator<Item = &str> {
        self.meta
            .iter()
            .chain(&self.index)
            .chain(self.log.iter().map(|l| &l.chunk))
            .map(|c| c.key.as_str())
    }

    pub fn snapshot_bytes(&self) -> u64 {
        self.meta
            .iter()
            .chain(&self.index)
            .map(ChunkRef::stored_len)
            .sum()
    }

    pub fn log_bytes(&self) -> u64 {
        self.log.iter().map(|l| l.chunk.stored_len()).sum()
    }

    /// Operations in the log.
    pub fn log_ops(&self) -> u64 {
        self.log.last().map_or(0, |l| l.first_op + l.ops as u64)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::new();
        w.u64(self.version);
        w.u64(self.generation);
        w.u64(self.next_chunk_id);
        w.u32(self.config.dimension as u32);
        w.str(&self.config.metric.to_string());
        w.str(&self.config.spec.to_string());
        w.u64(self.config.options.seed);
        w.u8(self.config.options.keep_vectors as u8);
        w.u32(self.config.options.ef_construction as u32);
        w.u32(self.config.options.ef_search as u32);
        w.u64(self.items);
        for knob in [
            self.defaults.ef_search,
            self.defaults.nprobe,
            self.defaults.rerank,
        ] {
            // 0 means unset: every knob that can be set is at least 1... except rerank, whose
            // 0 (rerank off) is stored as 1 + value.
            w.u64(knob.map_or(0, |v| v as u64 + 1));
        }
        w.u32(self.indexed_fields.len() as u32);
        for field in &self.indexed_fields {
            w.str(field);
        }
        for section in [&self.meta, &self.index] {
            w.u32(section.len() as u32);
            for c in section {
                write_ref(&mut w, c);
            }
        }
        w.u32(self.log.len() as u32);
        for l in &self.log {
            write_ref(&mut w, &l.chunk);
            w.u64(l.first_op);
            w.u32(l.ops);
        }
        w.u32(self.garbage.len() as u32);
        for g in &self.garbage {
            w.str(g);
        }
        w
    }

    /// Decodes a stored manifest (envelope included).
    pub fn decode(bytes: &[u8]) -> Result<Manifest> {
        chunk::verify(
            bytes,
            &Expect {
                key: MANIFEST_KEY,
                kind: kind::MANIFEST,
                payload_len: None,
                crc: None,
                max_len: MAX_MANIFEST_LEN,
            },
        )?;
        let mut r = Cursor::new(&bytes[chunk::HEADER_LEN..]);
        let version = r.u64("manifest version")?;
        let generation = r.u64("generation")?;
        let next_chunk_id = r.u64("next chunk id")?;
        let dimension = r.u32("dimension")? as usize;
        if dimension == 0 || dimension > limits::MAX_DIMENSION {
            return Err(corrupt("manifest: dimension out of range"));
        }
        let metric: Metric = r
            .str(16, "metric")?
            .parse()
            .map_err(|_| corrupt("manifest: unknown metric"))?;
        let spec: IndexSpec = r
            .str(64, "index spec")?
            .parse()
            .map_err(|_| corrupt("manifest: unparsable index spec"))?;
        let seed = r.u64("seed")?;
        let keep_vectors = match r.u8("keep vectors")? {
            0 => false,
            1 => true,
            _ => return Err(corrupt("manifest: keep_vectors is not a boolean")),
        };
        let ef_construction = r.u32("ef_construction")? as usize;
        let ef_search = r.u32("ef_search")? as usize;
        let items = r.u64("item count")?;
        let mut knobs = [None; 3];
        for knob in &mut knobs {
            let v = r.u64("search default")?;
            *knob = match v {
                0 => None,
                v if v <= u32::MAX as u64 => Some(v as usize - 1),
                _ => return Err(corrupt("manifest: search default out of range")),
            };
        }
        let defaults = SearchDefaults {
            ef_search: knobs[0],
            nprobe: knobs[1],
            rerank: knobs[2],
        };
        let n = r.u32("indexed fields")? as u64;
        let n = r.check_count(n, 5, "indexed fields")?;
        let mut indexed_fields = Vec::with_capacity(n);
        for _ in 0..n {
            indexed_fields.push(r.str(limits::MAX_ID_BYTES, "indexed field")?);
        }
        let config = CollectionConfig {
            dimension,
            metric,
            spec,
            options: IndexOptions {
                seed,
                keep_vectors,
                ef_construction,
                ef_search,
            },
        };
        // A ref is at least a 4-byte key length, a 1-byte key, length and checksum.
        const MIN_REF: u64 = 4 + 1 + 4 + 4;
        let mut sections = [Vec::new(), Vec::new()];
        for (section, name) in sections.iter_mut().zip(["META refs", "INDX refs"]) {
            let n = r.u32(name)? as u64;
            let n = r.check_count(n, MIN_REF, name)?;
            if n == 0 {
                return Err(corrupt_at(name, "none listed"));
            }
            section.reserve_exact(n);
            for _ in 0..n {
                section.push(read_ref(&mut r)?);
            }
        }
        let [meta, index] = sections;
        let n = r.u32("log refs")? as u64;
        let n = r.check_count(n, MIN_REF + 12, "log refs")?;
        let mut log = Vec::with_capacity(n);
        let mut next_op = 0u64;
        for _ in 0..n {
            let chunk = read_ref(&mut r)?;
            let first_op = r.u64("log first op")?;
            let ops = r.u32("log op count")?;
            if first_op != next_op || ops == 0 {
                return Err(corrupt_at(&chunk.key, "log segments are not contiguous"));
            }
            next_op = first_op
                .checked_add(ops as u64)
                .ok_or_else(|| corrupt("manifest: log op count overflows"))?;
            log.push(LogRef {
                chunk,
                first_op,
                ops,
            });
        }
        let n = r.u32("garbage keys")? as u64;
        let n = r.check_count(n, 5, "garbage keys")?;
        let mut garbage = Vec::with_capacity(n);
        for _ in 0..n {
            garbage.push(r.str(MAX_KEY_BYTES, "garbage key")?);
        }
        r.finish("manifest")?;
        let manifest = Manifest {
            version,
            generation,
            next_chunk_id,
            config,
            items,
            defaults,
            indexed_fields,
            meta,
            index,
            log,
            garbage,
        };
        let mut seen = HashSet::new();
        for key in manifest.live_keys() {
            if key == MANIFEST_KEY || !seen.insert(key) {
                return Err(corrupt_at(key, "chunk listed twice in the manifest"));
            }
        }
        Ok(manifest)
    }
}

fn write_ref(w: &mut Vec<u8>, c: &ChunkRef) {
    w.str(&c.key);
    w.u32(c.len);
    w.u32(c.crc);
}

fn read_ref(r: &mut Cursor<'_>) -> Result<ChunkRef> {
    let key = r.str(MAX_KEY_BYTES, "chunk key")?;
    if key.is_empty() {
        return Err(corrupt("manifest: empty chunk key"));
    }
    let len = r.u32("chunk length")?;
    if len as usize > chunk::MAX_PAYLOAD {
        return Err(corrupt_at(&key, "a chunk length above the limit"));
    }
    let crc = r.u32("chunk checksum")?;
    Ok(ChunkRef { key, len, crc })
}

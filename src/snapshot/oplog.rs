//! The operation log: adds and removes since the last full snapshot, recorded exactly as the
//! live collection ran them (one index call per batch), so replaying them on the snapshot
//! rebuilds the same index.
//!
//! A record is
//! ```text
//! u8 kind   1 = add, 2 = add (last of its batch), 3 = remove, 4 = remove (last of its batch)
//! add:      u32 internal id, u32 len + external id, u32 len + metadata JSON (0 = none),
//!           dim × f32 prepared vector
//! remove:   u32 internal id, u32 len + external id
//! ```
//! and a log chunk's payload is `u64 first op, u32 record count, records…`. A batch may span
//! chunks but never saves: a save always ends at a batch boundary.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::chunk::{kind, HEADER_LEN, MAX_PAYLOAD};
use super::codec::{section_expect, ChunkSource, Emitter};
use super::manifest::LogRef;
use crate::codec::{corrupt, corrupt_at, Cursor, Read, Write};
use crate::collection::{Collection, Item};
use crate::error::Result;
use crate::limits;

const ADD: u8 = 1;
const ADD_LAST: u8 = 2;
const REMOVE: u8 = 3;
const REMOVE_LAST: u8 = 4;

/// Bytes before the records in a log chunk's payload.
pub(crate) const LOG_PREFIX: usize = 12;

/// A log chunk smaller than this stays open: the next save rewrites it (under a new key) with
/// its new records appended, so many small saves do not leave many small chunks. Larger ones
/// are sealed. This bounds what a save rewrites to 64 KB.
pub(crate) const SEAL_BYTES: usize = 64 * 1024;

// The largest record must fit in one chunk.
const _: () = assert!(
    1 + 4 + 4 + limits::MAX_ID_BYTES + 4 + limits::MAX_METADATA_BYTES + 4 * limits::MAX_DIMENSION
        <= MAX_PAYLOAD - LOG_PREFIX
);

/// Operations recorded since the last acknowledged save, already encoded as log records.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    bytes: Vec<u8>,
    /// End offset of each record in `bytes`.
    ends: Vec<usize>,
}

impl Journal {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of the first `n` records.
    pub fn bytes_of(&self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.ends[n - 1]
        }
    }

    /// Adds among the first `n` records.
    pub fn adds(&self, n: usize) -> u64 {
        self.records(n)
            .filter(|r| matches!(r.first(), Some(&ADD | &ADD_LAST)))
            .count() as u64
    }

    pub fn records(&self, n: usize) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends[..n].iter().map(move |&end| {
            let record = &self.bytes[start..end];
            start = end;
            record
        })
    }

    /// Forgets the first `n` records (they are in a committed save).
    pub fn drain(&mut self, n: usize) {
        let cut = self.bytes_of(n);
        self.bytes.drain(..cut);
        self.ends.drain(..n);
        for end in &mut self.ends {
            *end -= cut;
        }
    }

    pub fn push_adds(&mut self, first: u32, items: &[Item<'_>], vectors: &[f32]) {
        let dim = vectors.len() / items.len().max(1);
        for (i, (item, vector)) in items
            .iter()
            .zip(vectors.chunks_exact(dim.max(1)))
            .enumerate()
        {
            let last = i + 1 == items.len();
            self.bytes.u8(if last { ADD_LAST } else { ADD });
            self.bytes.u32(first + i as u32);
            self.bytes.str(item.id);
            match &item.metadata {
                None | Some(Value::Null) => self.bytes.u32(0),
                // Serializing a `Value` cannot fail.
                Some(value) => self
                    .bytes
                    .bytes(&serde_json::to_vec(value).unwrap_or_default()),
            }
            self.bytes.f32s(vector);
            self.ends.push(self.bytes.len());
        }
    }

    pub fn push_removes(&mut self, removed: &[(u32, String)]) {
        for (i, (id, external)) in removed.iter().enumerate() {
            let last = i + 1 == removed.len();
            self.bytes.u8(if last { REMOVE_LAST } else { REMOVE });
            self.bytes.u32(*id);
            self.bytes.str(external);
            self.ends.push(self.bytes.len());
        }
    }
}

/// One decoded record, borrowing from its chunk.
pub(crate) enum Record<'a> {
    Add {
        internal: u32,
        external: &'a str,
        metadata: &'a [u8],
        vector: &'a [u8],
        last: bool,
    },
    Remove {
        internal: u32,
        external: &'a str,
        last: bool,
    },
}

fn read_str<'a>(r: &mut Cursor<'a>, max: usize, what: &str) -> Result<&'a [u8]> {
    let len = r.u32(what)? as usize;
    if len > max {
        return Err(corrupt_at(what, "above its limit in the op log"));
    }
    r.slice(len, what)
}

pub(crate) fn read_record<'a>(r: &mut Cursor<'a>, dim: usize) -> Result<Record<'a>> {
    let kind = r.u8("op kind")?;
    let internal = r.u32("op internal id")?;
    let external = std::str::from_utf8(read_str(r, limits::MAX_ID_BYTES, "op external id")?)
        .map_err(|_| corrupt("op log: external id is not UTF-8"))?;
    match kind {
        ADD | ADD_LAST => {
            let metadata = read_str(r, limits::MAX_METADATA_BYTES, "op metadata")?;
            let vector = r.slice(dim * 4, "op vector")?;
            Ok(Record::Add {
                internal,
                external,
                metadata,
                vector,
                last: kind == ADD_LAST,
            })
        }
        REMOVE | REMOVE_LAST => Ok(Record::Remove {
            internal,
            external,
            last: kind == REMOVE_LAST,
        }),
        _ => Err(corrupt("op log: unknown op kind")),
    }
}

/// Parses a log chunk's payload prefix; returns the cursor at the first record.
pub(crate) fn open_payload<'a>(payload: &'a [u8], log: &LogRef) -> Result<(Cursor<'a>, u32)> {
    let mut r = Cursor::new(payload);
    let first_op = r.u64("log first op")?;
    let count = r.u32("log record count")?;
    if first_op != log.first_op || count != log.ops {
        return Err(corrupt_at(
            &log.chunk.key,
            "log chunk differs from its manifest entry",
        ));
    }
    Ok((r, count))
}

pub(crate) fn payload_with_prefix(first_op: u64, count: u32, records: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(LOG_PREFIX + records.len());
    payload.u64(first_op);
    payload.u32(count);
    payload.extend_from_slice(records);
    payload
}

/// The unsealed last log chunk, kept so the next save can append to it.
#[derive(Debug, Clone)]
pub(crate) struct Tail {
    pub records: Vec<u8>,
    pub count: u32,
    pub first_op: u64,
}

/// Writes `records` (at least one) as log chunks after the existing `log`, appending to the
/// open `tail` (whose chunk is the last of `log`) if there is one. Returns the new log list and
/// the new open tail.
pub(crate) fn write_log<'r>(
    mut log: Vec<LogRef>,
    tail: Option<&Tail>,
    records: impl Iterator<Item = &'r [u8]>,
    emitter: &mut Emitter<'_>,
) -> (Vec<LogRef>, Option<Tail>) {
    let (mut buf, mut count, mut first_op) = match tail {
        Some(t) if LOG_PREFIX + t.records.len() < SEAL_BYTES => {
            log.pop();
            (t.records.clone(), t.count, t.first_op)
        }
        _ => (
            Vec::new(),
            0,
            log.last().map_or(0, |l| l.first_op + l.ops as u64),
        ),
    };
    let mut flush = |buf: &[u8], count: u32, first_op: u64, log: &mut Vec<LogRef>| {
        let payload = payload_with_prefix(first_op, count, buf);
        let chunk = emitter.emit(kind::OPLOG, &payload);
        log.push(LogRef {
            chunk,
            first_op,
            ops: count,
        });
    };
    for record in records {
        if !buf.is_empty() && LOG_PREFIX + buf.len() + record.len() > MAX_PAYLOAD {
            flush(&buf, count, first_op, &mut log);
            first_op += count as u64;
            count = 0;
            buf.clear();
        }
        buf.extend_from_slice(record);
        count += 1;
    }
    flush(&buf, count, first_op, &mut log);
    let tail = (LOG_PREFIX + buf.len() < SEAL_BYTES).then_some(Tail {
        records: buf,
        count,
        first_op,
    });
    (log, tail)
}

/// Accumulates a batch across records (and chunks) until its last record, then applies it.
#[derive(Default)]
pub(crate) struct Replayer {
    adds: Vec<(String, Option<Value>, usize)>,
    add_ids: Vec<u32>,
    vectors: Vec<f32>,
    removes: Vec<(u32, String)>,
}

/// How replayed operations map onto the target collection.
pub(crate) enum Mode {
    /// The target is the snapshot the log was written against: internal ids must line up.
    Exact,
    /// The target is another writer's newer version: apply by external id, last writer wins.
    /// Maps internal ids the log added to the ids they got in the target.
    Rebase(HashMap<u32, u32>),
}

impl Replayer {
    pub fn in_batch(&self) -> bool {
        !self.adds.is_empty() || !self.removes.is_empty()
    }

    pub fn push(
        &mut self,
        record: Record<'_>,
        target: &mut Collection,
        mode: &mut Mode,
    ) -> Result<()> {
        match record {
            Record::Add {
                internal,
                external,
                metadata,
                vector,
                last,
            } => {
                if !self.removes.is_empty() {
                    return Err(corrupt("op log: add inside a remove batch"));
                }
                Collection::validate_id(external).map_err(|_| corrupt("op log: invalid id"))?;
                let (metadata, metadata_bytes) = if metadata.is_empty() {
                    (None, 0)
                } else {
                    let value = super::json::parse_json(metadata)
                        .ok_or_else(|| corrupt("op log: metadata is not JSON"))?;
                    if !value.is_object() {
                        return Err(corrupt("op log: metadata is not an object"));
                    }
                    (Some(value), metadata.len())
                };
                let start = self.vectors.len();
                self.vectors.extend(
                    vector
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                );
                if self.vectors[start..].iter().any(|x| !x.is_finite()) {
                    return Err(corrupt("op log: non-finite vector"));
                }
                self.adds
                    .push((external.to_string(), metadata, metadata_bytes));
                self.add_ids.push(internal);
                if last {
                    self.apply_adds(target, mode)?;
                }
            }
            Record::Remove {
                internal,
                external,
                last,
            } => {
                if !self.adds.is_empty() {
                    return Err(corrupt("op log: remove inside an add batch"));
                }
                self.removes.push((internal, external.to_string()));
                if last {
                    self.apply_removes(target, mode)?;
                }
            }
        }
        Ok(())
    }

    fn apply_adds(&mut self, target: &mut Collection, mode: &mut Mode) -> Result<()> {
        let adds = std::mem::take(&mut self.adds);
        let ids = std::mem::take(&mut self.add_ids);
        let vectors = std::mem::take(&mut self.vectors);
        let dim = target.dimension();
        let mut seen = HashSet::with_capacity(adds.len());
        for (external, _, _) in &adds {
            if !seen.insert(external.as_str()) {
                return Err(corrupt_at(external, "twice in one batch of the op log"));
            }
        }
        let items: Vec<Item<'_>> = adds
            .iter()
            .zip(vectors.chunks_exact(dim))
            .map(|((id, metadata, _), vector)| Item {
                id,
                vector,
                metadata: metadata.clone(),
            })
            .collect();
        let metadata_bytes = adds.iter().map(|a| a.2).collect();
        let first = target.next_internal_id;
        match mode {
            Mode::Exact => {
                for (i, &id) in ids.iter().enumerate() {
                    if Some(id) != first.checked_add(i as u32) {
                        return Err(corrupt("op log: an add out of id order"));
                    }
                }
                target
                    .insert_prepared(&items, &vectors, metadata_bytes)
                    .map_err(|_| corrupt("op log: replay failed"))?;
            }
            Mode::Rebase(added) => {
                if (first as usize) + items.len() > limits::MAX_VECTORS {
                    return Err(crate::error::Error::InvalidArgument {
                        name: "items",
                        reason: "the collection would exceed its id space".into(),
                    });
                }
                target.upsert_prepared(&items, &vectors, metadata_bytes)?;
                for (i, id) in ids.iter().enumerate() {
                    added.insert(*id, first + i as u32);
                }
            }
        }
        Ok(())
    }

    fn apply_removes(&mut self, target: &mut Collection, mode: &mut Mode) -> Result<()> {
        let removes = std::mem::take(&mut self.removes);
        let mut ids = Vec::with_capacity(removes.len());
        let mut seen = HashSet::with_capacity(removes.len());
        match mode {
            Mode::Exact => {
                for (internal, external) in &removes {
                    let matches = target.external_id_of(*internal) == Some(external.as_str());
                    if !matches || !seen.insert(*internal) {
                        return Err(corrupt_at(external, "removal of an item not stored"));
                    }
                    ids.push(*internal);
                }
            }
            Mode::Rebase(added) => {
                let ours: HashSet<u32> = added.values().copied().collect();
                for (internal, external) in &removes {
                    let target_id = match added.get(internal) {
                        Some(&id) => Some(id),
                        None => target
                            .internal_id_of(external)
                            .filter(|id| !ours.contains(id)),
                    };
                    if let Some(id) = target_id {
                        if target.external_id_of(id).is_some() && seen.insert(id) {
                            ids.push(id);
                        }
                    }
                }
            }
        }
        target.remove_internal(&ids);
        Ok(())
    }
}

/// Replays the records of one log chunk (already checked against `log`) from op number
/// `skip_below` on.
pub(crate) fn replay_chunk(
    bytes: &[u8],
    log: &LogRef,
    skip_below: u64,
    target: &mut Collection,
    replayer: &mut Replayer,
) -> Result<()> {
    let (mut r, count) = open_payload(&bytes[HEADER_LEN..], log)?;
    let dim = target.dimension();
    let mut mode = Mode::Exact;
    for i in 0..count as u64 {
        let record = read_record(&mut r, dim)?;
        if log.first_op + i >= skip_below {
            replayer.push(record, target, &mut mode)?;
        }
    }
    r.finish("log chunk")
}

/// Loads and replays `log` (ops from `skip_below` on); returns the open tail, if the last
/// chunk is small enough to be appended to.
///
/// `applied_tail` is the open tail whose records the target already holds (a follower
/// catching up): the chunk that rewrites it must begin with exactly those records, since they
/// are skipped, not replayed. Otherwise the target would keep records the store no longer
/// says, and a later save appending to this chunk would store a history it never ran.
pub(crate) fn replay_log(
    log: &[LogRef],
    skip_below: u64,
    source: &mut dyn ChunkSource,
    target: &mut Collection,
    applied_tail: Option<&Tail>,
) -> Result<Option<Tail>> {
    let mut replayer = Replayer::default();
    let mut tail = None;
    for (i, segment) in log.iter().enumerate() {
        if segment.first_op + (segment.ops as u64) <= skip_below {
            continue;
        }
        let bytes = source.read_checked(
            &segment.chunk.key,
            &section_expect(&segment.chunk, kind::OPLOG),
        )?;
        if segment.first_op < skip_below {
            let rewrites_tail = applied_tail.is_some_and(|t| {
                t.first_op == segment.first_op
                    && bytes
                        .get(HEADER_LEN + LOG_PREFIX..)
                        .is_some_and(|records| records.starts_with(&t.records))
            });
            if !rewrites_tail {
                return Err(corrupt_at(
                    &segment.chunk.key,
                    "log chunk rewrites operations already applied",
                ));
            }
        }
        replay_chunk(&bytes, segment, skip_below, target, &mut replayer)?;
        if i + 1 == log.len() && bytes.len() < HEADER_LEN + SEAL_BYTES {
            tail = Some(Tail {
                records: bytes[HEADER_LEN + LOG_PREFIX..].to_vec(),
                count: segment.ops,
                first_op: segment.first_op,
            });
        }
    }
    if replayer.in_batch() {
        return Err(corrupt("op log ends inside a batch"));
    }
    if !target.ids_are_unique() {
        return Err(corrupt("op log leaves an id stored twice"));
    }
    Ok(tail)
}

/// Applies the journal's records to `target` by external id (see [`Mode::Rebase`]).
pub(crate) fn rebase(journal: &Journal, dim: usize, target: &mut Collection) -> Result<()> {
    let mut replayer = Replayer::default();
    let mut mode = Mode::Rebase(HashMap::new());
    for record in journal.records(journal.len()) {
        let mut r = Cursor::new(record);
        let record = read_record(&mut r, dim)?;
        replayer.push(record, target, &mut mode)?;
    }
    Ok(())
}

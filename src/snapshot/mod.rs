//! Persistence: the on-disk format and the save/open protocol (format in `docs/format.md`).
//!
//! Rust owns the bytes; the caller (the TypeScript package) owns I/O and transactions. A store
//! is a set of key → bytes values: one manifest under [`MANIFEST_KEY`] and immutable chunks of
//! at most 256 KB under fresh keys. What this module promises:
//!
//! - **Checked decoding.** Every chunk carries a magic, the format version, a kind tag, its
//!   length and a CRC-32 over all of it, and the manifest repeats each chunk's length and
//!   checksum. Decoding never panics, never reads out of bounds, and never allocates more than
//!   a constant factor of the bytes it was given; bad input is [`Error::Corrupt`] or
//!   [`Error::UnsupportedVersion`].
//! - **Incremental saves.** The first save writes a full snapshot. Later saves write only the
//!   operations since the last acknowledged save, as op-log chunks (appending to the last one
//!   while it is small), plus a new manifest. When the log outgrows a quarter of the snapshot,
//!   or holds more than [`MAX_LOGGED_GRAPH_INSERTS`] adds of a graph family (HNSW), or on
//!   [`Collection::compact`], or after the index was changed outside the log
//!   ([`Collection::index_mut`]), the next save writes a new full snapshot instead.
//! - **Crash safety.** A save lists its puts with the manifest *last*; its deletes name only
//!   keys that an already committed manifest declared garbage. So whichever prefix of a save
//!   reaches storage, the stored manifest's chunks all exist. A save counts only once the
//!   caller acknowledges it ([`Collection::ack_save`]); until then its operations stay in the
//!   journal and the next save emits them again.

mod chunk;
mod codec;
pub mod cold_rows;
mod crc32;
mod families;
mod json;
mod manifest;
mod oplog;
mod stream;

use std::collections::HashSet;

pub use crate::codec::{CodeElement, Cursor, Read, Write};
pub use chunk::{Expect, FORMAT_VERSION, MAX_CHUNK_LEN, MAX_MANIFEST_LEN};
pub use codec::{ChunkSource, CHUNK_KEY_PREFIX};
pub use crc32::crc32;
pub use stream::OpenSession;

use crate::codec::{corrupt, corrupt_at};
use chunk::kind;
use codec::{Emitter, StateReader, StateWriter};
use json::parse_json;
use manifest::Manifest;
use oplog::{Journal, Tail};
use serde_json::Value;

use crate::collection::{ChangeCounts, ChangeLog, Collection, Item};
use crate::error::{Error, Result};
use crate::index::Structure;
use crate::limits;

pub use manifest::MANIFEST_KEY;

/// Compaction policy: a save writes a full snapshot instead of log chunks once the log would
/// exceed `1 / COMPACT_RATIO` of the snapshot's size (and [`MIN_COMPACT_LOG_BYTES`]). Replaying
/// the log costs an insert per logged add on open, so the ratio bounds open time against the
/// cost of rewriting the snapshot.
pub const COMPACT_RATIO: u64 = 4;
/// Logs below this size are never compacted (tiny stores would otherwise rewrite everything
/// on almost every save).
pub const MIN_COMPACT_LOG_BYTES: u64 = 64 * 1024;
/// Compaction policy for graph families (HNSW): a save also writes a full snapshot once the log
/// would hold more than this many adds. Replaying an add is a graph insert (~0.6 ms at 100k ×
/// 384 in wasm, against microseconds per item to decode a snapshot), so bytes alone would let
/// a large store's log grow to tens of thousands of inserts — tens of seconds of open time.
/// 1024 bounds replay to ~0.6 s at that scale and keeps a batch of 1k inserts incremental.
/// Removes are not counted: they only mark tombstones.
pub const MAX_LOGGED_GRAPH_INSERTS: u64 = 1024;

/// What a save asks the caller to store, collected in memory (see
/// [`Collection::begin_save_into`] for the streaming form).
#[derive(Debug, Clone, PartialEq)]
pub struct SavePlan {
    pub token: u32,
    /// Key and bytes, in order; the manifest is last.
    pub puts: Vec<(String, Vec<u8>)>,
    /// Keys to delete after the puts.
    pub deletes: Vec<String>,
    /// Whether this save writes a full snapshot (rather than log chunks).
    pub full: bool,
}

/// A save in flight, returned by [`Collection::begin_save_into`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SaveTicket {
    /// Pass to [`Collection::ack_save`] once every put and delete is durable.
    pub token: u32,
    pub deletes: Vec<String>,
    pub full: bool,
    /// Bytes handed to the sink.
    pub bytes: u64,
}

/// What a manifest says, for the caller's bookkeeping (stale checks, stats).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestInfo {
    /// Commit counter: each save writes a manifest one higher.
    pub version: u64,
    /// Bumped by every full snapshot.
    pub generation: u64,
    pub dimension: usize,
    pub metric: String,
    pub spec: String,
    pub items: u64,
    pub snapshot_bytes: u64,
    pub log_bytes: u64,
    pub log_ops: u64,
}

/// How a collection that follows a store (another tab writes it) catches up with a newer
/// manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "keys", rename_all = "camelCase")]
pub enum UpdatePlan {
    /// The manifest is not newer than what this collection holds.
    UpToDate,
    /// Load these chunks and call [`Collection::apply_update`]: only new log operations.
    Incremental(Vec<String>),
    /// The store was compacted, or this collection has unsaved changes: open it afresh (and
    /// [`Collection::rebase_onto`] the new one to keep local changes).
    Reopen,
}

#[derive(Debug)]
struct Committed {
    manifest: Manifest,
    tail: Option<Tail>,
    /// Adds in the manifest's op log (index inserts a reopen replays).
    log_adds: u64,
}

#[derive(Debug)]
struct Pending {
    token: u32,
    /// `None` when there was nothing to write.
    manifest: Option<Manifest>,
    tail: Option<Tail>,
    /// Journal records this save covers.
    records: usize,
    full: bool,
    full_requests: u64,
    settings_version: u64,
    emitted: Vec<String>,
    /// Adds in the new manifest's op log.
    log_adds: u64,
}

/// Per-collection save state: the journal of operations since the last acknowledged save, the
/// last committed manifest, and the save in flight.
#[derive(Debug, Default)]
pub struct PersistState {
    /// Operations are journaled from the first save (or open) on; before that, a save is full
    /// anyway, and a store that is never saved pays nothing.
    recording: bool,
    journal: Journal,
    committed: Option<Committed>,
    pending: Option<Pending>,
    /// Bumped by out-of-log index changes and compaction requests: each asks for a full
    /// snapshot.
    full_requests: u64,
    /// `full_requests` as of the begin of the last acknowledged full snapshot.
    full_covers: u64,
    /// `full_requests` as of the last out-of-log index change.
    index_touched: u64,
    next_token: u32,
    next_chunk_id: u64,
    /// Keys of saves that were begun but never acknowledged; the next manifest lists them as
    /// garbage.
    unacked_keys: Vec<String>,
    /// Keys of a store this collection replaces ([`Collection::replace_stored`]).
    replaced: Option<Manifest>,
    /// Bumped when settings kept in the manifest change (search defaults, field indexes).
    settings_version: u64,
    /// `settings_version` as of the begin of the last acknowledged save.
    settings_saved: u64,
    /// Set by [`Collection::disable_rebase`]: the journal serves only the next incremental save,
    /// so it is dropped once that save would be a full snapshot anyway.
    no_rebase: bool,
}

impl PersistState {
    pub(crate) fn is_recording(&self) -> bool {
        self.recording
    }

    pub(crate) fn record_add(&mut self, first: u32, items: &[Item<'_>], vectors: &[f32]) {
        if self.recording && !items.is_empty() {
            self.journal.push_adds(first, items, vectors);
            // Only cold stores (full build) disable rebase; the lean build skips the check.
            #[cfg(feature = "full")]
            self.drop_journal_if_useless();
        }
    }

    /// Without rebase, a journal that the next save cannot write as a log (it would compact)
    /// is dead weight, and it holds every added vector: a bulk load of a million 384-d vectors
    /// would keep 1.5 GB. Drop it and ask for a full snapshot; journaling resumes after it.
    #[cfg(feature = "full")]
    fn drop_journal_if_useless(&mut self) {
        if self.no_rebase && self.pending.is_none() && self.needs_full(self.journal.len(), false) {
            self.journal = Journal::default();
            self.recording = false;
            self.invalidate();
        }
    }

    pub(crate) fn record_remove(&mut self, removed: &[(u32, String)]) {
        if self.recording && !removed.is_empty() {
            self.journal.push_removes(removed);
        }
    }

    /// Settings kept in the manifest changed: the next save writes a manifest even without
    /// operations.
    pub(crate) fn settings_changed(&mut self) {
        self.settings_version += 1;
    }

    /// The index changed outside the journal: the next save must be a full snapshot.
    pub(crate) fn invalidate(&mut self) {
        self.full_requests += 1;
        self.index_touched = self.full_requests;
    }

    /// The state a collection that was never saved or opened is in: its change counts, no
    /// journal, nothing committed.
    fn from_counts(counts: ChangeCounts) -> Self {
        PersistState {
            full_requests: counts.full_requests,
            index_touched: counts.index_touched,
            settings_version: counts.settings_version,
            ..PersistState::default()
        }
    }

    fn opened(manifest: Manifest, tail: Option<Tail>, log_adds: u64) -> Self {
        PersistState {
            recording: true,
            next_chunk_id: manifest.next_chunk_id,
            committed: Some(Committed {
                manifest,
                tail,
                log_adds,
            }),
            ..PersistState::default()
        }
    }

    fn needs_full(&self, records: usize, graph: bool) -> bool {
        let Some(c) = &self.committed else {
            return true;
        };
        if self.full_requests > self.full_covers {
            return true;
        }
        if graph && c.log_adds + self.journal.adds(records) > MAX_LOGGED_GRAPH_INSERTS {
            return true;
        }
        // An open tail is rewritten with the new records appended, so the log grows by the new
        // records plus one envelope per new chunk.
        let new_records = self.journal.bytes_of(records) as u64;
        let envelopes = (new_records / chunk::MAX_PAYLOAD as u64 + 1)
            * (chunk::HEADER_LEN + oplog::LOG_PREFIX) as u64;
        let projected = c.manifest.log_bytes() + new_records + envelopes;
        projected > (c.manifest.snapshot_bytes() / COMPACT_RATIO).max(MIN_COMPACT_LOG_BYTES)
    }
}

impl ChangeLog for PersistState {
    fn is_recording(&self) -> bool {
        PersistState::is_recording(self)
    }
    fn record_add(&mut self, first: u32, items: &[Item<'_>], vectors: &[f32]) {
        PersistState::record_add(self, first, items, vectors);
    }
    fn record_remove(&mut self, removed: &[(u32, String)]) {
        PersistState::record_remove(self, removed);
    }
    fn settings_changed(&mut self) {
        PersistState::settings_changed(self);
    }
    fn invalidate(&mut self) {
        PersistState::invalidate(self);
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// The save state in a collection's change log, installed on first use (carrying the counts
/// the collection kept until then), so the state a first save starts from is the same as if it
/// had been there all along.
fn state_mut(log: &mut Box<dyn ChangeLog>) -> &mut PersistState {
    if !log.as_any().is::<PersistState>() {
        let counts = log
            .as_any()
            .downcast_ref::<ChangeCounts>()
            .copied()
            .unwrap_or_default();
        *log = Box::new(PersistState::from_counts(counts));
    }
    match log.as_any_mut().downcast_mut::<PersistState>() {
        Some(state) => state,
        // Installed just above.
        None => unreachable!("the save state was installed"),
    }
}

/// A collection's save state for reading, without installing it: the installed state, or, for
/// a collection never saved or opened, the state its counts imply.
enum StateRef<'a> {
    Installed(&'a PersistState),
    Fresh(Box<PersistState>),
}

impl std::ops::Deref for StateRef<'_> {
    type Target = PersistState;
    fn deref(&self) -> &PersistState {
        match self {
            StateRef::Installed(state) => state,
            StateRef::Fresh(state) => state,
        }
    }
}

fn state(log: &dyn ChangeLog) -> StateRef<'_> {
    match log.as_any().downcast_ref::<PersistState>() {
        Some(state) => StateRef::Installed(state),
        None => {
            let counts = log
                .as_any()
                .downcast_ref::<ChangeCounts>()
                .copied()
                .unwrap_or_default();
            StateRef::Fresh(Box::new(PersistState::from_counts(counts)))
        }
    }
}

fn write_meta(collection: &Collection, out: &mut dyn Write) {
    out.u32(collection.next_internal_id);
    let ids = collection.internal_ids();
    out.u64(ids.len() as u64);
    for id in ids {
        out.u32(id);
        out.str(collection.external_id_of(id).unwrap_or_default());
        match collection.metadata_of(id) {
            None => out.u32(0),
            // Serializing a `Value` cannot fail.
            Some(value) => out.bytes(&serde_json::to_vec(value).unwrap_or_default()),
        }
    }
}

type Entries = Vec<(u32, String, Option<Value>, usize)>;

fn read_meta(input: &mut dyn Read) -> Result<(u32, Entries)> {
    let next_internal_id = input.u32("next internal id")?;
    // id, external id length and one byte, metadata length.
    let n = input.count(4 + 4 + 1 + 4, "item count")?;
    let mut entries = Vec::with_capacity(n);
    let mut previous = None;
    for _ in 0..n {
        let id = input.u32("internal id")?;
        if previous.is_some_and(|p| id <= p) || id >= next_internal_id {
            return Err(corrupt("META: internal ids out of order"));
        }
        previous = Some(id);
        let external = input.str(limits::MAX_ID_BYTES, "external id")?;
        Collection::validate_id(&external).map_err(|_| corrupt("META: an invalid id"))?;
        let raw = input.bytes(limits::MAX_METADATA_BYTES, "metadata")?;
        let metadata = if raw.is_empty() {
            None
        } else {
            let value =
                parse_json(&raw).ok_or_else(|| corrupt_at(&external, "metadata is not JSON"))?;
            if !value.is_object() {
                return Err(corrupt_at(&external, "metadata is not an object"));
            }
            Some(value)
        };
        entries.push((id, external, metadata, raw.len()));
    }
    Ok((next_internal_id, entries))
}

/// Checks that every chunk `manifest` needs is present with the stored length it states, so
/// that decoding can trust the manifest's lengths when bounding allocations.
fn check_present(manifest: &Manifest, source: &dyn ChunkSource, log_from: u64) -> Result<()> {
    let refs = manifest.meta.iter().chain(&manifest.index);
    let log = manifest
        .log
        .iter()
        .filter(|l| l.first_op + l.ops as u64 > log_from)
        .map(|l| &l.chunk);
    for r in refs.chain(log) {
        match source.stored_len(&r.key) {
            None => return Err(corrupt_at(&r.key, "chunk is missing")),
            Some(len) if len as u64 != r.stored_len() => {
                return Err(corrupt_at(&r.key, "length differs from the manifest"))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

impl Collection {
    /// Starts a save, handing each chunk to `sink` as `(key, bytes)` as soon as it is sealed
    /// (the manifest last). Store them all, delete `ticket.deletes`, then call
    /// [`Collection::ack_save`]. If storing fails, call [`Collection::abort_save`] (or simply
    /// save again): nothing is lost, the next save emits the same operations again.
    ///
    /// Beginning a save while another is in flight abandons the earlier one.
    pub fn begin_save_into(&mut self, sink: &mut dyn FnMut(String, Vec<u8>)) -> Result<SaveTicket> {
        if let Some(previous) = state_mut(&mut self.persist).pending.take() {
            state_mut(&mut self.persist)
                .unacked_keys
                .extend(previous.emitted);
        }
        state_mut(&mut self.persist).recording = true;
        let p = state(&*self.persist);
        let token = p.next_token.wrapping_add(1);
        let records = p.journal.len();
        let graph = matches!(self.config().spec.structure, Structure::Hnsw { .. });
        let full = p.needs_full(records, graph);
        let committed = p.committed.as_ref();
        let deletes: Vec<String> = committed
            .map(|c| c.manifest.garbage.clone())
            .unwrap_or_default();
        if !full
            && records == 0
            && deletes.is_empty()
            && p.unacked_keys.is_empty()
            && p.settings_version == p.settings_saved
        {
            state_mut(&mut self.persist).next_token = token;
            state_mut(&mut self.persist).pending = Some(Pending {
                token,
                manifest: None,
                tail: None,
                records: 0,
                full: false,
                full_requests: state_mut(&mut self.persist).full_requests,
                settings_version: state_mut(&mut self.persist).settings_version,
                emitted: Vec::new(),
                log_adds: 0,
            });
            return Ok(SaveTicket {
                token,
                deletes,
                full,
                bytes: 0,
            });
        }

        let mut emitter = Emitter::new(sink, p.next_chunk_id);
        let (meta, index, log, tail, generation) = match committed {
            Some(c) if !full => {
                let (log, tail) = if records > 0 {
                    oplog::write_log(
                        c.manifest.log.clone(),
                        c.tail.as_ref(),
                        p.journal.records(records),
                        &mut emitter,
                    )
                } else {
                    (c.manifest.log.clone(), c.tail.clone())
                };
                (
                    c.manifest.meta.clone(),
                    c.manifest.index.clone(),
                    log,
                    tail,
                    c.manifest.generation,
                )
            }
            _ => {
                let mut w = StateWriter::new(&mut emitter, kind::META);
                write_meta(self, &mut w);
                let meta = w.finish();
                let mut w = StateWriter::new(&mut emitter, kind::INDEX);
                self.index().encode_state(&mut w)?;
                let index = w.finish();
                let generation = committed
                    .map(|c| &c.manifest)
                    .or(p.replaced.as_ref())
                    .map_or(0, |m| m.generation)
                    + 1;
                (meta, index, Vec::new(), None, generation)
            }
        };
        let previous = committed.map(|c| &c.manifest).or(p.replaced.as_ref());
        let mut manifest = Manifest {
            version: previous.map_or(0, |m| m.version) + 1,
            generation,
            next_chunk_id: emitter.next_id,
            config: self.config().clone(),
            items: self.len() as u64,
            defaults: self.search_defaults(),
            indexed_fields: self.indexed_fields(),
            meta,
            index,
            log,
            garbage: Vec::new(),
        };
        let live: HashSet<&str> = manifest.live_keys().collect();
        let mut garbage: Vec<String> = Vec::new();
        if let Some(m) = previous {
            garbage.extend(
                m.live_keys()
                    .filter(|k| !live.contains(k))
                    .map(String::from),
            );
            if committed.is_none() {
                // A replaced store's own garbage is still on disk.
                garbage.extend(m.garbage.iter().cloned());
            }
        }
        garbage.extend(
            p.unacked_keys
                .iter()
                .filter(|k| !live.contains(k.as_str()))
                .cloned(),
        );
        let mut seen = HashSet::new();
        garbage.retain(|k| seen.insert(k.clone()));
        manifest.garbage = garbage;
        emitter.emit_as(MANIFEST_KEY.to_string(), kind::MANIFEST, &manifest.encode());

        let mut emitted = emitter.keys;
        emitted.pop(); // the manifest's fixed key is never garbage
        let bytes = emitter.bytes;
        let next_chunk_id = emitter.next_id;
        let log_adds = match committed {
            Some(c) if !full => c.log_adds + p.journal.adds(records),
            _ => 0,
        };
        let deletes = if committed.is_none() {
            // Without a committed manifest of ours, nothing is known to be garbage yet except
            // what a replaced store declared (and that store's manifest is committed).
            p.replaced
                .as_ref()
                .map(|m| m.garbage.clone())
                .unwrap_or_default()
        } else {
            deletes
        };
        let p = state_mut(&mut self.persist);
        p.next_token = token;
        p.next_chunk_id = next_chunk_id;
        p.pending = Some(Pending {
            token,
            manifest: Some(manifest),
            tail,
            records,
            full,
            full_requests: p.full_requests,
            settings_version: p.settings_version,
            emitted,
            log_adds,
        });
        Ok(SaveTicket {
            token,
            deletes,
            full,
            bytes,
        })
    }

    /// [`Collection::begin_save_into`], collecting the chunks in memory.
    pub fn begin_save(&mut self) -> Result<SavePlan> {
        let mut puts = Vec::new();
        let ticket = self.begin_save_into(&mut |key, bytes| puts.push((key, bytes)))?;
        Ok(SavePlan {
            token: ticket.token,
            puts,
            deletes: ticket.deletes,
            full: ticket.full,
        })
    }

    /// Records that the save `token` is durable: its operations leave the journal and its
    /// manifest becomes the base of the next save. Fails if `token` is not the save in
    /// flight (a later save was begun, or it was already acknowledged).
    pub fn ack_save(&mut self, token: u32) -> Result<()> {
        let p = state_mut(&mut self.persist);
        match p.pending.take() {
            Some(pending) if pending.token == token => {
                if let Some(manifest) = pending.manifest {
                    p.journal.drain(pending.records);
                    if pending.full {
                        p.full_covers = pending.full_requests;
                    }
                    p.settings_saved = pending.settings_version;
                    p.committed = Some(Committed {
                        manifest,
                        tail: pending.tail,
                        log_adds: pending.log_adds,
                    });
                    p.unacked_keys.clear();
                    p.replaced = None;
                }
                Ok(())
            }
            other => {
                p.pending = other;
                Err(Error::InvalidArgument {
                    name: "token",
                    reason: format!("save {token} is not in flight"),
                })
            }
        }
    }

    /// Records that the save `token` failed. Its operations stay in the journal; the keys it
    /// may have written become garbage of the next save.
    pub fn abort_save(&mut self, token: u32) {
        let p = state_mut(&mut self.persist);
        if p.pending.as_ref().is_some_and(|s| s.token == token) {
            if let Some(pending) = p.pending.take() {
                p.unacked_keys.extend(pending.emitted);
            }
        }
    }

    /// Journals operations from now on, before the first save. A store that will be saved to
    /// storage that other writers share calls this at creation, so that its changes can be
    /// rebased if another writer saves first ([`Collection::rebase_onto`]).
    pub fn enable_journal(&mut self) {
        if self.is_empty() {
            state_mut(&mut self.persist).recording = true;
        }
    }

    /// Declares that this collection will never be rebased onto another writer's version (a
    /// store with cold vectors, whose rows are tied to its own internal ids): its journal then
    /// only serves the next incremental save and is dropped once it outgrows what that save
    /// could log, and [`Collection::rebase_onto`] refuses.
    pub fn disable_rebase(&mut self) {
        state_mut(&mut self.persist).no_rebase = true;
    }

    /// Asks for the next save to write a full snapshot, folding the op log in.
    pub fn compact(&mut self) {
        state_mut(&mut self.persist).full_requests += 1;
    }

    /// Whether anything changed since the last acknowledged save (always true before the
    /// first).
    pub fn has_unsaved_changes(&self) -> bool {
        let p = state(&*self.persist);
        p.committed.is_none()
            || !p.journal.is_empty()
            || p.full_requests > p.full_covers
            || p.settings_version > p.settings_saved
    }

    /// The version of the last acknowledged (or opened) manifest; 0 before the first save.
    pub fn saved_version(&self) -> u64 {
        state(&*self.persist)
            .committed
            .as_ref()
            .map_or(0, |c| c.manifest.version)
    }

    /// Makes this (new) collection's first save replace the store whose manifest is
    /// `manifest`: versions continue from it, chunk keys do not collide with its chunks, and
    /// its chunks are deleted once the replacement is committed.
    pub fn replace_stored(&mut self, manifest: &[u8]) -> Result<()> {
        let m = Manifest::decode(manifest)?;
        let p = state_mut(&mut self.persist);
        p.next_chunk_id = p.next_chunk_id.max(m.next_chunk_id);
        if p.committed.is_none() {
            p.replaced = Some(m);
        }
        Ok(())
    }

    /// What a stored manifest says.
    pub fn manifest_info(manifest: &[u8]) -> Result<ManifestInfo> {
        let m = Manifest::decode(manifest)?;
        Ok(ManifestInfo {
            version: m.version,
            generation: m.generation,
            dimension: m.config.dimension,
            metric: m.config.metric.to_string(),
            spec: m.config.spec.to_string(),
            items: m.items,
            snapshot_bytes: m.snapshot_bytes(),
            log_bytes: m.log_bytes(),
            log_ops: m.log_ops(),
        })
    }

    /// The chunk keys [`Collection::open`] will read for this manifest.
    pub fn required_chunks(manifest: &[u8]) -> Result<Vec<String>> {
        let m = Manifest::decode(manifest)?;
        Ok(m.live_keys().map(String::from).collect())
    }

    /// Chunk keys among `stored` that `manifest` neither uses nor lists as garbage: leftovers
    /// of saves that crashed before committing. Safe to delete while no other writer runs.
    pub fn orphan_chunks(manifest: &[u8], stored: &[String]) -> Result<Vec<String>> {
        let m = Manifest::decode(manifest)?;
        let known: HashSet<&str> = m
            .live_keys()
            .chain(m.garbage.iter().map(String::as_str))
            .collect();
        Ok(stored
            .iter()
            .filter(|k| k.starts_with(CHUNK_KEY_PREFIX) && !known.contains(k.as_str()))
            .cloned()
            .collect())
    }

    /// Opens a stored collection: decodes the snapshot named by `manifest`, then replays its
    /// op log. The result's next save is incremental.
    pub fn open(manifest: &[u8], source: &mut dyn ChunkSource) -> Result<Collection> {
        let m = Manifest::decode(manifest)?;
        // Grow the heap once to about what decoding will hold (see `heap`).
        crate::heap::reserve((m.snapshot_bytes() + m.log_bytes()) as f64, false);
        Collection::open_decoded(m, source)
    }

    /// Readies the heap for opening `manifest`'s store, touching its pages (see `heap`): call
    /// it while the records are read, so this work overlaps the reads rather than the decode.
    /// A bad manifest is ignored here; `open` reports it.
    pub fn prepare_open(manifest: &[u8]) {
        if let Ok(m) = Manifest::decode(manifest) {
            crate::heap::reserve((m.snapshot_bytes() + m.log_bytes()) as f64, true);
        }
    }

    /// [`Collection::open`] of an already decoded manifest.
    fn open_decoded(m: Manifest, source: &mut dyn ChunkSource) -> Result<Collection> {
        check_present(&m, source, 0)?;
        let mut r = StateReader::new(source, kind::META, &m.meta);
        let (next_internal_id, entries) = read_meta(&mut r)?;
        r.finish("META section")?;
        let mut r = StateReader::new(source, kind::INDEX, &m.index).with_id_limit(next_internal_id);
        let index = families::decode_index(&m.config, &mut r)?;
        r.finish("index section")?;
        if index.dim() != m.config.dimension || index.spec() != m.config.spec {
            return Err(corrupt("index section disagrees with the manifest"));
        }
        let mut collection = Collection::restore(
            m.config.clone(),
            index,
            entries,
            next_internal_id,
            m.defaults,
            &m.indexed_fields,
        )?;
        let tail = oplog::replay_log(&m.log, 0, source, &mut collection, None)?;
        if collection.len() as u64 != m.items {
            return Err(corrupt("item count after replay differs from the manifest"));
        }
        // Every replayed add took the next internal id.
        let log_adds = u64::from(collection.next_internal_id.saturating_sub(next_internal_id));
        collection.persist = Box::new(PersistState::opened(m, tail, log_adds));
        Ok(collection)
    }

    /// How to catch up with a newer `manifest` of the store this collection was opened from
    /// (written by another tab or worker).
    pub fn update_plan(&self, manifest: &[u8]) -> Result<UpdatePlan> {
        let m = Manifest::decode(manifest)?;
        let p = state(&*self.persist);
        let Some(c) = &p.committed else {
            return Ok(UpdatePlan::Reopen);
        };
        let mine = &c.manifest;
        if m.generation == mine.generation && m.version <= mine.version {
            return Ok(UpdatePlan::UpToDate);
        }
        let applied = mine.log_ops();
        // Our last log chunk is unchanged, or (if it was still open) rewritten with records
        // appended; replay checks that the rewrite begins with the records we applied.
        let last_kept = match mine.log.last() {
            None => true,
            Some(ours) => m.log.get(mine.log.len() - 1).is_some_and(|theirs| {
                theirs == ours
                    || (c.tail.is_some()
                        && theirs.first_op == ours.first_op
                        && theirs.first_op + theirs.ops as u64 > applied)
            }),
        };
        let same_history = last_kept
            && m.generation == mine.generation
            && m.meta == mine.meta
            && m.index == mine.index
            && m.log_ops() >= applied
            && mine.log.len() <= m.log.len()
            && mine
                .log
                .iter()
                .rev()
                .skip(1)
                .rev()
                .eq(m.log[..mine.log.len().saturating_sub(1)].iter());
        if !same_history || !p.journal.is_empty() || p.pending.is_some() {
            return Ok(UpdatePlan::Reopen);
        }
        Ok(UpdatePlan::Incremental(
            m.log
                .iter()
                .filter(|l| l.first_op + l.ops as u64 > applied)
                .map(|l| l.chunk.key.clone())
                .collect(),
        ))
    }

    /// Applies the new log operations of `manifest` (see [`Collection::update_plan`]). On
    /// error the collection may hold part of the update: reopen it.
    pub fn apply_update(&mut self, manifest: &[u8], source: &mut dyn ChunkSource) -> Result<()> {
        match self.update_plan(manifest)? {
            UpdatePlan::UpToDate => return Ok(()),
            UpdatePlan::Reopen => {
                return Err(Error::InvalidArgument {
                    name: "manifest",
                    reason: "this update needs a full reopen".into(),
                })
            }
            UpdatePlan::Incremental(_) => {}
        }
        let m = Manifest::decode(manifest)?;
        let committed = state(&*self.persist);
        let committed = committed.committed.as_ref();
        let applied = committed.map_or(0, |c| c.manifest.log_ops());
        let applied_tail = committed.and_then(|c| c.tail.clone());
        check_present(&m, source, applied)?;
        state_mut(&mut self.persist).recording = false;
        let ids_before = self.next_internal_id;
        let replayed = oplog::replay_log(&m.log, applied, source, self, applied_tail.as_ref());
        state_mut(&mut self.persist).recording = true;
        let tail = replayed?;
        if self.len() as u64 != m.items {
            return Err(corrupt(
                "item count after the update differs from the manifest",
            ));
        }
        // Settings kept in the manifest follow the writer's.
        self.set_search_defaults(m.defaults);
        let current = self.indexed_fields();
        for field in current.iter().filter(|f| !m.indexed_fields.contains(f)) {
            self.drop_field_index(field)?;
        }
        for field in m.indexed_fields.iter().filter(|f| !current.contains(f)) {
            self.create_field_index(field)
                .map_err(|_| corrupt_at(field, "cannot index this field"))?;
        }
        let p = state_mut(&mut self.persist);
        p.settings_saved = p.settings_version;
        p.next_chunk_id = p.next_chunk_id.max(m.next_chunk_id);
        let log_adds = p.committed.as_ref().map_or(0, |c| c.log_adds)
            + u64::from(self.next_internal_id.saturating_sub(ids_before));
        p.committed = Some(Committed {
            manifest: m,
            tail,
            log_adds,
        });
        Ok(())
    }

    /// Replays this collection's unsaved operations onto `target`, a newer version of the same
    /// store (another writer saved in between), by external id: the last writer wins. Used
    /// before saving when the stored manifest moved on.
    pub fn rebase_onto(&self, target: &mut Collection) -> Result<()> {
        if target.dimension() != self.dimension() || target.metric() != self.metric() {
            return Err(Error::InvalidArgument {
                name: "target",
                reason: "a collection with a different dimension or metric".into(),
            });
        }
        let p = state(&*self.persist);
        if p.no_rebase {
            return Err(Error::Unsupported {
                what: "rebasing a collection whose rows are tied to its internal ids (cold \
                       vectors): it has one writer at a time"
                    .into(),
            });
        }
        if !p.recording && !self.is_empty() {
            return Err(Error::Unsupported {
                what: "rebasing a collection that was never saved".into(),
            });
        }
        if p.index_touched > p.full_covers {
            return Err(Error::Unsupported {
                what: "rebasing changes made to the index directly (training, compaction); save them first".into(),
            });
        }
        oplog::rebase(&p.journal, self.dimension(), target)?;
        // Unsaved settings (search defaults, field indexes) win too.
        if p.settings_version > p.settings_saved {
            target.set_search_defaults(self.search_defaults());
            let mine = self.indexed_fields();
            for field in target.indexed_fields() {
                if !mine.contains(&field) {
                    target.drop_field_index(&field)?;
                }
            }
            for field in &mine {
                target.create_field_index(field)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

//! The collection: the facade users touch.
//!
//! It maps external string ids to dense internal `u32` ids, keeps JSON metadata, validates and
//! prepares vectors (normalizing them for cosine), and drives one [`Index`]. Every mutating
//! operation validates its whole batch before changing anything, so a rejected batch leaves the
//! collection exactly as it was.

mod cold;
mod id_table;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use serde_json::Value;

use crate::distance::{self, Metric};
use crate::error::{Error, Quoted, Result};
use crate::filter::{self, Estimate, FieldIndexes, Filter, FilteredSearch, Strategy};
use crate::index::{build_index, Index, IndexOptions, IndexSpec, Scratch, SearchParams, Structure};
use crate::limits;
use crate::topk::Neighbor;
pub use cold::{ColdCacheStats, ColdVectors};
use id_table::IdTable;

/// How a collection is created.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionConfig {
    pub dimension: usize,
    pub metric: Metric,
    pub spec: IndexSpec,
    pub options: IndexOptions,
}

impl CollectionConfig {
    /// A config with the default index options.
    pub fn new(dimension: usize, metric: Metric, spec: IndexSpec) -> Self {
        CollectionConfig {
            dimension,
            metric,
            spec,
            options: IndexOptions::default(),
        }
    }
}

/// One stored item as returned by [`Collection::get`].
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    /// The stored vector (unit length for cosine collections).
    pub vector: Vec<f32>,
    pub metadata: Option<Value>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub id: String,
    /// The metric's score: cosine similarity, dot product, or squared L2 distance.
    pub score: f32,
    pub metadata: Option<Value>,
}

/// An item to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct Item<'a> {
    pub id: &'a str,
    pub vector: &'a [f32],
    pub metadata: Option<Value>,
}

/// Per-collection defaults for the search knobs a query leaves unset (`None`), typically the
/// result of [`Collection::tune`]. A knob set on the query always wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchDefaults {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ef_search: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nprobe: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerank: Option<usize>,
}

impl SearchDefaults {
    /// `params` with every unset knob filled from these defaults.
    pub fn merge<'a>(&self, params: &SearchParams<'a>) -> SearchParams<'a> {
        SearchParams {
            ef_search: params.ef_search.or(self.ef_search),
            nprobe: params.nprobe.or(self.nprobe),
            rerank: params.rerank.or(self.rerank),
            filter: params.filter,
        }
    }
}

/// An item's metadata (items without any have no entry).
#[derive(Debug, Clone)]
pub(crate) struct Metadata {
    pub(crate) value: Value,
    /// Serialized size, kept for honest memory accounting.
    bytes: usize,
}

/// Bytes an id takes besides its own bytes: its 8-byte slot in the id table and a hash bucket
/// (4 bytes at most 8/7 full, twice that while the table grows).
const ID_COST_ESTIMATE: usize = 8 + 10;

/// A set of vectors with string ids and JSON metadata, searchable through one index.
pub struct Collection {
    config: CollectionConfig,
    index: Box<dyn Index>,
    /// External ids ↔ internal ids.
    ids: IdTable,
    metadata: HashMap<u32, Metadata>,
    pub(crate) next_internal_id: u32,
    scratch: RefCell<Scratch>,
    pub(crate) defaults: SearchDefaults,
    /// Live ids and the declared field indexes, updated on every add, upsert and delete.
    fields: FieldIndexes,
    /// The most bytes ([`Collection::memory_bytes`]) an add or upsert may grow the store to.
    memory_budget: Option<usize>,
    /// Full vectors kept in storage rather than memory ([`Collection::enable_cold_vectors`]).
    /// Only in the full build: the lean build has no lossy family to pair them with, and leaving
    /// the field out keeps the cold code out of its `.wasm`.
    #[cfg(feature = "full")]
    cold: Option<Rc<ColdVectors>>,
    /// Where changes are reported for persistence: [`ChangeCounts`] until the collection is
    /// first saved or opened, then the snapshot layer's save state (`crate::snapshot`).
    pub(crate) persist: Box<dyn ChangeLog>,
}

/// What a collection reports about its changes to the layer that persists it. The collection
/// calls it on every write and settings change; the snapshot layer implements it with its save
/// bookkeeping and journal, and installs that in place of [`ChangeCounts`] on the first save or
/// open. A trait, so that the collection does not import the file format built on top of it.
/// (Not `Debug`: a `dyn Debug` here would keep every save-state type's `Debug` in the `.wasm`.)
pub(crate) trait ChangeLog {
    /// Whether operations are being journaled (they are from the first save or open on).
    fn is_recording(&self) -> bool;
    /// Items `first..first + items.len()` were added (internal ids), with these vectors.
    fn record_add(&mut self, first: u32, items: &[Item<'_>], vectors: &[f32]);
    /// These items (internal id, external id) were removed.
    fn record_remove(&mut self, removed: &[(u32, String)]);
    /// Settings kept with the store (search defaults, field indexes) changed.
    fn settings_changed(&mut self);
    /// The index changed outside the journal: the next save must be a full snapshot.
    fn invalidate(&mut self);
    /// For the persistence layer to reach its own state.
    fn as_any(&self) -> &dyn std::any::Any;
    /// For the persistence layer to reach its own state.
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}

/// The change log of a collection that was never saved or opened: nothing is journaled (the
/// first save is a full snapshot anyway); only the counts a first save starts from are kept.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChangeCounts {
    /// Out-of-log index changes and compaction requests so far.
    pub full_requests: u64,
    /// `full_requests` as of the last out-of-log index change.
    pub index_touched: u64,
    /// Settings changes so far.
    pub settings_version: u64,
}

impl ChangeLog for ChangeCounts {
    fn is_recording(&self) -> bool {
        false
    }
    fn record_add(&mut self, _first: u32, _items: &[Item<'_>], _vectors: &[f32]) {}
    fn record_remove(&mut self, _removed: &[(u32, String)]) {}
    fn settings_changed(&mut self) {
        self.settings_version += 1;
    }
    fn invalidate(&mut self) {
        self.full_requests += 1;
        self.index_touched = self.full_requests;
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("config", &self.config)
            .field("len", &self.len())
            .finish()
    }
}

impl Collection {
    /// Creates an empty collection.
    pub fn new(config: CollectionConfig) -> Result<Self> {
        if config.dimension == 0 || config.dimension > limits::MAX_DIMENSION {
            return Err(Error::InvalidDimension {
                dimension: config.dimension,
                max: limits::MAX_DIMENSION,
            });
        }
        let index = build_index(
            &config.spec,
            config.dimension,
            config.metric,
            &config.options,
        )?;
        Ok(Collection {
            config,
            index,
            ids: IdTable::new(),
            metadata: HashMap::new(),
            next_internal_id: 0,
            scratch: RefCell::new(Scratch::default()),
            defaults: SearchDefaults::default(),
            fields: FieldIndexes::new(),
            memory_budget: None,
            #[cfg(feature = "full")]
            cold: None,
            persist: Box::new(ChangeCounts::default()),
        })
    }

    /// Parses `metric` and `spec` strings, then creates the collection.
    pub fn with_strings(dimension: usize, metric: &str, spec: &str) -> Result<Self> {
        Collection::new(CollectionConfig::new(
            dimension,
            metric.parse()?,
            spec.parse()?,
        ))
    }

    pub fn config(&self) -> &CollectionConfig {
        &self.config
    }

    pub fn dimension(&self) -> usize {
        self.config.dimension
    }

    pub fn metric(&self) -> Metric {
        self.config.metric
    }

    pub fn spec(&self) -> IndexSpec {
        self.config.spec
    }

    /// The index, for families' own operations (training, tuning) and for persistence.
    pub fn index(&self) -> &dyn Index {
        self.index.as_ref()
    }

    /// Mutable access to the index. Changes made through it bypass the operation log, so the
    /// next save writes a full snapshot.
    pub fn index_mut(&mut self) -> &mut dyn Index {
        self.persist.invalidate();
        self.index.as_mut()
    }

    /// The knob values used when a query leaves them unset.
    pub fn search_defaults(&self) -> SearchDefaults {
        self.defaults
    }

    pub fn set_search_defaults(&mut self, defaults: SearchDefaults) {
        self.defaults = defaults;
        self.persist.settings_changed();
    }

    /// Trains the index on the vectors it holds (IVF: k-means over a sample of them, then every
    /// vector is re-assigned). Families without training ignore it. Indexes that train
    /// themselves on `add` (IVF, at 39 · nlist vectors) only need this to train earlier or to
    /// re-train after the data has changed.
    pub fn train(&mut self) -> Result<()> {
        // Training changes the index outside the operation log: the next save is full.
        self.persist.invalidate();
        self.index.train_on_stored()
    }

    /// Every stored internal id, ascending.
    pub fn internal_ids(&self) -> Vec<u32> {
        self.ids.internal_ids()
    }

    /// Number of stored items.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether every stored item has its own external id. Log replay checks it at the end: an
    /// upsert is logged as adds then removals, so a log cut or altered between the two would
    /// otherwise leave two items under one id.
    pub(crate) fn ids_are_unique(&self) -> bool {
        self.ids.len() == self.ids.distinct_names()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// Every byte held: the index plus ids and metadata (map overhead included) and the cold
    /// vectors' cache.
    pub fn memory_bytes(&self) -> usize {
        self.index.memory_bytes() + self.metadata_memory_bytes() + self.cold_memory_bytes()
    }

    /// Bytes of the cold vectors' cache and staged rows (0 without cold vectors).
    pub fn cold_memory_bytes(&self) -> usize {
        self.cold_vectors().map_or(0, |c| c.memory_bytes())
    }

    /// Keeps full vectors cold: rerank fetches its candidates' vectors through the returned
    /// [`ColdVectors`] (staged by the caller from storage, then cached in an LRU of at most
    /// `cache_bytes`). The caller writes each batch's rows to storage before adding it
    /// ([`Collection::prepare_rows`] gives its prepared vectors). Only for a lossy index created without its vectors (`keep_vectors: false`);
    /// called again, it changes the cache's budget.
    pub fn enable_cold_vectors(&mut self, cache_bytes: usize) -> Result<Rc<ColdVectors>> {
        #[cfg(not(feature = "full"))]
        {
            let _ = cache_bytes;
            Err(Error::Unsupported {
                what: "cold vectors need a quantized index, which the lean build lacks".into(),
            })
        }
        #[cfg(feature = "full")]
        self.enable_cold_in_full_build(cache_bytes)
    }

    #[cfg(feature = "full")]
    fn enable_cold_in_full_build(&mut self, cache_bytes: usize) -> Result<Rc<ColdVectors>> {
        if let Some(cold) = &self.cold {
            cold.set_budget(cache_bytes);
            return Ok(Rc::clone(cold));
        }
        if self.config.options.keep_vectors {
            return Err(Error::InvalidArgument {
                name: "coldVectors",
                reason: format!(
                    "index {} keeps its full vectors in memory; cold vectors need a store created \
                     with keepVectors: false",
                    self.config.spec
                ),
            });
        }
        let cold = ColdVectors::new(self.config.dimension, cache_bytes);
        self.index.set_vector_source(cold.source())?;
        self.cold = Some(Rc::clone(&cold));
        Ok(cold)
    }

    /// A batch's vectors as an add or upsert would store them (validated, normalized for
    /// cosine), row-major, with the internal id the first will get if the batch is added next.
    pub fn prepare_rows(&self, vectors: &[f32]) -> Result<(u32, Vec<f32>)> {
        let dim = self.config.dimension;
        if vectors.len() % dim != 0 {
            return Err(Error::DimensionMismatch {
                expected: dim,
                received: vectors.len() % dim,
            });
        }
        let mut rows = vectors.to_vec();
        for (i, row) in rows.chunks_exact_mut(dim).enumerate() {
            self.prepare_in_place(row, i)?;
        }
        Ok((self.next_internal_id, rows))
    }

    /// The cold vectors, when [`Collection::enable_cold_vectors`] turned them on. Always `None`
    /// in the lean build, visibly to the compiler, so every use of them is dead code there.
    #[inline(always)]
    pub fn cold_vectors(&self) -> Option<&ColdVectors> {
        #[cfg(feature = "full")]
        return self.cold.as_deref();
        #[cfg(not(feature = "full"))]
        None
    }

    /// Bytes held outside the index: string ids, JSON metadata, their maps, field indexes.
    pub fn metadata_memory_bytes(&self) -> usize {
        self.id_memory_bytes() + self.metadata_only_memory_bytes()
    }

    /// Bytes of the external ids and their lookup table.
    pub fn id_memory_bytes(&self) -> usize {
        self.ids.memory_bytes()
    }

    /// Bytes of JSON metadata, its map and the field indexes.
    fn metadata_only_memory_bytes(&self) -> usize {
        let values: usize = self.metadata.values().map(|m| m.bytes).sum();
        let map = self.metadata.capacity() * (std::mem::size_of::<(u32, Metadata)>() + 1);
        values + map + self.fields.memory_bytes()
    }

    /// Sets (or with `None` removes) the memory budget: an `add` or `upsert` whose estimated
    /// footprint would take [`Collection::memory_bytes`] above `bytes` fails with
    /// [`Error::MemoryBudgetExceeded`] before anything grows, and leaves the store unchanged.
    /// Searches and deletes are never refused. The estimate prices each new item at the
    /// index's current bytes per vector (its raw size when empty) plus its id, metadata and
    /// map entries; a buffer's capacity doubling can still overshoot by one growth step
    /// (docs/reliability.md).
    ///
    /// Fails with [`Error::MemoryBudgetExceeded`], changing nothing, when `bytes` cannot hold
    /// what the store holds now plus one more item (an empty store's budget must admit an item,
    /// or the store could never be written).
    pub fn set_memory_budget(&mut self, bytes: Option<usize>) -> Result<()> {
        if let Some(budget) = bytes {
            let needed = self
                .memory_bytes()
                .saturating_add(self.vector_cost_estimate() + ID_COST_ESTIMATE);
            if needed > budget {
                return Err(Error::MemoryBudgetExceeded { needed, budget });
            }
        }
        self.memory_budget = bytes;
        Ok(())
    }

    /// Bytes one more vector is expected to take in the index.
    fn vector_cost_estimate(&self) -> usize {
        // Small stores are dominated by fixed allocations (HNSW's visited set, IVF's lists),
        // so their bytes per vector say little: a prior of two raw copies plus 512 bytes of
        // links and bookkeeping stands in until the store holds 1024 vectors.
        let live = self.index.len();
        if live >= 1024 {
            self.index.memory_bytes().div_ceil(live)
        } else {
            2 * 4 * self.config.dimension + 512
        }
    }

    /// The memory budget, if one is set.
    pub fn memory_budget(&self) -> Option<usize> {
        self.memory_budget
    }

    /// Refuses a batch whose estimated footprint would exceed the memory budget.
    fn check_budget(&self, items: &[Item<'_>], metadata_bytes: &[usize]) -> Result<()> {
        let id_bytes = items.iter().map(|item| item.id.len()).sum();
        let with_metadata = metadata_bytes.iter().filter(|&&m| m > 0).count();
        self.check_budget_for(
            items.len(),
            id_bytes,
            with_metadata,
            metadata_bytes.iter().sum(),
        )
    }

    /// Refuses a batch of `count` items (ids of `id_bytes` bytes in all; `with_metadata` of them
    /// with `metadata_bytes` of metadata in all) whose estimated footprint would exceed the
    /// memory budget. The package checks a whole batch this way before it sends the first of
    /// its chunks, so that a batch past the budget is refused before any chunk grows the store.
    pub fn check_budget_for(
        &self,
        count: usize,
        id_bytes: usize,
        with_metadata: usize,
        metadata_bytes: usize,
    ) -> Result<()> {
        let Some(budget) = self.memory_budget else {
            return Ok(());
        };
        let per_vector = self.vector_cost_estimate();
        let metadata_entry = 2 * (std::mem::size_of::<(u32, Metadata)>() + 1);
        // Upserted items count in full: the new version is inserted before the old is removed.
        let added = count
            .saturating_mul(per_vector + ID_COST_ESTIMATE)
            .saturating_add(id_bytes)
            .saturating_add(with_metadata.saturating_mul(metadata_entry))
            .saturating_add(metadata_bytes);
        let needed = self.memory_bytes().saturating_add(added);
        if needed > budget {
            return Err(Error::MemoryBudgetExceeded { needed, budget });
        }
        Ok(())
    }

    /// Checks one vector and returns it prepared for the index (normalized for cosine).
    pub fn prepare_vector(&self, vector: &[f32], item: usize) -> Result<Vec<f32>> {
        let mut prepared = vector.to_vec();
        self.prepare_in_place(&mut prepared, item)?;
        Ok(prepared)
    }

    fn prepare_in_place(&self, vector: &mut [f32], item: usize) -> Result<()> {
        if vector.len() != self.config.dimension {
            return Err(Error::DimensionMismatch {
                expected: self.config.dimension,
                received: vector.len(),
            });
        }
        if let Some((component, &value)) = vector.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(Error::NonFiniteComponent {
                item,
                component,
                value,
            });
        }
        if self.config.metric == Metric::Cosine && !distance::normalize(vector) {
            return Err(Error::ZeroVector { item });
        }
        Ok(())
    }

    pub(crate) fn validate_id(id: &str) -> Result<()> {
        if id.is_empty() {
            return Err(Error::InvalidId {
                id: String::new(),
                reason: "ids must not be empty",
            });
        }
        if id.len() > limits::MAX_ID_BYTES {
            return Err(Error::InvalidId {
                id: format!("{}…", id.chars().take(32).collect::<String>()),
                reason: "ids must be at most 1024 bytes",
            });
        }
        Ok(())
    }

    pub(crate) fn validate_metadata(metadata: &Option<Value>) -> Result<usize> {
        match metadata {
            None | Some(Value::Null) => Ok(0),
            Some(value @ Value::Object(_)) => {
                let bytes = serde_json::to_string(value)
                    .map_err(|e| Error::InvalidMetadata {
                        reason: e.to_string(),
                    })?
                    .len();
                if bytes > limits::MAX_METADATA_BYTES {
                    return Err(Error::InvalidMetadata {
                        reason: format!(
                            "{bytes} bytes serialized; the limit is {}",
                            limits::MAX_METADATA_BYTES
                        ),
                    });
                }
                Ok(bytes)
            }
            Some(_) => Err(Error::InvalidMetadata {
                reason: "metadata must be a JSON object (or null)".into(),
            }),
        }
    }

    /// Validates a batch and returns its prepared vectors (row-major) and metadata sizes.
    fn prepare_batch(
        &self,
        items: &[Item<'_>],
        allow_existing: bool,
    ) -> Result<(Vec<f32>, Vec<usize>)> {
        if items.len() > limits::MAX_BATCH {
            return Err(Error::InvalidArgument {
                name: "items",
                reason: format!(
                    "{} items; a batch holds at most {}",
                    items.len(),
                    limits::MAX_BATCH
                ),
            });
        }
        let new_items = items
            .iter()
            .filter(|item| !self.ids.contains(item.id))
            .count();
        if self.len() + new_items > limits::MAX_VECTORS
            || (self.next_internal_id as usize) + items.len() > limits::MAX_VECTORS
        {
            return Err(Error::InvalidArgument {
                name: "items",
                reason: "the collection would exceed its id space; save and reopen to compact"
                    .into(),
            });
        }
        let dim = self.config.dimension;
        let mut seen = HashSet::with_capacity(items.len());
        let mut vectors = vec![0.0f32; items.len() * dim];
        let mut metadata_bytes = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            Self::validate_id(item.id)?;
            if !seen.insert(item.id) {
                return Err(Error::DuplicateId {
                    id: item.id.to_string(),
                    reason: "the id appears more than once in this batch",
                });
            }
            if !allow_existing && self.ids.contains(item.id) {
                return Err(Error::DuplicateId {
                    id: item.id.to_string(),
                    reason: "already stored; use upsert to replace it",
                });
            }
            if item.vector.len() != dim {
                return Err(Error::DimensionMismatch {
                    expected: dim,
                    received: item.vector.len(),
                });
            }
            let row = &mut vectors[i * dim..(i + 1) * dim];
            row.copy_from_slice(item.vector);
            self.prepare_in_place(row, i)?;
            metadata_bytes.push(Self::validate_metadata(&item.metadata)?);
        }
        Ok((vectors, metadata_bytes))
    }

    /// Adds new items. Fails without changing anything if any id is already stored, appears
    /// twice, or any vector or metadata is invalid.
    pub fn add(&mut self, items: &[Item<'_>]) -> Result<()> {
        let (vectors, metadata_bytes) = self.prepare_batch(items, false)?;
        self.check_budget(items, &metadata_bytes)?;
        self.insert_prepared(items, &vectors, metadata_bytes)
    }

    /// Adds new items and replaces existing ones (vector and metadata), all or nothing.
    pub fn upsert(&mut self, items: &[Item<'_>]) -> Result<()> {
        let (vectors, metadata_bytes) = self.prepare_batch(items, true)?;
        self.check_budget(items, &metadata_bytes)?;
        self.upsert_prepared(items, &vectors, metadata_bytes)
    }

    /// [`Collection::upsert`] of a validated batch with prepared vectors.
    pub(crate) fn upsert_prepared(
        &mut self,
        items: &[Item<'_>],
        vectors: &[f32],
        metadata_bytes: Vec<usize>,
    ) -> Result<()> {
        let replaced: Vec<u32> = items
            .iter()
            .filter_map(|item| self.ids.get(item.id))
            .collect();
        // Insert first: if the index refuses, the old versions are still in place.
        self.insert_prepared(items, vectors, metadata_bytes)?;
        self.remove_internal(&replaced);
        Ok(())
    }

    /// Inserts a validated batch under fresh internal ids `next_internal_id ..`. Also the path
    /// by which the op log is replayed, so replay and live inserts cannot drift apart.
    pub(crate) fn insert_prepared(
        &mut self,
        items: &[Item<'_>],
        vectors: &[f32],
        metadata_bytes: Vec<usize>,
    ) -> Result<()> {
        let first = self.next_internal_id;
        let internal_ids: Vec<u32> = (0..items.len() as u32).map(|i| first + i).collect();
        self.index.add(&internal_ids, vectors)?;
        self.next_internal_id = first + items.len() as u32;
        self.persist.record_add(first, items, vectors);
        self.ids.reserve(items.len());
        for ((item, &internal), bytes) in items.iter().zip(&internal_ids).zip(metadata_bytes) {
            self.ids.insert(internal, item.id);
            let metadata = match &item.metadata {
                Some(Value::Null) | None => None,
                Some(value) => Some(value.clone()),
            };
            self.fields.insert(internal, metadata.as_ref());
            if let Some(value) = metadata {
                self.metadata.insert(internal, Metadata { value, bytes });
            }
        }
        Ok(())
    }

    /// Deletes items by id, all or nothing: if any id is unknown, nothing is deleted. Repeated
    /// ids in one call are deleted once. Returns the number deleted.
    pub fn delete<S: AsRef<str>>(&mut self, ids: &[S]) -> Result<usize> {
        let mut internal = Vec::with_capacity(ids.len());
        let mut seen = HashSet::with_capacity(ids.len());
        for id in ids {
            let id = id.as_ref();
            let internal_id = self
                .ids
                .get(id)
                .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
            if seen.insert(internal_id) {
                internal.push(internal_id);
            }
        }
        self.remove_internal(&internal);
        Ok(internal.len())
    }

    /// Removes items by internal id. An external id is unmapped only while it still points at
    /// the removed item (an upsert has already pointed it at the new one). Also the replay path
    /// of logged removals.
    pub(crate) fn remove_internal(&mut self, ids: &[u32]) {
        if ids.is_empty() {
            return;
        }
        self.index.remove(ids);
        if let Some(cold) = self.cold_vectors() {
            cold.forget(ids);
        }
        let recording = self.persist.is_recording();
        let mut logged: Vec<(u32, String)> = Vec::new();
        let mut removed = Vec::with_capacity(ids.len());
        for &id in ids {
            if recording {
                if let Some(name) = self.ids.name_of(id) {
                    logged.push((id, name.to_string()));
                }
            }
            if self.ids.remove(id) {
                removed.push((id, self.metadata.remove(&id)));
            }
        }
        self.fields.remove_many(
            removed
                .iter()
                .map(|(id, m)| (*id, m.as_ref().map(|m| &m.value))),
        );
        if recording {
            self.persist.record_remove(&logged);
        }
    }

    /// Rebuilds a collection from decoded snapshot parts, checking that ids, metadata and the
    /// index agree (any disagreement is corruption), then rebuilds the field indexes named in
    /// `indexed_fields` and restores the search defaults.
    pub(crate) fn restore(
        config: CollectionConfig,
        index: Box<dyn Index>,
        entries: Vec<(u32, String, Option<Value>, usize)>,
        next_internal_id: u32,
        defaults: SearchDefaults,
        indexed_fields: &[String],
    ) -> Result<Self> {
        let corrupt = |what: String| Error::Corrupt { what };
        let mut collection = Collection::new(config)?;
        if index.len() != entries.len() {
            return Err(corrupt(format!(
                "index holds {} vectors for {} ids",
                index.len(),
                entries.len()
            )));
        }
        collection.index = index;
        collection.ids.reserve(entries.len());
        // `entries` come in ascending id order, which the field indexes rely on.
        for (internal, external_id, metadata, metadata_bytes) in entries {
            if internal >= next_internal_id || !collection.index.contains(internal) {
                return Err(corrupt(format!(
                    "id {} has internal id {internal}, which the index does not hold",
                    Quoted(&external_id)
                )));
            }
            if collection.ids.insert(internal, &external_id).is_some() {
                return Err(corrupt(format!("id {} stored twice", Quoted(&external_id))));
            }
            collection.fields.insert(internal, metadata.as_ref());
            if let Some(value) = metadata {
                let bytes = metadata_bytes;
                collection
                    .metadata
                    .insert(internal, Metadata { value, bytes });
            }
        }
        collection.next_internal_id = next_internal_id;
        for field in indexed_fields {
            collection
                .create_field_index(field)
                .map_err(|e| corrupt(format!("indexed field {}: {e}", Quoted(field))))?;
        }
        collection.defaults = defaults;
        Ok(collection)
    }

    /// The stored item with this id.
    pub fn get(&self, id: &str) -> Result<Record> {
        let internal = self
            .ids
            .get(id)
            .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        let vector = self
            .index
            .vector(internal)
            .ok_or_else(|| Error::Unsupported {
                what: format!(
                    "index {} does not keep full vectors (keep_vectors / keepVectors: false), \
                     so get cannot return one (the package's getMetadata returns id and metadata)",
                    self.config.spec
                ),
            })?
            .to_vec();
        Ok(Record {
            id: id.to_string(),
            vector,
            metadata: self.metadata_of(internal).cloned(),
        })
    }

    /// The metadata of the item with this internal id.
    pub fn metadata_of(&self, internal: u32) -> Option<&Value> {
        self.metadata.get(&internal).map(|m| &m.value)
    }

    /// The external id of an internal id.
    pub fn external_id_of(&self, internal: u32) -> Option<&str> {
        self.ids.name_of(internal)
    }

    /// The internal id of an external id.
    pub fn internal_id_of(&self, id: &str) -> Option<u32> {
        self.ids.get(id)
    }

    fn check_k(k: usize) -> Result<()> {
        if k == 0 || k > limits::MAX_K {
            return Err(Error::InvalidK {
                k,
                max: limits::MAX_K,
            });
        }
        Ok(())
    }

    /// Checks the search knobs against [`limits::MAX_EF_SEARCH`], [`limits::MAX_NPROBE`] and
    /// [`limits::MAX_RERANK`], so a hostile value cannot size a per-query allocation.
    fn check_params(params: &SearchParams) -> Result<()> {
        let knobs = [
            ("ef_search", params.ef_search, limits::MAX_EF_SEARCH),
            ("nprobe", params.nprobe, limits::MAX_NPROBE),
            ("rerank", params.rerank, limits::MAX_RERANK),
        ];
        for (name, value, max) in knobs {
            if let Some(value) = value.filter(|&v| v > max) {
                return Err(Error::InvalidArgument {
                    name,
                    reason: format!("{value} is above the limit of {max}"),
                });
            }
        }
        Ok(())
    }

    /// The `k` best items for `query`, best first: `(id, score, metadata)`.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<SearchHit>> {
        self.search_with(query, k, &SearchParams::default())
    }

    /// [`Collection::search`] with per-query parameters.
    pub fn search_with(
        &self,
        query: &[f32],
        k: usize,
        params: &SearchParams,
    ) -> Result<Vec<SearchHit>> {
        let neighbors = self.search_internal(query, k, params)?;
        Ok(self.hits(&neighbors))
    }

    /// Search returning internal ids and distances (for recall measurement and tuning).
    pub fn search_internal(
        &self,
        query: &[f32],
        k: usize,
        params: &SearchParams,
    ) -> Result<Vec<Neighbor>> {
        Self::check_k(k)?;
        let prepared = self.prepare_vector(query, 0)?;
        let params = self.defaults.merge(params);
        Self::check_params(&params)?;
        let mut scratch = self.scratch.borrow_mut();
        self.index.search(&prepared, k, &params, &mut scratch)
    }

    /// Searches a row-major block of queries at once (cheaper than one at a time for flat).
    pub fn search_batch(
        &self,
        queries: &[f32],
        k: usize,
        params: &SearchParams,
    ) -> Result<Vec<Vec<SearchHit>>> {
        Self::check_k(k)?;
        let dim = self.config.dimension;
        if queries.len() % dim != 0 {
            return Err(Error::DimensionMismatch {
                expected: dim,
                received: queries.len() % dim,
            });
        }
        if queries.len() / dim > limits::MAX_BATCH {
            return Err(Error::InvalidArgument {
                name: "queries",
                reason: format!(
                    "{} queries; a batch holds at most {}",
                    queries.len() / dim,
                    limits::MAX_BATCH
                ),
            });
        }
        Self::check_params(&self.defaults.merge(params))?;
        let mut prepared = queries.to_vec();
        for (i, row) in prepared.chunks_exact_mut(dim).enumerate() {
            self.prepare_in_place(row, i)?;
        }
        let mut scratch = self.scratch.borrow_mut();
        let params = self.defaults.merge(params);
        let results = self
            .index
            .search_batch(&prepared, k, &params, &mut scratch)?;
        Ok(results.iter().map(|n| self.hits(n)).collect())
    }

    /// Indexes the metadata field `field` (a dotted path such as `"meta.lang"`): a bitmap per
    /// value, and ordered keys for ranges, kept up to date on every add, upsert and delete.
    /// Filters on indexed fields plan from exact counts and skip evaluating metadata.
    /// Returns `false` if the field was already indexed.
    pub fn create_field_index(&mut self, field: &str) -> Result<bool> {
        let path = filter::parse_field_path(field)?;
        // In id order (the live-id set is sorted), so that postings are built by appending.
        let metadata = &self.metadata;
        let items = self
            .fields
            .all()
            .iter()
            .map(|id| (id, metadata.get(&id).map(|m| &m.value)))
            .collect::<Vec<_>>();
        let created = self.fields.create(path, items.into_iter());
        self.persist.settings_changed();
        Ok(created)
    }

    /// Stops indexing `field`; returns whether it was indexed.
    pub fn drop_field_index(&mut self, field: &str) -> Result<bool> {
        let dropped = self.fields.drop_field(&filter::parse_field_path(field)?);
        self.persist.settings_changed();
        Ok(dropped)
    }

    /// The indexed fields, in order.
    pub fn indexed_fields(&self) -> Vec<String> {
        self.fields
            .fields()
            .map(|f| f.as_str().to_string())
            .collect()
    }

    fn with_filter_context<R>(&self, f: impl FnOnce(&filter::strategy::Context<'_>) -> R) -> R {
        let metadata = |id: u32| self.metadata_of(id);
        f(&filter::strategy::Context {
            index: self.index.as_ref(),
            fields: &self.fields,
            metadata: &metadata,
        })
    }

    /// How many stored items `filter` is estimated to match (exactly, when indexed fields
    /// answer it or few items are candidates).
    pub fn estimate_matches(&self, filter: &Filter) -> Estimate {
        self.with_filter_context(|context| context.estimate(filter))
    }

    /// The `k` best items among those whose metadata matches `filter`: `min(k, matches)`
    /// results, best first. `strategy` forces pre-filter, in-index or post-filter search;
    /// [`Strategy::Auto`] chooses by estimated selectivity (see `docs/filters.md`).
    pub fn search_filtered(
        &self,
        query: &[f32],
        k: usize,
        filter: &Filter,
        params: &SearchParams,
        strategy: Strategy,
    ) -> Result<Vec<SearchHit>> {
        let found = self.search_filtered_internal(query, k, filter, params, strategy)?;
        Ok(self.hits(&found.neighbors))
    }

    /// [`Collection::search_filtered`] returning internal ids, distances and how the search
    /// ran (for recall measurement, tuning and benchmarks).
    pub fn search_filtered_internal(
        &self,
        query: &[f32],
        k: usize,
        filter: &Filter,
        params: &SearchParams,
        strategy: Strategy,
    ) -> Result<FilteredSearch> {
        Self::check_k(k)?;
        let prepared = self.prepare_vector(query, 0)?;
        let mut params = self.defaults.merge(params);
        Self::check_params(&params)?;
        if let (None, Structure::Hnsw { .. }) = (params.ef_search, self.config.spec.structure) {
            // The index's own default, made explicit: post-filtering widens it.
            params.ef_search = Some(self.config.options.ef_search);
        }
        let mut scratch = self.scratch.borrow_mut();
        self.with_filter_context(|context| {
            context.search(&prepared, k, filter, &params, strategy, &mut scratch)
        })
    }

    pub(crate) fn hits(&self, neighbors: &[Neighbor]) -> Vec<SearchHit> {
        let metric = self.config.metric;
        neighbors
            .iter()
            .filter_map(|n| {
                Some(SearchHit {
                    id: self.ids.name_of(n.id)?.to_string(),
                    score: metric.score(n.distance),
                    metadata: self.metadata_of(n.id).cloned(),
                })
            })
            .collect()
    }
}

//! The wasm-bindgen layer: conversion of typed arrays and plain values, and `Error` → a JS
//! `Error` with a stable `code`. No logic lives here; storage is the TypeScript package's job.
//!
//! Batches cross the boundary once: a batch of `n` vectors is one `Float32Array` of `n × dim`
//! floats, its ids one array of strings, and its metadata one JSON string (an array of objects
//! or nulls), parsed in Rust.

use js_sys::{Array, Float32Array, Object, Reflect, Uint8Array, JSON};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::collection::{Collection, CollectionConfig, Item, SearchDefaults, SearchHit};
use crate::error::Error;
use crate::filter::{Filter, Strategy};
use crate::index::{IndexOptions, SearchParams};
use crate::snapshot::{ChunkSource, OpenSession, UpdatePlan};

/// Turns a core error into a JS `Error` named `QuiverError` with a `code` property.
fn to_js(error: Error) -> JsValue {
    let js_error = js_sys::Error::new(&error.to_string());
    js_error.set_name("QuiverError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&js_error, &"code".into(), &error.code().into());
    js_error.into()
}

fn set(object: &Object, key: &str, value: &JsValue) {
    // Defining a data property on a plain object cannot fail.
    let _ = Reflect::set(object, &key.into(), value);
}

fn metadata_to_js(metadata: &Option<Value>) -> JsValue {
    match metadata {
        None => JsValue::NULL,
        // serde_json output is valid JSON, so JSON.parse cannot fail on it.
        Some(value) => JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL),
    }
}

fn parse_metadata(json: Option<String>, count: usize) -> Result<Vec<Option<Value>>, Error> {
    let Some(json) = json else {
        return Ok(vec![None; count]);
    };
    let values: Vec<Value> = serde_json::from_str(&json).map_err(|e| Error::InvalidMetadata {
        reason: format!("not a JSON array: {e}"),
    })?;
    if values.len() != count {
        return Err(Error::InvalidMetadata {
            reason: format!("{} metadata entries for {count} ids", values.len()),
        });
    }
    Ok(values.into_iter().map(Some).collect())
}

fn items<'a>(
    ids: &'a [String],
    vectors: &'a [f32],
    metadata: Vec<Option<Value>>,
    dimension: usize,
) -> Result<Vec<Item<'a>>, Error> {
    if vectors.len() != ids.len() * dimension {
        // Report the per-vector length when the total is not a multiple of the dimension.
        let received = if ids.len() <= 1 {
            vectors.len()
        } else {
            vectors.len() / ids.len().max(1)
        };
        return Err(Error::DimensionMismatch {
            expected: dimension,
            received,
        });
    }
    Ok(ids
        .iter()
        .zip(vectors.chunks_exact(dimension))
        .zip(metadata)
        .map(|((id, vector), metadata)| Item {
            id,
            vector,
            metadata,
        })
        .collect())
}

/// Search results as JS objects `{ id, score, metadata }`. Built as one JSON text and parsed by
/// one `JSON.parse`: two boundary crossings per search instead of several per hit, which
/// otherwise cost as much as a small search. Scores are written as the exact f64 value of the
/// f32 (17 significant digits), so they read back bit for bit.
fn hits_to_js(hits: &[SearchHit]) -> Result<Array, JsValue> {
    let mut json = Vec::with_capacity(2 + hits.len() * 96);
    json.push(b'[');
    for (i, hit) in hits.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        json.extend_from_slice(b"{\"id\":");
        // Writing a string, a finite f64 or a `Value` into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut json, &hit.id);
        json.extend_from_slice(b",\"score\":");
        let _ = serde_json::to_writer(&mut json, &f64::from(hit.score));
        json.extend_from_slice(b",\"metadata\":");
        let _ = serde_json::to_writer(&mut json, &hit.metadata);
        json.push(b'}');
    }
    json.push(b']');
    // serde_json writes valid UTF-8 and valid JSON, so neither step fails in practice.
    JSON::parse(&String::from_utf8_lossy(&json)).map(|value| Array::from(&value))
}

fn usize_param(value: Option<u32>) -> Option<usize> {
    value.map(|v| v as usize)
}

/// A collection of vectors with string ids and JSON metadata.
#[wasm_bindgen(js_name = Collection)]
pub struct WasmCollection {
    inner: Collection,
}

#[wasm_bindgen(js_class = Collection)]
impl WasmCollection {
    /// Creates an empty collection. `metric` is `"cosine"`, `"l2"` or `"dot"`; `spec` names the
    /// index (`"Flat"`, …); `seed` fixes every randomized step. `keepVectors` (default `true`)
    /// is `IndexOptions::keep_vectors`: `false` makes a lossy index (SQ8, PQ, BIN, and their
    /// IVF and HNSW forms) drop the full f32 vectors once trained; indexes over raw vectors
    /// refuse it with `invalid_argument`, since their vectors are the index.
    #[wasm_bindgen(constructor)]
    pub fn new(
        dimension: u32,
        metric: &str,
        spec: &str,
        seed: Option<f64>,
        keep_vectors: Option<bool>,
    ) -> Result<WasmCollection, JsValue> {
        let mut options = IndexOptions::default();
        if let Some(seed) = seed {
            options.seed = seed as u64;
        }
        let metric = metric.parse().map_err(to_js)?;
        let spec: crate::index::IndexSpec = spec.parse().map_err(to_js)?;
        if keep_vectors == Some(false) {
            if !spec.is_lossy() {
                return Err(to_js(Error::InvalidArgument {
                    name: "keepVectors",
                    reason: format!(
                        "{spec} stores the full vectors as its index, so it cannot drop them; \
                         keepVectors: false needs a quantized index (SQ8, PQ{{m}}, BIN, \
                         IVF{{n}},SQ8, IVF{{n}},PQ{{m}}, HNSW{{m}},SQ8)"
                    ),
                }));
            }
            options.keep_vectors = false;
        }
        let config = CollectionConfig {
            dimension: dimension as usize,
            metric,
            spec,
            options,
        };
        Ok(WasmCollection {
            inner: Collection::new(config).map_err(to_js)?,
        })
    }

    /// Adds new items: `ids[i]` owns `vectors[i*dim .. (i+1)*dim]` and `metadata[i]` of the JSON
    /// array `metadataJson`. All or nothing.
    pub fn add(
        &mut self,
        ids: Vec<String>,
        vectors: &[f32],
        metadata_json: Option<String>,
    ) -> Result<(), JsValue> {
        let metadata = parse_metadata(metadata_json, ids.len()).map_err(to_js)?;
        let batch = items(&ids, vectors, metadata, self.inner.dimension()).map_err(to_js)?;
        self.inner.add(&batch).map_err(to_js)
    }

    /// Adds or replaces items; same layout as `add`. All or nothing.
    pub fn upsert(
        &mut self,
        ids: Vec<String>,
        vectors: &[f32],
        metadata_json: Option<String>,
    ) -> Result<(), JsValue> {
        let metadata = parse_metadata(metadata_json, ids.len()).map_err(to_js)?;
        let batch = items(&ids, vectors, metadata, self.inner.dimension()).map_err(to_js)?;
        self.inner.upsert(&batch).map_err(to_js)
    }

    /// Deletes items by id; fails with `not_found` (deleting nothing) if any id is unknown.
    pub fn delete(&mut self, ids: Vec<String>) -> Result<u32, JsValue> {
        self.inner.delete(&ids).map(|n| n as u32).map_err(to_js)
    }

    /// The stored item: `{ id, vector: Float32Array, metadata }`.
    pub fn get(&self, id: &str) -> Result<JsValue, JsValue> {
        let record = self.inner.get(id).map_err(to_js)?;
        let object = Object::new();
        set(&object, "id", &record.id.as_str().into());
        set(
            &object,
            "vector",
            &Float32Array::from(&record.vector[..]).into(),
        );
        set(&object, "metadata", &metadata_to_js(&record.metadata));
        Ok(object.into())
    }

    /// The stored item without its vector: `{ id, metadata }` (works whether or not the index
    /// keeps full vectors; `get` needs them). Throws `not_found`.
    #[wasm_bindgen(js_name = getMetadata)]
    pub fn get_metadata(&self, id: &str) -> Result<JsValue, JsValue> {
        let internal = self
            .inner
            .internal_id_of(id)
            .ok_or_else(|| to_js(Error::NotFound { id: id.to_string() }))?;
        let object = Object::new();
        set(&object, "id", &id.into());
        set(
            &object,
            "metadata",
            &metadata_to_js(&self.inner.metadata_of(internal).cloned()),
        );
        Ok(object.into())
    }

    /// Whether the index keeps the full f32 vectors once trained (the `keepVectors` it was
    /// created with, read back from the manifest when opened).
    #[wasm_bindgen(getter, js_name = keepVectors)]
    pub fn keep_vectors(&self) -> bool {
        self.inner.config().options.keep_vectors
    }

    /// Whether an id is stored.
    pub fn has(&self, id: &str) -> bool {
        self.inner.contains(id)
    }

    /// The `k` best items for `query`: an array of `{ id, score, metadata }`, best first.
    /// `filterJson` (a JSON filter object as text) keeps only matching items; `strategy`
    /// (`"auto"`, `"pre-filter"`, `"in-index"`, `"post-filter"`) forces how it is applied.
    #[allow(clippy::too_many_arguments)]
    pub fn search(
        &self,
        query: &[f32],
        k: u32,
        ef_search: Option<u32>,
        nprobe: Option<u32>,
        rerank: Option<u32>,
        filter_json: Option<String>,
        strategy: Option<String>,
    ) -> Result<Array, JsValue> {
        let params = SearchParams {
            ef_search: usize_param(ef_search),
            nprobe: usize_param(nprobe),
            rerank: usize_param(rerank),
            filter: None,
        };
        let strategy = match strategy {
            Some(s) => s.parse::<Strategy>().map_err(to_js)?,
            None => Strategy::Auto,
        };
        let hits = match filter_json {
            Some(json) => {
                let filter = Filter::from_json_str(&json).map_err(to_js)?;
                self.inner
                    .search_filtered(query, k as usize, &filter, &params, strategy)
            }
            None => self.inner.search_with(query, k as usize, &params),
        }
        .map_err(to_js)?;
        hits_to_js(&hits)
    }

    /// Indexes a metadata field (a dotted path) for fast filtering; `false` if already indexed.
    #[wasm_bindgen(js_name = createFieldIndex)]
    pub fn create_field_index(&mut self, field: &str) -> Result<bool, JsValue> {
        self.inner.create_field_index(field).map_err(to_js)
    }

    /// Stops indexing a metadata field; `false` if it was not indexed.
    #[wasm_bindgen(js_name = dropFieldIndex)]
    pub fn drop_field_index(&mut self, field: &str) -> Result<bool, JsValue> {
        self.inner.drop_field_index(field).map_err(to_js)
    }

    /// The indexed metadata fields, sorted by path.
    #[wasm_bindgen(js_name = indexedFields, unchecked_return_type = "string[]")]
    pub fn indexed_fields(&self) -> Array {
        strings(&self.inner.indexed_fields())
    }

    /// Searches a block of queries (`queries.length / dim` of them) at once: an array of
    /// result arrays.
    #[wasm_bindgen(js_name = searchBatch)]
    pub fn search_batch(
        &self,
        queries: &[f32],
        k: u32,
        ef_search: Option<u32>,
        nprobe: Option<u32>,
        rerank: Option<u32>,
    ) -> Result<Array, JsValue> {
        let params = SearchParams {
            ef_search: usize_param(ef_search),
            nprobe: usize_param(nprobe),
            rerank: usize_param(rerank),
            filter: None,
        };
        let results = self
            .inner
            .search_batch(queries, k as usize, &params)
            .map_err(to_js)?;
        results
            .iter()
            .map(|hits| hits_to_js(hits).map(JsValue::from))
            .collect()
    }

    /// Trains the index on the vectors it holds (IVF: k-means, then every vector is
    /// re-assigned). IVF also trains itself once it holds 39 · nlist vectors; before that it
    /// answers exactly. A no-op for families without training.
    pub fn train(&mut self) -> Result<(), JsValue> {
        self.inner.train().map_err(to_js)
    }

    /// Whether the index has trained.
    #[wasm_bindgen(getter, js_name = isTrained)]
    pub fn is_trained(&self) -> bool {
        self.inner.index().is_trained()
    }

    /// Finds the smallest `nprobe` (IVF) or `efSearch` (HNSW) whose recall@k against exact
    /// results reaches `targetRecall`, on `queries` (`m × dim` floats) or, when omitted, on a
    /// sample of the stored vectors, and keeps it as the default for searches that leave it
    /// unset. Returns `{ knob, value, recall, reached, queries }`.
    pub fn tune(
        &mut self,
        queries: Option<Vec<f32>>,
        target_recall: f64,
        k: u32,
    ) -> Result<JsValue, JsValue> {
        let report = self
            .inner
            .tune(queries.as_deref(), target_recall, k as usize)
            .map_err(to_js)?;
        let object = Object::new();
        let knob = match report.knob {
            crate::tune::Knob::Nprobe => "nprobe",
            crate::tune::Knob::EfSearch => "efSearch",
        };
        set(&object, "knob", &knob.into());
        set(&object, "value", &(report.value as f64).into());
        set(&object, "recall", &report.recall.into());
        set(&object, "reached", &report.reached.into());
        set(&object, "queries", &(report.queries as f64).into());
        Ok(object.into())
    }

    /// Recall@k of this collection's search (knobs left unset take the defaults, e.g. the
    /// tuned ones) against exact search over the stored vectors, on `queries` (`m × dim`
    /// floats) or, when omitted, on `sample` stored vectors searched leave-one-out. Returns
    /// `{ recall, queries }`.
    #[wasm_bindgen(js_name = measureRecall)]
    pub fn measure_recall(
        &self,
        queries: Option<Vec<f32>>,
        k: u32,
        sample: u32,
        ef_search: Option<u32>,
        nprobe: Option<u32>,
        rerank: Option<u32>,
    ) -> Result<JsValue, JsValue> {
        let params = SearchParams {
            ef_search: usize_param(ef_search),
            nprobe: usize_param(nprobe),
            rerank: usize_param(rerank),
            filter: None,
        };
        let report = self
            .inner
            .measure_recall(queries.as_deref(), k as usize, sample as usize, &params)
            .map_err(to_js)?;
        let object = Object::new();
        set(&object, "recall", &report.recall.into());
        set(&object, "queries", &(report.queries as f64).into());
        Ok(object.into())
    }

    /// The knob values used when a search leaves them unset: `{ efSearch, nprobe, rerank }`,
    /// each a number or `undefined` (the family's own default).
    #[wasm_bindgen(js_name = searchDefaults)]
    pub fn search_defaults(&self) -> JsValue {
        let d = self.inner.search_defaults();
        let object = Object::new();
        let value = |v: Option<usize>| v.map_or(JsValue::UNDEFINED, |v| (v as f64).into());
        set(&object, "efSearch", &value(d.ef_search));
        set(&object, "nprobe", &value(d.nprobe));
        set(&object, "rerank", &value(d.rerank));
        object.into()
    }

    /// Replaces the knob values used when a search leaves them unset (`undefined`: the
    /// family's own default). Kept with the collection's settings on the next save.
    #[wasm_bindgen(js_name = setSearchDefaults)]
    pub fn set_search_defaults(
        &mut self,
        ef_search: Option<u32>,
        nprobe: Option<u32>,
        rerank: Option<u32>,
    ) {
        self.inner.set_search_defaults(SearchDefaults {
            ef_search: usize_param(ef_search),
            nprobe: usize_param(nprobe),
            rerank: usize_param(rerank),
        });
    }

    /// The exact `k` best items for `query` by brute force over the stored vectors, whatever
    /// the index: an array of `{ id, score, metadata }`, best first (the ground truth of
    /// `measureRecall`).
    #[wasm_bindgen(js_name = searchExact)]
    pub fn search_exact(&self, query: &[f32], k: u32) -> Result<Array, JsValue> {
        let hits = self.inner.search_exact(query, k as usize).map_err(to_js)?;
        hits_to_js(&hits)
    }

    /// Heap bytes by component: `{ vectors, codes, graph, metadata, other, total }` (see
    /// `Index::memory_breakdown`; `metadata` is string ids, JSON metadata and their maps).
    #[wasm_bindgen(js_name = memoryBreakdown)]
    pub fn memory_breakdown(&self) -> JsValue {
        let b = self.inner.index().memory_breakdown();
        let metadata = self.inner.metadata_memory_bytes();
        let object = Object::new();
        set(&object, "vectors", &(b.vectors as f64).into());
        set(&object, "codes", &(b.codes as f64).into());
        set(&object, "graph", &(b.graph as f64).into());
        set(&object, "metadata", &(metadata as f64).into());
        set(&object, "other", &(b.other as f64).into());
        set(&object, "total", &((b.total() + metadata) as f64).into());
        object.into()
    }

    /// Deleted vectors the index still holds (HNSW tombstones awaiting consolidation; 0 for
    /// families that free deleted vectors at once).
    #[wasm_bindgen(getter)]
    pub fn tombstones(&self) -> u32 {
        self.inner.index().tombstones() as u32
    }

    /// Number of stored items.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> u32 {
        self.inner.len() as u32
    }

    #[wasm_bindgen(getter)]
    pub fn dimension(&self) -> u32 {
        self.inner.dimension() as u32
    }

    #[wasm_bindgen(getter)]
    pub fn metric(&self) -> String {
        self.inner.metric().to_string()
    }

    /// The canonical index spec string.
    #[wasm_bindgen(getter)]
    pub fn spec(&self) -> String {
        self.inner.spec().to_string()
    }

    /// Every byte the collection holds (index, ids, metadata).
    #[wasm_bindgen(js_name = memoryBytes)]
    pub fn memory_bytes(&self) -> f64 {
        self.inner.memory_bytes() as f64
    }

    /// Sets the memory budget in bytes (`undefined` removes it): an `add` or `upsert` that
    /// would grow `memoryBytes` past it fails with `memory_budget_exceeded` and changes nothing.
    #[wasm_bindgen(js_name = setMemoryBudget)]
    pub fn set_memory_budget(&mut self, bytes: Option<f64>) -> Result<(), JsValue> {
        match bytes {
            Some(b) if !(b.is_finite() && b >= 0.0) => Err(to_js(Error::InvalidArgument {
                name: "bytes",
                reason: "the memory budget must be a finite number of bytes >= 0".into(),
            })),
            _ => {
                self.inner.set_memory_budget(bytes.map(|b| b as usize));
                Ok(())
            }
        }
    }

    /// The memory budget in bytes, or `undefined` when none is set.
    #[wasm_bindgen(js_name = memoryBudget)]
    pub fn memory_budget(&self) -> Option<f64> {
        self.inner.memory_budget().map(|b| b as f64)
    }

    /// Starts a save: `{ token, puts: [{ key, bytes }], deletes, full, bytes }`. Each `bytes`
    /// is a copy (never a view of wasm memory); the manifest is the last put. Store the puts,
    /// then delete `deletes`, then `ackSave(token)`; on failure `abortSave(token)`.
    #[wasm_bindgen(js_name = beginSave, unchecked_return_type = "SavePlan")]
    pub fn begin_save(&mut self) -> Result<Object, JsValue> {
        let puts = Array::new();
        let ticket = self
            .inner
            .begin_save_into(&mut |key, bytes| {
                let put = Object::new();
                set(&put, "key", &key.into());
                // `From<&[u8]>` allocates a JS buffer and copies; `bytes` is dropped right after.
                set(&put, "bytes", &Uint8Array::from(&bytes[..]).into());
                puts.push(&put);
            })
            .map_err(to_js)?;
        let result = Object::new();
        set(&result, "token", &ticket.token.into());
        set(&result, "puts", &puts);
        set(&result, "deletes", &strings(&ticket.deletes));
        set(&result, "full", &ticket.full.into());
        set(&result, "bytes", &(ticket.bytes as f64).into());
        Ok(result)
    }

    /// Marks the save `token` durable.
    #[wasm_bindgen(js_name = ackSave)]
    pub fn ack_save(&mut self, token: u32) -> Result<(), JsValue> {
        self.inner.ack_save(token).map_err(to_js)
    }

    /// Marks the save `token` failed; the next save emits its operations again.
    #[wasm_bindgen(js_name = abortSave)]
    pub fn abort_save(&mut self, token: u32) {
        self.inner.abort_save(token);
    }

    /// Journals operations from now on (call on an empty collection that will be saved to
    /// shared storage, so its changes can be rebased).
    #[wasm_bindgen(js_name = enableJournal)]
    pub fn enable_journal(&mut self) {
        self.inner.enable_journal();
    }

    /// Makes the next save a full snapshot (folding the op log in).
    pub fn compact(&mut self) {
        self.inner.compact();
    }

    #[wasm_bindgen(getter, js_name = hasUnsavedChanges)]
    pub fn has_unsaved_changes(&self) -> bool {
        self.inner.has_unsaved_changes()
    }

    /// Version of the last acknowledged or opened manifest (0 before the first save).
    #[wasm_bindgen(getter, js_name = savedVersion)]
    pub fn saved_version(&self) -> f64 {
        self.inner.saved_version() as f64
    }

    /// The chunk keys `open` needs for this manifest.
    #[wasm_bindgen(js_name = requiredChunks, unchecked_return_type = "string[]")]
    pub fn required_chunks(manifest: &[u8]) -> Result<Array, JsValue> {
        Collection::required_chunks(manifest)
            .map(|keys| strings(&keys))
            .map_err(to_js)
    }

    /// Chunk keys among `stored` (keys inside the store) that no save will read or delete:
    /// leftovers of saves that crashed before committing. With no stored manifest, every chunk
    /// key. Delete them only under the store's write lock, in or after a save's batch.
    #[wasm_bindgen(js_name = orphanChunks, unchecked_return_type = "string[]")]
    pub fn orphan_chunks(manifest: Option<Vec<u8>>, stored: Vec<String>) -> Result<Array, JsValue> {
        match manifest {
            Some(m) => Collection::orphan_chunks(&m, &stored)
                .map(|keys| strings(&keys))
                .map_err(to_js),
            None => Ok(stored
                .iter()
                .filter(|k| k.starts_with(crate::snapshot::CHUNK_KEY_PREFIX))
                .map(|k| JsValue::from(k.as_str()))
                .collect()),
        }
    }

    /// Readies the heap for opening `manifest`'s store: grows wasm memory once to the size of
    /// its records and touches every page. Call it while the records are being read: the
    /// growth and the page faults (~0.1 s for 100k × 384 in a fresh Chromium tab) then overlap
    /// the storage reads instead of adding to the decode. A bad manifest is ignored here; `open`
    /// reports it.
    #[wasm_bindgen(js_name = prepareOpen)]
    pub fn prepare_open(manifest: &[u8]) {
        if let Ok(info) = Collection::manifest_info(manifest) {
            let bytes = info.snapshot_bytes.saturating_add(info.log_bytes) as f64;
            reserve_heap_bytes(bytes, true);
        }
    }

    /// Opens a stored collection: `chunks[i]` holds the bytes stored under `keys[i]`.
    pub fn open(
        manifest: &[u8],
        keys: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "(Uint8Array | undefined)[]")] chunks: Array,
    ) -> Result<WasmCollection, JsValue> {
        reserve_heap(&chunks);
        let mut source = JsChunks::new(keys, chunks);
        Ok(WasmCollection {
            inner: Collection::open(manifest, &mut source).map_err(to_js)?,
        })
    }

    /// `{ version, generation, dimension, metric, spec, items, snapshotBytes, logBytes,
    /// logOps }` of a stored manifest.
    #[wasm_bindgen(js_name = manifestInfo, unchecked_return_type = "ManifestInfo")]
    pub fn manifest_info(manifest: &[u8]) -> Result<Object, JsValue> {
        let info = Collection::manifest_info(manifest).map_err(to_js)?;
        let o = Object::new();
        set(&o, "version", &(info.version as f64).into());
        set(&o, "generation", &(info.generation as f64).into());
        set(&o, "dimension", &(info.dimension as u32).into());
        set(&o, "metric", &info.metric.into());
        set(&o, "spec", &info.spec.into());
        set(&o, "items", &(info.items as f64).into());
        set(&o, "snapshotBytes", &(info.snapshot_bytes as f64).into());
        set(&o, "logBytes", &(info.log_bytes as f64).into());
        set(&o, "logOps", &(info.log_ops as f64).into());
        Ok(o)
    }

    /// How to catch up with a newer manifest: `{ kind: "upToDate" | "incremental" | "reopen",
    /// keys }` (`keys`: the chunks `applyUpdate` needs).
    #[wasm_bindgen(js_name = updatePlan, unchecked_return_type = "UpdatePlan")]
    pub fn update_plan(&self, manifest: &[u8]) -> Result<Object, JsValue> {
        let (kind, keys) = match self.inner.update_plan(manifest).map_err(to_js)? {
            UpdatePlan::UpToDate => ("upToDate", Vec::new()),
            UpdatePlan::Incremental(keys) => ("incremental", keys),
            UpdatePlan::Reopen => ("reopen", Vec::new()),
        };
        let o = Object::new();
        set(&o, "kind", &kind.into());
        set(&o, "keys", &strings(&keys));
        Ok(o)
    }

    /// Replays the new log operations of `manifest` (after `updatePlan` said "incremental").
    #[wasm_bindgen(js_name = applyUpdate)]
    pub fn apply_update(
        &mut self,
        manifest: &[u8],
        keys: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "(Uint8Array | undefined)[]")] chunks: Array,
    ) -> Result<(), JsValue> {
        let mut source = JsChunks::new(keys, chunks);
        self.inner
            .apply_update(manifest, &mut source)
            .map_err(to_js)
    }

    /// Replays this collection's unsaved operations onto `target` (a newer version of the same
    /// store), last writer wins.
    #[wasm_bindgen(js_name = rebaseOnto)]
    pub fn rebase_onto(&self, target: &mut WasmCollection) -> Result<(), JsValue> {
        self.inner.rebase_onto(&mut target.inner).map_err(to_js)
    }
}

#[wasm_bindgen(typescript_custom_section)]
const PERSISTENCE_TYPES: &str = r#"
/** What `beginSave` returns: records to write (copies; the manifest last) and keys to delete. */
export interface SavePlan { token: number; puts: { key: string; bytes: Uint8Array }[]; deletes: string[]; full: boolean; bytes: number }
/** How to catch up with a newer manifest of the same store. */
export interface UpdatePlan { kind: "upToDate" | "incremental" | "reopen"; keys: string[] }
/** What a stored manifest says. */
export interface ManifestInfo { version: number; generation: number; dimension: number; metric: string; spec: string; items: number; snapshotBytes: number; logBytes: number; logOps: number }
"#;

fn strings(values: &[String]) -> Array {
    values.iter().map(|s| JsValue::from(s.as_str())).collect()
}

/// Chunks loaded by JavaScript, read (copied into wasm memory) one at a time as decoding
/// reaches them.
/// Grows the heap once, by about what decoding `chunks` will hold, before decoding them.
///
/// Decoding allocates the store piece by piece (an HNSW store's vectors are 256 KB pages), and
/// each time the allocator runs out it grows the wasm memory: hundreds of `memory.grow` calls
/// for a large store. In V8 each one costs milliseconds (it re-creates the memory's
/// `ArrayBuffer` and reports external memory, which triggers garbage collections): they made
/// the first open of a 100k × 384 HNSW store in a fresh instance ~1 s slower than later opens.
/// Allocating the total once and freeing it leaves the memory in the allocator's free space,
/// where the decoded pieces then fit. Opening an already grown instance is unaffected.
fn reserve_heap(chunks: &Array) {
    let total: f64 = chunks
        .iter()
        .filter_map(|c| c.dyn_into::<Uint8Array>().ok())
        .map(|c| c.length() as f64)
        .sum();
    reserve_heap_bytes(total, false);
}

/// Allocates ~1.1 × `bytes` once and frees it (see [`reserve_heap`]); with `touch`, also writes
/// one byte per 4 KiB page so the operating system maps the pages now rather than during
/// decoding.
fn reserve_heap_bytes(bytes: f64, touch: bool) {
    // Bounded by the address space: a failed reservation just leaves the growing to decoding.
    let bytes = (bytes * 1.1).min((u32::MAX / 2) as f64) as usize;
    let mut reserve: Vec<u8> = Vec::new();
    if reserve.try_reserve_exact(bytes).is_ok() && touch {
        for page in reserve.spare_capacity_mut().chunks_mut(4096) {
            page[0].write(0);
        }
        // Keep the writes: the optimizer may not drop them as dead stores to freed memory.
        std::hint::black_box(&mut reserve);
    }
}

struct JsChunks {
    index: std::collections::HashMap<String, u32>,
    chunks: Array,
}

impl JsChunks {
    fn new(keys: Vec<String>, chunks: Array) -> Self {
        let index = keys
            .into_iter()
            .enumerate()
            .map(|(i, k)| (k, i as u32))
            .collect();
        JsChunks { index, chunks }
    }

    fn get(&self, key: &str) -> Option<Uint8Array> {
        let i = *self.index.get(key)?;
        self.chunks.get(i).dyn_into::<Uint8Array>().ok()
    }
}

impl ChunkSource for JsChunks {
    fn stored_len(&self, key: &str) -> Option<usize> {
        self.get(key).map(|a| a.length() as usize)
    }

    fn read(&mut self, key: &str) -> Option<Vec<u8>> {
        self.get(key).map(|a| a.to_vec())
    }
}

/// A store being opened while its records load (see `snapshot::OpenSession`): `accept` each
/// record as its read completes, in any order, then `finish`. Each record is copied into wasm
/// memory and checked (length, CRC-32) on arrival, so that work overlaps the remaining reads.
/// `free()` abandons the open.
#[wasm_bindgen(js_name = OpenSession)]
pub struct WasmOpenSession {
    inner: Option<OpenSession>,
}

#[wasm_bindgen(js_class = OpenSession)]
impl WasmOpenSession {
    /// Starts opening the store `manifest` describes; a bad manifest throws `corrupt` or
    /// `unsupported_version`.
    #[wasm_bindgen(constructor)]
    pub fn new(manifest: &[u8]) -> Result<WasmOpenSession, JsValue> {
        Ok(WasmOpenSession {
            inner: Some(OpenSession::new(manifest).map_err(to_js)?),
        })
    }

    fn spent() -> JsValue {
        to_js(Error::InvalidArgument {
            name: "session",
            reason: "this open already finished".into(),
        })
    }

    /// The record keys to load, in decoding order; `accept` takes an index into them.
    pub fn keys(&self) -> Array {
        strings(self.inner.as_ref().map_or(&[], |s| s.keys()))
    }

    /// Grows the heap once to fit the store (see `Collection.prepareOpen`): call it once the
    /// reads are issued, before most records arrive.
    pub fn prepare(&self) {
        if let Some(s) = &self.inner {
            reserve_heap_bytes(s.stored_bytes() as f64, true);
        }
    }

    /// Takes the record `keys()[index]`; throws `corrupt` at once if it fails its check.
    pub fn accept(&mut self, index: u32, bytes: Vec<u8>) -> Result<(), JsValue> {
        let session = self.inner.as_mut().ok_or_else(Self::spent)?;
        session.accept(index as usize, bytes).map_err(to_js)
    }

    /// Decodes the accepted records into a collection (`corrupt` if one is missing). The
    /// session is spent either way.
    pub fn finish(&mut self) -> Result<WasmCollection, JsValue> {
        let session = self.inner.take().ok_or_else(Self::spent)?;
        Ok(WasmCollection {
            inner: session.finish().map_err(to_js)?,
        })
    }
}

/// Whether this build uses the SIMD128 kernels.
#[wasm_bindgen(js_name = simdEnabled)]
pub fn simd_enabled() -> bool {
    crate::distance::SIMD128
}

/// The crate version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Every error code the core can produce.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Array {
    Error::ALL_CODES.iter().map(|c| JsValue::from(*c)).collect()
}

/// Raw kernels over `Float32Array`s, for benchmarks and kernel tests from JavaScript.
#[wasm_bindgen(js_name = l2Squared)]
pub fn l2_squared(a: &[f32], b: &[f32]) -> Result<f32, JsValue> {
    if a.len() != b.len() {
        return Err(to_js(Error::DimensionMismatch {
            expected: a.len(),
            received: b.len(),
        }));
    }
    Ok(crate::distance::l2_squared(a, b))
}

/// Inner product of two equal-length `Float32Array`s.
#[wasm_bindgen]
pub fn dot(a: &[f32], b: &[f32]) -> Result<f32, JsValue> {
    if a.len() != b.len() {
        return Err(to_js(Error::DimensionMismatch {
            expected: a.len(),
            received: b.len(),
        }));
    }
    Ok(crate::distance::dot(a, b))
}

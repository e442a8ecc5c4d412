//! The wasm-bindgen layer: a translation, with no checks and no logic of its own.
//!
//! - Creation options arrive as a plain object and reports leave as plain objects, each through
//!   one generic `serde-wasm-bindgen` call over the core's types in [`crate::api`], where the
//!   checks live.
//! - Per-query values cross as typed arrays: vectors as `Float32Array`s (a batch of `n` is one
//!   array of `n × dim` floats), the knobs as one `Float64Array` (`api::KNOBS`), stored records
//!   as `Uint8Array`s. Search crosses the boundary a fixed number of times, however many fields.
//! - Results that carry metadata cross as one JSON text for one `JSON.parse` (see `api`).
//! - A core `Error` becomes a JS `Error` named `QuiverError` with a stable `code`.
//!
//! Each method is documented in `pkg-template/src/lowlevel.ts`, which types this layer.

use js_sys::{Array, Float32Array, Reflect, Uint8Array, JSON};
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::prelude::*;

use crate::api::{self, CreateOptions, SearchOptions};
use crate::collection::{Collection, SearchDefaults};
use crate::error::Error;

mod open;

type Result<T> = std::result::Result<T, Error>;
type JsResult<T> = std::result::Result<T, JsValue>;

/// A core error as a JS `Error` named `QuiverError` with a `code` property.
impl From<Error> for JsValue {
    fn from(error: Error) -> JsValue {
        let js_error = js_sys::Error::new(&error.to_string());
        js_error.set_name("QuiverError");
        // Setting a property on a fresh Error object cannot fail.
        let _ = Reflect::set(&js_error, &"code".into(), &error.code().into());
        js_error.into()
    }
}

/// A core report as a plain object (`None` fields are left out).
fn report<T: Serialize>(value: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    // The reports hold strings, bools, options and numbers below 2⁵³: they always convert.
    value.serialize(&serializer).unwrap_or(JsValue::UNDEFINED)
}

/// Options from a plain object; a malformed one is `invalid_argument` naming the parameter.
fn from_js<T: DeserializeOwned>(name: &'static str, value: JsValue) -> Result<T> {
    serde_wasm_bindgen::from_value(value).map_err(|e| {
        // The crate's errors are JS `Error`s; their text starts with the class name.
        let text = e.to_string();
        let reason = text.strip_prefix("Error: ").unwrap_or(&text).to_string();
        Error::InvalidArgument { name, reason }
    })
}

/// JSON text written by the core (always valid) as a JS value.
fn parse(json: &str) -> JsResult<JsValue> {
    JSON::parse(json)
}

fn knobs(knobs: Option<Vec<f64>>) -> Result<SearchDefaults> {
    SearchDefaults::from_knobs(knobs.as_deref())
}

/// A collection of vectors with string ids and JSON metadata.
#[wasm_bindgen(js_name = Collection)]
pub struct WasmCollection {
    inner: Collection,
}

#[wasm_bindgen(js_class = Collection)]
impl WasmCollection {
    /// An empty collection from `{ dimension, metric, spec, seed?, keepVectors? }`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "CreateOptions")] options: JsValue,
    ) -> Result<WasmCollection> {
        let options: CreateOptions = from_js("options", options)?;
        let inner = Collection::create(&options)?;
        Ok(WasmCollection { inner })
    }

    /// Adds items: `ids[i]` owns `vectors[i*dim ..]`, `metadataJson` is a JSON array.
    pub fn add(
        &mut self,
        ids: Vec<String>,
        vectors: &[f32],
        metadata: Option<String>,
    ) -> Result<()> {
        self.inner.add_flat(&ids, vectors, metadata.as_deref())
    }

    /// Adds or replaces items; same layout as `add`.
    pub fn upsert(
        &mut self,
        ids: Vec<String>,
        vectors: &[f32],
        metadata: Option<String>,
    ) -> Result<()> {
        self.inner.upsert_flat(&ids, vectors, metadata.as_deref())
    }

    pub fn delete(&mut self, ids: Vec<String>) -> Result<u32> {
        Ok(self.inner.delete(&ids)? as u32)
    }

    /// `{ id, vector: Float32Array, metadata }`.
    pub fn get(&self, id: &str) -> JsResult<JsValue> {
        let record = self.inner.get(id)?;
        let metadata = record.metadata.as_ref();
        let object = parse(&api::record_json(&api::MetadataRecord { id, metadata }))?;
        let vector = Float32Array::from(&record.vector[..]);
        Reflect::set(&object, &"vector".into(), &vector)?;
        Ok(object)
    }

    #[wasm_bindgen(js_name = getMetadata)]
    pub fn get_metadata(&self, id: &str) -> JsResult<JsValue> {
        parse(&api::record_json(&self.inner.metadata_record(id)?))
    }

    #[wasm_bindgen(getter, js_name = keepVectors)]
    pub fn keep_vectors(&self) -> bool {
        self.inner.config().options.keep_vectors
    }

    pub fn has(&self, id: &str) -> bool {
        self.inner.contains(id)
    }

    /// `knobs`: `[efSearch, nprobe, rerank]`, NaN for unset; `filter`: JSON text.
    pub fn search(
        &self,
        query: &[f32],
        k: u32,
        knobs: Option<Vec<f64>>,
        filter: Option<String>,
        strategy: Option<String>,
    ) -> JsResult<JsValue> {
        let knobs = self::knobs(knobs)?;
        let options = SearchOptions {
            knobs,
            filter,
            strategy,
        };
        let hits = self.inner.search_options(query, k as usize, &options)?;
        parse(&api::hits_json(&hits))
    }

    #[wasm_bindgen(js_name = searchBatch)]
    pub fn search_batch(
        &self,
        queries: &[f32],
        k: u32,
        knobs: Option<Vec<f64>>,
    ) -> JsResult<JsValue> {
        let params = self::knobs(knobs)?.params();
        let results = self.inner.search_batch(queries, k as usize, &params)?;
        parse(&api::hits_batch_json(&results))
    }

    #[wasm_bindgen(js_name = searchExact)]
    pub fn search_exact(&self, query: &[f32], k: u32) -> JsResult<JsValue> {
        let hits = self.inner.search_exact(query, k as usize)?;
        parse(&api::hits_json(&hits))
    }

    #[wasm_bindgen(js_name = createFieldIndex)]
    pub fn create_field_index(&mut self, field: &str) -> Result<bool> {
        self.inner.create_field_index(field)
    }

    #[wasm_bindgen(js_name = dropFieldIndex)]
    pub fn drop_field_index(&mut self, field: &str) -> Result<bool> {
        self.inner.drop_field_index(field)
    }

    #[wasm_bindgen(js_name = indexedFields)]
    pub fn indexed_fields(&self) -> Vec<String> {
        self.inner.indexed_fields()
    }

    pub fn train(&mut self) -> Result<()> {
        self.inner.train()
    }

    #[wasm_bindgen(getter, js_name = isTrained)]
    pub fn is_trained(&self) -> bool {
        self.inner.index().is_trained()
    }

    #[wasm_bindgen(unchecked_return_type = "TuneReport")]
    pub fn tune(&mut self, queries: Option<Vec<f32>>, target: f64, k: u32) -> Result<JsValue> {
        Ok(report(&self.inner.tune(
            queries.as_deref(),
            target,
            k as usize,
        )?))
    }

    #[wasm_bindgen(js_name = measureRecall, unchecked_return_type = "RecallReport")]
    pub fn measure_recall(
        &self,
        queries: Option<Vec<f32>>,
        k: u32,
        sample: u32,
        knobs: Option<Vec<f64>>,
    ) -> Result<JsValue> {
        let (queries, k, sample) = (queries.as_deref(), k as usize, sample as usize);
        let params = self::knobs(knobs)?.params();
        Ok(report(
            &self.inner.measure_recall(queries, k, sample, &params)?,
        ))
    }

    #[wasm_bindgen(js_name = searchDefaults, unchecked_return_type = "SearchKnobs")]
    pub fn search_defaults(&self) -> JsValue {
        report(&self.inner.search_defaults())
    }

    #[wasm_bindgen(js_name = setSearchDefaults)]
    pub fn set_search_defaults(&mut self, knobs: Option<Vec<f64>>) -> Result<()> {
        self.inner.set_search_defaults(self::knobs(knobs)?);
        Ok(())
    }

    #[wasm_bindgen(js_name = memoryBreakdown, unchecked_return_type = "MemoryReport")]
    pub fn memory_breakdown(&self) -> JsValue {
        report(&self.inner.memory_report())
    }

    #[wasm_bindgen(getter)]
    pub fn tombstones(&self) -> u32 {
        self.inner.index().tombstones() as u32
    }

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

    #[wasm_bindgen(getter)]
    pub fn spec(&self) -> String {
        self.inner.spec().to_string()
    }

    #[wasm_bindgen(js_name = memoryBytes)]
    pub fn memory_bytes(&self) -> f64 {
        self.inner.memory_bytes() as f64
    }

    #[wasm_bindgen(js_name = setMemoryBudget)]
    pub fn set_memory_budget(&mut self, bytes: Option<f64>) -> Result<()> {
        self.inner
            .set_memory_budget(api::memory_budget_bytes(bytes)?)
    }

    /// Refuses a batch whose estimated footprint would pass the memory budget (see
    /// `Collection::check_budget_for`): `count` items, `idBytes` of UTF-8 ids, `withMetadata`
    /// of them with `metadataBytes` of JSON metadata.
    #[wasm_bindgen(js_name = checkBudgetFor)]
    pub fn check_budget_for(
        &self,
        count: u32,
        id_bytes: f64,
        with_metadata: u32,
        metadata_bytes: f64,
    ) -> Result<()> {
        self.inner.check_budget_for(
            count as usize,
            id_bytes as usize,
            with_metadata as usize,
            metadata_bytes as usize,
        )
    }

    #[wasm_bindgen(js_name = memoryBudget)]
    pub fn memory_budget(&self) -> Option<f64> {
        self.inner.memory_budget().map(|b| b as f64)
    }

    /// Each put is copied into a JS buffer as it is encoded, so no second copy of the store
    /// is held in wasm memory.
    #[wasm_bindgen(js_name = beginSave, unchecked_return_type = "SavePlan")]
    pub fn begin_save(&mut self) -> JsResult<JsValue> {
        let puts = Array::new();
        let ticket = self.inner.begin_save_into(&mut |key, bytes| {
            puts.push(&Array::of2(&key.into(), &Uint8Array::from(&bytes[..])));
        })?;
        let plan = report(&ticket);
        Reflect::set(&plan, &"puts".into(), &puts)?;
        Ok(plan)
    }

    #[wasm_bindgen(js_name = ackSave)]
    pub fn ack_save(&mut self, token: u32) -> Result<()> {
        self.inner.ack_save(token)
    }

    #[wasm_bindgen(js_name = abortSave)]
    pub fn abort_save(&mut self, token: u32) {
        self.inner.abort_save(token);
    }

    #[wasm_bindgen(js_name = enableJournal)]
    pub fn enable_journal(&mut self) {
        self.inner.enable_journal();
    }

    pub fn compact(&mut self) {
        self.inner.compact();
    }

    #[wasm_bindgen(getter, js_name = hasUnsavedChanges)]
    pub fn has_unsaved_changes(&self) -> bool {
        self.inner.has_unsaved_changes()
    }

    #[wasm_bindgen(getter, js_name = savedVersion)]
    pub fn saved_version(&self) -> f64 {
        self.inner.saved_version() as f64
    }

    #[wasm_bindgen(js_name = manifestInfo, unchecked_return_type = "ManifestInfo")]
    pub fn manifest_info(manifest: &[u8]) -> Result<JsValue> {
        Ok(report(&Collection::manifest_info(manifest)?))
    }

    #[wasm_bindgen(js_name = updatePlan, unchecked_return_type = "UpdatePlan")]
    pub fn update_plan(&self, manifest: &[u8]) -> Result<JsValue> {
        Ok(report(&self.inner.update_plan(manifest)?))
    }

    #[wasm_bindgen(js_name = rebaseOnto)]
    pub fn rebase_onto(&self, target: &mut WasmCollection) -> Result<()> {
        self.inner.rebase_onto(&mut target.inner)
    }
}

/// Cold vectors (`coldVectors`), only in the full build: they need a lossy family, which the
/// lean build lacks, so the lean `.wasm` carries none of this (the package never calls these
/// methods on a lean collection).
#[cfg(feature = "full")]
#[wasm_bindgen(js_class = Collection)]
impl WasmCollection {
    /// Turns cold vectors on with a cache of `cacheBytes`; returns the stored row size.
    #[wasm_bindgen(js_name = enableColdVectors)]
    pub fn enable_cold_vectors(&mut self, cache_bytes: f64) -> Result<u32> {
        Ok(self.inner.enable_cold(cache_bytes)? as u32)
    }

    /// `[firstInternalId, rows]`: the encoded cold rows of a batch about to be added.
    #[wasm_bindgen(js_name = coldRowsFor, unchecked_return_type = "[number, Uint8Array]")]
    pub fn cold_rows_for(&self, ids: Vec<String>, vectors: &[f32]) -> Result<Array> {
        let (first, bytes) = self.inner.cold_rows_for(&ids, vectors)?;
        Ok(Array::of2(&first.into(), &Uint8Array::from(&bytes[..])))
    }

    #[wasm_bindgen(js_name = coldMissing)]
    pub fn cold_missing(&self) -> Result<Vec<u32>> {
        self.inner.cold_missing()
    }

    #[wasm_bindgen(js_name = stageColdRows)]
    pub fn stage_cold_rows(&self, ids: &[u32], rows: &[u8]) -> Result<()> {
        self.inner.stage_cold_rows(ids, rows)
    }

    #[wasm_bindgen(js_name = abandonColdSearch)]
    pub fn abandon_cold_search(&self) {
        self.inner.abandon_cold_search();
    }

    #[wasm_bindgen(js_name = coldReport, unchecked_return_type = "ColdReport | undefined")]
    pub fn cold_report(&self) -> JsValue {
        self.inner
            .cold_report()
            .map_or(JsValue::UNDEFINED, |r| report(&r))
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
export interface CreateOptions { dimension: number; metric: string; spec: string; seed?: number | null | undefined; keepVectors?: boolean | null | undefined }
export interface SearchKnobs { efSearch?: number; nprobe?: number; rerank?: number }
export interface TuneReport { knob: "nprobe" | "efSearch"; value: number; recall: number; reached: boolean; queries: number }
export interface RecallReport { recall: number; queries: number }
export interface MemoryReport { vectors: number; codes: number; graph: number; ids: number; metadata: number; cache: number; other: number; total: number }
export interface ColdReport { rowBytes: number; cacheBudgetBytes: number; cachedRows: number; cacheHits: number; rowsRead: number }
export interface SavePlan { token: number; puts: [string, Uint8Array][]; deletes: string[]; full: boolean; bytes: number }
export interface UpdatePlan { kind: "upToDate" | "incremental" | "reopen"; keys?: string[] }
export type SpecAvailability = "built" | "fullBuildOnly" | "never";
export interface ManifestInfo { version: number; generation: number; dimension: number; metric: string; spec: string; items: number; snapshotBytes: number; logBytes: number; logOps: number }
"#;

/// `"built"`, `"fullBuildOnly"` or `"never"` for an index spec (`api::spec_availability`).
#[wasm_bindgen(js_name = specAvailability, unchecked_return_type = "SpecAvailability")]
pub fn spec_availability(spec: &str) -> Result<String> {
    api::spec_availability(spec).map(str::to_string)
}

/// Whether this is the full build (every index family) rather than the lean one.
#[wasm_bindgen(js_name = isFullBuild)]
pub fn is_full_build() -> bool {
    cfg!(feature = "full")
}

#[wasm_bindgen(js_name = simdEnabled)]
pub fn simd_enabled() -> bool {
    crate::distance::SIMD128
}

#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Vec<String> {
    Error::ALL_CODES.iter().map(|c| c.to_string()).collect()
}

#[wasm_bindgen(js_name = l2Squared)]
pub fn l2_squared(a: &[f32], b: &[f32]) -> Result<f32> {
    api::l2_squared(a, b)
}

#[wasm_bindgen]
pub fn dot(a: &[f32], b: &[f32]) -> Result<f32> {
    api::dot(a, b)
}

//! The core's surface as plain data: the options a caller sends and the reports it gets back,
//! as serde types, with the checks on them. A binding translates each with one generic call
//! (`serde-wasm-bindgen` for the wasm one) and holds no validation of its own, so the native
//! API, the wasm binding and their tests share one rule per input.
//!
//! Results that carry user metadata (hits, records) are written as JSON text instead
//! ([`hits_json`], [`record_json`]): metadata may hold integers beyond 2⁵³, which a JS number
//! can only approximate and `serde-wasm-bindgen` refuses, and one `JSON.parse` of a whole result
//! list is cheaper than building it object by object across the boundary.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::collection::{
    ColdVectors, Collection, CollectionConfig, Item, SearchDefaults, SearchHit,
};
use crate::error::{Error, Result};
use crate::filter::{Filter, Strategy};
use crate::index::{Availability, IndexOptions, IndexSpec, SearchParams};
use crate::snapshot::cold_rows;

/// What `create` takes: `metric` is `"cosine"`, `"l2"` or `"dot"`; `spec` names the index
/// (`"Flat"`, `"HNSW16"`, …); `seed` fixes every randomized step; `keep_vectors: Some(false)`
/// makes a quantized index drop its full vectors once trained.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOptions {
    pub dimension: usize,
    pub metric: String,
    pub spec: String,
    #[serde(default)]
    pub seed: Option<f64>,
    #[serde(default)]
    pub keep_vectors: Option<bool>,
}

impl CreateOptions {
    /// The collection config these options describe. `keep_vectors: false` needs a lossy
    /// index (its codes must answer once the vectors are gone): an index over raw vectors
    /// refuses it with `invalid_argument`.
    pub fn config(&self) -> Result<CollectionConfig> {
        let mut options = IndexOptions::default();
        if let Some(seed) = self.seed {
            // JS numbers: a negative or fractional seed saturates and truncates like `as`.
            options.seed = seed as u64;
        }
        let metric = self.metric.parse()?;
        let spec: IndexSpec = self.spec.parse()?;
        if self.keep_vectors == Some(false) {
            if !spec.is_lossy() {
                return Err(Error::InvalidArgument {
                    name: "keepVectors",
                    reason: format!(
                        "{spec} stores the full vectors as its index, so it cannot drop them; \
                         keepVectors: false needs a quantized index (SQ8, PQ{{m}}, BIN, \
                         IVF{{n}},SQ8, IVF{{n}},PQ{{m}}, HNSW{{m}},SQ8)"
                    ),
                });
            }
            options.keep_vectors = false;
        }
        Ok(CollectionConfig {
            dimension: self.dimension,
            metric,
            spec,
            options,
        })
    }
}

/// One query's knobs and filter. `filter` is a JSON filter object as text; `strategy`
/// (`"auto"`, `"pre-filter"`, `"in-index"`, `"post-filter"`) forces how it is applied.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    pub knobs: SearchDefaults,
    pub filter: Option<String>,
    pub strategy: Option<String>,
}

/// How many values a knob array holds: `[efSearch, nprobe, rerank]`.
pub const KNOBS: usize = 3;

impl SearchDefaults {
    /// The knobs from their compact form, `[efSearch, nprobe, rerank]` with NaN for "unset":
    /// what crosses the wasm boundary per query, as one typed array rather than an object
    /// walked field by field. A knob must be a whole number from 0 to 2³² − 1 (`rerank: 0`
    /// turns reranking off; 0 for the others is refused by the search). `None` leaves every
    /// knob unset.
    pub fn from_knobs(knobs: Option<&[f64]>) -> Result<Self> {
        let Some(knobs) = knobs else {
            return Ok(SearchDefaults::default());
        };
        let &[ef_search, nprobe, rerank] = knobs else {
            return Err(Error::InvalidArgument {
                name: "knobs",
                reason: format!(
                    "expected {KNOBS} values [efSearch, nprobe, rerank], got {}",
                    knobs.len()
                ),
            });
        };
        let knob = |name: &'static str, v: f64| -> Result<Option<usize>> {
            if v.is_nan() {
                Ok(None)
            } else if v >= 0.0 && v <= f64::from(u32::MAX) && v.fract() == 0.0 {
                Ok(Some(v as usize))
            } else {
                Err(Error::InvalidArgument {
                    name,
                    reason: "must be a whole number from 0 to 4294967295".into(),
                })
            }
        };
        Ok(SearchDefaults {
            ef_search: knob("efSearch", ef_search)?,
            nprobe: knob("nprobe", nprobe)?,
            rerank: knob("rerank", rerank)?,
        })
    }

    /// These knobs as per-query parameters.
    pub fn params(&self) -> SearchParams<'static> {
        SearchParams {
            ef_search: self.ef_search,
            nprobe: self.nprobe,
            rerank: self.rerank,
            filter: None,
        }
    }
}

/// [`Collection::memory_report`]: heap bytes by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemoryReport {
    pub vectors: usize,
    pub codes: usize,
    pub graph: usize,
    /// External (string) ids and their lookup table.
    pub ids: usize,
    /// JSON metadata, its map and the field indexes.
    pub metadata: usize,
    /// The cold vectors' cache and staged rows (0 without cold vectors).
    pub cache: usize,
    pub other: usize,
    pub total: usize,
}

/// [`Collection::cold_report`]: the cold vectors' row size and cache counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ColdReport {
    /// Bytes per stored row (`snapshot::cold_rows::row_bytes`).
    pub row_bytes: usize,
    pub cache_budget_bytes: usize,
    pub cached_rows: usize,
    /// Candidate rows served from the cache.
    pub cache_hits: u64,
    /// Rows read from storage.
    pub rows_read: u64,
}

/// [`Collection::metadata_record`]: an item without its vector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetadataRecord<'a> {
    pub id: &'a str,
    pub metadata: Option<&'a Value>,
}

/// A memory budget given as a JS number: finite and non-negative, or absent.
pub fn memory_budget_bytes(bytes: Option<f64>) -> Result<Option<usize>> {
    match bytes {
        Some(b) if !(b.is_finite() && b >= 0.0) => Err(Error::InvalidArgument {
            name: "bytes",
            reason: "the memory budget must be a finite number of bytes >= 0".into(),
        }),
        _ => Ok(bytes.map(|b| b as usize)),
    }
}

/// Parses a batch's metadata: a JSON array of objects or nulls, one per id.
fn parse_metadata(json: Option<&str>, count: usize) -> Result<Vec<Option<Value>>> {
    let Some(json) = json else {
        return Ok(vec![None; count]);
    };
    let values: Vec<Value> = serde_json::from_str(json).map_err(|e| Error::InvalidMetadata {
        reason: format!("not a JSON array: {e}"),
    })?;
    if values.len() != count {
        return Err(Error::InvalidMetadata {
            reason: format!("{} metadata entries for {count} ids", values.len()),
        });
    }
    Ok(values.into_iter().map(Some).collect())
}

/// A batch from its flat layout: `ids[i]` owns `vectors[i*dim .. (i+1)*dim]` and entry `i` of
/// the JSON array `metadata_json`.
fn flat_batch<'a>(
    ids: &'a [String],
    vectors: &'a [f32],
    metadata_json: Option<&str>,
    dimension: usize,
) -> Result<Vec<Item<'a>>> {
    let metadata = parse_metadata(metadata_json, ids.len())?;
    if vectors.len() != ids.len() * dimension {
        // Report the per-vector length when the total is not a multiple of the dimension.
        let received = if ids.len() <= 1 {
            vectors.len()
        } else {
            vectors.len() / ids.len()
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

/// Writes a score as the exact f64 value of the f32 (17 significant digits), so a JS number
/// reads it back bit for bit; the f32's own shortest form would parse to a different f64.
fn score_as_f64<S: Serializer>(score: &f32, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_f64(f64::from(*score))
}

#[derive(Serialize)]
struct HitView<'a> {
    id: &'a str,
    #[serde(serialize_with = "score_as_f64")]
    score: f32,
    metadata: &'a Option<Value>,
}

/// Search results as one JSON array of `{ id, score, metadata }`, best first.
pub fn hits_json(hits: &[SearchHit]) -> String {
    let views: Vec<HitView> = hits
        .iter()
        .map(|h| HitView {
            id: &h.id,
            score: h.score,
            metadata: &h.metadata,
        })
        .collect();
    // Strings, finite f64s and `Value`s always serialize.
    serde_json::to_string(&views).unwrap_or_default()
}

/// Any serializable value as JSON text (a record, a metadata record).
pub fn record_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Many queries' results as one JSON array of result arrays (see [`hits_json`]).
pub fn hits_batch_json(results: &[Vec<SearchHit>]) -> String {
    let mut json = String::from("[");
    for (i, hits) in results.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&hits_json(hits));
    }
    json.push(']');
    json
}

/// Chunk keys among `stored` that no save will read or delete (see
/// [`Collection::orphan_chunks`]); with no stored manifest, every chunk key.
pub fn orphan_chunks(manifest: Option<&[u8]>, stored: &[String]) -> Result<Vec<String>> {
    match manifest {
        Some(m) => Collection::orphan_chunks(m, stored),
        None => Ok(stored
            .iter()
            .filter(|k| k.starts_with(crate::snapshot::CHUNK_KEY_PREFIX))
            .cloned()
            .collect()),
    }
}

/// The squared L2 distance of two equal-length vectors (a raw kernel, for benchmarks and
/// kernel tests from JavaScript).
/// Which build holds the family `spec` names: `"built"` (this one), `"fullBuildOnly"` (the full
/// build, which the package loads on demand) or `"never"` (no build: creating it is
/// `invalid_spec`). A spec that does not parse is `invalid_spec`.
pub fn spec_availability(spec: &str) -> Result<&'static str> {
    let spec: IndexSpec = spec.parse()?;
    Ok(match crate::index::availability(&spec) {
        Availability::Built => "built",
        Availability::FullBuildOnly => "fullBuildOnly",
        Availability::Never => "never",
    })
}

pub fn l2_squared(a: &[f32], b: &[f32]) -> Result<f32> {
    same_length(a, b)?;
    Ok(crate::distance::l2_squared(a, b))
}

/// The inner product of two equal-length vectors.
pub fn dot(a: &[f32], b: &[f32]) -> Result<f32> {
    same_length(a, b)?;
    Ok(crate::distance::dot(a, b))
}

fn same_length(a: &[f32], b: &[f32]) -> Result<()> {
    if a.len() != b.len() {
        return Err(Error::DimensionMismatch {
            expected: a.len(),
            received: b.len(),
        });
    }
    Ok(())
}

impl Collection {
    /// Creates a collection from [`CreateOptions`].
    pub fn create(options: &CreateOptions) -> Result<Collection> {
        Collection::new(options.config()?)
    }

    /// Adds a batch in its flat layout (`ids[i]` owns `vectors[i*dim .. (i+1)*dim]`);
    /// `metadata_json` is a JSON array with one object or null per id. All or nothing.
    pub fn add_flat(
        &mut self,
        ids: &[String],
        vectors: &[f32],
        metadata_json: Option<&str>,
    ) -> Result<()> {
        self.add(&flat_batch(ids, vectors, metadata_json, self.dimension())?)
    }

    /// Adds or replaces a batch in its flat layout; see [`Collection::add_flat`].
    pub fn upsert_flat(
        &mut self,
        ids: &[String],
        vectors: &[f32],
        metadata_json: Option<&str>,
    ) -> Result<()> {
        self.upsert(&flat_batch(ids, vectors, metadata_json, self.dimension())?)
    }

    /// The `k` best items for `query` under `options` (knobs, filter, strategy).
    pub fn search_options(
        &self,
        query: &[f32],
        k: usize,
        options: &SearchOptions,
    ) -> Result<Vec<SearchHit>> {
        let params = options.knobs.params();
        let strategy = match &options.strategy {
            Some(s) => s.parse::<Strategy>()?,
            None => Strategy::Auto,
        };
        let hits = match &options.filter {
            Some(json) => Filter::from_json_str(json)
                .and_then(|filter| self.search_filtered(query, k, &filter, &params, strategy)),
            None => self.search_with(query, k, &params),
        };
        if hits.is_err() {
            // No next round: forget what this one staged and found missing.
            self.abandon_cold_search();
        }
        hits
    }

    /// The item `id` without its vector (works whether or not the index keeps vectors).
    pub fn metadata_record<'a>(&'a self, id: &'a str) -> Result<MetadataRecord<'a>> {
        let internal = self
            .internal_id_of(id)
            .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        Ok(MetadataRecord {
            id,
            metadata: self.metadata_of(internal),
        })
    }

    /// Heap bytes by part: the index's breakdown plus ids and metadata.
    pub fn memory_report(&self) -> MemoryReport {
        let b = self.index().memory_breakdown();
        let ids = self.id_memory_bytes();
        let metadata = self.metadata_memory_bytes() - ids;
        let cache = self.cold_memory_bytes();
        MemoryReport {
            vectors: b.vectors,
            codes: b.codes,
            graph: b.graph,
            ids,
            metadata,
            cache,
            other: b.other,
            total: b.total() + ids + metadata + cache,
        }
    }

    /// Turns cold vectors on (see [`Collection::enable_cold_vectors`]) with a cache of
    /// `cache_bytes` (a JS number); returns the row size of the cold storage format.
    pub fn enable_cold(&mut self, cache_bytes: f64) -> Result<usize> {
        if !(cache_bytes.is_finite() && cache_bytes >= 0.0) {
            return Err(Error::InvalidArgument {
                name: "coldCacheBytes",
                reason: "must be a finite number of bytes >= 0".into(),
            });
        }
        self.enable_cold_vectors(cache_bytes as usize)?;
        // Rows are tied to this collection's internal ids: it can never be replayed onto
        // another writer's version, so its journal need not hold every added vector.
        self.disable_rebase();
        Ok(cold_rows::row_bytes(self.dimension()))
    }

    #[inline(always)]
    fn cold(&self) -> Result<&ColdVectors> {
        self.cold_vectors().ok_or_else(|| Error::Unsupported {
            what: "this store does not keep its vectors cold (coldVectors)".into(),
        })
    }

    /// The cold rows of a batch about to be added or upserted (`ids`, `vectors` row-major):
    /// the internal id of its first row and the encoded rows, for the caller to write to cold
    /// storage before it adds the batch. Bad vectors fail as the add would.
    pub fn cold_rows_for<S: AsRef<str>>(
        &self,
        ids: &[S],
        vectors: &[f32],
    ) -> Result<(u32, Vec<u8>)> {
        self.cold()?;
        let (first, rows) = self.prepare_rows(vectors)?;
        let n = rows.len() / self.dimension();
        if ids.len() != n {
            return Err(Error::InvalidArgument {
                name: "ids",
                reason: format!("{} ids for {n} vectors", ids.len()),
            });
        }
        let internal: Vec<u32> = (first..first + n as u32).collect();
        let tags: Vec<u32> = ids
            .iter()
            .map(|id| cold_rows::id_tag(id.as_ref()))
            .collect();
        Ok((
            first,
            cold_rows::encode_rows(self.dimension(), &internal, &tags, &rows),
        ))
    }

    /// The internal ids whose rows the last search lacked (see [`ColdVectors::take_missing`]).
    pub fn cold_missing(&self) -> Result<Vec<u32>> {
        Ok(self.cold()?.take_missing())
    }

    /// Checks and stages rows read from cold storage for the next round of a search. A bad
    /// row is `Corrupt` and abandons the search.
    pub fn stage_cold_rows(&self, ids: &[u32], bytes: &[u8]) -> Result<()> {
        let cold = self.cold()?;
        // An id no longer stored gets a tag no row has: its row reads as another item's.
        let tags: Vec<u32> = ids
            .iter()
            .map(|&id| self.external_id_of(id).map_or(0, cold_rows::id_tag))
            .collect();
        match cold_rows::decode_rows(self.dimension(), ids, &tags, bytes) {
            Ok(rows) => {
                cold.stage(ids, &rows);
                Ok(())
            }
            Err(error) => {
                cold.abandon_search();
                Err(error)
            }
        }
    }

    /// Ends a search between rounds without a result (a storage read failed).
    pub fn abandon_cold_search(&self) {
        if let Some(cold) = self.cold_vectors() {
            cold.abandon_search();
        }
    }

    pub fn cold_report(&self) -> Option<ColdReport> {
        let stats = self.cold_vectors()?.stats();
        Some(ColdReport {
            row_bytes: cold_rows::row_bytes(self.dimension()),
            cache_budget_bytes: stats.budget_bytes,
            cached_rows: stats.rows,
            cache_hits: stats.hits,
            rows_read: stats.reads,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(spec: &str, keep_vectors: Option<bool>) -> Result<Collection> {
        Collection::create(&CreateOptions {
            dimension: 3,
            metric: "l2".into(),
            spec: spec.into(),
            seed: Some(7.0),
            keep_vectors,
        })
    }

    #[test]
    fn spec_availability_follows_the_build() {
        let quantized = if cfg!(feature = "full") {
            "built"
        } else {
            "fullBuildOnly"
        };
        for spec in ["Flat", "HNSW16", "hnsw8, flat"] {
            assert_eq!(spec_availability(spec).unwrap(), "built", "{spec}");
        }
        for spec in [
            "IVF64",
            "IVF64,PQ3",
            "IVF64,SQ8",
            "SQ8",
            "PQ3",
            "BIN",
            "HNSW16,SQ8",
        ] {
            assert_eq!(spec_availability(spec).unwrap(), quantized, "{spec}");
            // Whatever the build, the family either builds or says which build holds it.
            match create(spec, None) {
                Ok(_) => assert_eq!(quantized, "built"),
                Err(err) => {
                    assert_eq!(err.code(), "unsupported", "{spec}");
                    assert!(err.to_string().contains("lean build"), "{err}");
                }
            }
        }
        for spec in ["HNSW16,PQ8", "HNSW16,BIN", "IVF64,BIN"] {
            assert_eq!(spec_availability(spec).unwrap(), "never", "{spec}");
            assert_eq!(
                create(spec, None).unwrap_err().code(),
                "invalid_spec",
                "{spec}"
            );
        }
        assert_eq!(spec_availability("LSH").unwrap_err().code(), "invalid_spec");
    }

    #[test]
    fn keep_vectors_false_needs_a_lossy_index() {
        let err = create("Flat", Some(false)).unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
        assert!(err.to_string().contains("keepVectors"), "{err}");
        let sq8 = create("SQ8", Some(false)).unwrap();
        assert!(!sq8.config().options.keep_vectors);
        assert_eq!(sq8.config().options.seed, 7);
    }

    #[test]
    fn flat_batches_check_layout_and_metadata_count() {
        let mut c = create("Flat", None).unwrap();
        let ids = vec!["a".to_string(), "b".to_string()];
        let err = c.add_flat(&ids, &[0.0; 5], None).unwrap_err();
        assert_eq!(err.code(), "dimension_mismatch");
        let err = c.add_flat(&ids, &[0.0; 6], Some("[{}]")).unwrap_err();
        assert_eq!(err.code(), "invalid_metadata");
        let err = c.add_flat(&ids, &[0.0; 6], Some("{")).unwrap_err();
        assert_eq!(err.code(), "invalid_metadata");
        assert!(c.is_empty(), "a refused batch adds nothing");
        c.add_flat(
            &ids,
            &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            Some(r#"[{"n":1},null]"#),
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        let record = c.metadata_record("a").unwrap();
        assert_eq!(record_json(&record), r#"{"id":"a","metadata":{"n":1}}"#);
        assert_eq!(c.metadata_record("z").unwrap_err().code(), "not_found");
    }

    #[test]
    fn search_options_apply_filter_and_strategy() {
        let mut c = create("Flat", None).unwrap();
        let ids: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        c.add_flat(
            &ids,
            &[1.0, 0.0, 0.0, 0.9, 0.0, 0.0],
            Some(r#"[{"n":1},{"n":2}]"#),
        )
        .unwrap();
        let all = c.search_options(&[1.0, 0.0, 0.0], 2, &SearchOptions::default());
        assert_eq!(all.unwrap().len(), 2);
        let filtered = SearchOptions {
            filter: Some(r#"{"n":2}"#.into()),
            strategy: Some("pre-filter".into()),
            ..SearchOptions::default()
        };
        let hits = c.search_options(&[1.0, 0.0, 0.0], 2, &filtered).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].id, "b");
        let bad = SearchOptions {
            strategy: Some("sideways".into()),
            ..SearchOptions::default()
        };
        assert!(c.search_options(&[1.0, 0.0, 0.0], 2, &bad).is_err());
    }

    #[test]
    fn hits_json_keeps_f32_scores_exact() {
        let hits = vec![SearchHit {
            id: "x\"y".into(),
            score: 0.1,
            metadata: None,
        }];
        let json = hits_json(&hits);
        let parsed: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed[0]["id"], "x\"y");
        assert_eq!(parsed[0]["score"].as_f64(), Some(f64::from(0.1f32)));
        assert!(parsed[0]["metadata"].is_null());
    }

    #[test]
    fn knobs_are_three_values_with_nan_for_unset() {
        let knobs = SearchDefaults::from_knobs(Some(&[40.0, f64::NAN, 0.0])).unwrap();
        assert_eq!(knobs.ef_search, Some(40));
        assert_eq!(knobs.nprobe, None);
        assert_eq!(
            knobs.rerank,
            Some(0),
            "rerank 0 (off) is a value, not unset"
        );
        let none = SearchDefaults::from_knobs(None).unwrap();
        assert_eq!(none, SearchDefaults::default());
        let err = SearchDefaults::from_knobs(Some(&[1.0, 2.0])).unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
        for bad in [-1.0, 1.5, f64::INFINITY, 5e9] {
            let err = SearchDefaults::from_knobs(Some(&[bad, f64::NAN, f64::NAN])).unwrap_err();
            assert!(err.to_string().contains("efSearch"), "{bad}: {err}");
        }
    }

    #[test]
    fn memory_budgets_are_finite_and_non_negative() {
        assert_eq!(memory_budget_bytes(None).unwrap(), None);
        assert_eq!(memory_budget_bytes(Some(1024.0)).unwrap(), Some(1024));
        for bad in [f64::NAN, -1.0, f64::INFINITY] {
            assert_eq!(
                memory_budget_bytes(Some(bad)).unwrap_err().code(),
                "invalid_argument"
            );
        }
    }
}

//! The contract every index family implements ([`Index`]) and the types it speaks in: per-query
//! knobs ([`SearchParams`]), caller-owned buffers ([`Scratch`]), build options
//! ([`IndexOptions`]), memory accounting ([`MemoryBreakdown`]) and the source of full vectors
//! for rerank ([`VectorSource`]). Kept apart from `index/mod.rs`, which builds families from a
//! spec, so that families import the contract without importing each other through it.

use super::spec::IndexSpec;
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::topk::Neighbor;

/// Default `ef_construction` (hnswlib's and the benchmark setting).
pub const DEFAULT_EF_CONSTRUCTION: usize = 200;

/// Default `ef_search` when neither [`SearchParams::ef_search`] nor the options set one. On the
/// MiniLM dev set (20k × 384, cosine) with `m = 16` this gives recall@10 ≥ 0.98.
pub const DEFAULT_EF_SEARCH: usize = 64;

/// Supplies full (prepared: validated, normalized for cosine) vectors by internal id, for
/// rerank when the index does not keep them.
pub trait VectorSource {
    /// Writes the vectors of `ids`, in order, into `out` (`ids.len() × dim`, row-major). An id
    /// the source does not know is an error (typically [`Error::NotFound`]).
    fn fetch(&self, ids: &[u32], out: &mut [f32]) -> Result<()>;

    /// [`VectorSource::fetch`] for the rerank of `query`'s candidates `ids`.
    fn fetch_for(&self, _query: &[f32], ids: &[u32], out: &mut [f32]) -> Result<()> {
        self.fetch(ids, out)
    }

    /// The candidate ids a search of `query` at `depth` found last time, when the source asks
    /// the index to skip finding them again (a source that reads rows in rounds, see
    /// `collection::cold`); `None` by default.
    fn replay(&self, _query: &[f32], _depth: usize) -> Option<Vec<u32>> {
        None
    }
}

/// Per-query parameters. Families ignore the knobs that do not apply to them.
#[derive(Clone, Copy, Default)]
pub struct SearchParams<'a> {
    /// HNSW: size of the dynamic candidate list (`ef` in Malkov & Yashunin).
    pub ef_search: Option<usize>,
    /// IVF: number of inverted lists probed.
    pub nprobe: Option<usize>,
    /// Quantized families: number of candidates rescored exactly in f32.
    pub rerank: Option<usize>,
    /// Only ids for which this returns `true` may appear in results (faiss `IDSelector`).
    pub filter: Option<&'a dyn Fn(u32) -> bool>,
}

impl std::fmt::Debug for SearchParams<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchParams")
            .field("ef_search", &self.ef_search)
            .field("nprobe", &self.nprobe)
            .field("rerank", &self.rerank)
            .field("filter", &self.filter.map(|_| "<fn>"))
            .finish()
    }
}

impl SearchParams<'_> {
    /// Whether `id` passes the filter (always, when there is none).
    #[inline(always)]
    pub fn accepts(&self, id: u32) -> bool {
        self.filter.is_none_or(|f| f(id))
    }
}

/// A visited set that is cleared in O(1) per query by bumping a generation counter instead of
/// zeroing O(n) marks.
#[derive(Debug, Clone, Default)]
pub struct VisitedSet {
    marks: Vec<u32>,
    generation: u32,
}

impl VisitedSet {
    /// Starts a new query over ids `< capacity`.
    pub fn reset(&mut self, capacity: usize) {
        if self.marks.len() < capacity {
            self.marks.resize(capacity, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Wrapped after 2³² queries: marks from 2³² queries ago would look current.
            self.marks.fill(0);
            self.generation = 1;
        }
    }

    /// Marks `id` visited; returns `true` if it was not visited before in this query.
    #[inline(always)]
    pub fn insert(&mut self, id: u32) -> bool {
        let slot = &mut self.marks[id as usize];
        if *slot == self.generation {
            false
        } else {
            *slot = self.generation;
            true
        }
    }

    #[inline(always)]
    pub fn contains(&self, id: u32) -> bool {
        self.marks.get(id as usize) == Some(&self.generation)
    }
}

/// Caller-owned per-query buffers, reused across queries so a query allocates nothing but its
/// result. Families take the buffers they need.
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    /// Distances of a block of rows (flat and IVF list scans).
    pub distances: Vec<f32>,
    /// Visited marks (graph traversal).
    pub visited: VisitedSet,
    /// Candidate and result heaps (graph traversal, list scans).
    pub candidates: Vec<Neighbor>,
    /// A second heap/list buffer.
    pub results: Vec<Neighbor>,
}

/// Family-independent construction options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexOptions {
    /// Seed of every randomized step (k-means initialisation, HNSW levels).
    pub seed: u64,
    /// Lossy families (SQ8, PQ, BIN): keep the full f32 vectors beside the codes, for rerank
    /// and [`Index::vector`]. `false` keeps only codes after training; rerank then needs a
    /// [`VectorSource`] ([`Index::set_vector_source`]). Default `true`.
    pub keep_vectors: bool,
    /// HNSW: size of the dynamic candidate list while inserting (`efConstruction` in Malkov &
    /// Yashunin). Default [`DEFAULT_EF_CONSTRUCTION`].
    pub ef_construction: usize,
    /// HNSW: `ef_search` used when [`SearchParams::ef_search`] is `None` (raised to `k` when
    /// smaller). Default [`DEFAULT_EF_SEARCH`].
    pub ef_search: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            seed: 0x5EED_0F0E,
            keep_vectors: true,
            ef_construction: DEFAULT_EF_CONSTRUCTION,
            ef_search: DEFAULT_EF_SEARCH,
        }
    }
}

/// The contract of an index family (faiss `Index`): a small required surface plus defaults.
pub trait Index {
    /// The spec this index was built from.
    fn spec(&self) -> IndexSpec;

    /// Vector dimension.
    fn dim(&self) -> usize;

    /// The metric distances are computed under.
    fn metric(&self) -> Metric;

    /// Whether the family's learned parameters exist (families without training are always
    /// trained). Families may accept `add` before training (IVF buffers and searches exactly).
    fn is_trained(&self) -> bool {
        true
    }

    /// Learns parameters (centroids, codebooks) from `n × dim` row-major samples. A no-op by
    /// default.
    fn train(&mut self, _vectors: &[f32]) -> Result<()> {
        Ok(())
    }

    /// Trains on the vectors the index already holds (families that accept `add` before
    /// training keep them; IVF also re-trains this way). A no-op by default.
    fn train_on_stored(&mut self) -> Result<()> {
        Ok(())
    }

    /// Lossy families: where rerank fetches full vectors that the index does not keep (see
    /// [`rerank`](super::rerank)). Unsupported by default.
    fn set_vector_source(&mut self, _source: Box<dyn VectorSource>) -> Result<()> {
        Err(Error::Unsupported {
            what: format!("index {} has no use for a vector source", self.spec()),
        })
    }

    /// Adds `ids.len()` prepared vectors (row-major, `ids.len() × dim`). Ids must not already
    /// be present. All or nothing: on error the index is unchanged.
    fn add(&mut self, ids: &[u32], vectors: &[f32]) -> Result<()>;

    /// Removes the given ids; unknown ids are ignored. Returns how many were removed.
    fn remove(&mut self, ids: &[u32]) -> usize;

    /// The `k` nearest stored vectors to a prepared `query`, best first, ties broken by id.
    fn search(
        &self,
        query: &[f32],
        k: usize,
        params: &SearchParams,
        scratch: &mut Scratch,
    ) -> Result<Vec<Neighbor>>;

    /// Searches several queries (row-major). Families override this when a block of queries is
    /// cheaper than one at a time (flat scans each row once per block).
    fn search_batch(
        &self,
        queries: &[f32],
        k: usize,
        params: &SearchParams,
        scratch: &mut Scratch,
    ) -> Result<Vec<Vec<Neighbor>>> {
        let dim = self.dim();
        queries
            .chunks_exact(dim)
            .map(|q| self.search(q, k, params, scratch))
            .collect()
    }

    /// The `k` nearest to a prepared `query` among `ids` only, best first, ties broken by id,
    /// scored exactly (this is the pre-filter path of filtered search). Ids that are not
    /// stored are skipped. The default scores each id through [`Index::vector`] and fails with
    /// [`Error::Unsupported`] when the family keeps no f32 vectors; families override it when
    /// they can score a candidate list faster or from their codes.
    fn search_candidates(
        &self,
        query: &[f32],
        k: usize,
        ids: &[u32],
        _scratch: &mut Scratch,
    ) -> Result<Vec<Neighbor>> {
        let metric = self.metric();
        let mut top = crate::topk::TopK::new(k);
        for &id in ids {
            match self.vector(id) {
                Some(row) => {
                    top.push(id, metric.distance(query, row));
                }
                None if self.contains(id) => {
                    return Err(Error::Unsupported {
                        what: format!(
                            "index {} keeps no f32 vectors to score candidates with",
                            self.spec()
                        ),
                    })
                }
                None => {}
            }
        }
        Ok(top.into_sorted_vec())
    }

    /// The stored f32 vector of `id`, when the family keeps one (lossy encodings do not).
    fn vector(&self, id: u32) -> Option<&[f32]>;

    /// Whether `id` is stored.
    fn contains(&self, id: u32) -> bool;

    /// Number of live vectors.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every byte this index holds on the heap: vectors, codes, ids, graph, tables.
    fn memory_bytes(&self) -> usize;

    /// Writes this index's whole state into its snapshot section (see `docs/format.md`,
    /// "Adding a family"): everything that affects later results or later inserts, the RNG
    /// state included, so that a reopened index replays logged operations exactly as the
    /// live one ran them. The family's `decode_state` reads it back; `snapshot::families`
    /// maps the spec to it.
    fn encode_state(&self, _out: &mut dyn crate::codec::Write) -> Result<()> {
        Err(Error::Unsupported {
            what: format!("saving a {} index", self.spec()),
        })
    }

    /// [`Index::memory_bytes`] split by component, for monitoring. The default puts everything
    /// under `other`; families override it where the split is cheap. The parts sum to
    /// `memory_bytes()`.
    fn memory_breakdown(&self) -> MemoryBreakdown {
        MemoryBreakdown {
            other: self.memory_bytes(),
            ..MemoryBreakdown::default()
        }
    }

    /// Deleted vectors still held (e.g. HNSW nodes kept for traversal until consolidation).
    /// Families that free deleted vectors at once report 0 (the default).
    fn tombstones(&self) -> usize {
        0
    }
}

/// An index's heap bytes by component (see [`Index::memory_breakdown`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryBreakdown {
    /// Full f32 vectors (flat rows, HNSW storage, kept vectors for rerank).
    pub vectors: usize,
    /// Encoded vectors: quantized codes, IVF inverted lists (for IVF-Flat the lists hold the
    /// raw vectors), codebooks and centroids.
    pub codes: usize,
    /// Graph links (HNSW).
    pub graph: usize,
    /// Everything else: id maps, build buffers, tables.
    pub other: usize,
}

impl MemoryBreakdown {
    /// The sum of the parts.
    pub fn total(&self) -> usize {
        self.vectors + self.codes + self.graph + self.other
    }

    /// Component-wise sum.
    pub fn plus(self, o: MemoryBreakdown) -> MemoryBreakdown {
        MemoryBreakdown {
            vectors: self.vectors + o.vectors,
            codes: self.codes + o.codes,
            graph: self.graph + o.graph,
            other: self.other + o.other,
        }
    }
}

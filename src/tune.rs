//! Auto-tuning of a search knob to a target recall, for any approximate index.
//!
//! [`tune`] finds the smallest value of the index's speed/recall knob (`nprobe` for IVF,
//! `ef_search` for HNSW) whose recall@k against *exact* results reaches the target:
//! - **Ground truth** is brute force over the collection's own stored vectors, scored with the
//!   same kernel the indexes use, so "exact" means exactly what flat search returns.
//! - **Queries** are the caller's, or, when none are given, a seeded sample of
//!   [`DEFAULT_TUNE_QUERIES`] stored vectors, each searched *leave-one-out* (its own id is
//!   filtered out of both the results and the truth, so a vector finding itself does not
//!   inflate recall).
//! - **Search** is a binary search over the knob's range. It is exact when recall is monotone
//!   in the knob. For IVF over raw vectors it is: probing more lists scans a superset of rows
//!   with identical distances, so every true neighbour found stays found. For graphs and lossy
//!   codes recall is monotone in expectation, not strictly; the binary search then returns a
//!   value that reaches the target, though possibly not the very smallest.
//!
//! [`measure_recall`] reuses the same ground truth (and the same leave-one-out sampling) to
//! report the recall@k of the collection's search at its current settings, for any family.
//!
//! When even the largest value misses the target (lossy codes without rerank), the report says
//! so (`reached: false`) and carries the largest value.

use crate::collection::{Collection, SearchHit};
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::index::{Index, Scratch, SearchParams, Structure};
use crate::limits;
use crate::quant::{seeded, Sample};
use crate::topk::{Neighbor, TopK};

/// Stored vectors sampled as queries when the caller gives none.
pub const DEFAULT_TUNE_QUERIES: usize = 100;

/// Largest `ef_search` the HNSW search range goes up to.
pub const MAX_TUNED_EF_SEARCH: usize = 4096;

/// Rows gathered per brute-force block.
const TRUTH_BLOCK_ROWS: usize = 256;

/// Queries scored together per brute-force block (each row is read once per group).
const TRUTH_QUERY_GROUP: usize = 8;

/// The knob a family is tuned by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Knob {
    /// IVF: lists probed.
    Nprobe,
    /// HNSW: dynamic candidate list size.
    EfSearch,
}

impl Knob {
    /// `params` with this knob set to `value`.
    pub fn apply<'a>(self, params: SearchParams<'a>, value: usize) -> SearchParams<'a> {
        match self {
            Knob::Nprobe => SearchParams {
                nprobe: Some(value),
                ..params
            },
            Knob::EfSearch => SearchParams {
                ef_search: Some(value),
                ..params
            },
        }
    }
}

/// What [`tune`] found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TuneReport {
    pub knob: Knob,
    /// The smallest value found reaching the target (or the largest tried, if none does).
    pub value: usize,
    /// Recall@k at `value`.
    pub recall: f64,
    /// Whether `recall >= target_recall`.
    pub reached: bool,
    /// Queries evaluated.
    pub queries: usize,
    /// Every `(value, recall)` evaluated, in the order tried.
    #[serde(skip)]
    pub evaluations: Vec<(usize, f64)>,
}

/// What [`measure_recall`] found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecallReport {
    /// Recall@k: the fraction of the exact top-k found by the collection's search.
    pub recall: f64,
    /// Queries evaluated.
    pub queries: usize,
}

/// Recall@k of `collection`'s search with `params` (already merged with its defaults) against
/// exact search over its stored vectors, on `queries` (row-major) or, when `None`, on a seeded
/// sample of `sample` stored vectors searched leave-one-out.
pub fn measure_recall(
    collection: &Collection,
    queries: Option<&[f32]>,
    k: usize,
    sample: usize,
    params: &SearchParams,
) -> Result<RecallReport> {
    if k == 0 || k > limits::MAX_K {
        return Err(Error::InvalidK {
            k,
            max: limits::MAX_K,
        });
    }
    if sample == 0 {
        return Err(Error::InvalidArgument {
            name: "sample",
            reason: "must be at least 1".into(),
        });
    }
    let index = collection.index();
    let stored = collection.internal_ids();
    if stored.is_empty() {
        return Err(Error::InvalidArgument {
            name: "collection",
            reason: "measuring recall needs stored vectors".into(),
        });
    }
    let queries = tune_queries(collection, index, &stored, queries, sample)?;
    let truth = exact_top_k(index, collection.metric(), &stored, &queries, k)?;
    let recall = recall(index, params, &queries, &truth, k, &mut Scratch::default())?;
    Ok(RecallReport {
        recall,
        queries: queries.len(),
    })
}

/// One tuning query: prepared vector, and the id to leave out when it is a stored vector.
struct TuneQuery {
    vector: Vec<f32>,
    exclude: Option<u32>,
}

/// Finds the smallest knob value whose recall@k reaches `target_recall` (see the module docs).
/// `queries` is row-major (`m × dim`); `None` samples the collection's own vectors.
pub fn tune(
    collection: &Collection,
    queries: Option<&[f32]>,
    target_recall: f64,
    k: usize,
) -> Result<TuneReport> {
    if !(target_recall > 0.0 && target_recall <= 1.0) {
        return Err(Error::InvalidArgument {
            name: "target_recall",
            reason: "must be in (0, 1]".into(),
        });
    }
    if k == 0 || k > limits::MAX_K {
        return Err(Error::InvalidK {
            k,
            max: limits::MAX_K,
        });
    }
    let index = collection.index();
    let (knob, low, high) = match collection.spec().structure {
        Structure::Ivf { nlist } => (Knob::Nprobe, 1, nlist),
        Structure::Hnsw { .. } => (Knob::EfSearch, k, MAX_TUNED_EF_SEARCH.max(k)),
        Structure::Flat => {
            return Err(Error::Unsupported {
                what: format!(
                    "tuning {}: it is exact, there is no knob",
                    collection.spec()
                ),
            })
        }
    };
    if !index.is_trained() {
        return Err(Error::NotTrained {
            reason: format!(
                "{} has not trained yet (it is answering exactly); add more vectors or train it \
                 before tuning",
                collection.spec()
            ),
        });
    }
    let stored = collection.internal_ids();
    if stored.is_empty() {
        return Err(Error::InvalidArgument {
            name: "collection",
            reason: "tuning needs stored vectors".into(),
        });
    }
    let queries = tune_queries(collection, index, &stored, queries, DEFAULT_TUNE_QUERIES)?;
    let truth = exact_top_k(index, collection.metric(), &stored, &queries, k)?;

    let mut scratch = Scratch::default();
    let mut evaluations = Vec::new();
    let mut recall_at = |value: usize| -> Result<f64> {
        if let Some(&(_, r)) = evaluations.iter().find(|(v, _)| *v == value) {
            return Ok(r);
        }
        let params = knob.apply(SearchParams::default(), value);
        let r = recall(index, &params, &queries, &truth, k, &mut scratch)?;
        evaluations.push((value, r));
        Ok(r)
    };
    let top = recall_at(high)?;
    let (value, recall) = if top < target_recall {
        (high, top)
    } else {
        // Invariant: recall(high) >= target; everything below `low` misses it.
        let (mut low, mut high) = (low, high);
        while low < high {
            let mid = low + (high - low) / 2;
            if recall_at(mid)? >= target_recall {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        (high, recall_at(high)?)
    };
    Ok(TuneReport {
        knob,
        value,
        recall,
        reached: recall >= target_recall,
        queries: queries.len(),
        evaluations,
    })
}

fn tune_queries(
    collection: &Collection,
    index: &dyn Index,
    stored: &[u32],
    queries: Option<&[f32]>,
    sample: usize,
) -> Result<Vec<TuneQuery>> {
    let dim = collection.dimension();
    match queries {
        Some(rows) => {
            if rows.is_empty() || rows.len() % dim != 0 {
                return Err(Error::InvalidArgument {
                    name: "queries",
                    reason: format!(
                        "{} floats is not a positive whole number of vectors of dimension {dim}",
                        rows.len()
                    ),
                });
            }
            rows.chunks_exact(dim)
                .enumerate()
                .map(|(i, row)| {
                    Ok(TuneQuery {
                        vector: collection.prepare_vector(row, i)?,
                        exclude: None,
                    })
                })
                .collect()
        }
        None => {
            let count = sample.min(stored.len());
            let mut order = stored.to_vec();
            let mut rng = seeded(collection.config().options.seed ^ 0x7E57_7E57);
            for i in 0..count {
                let j = i + rng.below(order.len() - i);
                order.swap(i, j);
            }
            order[..count]
                .iter()
                .map(|&id| {
                    let vector = stored_vector(index, id)?.to_vec();
                    Ok(TuneQuery {
                        vector,
                        exclude: Some(id),
                    })
                })
                .collect()
        }
    }
}

fn stored_vector(index: &dyn Index, id: u32) -> Result<&[f32]> {
    index.vector(id).ok_or_else(|| Error::Unsupported {
        what: format!(
            "exact results (the ground truth of tune and measureRecall, and exact search) \
             need the full vectors, which this {} index does not keep \
             (keep_vectors / keepVectors: false)",
            index.spec()
        ),
    })
}

/// Exact top-k of one query (not yet prepared) over every vector `collection` stores: brute
/// force with the kernels the indexes use, ties by internal id, whatever the index family.
/// The ground truth of [`measure_recall`], for callers that merge it across collections
/// (sharded stores). Fails with `Unsupported` for an index that keeps no full vectors.
pub fn search_exact(collection: &Collection, query: &[f32], k: usize) -> Result<Vec<Neighbor>> {
    if k == 0 || k > limits::MAX_K {
        return Err(Error::InvalidK {
            k,
            max: limits::MAX_K,
        });
    }
    let queries = [TuneQuery {
        vector: collection.prepare_vector(query, 0)?,
        exclude: None,
    }];
    let stored = collection.internal_ids();
    let mut tops = exact_neighbors(
        collection.index(),
        collection.metric(),
        &stored,
        &queries,
        k,
    )?;
    Ok(tops.pop().unwrap_or_default())
}

/// Exact top-k ids of every query over every stored vector, leave-one-out where asked.
fn exact_top_k(
    index: &dyn Index,
    metric: Metric,
    stored: &[u32],
    queries: &[TuneQuery],
    k: usize,
) -> Result<Vec<Vec<u32>>> {
    Ok(exact_neighbors(index, metric, stored, queries, k)?
        .into_iter()
        .map(|top| top.iter().map(|n| n.id).collect())
        .collect())
}

/// Exact top-k neighbours of every query over every stored vector, leave-one-out where asked.
fn exact_neighbors(
    index: &dyn Index,
    metric: Metric,
    stored: &[u32],
    queries: &[TuneQuery],
    k: usize,
) -> Result<Vec<Vec<Neighbor>>> {
    let dim = index.dim();
    let mut tops: Vec<TopK> = queries.iter().map(|_| TopK::new(k)).collect();
    let mut rows = Vec::with_capacity(TRUTH_BLOCK_ROWS * dim);
    let mut group = Vec::with_capacity(TRUTH_QUERY_GROUP * dim);
    let mut distances = vec![0.0f32; TRUTH_QUERY_GROUP * TRUTH_BLOCK_ROWS];
    for ids in stored.chunks(TRUTH_BLOCK_ROWS) {
        rows.clear();
        for &id in ids {
            rows.extend_from_slice(stored_vector(index, id)?);
        }
        for (query_group, group_tops) in queries
            .chunks(TRUTH_QUERY_GROUP)
            .zip(tops.chunks_mut(TRUTH_QUERY_GROUP))
        {
            group.clear();
            for q in query_group {
                group.extend_from_slice(&q.vector);
            }
            let out = &mut distances[..query_group.len() * ids.len()];
            metric.distance_block(&group, dim, &rows, out);
            for ((q, top), row_distances) in query_group
                .iter()
                .zip(group_tops.iter_mut())
                .zip(out.chunks_exact(ids.len()))
            {
                for (&id, &d) in ids.iter().zip(row_distances) {
                    if Some(id) != q.exclude && d <= top.threshold() {
                        top.push(id, d);
                    }
                }
            }
        }
    }
    Ok(tops.into_iter().map(TopK::into_sorted_vec).collect())
}

fn recall(
    index: &dyn Index,
    params: &SearchParams,
    queries: &[TuneQuery],
    truth: &[Vec<u32>],
    k: usize,
    scratch: &mut Scratch,
) -> Result<f64> {
    let (mut found, mut total) = (0usize, 0usize);
    for (q, expected) in queries.iter().zip(truth) {
        let exclude = q.exclude;
        let not_self = move |id: u32| Some(id) != exclude;
        let params = SearchParams {
            ef_search: params.ef_search,
            nprobe: params.nprobe,
            rerank: params.rerank,
            filter: exclude.map(|_| &not_self as &dyn Fn(u32) -> bool),
        };
        let hits = index.search(&q.vector, k, &params, scratch)?;
        found += hits.iter().filter(|h| expected.contains(&h.id)).count();
        total += expected.len();
    }
    Ok(if total == 0 {
        1.0
    } else {
        found as f64 / total as f64
    })
}

/// Recall and tuning as methods of the collection. They live here, not in `collection.rs`, so
/// the collection does not import the floor above it (docs/architecture.md).
impl Collection {
    /// Finds the smallest `nprobe` (IVF) or `ef_search` (HNSW) whose recall@k against exact
    /// results reaches `target_recall`, and keeps it as this collection's default (see
    /// [`crate::tune`]). `queries` is row-major; `None` samples the stored vectors.
    pub fn tune(
        &mut self,
        queries: Option<&[f32]>,
        target_recall: f64,
        k: usize,
    ) -> Result<TuneReport> {
        let report = tune(self, queries, target_recall, k)?;
        match report.knob {
            Knob::Nprobe => self.defaults.nprobe = Some(report.value),
            Knob::EfSearch => self.defaults.ef_search = Some(report.value),
        }
        self.persist.settings_changed();
        Ok(report)
    }

    /// Recall@k of this collection's own search (with `params`, unset knobs taken from the
    /// defaults) against exact search over the stored vectors (see [`measure_recall`]).
    pub fn measure_recall(
        &self,
        queries: Option<&[f32]>,
        k: usize,
        sample: usize,
        params: &SearchParams,
    ) -> Result<RecallReport> {
        measure_recall(self, queries, k, sample, &self.defaults.merge(params))
    }

    /// The exact `k` best items for `query` by brute force over the stored vectors, whatever
    /// the index (see [`search_exact`]): the ground truth of recall measurement.
    pub fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<SearchHit>> {
        let neighbors = search_exact(self, query, k)?;
        Ok(self.hits(&neighbors))
    }
}

//! Filtered search: estimate how many items a filter matches, choose how to search, and make
//! sure the answer holds `min(k, matches)` results whatever the index did.
//!
//! The three strategies (see `docs/filters.md` for the measured thresholds):
//! - [`Strategy::PreFilter`]: list the matching ids (from the field indexes, or by evaluating
//!   the filter) and score exactly those with [`Index::search_candidates`]. Exact, and cheap
//!   when few items match.
//! - [`Strategy::InIndex`]: hand the filter to the index through [`SearchParams::filter`]; HNSW
//!   traverses non-matching nodes but only collects matching ones, IVF probes more lists.
//! - [`Strategy::PostFilter`]: search without the filter for `k / selectivity` (plus slack)
//!   results, keep the matching ones, and search again with twice as many until `k` match.
//!
//! Whatever runs, an ANN answer with fewer than `k` results is completed by the exact
//! pre-filter path, so every strategy returns `min(k, matches)` results.

use std::str::FromStr;

use serde_json::Value;

use super::compiled::Filter;
use super::fields::{Candidates, FieldIndexes};
use crate::error::{Error, Quoted, Result};
use crate::index::{Encoding, Index, IndexSpec, Scratch, SearchParams, Structure};
use crate::topk::Neighbor;

/// How a filtered search runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Chosen per query from the estimated selectivity and the [`Thresholds`].
    #[default]
    Auto,
    /// Exact scoring of the matching ids only.
    PreFilter,
    /// The filter is checked inside the index search.
    InIndex,
    /// Unfiltered search with oversampling, then the filter.
    PostFilter,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Auto => "auto",
            Strategy::PreFilter => "pre-filter",
            Strategy::InIndex => "in-index",
            Strategy::PostFilter => "post-filter",
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Strategy::Auto),
            "pre-filter" | "prefilter" | "pre" | "exact" => Ok(Strategy::PreFilter),
            "in-index" | "inindex" | "in" | "in-graph" => Ok(Strategy::InIndex),
            "post-filter" | "postfilter" | "post" => Ok(Strategy::PostFilter),
            _ => Err(Error::InvalidArgument {
                name: "strategy",
                reason: format!(
                    "{}: expected \"auto\", \"pre-filter\", \"in-index\" or \"post-filter\"",
                    Quoted(s)
                ),
            }),
        }
    }
}

/// Where [`Strategy::Auto`] switches strategy. Pre-filter is chosen when the matching ids are
/// known and at most `pre_filter_max_matches`, or the estimated selectivity is at most the
/// relevant `pre_filter_max_selectivity_*`; otherwise post-filter when the selectivity is at
/// least `post_filter_min_selectivity`; otherwise in-index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub pre_filter_max_matches: usize,
    /// When the field indexes give the matching ids exactly (nothing to evaluate).
    pub pre_filter_max_selectivity_indexed: f64,
    /// When the filter must be evaluated on every candidate to list the matches.
    pub pre_filter_max_selectivity_unindexed: f64,
    pub post_filter_min_selectivity: f64,
}

impl Thresholds {
    /// The defaults for an index family, measured on flat, HNSW and IVF (`docs/filters.md`);
    /// the quantized families follow their structure.
    pub fn for_spec(spec: &IndexSpec) -> Self {
        match spec.structure {
            // Flat scans everything anyway: in-index is a full scan that checks the filter
            // only for rows good enough to enter the top k, so post-filtering never pays.
            Structure::Flat => Thresholds {
                pre_filter_max_matches: 0,
                // BIN scans 48-byte codes, ~30× cheaper than f32 rows: in-index (scan and
                // rerank) costs ~0.4–0.5 ms on 20k, which pre-filter's gathers reach at ~4%.
                pre_filter_max_selectivity_indexed: if spec.encoding == Encoding::Binary {
                    BIN_PRE_FILTER_INDEXED
                } else {
                    FLAT_PRE_FILTER_INDEXED
                },
                pre_filter_max_selectivity_unindexed: FLAT_PRE_FILTER_UNINDEXED,
                post_filter_min_selectivity: f64::INFINITY,
            },
            // HNSW: scoring up to ~2 000 known matches beats any graph walk; past that an
            // unfiltered walk at ef ≈ k / selectivity (post-filter) beats the in-graph walk,
            // which must step over the non-matching nodes at ef_search until ef matches are
            // collected (2–4× slower at 10–100%, measured), at recall 0.98–0.99 either way.
            Structure::Hnsw { .. } => Thresholds {
                pre_filter_max_matches: ANN_PRE_FILTER_MAX_MATCHES,
                pre_filter_max_selectivity_indexed: 0.0,
                pre_filter_max_selectivity_unindexed: HNSW_PRE_FILTER_UNINDEXED,
                post_filter_min_selectivity: 0.0,
            },
            // IVF: in-index scans the same lists post-filter would (both probe more lists as
            // selectivity drops, see `filtered_nprobe`) without the oversampled heap, so
            // post-filtering never pays.
            Structure::Ivf { .. } => Thresholds {
                pre_filter_max_matches: ANN_PRE_FILTER_MAX_MATCHES,
                pre_filter_max_selectivity_indexed: 0.0,
                pre_filter_max_selectivity_unindexed: IVF_PRE_FILTER_UNINDEXED,
                post_filter_min_selectivity: f64::INFINITY,
            },
        }
    }
}

/// IVF, filtered: the lists to probe so that the filtered top k keeps about the recall that
/// `nprobe` gives unfiltered. A filter of selectivity `s` thins every list, so the filtered
/// neighbours lie farther out, across more lists: measured on the dev set (IVF128, nprobe 16,
/// unfiltered recall@10 0.96), the nprobe that restores it grows like `s^-0.2`…`s^-0.28`
/// (×1.2 at 50%, ×1.6 at 10%, ×3.6 at 1%); `s^-1/3` keeps a margin. `None` for other
/// families.
pub fn filtered_nprobe(spec: &IndexSpec, nprobe: Option<usize>, selectivity: f64) -> Option<usize> {
    let Structure::Ivf { nlist } = spec.structure else {
        return None;
    };
    let base = nprobe.unwrap_or_else(|| crate::index::ivf::default_nprobe(nlist));
    if base == 0 {
        // Invalid: let the index report it.
        return Some(0);
    }
    let s = selectivity.clamp(1e-9, 1.0);
    let scaled = (base as f64 / s.cbrt()).ceil();
    Some((scaled as usize).clamp(base, nlist.max(base)))
}

/// HNSW post-filter: the `ef_search` of the oversampled walk for `oversampled` results, so
/// that its whole list is as accurate as the top `k` of the walk at `ef_search`. The filtered
/// top k come from anywhere in the oversampled list, and a walk at `ef = oversampled` (what
/// HNSW uses when `ef_search` is smaller) ranks its tail poorly: keeping the slack
/// `ef_search - k` beyond the oversampled depth restores it (synthetic 24-d, 10%: filtered
/// recall 0.95 → see `docs/filters.md`). `None` (no HNSW, or no `ef_search`) stays `None`.
pub fn post_filter_ef(ef_search: Option<usize>, k: usize, oversampled: usize) -> Option<usize> {
    ef_search.map(|ef| {
        let slack = ef.max(k) - k;
        oversampled.max(k).saturating_add(slack)
    })
}

/// Lossy families, post-filter: an explicit `rerank` (candidates rescored for `k` results)
/// scaled to the oversampled search, so that the matches among the oversampled results get
/// the depth the caller asked for. Unscaled, the walk for `oversampled ≥ rerank` results
/// reranked only `oversampled` code-ranked candidates (`BIN`, rerank 1000, synthetic 24-d at
/// 1%: filtered recall 0.67 where the default depth of 10 per result gave 0.998). The
/// defaults (per result) scale by themselves. At most `total` (the index's size: more would
/// only size a larger heap), never below the caller's value (already checked against
/// [`crate::limits::MAX_RERANK`]).
pub fn post_filter_rerank(
    rerank: Option<usize>,
    k: usize,
    oversampled: usize,
    total: usize,
) -> Option<usize> {
    rerank.map(|r| {
        let scaled = r as f64 * oversampled.max(k) as f64 / k.max(1) as f64;
        // `as usize` saturates.
        (scaled.ceil() as usize).min(total).max(r)
    })
}

/// Flat, matching ids known: gathering and scoring a scattered candidate costs 1.4–2.4× a row
/// of the sequential scan, so pre-filter wins below ~20% (20k × 384: 1.1 ms vs 6.1 ms at 10%,
/// even at 20%, cold caches; see `docs/filters.md`).
const FLAT_PRE_FILTER_INDEXED: f64 = 0.2;
/// `BIN`, matching ids known: pre-filter 50 µs at 1% and 0.93–1.0 ms at 10% against
/// in-index 0.42–0.46 ms (20k × 384, `bench/README.md`).
const BIN_PRE_FILTER_INDEXED: f64 = 0.04;
/// Flat, filter evaluated on every item first: evaluating JSON metadata costs 2–4× a 384-d
/// distance (cache misses through the metadata tree), so listing the matches only pays when
/// the in-index scan would itself evaluate nearly every row: measured below ~0.2%, which with
/// 256 samples means "no sampled item matched".
const FLAT_PRE_FILTER_UNINDEXED: f64 = 0.002;
/// HNSW and IVF, matching ids known: scoring a gathered candidate costs ~0.4 µs (384-d), so
/// pre-filter's cost grows with the number of matches while the index's does not: measured
/// on 20k × 384 (`docs/filters.md`), pre-filter wins up to 5–10% (1 000–2 000 matches) against
/// HNSW post-filter and IVF in-index. An absolute count, not a selectivity, so that a large
/// collection does not score a huge candidate list.
const ANN_PRE_FILTER_MAX_MATCHES: usize = 2_000;
/// HNSW, filter evaluated on every item first (≈ 0.3 µs per item): wins only while the
/// post-filter walk at ef ≈ 1.25 k / s is longer: measured between 1% (pre-filter 53 ms vs
/// 92 ms, loaded machine) and 2% (87 ms vs 75 ms) on 20k items.
const HNSW_PRE_FILTER_UNINDEXED: f64 = 0.015;
/// IVF, filter evaluated on every item first: in-index scans an eighth of the data or so and
/// evaluates only rows good enough for the top k, so listing the matches pays only when
/// hardly anything matches (in-index then probes list after list to find k).
const IVF_PRE_FILTER_UNINDEXED: f64 = 0.005;

/// Items whose metadata is evaluated to estimate a selectivity the indexes do not give.
pub const SAMPLE_SIZE: usize = 256;

/// Post-filter rounds (each doubling the oversampled k) before falling back to pre-filter.
const POST_FILTER_ROUNDS: usize = 4;

/// How many items a filter is estimated to match.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Estimated (or exact) number of matching live items.
    pub matches: f64,
    /// Live items.
    pub total: usize,
    /// Whether `matches` is an exact count.
    pub exact: bool,
    /// Whether planning already knows the matching ids (from the field indexes, or because
    /// the candidates were few enough to evaluate them all), so pre-filter evaluates nothing.
    pub ids_known: bool,
}

impl Estimate {
    /// `matches / total` (0 for an empty collection).
    pub fn selectivity(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.matches / self.total as f64
        }
    }
}

/// The result of a filtered search and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct FilteredSearch {
    pub neighbors: Vec<Neighbor>,
    /// The strategy that was asked for or chosen (never `Auto`).
    pub strategy: Strategy,
    /// Whether the chosen strategy came up short and the exact path completed the answer.
    pub fallback: bool,
    pub estimate: Estimate,
}

/// What a filtered search reads from the collection.
pub struct Context<'a> {
    pub index: &'a dyn Index,
    pub fields: &'a FieldIndexes,
    /// The metadata of a live internal id.
    pub metadata: &'a dyn Fn(u32) -> Option<&'a Value>,
}

/// A plan: the estimate plus what the estimate already found out about the matches.
struct Plan {
    estimate: Estimate,
    candidates: Option<Candidates>,
    /// The exact matching ids, when estimation had to evaluate all candidates anyway.
    matches: Option<Vec<u32>>,
}

impl Context<'_> {
    fn matches(&self, filter: &Filter, id: u32) -> bool {
        filter.matches((self.metadata)(id))
    }

    fn plan(&self, filter: &Filter) -> Plan {
        let total = self.fields.len();
        let candidates = self.fields.candidates(filter.expr());
        let indexed = candidates.as_ref().is_some_and(|c| c.exact);
        let pool = candidates
            .as_ref()
            .map_or(self.fields.all(), |candidates| &candidates.ids);
        let (matches, exact, list) = if indexed {
            (pool.len() as f64, true, None)
        } else if pool.len() <= SAMPLE_SIZE {
            let list: Vec<u32> = pool.iter().filter(|&id| self.matches(filter, id)).collect();
            (list.len() as f64, true, Some(list))
        } else {
            // Evenly spaced ranks: deterministic, so the same query always plans the same way.
            let n = pool.len();
            let hits = (0..SAMPLE_SIZE)
                // In u64: on wasm32, `i * n` could overflow usize.
                .filter_map(|i| pool.select((i as u64 * n as u64 / SAMPLE_SIZE as u64) as usize))
                .filter(|&id| self.matches(filter, id))
                .count();
            (n as f64 * hits as f64 / SAMPLE_SIZE as f64, false, None)
        };
        Plan {
            estimate: Estimate {
                matches,
                total,
                exact,
                ids_known: indexed || list.is_some(),
            },
            candidates,
            matches: list,
        }
    }

    fn choose(&self, estimate: &Estimate, k: usize) -> Strategy {
        let t = Thresholds::for_spec(&self.index.spec());
        let s = estimate.selectivity();
        let pre_max = if estimate.ids_known {
            t.pre_filter_max_selectivity_indexed
        } else {
            t.pre_filter_max_selectivity_unindexed
        };
        // Known to be at most k matches: scoring them all is the whole answer.
        let all_fit = estimate.ids_known && estimate.matches <= k as f64;
        // The absolute count applies only when the ids are known: otherwise listing them
        // costs an evaluation of every item, whatever the count.
        let few = estimate.ids_known && estimate.matches <= t.pre_filter_max_matches as f64;
        if all_fit || few || s <= pre_max {
            Strategy::PreFilter
        } else if s >= t.post_filter_min_selectivity {
            Strategy::PostFilter
        } else {
            Strategy::InIndex
        }
    }

    /// Estimates how many live items `filter` matches.
    pub fn estimate(&self, filter: &Filter) -> Estimate {
        self.plan(filter).estimate
    }

    /// The `k` nearest items to a prepared `query` among those `filter` (and `params.filter`,
    /// if set) accepts.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        filter: &Filter,
        params: &SearchParams,
        strategy: Strategy,
        scratch: &mut Scratch,
    ) -> Result<FilteredSearch> {
        let plan = self.plan(filter);
        let strategy = match strategy {
            Strategy::Auto => self.choose(&plan.estimate, k),
            forced => forced,
        };
        let mut result = FilteredSearch {
            neighbors: Vec::new(),
            strategy,
            fallback: false,
            estimate: plan.estimate.clone(),
        };
        if k == 0 || self.index.is_empty() {
            return Ok(result);
        }
        // The index's own search is exact only for raw flat; elsewhere a short answer may be
        // the index's fault rather than a lack of matches.
        let exact_index = self.index.spec() == IndexSpec::FLAT;
        let (neighbors, complete) = match strategy {
            Strategy::Auto | Strategy::PreFilter => (
                self.pre_filter(query, k, filter, &plan, params, scratch)?,
                true,
            ),
            Strategy::InIndex => {
                let neighbors = self.in_index(query, k, filter, &plan, params, scratch)?;
                let complete = exact_index || neighbors.len() >= k;
                (neighbors, complete)
            }
            Strategy::PostFilter => self.post_filter(query, k, filter, &plan, params, scratch)?,
        };
        result.neighbors = if complete {
            neighbors
        } else {
            result.fallback = true;
            self.pre_filter(query, k, filter, &plan, params, scratch)?
        };
        Ok(result)
    }

    /// Exact scoring of every matching id.
    fn pre_filter(
        &self,
        query: &[f32],
        k: usize,
        filter: &Filter,
        plan: &Plan,
        params: &SearchParams,
        scratch: &mut Scratch,
    ) -> Result<Vec<Neighbor>> {
        let mut ids = match (&plan.matches, &plan.candidates) {
            (Some(list), _) => list.clone(),
            (None, Some(c)) if c.exact => c.ids.to_vec(),
            (None, Some(c)) => c
                .ids
                .iter()
                .filter(|&id| self.matches(filter, id))
                .collect(),
            (None, None) => self
                .fields
                .all()
                .iter()
                .filter(|&id| self.matches(filter, id))
                .collect(),
        };
        if let Some(extra) = params.filter {
            ids.retain(|&id| extra(id));
        }
        match self.index.search_candidates(query, k, &ids, scratch) {
            // A family without f32 vectors to score: let it search with the exact id set.
            Err(Error::Unsupported { .. }) => {
                let set = super::posting::Posting::from_sorted(&ids);
                let accept = |id: u32| set.contains(id);
                let params = SearchParams {
                    filter: Some(&accept),
                    ..*params
                };
                self.index.search(query, k, &params, scratch)
            }
            other => other,
        }
    }

    /// The filter checked inside the index search.
    fn in_index(
        &self,
        query: &[f32],
        k: usize,
        filter: &Filter,
        plan: &Plan,
        params: &SearchParams,
        scratch: &mut Scratch,
    ) -> Result<Vec<Neighbor>> {
        let extra = |id: u32| params.filter.is_none_or(|f| f(id));
        let accept: Box<dyn Fn(u32) -> bool + '_> = match &plan.candidates {
            Some(c) if c.exact => Box::new(move |id| c.ids.contains(id) && extra(id)),
            Some(c) => {
                Box::new(move |id| c.ids.contains(id) && extra(id) && self.matches(filter, id))
            }
            None => Box::new(move |id| extra(id) && self.matches(filter, id)),
        };
        let nprobe = self.filtered_nprobe(plan, params);
        let params = SearchParams {
            filter: Some(&*accept),
            nprobe,
            ..*params
        };
        self.index.search(query, k, &params, scratch)
    }

    /// `params.nprobe`, raised for IVF by [`filtered_nprobe`] at the estimated selectivity.
    fn filtered_nprobe(&self, plan: &Plan, params: &SearchParams) -> Option<usize> {
        let total = plan.estimate.total.max(1) as f64;
        let selectivity = plan.estimate.selectivity().max(1.0 / total);
        filtered_nprobe(&self.index.spec(), params.nprobe, selectivity).or(params.nprobe)
    }

    /// Unfiltered search with oversampling; returns the matches found and whether they are
    /// complete (`k` of them, or every match because the search covered the whole index).
    fn post_filter(
        &self,
        query: &[f32],
        k: usize,
        filter: &Filter,
        plan: &Plan,
        params: &SearchParams,
        scratch: &mut Scratch,
    ) -> Result<(Vec<Neighbor>, bool)> {
        let total = self.index.len();
        let accept = |id: u32| match &plan.candidates {
            Some(c) if c.exact => c.ids.contains(id),
            Some(c) => c.ids.contains(id) && self.matches(filter, id),
            None => self.matches(filter, id),
        };
        // Expect `selectivity × k'` matches among `k'` results; a 25% margin plus a constant
        // absorbs estimation error without a second round in the common case.
        let selectivity = plan.estimate.selectivity().max(1.0 / total.max(1) as f64);
        // `as usize` saturates; the addition must too.
        let mut oversampled = (((k as f64 / selectivity) * 1.25).ceil() as usize).saturating_add(8);
        let mut kept = Vec::new();
        let nprobe = self.filtered_nprobe(plan, params);
        for _ in 0..POST_FILTER_ROUNDS {
            // Not `clamp`: k may exceed the collection size.
            oversampled = oversampled.max(k).min(total);
            let params = SearchParams {
                nprobe,
                ef_search: post_filter_ef(params.ef_search, k, oversampled),
                rerank: post_filter_rerank(params.rerank, k, oversampled, total),
                ..*params
            };
            let found = self.index.search(query, oversampled, &params, scratch)?;
            let exhausted = found.len() < oversampled || oversampled >= total;
            kept = found.into_iter().filter(|n| accept(n.id)).collect();
            if kept.len() >= k {
                kept.truncate(k);
                return Ok((kept, true));
            }
            if exhausted {
                let complete = self.index.spec() == IndexSpec::FLAT;
                return Ok((kept, complete));
            }
            oversampled = oversampled.saturating_mul(2);
        }
        Ok((kept, false))
    }
}

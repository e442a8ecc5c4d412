//! Full vectors behind a lossy index, and exact rescoring ("rerank") of candidates found in
//! the codes.
//!
//! A lossy family searches its codes for `R` candidates, then rescores them in f32 against the
//! full vectors and keeps the best `k`. The full vectors come from one of two places:
//! - **kept in memory** ([`IndexOptions::keep_vectors`], the default): an exact
//!   [`FlatIndex`] beside the codes, which also answers [`Index::vector`] (so
//!   `Collection::get` works);
//! - **fetched on demand** through a [`VectorSource`] set with [`Index::set_vector_source`],
//!   so the storage layer can keep full vectors cold (IndexedDB, a Durable Object) while only
//!   the codes sit in RAM. Only the `R` candidates of a query are fetched.
//!
//! With neither, a lossy index still searches its codes; asking for `rerank > 0` is then an
//! `unsupported` error rather than a silent downgrade.
//!
//! [`IndexOptions::keep_vectors`]: crate::index::traits::IndexOptions::keep_vectors
//! [`Index::vector`]: crate::index::traits::Index::vector
//! [`Index::set_vector_source`]: crate::index::traits::Index::set_vector_source

use super::flat::FlatIndex;
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::index::traits::Index;
use crate::topk::{Neighbor, TopK};

pub use super::traits::VectorSource;

/// Where a lossy index finds full vectors.
#[derive(Default)]
pub struct FullVectors {
    /// Kept in memory (always before training: the exact buffer).
    pub kept: Option<FlatIndex>,
    /// Fetched on demand.
    pub source: Option<Box<dyn VectorSource>>,
}

impl std::fmt::Debug for FullVectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FullVectors")
            .field("kept", &self.kept.as_ref().map(|k| k.len()))
            .field(
                "source",
                &self.source.as_ref().map(|_| "<dyn VectorSource>"),
            )
            .finish()
    }
}

impl FullVectors {
    /// Whether candidates can be rescored.
    pub fn available(&self) -> bool {
        self.kept.is_some() || self.source.is_some()
    }

    /// Heap bytes of the kept vectors (a source's storage is not ours).
    pub fn memory_bytes(&self) -> usize {
        self.kept.as_ref().map_or(0, |k| k.memory_bytes())
    }

    /// How many candidates a query rescores: `params.rerank`, else `default` when full vectors
    /// are available, else 0. Asking for rerank without full vectors is an error.
    pub fn rerank_depth(&self, requested: Option<usize>, default: usize) -> Result<usize> {
        match requested {
            Some(r) if r > 0 && !self.available() => Err(Error::Unsupported {
                what: "rerank needs the full vectors, which this index does not keep \
                       (keep_vectors / keepVectors: false): search without rerank, or set a \
                       VectorSource"
                    .into(),
            }),
            Some(r) => Ok(r),
            None if self.available() => Ok(default),
            None => Ok(0),
        }
    }

    /// The candidates of the previous round of a search of `query` at `depth`, when the
    /// source replays them (see [`VectorSource::replay`]), so the codes are not searched again.
    pub fn replay(&self, query: &[f32], depth: usize) -> Option<Vec<Neighbor>> {
        let ids = self.source.as_ref()?.replay(query, depth)?;
        Some(
            ids.into_iter()
                .map(|id| Neighbor { id, distance: 0.0 })
                .collect(),
        )
    }

    /// Rescores `candidates` exactly against `query` and returns the best `k`, best first.
    pub fn rerank(
        &self,
        metric: Metric,
        query: &[f32],
        candidates: &[Neighbor],
        k: usize,
    ) -> Result<Vec<Neighbor>> {
        let mut top = TopK::new(k);
        if let Some(kept) = &self.kept {
            let vector = |id: u32| {
                kept.vector(id).ok_or_else(|| Error::Corrupt {
                    what: format!("full vector of internal id {id} is missing"),
                })
            };
            // Four candidates per call of the four-row kernel, which is bit-identical to
            // `distance_batch`: the same score as flat search (a short group repeats its last).
            for group in candidates.chunks(4) {
                let last = group.len() - 1;
                let rows = [
                    vector(group[0].id)?,
                    vector(group[1.min(last)].id)?,
                    vector(group[2.min(last)].id)?,
                    vector(group[3.min(last)].id)?,
                ];
                let distances = metric.distance4(query, rows);
                for (c, &d) in group.iter().zip(&distances) {
                    top.push(c.id, d);
                }
            }
        } else if let Some(source) = &self.source {
            let dim = query.len();
            let ids: Vec<u32> = candidates.iter().map(|c| c.id).collect();
            let mut vectors = vec![0.0f32; ids.len() * dim];
            source.fetch_for(query, &ids, &mut vectors)?;
            let mut distances = vec![0.0f32; ids.len()];
            metric.distance_batch(query, &vectors, &mut distances);
            for (&id, &d) in ids.iter().zip(&distances) {
                top.push(id, d);
            }
        } else {
            for c in candidates {
                top.push(c.id, c.distance);
            }
        }
        Ok(top.into_sorted_vec())
    }
}

/// A lossy index with exact rerank on top: the composition used for `"IVF256,PQ48"`,
/// `"IVF256,SQ8"` (and graph indexes over codes). The inner index searches its codes for the
/// candidates; this wrapper keeps (or fetches) the full vectors and rescores them.
///
/// Rerank depth: `params.rerank`, else `default_rerank_per_k · k` when full vectors are
/// available. Before the inner index is trained it answers exactly from its own buffer, and no
/// rerank is needed.
#[derive(Debug)]
pub struct Reranked<I: Index> {
    inner: I,
    full: FullVectors,
    default_rerank_per_k: usize,
}

impl<I: Index> Reranked<I> {
    /// Wraps `inner` (empty); keeps full vectors when `keep_vectors`.
    pub fn new(inner: I, keep_vectors: bool, default_rerank_per_k: usize) -> Self {
        let kept = keep_vectors.then(|| FlatIndex::new(inner.dim(), inner.metric()));
        Reranked {
            inner,
            full: FullVectors { kept, source: None },
            default_rerank_per_k,
        }
    }

    pub fn inner(&self) -> &I {
        &self.inner
    }
}

impl<I: Index> Index for Reranked<I> {
    fn spec(&self) -> crate::index::spec::IndexSpec {
        self.inner.spec()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn metric(&self) -> Metric {
        self.inner.metric()
    }

    fn is_trained(&self) -> bool {
        self.inner.is_trained()
    }

    fn train(&mut self, vectors: &[f32]) -> Result<()> {
        self.inner.train(vectors)
    }

    fn train_on_stored(&mut self) -> Result<()> {
        self.inner.train_on_stored()
    }

    fn set_vector_source(&mut self, source: Box<dyn VectorSource>) -> Result<()> {
        self.full.source = Some(source);
        Ok(())
    }

    fn add(&mut self, ids: &[u32], vectors: &[f32]) -> Result<()> {
        // The inner index validates (dimensions, duplicates) and is all or nothing; the kept
        // store then cannot fail on ids the inner index accepted.
        self.inner.add(ids, vectors)?;
        if let Some(kept) = self.full.kept.as_mut() {
            if let Err(error) = kept.add(ids, vectors) {
                self.inner.remove(ids);
                return Err(error);
            }
        }
        Ok(())
    }

    fn remove(&mut self, ids: &[u32]) -> usize {
        if let Some(kept) = self.full.kept.as_mut() {
            kept.remove(ids);
        }
        self.inner.remove(ids)
    }

    fn search(
        &self,
        query: &[f32],
        k: usize,
        params: &crate::index::traits::SearchParams,
        scratch: &mut crate::index::traits::Scratch,
    ) -> Result<Vec<Neighbor>> {
        if !self.inner.is_trained() {
            return self.inner.search(query, k, params, scratch);
        }
        let default = self.default_rerank_per_k.saturating_mul(k);
        let depth = self.full.rerank_depth(params.rerank, default)?;
        if depth == 0 {
            return self.inner.search(query, k, params, scratch);
        }
        let candidates = match self.full.replay(query, depth.max(k)) {
            Some(candidates) => candidates,
            None => self.inner.search(query, depth.max(k), params, scratch)?,
        };
        self.full.rerank(self.metric(), query, &candidates, k)
    }

    /// Exact from the kept vectors; otherwise the inner index scores the candidates' codes
    /// and the best `default_rerank_per_k · k` are reranked through the source, if any.
    fn search_candidates(
        &self,
        query: &[f32],
        k: usize,
        ids: &[u32],
        scratch: &mut crate::index::traits::Scratch,
    ) -> Result<Vec<Neighbor>> {
        if !self.inner.is_trained() {
            return self.inner.search_candidates(query, k, ids, scratch);
        }
        if let Some(kept) = &self.full.kept {
            if query.len() != self.dim() {
                return Err(Error::DimensionMismatch {
                    expected: self.dim(),
                    received: query.len(),
                });
            }
            return kept.search_candidates(query, k, ids, scratch);
        }
        let default = self.default_rerank_per_k.saturating_mul(k);
        let depth = self.full.rerank_depth(None, default)?;
        let candidates = self
            .inner
            .search_candidates(query, depth.max(k), ids, scratch)?;
        if depth == 0 {
            return Ok(candidates);
        }
        self.full.rerank(self.metric(), query, &candidates, k)
    }

    fn vector(&self, id: u32) -> Option<&[f32]> {
        match &self.full.kept {
            Some(kept) => kept.vector(id),
            None => self.inner.vector(id),
        }
    }

    fn contains(&self, id: u32) -> bool {
        self.inner.contains(id)
    }

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn memory_bytes(&self) -> usize {
        self.inner.memory_bytes() + self.full.memory_bytes()
    }

    fn memory_breakdown(&self) -> crate::index::traits::MemoryBreakdown {
        self.inner
            .memory_breakdown()
            .plus(crate::index::traits::MemoryBreakdown {
                vectors: self.full.memory_bytes(),
                ..Default::default()
            })
    }

    fn tombstones(&self) -> usize {
        self.inner.tombstones()
    }

    /// Snapshot layout (`docs/format.md`): `RRNK` v1, `u32` default rerank per k, `u8 kept`
    /// and the kept full vectors (a flat section), then the inner index's section.
    fn encode_state(&self, out: &mut dyn crate::codec::Write) -> Result<()> {
        out.family_header(RERANKED_STATE_TAG, 1);
        out.u32(self.default_rerank_per_k as u32);
        match &self.full.kept {
            None => out.u8(0),
            Some(kept) => {
                out.u8(1);
                kept.encode_state(out)?;
            }
        }
        self.inner.encode_state(out)
    }
}

const RERANKED_STATE_TAG: [u8; 4] = *b"RRNK";

impl<I: Index> Reranked<I> {
    /// Reads what `encode_state` wrote; `decode_inner` reads the inner index's section. Checks
    /// that the kept vectors are exactly the inner index's; bad input is `Corrupt`.
    pub fn decode_state(
        dim: usize,
        metric: Metric,
        input: &mut dyn crate::codec::Read,
        decode_inner: impl FnOnce(&mut dyn crate::codec::Read) -> Result<I>,
    ) -> Result<Self> {
        let corrupt = |what: &str| Error::Corrupt {
            what: format!("reranked index: {what}"),
        };
        input.family_header(RERANKED_STATE_TAG, 1)?;
        let default_rerank_per_k = input.u32("default rerank")? as usize;
        let kept = match input.u8("kept flag")? {
            0 => None,
            1 => Some(FlatIndex::decode_state(dim, metric, input)?),
            _ => return Err(corrupt("kept flag is not a boolean")),
        };
        let inner = decode_inner(input)?;
        if let Some(kept) = &kept {
            if kept.len() != inner.len() || kept.ids().any(|id| !inner.contains(id)) {
                return Err(corrupt("kept vectors differ from the indexed ones"));
            }
        }
        Ok(Reranked {
            inner,
            full: FullVectors { kept, source: None },
            default_rerank_per_k,
        })
    }
}

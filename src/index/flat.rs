//! The flat (exact) family: a row-major arena scanned in full by the batched kernel.
//!
//! Rows are kept dense: `remove` moves the last row into the hole (O(dim)), so a scan never
//! skips tombstones. They live in a [`RowArena`], so growth never copies or doubles them. Results are exact, which makes flat the recall oracle for every other
//! family.

use crate::index::arena::{RowArena, SEGMENT_ALIGN_ROWS};
use crate::index::id_map::IdMap;
use crate::index::traits::Index;

use crate::index::spec::IndexSpec;

use crate::index::traits::Scratch;

use crate::codec::{Read, Write};
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::index::traits::SearchParams;
use crate::topk::{Neighbor, TopK};

/// Rows scored per kernel call: large enough to amortise the call, small enough that the
/// distance buffer stays in L1. The arena's segments hold a multiple of it.
const SCAN_BLOCK_ROWS: usize = SEGMENT_ALIGN_ROWS;

/// Queries scored together by [`Index::search_batch`]: each row is read once per block.
const QUERY_BLOCK: usize = 8;

/// Exact search over a dense row-major arena.
#[derive(Debug, Clone)]
pub struct FlatIndex {
    dim: usize,
    metric: Metric,
    /// `ids.len()` rows of `dim` components.
    rows: RowArena<f32>,
    /// Internal id of each row (segmented like the rows, so neither doubles on growth).
    ids: RowArena<u32>,
    /// Row of each internal id.
    row_of: IdMap,
}

impl FlatIndex {
    pub fn new(dim: usize, metric: Metric) -> Self {
        FlatIndex {
            dim,
            metric,
            rows: RowArena::new(dim),
            ids: RowArena::new(1),
            row_of: IdMap::new(),
        }
    }

    /// The rows in order (with [`FlatIndex::ids`] giving each row's id).
    pub fn row_iter(&self) -> impl Iterator<Item = &[f32]> + '_ {
        let dim = self.dim;
        self.rows.segments().flat_map(move |s| s.chunks_exact(dim))
    }

    /// A copy of the rows, row-major, in row order.
    pub fn rows_to_vec(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.ids.len() * self.dim);
        for segment in self.rows.segments() {
            out.extend_from_slice(segment);
        }
        out
    }

    /// The internal id of each row, in row order.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.ids.segments().flatten().copied()
    }

    /// A copy of [`FlatIndex::ids`].
    pub fn ids_to_vec(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.ids.len());
        for segment in self.ids.segments() {
            out.extend_from_slice(segment);
        }
        out
    }

    fn scan_into(
        &self,
        query: &[f32],
        params: &SearchParams,
        scratch: &mut Scratch,
        top: &mut TopK,
    ) {
        let dim = self.dim;
        scratch.distances.resize(SCAN_BLOCK_ROWS, 0.0);
        self.rows.for_each_block(SCAN_BLOCK_ROWS, |start, block| {
            let ids = self.ids.run(start, block.len() / dim);
            let distances = &mut scratch.distances[..ids.len()];
            self.metric.distance_batch(query, block, distances);
            push_block(top, ids, distances, params);
        });
    }
}

#[inline]
fn push_block(top: &mut TopK, ids: &[u32], distances: &[f32], params: &SearchParams) {
    let mut threshold = top.threshold();
    for (&id, &distance) in ids.iter().zip(distances) {
        // `<=` keeps equal distances so the id tie-break can decide.
        if distance <= threshold && params.accepts(id) && top.push(id, distance) {
            threshold = top.threshold();
        }
    }
}

impl Index for FlatIndex {
    fn spec(&self) -> IndexSpec {
        IndexSpec::FLAT
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    fn add(&mut self, ids: &[u32], vectors: &[f32]) -> Result<()> {
        if vectors.len() != ids.len() * self.dim {
            return Err(Error::InvalidArgument {
                name: "vectors",
                reason: format!(
                    "{} floats for {} ids of dimension {}",
                    vectors.len(),
                    ids.len(),
                    self.dim
                ),
            });
        }
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        for &id in ids {
            if self.row_of.contains_key(id) || !seen.insert(id) {
                return Err(Error::DuplicateId {
                    id: id.to_string(),
                    reason: "internal id already stored",
                });
            }
        }
        self.rows.extend(vectors);
        let first_row = self.ids.len() as u32;
        self.ids.extend(ids);
        if let Some(&max) = ids.iter().max() {
            self.row_of.reserve_below(max.saturating_add(1));
        }
        for (row, &id) in (first_row..).zip(ids) {
            self.row_of.insert(id, row);
        }
        Ok(())
    }

    fn remove(&mut self, ids: &[u32]) -> usize {
        let mut removed = 0;
        for id in ids {
            let Some(row) = self.row_of.remove(*id) else {
                continue;
            };
            let row = row as usize;
            let last = self.ids.len() - 1;
            if row != last {
                self.rows.copy_row(last, row);
                self.ids.copy_row(last, row);
                let moved = self.ids.row(row)[0];
                self.row_of.insert(moved, row as u32);
            }
            self.ids.pop();
            self.rows.pop();
            removed += 1;
        }
        removed
    }

    fn search(
        &self,
        query: &[f32],
        k: usize,
        params: &SearchParams,
        scratch: &mut Scratch,
    ) -> Result<Vec<Neighbor>> {
        let mut top = TopK::new(k);
        self.scan_into(query, params, scratch, &mut top);
        Ok(top.into_sorted_vec())
    }

    fn search_batch(
        &self,
        queries: &[f32],
        k: usize,
        params: &SearchParams,
        scratch: &mut Scratch,
    ) -> Result<Vec<Vec<Neighbor>>> {
        let dim = self.dim;
        let mut results = Vec::with_capacity(queries.len() / dim.max(1));
        for query_block in queries.chunks(QUERY_BLOCK * dim.max(1)) {
            let n_queries = query_block.len() / dim;
            let mut tops: Vec<TopK> = (0..n_queries).map(|_| TopK::new(k)).collect();
            scratch.distances.resize(n_queries * SCAN_BLOCK_ROWS, 0.0);
            self.rows.for_each_block(SCAN_BLOCK_ROWS, |start, block| {
                let ids = self.ids.run(start, block.len() / dim);
                let distances = &mut scratch.distances[..n_queries * ids.len()];
                self.metric
                    .distance_block(query_block, dim, block, distances);
                for (top, row_distances) in tops.iter_mut().zip(distances.chunks(ids.len())) {
                    push_block(top, ids, row_distances, params);
                }
            });
            results.extend(tops.into_iter().map(TopK::into_sorted_vec));
        }
        Ok(results)
    }

    fn search_candidates(
        &self,
        query: &[f32],
        k: usize,
        ids: &[u32],
        _scratch: &mut Scratch,
    ) -> Result<Vec<Neighbor>> {
        let row = |r: u32| self.rows.row(r as usize);
        let mut top = TopK::new(k);
        // Groups of four through the same kernel as the full scan, so a candidate's distance
        // is bit-identical whichever strategy scored it.
        let mut group = [(0u32, 0u32); 4];
        let mut filled = 0;
        for &id in ids {
            let Some(r) = self.row_of.get(id) else {
                continue;
            };
            group[filled] = (id, r);
            filled += 1;
            if filled == 4 {
                let d = self.metric.distance4(query, group.map(|(_, r)| row(r)));
                for ((id, _), distance) in group.iter().zip(d) {
                    top.push(*id, distance);
                }
                filled = 0;
            }
        }
        if filled > 0 {
            let pick = |i: usize| row(group[i.min(filled - 1)].1);
            let d = self
                .metric
                .distance4(query, [pick(0), pick(1), pick(2), pick(3)]);
            for ((id, _), distance) in group[..filled].iter().zip(d) {
                top.push(*id, distance);
            }
        }
        Ok(top.into_sorted_vec())
    }

    fn vector(&self, id: u32) -> Option<&[f32]> {
        let row = self.row_of.get(id)? as usize;
        Some(self.rows.row(row))
    }

    fn contains(&self, id: u32) -> bool {
        self.row_of.contains_key(id)
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn memory_bytes(&self) -> usize {
        self.rows.capacity_bytes() + self.ids.capacity_bytes() + self.row_of.capacity_bytes()
    }

    fn memory_breakdown(&self) -> crate::index::traits::MemoryBreakdown {
        let vectors = self.rows.capacity_bytes();
        crate::index::traits::MemoryBreakdown {
            vectors,
            other: self.memory_bytes() - vectors,
            ..Default::default()
        }
    }

    fn encode_state(&self, out: &mut dyn Write) -> Result<()> {
        out.family_header(STATE_TAG, STATE_VERSION);
        out.u64(self.ids.len() as u64);
        for segment in self.ids.segments() {
            out.u32s(segment);
        }
        for segment in self.rows.segments() {
            out.f32s(segment);
        }
        Ok(())
    }
}

/// The row of each id in `ids` (row order), refusing an id stored twice or one too large for
/// the memory (`what` names the index in the message).
pub(crate) fn id_map_of(
    ids: impl Iterator<Item = u32>,
    id_limit: u32,
    what: &str,
) -> Result<IdMap> {
    let mut row_of = IdMap::new();
    for (row, id) in (0u32..).zip(ids) {
        let previous = checked_id(id, id_limit, what).and_then(|id| {
            row_of.try_insert(id, row).map_err(|_| Error::Corrupt {
                what: format!("{what}: internal id {id} is too large for the memory"),
            })
        })?;
        if previous.is_some() {
            return Err(Error::Corrupt {
                what: format!("{what}: internal id {id} stored twice"),
            });
        }
    }
    Ok(row_of)
}

/// `id`, if it is below `id_limit` ([`Read::id_limit`]); corruption otherwise.
pub(crate) fn checked_id(id: u32, id_limit: u32, what: &str) -> Result<u32> {
    if id >= id_limit {
        return Err(Error::Corrupt {
            what: format!("{what}: internal id {id} is not below the store's next id {id_limit}"),
        });
    }
    Ok(id)
}

/// Snapshot layout (`docs/format.md`): tag, version, row count `n`, `n` ids, `n × dim` floats.
const STATE_TAG: [u8; 4] = *b"FLAT";
const STATE_VERSION: u32 = 1;

impl FlatIndex {
    /// Reads what [`Index::encode_state`] wrote.
    pub fn decode_state(dim: usize, metric: Metric, input: &mut dyn Read) -> Result<Self> {
        input.family_header(STATE_TAG, STATE_VERSION)?;
        let row_bytes = 4 + 4 * dim as u64;
        let n = input.count(row_bytes, "flat row count")?;
        let ids = RowArena::fill_from(1, n, |segment| input.u32s_into(segment, "flat ids"))?;
        let rows = RowArena::fill_from(dim, n, |segment| input.f32s_into(segment, "flat rows"))?;
        let row_of = id_map_of(
            ids.segments().flatten().copied(),
            input.id_limit(),
            "flat index",
        )?;
        if let Some(row) = (0..n).find(|&r| rows.row(r).iter().any(|x| !x.is_finite())) {
            return Err(Error::Corrupt {
                what: format!("flat index: row {row} holds a non-finite value"),
            });
        }
        Ok(FlatIndex {
            dim,
            metric,
            rows,
            ids,
            row_of,
        })
    }
}

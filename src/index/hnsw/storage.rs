//! Vector storage behind the HNSW graph, kept apart from it so the same graph code runs over
//! raw f32 rows today and SQ8 or PQ codes later (faiss `IndexHNSW` = graph + storage index).
//!
//! Storage is addressed by dense *slots* (the graph's node numbers), not by the collection's
//! internal ids. Every query-to-node distance goes through the four-row kernel so a node gets the
//! same score whichever group it is scored in (the tie-break by id stays exact).

use crate::distance::Metric;
use crate::index::spec::Encoding;

/// What the graph needs from vector storage: distances by slot, and a place to put vectors.
///
/// A query is a *prepared* f32 vector (validated, normalized for cosine), turned once per
/// query by [`Self::prepare`] into the storage's scoring form: the vector itself for raw rows,
/// shifted or weighted terms for SQ8 codes (asymmetric distances), tables for PQ.
pub trait VectorStorage {
    /// A query in the storage's scoring form, borrowing the caller's buffer (no allocation per
    /// query once the buffer has grown).
    type Query<'q>: Copy;

    /// Prepares `query` for [`Self::distance4`] (`graph = false`) or for
    /// [`Self::graph_distance4`] (`graph = true`), using `buffer` for any derived terms.
    fn prepare<'q>(
        &self,
        query: &'q [f32],
        graph: bool,
        buffer: &'q mut Vec<f32>,
    ) -> Self::Query<'q>;

    /// The encoding this storage implements (the second half of an `HNSW{m},{encoding}` spec).
    fn encoding(&self) -> Encoding;

    fn dim(&self) -> usize;

    fn metric(&self) -> Metric;

    /// Stores `vector` at `slot`, growing the storage by one when `slot` is its current length.
    /// Slots beyond the length are a caller bug.
    fn set(&mut self, slot: u32, vector: &[f32]);

    /// Distances of a query prepared with `graph = false` to four slots (repeat a slot to
    /// score fewer).
    fn distance4(&self, query: Self::Query<'_>, slots: [u32; 4]) -> [f32; 4];

    /// Distance of `query` to one slot, with the same arithmetic as [`Self::distance4`].
    #[inline(always)]
    fn distance(&self, query: Self::Query<'_>, slot: u32) -> f32 {
        self.distance4(query, [slot; 4])[0]
    }

    /// Distances of a vector being inserted (prepared with `graph = true`) to four slots under
    /// the *graph* metric, the geometry the graph is built in (see [`graph_metric`]).
    fn graph_distance4(&self, vector: Self::Query<'_>, slots: [u32; 4]) -> [f32; 4];

    /// Graph-metric distances between the stored vector at `from` and four slots (construction
    /// and repair: the neighbour-selection heuristic compares stored nodes with each other).
    fn distance_between4(&self, from: u32, slots: [u32; 4]) -> [f32; 4];

    /// The f32 vector at `slot`, when the storage keeps one (lossy encodings do not).
    fn vector(&self, slot: u32) -> Option<&[f32]>;

    /// Number of slots held.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held.
    fn memory_bytes(&self) -> usize;

    /// Snapshot: writes every slot's stored vector or code (see `docs/format.md`).
    fn encode_state(&self, _out: &mut dyn crate::codec::Write) -> crate::error::Result<()> {
        Err(crate::error::Error::Unsupported {
            what: "saving HNSW over a vector storage that cannot encode itself".to_string(),
        })
    }
}

/// The metric the graph is *built* in for a search metric.
///
/// Inner product is not a metric (a vector is not its own nearest neighbour, and large-norm
/// vectors dominate every neighbourhood), so the neighbour-selection heuristic, which relies on
/// the triangle inequality, builds hub-heavy graphs under it: on the conformance data HNSW16
/// reached recall@10 0.85 at `ef_search = 128` built under `dot`, 1.00 built under squared L2.
/// So `dot` indexes are built in L2 and searched by inner product. Cosine (inner product over
/// unit vectors) orders pairs exactly as L2 does, so it is built as it is searched.
pub fn graph_metric(metric: Metric) -> Metric {
    match metric {
        Metric::Dot => Metric::L2,
        other => other,
    }
}

/// Floats per storage page (256 KiB).
const PAGE_FLOATS: usize = 1 << 16;

/// Raw f32 rows, `dim` floats per slot, in fixed-size pages of a power-of-two number of rows.
///
/// Pages instead of one growing `Vec`: growth never copies the arena, never holds the old and
/// the new buffer at once (a doubling `Vec` peaks at three times its contents, and WebAssembly
/// memory never shrinks back), and never over-allocates by more than one page.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatStorage {
    dim: usize,
    metric: Metric,
    graph_metric: Metric,
    /// log2 of the rows per page.
    page_shift: u32,
    pages: Vec<Vec<f32>>,
    len: usize,
}

impl FlatStorage {
    pub fn new(dim: usize, metric: Metric) -> Self {
        let rows_per_page = (PAGE_FLOATS / dim.max(1)).max(1);
        // The largest power of two not above `rows_per_page`.
        let page_shift = usize::BITS - 1 - rows_per_page.leading_zeros();
        FlatStorage {
            dim,
            metric,
            graph_metric: graph_metric(metric),
            page_shift,
            pages: Vec::new(),
            len: 0,
        }
    }

    #[inline(always)]
    fn row(&self, slot: u32) -> &[f32] {
        let slot = slot as usize;
        let page = &self.pages[slot >> self.page_shift];
        let start = (slot & ((1 << self.page_shift) - 1)) * self.dim;
        &page[start..start + self.dim]
    }
}

impl VectorStorage for FlatStorage {
    type Query<'q> = &'q [f32];

    #[inline(always)]
    fn prepare<'q>(&self, query: &'q [f32], _graph: bool, _buffer: &'q mut Vec<f32>) -> &'q [f32] {
        query
    }

    fn encoding(&self) -> Encoding {
        Encoding::Raw
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    fn set(&mut self, slot: u32, vector: &[f32]) {
        debug_assert_eq!(vector.len(), self.dim);
        let slot = slot as usize;
        let rows_per_page = 1usize << self.page_shift;
        if slot == self.len {
            if slot % rows_per_page == 0 {
                self.pages
                    .push(Vec::with_capacity(rows_per_page * self.dim));
            }
            let page = self.pages.len() - 1;
            self.pages[page].extend_from_slice(vector);
            self.len += 1;
        } else {
            let start = (slot % rows_per_page) * self.dim;
            self.pages[slot / rows_per_page][start..start + self.dim].copy_from_slice(vector);
        }
    }

    #[inline(always)]
    fn distance4(&self, query: &[f32], slots: [u32; 4]) -> [f32; 4] {
        let [a, b, c, d] = slots;
        let rows = [self.row(a), self.row(b), self.row(c), self.row(d)];
        self.metric.distance4(query, rows)
    }

    #[inline(always)]
    fn graph_distance4(&self, vector: &[f32], slots: [u32; 4]) -> [f32; 4] {
        let [a, b, c, d] = slots;
        let rows = [self.row(a), self.row(b), self.row(c), self.row(d)];
        self.graph_metric.distance4(vector, rows)
    }

    #[inline(always)]
    fn distance_between4(&self, from: u32, slots: [u32; 4]) -> [f32; 4] {
        self.graph_distance4(self.row(from), slots)
    }

    fn vector(&self, slot: u32) -> Option<&[f32]> {
        Some(self.row(slot))
    }

    fn len(&self) -> usize {
        self.len
    }

    fn memory_bytes(&self) -> usize {
        self.pages.iter().map(|p| p.capacity() * 4).sum::<usize>()
            + self.pages.capacity() * std::mem::size_of::<Vec<f32>>()
    }

    /// `u64` slots, then every slot's row.
    fn encode_state(&self, out: &mut dyn crate::codec::Write) -> crate::error::Result<()> {
        out.u64(self.len as u64);
        for page in &self.pages {
            out.f32s(page);
        }
        Ok(())
    }
}

impl FlatStorage {
    /// Reads what `encode_state` wrote (finite rows only).
    pub fn decode_state(
        dim: usize,
        metric: Metric,
        input: &mut dyn crate::codec::Read,
    ) -> crate::error::Result<Self> {
        let n = input.count(4 * dim as u64, "HNSW vectors")?;
        let mut storage = FlatStorage::new(dim, metric);
        let rows_per_page = 1usize << storage.page_shift;
        // Page by page, straight into place: no second copy of the vectors.
        while storage.len < n {
            let rows = (n - storage.len).min(rows_per_page);
            let page = input.f32s((rows * dim) as u64, "HNSW vectors")?;
            if page.iter().any(|x| !x.is_finite()) {
                return Err(crate::error::Error::Corrupt {
                    what: "HNSW storage: a non-finite vector".into(),
                });
            }
            storage.pages.push(page);
            storage.len += rows;
        }
        Ok(storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_rows_across_boundaries() {
        for dim in [1usize, 3, 384, 70_000] {
            let mut storage = FlatStorage::new(dim, Metric::L2);
            let n = 300usize.min(8 * (1 << storage.page_shift));
            for slot in 0..n {
                storage.set(slot as u32, &vec![slot as f32; dim]);
            }
            storage.set(1, &vec![-1.0; dim]);
            assert_eq!(storage.len(), n);
            for slot in 0..n {
                let expect = if slot == 1 { -1.0 } else { slot as f32 };
                assert!(storage
                    .vector(slot as u32)
                    .unwrap()
                    .iter()
                    .all(|&x| x == expect));
            }
            let pages = n.div_ceil(1 << storage.page_shift);
            assert_eq!(storage.pages.len(), pages, "dim {dim}");
        }
    }
}

//! `"HNSW{m},SQ8"`: the HNSW graph built and searched over 8-bit scalar codes (faiss
//! `IndexHNSWSQ`), a quarter of the vector memory of `HNSW{m}`.
//!
//! What it promises:
//! - **Same graph code.** [`Sq8Storage`] implements [`VectorStorage`]; the graph, its
//!   construction, deletes and consolidation are those of [`Hnsw`].
//! - **Distances.** A query (or a vector being inserted) stays f32 and is scored against the
//!   codes asymmetrically with the SQ8 SIMD kernels (prepared once per query, see
//!   [`crate::quant::sq8`]). The neighbour-selection heuristic compares two *stored* nodes, so
//!   it uses the symmetric distance between their decoded vectors (as faiss does).
//! - **Training policy** (the same as `SQ8` and `IVF,SQ8`): vectors added before the quantizer
//!   is trained wait in an exact buffer and are searched exactly; at
//!   [`SQ8_AUTO_TRAIN`] buffered vectors (or on [`Index::train`] / [`Index::train_on_stored`])
//!   the ranges are learned and the graph is built over the buffered vectors, in buffer order.
//!   Re-training after vectors were encoded is `Unsupported` (the codes are lossy; rebuild the
//!   collection instead), as for `IVF,SQ8`.
//! - **Rerank** is not done here: `build_index` wraps this index in
//!   [`super::super::rerank::Reranked`], which keeps (or fetches) the full vectors and rescores
//!   the graph's candidates exactly.

use super::{Hnsw, VectorStorage};
use crate::distance::quantized::{sq8_dot, sq8_l2};
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::index::flat::FlatIndex;
use crate::index::spec::Encoding;
use crate::index::spec::IndexSpec;
use crate::index::spec::Structure;
use crate::index::traits::Index;
use crate::index::traits::IndexOptions;
use crate::index::traits::MemoryBreakdown;
use crate::index::traits::Scratch;
use crate::index::traits::SearchParams;
use crate::quant::sq8::{Sq8, SQ8_AUTO_TRAIN};
use crate::quant::Codec;
use crate::topk::Neighbor;

/// Dimensions decoded at a time by `distance_between4` (a 1 KiB stack buffer; a multiple of
/// the 16 codes the SIMD kernels take per iteration).
const DECODE_BLOCK: usize = 256;

/// Bytes per code page (256 KiB), as [`super::FlatStorage`]'s pages.
const PAGE_BYTES: usize = 1 << 18;

/// SQ8 codes, `dim` bytes per slot, in fixed-size pages of a power-of-two number of rows (see
/// [`super::FlatStorage`] for why pages).
#[derive(Debug, Clone, PartialEq)]
pub struct Sq8Storage {
    codec: Sq8,
    graph_metric: Metric,
    /// log2 of the rows per page.
    page_shift: u32,
    pages: Vec<Vec<u8>>,
    len: usize,
}

/// A query prepared for SQ8 scoring under one metric: `qᵢ − minᵢ` (squared L2) or `qᵢ·δᵢ`
/// with the bias `Σ qᵢ·minᵢ` (inner product).
#[derive(Debug, Clone, Copy)]
pub struct Sq8Prepared<'q> {
    terms: &'q [f32],
    bias: f32,
    l2: bool,
}

impl Sq8Storage {
    /// An empty storage over `codec`, which must be trained before the first vector is stored.
    pub fn new(codec: Sq8) -> Self {
        let dim = codec.dim();
        let rows_per_page = (PAGE_BYTES / dim.max(1)).max(1);
        let page_shift = usize::BITS - 1 - rows_per_page.leading_zeros();
        Sq8Storage {
            graph_metric: super::storage::graph_metric(codec.metric()),
            codec,
            page_shift,
            pages: Vec::new(),
            len: 0,
        }
    }

    pub fn codec(&self) -> &Sq8 {
        &self.codec
    }

    /// The code at `slot`.
    #[inline]
    pub fn code(&self, slot: u32) -> &[u8] {
        let dim = self.codec.dim();
        let slot = slot as usize;
        let page = &self.pages[slot >> self.page_shift];
        let start = (slot & ((1 << self.page_shift) - 1)) * dim;
        &page[start..start + dim]
    }

    #[inline]
    fn score(&self, query: Sq8Prepared<'_>, slot: u32) -> f32 {
        let code = self.code(slot);
        if query.l2 {
            sq8_l2(query.terms, self.codec.delta(), code)
        } else {
            -(query.bias + sq8_dot(query.terms, code))
        }
    }

    /// Reads what `encode_state` wrote: the quantizer, then the codes. Codes without a trained
    /// quantizer are `Corrupt`.
    pub fn decode_state(
        dim: usize,
        metric: Metric,
        input: &mut dyn crate::codec::Read,
    ) -> Result<Self> {
        let codec = Sq8::new(dim, metric).read_params(input)?;
        let n = input.count(dim.max(1) as u64, "HNSW SQ8 codes")?;
        if n > 0 && !codec.is_trained() {
            return Err(Error::Corrupt {
                what: "HNSW SQ8 storage: codes without a trained quantizer".into(),
            });
        }
        let mut codes = vec![0u8; n * dim];
        input.read_into(&mut codes, "HNSW SQ8 codes")?;
        let mut storage = Sq8Storage::new(codec);
        for (slot, row) in codes.chunks_exact(dim.max(1)).enumerate() {
            let Sq8Storage {
                pages,
                len,
                page_shift,
                ..
            } = &mut storage;
            code_slot(pages, len, *page_shift, dim, slot as u32).copy_from_slice(row);
        }
        Ok(storage)
    }
}

/// The code bytes of `slot` in `pages` (rows of `dim` bytes, `2^page_shift` rows per page),
/// appending a zeroed row when `slot == *len`.
fn code_slot<'a>(
    pages: &'a mut Vec<Vec<u8>>,
    len: &mut usize,
    page_shift: u32,
    dim: usize,
    slot: u32,
) -> &'a mut [u8] {
    let slot = slot as usize;
    let rows_per_page = 1usize << page_shift;
    if slot == *len {
        if slot % rows_per_page == 0 {
            pages.push(Vec::with_capacity(rows_per_page * dim));
        }
        *len += 1;
        let last = pages.len() - 1;
        let page = &mut pages[last];
        let start = page.len();
        page.resize(start + dim, 0);
        &mut page[start..]
    } else {
        let start = (slot % rows_per_page) * dim;
        &mut pages[slot / rows_per_page][start..start + dim]
    }
}

impl VectorStorage for Sq8Storage {
    type Query<'q> = Sq8Prepared<'q>;

    fn prepare<'q>(
        &self,
        query: &'q [f32],
        graph: bool,
        buffer: &'q mut Vec<f32>,
    ) -> Sq8Prepared<'q> {
        let metric = if graph {
            self.graph_metric
        } else {
            self.codec.metric()
        };
        buffer.clear();
        let l2 = metric == Metric::L2;
        let bias = if l2 {
            buffer.extend(query.iter().zip(self.codec.min()).map(|(&q, &lo)| q - lo));
            0.0
        } else {
            buffer.extend(query.iter().zip(self.codec.delta()).map(|(&q, &d)| q * d));
            crate::distance::dot(query, self.codec.min())
        };
        let terms: &'q Vec<f32> = buffer;
        Sq8Prepared { terms, bias, l2 }
    }

    fn encoding(&self) -> Encoding {
        Encoding::Sq8
    }

    fn dim(&self) -> usize {
        self.codec.dim()
    }

    fn metric(&self) -> Metric {
        self.codec.metric()
    }

    fn set(&mut self, slot: u32, vector: &[f32]) {
        debug_assert!(self.codec.is_trained());
        let Sq8Storage {
            codec,
            pages,
            len,
            page_shift,
            ..
        } = self;
        codec.encode(
            vector,
            code_slot(pages, len, *page_shift, codec.dim(), slot),
        );
    }

    #[inline]
    fn distance4(&self, query: Sq8Prepared<'_>, slots: [u32; 4]) -> [f32; 4] {
        slots.map(|slot| self.score(query, slot))
    }

    #[inline]
    fn graph_distance4(&self, vector: Sq8Prepared<'_>, slots: [u32; 4]) -> [f32; 4] {
        slots.map(|slot| self.score(vector, slot))
    }

    /// The graph-metric distance between the *decoded* vector of the stored node `from` and
    /// four stored nodes (the symmetric distance, as faiss's construction uses). `from` is
    /// decoded a block of `DECODE_BLOCK` dimensions at a time into a stack buffer, in the
    /// prepared form the SQ8 kernels take: squared L2 is `Σ (δᵢaᵢ − δᵢbᵢ)²` = `sq8_l2` of
    /// `tᵢ = δᵢaᵢ`; inner product is `Σ xᵢminᵢ + Σ (xᵢδᵢ)bᵢ` with `xᵢ = minᵢ + δᵢaᵢ`. Each slot
    /// is scored alone, block by block in order, so a pair gets the same score in every group.
    fn distance_between4(&self, from: u32, slots: [u32; 4]) -> [f32; 4] {
        let a = self.code(from);
        let codes = slots.map(|s| self.code(s));
        let (min, delta) = (self.codec.min(), self.codec.delta());
        let l2 = self.graph_metric == Metric::L2;
        let mut terms = [0.0f32; DECODE_BLOCK];
        let mut acc = [0.0f32; 4];
        let mut start = 0;
        while start < a.len() {
            let end = (start + DECODE_BLOCK).min(a.len());
            let t = &mut terms[..end - start];
            let (lo, d) = (&min[start..end], &delta[start..end]);
            let mut bias = 0.0f32;
            if l2 {
                for ((t, &c), &d) in t.iter_mut().zip(&a[start..end]).zip(d) {
                    *t = d * f32::from(c);
                }
            } else {
                for (((t, &c), &d), &lo) in t.iter_mut().zip(&a[start..end]).zip(d).zip(lo) {
                    let x = lo + d * f32::from(c);
                    *t = x * d;
                    bias += x * lo;
                }
            }
            for (sum, code) in acc.iter_mut().zip(&codes) {
                *sum += if l2 {
                    sq8_l2(t, d, &code[start..end])
                } else {
                    -(bias + sq8_dot(t, &code[start..end]))
                };
            }
            start = end;
        }
        acc
    }

    fn vector(&self, _slot: u32) -> Option<&[f32]> {
        None
    }

    fn len(&self) -> usize {
        self.len
    }

    fn memory_bytes(&self) -> usize {
        self.pages.iter().map(Vec::capacity).sum::<usize>()
            + self.pages.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.codec.memory_bytes()
    }

    /// The quantizer's parameters (`u8 trained`, minima, steps), `u64` slots, every code.
    fn encode_state(&self, out: &mut dyn crate::codec::Write) -> Result<()> {
        self.codec.write_params(out);
        out.u64(self.len as u64);
        for page in &self.pages {
            out.raw(page);
        }
        Ok(())
    }
}

/// The `"HNSW{m},SQ8"` index without rerank: an exact buffer until the quantizer is trained,
/// then an [`Hnsw`] over [`Sq8Storage`].
#[derive(Debug)]
pub struct HnswSq8 {
    m: usize,
    options: IndexOptions,
    /// Every vector while untrained; empty once trained.
    buffer: FlatIndex,
    hnsw: Hnsw<Sq8Storage>,
}

const HNSW_SQ8_STATE_TAG: [u8; 4] = *b"HSQ8";

impl HnswSq8 {
    pub fn new(dim: usize, metric: Metric, m: usize, options: &IndexOptions) -> Result<Self> {
        Ok(HnswSq8 {
            m,
            options: *options,
            buffer: FlatIndex::new(dim, metric),
            hnsw: Hnsw::with_storage(Sq8Storage::new(Sq8::new(dim, metric)), m, options)?,
        })
    }

    /// The graph (empty until trained).
    pub fn hnsw(&self) -> &Hnsw<Sq8Storage> {
        &self.hnsw
    }

    /// Vectors waiting, exact, for training.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Learns the ranges from `samples` and builds the graph over the buffered vectors. All
    /// or nothing.
    fn train_with(&mut self, samples: &[f32]) -> Result<()> {
        if self.hnsw.stats().slots > 0 {
            return Err(Error::Unsupported {
                what: format!(
                    "re-training {} after vectors were encoded (the codes are lossy)",
                    self.spec()
                ),
            });
        }
        let (dim, metric) = (self.buffer.dim(), self.buffer.metric());
        let mut codec = Sq8::new(dim, metric);
        codec.train(samples, self.options.seed)?;
        let mut hnsw = Hnsw::with_storage(Sq8Storage::new(codec), self.m, &self.options)?;
        hnsw.add(&self.buffer.ids_to_vec(), &self.buffer.rows_to_vec())?;
        self.hnsw = hnsw;
        self.buffer = FlatIndex::new(dim, metric);
        Ok(())
    }

    /// Reads what `encode_state` wrote; a trained index with buffered vectors, or codes without
    /// a trained quantizer, are `Corrupt`.
    pub fn decode_state(
        dim: usize,
        metric: Metric,
        m: usize,
        options: &IndexOptions,
        input: &mut dyn crate::codec::Read,
    ) -> Result<Self> {
        input.family_header(HNSW_SQ8_STATE_TAG, 1)?;
        let buffer = FlatIndex::decode_state(dim, metric, input)?;
        let hnsw = Hnsw::decode_with(
            Sq8Storage::new(Sq8::new(dim, metric)),
            m,
            options,
            input,
            |input| Sq8Storage::decode_state(dim, metric, input),
        )?;
        if hnsw.storage().codec().is_trained() && !buffer.is_empty() {
            return Err(Error::Corrupt {
                what: "HNSW SQ8 index: a trained index with buffered vectors".into(),
            });
        }
        Ok(HnswSq8 {
            m,
            options: IndexOptions {
                ef_construction: hnsw.ef_construction(),
                ef_search: hnsw.default_ef_search(),
                ..*options
            },
            buffer,
            hnsw,
        })
    }
}

impl Index for HnswSq8 {
    fn spec(&self) -> IndexSpec {
        IndexSpec {
            structure: Structure::Hnsw { m: self.m },
            encoding: Encoding::Sq8,
        }
    }

    fn dim(&self) -> usize {
        self.buffer.dim()
    }

    fn metric(&self) -> Metric {
        self.buffer.metric()
    }

    fn is_trained(&self) -> bool {
        self.hnsw.storage().codec().is_trained()
    }

    fn train(&mut self, vectors: &[f32]) -> Result<()> {
        self.train_with(vectors)
    }

    fn train_on_stored(&mut self) -> Result<()> {
        let rows = self.buffer.rows_to_vec();
        self.train_with(&rows)
    }

    fn add(&mut self, ids: &[u32], vectors: &[f32]) -> Result<()> {
        if self.is_trained() {
            return self.hnsw.add(ids, vectors);
        }
        self.buffer.add(ids, vectors)?;
        if self.buffer.len() >= SQ8_AUTO_TRAIN {
            // The add has succeeded whatever happens here: a failed training leaves the
            // vectors in the exact buffer.
            let _ = self.train_on_stored();
        }
        Ok(())
    }

    fn remove(&mut self, ids: &[u32]) -> usize {
        if self.is_trained() {
            self.hnsw.remove(ids)
        } else {
            self.buffer.remove(ids)
        }
    }

    fn search(
        &self,
        query: &[f32],
        k: usize,
        params: &SearchParams,
        scratch: &mut Scratch,
    ) -> Result<Vec<Neighbor>> {
        if self.is_trained() {
            self.hnsw.search(query, k, params, scratch)
        } else {
            self.buffer.search(query, k, params, scratch)
        }
    }

    fn vector(&self, id: u32) -> Option<&[f32]> {
        self.buffer.vector(id)
    }

    fn contains(&self, id: u32) -> bool {
        self.buffer.contains(id) || self.hnsw.contains(id)
    }

    fn len(&self) -> usize {
        self.buffer.len() + self.hnsw.len()
    }

    fn memory_bytes(&self) -> usize {
        self.buffer.memory_bytes() + self.hnsw.memory_bytes()
    }

    fn memory_breakdown(&self) -> MemoryBreakdown {
        self.buffer
            .memory_breakdown()
            .plus(self.hnsw.memory_breakdown())
    }

    fn tombstones(&self) -> usize {
        self.hnsw.tombstones()
    }

    /// Snapshot layout (`docs/format.md`): `HSQ8` v1, the exact buffer (a flat section), then
    /// the graph's `HNSW` section whose storage part is the quantizer and the codes.
    fn encode_state(&self, out: &mut dyn crate::codec::Write) -> Result<()> {
        out.family_header(HNSW_SQ8_STATE_TAG, 1);
        self.buffer.encode_state(out)?;
        self.hnsw.encode_state(out)
    }
}

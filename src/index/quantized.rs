//! Flat search over quantized codes (`"SQ8"`, `"PQ48"`, `"BIN"`): every code is scored with
//! the codec's asymmetric kernel, then the best candidates are optionally rescored exactly.
//!
//! What it promises:
//! - **Training policy** (the same as IVF's): vectors added before the codec is trained are
//!   kept in an exact buffer and searched exactly, so results are never worse than exact
//!   while the index is young. When the buffer reaches the codec's
//!   [`Codec::auto_train_vectors`] (SQ8 and BIN: 1000; PQ: 39 · 256 = 9984) the index trains
//!   itself on the buffer and encodes it. [`Index::train`] (explicit samples, at least
//!   [`Codec::min_train_vectors`]) and [`Index::train_on_stored`] train on demand. Re-training
//!   a trained index re-encodes every vector and needs the full vectors kept. Training is
//!   deterministic for the seed of [`IndexOptions`].
//! - **Full vectors** are kept by default ([`IndexOptions::keep_vectors`]); otherwise they are
//!   dropped after training and rerank fetches candidates through a [`VectorSource`]
//!   ([`super::rerank`]).
//! - **Rerank**: `params.rerank = Some(r)` rescores `max(r, k)` candidates exactly; `Some(0)`
//!   turns it off; `None` uses the codec's default ([`Codec::default_rerank`]: SQ8 0, PQ 10·k,
//!   BIN 10·k) when full vectors are available, else 0.
//! - **Layout**: codes are one contiguous arena, `code_size` bytes per row, kept dense by
//!   swap-remove; an `id → row` map finds rows.

use std::collections::HashSet;

use super::flat::{id_map_of, FlatIndex};
use super::id_map::IdMap;
use super::rerank::{FullVectors, VectorSource};
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::index::spec::IndexSpec;
use crate::index::spec::Structure;
use crate::index::traits::Index;
use crate::index::traits::IndexOptions;
use crate::index::traits::Scratch;
use crate::index::traits::SearchParams;
use crate::quant::Codec;
use crate::topk::{Neighbor, TopK};

/// Codes scored per kernel call (keeps the distance buffer in L1).
const SCAN_BLOCK_ROWS: usize = 256;

/// A flat index over the codes of codec `C`.
#[derive(Debug)]
pub struct QuantizedFlat<C: Codec> {
    codec: C,
    seed: u64,
    keep_vectors: bool,
    /// `ids.len() × code_size` bytes (empty until trained).
    codes: Vec<u8>,
    ids: Vec<u32>,
    row_of: IdMap,
    /// Before training: the exact buffer holding every vector. After: the kept full vectors.
    full: FullVectors,
}

impl<C: Codec> QuantizedFlat<C> {
    pub fn new(codec: C, options: &IndexOptions) -> Self {
        let (dim, metric) = (codec.dim(), codec.metric());
        QuantizedFlat {
            codec,
            seed: options.seed,
            keep_vectors: options.keep_vectors,
            codes: Vec::new(),
            ids: Vec::new(),
            row_of: IdMap::new(),
            full: FullVectors {
                kept: Some(FlatIndex::new(dim, metric)),
                source: None,
            },
        }
    }

    /// The codec (ranges, codebooks), for persistence and inspection.
    pub fn codec(&self) -> &C {
        &self.codec
    }

    /// The code of each row, row-major, with [`QuantizedFlat::ids`] giving each row's id.
    pub fn codes(&self) -> &[u8] {
        &self.codes
    }

    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    fn buffer(&self) -> Option<&FlatIndex> {
        if self.codec.is_trained() {
            None
        } else {
            self.full.kept.as_ref()
        }
    }

    /// Trains the codec on `samples`, then (re-)encodes every stored vector from the kept full
    /// vectors. All or nothing.
    fn train_and_encode(&mut self, samples: &[f32]) -> Result<()> {
        let Some(kept) = &self.full.kept else {
            return Err(Error::Unsupported {
                what: "re-training a quantized index needs its full vectors (keep_vectors)".into(),
            });
        };
        let mut codec = self.codec.clone();
        codec.train(samples, self.seed)?;
        let size = codec.code_size();
        let mut codes = vec![0u8; kept.len() * size];
        for (row, code) in kept.row_iter().zip(codes.chunks_exact_mut(size)) {
            codec.encode(row, code);
        }
        self.codec = codec;
        self.codes = codes;
        self.ids = kept.ids_to_vec();
        self.row_of = IdMap::new();
        for (row, &id) in (0u32..).zip(&self.ids) {
            self.row_of.insert(id, row);
        }
        if !self.keep_vectors {
            self.full.kept = None;
        }
        Ok(())
    }

    fn scan(
        &self,
        prepared: &C::Query,
        depth: usize,
        params: &SearchParams,
        scratch: &mut Scratch,
    ) -> Vec<Neighbor> {
        let mut top = TopK::new(depth);
        let size = self.codec.code_size();
        scratch.distances.resize(SCAN_BLOCK_ROWS, 0.0);
        for (block, ids) in self
            .codes
            .chunks(SCAN_BLOCK_ROWS * size)
            .zip(self.ids.chunks(SCAN_BLOCK_ROWS))
        {
            let distances = &mut scratch.distances[..ids.len()];
            self.codec.distances(prepared, block, distances);
            let mut threshold = top.threshold();
            for (&id, &distance) in ids.iter().zip(distances.iter()) {
                if distance <= threshold && params.accepts(id) && top.push(id, distance) {
                    threshold = top.threshold();
                }
            }
        }
        top.into_sorted_vec()
    }
}

const QUANTIZED_STATE_TAG: [u8; 4] = *b"QFLT";

impl<C: Codec> QuantizedFlat<C> {
    /// Reads what `encode_state` wrote, into an index over `codec` (new, untrained; its shape
    /// comes from the spec). Checks that codes, ids and kept vectors agree; bad input is
    /// `Corrupt`.
    pub fn decode_state(
        codec: C,
        options: &IndexOptions,
        input: &mut dyn crate::codec::Read,
    ) -> Result<Self> {
        input.family_header(QUANTIZED_STATE_TAG, 1)?;
        let codec = codec.read_params(input)?;
        let rows = read_coded_rows(
            codec.dim(),
            codec.metric(),
            codec.code_size(),
            codec.is_trained(),
            input,
        )?;
        let mut index = QuantizedFlat::new(codec, options);
        (index.ids, index.codes, index.row_of, index.full.kept) = rows;
        Ok(index)
    }
}

type CodedRows = (Vec<u32>, Vec<u8>, IdMap, Option<FlatIndex>);

/// The codec-independent part of `QuantizedFlat::decode_state` (kept out of the generic code
/// so it is compiled once, not once per codec).
fn read_coded_rows(
    dim: usize,
    metric: Metric,
    size: usize,
    trained: bool,
    input: &mut dyn crate::codec::Read,
) -> Result<CodedRows> {
    let corrupt = |what: &str| Error::Corrupt {
        what: format!("quantized flat index: {what}"),
    };
    let n = input.count(4 + size as u64, "code count")?;
    let ids = input.u32s(n as u64, "code ids")?;
    let mut codes = vec![0u8; n * size];
    input.read_into(&mut codes, "codes")?;
    let kept = match input.u8("kept flag")? {
        0 => None,
        1 => Some(FlatIndex::decode_state(dim, metric, input)?),
        _ => return Err(corrupt("kept flag is not a boolean")),
    };
    let row_of = id_map_of(
        ids.iter().copied(),
        input.id_limit(),
        "quantized flat index",
    )?;
    match (&kept, trained) {
        (None, false) => return Err(corrupt("untrained without its exact buffer")),
        (Some(_), false) if n > 0 => return Err(corrupt("codes from an untrained codec")),
        (Some(kept), true) if kept.len() != n || kept.ids().any(|id| !row_of.contains_key(id)) => {
            return Err(corrupt("kept vectors differ from the coded ones"))
        }
        _ => {}
    }
    Ok((ids, codes, row_of, kept))
}

impl<C: Codec> Index for QuantizedFlat<C> {
    fn spec(&self) -> IndexSpec {
        IndexSpec {
            structure: Structure::Flat,
            encoding: self.codec.encoding(),
        }
    }

    fn dim(&self) -> usize {
        self.codec.dim()
    }

    fn metric(&self) -> Metric {
        self.codec.metric()
    }

    fn is_trained(&self) -> bool {
        self.codec.is_trained()
    }

    fn train(&mut self, vectors: &[f32]) -> Result<()> {
        self.train_and_encode(vectors)
    }

    fn train_on_stored(&mut self) -> Result<()> {
        let Some(kept) = &self.full.kept else {
            return Err(Error::Unsupported {
                what: "re-training a quantized index needs its full vectors (keep_vectors)".into(),
            });
        };
        let samples = kept.rows_to_vec();
        self.train_and_encode(&samples)
    }

    fn add(&mut self, ids: &[u32], vectors: &[f32]) -> Result<()> {
        let dim = self.dim();
        if vectors.len() != ids.len() * dim {
            return Err(Error::InvalidArgument {
                name: "vectors",
                reason: format!(
                    "{} floats for {} ids of dimension {dim}",
                    vectors.len(),
                    ids.len()
                ),
            });
        }
        if let Some(buffer) = self.buffer() {
            let buffer_len = buffer.len();
            // The exact buffer checks duplicates and is all or nothing.
            if let Some(kept) = self.full.kept.as_mut() {
                kept.add(ids, vectors)?;
            }
            if buffer_len + ids.len() >= self.codec.auto_train_vectors() {
                // A failed automatic training leaves the index exact and untrained; the add
                // itself has succeeded.
                let _ = self.train_on_stored();
            }
            return Ok(());
        }
        let mut seen = HashSet::with_capacity(ids.len());
        for &id in ids {
            if self.row_of.contains_key(id) || !seen.insert(id) {
                return Err(Error::DuplicateId {
                    id: id.to_string(),
                    reason: "internal id already stored",
                });
            }
        }
        if let Some(kept) = self.full.kept.as_mut() {
            kept.add(ids, vectors)?;
        }
        let size = self.codec.code_size();
        let start = self.codes.len();
        self.codes.resize(start + ids.len() * size, 0);
        for (vector, code) in vectors
            .chunks_exact(dim)
            .zip(self.codes[start..].chunks_exact_mut(size))
        {
            self.codec.encode(vector, code);
        }
        for &id in ids {
            self.row_of.insert(id, self.ids.len() as u32);
            self.ids.push(id);
        }
        Ok(())
    }

    fn remove(&mut self, ids: &[u32]) -> usize {
        if let Some(kept) = self.full.kept.as_mut() {
            let removed = kept.remove(ids);
            if !self.codec.is_trained() {
                return removed;
            }
        }
        let size = self.codec.code_size();
        let mut removed = 0;
        for id in ids {
            let Some(row) = self.row_of.remove(*id) else {
                continue;
            };
            let row = row as usize;
            let last = self.ids.len() - 1;
            if row != last {
                self.codes
                    .copy_within(last * size..(last + 1) * size, row * size);
                let moved = self.ids[last];
                self.ids[row] = moved;
                self.row_of.insert(moved, row as u32);
            }
            self.ids.pop();
            self.codes.truncate(last * size);
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
        if query.len() != self.dim() {
            return Err(Error::DimensionMismatch {
                expected: self.dim(),
                received: query.len(),
            });
        }
        if let Some(buffer) = self.buffer() {
            return buffer.search(query, k, params, scratch);
        }
        let rerank = self
            .full
            .rerank_depth(params.rerank, self.codec.default_rerank(k))?;
        let mut prepared = C::Query::default();
        self.codec.prepare(query, &mut prepared);
        if rerank == 0 {
            return Ok(self.scan(&prepared, k, params, scratch));
        }
        let candidates = match self.full.replay(query, rerank.max(k)) {
            Some(candidates) => candidates,
            None => self.scan(&prepared, rerank.max(k), params, scratch),
        };
        self.full.rerank(self.metric(), query, &candidates, k)
    }

    /// Exact when the full vectors are kept (scored like flat search); otherwise the
    /// candidates' codes are scored with the codec's kernel and the best are reranked through
    /// the [`VectorSource`] (at the codec's default depth) when there is one, so a pre-filter
    /// never falls back to scanning every code.
    fn search_candidates(
        &self,
        query: &[f32],
        k: usize,
        ids: &[u32],
        scratch: &mut Scratch,
    ) -> Result<Vec<Neighbor>> {
        if query.len() != self.dim() {
            return Err(Error::DimensionMismatch {
                expected: self.dim(),
                received: query.len(),
            });
        }
        if let Some(kept) = &self.full.kept {
            return kept.search_candidates(query, k, ids, scratch);
        }
        let rerank = self.full.rerank_depth(None, self.codec.default_rerank(k))?;
        let mut prepared = C::Query::default();
        self.codec.prepare(query, &mut prepared);
        let size = self.codec.code_size();
        let mut top = TopK::new(rerank.max(k));
        let mut rows: Vec<(u32, u32)> = ids
            .iter()
            .filter_map(|&id| self.row_of.get(id).map(|row| (row, id)))
            .collect();
        // Row order reads the arena forward.
        rows.sort_unstable();
        let mut codes = Vec::with_capacity(SCAN_BLOCK_ROWS.min(rows.len()) * size);
        scratch.distances.resize(SCAN_BLOCK_ROWS, 0.0);
        for block in rows.chunks(SCAN_BLOCK_ROWS) {
            codes.clear();
            for &(row, _) in block {
                let start = row as usize * size;
                codes.extend_from_slice(&self.codes[start..start + size]);
            }
            let distances = &mut scratch.distances[..block.len()];
            self.codec.distances(&prepared, &codes, distances);
            for (&(_, id), &distance) in block.iter().zip(distances.iter()) {
                top.push(id, distance);
            }
        }
        let candidates = top.into_sorted_vec();
        if rerank == 0 {
            return Ok(candidates);
        }
        self.full.rerank(self.metric(), query, &candidates, k)
    }

    fn vector(&self, id: u32) -> Option<&[f32]> {
        self.full.kept.as_ref()?.vector(id)
    }

    fn contains(&self, id: u32) -> bool {
        match self.buffer() {
            Some(buffer) => buffer.contains(id),
            None => self.row_of.contains_key(id),
        }
    }

    fn len(&self) -> usize {
        match self.buffer() {
            Some(buffer) => buffer.len(),
            None => self.ids.len(),
        }
    }

    fn set_vector_source(&mut self, source: Box<dyn VectorSource>) -> Result<()> {
        self.full.source = Some(source);
        Ok(())
    }

    /// Snapshot layout (`docs/format.md`): `QFLT` v1, the codec's parameters, `u64 n`, `n` ids,
    /// `n × code_size` code bytes, then `u8 kept` and the kept full vectors (a flat section:
    /// the exact buffer before training).
    fn encode_state(&self, out: &mut dyn crate::codec::Write) -> Result<()> {
        out.family_header(QUANTIZED_STATE_TAG, 1);
        self.codec.write_params(out);
        out.u64(self.ids.len() as u64);
        out.u32s(&self.ids);
        out.raw(&self.codes);
        match &self.full.kept {
            None => out.u8(0),
            Some(kept) => {
                out.u8(1);
                kept.encode_state(out)?;
            }
        }
        Ok(())
    }

    fn memory_bytes(&self) -> usize {
        self.codes.capacity()
            + self.ids.capacity() * 4
            + self.row_of.capacity_bytes()
            + self.codec.memory_bytes()
            + self.full.memory_bytes()
    }

    fn memory_breakdown(&self) -> crate::index::traits::MemoryBreakdown {
        let codes = self.codes.capacity() + self.codec.memory_bytes();
        let vectors = self.full.memory_bytes();
        crate::index::traits::MemoryBreakdown {
            vectors,
            codes,
            graph: 0,
            other: self.memory_bytes() - codes - vectors,
        }
    }
}

//! The quantized list encoders of IVF: `"IVF{nlist},SQ8"` and `"IVF{nlist},PQ{m}"` plug into
//! [`super::ivf::IvfIndex`] through its [`ListEncoder`] seam.
//!
//! - [`Sq8ListEncoder`] stores SQ8 codes of the vectors themselves (ranges trained on the
//!   coarse quantizer's training sample): the lists only prune the scan.
//! - [`PqResidualEncoder`] stores PQ codes of the *residual* `x − c` of each vector to its
//!   list's centroid (Jégou et al. 2011, IVFADC), so the codebooks spend their bits on the
//!   small, centred residuals rather than on where the cluster is. Scoring a list:
//!   - `dot`/`cosine`: `q·(c + r̂) = q·c + q·r̂`; the `q·r̂` tables do not depend on the list,
//!     so they are built once per query and each list adds the constant `q·c`;
//!   - `l2`: `‖q − c − r̂‖²` needs tables of the query's residual `q − c`, rebuilt for each
//!     probed list (`256 · dim` multiply-adds per list; faiss trades that for an
//!     `nlist × m × 256` precomputed table, too large for our memory budget).

use super::ivf::ListEncoder;
use crate::distance::Metric;
use crate::error::Result;
use crate::index::spec::Encoding;
use crate::quant::pq::Pq;
use crate::quant::sq8::{Sq8, Sq8Query};
use crate::quant::{Centroids, Codec};

/// SQ8 codes in inverted lists.
#[derive(Debug, Clone)]
pub struct Sq8ListEncoder {
    sq8: Sq8,
}

impl Sq8ListEncoder {
    pub fn new(dim: usize, metric: Metric) -> Self {
        Sq8ListEncoder {
            sq8: Sq8::new(dim, metric),
        }
    }

    pub fn codec(&self) -> &Sq8 {
        &self.sq8
    }
}

impl ListEncoder for Sq8ListEncoder {
    type Code = u8;
    type QueryState = Sq8Query;

    fn encoding(&self) -> Encoding {
        Encoding::Sq8
    }

    fn code_len(&self) -> usize {
        self.sq8.code_size()
    }

    fn train(&mut self, vectors: &[f32], _centroids: &Centroids, seed: u64) -> Result<()> {
        self.sq8.train(vectors, seed)
    }

    fn encode(&self, vector: &[f32], _centroid: &[f32], out: &mut [u8]) {
        self.sq8.encode(vector, out);
    }

    fn decode(&self, code: &[u8], _centroid: &[f32], out: &mut [f32]) -> bool {
        self.sq8.decode(code, out);
        true
    }

    fn query_state(&self, query: &[f32]) -> Sq8Query {
        let mut state = Sq8Query::default();
        self.sq8.prepare(query, &mut state);
        state
    }

    fn distances(&self, state: &Sq8Query, _query: &[f32], codes: &[u8], out: &mut [f32]) {
        self.sq8.distances(state, codes, out);
    }

    fn memory_bytes(&self) -> usize {
        self.sq8.memory_bytes()
    }

    fn write_params(&self, out: &mut dyn crate::codec::Write) {
        self.sq8.write_params(out);
    }

    fn read_params(self, input: &mut dyn crate::codec::Read) -> Result<Self> {
        let sq8 = self.sq8.read_params(input)?;
        if !sq8.is_trained() {
            return Err(crate::Error::Corrupt {
                what: "IVF,SQ8: a trained index without SQ8 ranges".into(),
            });
        }
        Ok(Sq8ListEncoder { sq8 })
    }
}

/// PQ codes of residuals to the list centroid in inverted lists (IVFADC).
#[derive(Debug, Clone)]
pub struct PqResidualEncoder {
    pq: Pq,
}

/// Per-query state of [`PqResidualEncoder`].
#[derive(Debug, Clone, Default)]
pub struct PqListQuery {
    /// The query itself (list changes need it).
    query: Vec<f32>,
    /// `m × 256` tables of the current list's query residual (l2) or of the query (dot,
    /// cosine).
    tables: Vec<f32>,
    /// Added to every code's table sum in the current list: `−q·c` (dot, cosine), 0 (l2).
    bias: f32,
}

impl PqResidualEncoder {
    pub fn new(dim: usize, metric: Metric, m: usize) -> Result<Self> {
        Ok(PqResidualEncoder {
            pq: Pq::new(dim, metric, m)?,
        })
    }

    pub fn codec(&self) -> &Pq {
        &self.pq
    }
}

impl ListEncoder for PqResidualEncoder {
    type Code = u8;
    type QueryState = PqListQuery;

    fn encoding(&self) -> Encoding {
        self.pq.encoding()
    }

    fn code_len(&self) -> usize {
        self.pq.code_size()
    }

    fn train(&mut self, vectors: &[f32], centroids: &Centroids, seed: u64) -> Result<()> {
        let dim = self.pq.dim();
        let (labels, _) = centroids.assign(vectors);
        let mut residuals = Vec::with_capacity(vectors.len());
        for (v, &l) in vectors.chunks_exact(dim).zip(&labels) {
            let c = centroids.get(l as usize);
            residuals.extend(v.iter().zip(c).map(|(&x, &y)| x - y));
        }
        self.pq.train(&residuals, seed)
    }

    fn encode(&self, vector: &[f32], centroid: &[f32], out: &mut [u8]) {
        let residual: Vec<f32> = vector.iter().zip(centroid).map(|(&x, &c)| x - c).collect();
        self.pq.encode(&residual, out);
    }

    fn decode(&self, code: &[u8], centroid: &[f32], out: &mut [f32]) -> bool {
        self.pq.decode(code, out);
        for (o, &c) in out.iter_mut().zip(centroid) {
            *o += c;
        }
        true
    }

    fn query_state(&self, query: &[f32]) -> PqListQuery {
        let mut state = PqListQuery {
            query: query.to_vec(),
            ..PqListQuery::default()
        };
        if self.pq.metric() != Metric::L2 {
            self.pq.tables_for(Metric::Dot, query, &mut state.tables);
        }
        state
    }

    fn enter_list(&self, state: &mut PqListQuery, _list: usize, centroid: &[f32]) {
        match self.pq.metric() {
            Metric::L2 => {
                let residual: Vec<f32> = state
                    .query
                    .iter()
                    .zip(centroid)
                    .map(|(&q, &c)| q - c)
                    .collect();
                self.pq.tables_for(Metric::L2, &residual, &mut state.tables);
                state.bias = 0.0;
            }
            Metric::Cosine | Metric::Dot => {
                state.bias = -crate::distance::dot(&state.query, centroid);
            }
        }
    }

    fn distances(&self, state: &PqListQuery, _query: &[f32], codes: &[u8], out: &mut [f32]) {
        self.pq.scan(&state.tables, codes, out);
        if state.bias != 0.0 {
            for o in out.iter_mut() {
                *o += state.bias;
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        self.pq.memory_bytes()
    }

    fn write_params(&self, out: &mut dyn crate::codec::Write) {
        self.pq.write_params(out);
    }

    fn read_params(self, input: &mut dyn crate::codec::Read) -> Result<Self> {
        let pq = self.pq.read_params(input)?;
        if !pq.is_trained() {
            return Err(crate::Error::Corrupt {
                what: "IVF,PQ: a trained index without PQ codebooks".into(),
            });
        }
        Ok(PqResidualEncoder { pq })
    }
}

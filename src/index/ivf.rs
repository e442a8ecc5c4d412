//! The IVF family (inverted file, Jégou, Douze & Schmid 2011; faiss `IndexIVF`): a coarse
//! k-means quantizer with `nlist` centroids partitions the vectors into `nlist` inverted lists;
//! a query scores the centroids, scans the `nprobe` nearest lists and nothing else.
//!
//! What it promises:
//! - **Storage.** Each list is a contiguous row-major arena of codes plus the ids of its rows,
//!   scanned block by block with the batched kernel. What a row stores is decided by a
//!   [`ListEncoder`]: raw f32 vectors here ([`RawEncoder`]), SQ8 or PQ codes later, without
//!   changes to this file. `remove` is a swap-remove inside the list, found through an
//!   `id → (list, position)` map, so lists stay dense.
//! - **Training policy.** Training needs at least [`MIN_POINTS_PER_LIST`]` · nlist` vectors
//!   (faiss's 39 per centroid) and uses at most 256 per list (a seeded sample). Vectors added
//!   before training are kept in an exact flat buffer and searched exactly, so results are never
//!   wrong, only slower; when the buffer reaches `39 · nlist` vectors the index trains itself on
//!   it and moves every buffered vector into its list. [`Index::train`] (explicit samples) and
//!   [`Index::train_on_stored`] (the vectors held) train on demand; training an already trained
//!   raw index re-clusters and re-assigns every stored vector. Too few vectors for an explicit
//!   training is a typed `invalid_argument` error and leaves the index unchanged.
//! - **Geometry.** Centroids are trained with k-means under squared L2; for cosine (vectors are
//!   unit length) the k-means is spherical, so the nearest centroid is also the one of largest
//!   inner product. Vectors go to their L2-nearest centroid. Lists are ranked for probing by the
//!   index metric against the centroid (`dot`: largest `q·c` first, the usual MIPS heuristic).
//! - **Search.** `nprobe` comes from [`SearchParams`] (default [`default_nprobe`]; values above
//!   `nlist` are clamped; 0 is an error). At least `nprobe` lists are scanned, and more, in rank
//!   order, until `k` results have been collected or every list is scanned: so a filter that
//!   rejects most rows, or lists smaller than `k`, still yield `min(k, matches)` results.
//!   With `nprobe = nlist` results equal flat search exactly (same kernel, same tie-break).
//! - **Determinism.** The seed of [`IndexOptions`] drives sampling and k-means++: the same seed
//!   and the same operations give the same centroids and the same results.

use super::id_map::IdMap;

use super::flat::FlatIndex;
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::index::spec::Encoding;
use crate::index::spec::IndexSpec;
use crate::index::spec::Structure;
use crate::index::traits::Index;
use crate::index::traits::IndexOptions;
use crate::index::traits::Scratch;
use crate::index::traits::SearchParams;
use crate::quant::{kmeans, Centroids, KmeansParams, MIN_POINTS_PER_CENTROID};
use crate::topk::{Neighbor, TopK};

/// Fewest training vectors per list: below it centroids are mostly noise (faiss warns at 39).
/// It is also the auto-train threshold: the buffer trains itself at `39 · nlist` vectors.
pub const MIN_POINTS_PER_LIST: usize = MIN_POINTS_PER_CENTROID;

/// Lloyd iterations of the coarse quantizer (faiss uses 10 for IVF). Later iterations move the
/// centroids by a fraction of a percent of inertia and barely change recall at a given nprobe.
pub const TRAIN_ITERATIONS: usize = 10;

/// Rows scored per kernel call (keeps the distance buffer in L1).
const SCAN_BLOCK_ROWS: usize = 256;

/// The `nprobe` used when neither the query nor the collection's tuned defaults set one:
/// `nlist / 8` (at least 1), an eighth of the lists. On 20k MiniLM vectors this gives
/// recall@10 ≈ 0.96–0.97 with `IVF128`/`IVF256` (see `docs/ivf.md`); [`crate::tune`] finds the
/// smallest value for a chosen target.
pub fn default_nprobe(nlist: usize) -> usize {
    (nlist / 8).max(1)
}

/// What an inverted list stores for each vector and how a query is scored against it: the seam
/// through which `"IVF256,SQ8"` and `"IVF256,PQ48"` plug in.
///
/// A list holds `code_len()` elements of [`ListEncoder::Code`] per row, contiguous. Scoring is
/// batched: [`ListEncoder::distances`] gets a whole block of rows at a time.
pub trait ListEncoder: Clone {
    /// Element type of a code: `f32` for raw vectors, `u8` for SQ8 and PQ codes.
    type Code: Copy + Default + std::fmt::Debug + crate::codec::CodeElement;
    /// Per-query state built once per query (for example PQ lookup tables).
    type QueryState;

    /// The encoding part of the index spec.
    fn encoding(&self) -> Encoding;

    /// Code elements per vector.
    fn code_len(&self) -> usize;

    /// Bytes per vector.
    fn code_size(&self) -> usize {
        self.code_len() * std::mem::size_of::<Self::Code>()
    }

    /// Learns the encoder's own parameters from `vectors` (`n × dim`, the coarse quantizer's
    /// training sample) once the coarse `centroids` are known. Residual encoders assign each
    /// vector with `centroids.assign` and train on `vector − centroid`. A no-op by default.
    fn train(&mut self, _vectors: &[f32], _centroids: &Centroids, _seed: u64) -> Result<()> {
        Ok(())
    }

    /// Encodes `vector`, which belongs to the list whose centroid is `centroid`, into `out`
    /// (`code_len()` elements).
    fn encode(&self, vector: &[f32], centroid: &[f32], out: &mut [Self::Code]);

    /// The stored f32 vector when codes are exactly the vector (raw); `None` for lossy codes.
    fn as_f32<'a>(&self, _code: &'a [Self::Code]) -> Option<&'a [f32]> {
        None
    }

    /// Reconstructs a vector from its code (approximately, for lossy codes) into `out`. Returns
    /// `false` when the encoder cannot.
    fn decode(&self, _code: &[Self::Code], _centroid: &[f32], _out: &mut [f32]) -> bool {
        false
    }

    /// Whether [`ListEncoder::decode`] gives back exactly the vector that was encoded, which
    /// allows re-training the coarse quantizer and re-assigning the stored vectors.
    fn lossless(&self) -> bool {
        false
    }

    /// Prepares scoring of a (prepared) query.
    fn query_state(&self, query: &[f32]) -> Self::QueryState;

    /// Called before a list is scanned: residual encoders shift their state to the list's
    /// centroid. A no-op by default.
    fn enter_list(&self, _state: &mut Self::QueryState, _list: usize, _centroid: &[f32]) {}

    /// Internal distances (lower is better, under the index metric) of `query` to each code of
    /// the block `codes` (a whole number of codes), written to `out`.
    fn distances(
        &self,
        state: &Self::QueryState,
        query: &[f32],
        codes: &[Self::Code],
        out: &mut [f32],
    );

    /// Heap bytes the encoder holds (codebooks, tables).
    fn memory_bytes(&self) -> usize {
        0
    }

    /// Snapshot: writes the encoder's learned parameters (nothing for raw vectors). Called
    /// only once the index is trained.
    fn write_params(&self, _out: &mut dyn crate::codec::Write) {}

    /// Snapshot: reads what [`ListEncoder::write_params`] wrote into this new encoder; the
    /// result must be a trained encoder (bad input is `Corrupt`).
    fn read_params(self, _input: &mut dyn crate::codec::Read) -> Result<Self>
    where
        Self: Sized,
    {
        Ok(self)
    }
}

/// Lists store the full f32 vectors: exact distances, 4·dim bytes per vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEncoder {
    dim: usize,
    metric: Metric,
}

impl RawEncoder {
    pub fn new(dim: usize, metric: Metric) -> Self {
        RawEncoder { dim, metric }
    }
}

impl ListEncoder for RawEncoder {
    type Code = f32;
    type QueryState = ();

    fn encoding(&self) -> Encoding {
        Encoding::Raw
    }

    fn code_len(&self) -> usize {
        self.dim
    }

    fn encode(&self, vector: &[f32], _centroid: &[f32], out: &mut [f32]) {
        out.copy_from_slice(vector);
    }

    fn as_f32<'a>(&self, code: &'a [f32]) -> Option<&'a [f32]> {
        Some(code)
    }

    fn decode(&self, code: &[f32], _centroid: &[f32], out: &mut [f32]) -> bool {
        out.copy_from_slice(code);
        true
    }

    fn lossless(&self) -> bool {
        true
    }

    fn query_state(&self, _query: &[f32]) {}

    fn distances(&self, _state: &(), query: &[f32], codes: &[f32], out: &mut [f32]) {
        self.metric.distance_batch(query, codes, out);
    }
}

/// Training knobs of an IVF index (the defaults are the documented policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfParams {
    /// The coarse k-means (seed, iterations, sampling caps). `spherical` is set from the metric.
    pub kmeans: KmeansParams,
}

impl IvfParams {
    /// The default policy with the given seed.
    pub fn with_seed(seed: u64) -> Self {
        IvfParams {
            kmeans: KmeansParams {
                seed,
                iterations: TRAIN_ITERATIONS,
                min_points_per_centroid: MIN_POINTS_PER_LIST,
                ..KmeansParams::default()
            },
        }
    }
}

/// Counters of one search, for benchmarks and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IvfSearchStats {
    /// Lists scanned.
    pub lists_probed: usize,
    /// Codes scored (rows scanned), including the exact buffer before training.
    pub codes_scanned: usize,
}

/// One inverted list: `ids.len()` codes of `code_len` elements, row-major.
#[derive(Debug, Clone, Default)]
struct InvertedList<C> {
    codes: Vec<C>,
    ids: Vec<u32>,
}

/// An inverted-file index over any [`ListEncoder`].
#[derive(Debug, Clone)]
pub struct IvfIndex<E: ListEncoder> {
    dim: usize,
    metric: Metric,
    nlist: usize,
    encoder: E,
    params: IvfParams,
    centroids: Option<Centroids>,
    lists: Vec<InvertedList<E::Code>>,
    /// `(list, position)` of every id stored in a list.
    location: Locations,
    /// Vectors added before training, searched exactly.
    buffer: FlatIndex,
    /// Why the last automatic training failed, if it did (the add itself succeeded).
    auto_train_error: Option<Error>,
}

const IVF_STATE_TAG: [u8; 4] = *b"IVF_";

impl<E: ListEncoder> IvfIndex<E> {
    /// Reads what `encode_state` wrote into a new index of this shape (the seed of `options`
    /// drives later training, as for a new index). Checks that every id is stored once and
    /// that lists match the centroids; bad input is `Corrupt`.
    pub fn decode_state(
        nlist: usize,
        dim: usize,
        metric: Metric,
        encoder: E,
        options: &IndexOptions,
        input: &mut dyn crate::codec::Read,
    ) -> Result<Self> {
        use crate::codec::CodeElement;
        let mut ivf = IvfIndex::new(nlist, dim, metric, encoder, options);
        let (buffer, centroids) = read_ivf_head(ivf.nlist, dim, metric, input)?;
        ivf.buffer = buffer;
        let Some(centroids) = centroids else {
            return Ok(ivf);
        };
        ivf.encoder = ivf.encoder.clone().read_params(input)?;
        let code_len = ivf.encoder.code_len();
        let min_row = 4 + ivf.encoder.code_size() as u64;
        ivf.lists = Vec::with_capacity(ivf.nlist);
        for l in 0..ivf.nlist {
            let ids = read_list_ids(min_row, l, &mut ivf.location, input)?;
            let codes = E::Code::read_all((ids.len() * code_len) as u64, input, "IVF list codes")?;
            ivf.lists.push(InvertedList { codes, ids });
        }
        ivf.centroids = Some(centroids);
        Ok(ivf)
    }
}

fn ivf_corrupt(what: &str) -> Error {
    Error::Corrupt {
        what: format!("IVF index: {what}"),
    }
}

/// The encoder-independent head of an `IVF_` section (compiled once, not per encoder): the
/// exact buffer and, when trained, the centroids.
fn read_ivf_head(
    nlist: usize,
    dim: usize,
    metric: Metric,
    input: &mut dyn crate::codec::Read,
) -> Result<(FlatIndex, Option<Centroids>)> {
    input.family_header(IVF_STATE_TAG, 1)?;
    if input.u32("IVF nlist")? as usize != nlist {
        return Err(ivf_corrupt("nlist differs from the spec"));
    }
    let buffer = FlatIndex::decode_state(dim, metric, input)?;
    match input.u8("IVF trained flag")? {
        0 => return Ok((buffer, None)),
        1 => {}
        _ => return Err(ivf_corrupt("trained flag is not a boolean")),
    }
    if !buffer.is_empty() {
        return Err(ivf_corrupt("a trained index with buffered vectors"));
    }
    let data = input.f32s((nlist * dim) as u64, "IVF centroids")?;
    if data.iter().any(|x| !x.is_finite()) {
        return Err(ivf_corrupt("non-finite centroid"));
    }
    let centroids = Centroids::from_rows(dim, data).map_err(|_| ivf_corrupt("centroids"))?;
    Ok((buffer, Some(centroids)))
}

/// One list's ids, recorded in `location`: an id at or above the store's next id, or stored
/// twice, is corruption (so a crafted file cannot size the dense map).
fn read_list_ids(
    min_row: u64,
    list: usize,
    location: &mut Locations,
    input: &mut dyn crate::codec::Read,
) -> Result<Vec<u32>> {
    let n = input.count(min_row, "IVF list length")?;
    let ids = input.u32s(n as u64, "IVF list ids")?;
    let limit = input.id_limit();
    for (position, &id) in ids.iter().enumerate() {
        let id = super::flat::checked_id(id, limit, "IVF list ids")?;
        if location.try_insert(id, list as u32, position as u32)? {
            return Err(ivf_corrupt("an internal id stored twice"));
        }
    }
    Ok(ids)
}

/// Where each listed id is: its list and its position in it, as two dense [`IdMap`]s (8 bytes
/// per id, no hashing) instead of a hash map of pairs (about 20 bytes per id at its load).
#[derive(Debug, Clone, Default)]
struct Locations {
    list: IdMap,
    position: IdMap,
}

impl Locations {
    fn get(&self, id: u32) -> Option<(u32, u32)> {
        Some((self.list.get(id)?, self.position.get(id)?))
    }

    fn contains_key(&self, id: u32) -> bool {
        self.list.contains_key(id)
    }

    fn insert(&mut self, id: u32, list: u32, position: u32) {
        self.list.insert(id, list);
        self.position.insert(id, position);
    }

    /// [`Locations::insert`] for ids read from a file; `Ok(true)` if the id was already there.
    fn try_insert(&mut self, id: u32, list: u32, position: u32) -> Result<bool> {
        let too_large = |_| ivf_corrupt(&format!("internal id {id} is too large for the memory"));
        let previous = self.list.try_insert(id, list).map_err(too_large)?;
        self.position.try_insert(id, position).map_err(too_large)?;
        Ok(previous.is_some())
    }

    fn remove(&mut self, id: u32) -> Option<(u32, u32)> {
        Some((self.list.remove(id)?, self.position.remove(id)?))
    }

    fn set_position(&mut self, id: u32, position: u32) {
        self.position.insert(id, position);
    }

    fn len(&self) -> usize {
        self.list.len()
    }

    fn clear(&mut self) {
        *self = Locations::default();
    }

    fn memory_bytes(&self) -> usize {
        self.list.capacity_bytes() + self.position.capacity_bytes()
    }
}

/// The raw-vector IVF of spec `"IVF{nlist}"`.
pub type IvfFlat = IvfIndex<RawEncoder>;

impl IvfFlat {
    /// An empty, untrained `IVF{nlist}` index over raw vectors.
    pub fn new_flat(nlist: usize, dim: usize, metric: Metric, options: &IndexOptions) -> Self {
        IvfIndex::new(nlist, dim, metric, RawEncoder::new(dim, metric), options)
    }
}

impl<E: ListEncoder> IvfIndex<E> {
    /// An empty, untrained index with the default training policy.
    pub fn new(
        nlist: usize,
        dim: usize,
        metric: Metric,
        encoder: E,
        options: &IndexOptions,
    ) -> Self {
        Self::with_params(
            nlist,
            dim,
            metric,
            encoder,
            IvfParams::with_seed(options.seed),
        )
    }

    /// An empty, untrained index with explicit training parameters.
    pub fn with_params(
        nlist: usize,
        dim: usize,
        metric: Metric,
        encoder: E,
        params: IvfParams,
    ) -> Self {
        IvfIndex {
            dim,
            metric,
            nlist: nlist.max(1),
            encoder,
            params,
            centroids: None,
            lists: Vec::new(),
            location: Locations::default(),
            buffer: FlatIndex::new(dim, metric),
            auto_train_error: None,
        }
    }

    pub fn nlist(&self) -> usize {
        self.nlist
    }

    /// The coarse centroids, once trained.
    pub fn centroids(&self) -> Option<&Centroids> {
        self.centroids.as_ref()
    }

    /// Rows in each list (empty before training).
    pub fn list_sizes(&self) -> Vec<usize> {
        self.lists.iter().map(|l| l.ids.len()).collect()
    }

    /// Vectors waiting in the exact pre-training buffer.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Vectors the buffer must reach before the index trains itself: `39 · nlist`.
    pub fn auto_train_threshold(&self) -> usize {
        self.params
            .kmeans
            .min_points_per_centroid
            .max(1)
            .saturating_mul(self.nlist)
    }

    /// Why the last automatic training failed, if it did.
    pub fn auto_train_error(&self) -> Option<&Error> {
        self.auto_train_error.as_ref()
    }

    pub fn encoder(&self) -> &E {
        &self.encoder
    }

    fn kmeans_params(&self) -> KmeansParams {
        KmeansParams {
            spherical: self.metric == Metric::Cosine,
            ..self.params.kmeans.clone()
        }
    }

    fn check_rows(&self, vectors: &[f32], name: &'static str) -> Result<usize> {
        if vectors.len() % self.dim != 0 {
            return Err(Error::InvalidArgument {
                name,
                reason: format!(
                    "{} floats is not a whole number of vectors of dimension {}",
                    vectors.len(),
                    self.dim
                ),
            });
        }
        Ok(vectors.len() / self.dim)
    }

    /// Every stored vector with its id (buffer first, then lists in order), for re-homing on
    /// (re)training. Fails if lists hold lossy codes.
    fn stored_vectors(&self) -> Result<(Vec<u32>, Vec<f32>)> {
        let mut ids = self.buffer.ids_to_vec();
        let mut rows = self.buffer.rows_to_vec();
        let listed = self.location.len();
        if listed > 0 {
            if !self.encoder.lossless() {
                return Err(Error::Unsupported {
                    what: format!(
                        "re-training {} after vectors were encoded (the codes are lossy)",
                        self.spec()
                    ),
                });
            }
            let code_len = self.encoder.code_len();
            ids.reserve(listed);
            rows.reserve(listed * self.dim);
            let mut decoded = vec![0.0f32; self.dim];
            for (l, list) in self.lists.iter().enumerate() {
                let centroid = self.centroid(l);
                for (code, &id) in list.codes.chunks_exact(code_len).zip(&list.ids) {
                    self.encoder.decode(code, centroid, &mut decoded);
                    rows.extend_from_slice(&decoded);
                    ids.push(id);
                }
            }
        }
        Ok((ids, rows))
    }

    fn centroid(&self, list: usize) -> &[f32] {
        self.centroids.as_ref().map_or(&[][..], |c| c.get(list))
    }

    /// Trains on `training` and re-homes every stored vector. All or nothing.
    fn train_with(&mut self, training: &[f32]) -> Result<()> {
        self.check_rows(training, "vectors")?;
        let (ids, rows) = self.stored_vectors()?;
        let centroids = kmeans(training, self.dim, self.nlist, &self.kmeans_params())?;
        let mut encoder = self.encoder.clone();
        encoder.train(training, &centroids, self.params.kmeans.seed ^ 0xE4C0_DE00)?;
        self.encoder = encoder;
        self.centroids = Some(centroids);
        self.lists = vec![InvertedList::default(); self.nlist];
        self.location.clear();
        self.buffer = FlatIndex::new(self.dim, self.metric);
        self.auto_train_error = None;
        self.insert_trained(&ids, &rows);
        Ok(())
    }

    /// Assigns and encodes vectors into their lists (the index is trained; ids are new).
    fn insert_trained(&mut self, ids: &[u32], vectors: &[f32]) {
        let Some(centroids) = self.centroids.as_ref() else {
            return;
        };
        let (labels, _) = centroids.assign(vectors);
        let code_len = self.encoder.code_len();
        for ((&id, vector), &label) in ids.iter().zip(vectors.chunks_exact(self.dim)).zip(&labels) {
            let l = label as usize;
            let list = &mut self.lists[l];
            let position = list.ids.len();
            list.codes
                .resize((position + 1) * code_len, E::Code::default());
            self.encoder.encode(
                vector,
                centroids.get(l),
                &mut list.codes[position * code_len..],
            );
            list.ids.push(id);
            self.location.insert(id, label, position as u32);
        }
    }

    fn resolve_nprobe(&self, params: &SearchParams) -> Result<usize> {
        match params.nprobe {
            Some(0) => Err(Error::InvalidArgument {
                name: "nprobe",
                reason: "must be at least 1".into(),
            }),
            Some(n) => Ok(n.min(self.nlist)),
            None => Ok(default_nprobe(self.nlist)),
        }
    }

    /// [`Index::search`] with counters of the work done.
    pub fn search_with_stats(
        &self,
        query: &[f32],
        k: usize,
        params: &SearchParams,
        scratch: &mut Scratch,
    ) -> Result<(Vec<Neighbor>, IvfSearchStats)> {
        if query.len() != self.dim {
            return Err(Error::DimensionMismatch {
                expected: self.dim,
                received: query.len(),
            });
        }
        let nprobe = self.resolve_nprobe(params)?;
        let Some(centroids) = self.centroids.as_ref() else {
            let stats = IvfSearchStats {
                lists_probed: 0,
                codes_scanned: self.buffer.len(),
            };
            return Ok((self.buffer.search(query, k, params, scratch)?, stats));
        };
        let mut stats = IvfSearchStats::default();

        // Rank lists by the metric against their centroid; only the first nprobe need order
        // unless a filter (or tiny lists) forces probing further.
        let nlist = self.nlist;
        scratch.distances.resize(nlist.max(SCAN_BLOCK_ROWS), 0.0);
        self.metric
            .distance_batch(query, centroids.as_slice(), &mut scratch.distances[..nlist]);
        let mut ranked = std::mem::take(&mut scratch.candidates);
        ranked.clear();
        ranked.extend(
            scratch.distances[..nlist]
                .iter()
                .enumerate()
                .map(|(l, &d)| Neighbor::new(l as u32, d)),
        );
        if nprobe < nlist {
            ranked.select_nth_unstable(nprobe - 1);
        }
        ranked[..nprobe].sort_unstable();

        let mut state = self.encoder.query_state(query);
        let code_len = self.encoder.code_len();
        let mut top = TopK::new(k);
        for rank in 0..nlist {
            if rank == nprobe {
                if top.is_full() {
                    break;
                }
                ranked[nprobe..].sort_unstable();
            }
            let l = ranked[rank].id as usize;
            let list = &self.lists[l];
            stats.lists_probed += 1;
            if list.ids.is_empty() {
                continue;
            }
            self.encoder.enter_list(&mut state, l, centroids.get(l));
            for (codes, ids) in list
                .codes
                .chunks(SCAN_BLOCK_ROWS * code_len)
                .zip(list.ids.chunks(SCAN_BLOCK_ROWS))
            {
                let distances = &mut scratch.distances[..ids.len()];
                self.encoder.distances(&state, query, codes, distances);
                push_block(&mut top, ids, distances, params);
            }
            stats.codes_scanned += list.ids.len();
        }
        scratch.candidates = ranked;
        Ok((top.into_sorted_vec(), stats))
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

impl<E: ListEncoder> Index for IvfIndex<E> {
    fn spec(&self) -> IndexSpec {
        IndexSpec {
            structure: Structure::Ivf { nlist: self.nlist },
            encoding: self.encoder.encoding(),
        }
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    /// Whether the coarse quantizer is trained. `add` works either way (see the module docs).
    fn is_trained(&self) -> bool {
        self.centroids.is_some()
    }

    fn train(&mut self, vectors: &[f32]) -> Result<()> {
        self.train_with(vectors)
    }

    fn train_on_stored(&mut self) -> Result<()> {
        let (_, rows) = self.stored_vectors()?;
        self.train_with(&rows)
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
        if self.centroids.is_none() {
            self.buffer.add(ids, vectors)?;
            if self.buffer.len() >= self.auto_train_threshold() {
                // The add has succeeded whatever happens here: a failed training leaves the
                // vectors in the exact buffer, and the reason is kept for inspection.
                let rows = self.buffer.rows_to_vec();
                if let Err(error) = self.train_with(&rows) {
                    self.auto_train_error = Some(error);
                }
            }
            return Ok(());
        }
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        for &id in ids {
            if self.location.contains_key(id) || !seen.insert(id) {
                return Err(Error::DuplicateId {
                    id: id.to_string(),
                    reason: "internal id already stored",
                });
            }
        }
        self.insert_trained(ids, vectors);
        Ok(())
    }

    fn remove(&mut self, ids: &[u32]) -> usize {
        let code_len = self.encoder.code_len();
        let mut removed = 0;
        for &id in ids {
            if self.buffer.contains(id) {
                removed += self.buffer.remove(&[id]);
                continue;
            }
            let Some((l, position)) = self.location.remove(id) else {
                continue;
            };
            let list = &mut self.lists[l as usize];
            let position = position as usize;
            let last = list.ids.len() - 1;
            if position != last {
                list.codes
                    .copy_within(last * code_len..(last + 1) * code_len, position * code_len);
                let moved = list.ids[last];
                list.ids[position] = moved;
                self.location.set_position(moved, position as u32);
            }
            list.ids.pop();
            list.codes.truncate(last * code_len);
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
        Ok(self.search_with_stats(query, k, params, scratch)?.0)
    }

    fn search_batch(
        &self,
        queries: &[f32],
        k: usize,
        params: &SearchParams,
        scratch: &mut Scratch,
    ) -> Result<Vec<Vec<Neighbor>>> {
        if self.centroids.is_none() {
            self.resolve_nprobe(params)?;
            return self.buffer.search_batch(queries, k, params, scratch);
        }
        queries
            .chunks_exact(self.dim)
            .map(|q| self.search(q, k, params, scratch))
            .collect()
    }

    /// Scores the candidates' own codes, list by list (the encoder's per-list state, such as
    /// a PQ residual table, is built once per list that holds candidates): for raw lists the
    /// exact distances of a scan, for SQ8/PQ the same approximate distances a probe of their
    /// lists would give, so a lossy family without f32 vectors still answers a pre-filter with
    /// `min(k, candidates)` results without probing lists.
    fn search_candidates(
        &self,
        query: &[f32],
        k: usize,
        ids: &[u32],
        scratch: &mut Scratch,
    ) -> Result<Vec<Neighbor>> {
        if query.len() != self.dim {
            return Err(Error::DimensionMismatch {
                expected: self.dim,
                received: query.len(),
            });
        }
        let Some(centroids) = &self.centroids else {
            return self.buffer.search_candidates(query, k, ids, scratch);
        };
        let mut located: Vec<(u32, u32, u32)> = ids
            .iter()
            .filter_map(|&id| self.location.get(id).map(|(l, p)| (l, p, id)))
            .collect();
        located.sort_unstable();
        let code_len = self.encoder.code_len();
        let mut state = self.encoder.query_state(query);
        let mut top = TopK::new(k);
        let mut codes: Vec<E::Code> =
            Vec::with_capacity(SCAN_BLOCK_ROWS.min(located.len()) * code_len);
        let mut block_ids: Vec<u32> = Vec::with_capacity(SCAN_BLOCK_ROWS);
        scratch.distances.resize(SCAN_BLOCK_ROWS, 0.0);
        for in_list in located.chunk_by(|a, b| a.0 == b.0) {
            let l = in_list[0].0 as usize;
            let list = &self.lists[l];
            self.encoder.enter_list(&mut state, l, centroids.get(l));
            for block in in_list.chunks(SCAN_BLOCK_ROWS) {
                codes.clear();
                block_ids.clear();
                for &(_, position, id) in block {
                    let start = position as usize * code_len;
                    codes.extend_from_slice(&list.codes[start..start + code_len]);
                    block_ids.push(id);
                }
                let distances = &mut scratch.distances[..block.len()];
                self.encoder.distances(&state, query, &codes, distances);
                for (&id, &distance) in block_ids.iter().zip(distances.iter()) {
                    top.push(id, distance);
                }
            }
        }
        Ok(top.into_sorted_vec())
    }

    fn vector(&self, id: u32) -> Option<&[f32]> {
        if let Some(v) = self.buffer.vector(id) {
            return Some(v);
        }
        let (l, position) = self.location.get(id)?;
        let code_len = self.encoder.code_len();
        let list = &self.lists[l as usize];
        let start = position as usize * code_len;
        self.encoder.as_f32(&list.codes[start..start + code_len])
    }

    fn contains(&self, id: u32) -> bool {
        self.location.contains_key(id) || self.buffer.contains(id)
    }

    fn len(&self) -> usize {
        self.location.len() + self.buffer.len()
    }

    /// Snapshot layout (`docs/format.md`): `IVF_` v1, `u32 nlist`, the exact buffer (a flat
    /// section), `u8 trained`; if trained: the `nlist × dim` centroids, the encoder's
    /// parameters, then per list `u64 n`, `n` ids and `n × code_len` code elements.
    fn encode_state(&self, out: &mut dyn crate::codec::Write) -> Result<()> {
        use crate::codec::CodeElement;
        out.family_header(IVF_STATE_TAG, 1);
        out.u32(self.nlist as u32);
        self.buffer.encode_state(out)?;
        match &self.centroids {
            None => out.u8(0),
            Some(centroids) => {
                out.u8(1);
                out.f32s(centroids.as_slice());
                self.encoder.write_params(out);
                for list in &self.lists {
                    out.u64(list.ids.len() as u64);
                    out.u32s(&list.ids);
                    E::Code::write_all(&list.codes, out);
                }
            }
        }
        Ok(())
    }

    fn memory_bytes(&self) -> usize {
        let lists: usize = self
            .lists
            .iter()
            .map(|l| l.codes.capacity() * std::mem::size_of::<E::Code>() + l.ids.capacity() * 4)
            .sum();
        lists
            + self.lists.capacity() * std::mem::size_of::<InvertedList<E::Code>>()
            + self.location.memory_bytes()
            + self.centroids.as_ref().map_or(0, Centroids::memory_bytes)
            + self.buffer.memory_bytes()
            + self.encoder.memory_bytes()
    }

    fn memory_breakdown(&self) -> crate::index::traits::MemoryBreakdown {
        let codes = self
            .lists
            .iter()
            .map(|l| l.codes.capacity() * std::mem::size_of::<E::Code>())
            .sum::<usize>()
            + self.centroids.as_ref().map_or(0, Centroids::memory_bytes)
            + self.encoder.memory_bytes();
        // Before training every vector waits, exact, in the buffer.
        let vectors = self.buffer.memory_bytes();
        crate::index::traits::MemoryBreakdown {
            vectors,
            codes,
            graph: 0,
            other: self.memory_bytes() - codes - vectors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::{seeded, Sample};

    fn data(seed: u64, n: usize, dim: usize) -> Vec<f32> {
        let mut rng = seeded(seed);
        let centres: Vec<f32> = (0..8 * dim).map(|_| rng.unit_f64() as f32 - 0.5).collect();
        (0..n)
            .flat_map(|i| {
                let c = (i * 7) % 8;
                (0..dim)
                    .map(|d| centres[c * dim + d] + 0.1 * (rng.unit_f64() as f32 - 0.5))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn index(nlist: usize, dim: usize) -> IvfFlat {
        IvfFlat::new_flat(
            nlist,
            dim,
            Metric::L2,
            &IndexOptions {
                seed: 3,
                ..IndexOptions::default()
            },
        )
    }

    #[test]
    fn buffers_until_threshold_then_trains_and_keeps_everything() {
        let (dim, nlist) = (8, 4);
        let rows = data(1, 400, dim);
        let mut ivf = index(nlist, dim);
        let threshold = ivf.auto_train_threshold();
        assert_eq!(threshold, 156);
        let ids: Vec<u32> = (0..400).collect();
        ivf.add(&ids[..100], &rows[..100 * dim]).unwrap();
        assert!(!ivf.is_trained());
        assert_eq!(ivf.buffered(), 100);
        ivf.add(&ids[100..], &rows[100 * dim..]).unwrap();
        assert!(ivf.is_trained());
        assert_eq!(ivf.buffered(), 0);
        assert_eq!(ivf.len(), 400);
        assert_eq!(ivf.list_sizes().iter().sum::<usize>(), 400);
        for id in [0u32, 150, 399] {
            let i = id as usize;
            assert_eq!(ivf.vector(id), Some(&rows[i * dim..(i + 1) * dim]));
        }
    }

    #[test]
    fn probing_every_list_equals_flat() {
        let (dim, nlist) = (8, 8);
        let rows = data(2, 1000, dim);
        let ids: Vec<u32> = (0..1000).collect();
        let mut ivf = index(nlist, dim);
        ivf.add(&ids, &rows).unwrap();
        assert!(ivf.is_trained());
        let mut flat = FlatIndex::new(dim, Metric::L2);
        flat.add(&ids, &rows).unwrap();
        let mut scratch = Scratch::default();
        let all = SearchParams {
            nprobe: Some(nlist + 5),
            ..SearchParams::default()
        };
        let mut rng = seeded(4);
        for _ in 0..20 {
            let q: Vec<f32> = (0..dim).map(|_| rng.unit_f64() as f32 - 0.5).collect();
            let (hits, stats) = ivf.search_with_stats(&q, 10, &all, &mut scratch).unwrap();
            assert_eq!(hits, flat.search(&q, 10, &all, &mut scratch).unwrap());
            assert_eq!(stats.lists_probed, nlist);
            assert_eq!(stats.codes_scanned, 1000);
        }
    }

    #[test]
    fn remove_swaps_within_the_list_and_keeps_locations_right() {
        let (dim, nlist) = (8, 4);
        let rows = data(3, 300, dim);
        let ids: Vec<u32> = (0..300).collect();
        let mut ivf = index(nlist, dim);
        ivf.add(&ids, &rows).unwrap();
        let gone: Vec<u32> = (0..300).step_by(2).collect();
        assert_eq!(ivf.remove(&gone), 150);
        assert_eq!(ivf.remove(&gone), 0);
        assert_eq!(ivf.len(), 150);
        for id in 0..300u32 {
            let i = id as usize;
            if id % 2 == 0 {
                assert!(!ivf.contains(id) && ivf.vector(id).is_none());
            } else {
                assert_eq!(ivf.vector(id), Some(&rows[i * dim..(i + 1) * dim]));
            }
        }
        let mut scratch = Scratch::default();
        let all = SearchParams {
            nprobe: Some(nlist),
            ..SearchParams::default()
        };
        let hits = ivf.search(&rows[..dim], 150, &all, &mut scratch).unwrap();
        assert_eq!(hits.len(), 150);
        assert!(hits.iter().all(|h| h.id % 2 == 1));
    }

    #[test]
    fn a_filter_probes_further_until_k_matches() {
        let (dim, nlist) = (8, 8);
        let rows = data(5, 800, dim);
        let ids: Vec<u32> = (0..800).collect();
        let mut ivf = index(nlist, dim);
        ivf.add(&ids, &rows).unwrap();
        let mut scratch = Scratch::default();
        // Ten matching ids, spread over the lists.
        let filter = |id: u32| id % 80 == 3;
        let params = SearchParams {
            nprobe: Some(1),
            filter: Some(&filter),
            ..SearchParams::default()
        };
        let (hits, stats) = ivf
            .search_with_stats(&rows[..dim], 10, &params, &mut scratch)
            .unwrap();
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| h.id % 80 == 3));
        assert!(stats.lists_probed > 1);
        let (hits, _) = ivf
            .search_with_stats(&rows[..dim], 20, &params, &mut scratch)
            .unwrap();
        assert_eq!(hits.len(), 10, "min(k, matches)");
    }

    #[test]
    fn explicit_training_rules() {
        let (dim, nlist) = (8, 4);
        let rows = data(6, 300, dim);
        let mut ivf = index(nlist, dim);
        let err = ivf.train(&rows[..100 * dim]).unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
        assert!(!ivf.is_trained());
        assert_eq!(
            ivf.train(&rows[..5]).unwrap_err().code(),
            "invalid_argument"
        );
        let ids: Vec<u32> = (0..50).collect();
        ivf.add(&ids, &rows[..50 * dim]).unwrap();
        assert_eq!(
            ivf.train_on_stored().unwrap_err().code(),
            "invalid_argument",
            "50 vectors < 39 · 4"
        );
        ivf.train(&rows).unwrap();
        assert!(ivf.is_trained());
        assert_eq!(ivf.len(), 50);
        assert_eq!(ivf.list_sizes().iter().sum::<usize>(), 50);
        // Re-training a raw index keeps every vector.
        let more: Vec<u32> = (50..300).collect();
        ivf.add(&more, &rows[50 * dim..]).unwrap();
        let before = ivf.centroids().unwrap().clone();
        ivf.train_on_stored().unwrap();
        assert_ne!(ivf.centroids().unwrap().as_slice(), before.as_slice());
        assert_eq!(ivf.len(), 300);
        assert_eq!(ivf.vector(299), Some(&rows[299 * dim..]));
    }

    #[test]
    fn random_operations_match_a_flat_model() {
        // Adds, removes, the auto-train transition and a re-train, checked after every step
        // against flat search over the same operations (probing every list must be exact).
        for seed in [1u64, 2, 3] {
            let dim = 6;
            let mut rng = seeded(seed);
            let mut ivf = IvfFlat::new_flat(
                4,
                dim,
                Metric::Cosine,
                &IndexOptions {
                    seed,
                    ..IndexOptions::default()
                },
            );
            let mut flat = FlatIndex::new(dim, Metric::Cosine);
            let mut live: Vec<u32> = Vec::new();
            let mut next_id = 0u32;
            let mut scratch = Scratch::default();
            let all = SearchParams {
                nprobe: Some(4),
                ..SearchParams::default()
            };
            for step in 0..120 {
                match rng.below(10) {
                    0..=5 => {
                        let count = 1 + rng.below(12);
                        let ids: Vec<u32> = (next_id..next_id + count as u32).collect();
                        next_id += count as u32;
                        let mut rows: Vec<f32> = (0..count * dim)
                            .map(|_| rng.unit_f64() as f32 - 0.5)
                            .collect();
                        for row in rows.chunks_exact_mut(dim) {
                            crate::distance::normalize(row);
                        }
                        ivf.add(&ids, &rows).unwrap();
                        flat.add(&ids, &rows).unwrap();
                        live.extend(ids);
                    }
                    6..=8 if !live.is_empty() => {
                        let count = 1 + rng.below(live.len().min(8));
                        let gone: Vec<u32> = (0..count)
                            .map(|_| live.swap_remove(rng.below(live.len())))
                            .collect();
                        assert_eq!(ivf.remove(&gone), count, "seed {seed} step {step}");
                        flat.remove(&gone);
                    }
                    _ if ivf.is_trained() => ivf.train_on_stored().unwrap(),
                    _ => {}
                }
                assert_eq!(ivf.len(), live.len(), "seed {seed} step {step}");
                for &id in live.iter().take(5) {
                    assert_eq!(ivf.vector(id), flat.vector(id), "seed {seed} step {step}");
                }
                let q: Vec<f32> = (0..dim).map(|_| rng.unit_f64() as f32 - 0.5).collect();
                assert_eq!(
                    ivf.search(&q, 7, &all, &mut scratch).unwrap(),
                    flat.search(&q, 7, &all, &mut scratch).unwrap(),
                    "seed {seed} step {step}"
                );
            }
            assert!(ivf.is_trained(), "seed {seed}: crossed 156 vectors");
        }
    }

    #[test]
    fn bad_search_input_is_typed() {
        let mut ivf = index(2, 4);
        let mut scratch = Scratch::default();
        let zero = SearchParams {
            nprobe: Some(0),
            ..SearchParams::default()
        };
        assert_eq!(
            ivf.search(&[0.0; 4], 1, &zero, &mut scratch)
                .unwrap_err()
                .code(),
            "invalid_argument"
        );
        assert_eq!(
            ivf.search(&[0.0; 3], 1, &SearchParams::default(), &mut scratch)
                .unwrap_err()
                .code(),
            "dimension_mismatch"
        );
        assert_eq!(
            ivf.add(&[1], &[0.0; 3]).unwrap_err().code(),
            "invalid_argument"
        );
        ivf.add(&[1], &[0.0; 4]).unwrap();
        assert_eq!(ivf.add(&[1], &[0.0; 4]).unwrap_err().code(), "duplicate_id");
    }
}

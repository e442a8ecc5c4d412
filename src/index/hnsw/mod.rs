//! The HNSW family: a hierarchical navigable small world graph after Malkov & Yashunin,
//! "Efficient and robust approximate nearest neighbor search using Hierarchical Navigable Small
//! World graphs" (TPAMI 2018).
//!
//! What this module promises:
//! - **Parameters follow the paper:** `m` links per node on layers above 0 and `m0 = 2m` on
//!   layer 0; `ef_construction` candidates while inserting; `ef_search` per query (from
//!   [`SearchParams::ef_search`], else the index default, and never below `k`); levels drawn with
//!   the multiplier `mL = 1/ln(m)` from the store's seed (see `LevelStream`), so `P(level ≥ l) = m^-l`.
//! - **Neighbour selection** is the heuristic of Algorithm 4 (without `extendCandidates` and
//!   `keepPrunedConnections`, as hnswlib): a candidate is kept only when it is closer to the base
//!   than to every neighbour already kept, which keeps links spread in all directions.
//! - **Graph geometry:** the graph is built under the search metric, except that `dot` indexes
//!   are built under squared L2 (see [`storage::graph_metric`]) and searched by inner product.
//! - **The graph is apart from vector storage** ([`VectorStorage`]); today [`FlatStorage`] holds
//!   raw f32 rows, and an SQ8 or PQ storage plugs into the same graph code.
//! - **Memory layout:** dense node *slots* index flat arrays — vectors in one arena, neighbour
//!   lists in fixed-capacity, count-prefixed runs (module `graph`). The collection's internal ids
//!   (monotonic `u32`, never reused) map to slots; slots freed by deletes are reused.
//! - **Queries allocate only their result:** heaps and the visited set (generation counter) live
//!   in the caller's [`Scratch`].
//! - **Deletes:** a tombstone hides the node from results at once (traversal may still pass
//!   through it). When tombstones exceed 1/10 of the graph, or on [`Hnsw::consolidate`], every live
//!   node that links to a tombstone is re-linked by the heuristic over its surviving neighbours
//!   and the deleted nodes' neighbours (2-hop repair, as FreshDiskANN's consolidation and
//!   hnswlib's `repairConnectionsForUpdate`); the entry point is re-chosen if it was deleted; the
//!   slots are freed for reuse.
//! - **Exact counts:** a search returns `min(k, live matching)` results. When the walk ends with
//!   fewer than `k` and did not reach every node (a filter rejected most of the graph, or the
//!   graph is disconnected), the nodes it did not visit are scanned exhaustively.
//! - **Determinism:** the same seed and the same sequence of operations give the same graph and
//!   the same results, on every platform (levels use integer arithmetic only).

mod graph;
mod heap;
pub mod sq8;
pub mod storage;

use std::collections::HashSet;

use crate::index::id_map::IdMap;

use self::graph::Graph;
pub use self::storage::{FlatStorage, VectorStorage};
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::index::spec::{IndexSpec, Structure};
use crate::index::traits::{Index, IndexOptions, Scratch, SearchParams};
use crate::topk::Neighbor;

pub use crate::index::traits::{DEFAULT_EF_CONSTRUCTION, DEFAULT_EF_SEARCH};

/// `HNSW{m},SQ8`: candidates rescored exactly per result asked for (`rerank = 4·k`) when a
/// query does not set `rerank` and full vectors are available. At `k = 10` that is 40, below
/// the default `ef_search`, so rerank adds 40 exact distances and no graph work.
pub const SQ8_DEFAULT_RERANK_PER_K: usize = 4;

/// Highest layer a node may get (levels are stored as `u8`). With `m = 2`, reaching it has
/// probability 2⁻³², so the cap only guards against pathological seeds.
const MAX_LEVEL: usize = 32;

/// Tombstones are consolidated once they exceed this fraction (1/n) of the graph's nodes.
const CONSOLIDATE_EVERY: usize = 10;

/// Where each node's level comes from: the `draws`-th level of a store is the first output of a
/// SplitMix64 (`rand_xoshiro`) seeded with the store's seed mixed with `draws`. Counter-based
/// rather than one long stream, so what is saved and restored is a count the code owns, not a
/// generator's private state; restoring it makes replayed inserts draw the very levels the live
/// index drew. Files written before this held SplitMix64's state in the same field: read as a
/// count, it is as good a starting point (any `u64` is), and the format is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LevelStream {
    seed: u64,
    draws: u64,
}

impl LevelStream {
    fn next_u64(&mut self) -> u64 {
        // An odd multiplier and XOR are bijections, so distinct counts seed distinct streams.
        let key = self.seed ^ self.draws.wrapping_mul(0xD1B5_4A32_D192_ED03);
        self.draws = self.draws.wrapping_add(1);
        crate::quant::RngCore::next_u64(&mut crate::quant::seeded(key))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    /// Not in the graph: no node links to it; waiting for reuse.
    Free,
    Live,
    /// Deleted: never returned, still traversed until consolidation.
    Tombstone,
}

/// Buffers owned by the index for insertion and repair (they need `&mut self` anyway).
#[derive(Debug, Clone, Default)]
struct BuildScratch {
    search: Scratch,
    pool: Vec<Neighbor>,
    selected: Vec<u32>,
    new_links: Vec<u32>,
    ids: Vec<u32>,
    /// The prepared form of the vector being inserted.
    query: Vec<f32>,
}

/// Counts describing an [`Hnsw`] graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswStats {
    /// Nodes that can be returned.
    pub live: usize,
    /// Deleted nodes still in the graph, waiting for [`Hnsw::consolidate`].
    pub tombstones: usize,
    /// Slots freed by consolidation, reused by the next inserts.
    pub free_slots: usize,
    /// All slots: `live + tombstones + free_slots`.
    pub slots: usize,
    /// Directed links on all layers.
    pub links: usize,
    /// The entry point's layer.
    pub top_level: usize,
    /// Upper-layer list entries orphaned when a reused slot needed a larger block.
    pub abandoned_upper_entries: usize,
}

/// An HNSW graph over a [`VectorStorage`].
#[derive(Debug, Clone)]
pub struct Hnsw<S: VectorStorage = FlatStorage> {
    storage: S,
    graph: Graph,
    ef_construction: usize,
    default_ef_search: usize,
    state: Vec<SlotState>,
    /// The collection's internal id of each slot (meaningful for live and tombstoned slots).
    id_of_slot: Vec<u32>,
    /// Live ids only: a removed id disappears from here at once.
    slot_of_id: IdMap,
    /// Freed slots, the lowest last so it is reused first.
    free_slots: Vec<u32>,
    /// Entry point: a node on the top layer.
    entry: Option<u32>,
    live: usize,
    tombstones: usize,
    levels: LevelStream,
    build: BuildScratch,
}

impl Hnsw<FlatStorage> {
    /// An empty HNSW index over raw f32 vectors (spec `HNSW{m}`).
    pub fn new(dim: usize, metric: Metric, m: usize, options: &IndexOptions) -> Result<Self> {
        Hnsw::with_storage(FlatStorage::new(dim, metric), m, options)
    }
}

const HNSW_STATE_TAG: [u8; 4] = *b"HNSW";

impl Hnsw<FlatStorage> {
    /// Reads what `encode_state` wrote, checking the invariants search and insert rely on
    /// (slot counts agree, ids unique, free slots unlinked, the entry on the top layer); bad
    /// input is `Corrupt`.
    pub fn decode_state(
        dim: usize,
        metric: Metric,
        m: usize,
        options: &IndexOptions,
        input: &mut dyn crate::codec::Read,
    ) -> Result<Self> {
        Hnsw::decode_with(FlatStorage::new(dim, metric), m, options, input, |input| {
            FlatStorage::decode_state(dim, metric, input)
        })
    }
}

impl<S: VectorStorage> Hnsw<S> {
    /// The storage-independent part of `decode_state`: `empty` is a new storage of the
    /// index's shape, `decode_storage` reads the storage's section.
    pub(crate) fn decode_with(
        empty: S,
        m: usize,
        options: &IndexOptions,
        input: &mut dyn crate::codec::Read,
        decode_storage: impl FnOnce(&mut dyn crate::codec::Read) -> Result<S>,
    ) -> Result<Self> {
        let corrupt = |what: &str| Error::Corrupt {
            what: format!("HNSW index: {what}"),
        };
        input.family_header(HNSW_STATE_TAG, 1)?;
        if input.u32("HNSW m")? as usize != m {
            return Err(corrupt("m differs from the spec"));
        }
        let options = IndexOptions {
            ef_construction: input.u32("HNSW ef_construction")? as usize,
            ef_search: input.u32("HNSW ef_search")? as usize,
            ..*options
        };
        let level_draws = input.u64("HNSW level draws")?;
        let storage = decode_storage(input)?;
        let mut hnsw =
            Hnsw::with_storage(empty, m, &options).map_err(|e| corrupt(&e.to_string()))?;
        hnsw.levels.draws = level_draws;
        hnsw.storage = storage;
        hnsw.graph = Graph::decode(m, MAX_LEVEL, input)?;
        let slots = hnsw.graph.slots();
        if hnsw.storage.len() != slots {
            return Err(corrupt("vectors and graph slots differ"));
        }
        let mut states = vec![0u8; slots];
        input.read_into(&mut states, "HNSW slot states")?;
        hnsw.id_of_slot = input.u32s(slots as u64, "HNSW slot ids")?;
        let n = input.count(4, "HNSW free slots")?;
        hnsw.free_slots = input.u32s(n as u64, "HNSW free slots")?;
        hnsw.entry = match input.u8("HNSW entry flag")? {
            0 => None,
            1 => Some(input.u32("HNSW entry")?),
            _ => return Err(corrupt("entry flag is not a boolean")),
        };
        hnsw.state = Vec::with_capacity(slots);
        for (slot, &state) in states.iter().enumerate() {
            hnsw.state.push(match state {
                0 => SlotState::Free,
                1 => {
                    hnsw.live += 1;
                    let id = crate::index::flat::checked_id(
                        hnsw.id_of_slot[slot],
                        input.id_limit(),
                        "hnsw index",
                    )?;
                    let previous = hnsw
                        .slot_of_id
                        .try_insert(id, slot as u32)
                        .map_err(|_| corrupt("an internal id too large for the memory"))?;
                    if previous.is_some() {
                        return Err(corrupt("an internal id on two slots"));
                    }
                    SlotState::Live
                }
                2 => {
                    hnsw.tombstones += 1;
                    SlotState::Tombstone
                }
                _ => return Err(corrupt("unknown slot state")),
            });
        }
        let free = hnsw.state.iter().filter(|&&s| s == SlotState::Free).count();
        let mut seen = HashSet::with_capacity(hnsw.free_slots.len());
        if free != hnsw.free_slots.len()
            || hnsw
                .free_slots
                .iter()
                .any(|&s| hnsw.state.get(s as usize) != Some(&SlotState::Free) || !seen.insert(s))
        {
            return Err(corrupt("free slots differ from the free states"));
        }
        for slot in 0..slots as u32 {
            if hnsw.state[slot as usize] == SlotState::Free {
                continue;
            }
            for layer in 0..=hnsw.graph.level(slot) {
                if hnsw
                    .graph
                    .neighbours(slot, layer)
                    .iter()
                    .any(|&s| hnsw.state[s as usize] == SlotState::Free)
                {
                    return Err(corrupt("a link to a free slot"));
                }
            }
        }
        let top = (0..slots as u32)
            .filter(|&s| hnsw.state[s as usize] != SlotState::Free)
            .map(|s| hnsw.graph.level(s))
            .max();
        match (hnsw.entry, top) {
            (None, None) => {}
            (Some(e), Some(top))
                if (e as usize) < slots
                    && hnsw.state[e as usize] != SlotState::Free
                    && hnsw.graph.level(e) == top => {}
            _ => return Err(corrupt("the entry point is not a node on the top layer")),
        }
        Ok(hnsw)
    }
}

impl<S: VectorStorage> Hnsw<S> {
    /// An empty HNSW index over `storage` (which must be empty).
    pub fn with_storage(storage: S, m: usize, options: &IndexOptions) -> Result<Self> {
        if !(2..=256).contains(&m) {
            return Err(Error::InvalidArgument {
                name: "m",
                reason: format!("{m}; HNSW needs 2 <= m <= 256"),
            });
        }
        if options.ef_construction == 0 {
            return Err(Error::InvalidArgument {
                name: "ef_construction",
                reason: "must be at least 1".into(),
            });
        }
        if !storage.is_empty() {
            return Err(Error::InvalidArgument {
                name: "storage",
                reason: "must start empty".into(),
            });
        }
        Ok(Hnsw {
            storage,
            graph: Graph::new(m),
            ef_construction: options.ef_construction,
            default_ef_search: options.ef_search.max(1),
            state: Vec::new(),
            id_of_slot: Vec::new(),
            slot_of_id: IdMap::new(),
            free_slots: Vec::new(),
            entry: None,
            live: 0,
            tombstones: 0,
            levels: LevelStream {
                seed: options.seed,
                draws: 0,
            },
            build: BuildScratch::default(),
        })
    }

    pub fn m(&self) -> usize {
        self.graph.m()
    }

    pub fn ef_construction(&self) -> usize {
        self.ef_construction
    }

    /// The `ef_search` used when [`SearchParams::ef_search`] is `None`.
    pub fn default_ef_search(&self) -> usize {
        self.default_ef_search
    }

    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Deleted nodes not yet consolidated.
    pub fn tombstones(&self) -> usize {
        self.tombstones
    }

    /// The internal id of the entry point (a node on the top layer), if any.
    pub fn entry_point(&self) -> Option<u32> {
        self.entry.map(|slot| self.id_of_slot[slot as usize])
    }

    /// Top layer of a live id.
    pub fn level_of(&self, id: u32) -> Option<usize> {
        let slot = self.slot_of_id.get(id)?;
        Some(self.graph.level(slot))
    }

    /// Neighbours of a live id on `layer`, as internal ids (for tests and diagnostics).
    pub fn neighbours_of(&self, id: u32, layer: usize) -> Option<Vec<u32>> {
        let slot = self.slot_of_id.get(id)?;
        if layer > self.graph.level(slot) {
            return None;
        }
        Some(
            self.graph
                .neighbours(slot, layer)
                .iter()
                .map(|&s| self.id_of_slot[s as usize])
                .collect(),
        )
    }

    /// Counts describing the graph (for diagnostics, tests and `stats`).
    pub fn stats(&self) -> HnswStats {
        HnswStats {
            live: self.live,
            tombstones: self.tombstones,
            free_slots: self.free_slots.len(),
            slots: self.graph.slots(),
            links: self.graph.link_count(),
            top_level: self.entry.map_or(0, |e| self.graph.level(e)),
            abandoned_upper_entries: self.graph.abandoned_entries(),
        }
    }

    /// A node's level: `floor(-ln(U) · mL)` with `mL = 1/ln(m)` and U uniform in (0, 1], computed
    /// exactly in integers as the number of `l ≥ 1` with `r < 2⁶⁴ / mˡ` for a random `u64` r.
    fn random_level(&mut self) -> usize {
        let r = u128::from(self.levels.next_u64());
        let m = self.graph.m() as u128;
        let mut bound = 1u128 << 64;
        let mut level = 0;
        while level < MAX_LEVEL {
            bound /= m;
            if r >= bound {
                break;
            }
            level += 1;
        }
        level
    }

    /// Takes a free slot (or a new one) for `id` at `level` and stores its vector.
    fn allocate_slot(&mut self, id: u32, level: usize, vector: &[f32]) -> u32 {
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.graph.reset_slot(slot, level);
                self.state[slot as usize] = SlotState::Live;
                self.id_of_slot[slot as usize] = id;
                slot
            }
            None => {
                let slot = self.graph.push_slot(level);
                self.state.push(SlotState::Live);
                self.id_of_slot.push(id);
                slot
            }
        };
        self.storage.set(slot, vector);
        self.slot_of_id.insert(id, slot);
        self.live += 1;
        slot
    }

    /// Algorithm 1: insert one prepared vector.
    fn insert(&mut self, id: u32, vector: &[f32]) {
        let level = self.random_level();
        let slot = self.allocate_slot(id, level, vector);
        let Some(entry) = self.entry else {
            self.entry = Some(slot);
            return;
        };
        let top = self.graph.level(entry);
        // The prepared vector borrows a buffer taken out of `build`, so `link` may borrow both.
        let mut prepared = std::mem::take(&mut self.build.query);
        let query = self.storage.prepare(vector, true, &mut prepared);
        let mut nearest = Neighbor::new(entry, self.storage.graph_distance4(query, [entry; 4])[0]);
        for layer in (level + 1..=top).rev() {
            nearest = self.greedy_closest::<true>(query, nearest, layer);
        }
        let mut build = std::mem::take(&mut self.build);
        for layer in (0..=level.min(top)).rev() {
            self.search_layer::<true, _>(
                query,
                nearest,
                self.ef_construction,
                layer,
                &mut build.search,
                |_| true,
            );
            let found = &mut build.search.results;
            heap::sort(found);
            // Candidates never include `slot` itself: nothing links to it yet on this layer.
            nearest = found[0];
            select_neighbours(&self.storage, found, self.graph.m(), &mut build.selected);
            self.graph.set_neighbours(slot, layer, &build.selected);
            // `link` reuses `selected` for its own re-selection: iterate a copy.
            let mut new_links = std::mem::take(&mut build.new_links);
            new_links.clone_from(&build.selected);
            for &neighbour in &new_links {
                self.link(neighbour, slot, layer, &mut build);
            }
            build.new_links = new_links;
        }
        build.query = prepared;
        self.build = build;
        if level > top {
            self.entry = Some(slot);
        }
    }

    /// Adds the back link `from → to` on `layer`, re-selecting `from`'s list by the heuristic
    /// when it is full.
    fn link(&mut self, from: u32, to: u32, layer: usize, build: &mut BuildScratch) {
        if self.graph.try_push(from, layer, to) {
            return;
        }
        build.ids.clear();
        build
            .ids
            .extend_from_slice(self.graph.neighbours(from, layer));
        build.ids.push(to);
        score_from(&self.storage, from, &build.ids, &mut build.pool);
        heap::sort(&mut build.pool);
        select_neighbours(
            &self.storage,
            &build.pool,
            self.graph.max_degree(layer),
            &mut build.selected,
        );
        self.graph.set_neighbours(from, layer, &build.selected);
    }

    /// Distances of `query` to four slots: under the graph metric while building (`BUILD`),
    /// under the search metric for queries.
    #[inline(always)]
    fn distance4<const BUILD: bool>(&self, query: S::Query<'_>, slots: [u32; 4]) -> [f32; 4] {
        if BUILD {
            self.storage.graph_distance4(query, slots)
        } else {
            self.storage.distance4(query, slots)
        }
    }

    /// Greedy search with `ef = 1` on one layer: move to a closer neighbour until none is.
    fn greedy_closest<const BUILD: bool>(
        &self,
        query: S::Query<'_>,
        mut best: Neighbor,
        layer: usize,
    ) -> Neighbor {
        loop {
            let current = best.id;
            for group in self.graph.neighbours(current, layer).chunks(4) {
                let distances = self.distance4::<BUILD>(query, pad4(group));
                for (&slot, &distance) in group.iter().zip(&distances) {
                    let candidate = Neighbor::new(slot, distance);
                    if candidate < best {
                        best = candidate;
                    }
                }
            }
            if best.id == current {
                return best;
            }
        }
    }

    /// Algorithm 2 (SEARCH-LAYER): the `ef` nearest nodes to `query` on `layer` reachable from
    /// `entry`, left as a max-heap in `scratch.results`. Only nodes for which `accept` holds
    /// enter the results; every node may be traversed. Returns how many nodes were scored.
    fn search_layer<const BUILD: bool, F: Fn(u32) -> bool>(
        &self,
        query: S::Query<'_>,
        entry: Neighbor,
        ef: usize,
        layer: usize,
        scratch: &mut Scratch,
        accept: F,
    ) -> usize {
        let Scratch {
            visited,
            candidates,
            results,
            ..
        } = scratch;
        visited.reset(self.graph.slots());
        candidates.clear();
        results.clear();
        visited.insert(entry.id);
        let mut scored = 1;
        heap::push::<true>(candidates, entry);
        if accept(entry.id) {
            heap::push::<false>(results, entry);
        }
        while let Some(current) = heap::pop::<true>(candidates) {
            if results.len() >= ef && current.distance > results[0].distance {
                break;
            }
            let mut pending = [0u32; 4];
            let mut count = 0;
            for &slot in self.graph.neighbours(current.id, layer) {
                if visited.insert(slot) {
                    pending[count] = slot;
                    count += 1;
                    if count == 4 {
                        let distances = self.distance4::<BUILD>(query, pending);
                        for (&s, &d) in pending.iter().zip(&distances) {
                            offer(candidates, results, ef, &accept, s, d);
                        }
                        scored += 4;
                        count = 0;
                    }
                }
            }
            if count > 0 {
                let distances = self.distance4::<BUILD>(query, pad4(&pending[..count]));
                for (&s, &d) in pending[..count].iter().zip(&distances) {
                    offer(candidates, results, ef, &accept, s, d);
                }
                scored += count;
            }
        }
        scored
    }

    /// Repairs the graph around every tombstone and frees their slots.
    ///
    /// Each live node `u` that links to a tombstone on a layer gets a new list on that layer:
    /// the heuristic (Algorithm 4) over its surviving neighbours plus the surviving neighbours of
    /// the tombstones it linked to. The entry point is re-chosen when it was deleted: the live
    /// node on the highest layer, the lowest slot among equals.
    pub fn consolidate(&mut self) {
        if self.tombstones == 0 {
            return;
        }
        let mut build = std::mem::take(&mut self.build);
        let slots = self.graph.slots();
        for u in 0..slots as u32 {
            if self.state[u as usize] != SlotState::Live {
                continue;
            }
            for layer in 0..=self.graph.level(u) {
                let links = self.graph.neighbours(u, layer);
                if !links.iter().any(|&v| self.is_tombstone(v)) {
                    continue;
                }
                let degree = links.len();
                let seen = &mut build.search.visited;
                seen.reset(slots);
                seen.insert(u);
                build.ids.clear();
                for &v in links {
                    if !self.is_tombstone(v) && seen.insert(v) {
                        build.ids.push(v);
                    }
                }
                for &d in links {
                    if self.is_tombstone(d) {
                        // `d` links on `layer` too: links only join nodes present on a layer.
                        for &w in self.graph.neighbours(d, layer) {
                            if !self.is_tombstone(w) && seen.insert(w) {
                                build.ids.push(w);
                            }
                        }
                    }
                }
                score_from(&self.storage, u, &build.ids, &mut build.pool);
                heap::sort(&mut build.pool);
                select_neighbours(
                    &self.storage,
                    &build.pool,
                    self.graph.max_degree(layer),
                    &mut build.selected,
                );
                // The heuristic alone would thin the list below what insertion built (back links
                // are appended unpruned until a list is full); refill with the nearest pruned
                // candidates up to the old degree so repaired regions keep their connectivity.
                fill_nearest(&build.pool, degree, &mut build.selected);
                self.graph.set_neighbours(u, layer, &build.selected);
            }
        }
        for slot in (0..slots as u32).rev() {
            if self.is_tombstone(slot) {
                self.graph.clear_slot(slot);
                self.state[slot as usize] = SlotState::Free;
                self.free_slots.push(slot);
            }
        }
        self.tombstones = 0;
        if self
            .entry
            .is_some_and(|e| self.state[e as usize] != SlotState::Live)
        {
            self.entry = (0..slots as u32)
                .filter(|&s| self.state[s as usize] == SlotState::Live)
                .fold(None, |best: Option<u32>, s| match best {
                    Some(b) if self.graph.level(b) >= self.graph.level(s) => Some(b),
                    _ => Some(s),
                });
        }
        self.build = build;
    }

    #[inline(always)]
    fn is_tombstone(&self, slot: u32) -> bool {
        self.state[slot as usize] == SlotState::Tombstone
    }

    /// Pushes every live, accepted node the walk did not visit into `scratch.results` (bounded
    /// by `ef`), so a search returns `min(k, matching)` even when the walk could not reach them.
    fn scan_unvisited<F: Fn(u32) -> bool>(
        &self,
        query: S::Query<'_>,
        ef: usize,
        scratch: &mut Scratch,
        accept: F,
    ) {
        let Scratch {
            visited, results, ..
        } = scratch;
        let mut pending = [0u32; 4];
        let mut count = 0;
        let flush = |pending: &[u32], results: &mut Vec<Neighbor>| {
            let distances = self.storage.distance4(query, pad4(pending));
            for (&slot, &distance) in pending.iter().zip(&distances) {
                offer_result(results, ef, Neighbor::new(slot, distance));
            }
        };
        for slot in 0..self.graph.slots() as u32 {
            if !visited.contains(slot) && accept(slot) {
                pending[count] = slot;
                count += 1;
                if count == 4 {
                    flush(&pending, results);
                    count = 0;
                }
            }
        }
        if count > 0 {
            flush(&pending[..count], results);
        }
    }
}

/// Offers a scored node to the walk: it becomes a candidate when it could still improve the
/// results, and a result when `accept` holds.
#[inline(always)]
fn offer<F: Fn(u32) -> bool>(
    candidates: &mut Vec<Neighbor>,
    results: &mut Vec<Neighbor>,
    ef: usize,
    accept: &F,
    slot: u32,
    distance: f32,
) {
    let full = results.len() >= ef;
    if full && distance > results[0].distance {
        return;
    }
    let n = Neighbor::new(slot, distance);
    heap::push::<true>(candidates, n);
    if accept(slot) {
        if !full {
            heap::push::<false>(results, n);
        } else if n < results[0] {
            heap::replace_top::<false>(results, n);
        }
    }
}

/// Keeps the `ef` best in a max-heap.
#[inline(always)]
fn offer_result(results: &mut Vec<Neighbor>, ef: usize, n: Neighbor) {
    if results.len() < ef {
        heap::push::<false>(results, n);
    } else if n < results[0] {
        heap::replace_top::<false>(results, n);
    }
}

/// Up to four slots padded to four by repeating the last (the four-row kernel scores each row
/// alike, so padding changes no result).
#[inline(always)]
fn pad4(group: &[u32]) -> [u32; 4] {
    let last = group.len() - 1;
    [
        group[0],
        group[1.min(last)],
        group[2.min(last)],
        group[3.min(last)],
    ]
}

/// Distances from the stored node `from` to each of `slots`, into `out`.
fn score_from<S: VectorStorage>(storage: &S, from: u32, slots: &[u32], out: &mut Vec<Neighbor>) {
    out.clear();
    for group in slots.chunks(4) {
        let distances = storage.distance_between4(from, pad4(group));
        out.extend(
            group
                .iter()
                .zip(&distances)
                .map(|(&slot, &distance)| Neighbor::new(slot, distance)),
        );
    }
}

/// Algorithm 4 (SELECT-NEIGHBORS-HEURISTIC) of Malkov & Yashunin over `candidates` sorted by
/// distance to the base node, nearest first: a candidate joins when it is closer to the base
/// than to every neighbour already chosen. Fewer than `max` candidates are all kept (as
/// hnswlib), which helps small graphs stay connected.
fn select_neighbours<S: VectorStorage>(
    storage: &S,
    candidates: &[Neighbor],
    max: usize,
    out: &mut Vec<u32>,
) {
    out.clear();
    if candidates.len() <= max {
        out.extend(candidates.iter().map(|c| c.id));
        return;
    }
    'candidates: for candidate in candidates {
        if out.len() >= max {
            break;
        }
        for group in out.chunks(4) {
            let distances = storage.distance_between4(candidate.id, pad4(group));
            if distances[..group.len()]
                .iter()
                .any(|&d| d < candidate.distance)
            {
                continue 'candidates;
            }
        }
        out.push(candidate.id);
    }
}

/// Appends the nearest of `candidates` (sorted) not yet in `selected` until it holds `target`.
fn fill_nearest(candidates: &[Neighbor], target: usize, selected: &mut Vec<u32>) {
    let chosen = selected.len();
    for candidate in candidates {
        if selected.len() >= target {
            break;
        }
        // Lists are short (at most 2m): a linear membership test beats any set.
        if !selected[..chosen].contains(&candidate.id) {
            selected.push(candidate.id);
        }
    }
}

impl<S: VectorStorage> Index for Hnsw<S> {
    fn spec(&self) -> IndexSpec {
        IndexSpec {
            structure: Structure::Hnsw { m: self.graph.m() },
            encoding: self.storage.encoding(),
        }
    }

    fn dim(&self) -> usize {
        self.storage.dim()
    }

    fn metric(&self) -> Metric {
        self.storage.metric()
    }

    fn add(&mut self, ids: &[u32], vectors: &[f32]) -> Result<()> {
        let dim = self.storage.dim();
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
        let mut seen = HashSet::with_capacity(ids.len());
        for &id in ids {
            if self.slot_of_id.contains_key(id) || !seen.insert(id) {
                return Err(Error::DuplicateId {
                    id: id.to_string(),
                    reason: "internal id already stored",
                });
            }
        }
        if self.graph.slots() + ids.len() > crate::limits::MAX_VECTORS {
            return Err(Error::InvalidArgument {
                name: "ids",
                reason: "the graph would exceed its slot space".into(),
            });
        }
        if let Some(&max) = ids.iter().max() {
            self.slot_of_id.reserve_below(max.saturating_add(1));
        }
        for (&id, vector) in ids.iter().zip(vectors.chunks_exact(dim.max(1))) {
            self.insert(id, vector);
        }
        Ok(())
    }

    fn remove(&mut self, ids: &[u32]) -> usize {
        let mut removed = 0;
        for id in ids {
            if let Some(slot) = self.slot_of_id.remove(*id) {
                self.state[slot as usize] = SlotState::Tombstone;
                self.live -= 1;
                self.tombstones += 1;
                removed += 1;
            }
        }
        if self.tombstones > 0
            && (self.live == 0 || self.tombstones * CONSOLIDATE_EVERY > self.live + self.tombstones)
        {
            self.consolidate();
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
        if query.len() != self.storage.dim() {
            return Err(Error::DimensionMismatch {
                expected: self.storage.dim(),
                received: query.len(),
            });
        }
        let Some(entry) = self.entry else {
            return Ok(Vec::new());
        };
        if k == 0 || self.live == 0 {
            return Ok(Vec::new());
        }
        let ef = params.ef_search.unwrap_or(self.default_ef_search).max(k);
        // `scratch.distances` is free during a graph walk: it holds the prepared query.
        let mut prepared = std::mem::take(&mut scratch.distances);
        let query = self.storage.prepare(query, false, &mut prepared);
        let mut nearest = Neighbor::new(entry, self.storage.distance(query, entry));
        for layer in (1..=self.graph.level(entry)).rev() {
            nearest = self.greedy_closest::<false>(query, nearest, layer);
        }
        let accept = |slot: u32| {
            self.state[slot as usize] == SlotState::Live
                && params
                    .filter
                    .is_none_or(|f| f(self.id_of_slot[slot as usize]))
        };
        let scored = self.search_layer::<false, _>(query, nearest, ef, 0, scratch, accept);
        if scratch.results.len() < k && scored < self.live + self.tombstones {
            self.scan_unvisited(query, ef, scratch, accept);
        }
        scratch.distances = prepared;
        // Ties break by internal id, not slot: map first, then sort.
        let results = &mut scratch.results;
        for n in results.iter_mut() {
            n.id = self.id_of_slot[n.id as usize];
        }
        heap::sort(results);
        results.truncate(k);
        Ok(results.clone())
    }

    fn vector(&self, id: u32) -> Option<&[f32]> {
        self.storage.vector(self.slot_of_id.get(id)?)
    }

    fn contains(&self, id: u32) -> bool {
        self.slot_of_id.contains_key(id)
    }

    fn len(&self) -> usize {
        self.live
    }

    /// Snapshot layout (`docs/format.md`): `HNSW` v1, `u32 m`, `u32 ef_construction`, `u32`
    /// default `ef_search`, `u64` RNG state, the storage's section, the graph's arrays, one state
    /// byte (0 free, 1 live, 2 tombstone) and one internal id per slot, the free-slot stack
    /// (`u64 n` + ids) and `u8 has entry` + `u32` entry slot: everything later inserts depend
    /// on, so replaying logged operations builds the very graph the live index built.
    fn encode_state(&self, out: &mut dyn crate::codec::Write) -> Result<()> {
        out.family_header(HNSW_STATE_TAG, 1);
        out.u32(self.graph.m() as u32);
        out.u32(self.ef_construction as u32);
        out.u32(self.default_ef_search as u32);
        out.u64(self.levels.draws);
        self.storage.encode_state(out)?;
        self.graph.encode(out);
        let states: Vec<u8> = self
            .state
            .iter()
            .map(|s| match s {
                SlotState::Free => 0,
                SlotState::Live => 1,
                SlotState::Tombstone => 2,
            })
            .collect();
        out.raw(&states);
        out.u32s(&self.id_of_slot);
        out.u64(self.free_slots.len() as u64);
        out.u32s(&self.free_slots);
        match self.entry {
            None => out.u8(0),
            Some(slot) => {
                out.u8(1);
                out.u32(slot);
            }
        }
        Ok(())
    }

    fn memory_breakdown(&self) -> crate::index::traits::MemoryBreakdown {
        let storage = self.storage.memory_bytes();
        let graph = self.graph.memory_bytes();
        let (vectors, codes) = if self.storage.encoding() == crate::index::spec::Encoding::Raw {
            (storage, 0)
        } else {
            (0, storage)
        };
        crate::index::traits::MemoryBreakdown {
            vectors,
            codes,
            graph,
            other: self.memory_bytes() - storage - graph,
        }
    }

    fn tombstones(&self) -> usize {
        self.tombstones
    }

    fn memory_bytes(&self) -> usize {
        let build = &self.build;
        self.storage.memory_bytes()
            + self.graph.memory_bytes()
            + self.state.capacity()
            + self.id_of_slot.capacity() * 4
            + self.slot_of_id.capacity_bytes()
            + self.free_slots.capacity() * 4
            // The build visited set holds one mark per slot.
            + self.graph.slots() * 4
            + (build.search.candidates.capacity() + build.search.results.capacity()
                + build.pool.capacity())
                * std::mem::size_of::<Neighbor>()
            + (build.selected.capacity()
                + build.new_links.capacity()
                + build.ids.capacity()
                + build.query.capacity())
                * 4
    }
}

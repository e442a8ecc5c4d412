//! Full vectors kept cold: in the store's storage instead of memory, for a lossy index created
//! without its vectors (`keepVectors: false`), so that rerank still rescores candidates in f32
//! while only codes and lists sit in RAM (docs/memory.md, "Cold vectors").
//!
//! The core does no I/O, and storage in a browser is asynchronous, so a search runs in rounds:
//! the index asks its [`VectorSource`] (this module's [`ColdVectors`]) for its candidates'
//! vectors; the ones neither staged nor cached are recorded as missing and read as zeros. If any
//! were missing, the caller reads them from storage, stages them, and runs the same search again,
//! which asks for the same candidates (the codes search is deterministic) and now gets them all.
//! A search whose candidates are all cached finishes in one round. Once a search finishes, its
//! staged rows move into an LRU cache bounded in bytes.
//!
//! The second round need not search the codes again: the first round's candidates are kept and
//! replayed ([`VectorSource::replay`]) to the same search point, the first that asks, when the
//! query and depth match. Only a rerank that is a search's first fetch is replayed, so a search
//! that fetches several times (a widening post-filter) simply searches again.
//!
//! Writes go the other way, and first: the caller encodes a batch's rows under the internal ids
//! the batch will get (`Collection::cold_rows_for`), writes them to storage, and only then adds
//! the batch, so a failed write (quota) leaves the store unchanged.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::error::Result;
use crate::index::VectorSource;

/// Marks the end of the LRU list.
const NONE: u32 = u32::MAX;

/// The cache and the staged rows of one collection's cold vectors.
#[derive(Debug)]
pub struct ColdVectors {
    dim: usize,
    state: RefCell<ColdState>,
}

#[derive(Debug, Default)]
struct ColdState {
    /// Most rows the cache holds (its byte budget over the row size).
    capacity_rows: usize,
    /// Cached rows: internal id → slot.
    slot_of: HashMap<u32, u32>,
    /// Per slot: its internal id, and its neighbours in the LRU list (most recent at `head`).
    ids: Vec<u32>,
    prev: Vec<u32>,
    next: Vec<u32>,
    head: u32,
    tail: u32,
    /// `slots × dim` floats.
    rows: Vec<f32>,
    /// Rows read for the search in progress, not yet in the cache.
    staged: HashMap<u32, Vec<f32>>,
    /// Ids the search in progress asked for and found nowhere, in first-asked order.
    missing: Vec<u32>,
    missing_set: HashSet<u32>,
    /// This round: replay and fetch calls so far, the query and depth the first replay call
    /// armed, and the candidates its fetch recorded.
    replay_calls: u32,
    fetch_calls: u32,
    armed: Option<(Vec<f32>, usize)>,
    recorded: Option<Replay>,
    /// The previous round's recorded candidates, for this round's first replay call.
    replay_next: Option<Replay>,
    /// Candidate rows served from the cache, and rows read from storage, since creation.
    hits: u64,
    reads: u64,
}

/// A search point's query, depth and candidates, kept for the next round.
#[derive(Debug)]
struct Replay {
    query: Vec<f32>,
    depth: usize,
    ids: Vec<u32>,
}

/// Counters of a cold cache (`stats().cold`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ColdCacheStats {
    /// Byte budget of the cache.
    pub budget_bytes: usize,
    /// Rows held.
    pub rows: usize,
    /// Candidate rows found in the cache.
    pub hits: u64,
    /// Rows read from storage.
    pub reads: u64,
}

impl ColdVectors {
    /// An empty cache of at most `budget_bytes` of rows of `dim` floats.
    pub fn new(dim: usize, budget_bytes: usize) -> Rc<Self> {
        let state = ColdState {
            capacity_rows: budget_bytes / (dim * 4).max(1),
            head: NONE,
            tail: NONE,
            ..Default::default()
        };
        Rc::new(ColdVectors {
            dim,
            state: RefCell::new(state),
        })
    }

    /// A [`VectorSource`] over this cache, for the index.
    pub fn source(self: &Rc<Self>) -> Box<dyn VectorSource> {
        Box::new(SharedCold(Rc::clone(self)))
    }

    /// Changes the cache's byte budget, evicting the least recently used rows beyond it.
    pub fn set_budget(&self, budget_bytes: usize) {
        let mut s = self.state.borrow_mut();
        s.capacity_rows = budget_bytes / (self.dim * 4).max(1);
        if s.slot_of.len() > s.capacity_rows {
            s.clear_cache();
        }
    }

    /// Heap bytes: cached and staged rows and their maps.
    pub fn memory_bytes(&self) -> usize {
        let s = self.state.borrow();
        let row = self.dim * 4;
        s.rows.capacity() * 4
            + (s.ids.capacity() + s.prev.capacity() + s.next.capacity()) * 4
            + s.slot_of.capacity() * 9
            + s.staged.len() * (row + 40)
    }

    pub fn stats(&self) -> ColdCacheStats {
        let s = self.state.borrow();
        ColdCacheStats {
            budget_bytes: s.capacity_rows * self.dim * 4,
            rows: s.slot_of.len(),
            hits: s.hits,
            reads: s.reads,
        }
    }

    /// Takes the ids the last search lacked, in the order it asked for them. Empty when that
    /// search's result is final; its staged rows then move into the cache.
    pub fn take_missing(&self) -> Vec<u32> {
        let mut s = self.state.borrow_mut();
        s.missing_set.clear();
        let missing = std::mem::take(&mut s.missing);
        s.replay_next = if missing.is_empty() {
            None
        } else {
            s.recorded.take()
        };
        s.recorded = None;
        s.armed = None;
        s.replay_calls = 0;
        s.fetch_calls = 0;
        if missing.is_empty() {
            let staged = std::mem::take(&mut s.staged);
            for (id, row) in staged {
                s.cache(self.dim, id, &row);
            }
        }
        missing
    }

    /// Stages rows read from storage (`ids.len() × dim`, checked by the caller) for the next
    /// round of the search in progress.
    pub fn stage(&self, ids: &[u32], rows: &[f32]) {
        let mut s = self.state.borrow_mut();
        s.reads += ids.len() as u64;
        for (&id, row) in ids.iter().zip(rows.chunks_exact(self.dim)) {
            s.staged.insert(id, row.to_vec());
        }
    }

    /// Forgets a search that will not be finished (an error or a failed read between rounds).
    pub fn abandon_search(&self) {
        let mut s = self.state.borrow_mut();
        s.missing.clear();
        s.missing_set.clear();
        s.staged.clear();
        s.armed = None;
        s.recorded = None;
        s.replay_next = None;
        s.replay_calls = 0;
        s.fetch_calls = 0;
    }

    fn replay(&self, query: &[f32], depth: usize) -> Option<Vec<u32>> {
        let mut s = self.state.borrow_mut();
        s.replay_calls += 1;
        if s.replay_calls != 1 {
            return None;
        }
        if let Some(r) = s.replay_next.take() {
            if r.depth == depth && r.query == query {
                return Some(r.ids);
            }
        }
        s.armed = Some((query.to_vec(), depth));
        None
    }

    /// Drops the cached copies of removed ids (their internal ids are never reused, so a stale
    /// row could not be served; this only frees the space).
    pub fn forget(&self, ids: &[u32]) {
        let mut s = self.state.borrow_mut();
        for &id in ids {
            s.uncache(self.dim, id);
        }
    }

    fn fetch_into(&self, query: Option<&[f32]>, ids: &[u32], out: &mut [f32]) {
        let dim = self.dim;
        let mut s = self.state.borrow_mut();
        s.fetch_calls += 1;
        let missing_before = s.missing.len();
        for (&id, row) in ids.iter().zip(out.chunks_exact_mut(dim)) {
            if let Some(staged) = s.staged.get(&id) {
                row.copy_from_slice(staged);
            } else if let Some(&slot) = s.slot_of.get(&id) {
                let at = slot as usize * dim;
                row.copy_from_slice(&s.rows[at..at + dim]);
                s.touch(slot);
                s.hits += 1;
            } else {
                // Scored as zeros this round; the caller reads it and searches again.
                row.fill(0.0);
                if s.missing_set.insert(id) {
                    s.missing.push(id);
                }
            }
        }
        // The first fetch of a round, right after the replay call that armed it, and it lacked
        // rows: record its candidates for the next round.
        if s.missing.len() > missing_before && s.fetch_calls == 1 {
            if let (Some((armed, depth)), Some(query)) = (s.armed.take(), query) {
                if armed == query {
                    s.recorded = Some(Replay {
                        query: armed,
                        depth,
                        ids: ids.to_vec(),
                    });
                }
            }
        }
    }
}

impl ColdState {
    fn unlink(&mut self, slot: u32) {
        let (p, n) = (self.prev[slot as usize], self.next[slot as usize]);
        if p == NONE {
            self.head = n;
        } else {
            self.next[p as usize] = n;
        }
        if n == NONE {
            self.tail = p;
        } else {
            self.prev[n as usize] = p;
        }
    }

    fn push_front(&mut self, slot: u32) {
        self.prev[slot as usize] = NONE;
        self.next[slot as usize] = self.head;
        if self.head != NONE {
            self.prev[self.head as usize] = slot;
        }
        self.head = slot;
        if self.tail == NONE {
            self.tail = slot;
        }
    }

    fn touch(&mut self, slot: u32) {
        if self.head != slot {
            self.unlink(slot);
            self.push_front(slot);
        }
    }

    fn cache(&mut self, dim: usize, id: u32, row: &[f32]) {
        if self.capacity_rows == 0 || self.slot_of.contains_key(&id) {
            return;
        }
        let slot = if self.slot_of.len() < self.capacity_rows && self.ids.len() < self.capacity_rows
        {
            // A new slot at the end. Grow by doubling, but never past the budget: a `Vec`'s own
            // doubling could hold twice the budget.
            let used = self.ids.len();
            if used == self.ids.capacity() {
                let more = used.max(64).min(self.capacity_rows - used);
                self.ids.reserve_exact(more);
                self.prev.reserve_exact(more);
                self.next.reserve_exact(more);
                self.rows.reserve_exact(more * dim);
            }
            let slot = used as u32;
            self.ids.push(id);
            self.prev.push(NONE);
            self.next.push(NONE);
            self.rows.extend_from_slice(row);
            slot
        } else {
            // Reuse the least recently used slot.
            let slot = self.tail;
            self.unlink(slot);
            let old = self.ids[slot as usize];
            self.slot_of.remove(&old);
            self.ids[slot as usize] = id;
            let at = slot as usize * dim;
            self.rows[at..at + dim].copy_from_slice(row);
            slot
        };
        self.slot_of.insert(id, slot);
        self.push_front(slot);
    }

    /// Frees `id`'s slot by moving the last slot into it, so slots stay dense.
    fn uncache(&mut self, dim: usize, id: u32) {
        let Some(slot) = self.slot_of.remove(&id) else {
            return;
        };
        self.unlink(slot);
        let last = self.ids.len() as u32 - 1;
        if slot != last {
            let moved = self.ids[last as usize];
            self.unlink(last);
            let (from, to) = (last as usize * dim, slot as usize * dim);
            self.rows.copy_within(from..from + dim, to);
            self.ids[slot as usize] = moved;
            self.slot_of.insert(moved, slot);
            self.push_front(slot);
        }
        self.ids.pop();
        self.prev.pop();
        self.next.pop();
        self.rows.truncate(self.ids.len() * dim);
    }

    fn clear_cache(&mut self) {
        self.slot_of.clear();
        self.ids.clear();
        self.prev.clear();
        self.next.clear();
        self.rows.clear();
        self.head = NONE;
        self.tail = NONE;
    }
}

/// The index's handle on a collection's [`ColdVectors`].
struct SharedCold(Rc<ColdVectors>);

impl VectorSource for SharedCold {
    fn fetch(&self, ids: &[u32], out: &mut [f32]) -> Result<()> {
        self.0.fetch_into(None, ids, out);
        Ok(())
    }

    fn fetch_for(&self, query: &[f32], ids: &[u32], out: &mut [f32]) -> Result<()> {
        self.0.fetch_into(Some(query), ids, out);
        Ok(())
    }

    fn replay(&self, query: &[f32], depth: usize) -> Option<Vec<u32>> {
        self.0.replay(query, depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u32) -> Vec<f32> {
        vec![id as f32, 1.0]
    }

    fn fetch(cold: &ColdVectors, ids: &[u32]) -> Vec<f32> {
        let mut out = vec![9.0; ids.len() * 2];
        cold.fetch_into(None, ids, &mut out);
        out
    }

    #[test]
    fn the_second_round_replays_the_first_rounds_candidates() {
        let cold = ColdVectors::new(2, 1024);
        let query = [0.5, 0.5];
        let mut out = vec![0.0; 4];
        // Round 1: the search point arms, its fetch lacks both rows and records them.
        assert_eq!(cold.replay(&query, 10), None);
        cold.fetch_into(Some(&query), &[4, 2], &mut out);
        assert_eq!(cold.take_missing(), vec![4, 2]);
        cold.stage(&[4, 2], &[4.0, 1.0, 2.0, 1.0]);
        // Round 2: the same point gets them back; another query or depth would not.
        assert_eq!(cold.replay(&query, 10), Some(vec![4, 2]));
        assert_eq!(cold.replay(&query, 10), None, "only the first call replays");
        cold.fetch_into(Some(&query), &[4, 2], &mut out);
        assert_eq!(out, vec![4.0, 1.0, 2.0, 1.0]);
        assert!(cold.take_missing().is_empty());
        // A finished search leaves nothing to replay.
        assert_eq!(cold.replay(&query, 10), None);
        cold.abandon_search();
        // A mismatched depth searches again.
        assert_eq!(cold.replay(&query, 10), None);
        cold.fetch_into(Some(&query), &[7], &mut out[..2]);
        assert_eq!(cold.take_missing(), vec![7]);
        assert_eq!(cold.replay(&query, 20), None);
        cold.abandon_search();
    }

    #[test]
    fn a_search_finishes_once_its_missing_rows_are_staged() {
        let cold = ColdVectors::new(2, 1024);
        assert_eq!(fetch(&cold, &[3, 5, 3]), vec![0.0; 6]);
        assert_eq!(cold.take_missing(), vec![3, 5]);
        cold.stage(&[3, 5], &[3.0, 1.0, 5.0, 1.0]);
        assert_eq!(fetch(&cold, &[3, 5]), vec![3.0, 1.0, 5.0, 1.0]);
        assert!(cold.take_missing().is_empty());
        // Now cached: a later search finishes in one round.
        assert_eq!(fetch(&cold, &[5]), row(5));
        assert!(cold.take_missing().is_empty());
        let stats = cold.stats();
        assert_eq!((stats.rows, stats.hits, stats.reads), (2, 1, 2));
    }

    #[test]
    fn the_cache_evicts_the_least_recently_used_row() {
        // Room for two rows of two floats.
        let cold = ColdVectors::new(2, 16);
        for id in [1, 2] {
            cold.stage(&[id], &row(id));
            fetch(&cold, &[id]);
            assert!(cold.take_missing().is_empty());
        }
        fetch(&cold, &[1]); // 1 is now the most recent
        cold.stage(&[3], &row(3));
        fetch(&cold, &[3]);
        assert!(cold.take_missing().is_empty());
        assert_eq!(fetch(&cold, &[1, 3]), [row(1), row(3)].concat());
        assert!(cold.take_missing().is_empty());
        fetch(&cold, &[2]);
        assert_eq!(cold.take_missing(), vec![2]);
        assert_eq!(cold.stats().rows, 2);
    }

    #[test]
    fn forgetting_keeps_the_slots_dense_and_the_rows_right() {
        let cold = ColdVectors::new(2, 1024);
        let ids = [10, 11, 12, 13];
        cold.stage(&ids, &ids.map(row).concat());
        fetch(&cold, &ids);
        assert!(cold.take_missing().is_empty());
        cold.forget(&[11, 10, 99]);
        assert_eq!(fetch(&cold, &[13, 12]), [row(13), row(12)].concat());
        assert!(cold.take_missing().is_empty());
        fetch(&cold, &[10]);
        assert_eq!(cold.take_missing(), vec![10]);
        cold.abandon_search();
        cold.set_budget(0);
        assert_eq!(cold.stats().rows, 0);
    }
}

//! [`IdMap`]: from internal ids to a row or slot number, as one `u32` per id.
//!
//! The collection hands out internal ids in ascending order from 0 and never reuses them, so
//! the ids an index holds are dense below the next id. A vector indexed by id then beats a hash
//! map on every count: 4 bytes per id instead of about 9 per bucket at a load of 1/2 to 7/8
//! (13–18 bytes per entry), no hashing on the lookup that filtered and reranked searches make
//! per candidate, and growth in fixed segments ([`RowArena`]) instead of a table that doubles
//! and leaves its old block behind in the wasm memory. The price is 4 bytes per id that was
//! removed (a hole), which a store that churns (upserts many times over) pays until the ids
//! are renumbered; against a vector's 4 × dimension bytes that is small.

use std::collections::TryReserveError;

use crate::index::arena::RowArena;

/// The value of an id that is not in the map.
const ABSENT: u32 = u32::MAX;

/// A map from internal ids to `u32` values other than `u32::MAX`.
#[derive(Debug, Clone)]
pub struct IdMap {
    values: RowArena<u32>,
    len: usize,
}

impl Default for IdMap {
    fn default() -> Self {
        IdMap::new()
    }
}

impl IdMap {
    pub fn new() -> Self {
        IdMap {
            values: RowArena::new(1),
            len: 0,
        }
    }

    /// Ids mapped.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes allocated.
    pub fn capacity_bytes(&self) -> usize {
        self.values.capacity_bytes()
    }

    /// The value of `id`.
    #[inline(always)]
    pub fn get(&self, id: u32) -> Option<u32> {
        let id = id as usize;
        if id >= self.values.len() {
            return None;
        }
        let value = self.values.row(id)[0];
        (value != ABSENT).then_some(value)
    }

    #[inline(always)]
    pub fn contains_key(&self, id: u32) -> bool {
        self.get(id).is_some()
    }

    /// Makes room for ids below `end` now, so that a batch allocates once.
    pub fn reserve_below(&mut self, end: u32) {
        self.try_reserve_below(end)
            .unwrap_or_else(|_| std::process::abort());
    }

    /// [`IdMap::reserve_below`] that reports an allocation the memory cannot satisfy (for ids
    /// read from a file, where a crafted id near `u32::MAX` asks for 16 GiB).
    pub fn try_reserve_below(&mut self, end: u32) -> Result<(), TryReserveError> {
        self.values.try_grow_to(end as usize, ABSENT)
    }

    /// Maps `id` to `value` (not `u32::MAX`), returning the value it replaced.
    #[inline(never)]
    pub fn insert(&mut self, id: u32, value: u32) -> Option<u32> {
        debug_assert_ne!(value, ABSENT);
        if id as usize >= self.values.len() {
            // The next id is the usual case: grow by a segment's worth at a time (`RowArena`
            // allocates the segment once anyway), not a row at a time.
            self.reserve_below(id.saturating_add(1));
        }
        let slot = &mut self.values.row_mut(id as usize)[0];
        let old = std::mem::replace(slot, value);
        if old == ABSENT {
            self.len += 1;
            None
        } else {
            Some(old)
        }
    }

    /// [`IdMap::insert`] for ids read from a file: fails instead of aborting when the id asks
    /// for more memory than there is.
    pub fn try_insert(&mut self, id: u32, value: u32) -> Result<Option<u32>, TryReserveError> {
        self.try_reserve_below(id.saturating_add(1))?;
        Ok(self.insert(id, value))
    }

    /// Unmaps `id`, returning its value.
    pub fn remove(&mut self, id: u32) -> Option<u32> {
        if id as usize >= self.values.len() {
            return None;
        }
        let old = std::mem::replace(&mut self.values.row_mut(id as usize)[0], ABSENT);
        if old == ABSENT {
            return None;
        }
        self.len -= 1;
        Some(old)
    }

    /// Every mapped `(id, value)`, ascending by id.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.values
            .segments()
            .flatten()
            .enumerate()
            .filter(|(_, &v)| v != ABSENT)
            .map(|(id, &v)| (id as u32, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn matches_a_map_through_inserts_replacements_and_removals() {
        let mut map = IdMap::new();
        let mut model = BTreeMap::new();
        // Ids spanning several segments (262,144 ids each), with holes, replacements, removals.
        let mut state = 7u64;
        for step in 0..20_000u32 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let id = ((state >> 33) % 600_000) as u32;
            if step % 3 == 0 {
                assert_eq!(map.remove(id), model.remove(&id), "remove {id}");
            } else {
                assert_eq!(map.insert(id, step), model.insert(id, step), "insert {id}");
            }
            assert_eq!(map.len(), model.len());
        }
        for id in [0, 1, 599_999, 600_000, u32::MAX - 1] {
            assert_eq!(map.get(id), model.get(&id).copied());
        }
        let listed: Vec<(u32, u32)> = map.iter().collect();
        let expected: Vec<(u32, u32)> = model.into_iter().collect();
        assert_eq!(listed, expected);
    }

    #[test]
    fn an_absurd_id_from_a_file_fails_instead_of_aborting() {
        let mut map = IdMap::new();
        map.insert(3, 1);
        // 16 GiB: more than a 32-bit address space; a 64-bit host might grant it, so the
        // check runs where it means something (the wasm suites).
        if cfg!(target_pointer_width = "32") {
            assert!(map.try_insert(u32::MAX - 1, 5).is_err());
        }
        assert_eq!(map.len(), 1);
        assert_eq!(map.get(3), Some(1));
        assert_eq!(map.get(u32::MAX - 1), None);
    }
}

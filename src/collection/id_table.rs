//! [`IdTable`]: the external (string) ids of a collection, each stored once.
//!
//! Before, an id was a `String` in a `HashMap<String, u32>` and again in the entry of a
//! `HashMap<u32, Entry>`: two heap blocks (with the allocator's header and rounding) plus two
//! buckets, about 98 bytes for a 10-character id, in tables that double. Here its bytes live
//! once in chunks of a byte arena, each internal id has an 8-byte slot saying where (internal
//! ids are dense, see [`crate::index::id_map`]), and a hash table of internal ids (4 bytes a
//! bucket, open addressing with linear probing) finds an id by its name: about 25 bytes for the
//! same id. Names of removed items stay in their chunk as garbage until it outweighs the live
//! names; then the live names are copied into fresh chunks.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use crate::index::arena::RowArena;

/// Bytes per chunk of names. An id is at most `limits::MAX_ID_BYTES` (1 KiB), so a name never
/// straddles two chunks.
const CHUNK_BYTES: usize = 64 * 1024;

/// Marks an empty hash-table bucket and an absent slot.
const EMPTY: u32 = u32::MAX;

/// The external ids of a collection: name ↔ internal id.
#[derive(Clone)]
pub(crate) struct IdTable {
    /// Name bytes; each chunk is allocated at `CHUNK_BYTES` and never grown past it.
    chunks: Vec<Vec<u8>>,
    /// Per internal id: the byte offset of its name (`chunk × CHUNK_BYTES + position`, or
    /// `EMPTY`) and its length.
    slots: RowArena<u32>,
    /// Internal ids by the hash of their name; a power-of-two length, at most 7/8 full.
    buckets: Vec<u32>,
    hasher: RandomState,
    /// Slots holding a name.
    live: usize,
    /// Names in `buckets` (fewer than `live` only while an upsert has both versions).
    names: usize,
    live_bytes: usize,
    garbage_bytes: usize,
}

impl std::fmt::Debug for IdTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTable")
            .field("live", &self.live)
            .field("names", &self.names)
            .finish()
    }
}

impl IdTable {
    pub(crate) fn new() -> Self {
        IdTable {
            chunks: Vec::new(),
            slots: RowArena::new(2),
            buckets: Vec::new(),
            hasher: RandomState::new(),
            live: 0,
            names: 0,
            live_bytes: 0,
            garbage_bytes: 0,
        }
    }

    /// Internal ids holding a name.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Distinct names (equal to [`IdTable::len`] unless two internal ids share a name).
    pub(crate) fn distinct_names(&self) -> usize {
        self.names
    }

    /// Bytes allocated.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum::<usize>()
            + self.slots.capacity_bytes()
            + self.buckets.capacity() * 4
    }

    fn hash(&self, name: &[u8]) -> usize {
        self.hasher.hash_one(name) as usize
    }

    fn name_bytes(&self, internal: u32) -> Option<&[u8]> {
        if internal as usize >= self.slots.len() {
            return None;
        }
        let slot = self.slots.row(internal as usize);
        if slot[0] == EMPTY {
            return None;
        }
        let (offset, len) = (slot[0] as usize, slot[1] as usize);
        let chunk = &self.chunks[offset / CHUNK_BYTES];
        let start = offset % CHUNK_BYTES;
        Some(&chunk[start..start + len])
    }

    /// The name of `internal`.
    pub(crate) fn name_of(&self, internal: u32) -> Option<&str> {
        // Always valid UTF-8 (copied from a `&str`); checking keeps this free of `unsafe`.
        std::str::from_utf8(self.name_bytes(internal)?).ok()
    }

    /// The bucket holding `name`, or the empty bucket where it would go.
    fn find(&self, name: &[u8]) -> (usize, Option<u32>) {
        let mask = self.buckets.len() - 1;
        let mut bucket = self.hash(name) & mask;
        loop {
            let internal = self.buckets[bucket];
            if internal == EMPTY {
                return (bucket, None);
            }
            if self.name_bytes(internal) == Some(name) {
                return (bucket, Some(internal));
            }
            bucket = (bucket + 1) & mask;
        }
    }

    /// The internal id named `name`.
    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        if self.names == 0 {
            return None;
        }
        self.find(name.as_bytes()).1
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Makes room for `additional` more names without rehashing or reallocating per item.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let wanted = self.names + additional;
        if wanted * 8 > self.buckets.len() * 7 {
            self.rehash((wanted * 8 / 7 + 1).next_power_of_two().max(16));
        }
    }

    fn rehash(&mut self, buckets: usize) {
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY; buckets]);
        let mask = buckets - 1;
        for internal in old.into_iter().filter(|&i| i != EMPTY) {
            let name = self.name_bytes(internal).unwrap_or_default();
            let mut bucket = self.hash(name) & mask;
            while self.buckets[bucket] != EMPTY {
                bucket = (bucket + 1) & mask;
            }
            self.buckets[bucket] = internal;
        }
    }

    /// Stores `name` (at most 1 KiB) as the name of `internal` (which holds none), and points
    /// the name at it. Returns the internal id the name pointed at before, if any: an upsert
    /// inserts the new version first and removes the old one after. Not inlined: the
    /// collection inserts from three places (add, restore, log replay).
    #[inline(never)]
    pub(crate) fn insert(&mut self, internal: u32, name: &str) -> Option<u32> {
        debug_assert!(name.len() <= CHUNK_BYTES);
        debug_assert!(self.name_bytes(internal).is_none());
        let offset = self.push_name(name.as_bytes());
        self.slots
            .try_grow_to(internal as usize + 1, EMPTY)
            .unwrap_or_else(|_| std::process::abort());
        self.slots
            .row_mut(internal as usize)
            .copy_from_slice(&[offset, name.len() as u32]);
        self.live += 1;
        self.live_bytes += name.len();
        self.reserve(1);
        match self.find(name.as_bytes()) {
            (bucket, Some(previous)) if previous != internal => {
                self.buckets[bucket] = internal;
                Some(previous)
            }
            (_, Some(_)) => None,
            (bucket, None) => {
                self.buckets[bucket] = internal;
                self.names += 1;
                None
            }
        }
    }

    fn push_name(&mut self, name: &[u8]) -> u32 {
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.len() + name.len() <= CHUNK_BYTES);
        if !fits {
            self.chunks.push(Vec::with_capacity(CHUNK_BYTES));
        }
        let index = self.chunks.len() - 1;
        let chunk = &mut self.chunks[index];
        let offset = index * CHUNK_BYTES + chunk.len();
        chunk.extend_from_slice(name);
        offset as u32
    }

    /// Removes the name of `internal`; the name is unmapped only if it points at `internal`.
    /// Returns whether `internal` had a name.
    pub(crate) fn remove(&mut self, internal: u32) -> bool {
        let Some(name) = self.name_bytes(internal) else {
            return false;
        };
        let len = name.len();
        if let (bucket, Some(found)) = self.find(name) {
            if found == internal {
                self.delete_bucket(bucket);
                self.names -= 1;
            }
        }
        self.slots.row_mut(internal as usize)[0] = EMPTY;
        self.live -= 1;
        self.live_bytes -= len;
        self.garbage_bytes += len;
        if self.garbage_bytes > self.live_bytes.max(CHUNK_BYTES) {
            self.collect_garbage();
        }
        true
    }

    /// Empties `bucket` by shifting later entries of its probe run back (linear probing's
    /// deletion without tombstones, so lookups never slow down with churn).
    fn delete_bucket(&mut self, mut hole: usize) {
        let mask = self.buckets.len() - 1;
        let mut next = hole;
        loop {
            next = (next + 1) & mask;
            let internal = self.buckets[next];
            if internal == EMPTY {
                break;
            }
            let home = self.hash(self.name_bytes(internal).unwrap_or_default()) & mask;
            // The entry at `next` may move into the hole unless its home lies cyclically in
            // (hole, next].
            let stays = if hole < next {
                hole < home && home <= next
            } else {
                hole < home || home <= next
            };
            if !stays {
                self.buckets[hole] = internal;
                hole = next;
            }
        }
        self.buckets[hole] = EMPTY;
    }

    /// Copies the live names into fresh chunks, dropping the removed ones'.
    fn collect_garbage(&mut self) {
        let old = std::mem::take(&mut self.chunks);
        for internal in 0..self.slots.len() {
            let slot = self.slots.row(internal);
            if slot[0] == EMPTY {
                continue;
            }
            let (offset, len) = (slot[0] as usize, slot[1] as usize);
            let start = offset % CHUNK_BYTES;
            let name = &old[offset / CHUNK_BYTES][start..start + len];
            let moved = self.push_name(name);
            self.slots.row_mut(internal)[0] = moved;
        }
        self.garbage_bytes = 0;
    }

    /// Every internal id holding a name, ascending.
    pub(crate) fn internal_ids(&self) -> Vec<u32> {
        let mut ids = Vec::with_capacity(self.live);
        for internal in 0..self.slots.len() {
            if self.slots.row(internal)[0] != EMPTY {
                ids.push(internal as u32);
            }
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The table against two maps through inserts, upserts (insert then remove of the old
    /// version) and deletes, with enough churn to rehash and collect garbage several times.
    #[test]
    fn matches_a_pair_of_maps_through_churn() {
        let mut table = IdTable::new();
        let mut by_name: HashMap<String, u32> = HashMap::new();
        let mut by_internal: HashMap<u32, String> = HashMap::new();
        let mut next = 0u32;
        let mut state = 11u64;
        for step in 0..60_000u32 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let name = format!(
                "doc-{}/{}",
                (state >> 40) % 5_000,
                "x".repeat((step % 40) as usize)
            );
            match step % 4 {
                0 | 1 => {
                    let internal = next;
                    next += 1;
                    let previous = table.insert(internal, &name);
                    assert_eq!(previous, by_name.insert(name.clone(), internal));
                    by_internal.insert(internal, name.clone());
                    if let Some(previous) = previous {
                        // The upsert's second half.
                        assert!(table.remove(previous));
                        by_internal.remove(&previous);
                    }
                }
                _ => {
                    if let Some(internal) = by_name.remove(&name) {
                        by_internal.remove(&internal);
                        assert!(table.remove(internal));
                        assert!(!table.remove(internal));
                    } else {
                        assert_eq!(table.get(&name), None);
                    }
                }
            }
            assert_eq!(table.len(), by_internal.len());
            assert_eq!(table.distinct_names(), by_name.len());
        }
        for (name, &internal) in &by_name {
            assert_eq!(table.get(name), Some(internal), "{name}");
            assert_eq!(table.name_of(internal), Some(name.as_str()));
        }
        let mut expected: Vec<u32> = by_internal.keys().copied().collect();
        expected.sort_unstable();
        assert_eq!(table.internal_ids(), expected);
        assert_eq!(table.get("absent"), None);
        assert_eq!(table.name_of(next + 5), None);
    }

    #[test]
    fn two_versions_of_one_name_keep_the_newer_mapped() {
        let mut table = IdTable::new();
        assert_eq!(table.insert(0, "a"), None);
        assert_eq!(table.insert(1, "a"), Some(0));
        assert_eq!((table.len(), table.distinct_names()), (2, 1));
        // Removing the older version leaves the name on the newer one.
        assert!(table.remove(0));
        assert_eq!(table.get("a"), Some(1));
        assert_eq!(table.name_of(1), Some("a"));
        assert!(table.remove(1));
        assert_eq!(table.get("a"), None);
        assert_eq!((table.len(), table.distinct_names()), (0, 0));
    }

    #[test]
    fn ten_character_ids_cost_about_a_quarter_of_what_two_maps_did() {
        let mut table = IdTable::new();
        table.reserve(100_000);
        for i in 0..100_000u32 {
            table.insert(i, &format!("doc-{i:06}"));
        }
        let per_id = table.memory_bytes() as f64 / 100_000.0;
        assert!(per_id < 30.0, "{per_id} bytes per id");
    }
}

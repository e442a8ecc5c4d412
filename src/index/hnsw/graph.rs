//! The HNSW graph's adjacency, in flat arrays with fixed-capacity slots.
//!
//! Layer 0 is one `Vec<u32>` with a stride of `m0 + 1` per node: a count followed by up to `m0`
//! neighbour slots. Nodes on higher layers (a fraction of about 1/m of them) own one block in a
//! second array holding `level × (m + 1)` entries, one count-prefixed list per layer above 0.
//! No per-node allocation, no `Vec<Vec<_>>`: a node's neighbours on a layer are one contiguous
//! slice found by arithmetic.

/// Marks a node without a block of upper-layer lists.
const NO_BLOCK: usize = usize::MAX;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    /// Most neighbours per node on layers above 0.
    m: usize,
    /// Most neighbours per node on layer 0 (2m).
    m0: usize,
    /// `slots × (m0 + 1)`: count, then neighbours.
    links0: Vec<u32>,
    /// Upper-layer blocks, `level × (m + 1)` entries each.
    upper: Vec<u32>,
    /// Start of each slot's upper block in `upper`, or `NO_BLOCK`.
    upper_offset: Vec<usize>,
    /// How many upper layers each slot's block has room for (at least its level).
    upper_capacity: Vec<u8>,
    /// Top layer of each slot.
    level: Vec<u8>,
    /// Upper-block entries no node uses (a reused slot that needed a larger block).
    upper_abandoned: usize,
}

impl Graph {
    pub fn new(m: usize) -> Self {
        Graph {
            m,
            m0: 2 * m,
            links0: Vec::new(),
            upper: Vec::new(),
            upper_offset: Vec::new(),
            upper_capacity: Vec::new(),
            level: Vec::new(),
            upper_abandoned: 0,
        }
    }

    pub fn m(&self) -> usize {
        self.m
    }

    /// Largest neighbour count on `layer`: `m0` on layer 0, `m` above.
    #[inline]
    pub fn max_degree(&self, layer: usize) -> usize {
        if layer == 0 {
            self.m0
        } else {
            self.m
        }
    }

    /// Number of slots (live, tombstoned and free).
    pub fn slots(&self) -> usize {
        self.level.len()
    }

    #[inline]
    pub fn level(&self, slot: u32) -> usize {
        self.level[slot as usize] as usize
    }

    /// Start of the count-prefixed list of `slot` on `layer` (which must be `<= level`).
    #[inline]
    fn list_start(&self, slot: u32, layer: usize) -> usize {
        if layer == 0 {
            slot as usize * (self.m0 + 1)
        } else {
            self.upper_offset[slot as usize] + (layer - 1) * (self.m + 1)
        }
    }

    #[inline]
    fn array(&self, layer: usize) -> &[u32] {
        if layer == 0 {
            &self.links0
        } else {
            &self.upper
        }
    }

    /// The neighbours of `slot` on `layer`.
    #[inline]
    pub fn neighbours(&self, slot: u32, layer: usize) -> &[u32] {
        let start = self.list_start(slot, layer);
        let array = self.array(layer);
        let count = array[start] as usize;
        &array[start + 1..start + 1 + count]
    }

    /// Replaces the neighbours of `slot` on `layer` (at most the layer's max degree).
    pub fn set_neighbours(&mut self, slot: u32, layer: usize, neighbours: &[u32]) {
        debug_assert!(neighbours.len() <= self.max_degree(layer));
        let start = self.list_start(slot, layer);
        let array = if layer == 0 {
            &mut self.links0
        } else {
            &mut self.upper
        };
        array[start] = neighbours.len() as u32;
        array[start + 1..start + 1 + neighbours.len()].copy_from_slice(neighbours);
    }

    /// Appends `neighbour` to the list of `slot` on `layer`; `false` when the list is full.
    pub fn try_push(&mut self, slot: u32, layer: usize, neighbour: u32) -> bool {
        let max = self.max_degree(layer);
        let start = self.list_start(slot, layer);
        let array = if layer == 0 {
            &mut self.links0
        } else {
            &mut self.upper
        };
        let count = array[start] as usize;
        if count >= max {
            return false;
        }
        array[start + 1 + count] = neighbour;
        array[start] = count as u32 + 1;
        true
    }

    /// Appends a new slot with empty lists on layers `0..=level`; returns it.
    pub fn push_slot(&mut self, level: usize) -> u32 {
        let slot = self.level.len() as u32;
        self.links0.resize(self.links0.len() + self.m0 + 1, 0);
        self.level.push(0);
        self.upper_offset.push(NO_BLOCK);
        self.upper_capacity.push(0);
        self.reset_slot(slot, level);
        slot
    }

    /// Empties every list of an existing slot and gives it `level`, reusing its upper block
    /// when large enough.
    pub fn reset_slot(&mut self, slot: u32, level: usize) {
        let s = slot as usize;
        let stride = self.m0 + 1;
        self.links0[s * stride] = 0;
        let capacity = self.upper_capacity[s] as usize;
        if level > capacity {
            self.upper_abandoned += capacity * (self.m + 1);
            self.upper_offset[s] = self.upper.len();
            self.upper_capacity[s] = level as u8;
            self.upper
                .resize(self.upper.len() + level * (self.m + 1), 0);
        }
        self.level[s] = level as u8;
        for layer in 1..=level {
            let start = self.list_start(slot, layer);
            self.upper[start] = 0;
        }
    }

    /// Empties a slot's lists (a freed node keeps no links, so nothing stale survives).
    pub fn clear_slot(&mut self, slot: u32) {
        let level = self.level(slot);
        for layer in 0..=level {
            self.set_neighbours(slot, layer, &[]);
        }
    }

    /// Number of links stored in the whole graph (for statistics and tests).
    pub fn link_count(&self) -> usize {
        (0..self.slots() as u32)
            .map(|s| {
                (0..=self.level(s))
                    .map(|l| self.neighbours(s, l).len())
                    .sum::<usize>()
            })
            .sum()
    }

    pub fn memory_bytes(&self) -> usize {
        self.links0.capacity() * 4
            + self.upper.capacity() * 4
            + self.upper_offset.capacity() * std::mem::size_of::<usize>()
            + self.upper_capacity.capacity()
            + self.level.capacity()
    }

    /// Upper-block entries left unused by slot reuse (reported, not reclaimed).
    pub fn abandoned_entries(&self) -> usize {
        self.upper_abandoned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_independent_and_bounded() {
        let mut g = Graph::new(2);
        let a = g.push_slot(0);
        let b = g.push_slot(2);
        let c = g.push_slot(1);
        assert!(g.try_push(a, 0, b));
        assert!(g.try_push(b, 2, c));
        assert!(g.try_push(b, 1, a));
        assert!(g.try_push(b, 1, c));
        assert!(!g.try_push(b, 1, a), "layer 1 holds m = 2");
        for n in 0..4 {
            assert!(g.try_push(c, 0, n));
        }
        assert!(!g.try_push(c, 0, 9), "layer 0 holds m0 = 4");
        assert_eq!(g.neighbours(a, 0), &[b]);
        assert_eq!(g.neighbours(b, 1), &[a, c]);
        assert_eq!(g.neighbours(b, 2), &[c]);
        assert_eq!(g.neighbours(c, 1), &[] as &[u32]);
        g.reset_slot(a, 3);
        assert_eq!(g.level(a), 3);
        assert!((0..=3).all(|l| g.neighbours(a, l).is_empty()));
        assert_eq!(g.neighbours(b, 1), &[a, c], "other nodes untouched");
        g.clear_slot(b);
        assert_eq!(g.link_count(), 4);
    }
}

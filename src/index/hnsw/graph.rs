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
    #[inline(always)]
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

    #[inline(always)]
    pub fn level(&self, slot: u32) -> usize {
        self.level[slot as usize] as usize
    }

    /// Start of the count-prefixed list of `slot` on `layer` (which must be `<= level`).
    #[inline(always)]
    fn list_start(&self, slot: u32, layer: usize) -> usize {
        if layer == 0 {
            slot as usize * (self.m0 + 1)
        } else {
            self.upper_offset[slot as usize] + (layer - 1) * (self.m + 1)
        }
    }

    #[inline(always)]
    fn array(&self, layer: usize) -> &[u32] {
        if layer == 0 {
            &self.links0
        } else {
            &self.upper
        }
    }

    /// The neighbours of `slot` on `layer`.
    #[inline(always)]
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

impl Graph {
    /// Snapshot: the arrays as they are (`u64` slots, levels, upper capacities, upper offsets
    /// as `u64` with `u64::MAX` for none, layer 0, `u64` length + the upper arena, `u64`
    /// abandoned entries), so a reopened graph grows exactly as the saved one would.
    pub fn encode(&self, out: &mut dyn crate::codec::Write) {
        out.u64(self.level.len() as u64);
        out.raw(&self.level);
        out.raw(&self.upper_capacity);
        for &offset in &self.upper_offset {
            out.u64(if offset == NO_BLOCK {
                u64::MAX
            } else {
                offset as u64
            });
        }
        out.u32s(&self.links0);
        out.u64(self.upper.len() as u64);
        out.u32s(&self.upper);
        out.u64(self.upper_abandoned as u64);
    }

    /// Reads what [`Graph::encode`] wrote, checking every structural invariant the search and
    /// insert code index by: blocks inside the arena, counts within the degree bounds,
    /// neighbours that exist on the layer they are linked on, levels at most `max_level`.
    pub fn decode(
        m: usize,
        max_level: usize,
        input: &mut dyn crate::codec::Read,
    ) -> crate::error::Result<Graph> {
        let corrupt = |what: &str| crate::error::Error::Corrupt {
            what: format!("HNSW graph: {what}"),
        };
        let mut g = Graph::new(m);
        let stride0 = g.m0 + 1;
        let n = input.count(2 + 8 + 4 * stride0 as u64, "HNSW slots")?;
        g.level = vec![0u8; n];
        input.read_into(&mut g.level, "HNSW levels")?;
        g.upper_capacity = vec![0u8; n];
        input.read_into(&mut g.upper_capacity, "HNSW upper capacities")?;
        let mut upper_offset = Vec::with_capacity(n);
        for _ in 0..n {
            upper_offset.push(input.u64("HNSW upper offset")?);
        }
        g.links0 = input.u32s((n * stride0) as u64, "HNSW layer 0")?;
        let upper_len = input.count(4, "HNSW upper arena")?;
        g.upper = input.u32s(upper_len as u64, "HNSW upper arena")?;
        g.upper_abandoned = usize::try_from(input.u64("HNSW abandoned entries")?)
            .map_err(|_| corrupt("abandoned entries"))?;
        let block = m + 1;
        for (s, &offset) in upper_offset.iter().enumerate() {
            let (level, capacity) = (g.level[s] as usize, g.upper_capacity[s] as usize);
            if level > max_level || level > capacity {
                return Err(corrupt("a level above its block"));
            }
            if capacity == 0 {
                if offset != u64::MAX {
                    return Err(corrupt("a block without capacity"));
                }
                g.upper_offset.push(NO_BLOCK);
            } else {
                let end = (capacity as u64)
                    .checked_mul(block as u64)
                    .and_then(|size| size.checked_add(offset));
                if end.is_none_or(|end| end > upper_len as u64) {
                    return Err(corrupt("an upper block outside the arena"));
                }
                g.upper_offset.push(offset as usize);
            }
        }
        for s in 0..n as u32 {
            for layer in 0..=g.level(s) {
                let start = g.list_start(s, layer);
                let count = g.array(layer)[start] as usize;
                if count > g.max_degree(layer) {
                    return Err(corrupt("a list above its degree bound"));
                }
                for &neighbour in g.neighbours(s, layer) {
                    if neighbour as usize >= n || g.level(neighbour) < layer {
                        return Err(corrupt("a link to a node absent from its layer"));
                    }
                }
            }
        }
        Ok(g)
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

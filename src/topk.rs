//! Bounded top-k selection with deterministic ties.
//!
//! A max-heap of at most `k` entries keeps the k smallest `(distance, id)` pairs seen so far.
//! Ordering is total: distances compare with [`f32::total_cmp`] (after folding `-0.0` into
//! `0.0`), and equal distances break by the smaller internal id, so the same data always gives
//! the same results in the same order, whatever order rows were scanned in.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One search result inside the core: an internal id and its internal distance (lower is better).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    pub id: u32,
    pub distance: f32,
}

impl Neighbor {
    pub fn new(id: u32, distance: f32) -> Self {
        // `+ 0.0` turns -0.0 into 0.0 so that the sign of zero never decides a tie.
        Neighbor {
            id,
            distance: distance + 0.0,
        }
    }
}

impl Eq for Neighbor {}

impl Ord for Neighbor {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Neighbor {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Keeps the `k` best neighbours pushed into it.
#[derive(Debug, Clone, Default)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Neighbor>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(4096) + 1),
        }
    }

    /// Empties the selector and sets a new `k`, keeping its allocation.
    pub fn reset(&mut self, k: usize) {
        self.k = k;
        self.heap.clear();
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.heap.len() >= self.k
    }

    /// The worst kept distance once full; +∞ before, so every candidate is admitted.
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.is_full() {
            self.heap.peek().map_or(f32::INFINITY, |n| n.distance)
        } else {
            f32::INFINITY
        }
    }

    /// The worst kept neighbour, if any.
    pub fn worst(&self) -> Option<Neighbor> {
        self.heap.peek().copied()
    }

    /// Offers a candidate; returns whether it was kept.
    #[inline]
    pub fn push(&mut self, id: u32, distance: f32) -> bool {
        if self.k == 0 {
            return false;
        }
        let candidate = Neighbor::new(id, distance);
        if self.heap.len() < self.k {
            self.heap.push(candidate);
            return true;
        }
        let mut worst = self.heap.peek_mut().expect("heap is full, so not empty");
        if candidate < *worst {
            *worst = candidate;
            true
        } else {
            false
        }
    }

    /// The kept neighbours, best first.
    pub fn into_sorted_vec(self) -> Vec<Neighbor> {
        self.heap.into_sorted_vec()
    }

    /// The kept neighbours, best first, leaving the selector empty but allocated.
    pub fn drain_sorted(&mut self) -> Vec<Neighbor> {
        let mut out: Vec<Neighbor> = self.heap.drain().collect();
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_k_smallest_with_id_tie_break() {
        let mut top = TopK::new(3);
        for (id, d) in [(5, 1.0), (1, 1.0), (9, 0.5), (3, 1.0), (2, 2.0), (0, -0.0)] {
            top.push(id, d);
        }
        let ids: Vec<u32> = top.into_sorted_vec().iter().map(|n| n.id).collect();
        assert_eq!(ids, vec![0, 9, 1]);
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        let mut top = TopK::new(1);
        top.push(7, 0.0);
        top.push(3, -0.0);
        assert_eq!(top.into_sorted_vec()[0].id, 3);
    }
}

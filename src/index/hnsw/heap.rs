//! Binary heaps over a caller-owned `Vec<Neighbor>`, so the search's candidate and result
//! queues reuse the buffers in [`crate::index::traits::Scratch`] and a query allocates nothing.
//!
//! Order is `Neighbor`'s total order (distance, then id), so equal distances pop in id order
//! and traversal is deterministic. `MIN = true` keeps the smallest on top (the candidate queue),
//! `MIN = false` the largest (the bounded result set, whose top is the current worst).

use crate::topk::Neighbor;

#[inline(always)]
fn above<const MIN: bool>(a: &Neighbor, b: &Neighbor) -> bool {
    if MIN {
        a < b
    } else {
        a > b
    }
}

#[inline(always)]
pub fn push<const MIN: bool>(heap: &mut Vec<Neighbor>, item: Neighbor) {
    let mut i = heap.len();
    heap.push(item);
    while i > 0 {
        let parent = (i - 1) / 2;
        if !above::<MIN>(&item, &heap[parent]) {
            break;
        }
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = item;
}

#[inline(always)]
pub fn pop<const MIN: bool>(heap: &mut Vec<Neighbor>) -> Option<Neighbor> {
    let last = heap.pop()?;
    if heap.is_empty() {
        return Some(last);
    }
    let top = heap[0];
    sift_down::<MIN>(heap, last);
    Some(top)
}

/// Replaces the top with `item` (cheaper than a pop followed by a push).
#[inline(always)]
pub fn replace_top<const MIN: bool>(heap: &mut [Neighbor], item: Neighbor) {
    debug_assert!(!heap.is_empty());
    sift_down::<MIN>(heap, item);
}

/// Puts `item` at the root and sifts it down to its place.
#[inline(always)]
fn sift_down<const MIN: bool>(heap: &mut [Neighbor], item: Neighbor) {
    sift_down_from::<MIN>(heap, 0, item);
}

/// Puts `item` at `start` and sifts it down within the subtree rooted there.
#[inline(always)]
fn sift_down_from<const MIN: bool>(heap: &mut [Neighbor], start: usize, item: Neighbor) {
    let len = heap.len();
    let mut i = start;
    loop {
        let left = 2 * i + 1;
        if left >= len {
            break;
        }
        let right = left + 1;
        let child = if right < len && above::<MIN>(&heap[right], &heap[left]) {
            right
        } else {
            left
        };
        if !above::<MIN>(&heap[child], &item) {
            break;
        }
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = item;
}

/// Sorts ascending in place (heapsort). Used instead of `sort_unstable` for the short lists
/// of graph construction and search: as fast at these sizes, and it reuses the sift code
/// instead of adding a quicksort instance to the wasm binary.
pub fn sort(items: &mut [Neighbor]) {
    let len = items.len();
    for start in (0..len / 2).rev() {
        let item = items[start];
        sift_down_from::<false>(&mut items[..], start, item);
    }
    for end in (1..len).rev() {
        let top = items[0];
        let last = items[end];
        items[end] = top;
        sift_down::<false>(&mut items[..end], last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heaps_pop_in_order() {
        let values = [5.0, 1.0, 3.0, 3.0, -2.0, 8.0, 0.0, 1.0];
        let mut min = Vec::new();
        let mut max = Vec::new();
        for (i, &d) in values.iter().enumerate() {
            push::<true>(&mut min, Neighbor::new(i as u32, d));
            push::<false>(&mut max, Neighbor::new(i as u32, d));
        }
        let mut sorted: Vec<Neighbor> = values
            .iter()
            .enumerate()
            .map(|(i, &d)| Neighbor::new(i as u32, d))
            .collect();
        sorted.sort();
        let from_min: Vec<Neighbor> = std::iter::from_fn(|| pop::<true>(&mut min)).collect();
        assert_eq!(from_min, sorted);
        let mut from_max: Vec<Neighbor> = std::iter::from_fn(|| pop::<false>(&mut max)).collect();
        from_max.reverse();
        assert_eq!(from_max, sorted);

        let mut max: Vec<Neighbor> = Vec::new();
        for n in &sorted[..4] {
            push::<false>(&mut max, *n);
        }
        replace_top::<false>(&mut max, Neighbor::new(99, -5.0));
        assert_eq!(max.iter().filter(|n| n.id == 99).count(), 1);
        assert_eq!(max[0], sorted[2]);
    }

    #[test]
    fn heapsort_sorts_every_length() {
        for len in 0..40u32 {
            let mut items: Vec<Neighbor> = (0..len)
                .map(|i| Neighbor::new(i, ((i * 7919) % 13) as f32))
                .collect();
            let mut expect = items.clone();
            expect.sort();
            sort(&mut items);
            assert_eq!(items, expect, "len {len}");
        }
    }
}

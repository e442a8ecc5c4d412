//! A set of internal ids: the posting list of one indexed value, a candidate set, the universe.
//!
//! A sorted `Vec<u32>`. Internal ids are handed out in increasing order, so inserts append;
//! removal is a binary search and a shift; set algebra is a linear merge. A roaring bitmap was
//! measured as the alternative: it costs 12.5 KB of gzipped wasm (+38.6 KB raw), about 10% of
//! the whole module, for compression and faster set algebra that only pay off at millions of
//! ids (see `docs/filters.md`). The interface is the few operations the filter code needs, so
//! the representation can change without touching its users.

/// An ascending set of `u32` ids.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Posting(Vec<u32>);

impl Posting {
    pub fn new() -> Self {
        Posting(Vec::new())
    }

    /// Builds a set from ids in ascending order (duplicates are ignored).
    pub fn from_sorted(ids: &[u32]) -> Self {
        let mut v = ids.to_vec();
        if !v.windows(2).all(|w| w[0] < w[1]) {
            v.sort_unstable();
            v.dedup();
        }
        Posting(v)
    }

    /// Adds `id`; returns whether it was new.
    #[inline]
    pub fn insert(&mut self, id: u32) -> bool {
        match self.0.last() {
            None => {
                self.0.push(id);
                true
            }
            Some(&last) if last < id => {
                self.0.push(id);
                true
            }
            _ => match self.0.binary_search(&id) {
                Ok(_) => false,
                Err(at) => {
                    self.0.insert(at, id);
                    true
                }
            },
        }
    }

    /// Removes `id`; returns whether it was present.
    #[inline]
    pub fn remove(&mut self, id: u32) -> bool {
        match self.0.binary_search(&id) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// Removes every id of the ascending list `ids` in one pass (a batch delete costs one
    /// shift of the set, not one per id).
    pub fn remove_sorted(&mut self, ids: &[u32]) {
        match ids {
            [] => {}
            [id] => {
                self.remove(*id);
            }
            _ => {
                let mut j = 0;
                self.0.retain(|&x| {
                    while j < ids.len() && ids[j] < x {
                        j += 1;
                    }
                    !(j < ids.len() && ids[j] == x)
                });
            }
        }
    }

    #[inline]
    pub fn contains(&self, id: u32) -> bool {
        self.0.binary_search(&id).is_ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }

    /// The id of rank `n` (0-based, ascending), if the set has more than `n` ids.
    pub fn select(&self, n: usize) -> Option<u32> {
        self.0.get(n).copied()
    }

    /// The ids as an ascending vector.
    pub fn to_vec(&self) -> Vec<u32> {
        self.0.clone()
    }

    pub fn union_with(&mut self, other: &Posting) {
        if other.0.is_empty() {
            return;
        }
        if self.0.last().is_none_or(|&l| l < other.0[0]) {
            self.0.extend_from_slice(&other.0);
            return;
        }
        let (a, b) = (&self.0, &other.0);
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => {
                    out.push(a[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(b[j]);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push(a[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        self.0 = out;
    }

    /// The union of many sets at once: one sort instead of a merge per set, which would cost
    /// quadratic time for a range over many distinct values.
    pub fn union_all<'a>(sets: impl Iterator<Item = &'a Posting>) -> Posting {
        let mut ids: Vec<u32> = Vec::new();
        let mut parts = 0;
        for set in sets {
            ids.extend_from_slice(&set.0);
            parts += 1;
        }
        if parts > 1 {
            ids.sort_unstable();
            ids.dedup();
        }
        Posting(ids)
    }

    pub fn intersect_with(&mut self, other: &Posting) {
        let b = &other.0;
        let mut j = 0;
        self.0.retain(|&x| {
            while j < b.len() && b[j] < x {
                j += 1;
            }
            j < b.len() && b[j] == x
        });
    }

    /// `self − other`.
    pub fn difference(&self, other: &Posting) -> Posting {
        let b = &other.0;
        let mut j = 0;
        Posting(
            self.0
                .iter()
                .copied()
                .filter(|&x| {
                    while j < b.len() && b[j] < x {
                        j += 1;
                    }
                    !(j < b.len() && b[j] == x)
                })
                .collect(),
        )
    }

    /// Heap bytes.
    pub fn memory_bytes(&self) -> usize {
        self.0.capacity() * 4
    }
}

//! [`RowArena`]: fixed-width rows (a vector's components, a code's bytes) in segments of a fixed
//! size, so that a growing store never reallocates what it already holds.
//!
//! Why segments and not one `Vec`: a `Vec` doubles when it is full, copying every row into a
//! block twice the size while the old block is still alive. In WebAssembly the linear memory
//! never shrinks, so each doubling leaves the old blocks behind as resident memory: a Flat store
//! of 20k × 384 vectors (29 MiB) held 47 MiB of capacity and grew the wasm memory by 96 MiB
//! (`bench/memory.mjs`). Here only the first segment grows (geometrically, so a small store stays
//! small); every later one is allocated once at its full size, so at most one segment's worth of
//! rows is ever unused, and nothing is copied on growth. Segments hold a power of two of at
//! least [`SEGMENT_ALIGN_ROWS`] rows, so a scan in blocks of that many rows never straddles two
//! and finding a row is a shift and a mask.

/// Rows per segment are a power of two, at least this many (the flat scan's block).
pub const SEGMENT_ALIGN_ROWS: usize = 256;

/// Target bytes per segment: small against a store's size, large against allocation overhead.
const SEGMENT_TARGET_BYTES: usize = 1 << 20;

/// One segment's storage: a buffer aligned to 64 bytes (a cache line, and so every 16-byte SIMD
/// load of a row whose byte width is a multiple of 16 is aligned). A `Vec<T>` is only aligned to
/// `T` (4 bytes for `f32`), and the allocator hands large blocks back at 8 mod 16: with 768 KiB
/// segments that way, Flat searched 12% slower than from one large `Vec` (geomean of both load
/// orders of `bench/build-compare.mjs`, 9 rounds: ×0.898 and ×0.858); aligned, ×1.002.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// Elements a segment can hold: plain numbers, for which all-zero bytes are a valid value.
pub trait Element: Copy + Default + private::Sealed {}
impl Element for f32 {}
impl Element for u32 {}
impl Element for u8 {}
mod private {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for u32 {}
    impl Sealed for u8 {}
}

#[derive(Clone)]
struct Segment<T> {
    /// Zero-initialised lines covering at least `len` elements.
    lines: Vec<Line>,
    len: usize,
    _element: std::marker::PhantomData<T>,
}

impl<T: Element> Segment<T> {
    const PER_LINE: usize = 64 / std::mem::size_of::<T>();

    fn with_capacity(elements: usize) -> Self {
        Segment {
            lines: Vec::with_capacity(elements.div_ceil(Self::PER_LINE)),
            len: 0,
            _element: std::marker::PhantomData,
        }
    }

    fn capacity(&self) -> usize {
        self.lines.capacity() * Self::PER_LINE
    }

    fn capacity_bytes(&self) -> usize {
        self.lines.capacity() * 64
    }

    fn len(&self) -> usize {
        self.len
    }

    /// Sets the length to `len`: new elements are `T::default()` (zero).
    fn resize(&mut self, len: usize) {
        let lines = len.div_ceil(Self::PER_LINE);
        if lines > self.lines.len() {
            self.lines.resize(lines, Line([0; 64]));
        }
        if len > self.len {
            let old = self.len;
            self.len = len;
            self.as_mut_slice()[old..].fill(T::default());
        } else {
            self.len = len;
            self.lines.truncate(lines);
        }
    }

    fn extend_from_slice(&mut self, values: &[T]) {
        let start = self.len;
        let lines = (start + values.len()).div_ceil(Self::PER_LINE);
        if lines > self.lines.len() {
            self.lines.resize(lines, Line([0; 64]));
        }
        self.len = start + values.len();
        self.as_mut_slice()[start..].copy_from_slice(values);
    }

    #[inline(always)]
    fn as_slice(&self) -> &[T] {
        // SAFETY: `lines` holds at least `len` elements' bytes, all initialised (zeroed, then
        // written through `as_mut_slice`); `T` is a plain number (the sealed `Element`), valid
        // for any bytes, with an alignment that divides the lines' 64.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<T>(), self.len) }
    }

    #[inline(always)]
    fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the view unique.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<T>(), self.len) }
    }
}

/// Rows of `width` elements of `T` each, stored in segments.
#[derive(Clone)]
pub struct RowArena<T> {
    width: usize,
    segment_rows: usize,
    segment_shift: u32,
    segments: Vec<Segment<T>>,
    rows: usize,
}

impl<T> std::fmt::Debug for RowArena<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowArena")
            .field("width", &self.width)
            .field("rows", &self.rows)
            .field("segments", &self.segments.len())
            .finish()
    }
}

impl<T: Element> RowArena<T> {
    /// An empty arena of rows of `width` elements (`width` ≥ 1).
    pub fn new(width: usize) -> Self {
        let width = width.max(1);
        let fit = SEGMENT_TARGET_BYTES / (width * std::mem::size_of::<T>()).max(1);
        let segment_rows = if fit >= SEGMENT_ALIGN_ROWS {
            1usize << fit.ilog2()
        } else {
            SEGMENT_ALIGN_ROWS
        };
        RowArena {
            width,
            segment_rows,
            segment_shift: segment_rows.trailing_zeros(),
            segments: Vec::new(),
            rows: 0,
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Rows per full segment.
    pub fn segment_rows(&self) -> usize {
        self.segment_rows
    }

    /// Bytes allocated (every segment's capacity).
    pub fn capacity_bytes(&self) -> usize {
        self.segments.iter().map(Segment::capacity_bytes).sum()
    }

    /// Row `row` (< `len()`).
    #[inline(always)]
    pub fn row(&self, row: usize) -> &[T] {
        let (segment, offset) = (row >> self.segment_shift, row & (self.segment_rows - 1));
        &self.segments[segment].as_slice()[offset * self.width..(offset + 1) * self.width]
    }

    /// Makes room for `additional` more rows now, so that a batch allocates once: the first
    /// segment is reserved exactly up to what it will hold, later ones at their full size.
    pub fn reserve(&mut self, additional: usize) {
        // One implementation for both (the `.wasm` keeps one copy): out of memory aborts, as
        // a `Vec` would.
        if self.try_reserve(additional).is_err() {
            std::process::abort();
        }
    }

    /// [`RowArena::reserve`] that reports an allocation the memory cannot satisfy instead of
    /// aborting (for sizes taken from a file).
    pub fn try_reserve(
        &mut self,
        additional: usize,
    ) -> Result<(), std::collections::TryReserveError> {
        let segment_len = self.segment_rows * self.width;
        let target = self.rows.saturating_add(additional);
        let segments_needed = target.div_ceil(self.segment_rows);
        if self.segments.is_empty() && segments_needed > 0 {
            self.segments.push(Segment::with_capacity(0));
        }
        if let Some(first) = self.segments.first_mut() {
            let want = target.min(self.segment_rows) * self.width;
            if first.capacity() < want {
                // Geometric, capped at the segment size: a store that grows a row at a time
                // does not reallocate the first segment per row.
                let grown = (first.capacity() * 2).clamp(want, segment_len);
                let lines = grown.div_ceil(Segment::<T>::PER_LINE);
                first.lines.try_reserve_exact(lines - first.lines.len())?;
            }
        }
        self.segments
            .try_reserve(segments_needed.saturating_sub(self.segments.len()))?;
        while self.segments.len() < segments_needed {
            let mut lines = Vec::new();
            lines.try_reserve_exact(segment_len.div_ceil(Segment::<T>::PER_LINE))?;
            self.segments.push(Segment {
                lines,
                len: 0,
                _element: std::marker::PhantomData,
            });
        }
        Ok(())
    }

    /// Appends rows whose every element is `value` until the arena holds `rows` rows (nothing
    /// if it already holds as many). Fails, changing nothing visible, if memory runs out.
    pub fn try_grow_to(
        &mut self,
        rows: usize,
        value: T,
    ) -> Result<(), std::collections::TryReserveError> {
        if rows <= self.rows {
            return Ok(());
        }
        self.try_reserve(rows - self.rows)?;
        while self.rows < rows {
            let segment = &mut self.segments[self.rows >> self.segment_shift];
            let room = self.segment_rows - (self.rows & (self.segment_rows - 1));
            let take = room.min(rows - self.rows);
            let start = segment.len();
            segment.resize(start + take * self.width);
            segment.as_mut_slice()[start..].fill(value);
            self.rows += take;
        }
        Ok(())
    }

    /// Rows `first..first + count` as one slice: they must lie in one segment (true of any
    /// aligned block of a divisor of the segment size, as in [`RowArena::for_each_block`]).
    #[inline(always)]
    pub fn run(&self, first: usize, count: usize) -> &[T] {
        let (segment, offset) = (first >> self.segment_shift, first & (self.segment_rows - 1));
        debug_assert!(offset + count <= self.segment_rows);
        &self.segments[segment].as_slice()[offset * self.width..(offset + count) * self.width]
    }

    /// Row `row` (< `len()`), writable.
    #[inline(always)]
    pub fn row_mut(&mut self, row: usize) -> &mut [T] {
        let (segment, offset) = (row >> self.segment_shift, row & (self.segment_rows - 1));
        let width = self.width;
        &mut self.segments[segment].as_mut_slice()[offset * width..(offset + 1) * width]
    }

    /// Appends rows (`values.len()` a multiple of the width).
    pub fn extend(&mut self, values: &[T]) {
        debug_assert_eq!(values.len() % self.width, 0);
        let added = values.len() / self.width;
        self.reserve(added);
        let mut rest = values;
        while !rest.is_empty() {
            let segment = self.rows / self.segment_rows;
            let room = self.segment_rows - self.rows % self.segment_rows;
            let take = room.min(rest.len() / self.width);
            self.segments[segment].extend_from_slice(&rest[..take * self.width]);
            self.rows += take;
            rest = &rest[take * self.width..];
        }
    }

    /// Copies row `from` over row `to`.
    pub fn copy_row(&mut self, from: usize, to: usize) {
        if from == to {
            return;
        }
        let width = self.width;
        let (fs, fo) = (from / self.segment_rows, from % self.segment_rows);
        let (ts, to_) = (to / self.segment_rows, to % self.segment_rows);
        if fs == ts {
            self.segments[fs]
                .as_mut_slice()
                .copy_within(fo * width..(fo + 1) * width, to_ * width);
        } else {
            let (low, high) = self.segments.split_at_mut(fs.max(ts));
            let (src, dst) = if fs < ts {
                (&low[fs], &mut high[0])
            } else {
                (&high[0], &mut low[ts])
            };
            dst.as_mut_slice()[to_ * width..(to_ + 1) * width]
                .copy_from_slice(&src.as_slice()[fo * width..(fo + 1) * width]);
        }
    }

    /// Drops the last row. Segments left empty are freed, except the first.
    pub fn pop(&mut self) {
        if self.rows == 0 {
            return;
        }
        self.rows -= 1;
        let segment = self.rows / self.segment_rows;
        let offset = self.rows % self.segment_rows;
        self.segments[segment].resize(offset * self.width);
        if offset == 0 && segment > 0 {
            // Keep one empty segment beyond the last row as slack, so that a delete followed by
            // an add at a segment boundary does not free and allocate a segment each time.
            self.segments.truncate(segment + 1);
        }
    }

    /// Calls `visit(first_row, rows)` for contiguous runs of at most `block_rows` rows (a
    /// divisor of the segment size, such as [`SEGMENT_ALIGN_ROWS`]), in row order. A loop, not an
    /// iterator: at the size-optimised level a `flat_map` in the scan cost Flat 18% of its QPS.
    #[inline(always)]
    pub fn for_each_block(&self, block_rows: usize, mut visit: impl FnMut(usize, &[T])) {
        debug_assert_eq!(self.segment_rows % block_rows, 0);
        let block_len = block_rows * self.width;
        for (s, segment) in self.segments.iter().enumerate() {
            let mut first_row = s << self.segment_shift;
            for block in segment.as_slice().chunks(block_len) {
                visit(first_row, block);
                first_row += block_rows;
            }
        }
    }

    /// Every row in order, as the contiguous slices of the segments.
    pub fn segments(&self) -> impl Iterator<Item = &[T]> + '_ {
        self.segments
            .iter()
            .map(Segment::as_slice)
            .filter(|s| !s.is_empty())
    }

    /// Builds an arena of `rows` rows, each segment filled in turn by `fill`, which is handed a
    /// zeroed slice of whole rows to overwrite (how a snapshot is read without a second copy).
    pub fn fill_from<E>(
        width: usize,
        rows: usize,
        mut fill: impl FnMut(&mut [T]) -> Result<(), E>,
    ) -> Result<Self, E> {
        let mut arena = RowArena::new(width);
        arena.reserve(rows);
        let mut left = rows;
        for segment in &mut arena.segments {
            let take = left.min(arena.segment_rows);
            segment.resize(take * arena.width);
            fill(segment.as_mut_slice())?;
            left -= take;
        }
        arena.rows = rows;
        Ok(arena)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(arena: &RowArena<f32>) -> Vec<Vec<f32>> {
        (0..arena.len()).map(|r| arena.row(r).to_vec()).collect()
    }

    #[test]
    fn matches_a_vec_of_rows_through_adds_and_swap_removes() {
        // Width 1024 f32: 256 rows per segment, so 1000 rows span four segments.
        let width = 1024;
        let mut arena = RowArena::<f32>::new(width);
        assert_eq!(arena.segment_rows(), 256);
        let mut model: Vec<Vec<f32>> = Vec::new();
        let row = |i: usize| (0..width).map(|c| (i * 7 + c) as f32).collect::<Vec<_>>();
        for batch in [1, 3, 250, 2, 500, 244] {
            let start = model.len();
            let values: Vec<f32> = (start..start + batch).flat_map(row).collect();
            arena.extend(&values);
            model.extend((start..start + batch).map(row));
        }
        assert_eq!(arena.len(), 1000);
        assert_eq!(rows_of(&arena), model);
        // Swap-remove as the flat index does, across segment boundaries.
        for victim in [0usize, 255, 256, 700, 3] {
            let last = arena.len() - 1;
            arena.copy_row(last, victim);
            arena.pop();
            model.swap_remove(victim);
            assert_eq!(rows_of(&arena), model);
        }
        let mut seen = 0;
        arena.for_each_block(SEGMENT_ALIGN_ROWS, |start, block| {
            assert_eq!(start, seen);
            for (i, r) in block.chunks(width).enumerate() {
                assert_eq!(r, model[start + i].as_slice());
            }
            seen += block.len() / width;
        });
        assert_eq!(seen, model.len());
    }

    #[test]
    fn growth_never_holds_more_than_one_spare_segment() {
        let width = 384;
        let mut arena = RowArena::<f32>::new(width);
        let segment_bytes = arena.segment_rows() * width * 4;
        let values = vec![0.5f32; width * 1000];
        for _ in 0..60 {
            arena.extend(&values);
            let used = arena.len() * width * 4;
            assert!(
                arena.capacity_bytes() <= used + segment_bytes,
                "{} vs {used}",
                arena.capacity_bytes()
            );
        }
        // A small store stays small: one row takes one row's worth, not a segment.
        let mut small = RowArena::<f32>::new(width);
        small.extend(&values[..width]);
        assert_eq!(small.capacity_bytes(), width * 4);
    }

    #[test]
    fn fill_from_builds_full_segments_then_the_rest() {
        // Width 1024: 256 rows per segment, so 600 rows are two full segments and 88 rows.
        let width = 1024;
        let arena = RowArena::<f32>::fill_from(width, 600, |segment: &mut [f32]| {
            for (i, x) in segment.iter_mut().enumerate() {
                *x = (i / width) as f32;
            }
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(arena.len(), 600);
        assert_eq!(
            arena
                .segments()
                .map(|s| s.len() / width)
                .collect::<Vec<_>>(),
            [256, 256, 88]
        );
        for r in [0, 255, 256, 511, 512, 599] {
            assert!(
                arena.row(r).iter().all(|&x| x == (r % 256) as f32),
                "row {r}"
            );
        }
    }
}

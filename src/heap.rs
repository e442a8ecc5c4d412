//! Growing the heap ahead of a large decode.
//!
//! Decoding allocates a store piece by piece (an HNSW store's vectors are 256 KB pages), and
//! each time the allocator runs out it grows the wasm memory: hundreds of `memory.grow` calls
//! for a large store. In V8 each one costs milliseconds (it re-creates the memory's
//! `ArrayBuffer` and reports external memory, which triggers garbage collections): they made
//! the first open of a 100k × 384 HNSW store in a fresh instance ~1 s slower than later opens.
//! Allocating the total once and freeing it leaves the memory in the allocator's free space,
//! where the decoded pieces then fit. Opening an already grown instance is unaffected.

/// Allocates ~1.1 × `bytes` once and frees it; with `touch`, also writes one byte per 4 KiB
/// page so the operating system maps the pages now rather than during decoding.
pub fn reserve(bytes: f64, touch: bool) {
    // Native allocators map memory lazily and never pay for growing it: nothing to do there.
    if !cfg!(target_arch = "wasm32") {
        return;
    }
    // Bounded by the address space: a failed reservation just leaves the growing to decoding.
    let bytes = (bytes * 1.1).min((u32::MAX / 2) as f64) as usize;
    let mut reserve: Vec<u8> = Vec::new();
    if reserve.try_reserve_exact(bytes).is_ok() && touch {
        for page in reserve.spare_capacity_mut().chunks_mut(4096) {
            page[0].write(0);
        }
        // Keep the writes: the optimizer may not drop them as dead stores to freed memory.
        std::hint::black_box(&mut reserve);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reserving_more_than_the_address_space_is_harmless() {
        // A no-op natively; in the wasm suites it allocates, touches and frees.
        super::reserve(4096.0, true);
        super::reserve(f64::MAX, false);
    }
}

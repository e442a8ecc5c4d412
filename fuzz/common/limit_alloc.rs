//! libFuzzer's `-malloc_limit_mb` works through a sanitizer's malloc hooks only. The targets run
//! without a sanitizer (`cargo fuzz run -s none`, about 6x faster than AddressSanitizer here;
//! see docs/reliability.md), so this global allocator enforces the same limit: a single
//! allocation of `MALLOC_LIMIT_MB` or more aborts (libFuzzer reports a deadly signal and saves
//! the input), exactly the allocations libFuzzer's hook refuses. Total memory stays bounded by
//! `-rss_limit_mb`, which libFuzzer checks from its own thread with or without a sanitizer.

use std::alloc::{GlobalAlloc, Layout, System};

/// Equals the `-malloc_limit_mb` that scripts/fuzz.sh passes.
pub const MALLOC_LIMIT_MB: usize = 256;

pub struct LimitedAlloc;

fn check(size: usize) {
    if size >> 20 >= MALLOC_LIMIT_MB {
        // No allocation on this path: a static message, then abort (never unwind from here).
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"==quiver-fuzz== ERROR: out-of-memory: one allocation reached -malloc_limit_mb\n",
        );
        std::process::abort();
    }
}

// SAFETY: every call is forwarded unchanged to `System`, after a size check that only aborts.
unsafe impl GlobalAlloc for LimitedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

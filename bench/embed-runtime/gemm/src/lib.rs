//! C[m×n] = A[m×k] · B[k×n], row-major, f32, with B pre-packed into panels of 8 columns
//! (`pack_b`), computed in 4×8 register blocks with wasm SIMD128 (8 f32x4 accumulators).
//! Single-threaded, like every wasm runtime without cross-origin isolation.
#![no_std]

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::*;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

const NR: usize = 8;
const MR: usize = 4;

static mut HEAP: [u8; 64 << 20] = [0; 64 << 20];
static mut NEXT: usize = 0;

/// A bump allocator for the benchmark's buffers (returns an offset into linear memory).
#[no_mangle]
pub unsafe extern "C" fn alloc(bytes: usize) -> *mut f32 {
    let at = (NEXT + 15) & !15;
    NEXT = at + bytes;
    (core::ptr::addr_of_mut!(HEAP) as *mut u8).add(at) as *mut f32
}

/// Packs B[k×n] (n a multiple of 8) into panels: for each 8-column panel, k rows of 8 floats.
#[no_mangle]
pub unsafe extern "C" fn pack_b(b: *const f32, packed: *mut f32, k: usize, n: usize) {
    for panel in 0..n / NR {
        for row in 0..k {
            for j in 0..NR {
                *packed.add((panel * k + row) * NR + j) = *b.add(row * n + panel * NR + j);
            }
        }
    }
}

/// C = A · B with B packed by `pack_b`; m a multiple of 4, n of 8.
#[no_mangle]
pub unsafe extern "C" fn gemm(a: *const f32, packed: *const f32, c: *mut f32, m: usize, k: usize, n: usize) {
    for panel in 0..n / NR {
        let bp = packed.add(panel * k * NR);
        let mut i = 0;
        while i < m {
            let mut acc = [f32x4_splat(0.0); 8];
            for p in 0..k {
                let b0 = v128_load(bp.add(p * NR) as *const v128);
                let b1 = v128_load(bp.add(p * NR + 4) as *const v128);
                for r in 0..MR {
                    let av = f32x4_splat(*a.add((i + r) * k + p));
                    acc[2 * r] = f32x4_add(acc[2 * r], f32x4_mul(av, b0));
                    acc[2 * r + 1] = f32x4_add(acc[2 * r + 1], f32x4_mul(av, b1));
                }
            }
            for r in 0..MR {
                let out = c.add((i + r) * n + panel * NR);
                v128_store(out as *mut v128, acc[2 * r]);
                v128_store(out.add(4) as *mut v128, acc[2 * r + 1]);
            }
            i += MR;
        }
    }
}

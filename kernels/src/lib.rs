//! Quiver's distance kernels: pure functions over slices, with no dependency.
//!
//! Raw f32 kernels (`dot`, `l2_squared`, their four-row and four-query forms, `axpy`) live in
//! [`scalar`] (always compiled, the test oracle) and `simd128` (wasm32 with `+simd128`); the
//! kernels over quantized codes are in [`quantized`]. The choice is made once, at compile time,
//! as [`selected`]: WebAssembly has no run-time feature detection. Building with
//! `-C target-feature=-simd128` gives the scalar twin the benchmarks compare against.
//!
//! **Why a crate of their own.** The package is built for size (`opt-level = "z"`), and these
//! loops are where searches spend their time; the release profile builds this crate for speed
//! (`[profile.release.package.quiver-kernels]` in the root `Cargo.toml`). That only holds for
//! code generated *in this crate*, so the kernels here are deliberately not `#[inline]`: an
//! `#[inline]` or generic function is compiled in the crate that calls it, at that crate's
//! opt-level. A call per kernel invocation (hundreds of multiply-adds) costs nothing measurable.

pub mod quantized;
pub mod scalar;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;

/// The build's f32 kernels.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd128 as selected;

/// The build's f32 kernels.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub use scalar as selected;

/// True when this build uses the SIMD128 kernels.
pub const SIMD128: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

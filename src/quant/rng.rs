//! The crate's seeded randomness for every training step: `rand_xoshiro`'s SplitMix64 (Steele,
//! Lea & Flood 2014), seeded from the store's `seed`. It is identical on every target, so the
//! same seed gives the same centroids natively and in WebAssembly, and it never draws from the
//! operating system (`getrandom` is not a dependency).
//!
//! What stays here is the two ways the crate samples from the stream, which `rand`'s own
//! distributions would do differently (and with more code in the `.wasm`).

pub use rand_core::{RngCore, SeedableRng};
pub use rand_xoshiro::SplitMix64;

/// A generator seeded with `seed`.
pub fn seeded(seed: u64) -> SplitMix64 {
    SplitMix64::seed_from_u64(seed)
}

/// Sampling over any seeded stream.
pub trait Sample: RngCore {
    /// Uniform in `[0, n)` (Lemire's multiply-shift; `n` must be positive). The bias is below
    /// `n / 2⁶⁴`, far under anything sampling can notice.
    #[inline]
    fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    #[inline]
    fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A generator for an independent sub-task (for example one PQ sub-space), seeded from the
    /// next value of this stream.
    fn fork(&mut self) -> SplitMix64 {
        seeded(self.next_u64())
    }
}

impl<R: RngCore> Sample for R {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_bounded() {
        let mut a = seeded(42);
        let mut b = seeded(42);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let x = a.below(7);
            assert_eq!(x, b.below(7));
            assert!(x < 7);
            let u = a.unit_f64();
            assert_eq!(u, b.unit_f64());
            assert!((0.0..1.0).contains(&u));
        }
        let (mut first, mut second) = (a.fork(), a.fork());
        assert_ne!(first.next_u64(), second.next_u64());
    }

    /// The stream is the published SplitMix64 (the first outputs of Vigna's `splitmix64.c` for
    /// this seed), the same one the hand-written generator produced before the move to the
    /// crate: a seed samples training rows and k-means++ starts as it did.
    #[test]
    fn matches_the_reference_splitmix64() {
        let mut rng = seeded(1_477_776_061_723_855_037);
        let expected = [
            1_985_237_415_132_408_290u64,
            2_979_275_885_539_914_483,
            13_511_426_838_097_143_398,
            8_488_337_342_461_049_707,
            15_141_737_807_933_549_159,
        ];
        for value in expected {
            assert_eq!(rng.next_u64(), value);
        }
    }
}

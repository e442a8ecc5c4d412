//! SplitMix64 (Steele, Lea & Flood 2014): the crate's seeded generator for every randomized
//! training step. Tiny, fast, statistically fine for sampling, and identical on every target,
//! so the same seed gives the same centroids natively and in WebAssembly.

/// A seeded SplitMix64 stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)` (Lemire's multiply-shift; `n` must be positive). The bias is below
    /// `n / 2⁶⁴`, far under anything sampling can notice.
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    #[inline]
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A generator for an independent sub-task (for example one PQ sub-space), derived so that
    /// streams for different `index` values do not overlap in practice.
    pub fn fork(&self, index: u64) -> SplitMix64 {
        let mut mixer = SplitMix64::new(self.state ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        SplitMix64::new(mixer.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_bounded() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let x = a.below(7);
            assert_eq!(x, b.below(7));
            assert!(x < 7);
            let u = a.unit_f64();
            assert_eq!(u, b.unit_f64());
            assert!((0.0..1.0).contains(&u));
        }
        assert_ne!(a.fork(1).next_u64(), a.fork(2).next_u64());
    }
}

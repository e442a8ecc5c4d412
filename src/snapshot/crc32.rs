//! CRC-32 (IEEE 802.3, reflected polynomial `0xEDB88320`), the checksum of every chunk.
//!
//! Slice-by-16: sixteen 256-entry tables, so the inner loop folds sixteen bytes per step (many
//! times faster than byte-at-a-time, which matters when a 170 MB store is checked on open; in
//! wasm ~1.3× faster than slice-by-8, measured in `bench/README.md`). The tables are built once
//! at run time rather than baked into the binary, which keeps 16 KB of incompressible constants
//! out of the `.wasm`. CRC-32 detects every single-bit error and
//! every burst of up to 32 bits, which is what the corruption tests rely on.

use std::sync::OnceLock;

const POLY: u32 = 0xEDB8_8320;

const SLICES: usize = 16;

fn tables() -> &'static [[u32; 256]; SLICES] {
    static TABLES: OnceLock<Box<[[u32; 256]; SLICES]>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Box::new([[0u32; 256]; SLICES]);
        for i in 0..256u32 {
            let mut c = i;
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            }
            t[0][i as usize] = c;
        }
        for i in 0..256 {
            for k in 1..SLICES {
                let prev = t[k - 1][i];
                t[k][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            }
        }
        t
    })
}

/// A running CRC-32 over several slices.
#[derive(Debug, Clone, Copy)]
pub struct Crc32 {
    state: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        Crc32::new()
    }
}

impl Crc32 {
    pub fn new() -> Self {
        Crc32 { state: !0 }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        let t = tables();
        let mut c = self.state;
        let mut blocks = bytes.chunks_exact(16);
        for b in &mut blocks {
            let w0 = c ^ u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let w1 = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            let w2 = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
            let w3 = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
            c = t[15][(w0 & 0xFF) as usize]
                ^ t[14][((w0 >> 8) & 0xFF) as usize]
                ^ t[13][((w0 >> 16) & 0xFF) as usize]
                ^ t[12][(w0 >> 24) as usize]
                ^ t[11][(w1 & 0xFF) as usize]
                ^ t[10][((w1 >> 8) & 0xFF) as usize]
                ^ t[9][((w1 >> 16) & 0xFF) as usize]
                ^ t[8][(w1 >> 24) as usize]
                ^ t[7][(w2 & 0xFF) as usize]
                ^ t[6][((w2 >> 8) & 0xFF) as usize]
                ^ t[5][((w2 >> 16) & 0xFF) as usize]
                ^ t[4][(w2 >> 24) as usize]
                ^ t[3][(w3 & 0xFF) as usize]
                ^ t[2][((w3 >> 8) & 0xFF) as usize]
                ^ t[1][((w3 >> 16) & 0xFF) as usize]
                ^ t[0][(w3 >> 24) as usize];
        }
        for &b in blocks.remainder() {
            c = (c >> 8) ^ t[0][((c ^ b as u32) & 0xFF) as usize];
        }
        self.state = c;
    }

    pub fn finish(self) -> u32 {
        !self.state
    }
}

/// CRC-32 of one slice.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(bytes);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitwise(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            }
        }
        !c
    }

    #[test]
    fn known_vectors() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn slice_by_16_matches_bitwise_at_every_length_and_split() {
        let data: Vec<u8> = (0..300u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in 0..data.len() {
            assert_eq!(crc32(&data[..len]), bitwise(&data[..len]), "len {len}");
        }
        for split in 0..data.len() {
            let mut c = Crc32::new();
            c.update(&data[..split]);
            c.update(&data[split..]);
            assert_eq!(c.finish(), bitwise(&data), "split {split}");
        }
    }

    /// The well-kept crate is the oracle: the on-disk checksum is the crate's IEEE CRC-32 on
    /// seeded random inputs of every size class, fed in random pieces (see
    /// `docs/dependencies.md` for why the package does not ship the crate itself).
    #[test]
    fn matches_crc32fast_on_random_inputs() {
        use crate::quant::{seeded, RngCore, Sample};
        let mut rng = seeded(0xC3C3);
        for round in 0..200 {
            let len = match round % 4 {
                0 => rng.below(16),
                1 => rng.below(300),
                2 => rng.below(5000),
                _ => rng.below(70_000),
            };
            let mut data = vec![0u8; len];
            rng.fill_bytes(&mut data);
            let mut ours = Crc32::new();
            let mut theirs = crc32fast::Hasher::new();
            let mut rest = &data[..];
            while !rest.is_empty() {
                let (piece, tail) = rest.split_at(rng.below(rest.len()) + 1);
                ours.update(piece);
                theirs.update(piece);
                rest = tail;
            }
            assert_eq!(ours.finish(), theirs.finalize(), "length {len}");
            assert_eq!(crc32(&data), crc32fast::hash(&data), "length {len}");
        }
    }
}

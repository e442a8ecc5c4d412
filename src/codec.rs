//! The wire codec: little-endian primitives behind the [`Write`] and [`Read`] traits, the
//! bounds-checked [`Cursor`] over one payload, and the error helpers every decoder shares.
//! It depends on nothing above the error type, so kernels' neighbours (quantizers, index
//! families) encode themselves through it without knowing the snapshot format that carries
//! their bytes (`crate::snapshot` cuts the stream into checked chunks).
//!
//! The reading rule that keeps decoding safe on hostile input: a count read from the input is
//! multiplied (in `u64`, with `checked_mul`) by the least number of bytes each counted thing
//! occupies, and must not exceed the bytes remaining, *before* anything is allocated for it.
//! So decoding `b` bytes never allocates more than a constant factor of `b`.

use crate::error::{Error, Result};

/// A four-character tag as text for messages (non-printable bytes as `?`).
pub fn tag_name(tag: [u8; 4]) -> String {
    tag.iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
        .collect()
}

pub(crate) fn corrupt(what: impl Into<String>) -> Error {
    Error::Corrupt { what: what.into() }
}

/// `Corrupt { what: "<what>: <problem>" }`, assembled in this one place rather than by a
/// `format!` at every call site (which costs code size in the `.wasm`).
#[cold]
#[inline(never)]
pub(crate) fn corrupt_at(what: &str, problem: &str) -> Error {
    Error::Corrupt {
        what: [what, ": ", problem].concat(),
    }
}

/// Primitive writes, shared by the section writer and plain byte buffers.
pub trait Write {
    fn raw(&mut self, bytes: &[u8]);

    fn u8(&mut self, v: u8) {
        self.raw(&[v]);
    }
    fn u16(&mut self, v: u16) {
        self.raw(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.raw(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.raw(&v.to_le_bytes());
    }
    fn f32(&mut self, v: f32) {
        self.raw(&v.to_le_bytes());
    }
    fn tag(&mut self, tag: [u8; 4]) {
        self.raw(&tag);
    }
    /// A `u32` length, then the bytes.
    fn bytes(&mut self, bytes: &[u8]) {
        self.u32(bytes.len() as u32);
        self.raw(bytes);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    /// A family's four-character tag and its own layout version, first in its section.
    fn family_header(&mut self, tag: [u8; 4], version: u32) {
        self.tag(tag);
        self.u32(version);
    }
    /// Many `f32`s, little-endian, without a length (write the count first).
    fn f32s(&mut self, values: &[f32]) {
        let mut block = [0u8; 4096];
        for part in values.chunks(1024) {
            for (out, v) in block.chunks_exact_mut(4).zip(part) {
                out.copy_from_slice(&v.to_le_bytes());
            }
            self.raw(&block[..part.len() * 4]);
        }
    }
    /// Many `u32`s, little-endian, without a length.
    fn u32s(&mut self, values: &[u32]) {
        let mut block = [0u8; 4096];
        for part in values.chunks(1024) {
            for (out, v) in block.chunks_exact_mut(4).zip(part) {
                out.copy_from_slice(&v.to_le_bytes());
            }
            self.raw(&block[..part.len() * 4]);
        }
    }
}

impl Write for Vec<u8> {
    fn raw(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Bounds-checked reads. Every read names what it reads, so an error says where decoding
/// stopped.
pub trait Read {
    /// Bytes left in the input.
    fn remaining(&self) -> u64;
    /// Fills `out` exactly, or fails without reading past the end.
    fn read_into(&mut self, out: &mut [u8], what: &str) -> Result<()>;

    /// Internal ids in this input are below this (a store's next internal id, read before its
    /// index): decoders refuse larger ones as corruption before sizing anything by them.
    fn id_limit(&self) -> u32 {
        u32::MAX
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        let mut b = [0u8; 1];
        self.read_into(&mut b, what)?;
        Ok(b[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        let mut b = [0u8; 2];
        self.read_into(&mut b, what)?;
        Ok(u16::from_le_bytes(b))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read_into(&mut b, what)?;
        Ok(u32::from_le_bytes(b))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read_into(&mut b, what)?;
        Ok(u64::from_le_bytes(b))
    }
    fn f32(&mut self, what: &str) -> Result<f32> {
        let mut b = [0u8; 4];
        self.read_into(&mut b, what)?;
        Ok(f32::from_le_bytes(b))
    }
    fn tag(&mut self, what: &str) -> Result<[u8; 4]> {
        let mut b = [0u8; 4];
        self.read_into(&mut b, what)?;
        Ok(b)
    }

    /// Checks that `count` things of at least `min_bytes_each` bytes can fit in what is left,
    /// and returns the count as a `usize`. Call before allocating for `count` things.
    fn check_count(&self, count: u64, min_bytes_each: u64, what: &str) -> Result<usize> {
        let needed = count
            .checked_mul(min_bytes_each.max(1))
            .ok_or_else(|| corrupt_at(what, "count overflows"))?;
        if needed > self.remaining() {
            return Err(corrupt_at(what, "count exceeds the bytes left"));
        }
        usize::try_from(count).map_err(|_| corrupt_at(what, "count too large"))
    }

    /// A `u64` count, checked with [`Read::check_count`].
    fn count(&mut self, min_bytes_each: u64, what: &str) -> Result<usize> {
        let count = self.u64(what)?;
        self.check_count(count, min_bytes_each, what)
    }

    /// A `u32`-length-prefixed byte string of at most `max` bytes.
    fn bytes(&mut self, max: usize, what: &str) -> Result<Vec<u8>> {
        let len = self.u32(what)? as u64;
        if len > max as u64 {
            return Err(corrupt_at(what, "length above its limit"));
        }
        let len = self.check_count(len, 1, what)?;
        let mut out = vec![0u8; len];
        self.read_into(&mut out, what)?;
        Ok(out)
    }

    /// A length-prefixed UTF-8 string of at most `max` bytes.
    fn str(&mut self, max: usize, what: &str) -> Result<String> {
        let bytes = self.bytes(max, what)?;
        String::from_utf8(bytes).map_err(|_| corrupt_at(what, "not UTF-8"))
    }

    /// A family's tag and layout version; fails unless the tag matches and the version is
    /// between 1 and `newest`.
    fn family_header(&mut self, tag: [u8; 4], newest: u32) -> Result<u32> {
        let found = self.tag("family tag")?;
        if found != tag {
            return Err(corrupt_at(
                &tag_name(tag),
                "the index section holds another family",
            ));
        }
        let version = self.u32("family version")?;
        if version > newest {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: newest,
            });
        }
        if version == 0 {
            return Err(corrupt_at(&tag_name(tag), "layout version 0"));
        }
        Ok(version)
    }

    /// `count` little-endian `f32`s (count checked against the bytes left first).
    fn f32s(&mut self, count: u64, what: &str) -> Result<Vec<f32>> {
        words(self, count, what)
    }

    /// `out.len()` little-endian `f32`s into `out` (how a segmented arena reads its rows).
    fn f32s_into(&mut self, out: &mut [f32], what: &str) -> Result<()> {
        self.check_count(out.len() as u64, 4, what)?;
        words_into(self, out, what)
    }

    /// `count` little-endian `u32`s.
    fn u32s(&mut self, count: u64, what: &str) -> Result<Vec<u32>> {
        words(self, count, what)
    }

    /// `out.len()` little-endian `u32`s into `out`.
    fn u32s_into(&mut self, out: &mut [u32], what: &str) -> Result<()> {
        self.check_count(out.len() as u64, 4, what)?;
        words_into(self, out, what)
    }

    /// Between 1 and `max` of the next bytes (what is contiguous in the input), borrowed, so
    /// bulk reads convert straight from the input without an intermediate copy.
    fn next_slice(&mut self, max: usize, what: &str) -> Result<&[u8]>;
}

/// An element of stored codes (`f32` for raw vectors, `u8` for SQ8/PQ/binary codes): how a
/// family writes and reads an arena of them without caring which it is.
pub trait CodeElement: Sized {
    fn write_all(values: &[Self], out: &mut dyn Write);
    fn read_all(count: u64, input: &mut dyn Read, what: &str) -> Result<Vec<Self>>;
}

impl CodeElement for f32 {
    fn write_all(values: &[f32], out: &mut dyn Write) {
        out.f32s(values);
    }
    fn read_all(count: u64, input: &mut dyn Read, what: &str) -> Result<Vec<f32>> {
        input.f32s(count, what)
    }
}

impl CodeElement for u8 {
    fn write_all(values: &[u8], out: &mut dyn Write) {
        out.raw(values);
    }
    fn read_all(count: u64, input: &mut dyn Read, what: &str) -> Result<Vec<u8>> {
        let count = input.check_count(count, 1, what)?;
        let mut out = vec![0u8; count];
        input.read_into(&mut out, what)?;
        Ok(out)
    }
}

/// `count` 4-byte words converted straight from the input's slices; a word split across two
/// chunks goes through a small buffer.
/// A 4-byte value stored little-endian in bulk arrays: `f32` or `u32`. Every bit pattern is a
/// valid value and there is no padding, which is what lets [`words`] read them as bytes.
trait Word: Copy + Default {
    /// From a value whose bytes were read little-endian (a no-op on little-endian targets).
    fn swap_from_le(self) -> Self;
}

impl Word for f32 {
    fn swap_from_le(self) -> Self {
        f32::from_bits(u32::from_le(self.to_bits()))
    }
}

impl Word for u32 {
    fn swap_from_le(self) -> Self {
        u32::from_le(self)
    }
}

/// Reads `count` words straight into their vector: one copy per chunk (a `memcpy`), instead of
/// converting four bytes at a time, which the size-optimised build does not vectorise (the
/// vectors of a 100k × 384 store took ~55 ms to convert in wasm, ~15 ms to copy).
fn words<R: Read + ?Sized, T: Word>(r: &mut R, count: u64, what: &str) -> Result<Vec<T>> {
    let count = r.check_count(count, 4, what)?;
    let mut out = vec![T::default(); count];
    words_into(r, &mut out, what)?;
    Ok(out)
}

/// Reads `out.len()` words into `out` (the count already checked by the caller).
fn words_into<R: Read + ?Sized, T: Word>(r: &mut R, out: &mut [T], what: &str) -> Result<()> {
    // SAFETY: `T` is `f32` or `u32` (the private `Word` trait): four bytes, no padding, every
    // bit pattern valid, so any bytes written through this view leave valid values; `u8` has
    // alignment 1, and the view spans exactly the slice's `len * 4` initialised bytes.
    let bytes =
        unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), out.len() * 4) };
    r.read_into(bytes, what)?;
    if cfg!(target_endian = "big") {
        for w in out.iter_mut() {
            *w = w.swap_from_le();
        }
    }
    Ok(())
}

/// Reads from one in-memory payload (the manifest, one log chunk).
pub struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    /// Fails unless every byte was read.
    pub fn finish(&self, what: &str) -> Result<()> {
        if self.pos != self.bytes.len() {
            return Err(corrupt_at(what, "unread trailing bytes"));
        }
        Ok(())
    }

    /// The next `n` bytes, borrowed.
    pub fn slice(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.bytes.len() - self.pos {
            return Err(corrupt_at(what, "input ends early"));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }
}

impl Read for Cursor<'_> {
    fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    fn next_slice(&mut self, max: usize, what: &str) -> Result<&[u8]> {
        let n = max.min(self.bytes.len() - self.pos);
        if n == 0 && max > 0 {
            return Err(corrupt_at(what, "input ends early"));
        }
        self.slice(n, what)
    }

    fn read_into(&mut self, out: &mut [u8], what: &str) -> Result<()> {
        let bytes = self.slice(out.len(), what)?;
        out.copy_from_slice(bytes);
        Ok(())
    }
}

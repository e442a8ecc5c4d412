//! [`Encoding`]: how an index stores each vector, raw or through one of the quantizers. It lives
//! with the quantizers (each reports its own), below the index families that combine it with a
//! structure (`crate::index::IndexSpec`), so quantizers need nothing from `crate::index`.

/// How each vector is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Full f32 vectors.
    Raw,
    /// 8-bit scalar quantization, one byte per dimension.
    Sq8,
    /// Product quantization with `m` sub-quantizers of 8 bits.
    Pq { m: usize },
    /// One sign bit per dimension.
    Binary,
}

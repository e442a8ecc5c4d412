//! Readers for the TEXMEX vector formats (`.fvecs`, `.ivecs`) used by tests and benchmarks.
//!
//! Each record is a little-endian `i32` dimension followed by that many 4-byte values. Parsing
//! is bounds-checked and returns [`Error::Corrupt`] on malformed input.

use crate::error::{Error, Result};

fn corrupt(what: impl Into<String>) -> Error {
    Error::Corrupt { what: what.into() }
}

/// Parses `.fvecs` bytes into `(dimension, row-major data)`.
pub fn parse_fvecs(bytes: &[u8]) -> Result<(usize, Vec<f32>)> {
    let (dim, words) = parse_records(bytes)?;
    Ok((dim, words.into_iter().map(f32::from_bits).collect()))
}

/// Parses `.ivecs` bytes into `(k, row-major data)`.
pub fn parse_ivecs(bytes: &[u8]) -> Result<(usize, Vec<i32>)> {
    let (dim, words) = parse_records(bytes)?;
    Ok((dim, words.into_iter().map(|w| w as i32).collect()))
}

fn parse_records(bytes: &[u8]) -> Result<(usize, Vec<u32>)> {
    if bytes.is_empty() {
        return Ok((0, Vec::new()));
    }
    let word = |at: usize| -> Result<u32> {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| corrupt(format!("record truncated at byte {at}")))
    };
    let dim = word(0)? as i32;
    if dim <= 0 || dim > 1 << 20 {
        return Err(corrupt(format!("record dimension {dim}")));
    }
    let dim = dim as usize;
    let record_bytes = 4 * (dim + 1);
    if bytes.len() % record_bytes != 0 {
        return Err(corrupt(format!(
            "{} bytes is not a whole number of {record_bytes}-byte records",
            bytes.len()
        )));
    }
    let mut out = Vec::with_capacity(bytes.len() / record_bytes * dim);
    for (r, record) in bytes.chunks_exact(record_bytes).enumerate() {
        let d = u32::from_le_bytes([record[0], record[1], record[2], record[3]]) as usize;
        if d != dim {
            return Err(corrupt(format!(
                "record {r} has dimension {d}, expected {dim}"
            )));
        }
        out.extend(
            record[4..]
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    Ok((dim, out))
}

/// Encodes row-major `f32` data as `.fvecs`.
pub fn write_fvecs(dim: usize, data: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / dim.max(1) * (dim + 1) * 4);
    for row in data.chunks_exact(dim) {
        out.extend_from_slice(&(dim as i32).to_le_bytes());
        for x in row {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

/// Encodes row-major `i32` data as `.ivecs`.
pub fn write_ivecs(dim: usize, data: &[i32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / dim.max(1) * (dim + 1) * 4);
    for row in data.chunks_exact(dim) {
        out.extend_from_slice(&(dim as i32).to_le_bytes());
        for x in row {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

/// Recall@k of `found` (ids per query) against ground truth rows of width `gt_k`: the fraction
/// of each query's true top-k found in its returned top-k, averaged over queries.
pub fn recall_at_k(found: &[Vec<u32>], truth: &[i32], gt_k: usize, k: usize) -> f64 {
    assert!(
        k <= gt_k,
        "ground truth has only {gt_k} neighbours per query"
    );
    let mut hits = 0usize;
    for (q, ids) in found.iter().enumerate() {
        let truth_row = &truth[q * gt_k..q * gt_k + k];
        hits += ids
            .iter()
            .take(k)
            .filter(|&&id| truth_row.contains(&(id as i32)))
            .count();
    }
    hits as f64 / (found.len() * k).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let bytes = write_fvecs(3, &data);
        assert_eq!(parse_fvecs(&bytes).unwrap(), (3, data.to_vec()));
        assert_eq!(
            parse_fvecs(&bytes[..bytes.len() - 1]).unwrap_err().code(),
            "corrupt"
        );
        let mut bad = bytes.clone();
        bad[16] = 9;
        assert_eq!(parse_fvecs(&bad).unwrap_err().code(), "corrupt");
    }
}

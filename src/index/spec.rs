//! Index spec strings: one string names a configuration, faiss `index_factory` style.
//!
//! Grammar (case-insensitive): `[STRUCTURE ","] ENCODING | STRUCTURE`, where
//! - STRUCTURE is `Flat`, `IVF{nlist}` or `HNSW{m}`;
//! - ENCODING is `Flat` (raw f32), `SQ8`, `PQ{m}` or `BIN`.
//!
//! Examples: `"Flat"`, `"IVF256"`, `"HNSW32"`, `"SQ8"`, `"PQ48"`, `"BIN"`, `"IVF256,PQ48"`,
//! `"HNSW16,SQ8"`. [`IndexSpec`]'s `Display` prints the canonical form, which parses back to
//! the same spec.
//!
//! Parsing accepts every combination of the grammar; [`super::build_index`] decides which are
//! built. Today: every structure over `Flat` and `SQ8`, `Flat` and `IVF` over `PQ{m}`, `Flat`
//! over `BIN`. The others (`HNSW{m},PQ{m}`, `HNSW{m},BIN`, `IVF{n},BIN`) are an
//! `invalid_spec` error from `build_index`.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// How vectors are organised for search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Structure {
    /// Exhaustive scan.
    Flat,
    /// Inverted file with `nlist` coarse centroids.
    Ivf { nlist: usize },
    /// Hierarchical navigable small world graph with `m` links per node (2m on layer 0).
    Hnsw { m: usize },
}

pub use crate::quant::Encoding;

/// A parsed index spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexSpec {
    pub structure: Structure,
    pub encoding: Encoding,
}

impl IndexSpec {
    pub const FLAT: IndexSpec = IndexSpec {
        structure: Structure::Flat,
        encoding: Encoding::Raw,
    };

    /// Whether the encoding loses information (search may need rerank for full accuracy).
    pub fn is_lossy(&self) -> bool {
        self.encoding != Encoding::Raw
    }
}

impl Default for IndexSpec {
    fn default() -> Self {
        IndexSpec::FLAT
    }
}

/// Largest `nlist`, `m` (HNSW) and `m` (PQ) a spec may name.
const MAX_NLIST: usize = 1 << 20;
const MAX_HNSW_M: usize = 256;
const MAX_PQ_M: usize = 4096;

fn invalid(spec: &str, reason: impl Into<String>) -> Error {
    Error::InvalidSpec {
        spec: spec.to_string(),
        reason: reason.into(),
    }
}

fn parse_count(spec: &str, part: &str, prefix_len: usize, max: usize) -> Result<usize, Error> {
    let digits = &part[prefix_len..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            spec,
            format!("`{part}` needs a positive number after its name"),
        ));
    }
    match digits.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(invalid(
            spec,
            format!("the number in `{part}` must be between 1 and {max}"),
        )),
    }
}

fn parse_structure(spec: &str, part: &str) -> Result<Option<Structure>, Error> {
    let upper = part.to_ascii_uppercase();
    Ok(Some(if upper == "FLAT" {
        Structure::Flat
    } else if upper.starts_with("IVF") {
        Structure::Ivf {
            nlist: parse_count(spec, part, 3, MAX_NLIST)?,
        }
    } else if upper.starts_with("HNSW") {
        let m = parse_count(spec, part, 4, MAX_HNSW_M)?;
        if m < 2 {
            return Err(invalid(spec, "HNSW needs m >= 2"));
        }
        Structure::Hnsw { m }
    } else {
        return Ok(None);
    }))
}

fn parse_encoding(spec: &str, part: &str) -> Result<Option<Encoding>, Error> {
    let upper = part.to_ascii_uppercase();
    Ok(Some(match upper.as_str() {
        "FLAT" => Encoding::Raw,
        "SQ8" => Encoding::Sq8,
        "BIN" => Encoding::Binary,
        _ if upper.starts_with("PQ") => Encoding::Pq {
            m: parse_count(spec, part, 2, MAX_PQ_M)?,
        },
        _ => return Ok(None),
    }))
}

impl FromStr for IndexSpec {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
        match parts.as_slice() {
            [single] => {
                if let Some(structure) = parse_structure(spec, single)? {
                    return Ok(IndexSpec {
                        structure,
                        encoding: Encoding::Raw,
                    });
                }
                if let Some(encoding) = parse_encoding(spec, single)? {
                    return Ok(IndexSpec {
                        structure: Structure::Flat,
                        encoding,
                    });
                }
                Err(invalid(
                    spec,
                    "expected Flat, IVF{nlist}, HNSW{m}, SQ8, PQ{m} or BIN",
                ))
            }
            [first, second] => {
                let structure = parse_structure(spec, first)?.ok_or_else(|| {
                    invalid(
                        spec,
                        format!("`{first}` is not Flat, IVF{{nlist}} or HNSW{{m}}"),
                    )
                })?;
                let encoding = parse_encoding(spec, second)?.ok_or_else(|| {
                    invalid(spec, format!("`{second}` is not Flat, SQ8, PQ{{m}} or BIN"))
                })?;
                Ok(IndexSpec {
                    structure,
                    encoding,
                })
            }
            _ => Err(invalid(spec, "expected at most two comma-separated parts")),
        }
    }
}

impl fmt::Display for IndexSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let encoding = match self.encoding {
            Encoding::Raw => None,
            Encoding::Sq8 => Some("SQ8".to_string()),
            Encoding::Pq { m } => Some(format!("PQ{m}")),
            Encoding::Binary => Some("BIN".to_string()),
        };
        match (self.structure, encoding) {
            (Structure::Flat, None) => f.write_str("Flat"),
            (Structure::Flat, Some(e)) => f.write_str(&e),
            (Structure::Ivf { nlist }, None) => write!(f, "IVF{nlist}"),
            (Structure::Ivf { nlist }, Some(e)) => write!(f, "IVF{nlist},{e}"),
            (Structure::Hnsw { m }, None) => write!(f, "HNSW{m}"),
            (Structure::Hnsw { m }, Some(e)) => write!(f, "HNSW{m},{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_round_trip() {
        for s in [
            "Flat",
            "IVF256",
            "HNSW32",
            "SQ8",
            "PQ48",
            "BIN",
            "IVF256,PQ48",
            "IVF256,SQ8",
            "HNSW16,SQ8",
            "HNSW32,SQ8",
        ] {
            let spec: IndexSpec = s.parse().unwrap();
            assert_eq!(spec.to_string(), s);
        }
        assert_eq!(
            "ivf64, flat".parse::<IndexSpec>().unwrap().to_string(),
            "IVF64"
        );
    }

    #[test]
    fn malformed_specs_are_typed_errors() {
        for s in [
            "",
            "IVF",
            "IVF0",
            "HNSW1",
            "PQ",
            "IVFx",
            "Flat,Flat,Flat",
            "SQ8,Flat",
            "LSH",
        ] {
            let err = s.parse::<IndexSpec>().unwrap_err();
            assert_eq!(err.code(), "invalid_spec", "{s}");
        }
    }
}

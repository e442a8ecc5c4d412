//! The one error type of the Quiver core.
//!
//! Every variant says what was expected and what was received, and maps to a stable, machine
//! readable [`Error::code`] string. The wasm layer turns each into a JavaScript `Error` whose
//! `code` property is that string, so TypeScript can `switch` on it. Codes never change meaning
//! once released; new failure modes get new codes.

use std::fmt::{self, Write as _};

use thiserror::Error;

/// Shows a string in double quotes, with `"`, `\` and control characters escaped as Rust's
/// `{:?}` escapes them. The package's wasm is built with `Debug` formatting compiled out
/// (`-Zfmt-debug=none`, scripts/build-pkg.sh), so every message that quotes user input goes
/// through this instead of `{:?}`. Unlike `{:?}` it leaves every other character as it is, which
/// keeps the Unicode escape tables out of the .wasm.
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\t' => f.write_str("\\t")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\0' => f.write_str("\\0")?,
                '\u{1}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => write!(f, "\\u{{{:x}}}", c as u32)?,
                _ => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

/// Convenience alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the Quiver core.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A collection was created with a dimension of 0 or above [`crate::limits::MAX_DIMENSION`].
    #[error("invalid dimension {dimension}: must be between 1 and {max}")]
    InvalidDimension { dimension: usize, max: usize },

    /// A vector's length does not match the collection's dimension.
    #[error("dimension mismatch: expected {expected} components, received {received}")]
    DimensionMismatch { expected: usize, received: usize },

    /// A vector holds NaN or an infinity.
    #[error(
        "invalid vector (item {item}): component {component} is {}; vectors must be finite",
        non_finite_name(*value)
    )]
    NonFiniteComponent {
        item: usize,
        component: usize,
        value: f32,
    },

    /// A zero (or numerically zero) vector was given to a cosine collection, where it has no
    /// direction.
    #[error("invalid vector (item {item}): zero vector has no direction under the cosine metric")]
    ZeroVector { item: usize },

    /// `k` is 0 or above [`crate::limits::MAX_K`].
    #[error("invalid k {k}: must be an integer between 1 and {max}")]
    InvalidK { k: usize, max: usize },

    /// An external id is empty or too long.
    #[error("invalid id {}: {reason}", Quoted(.id))]
    InvalidId { id: String, reason: &'static str },

    /// An id appears twice in one batch, or `add` was given an id that is already stored.
    #[error("duplicate id {}: {reason}", Quoted(.id))]
    DuplicateId { id: String, reason: &'static str },

    /// `get` or `delete` of an id that is not stored.
    #[error("id {} not found", Quoted(.id))]
    NotFound { id: String },

    /// An index spec string that does not parse or names an unknown family.
    #[error("invalid index spec {}: {reason}", Quoted(.spec))]
    InvalidSpec { spec: String, reason: String },

    /// A metric name other than `cosine`, `l2` or `dot`.
    #[error("invalid metric {}: expected \"cosine\", \"l2\" or \"dot\"", Quoted(.metric))]
    InvalidMetric { metric: String },

    /// Metadata that is not valid JSON, or a batch whose metadata does not line up with its ids.
    #[error("invalid metadata: {reason}")]
    InvalidMetadata { reason: String },

    /// Any other argument outside its documented range (batch lengths, parameters).
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument { name: &'static str, reason: String },

    /// The index needs training before this operation.
    #[error("index not trained: {reason}")]
    NotTrained { reason: String },

    /// The operation is not supported by this index family.
    #[error("operation not supported: {what}")]
    Unsupported { what: String },

    /// Stored bytes failed a check (magic, checksum, bounds, structure).
    #[error("corrupt data: {what}")]
    Corrupt { what: String },

    /// Stored bytes were written by a format version this build cannot read.
    #[error("unsupported format version {found} (this build reads up to {supported})")]
    UnsupportedVersion { found: u32, supported: u32 },

    /// A metadata filter failed to parse.
    #[error("invalid filter at {path}: {reason}")]
    InvalidFilter { path: String, reason: String },

    /// An operation would grow the store past its configured memory budget.
    #[error("memory budget exceeded: {needed} bytes needed, budget is {budget} bytes")]
    MemoryBudgetExceeded { needed: usize, budget: usize },

    /// The store was closed. Raised by the TypeScript package when a closed store is used;
    /// listed here so that every code the package can raise lives in one place.
    #[error("the store {} is closed", Quoted(.name))]
    Closed { name: String },

    /// A save did not fit in the storage quota (IndexedDB's `QuotaExceededError`, a full disk).
    /// Raised by the TypeScript storage layer; the previous saved state is intact.
    #[error("storage quota exceeded: {reason}")]
    QuotaExceeded { reason: String },

    /// A storage adapter failed (I/O error, aborted transaction, blocked database upgrade).
    /// Raised by the TypeScript storage layer; the previous saved state is intact.
    #[error("storage failed: {reason}")]
    Storage { reason: String },
}

/// Names a non-finite value without pulling float formatting (≈10 KB of wasm) into the module.
fn non_finite_name(value: f32) -> &'static str {
    if value.is_nan() {
        "NaN"
    } else if value > 0.0 {
        "Infinity"
    } else if value < 0.0 {
        "-Infinity"
    } else {
        "finite"
    }
}

impl Error {
    /// The stable, machine-readable code of this error (what JavaScript sees as `err.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidDimension { .. } => "invalid_dimension",
            Error::DimensionMismatch { .. } => "dimension_mismatch",
            Error::NonFiniteComponent { .. } => "invalid_vector",
            Error::ZeroVector { .. } => "zero_vector",
            Error::InvalidK { .. } => "invalid_k",
            Error::InvalidId { .. } => "invalid_id",
            Error::DuplicateId { .. } => "duplicate_id",
            Error::NotFound { .. } => "not_found",
            Error::InvalidSpec { .. } => "invalid_spec",
            Error::InvalidMetric { .. } => "invalid_metric",
            Error::InvalidMetadata { .. } => "invalid_metadata",
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::NotTrained { .. } => "not_trained",
            Error::Unsupported { .. } => "unsupported",
            Error::Corrupt { .. } => "corrupt",
            Error::UnsupportedVersion { .. } => "unsupported_version",
            Error::InvalidFilter { .. } => "invalid_filter",
            Error::MemoryBudgetExceeded { .. } => "memory_budget_exceeded",
            Error::Closed { .. } => "closed",
            Error::QuotaExceeded { .. } => "quota_exceeded",
            Error::Storage { .. } => "storage_error",
        }
    }

    /// Every code, for tests and for the TypeScript `QuiverErrorCode` union.
    pub const ALL_CODES: &'static [&'static str] = &[
        "invalid_dimension",
        "dimension_mismatch",
        "invalid_vector",
        "zero_vector",
        "invalid_k",
        "invalid_id",
        "duplicate_id",
        "not_found",
        "invalid_spec",
        "invalid_metric",
        "invalid_metadata",
        "invalid_argument",
        "not_trained",
        "unsupported",
        "corrupt",
        "unsupported_version",
        "invalid_filter",
        "memory_budget_exceeded",
        "closed",
        "quota_exceeded",
        "storage_error",
        // Raised only by the TypeScript `ShardedStore` (a shard failed or timed out); listed
        // here so the code list stays in one place.
        "shard_failed",
        // Raised only by the TypeScript embedding layer (`quiver-vectors/embed`, `/text`): a
        // model file is absent or unreadable, or a text is longer than the model's window.
        "model_missing",
        "model_corrupt",
        "text_too_long",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_matches_the_debug_form_of_str() {
        // The package build has no `Debug` formatting, so `Quoted` must say what `{:?}` said
        // (for every character but the non-printable non-control ones `{:?}` also escapes).
        for text in [
            "",
            "plain",
            "it's",
            "say \"hi\"",
            "back\\slash",
            "tab\tnew\nline\r",
            "nul\0bell\u{7}",
            "esc\u{1b} del\u{7f} c1\u{85}",
            "é and 漢字 and 🦀",
        ] {
            assert_eq!(Quoted(text).to_string(), format!("{text:?}"), "{text}");
        }
    }

    #[test]
    fn messages_quote_user_input() {
        let e = Error::NotFound { id: "a\"b".into() };
        assert_eq!(e.to_string(), r#"id "a\"b" not found"#);
    }
}

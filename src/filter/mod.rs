//! Metadata filters: a small JSON language, its parser and evaluator, indexed fields, and the
//! strategy layer that runs a filtered search so it returns the right `k` results.
//!
//! The language (full reference in `docs/filters.md`):
//! `{"category": "book", "year": {"$gte": 2015}, "$or": [{"tags": "rust"}, {"lang": "en"}]}`:
//! field conditions and `$and`/`$or`/`$not`, all of which must hold. Operators: `$eq $ne $in
//! $nin $gt $gte $lt $lte $exists $and $or $not`; a plain value is equality for scalars and
//! JSON containment (`@>`) for objects and arrays; an array field matches a scalar it contains.
//!
//! Promises:
//! - parsing is bounded ([`crate::limits::MAX_FILTER_DEPTH`], [`crate::limits::MAX_FILTER_NODES`],
//!   [`crate::limits::MAX_FILTER_BYTES`]), never panics, never runs code, refuses the keys
//!   `__proto__`, `constructor` and `prototype`, and reports every malformed filter as
//!   [`crate::Error::InvalidFilter`] with a JSON-pointer path and a reason;
//! - evaluation is total: a parsed filter accepts or rejects any metadata, never fails;
//! - indexed fields answer exactly what the evaluator would (see [`fields`]);
//! - a filtered search returns `min(k, matches)` results with every [`Strategy`].

mod ast;
mod eval;
pub mod fields;
mod parse;
mod posting;
pub mod strategy;

use std::str::FromStr;

use serde_json::Value;

use crate::error::{Error, Result};

pub use ast::{CmpOp, Expr, FieldPath, Predicate, Scalar};
pub use fields::{Candidates, FieldIndexes};
pub use parse::FORBIDDEN_KEYS;
pub use posting::Posting;
pub use strategy::{Estimate, FilteredSearch, Strategy, Thresholds};

/// A parsed, validated metadata filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    expr: Expr,
}

impl Filter {
    /// Parses a filter from a JSON value (which must be an object).
    pub fn parse(value: &Value) -> Result<Self> {
        Ok(Filter {
            expr: parse::parse(value)?,
        })
    }

    /// Parses a filter from JSON text.
    pub fn from_json_str(json: &str) -> Result<Self> {
        Ok(Filter {
            expr: parse::parse_str(json)?,
        })
    }

    /// The filter that accepts everything (`{}`).
    pub fn all() -> Self {
        Filter { expr: Expr::True }
    }

    /// Whether an item with this metadata (`None`: stored without metadata) matches.
    #[inline]
    pub fn matches(&self, metadata: Option<&Value>) -> bool {
        self.expr.matches(metadata)
    }

    /// The parsed expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }
}

impl FromStr for Filter {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Filter::from_json_str(s)
    }
}

impl TryFrom<&Value> for Filter {
    type Error = Error;

    fn try_from(value: &Value) -> Result<Self> {
        Filter::parse(value)
    }
}

/// Parses a field name given to [`crate::Collection::create_field_index`] with the rules of
/// field paths in filters (non-empty dot-separated segments, no forbidden key).
pub fn parse_field_path(field: &str) -> Result<FieldPath> {
    let invalid = |reason: String| Error::InvalidFilter {
        path: format!("/{}", field.replace('~', "~0").replace('/', "~1")),
        reason,
    };
    if field.starts_with('$') {
        return Err(invalid("a field name must not start with $".into()));
    }
    if field.is_empty() || field.split('.').any(str::is_empty) {
        return Err(invalid(format!(
            "the field path {field:?} is empty or has an empty segment"
        )));
    }
    if let Some(key) = field.split('.').find(|s| FORBIDDEN_KEYS.contains(s)) {
        return Err(invalid(format!("the key {key:?} is not allowed")));
    }
    Ok(FieldPath::new(field))
}

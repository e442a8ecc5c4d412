//! [`Filter`]: a parsed, validated filter, ready to evaluate. Apart from `filter/mod.rs`, which
//! re-exports it, so the strategy layer can take a filter without importing the module that
//! re-exports the strategy layer.

use std::str::FromStr;

use serde_json::Value;

use super::ast::{Expr, FieldPath};
use super::parse::{self, FORBIDDEN_KEYS};
use crate::error::{Error, Quoted, Result};

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
            "the field path {} is empty or has an empty segment",
            Quoted(field)
        )));
    }
    if let Some(key) = field.split('.').find(|s| FORBIDDEN_KEYS.contains(s)) {
        return Err(invalid(format!("the key {} is not allowed", Quoted(key))));
    }
    Ok(FieldPath::new(field))
}

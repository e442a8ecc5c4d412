//! The parsed form of a filter. Every operator of the language lowers to a handful of node
//! kinds (`$ne` is `Not(Eq)`, `$nin` is `Not(In)`, `$exists: false` is `Not(Exists)`), so the
//! evaluator and the index planner each have few cases to get right.

use serde_json::Value;

/// A field path: a dotted name split into its segments (`"meta.lang"` → `["meta", "lang"]`).
/// Resolution descends through objects only, never through arrays.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath {
    dotted: String,
    segments: Vec<String>,
}

impl FieldPath {
    pub(crate) fn new(dotted: &str) -> Self {
        FieldPath {
            dotted: dotted.to_string(),
            segments: dotted.split('.').map(str::to_string).collect(),
        }
    }

    /// The path as written, dots included.
    pub fn as_str(&self) -> &str {
        &self.dotted
    }

    /// The value at this path in `metadata`, if every segment exists.
    pub fn resolve<'a>(&self, metadata: &'a Value) -> Option<&'a Value> {
        let mut value = metadata;
        for segment in &self.segments {
            value = value.as_object()?.get(segment)?;
        }
        Some(value)
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.dotted)
    }
}

/// The four ordering comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl CmpOp {
    /// Whether `ordering` (field compared to operand) satisfies the comparison.
    #[inline]
    pub fn accepts(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Gt => ordering == Greater,
            CmpOp::Gte => ordering != Less,
            CmpOp::Lt => ordering == Less,
            CmpOp::Lte => ordering != Greater,
        }
    }
}

/// The operand of an ordering comparison: numbers compare with numbers, strings with strings.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Number(f64),
    String(String),
}

/// A test applied to the value found at a field path. A missing field fails every predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// `$eq` and the shorthand with a scalar: the field equals the operand, or is an array with
    /// an element equal to it.
    Eq(Value),
    /// The shorthand with an object or array operand: JSON containment (`@>`).
    Contains(Value),
    /// `$in`: [`Predicate::Eq`] for any of the operands.
    In(Vec<Value>),
    /// `$gt $gte $lt $lte`: the field (or an element of an array field) is of the operand's
    /// type and compares as asked.
    Cmp(CmpOp, Scalar),
    /// `$exists: true`: the field is present (with any value, `null` included).
    Exists,
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// The empty filter `{}`: everything matches.
    True,
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Field(FieldPath, Predicate),
}

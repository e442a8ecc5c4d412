//! Evaluation of a filter against one item's metadata. Pure, allocation-free, and total: every
//! JSON value gives `true` or `false`, never an error, so a filter that parsed can be checked
//! per candidate inside an index search.

use std::cmp::Ordering;

use serde_json::Value;

use super::ast::{Expr, Predicate, Scalar};

/// Stands in for the metadata of items stored without any: every field is missing.
static NO_METADATA: Value = Value::Null;

impl Expr {
    /// Whether an item with this metadata (`None`: stored without metadata) matches.
    pub fn matches(&self, metadata: Option<&Value>) -> bool {
        let metadata = metadata.unwrap_or(&NO_METADATA);
        self.eval(metadata)
    }

    fn eval(&self, metadata: &Value) -> bool {
        match self {
            Expr::True => true,
            Expr::And(children) => children.iter().all(|c| c.eval(metadata)),
            Expr::Or(children) => children.iter().any(|c| c.eval(metadata)),
            Expr::Not(child) => !child.eval(metadata),
            Expr::Field(path, predicate) => path
                .resolve(metadata)
                .is_some_and(|value| predicate.test(value)),
        }
    }
}

impl Predicate {
    /// Whether a present field value satisfies this predicate.
    pub fn test(&self, value: &Value) -> bool {
        match self {
            Predicate::Eq(operand) => eq_or_has_element(value, operand),
            Predicate::Contains(pattern) => contains(value, pattern),
            Predicate::In(operands) => operands.iter().any(|o| eq_or_has_element(value, o)),
            Predicate::Cmp(op, operand) => match value {
                Value::Array(items) => items
                    .iter()
                    .any(|item| compare(item, operand).is_some_and(|o| op.accepts(o))),
                _ => compare(value, operand).is_some_and(|o| op.accepts(o)),
            },
            Predicate::Exists => true,
        }
    }
}

/// `value == operand`, or `value` is an array with an element equal to `operand`.
fn eq_or_has_element(value: &Value, operand: &Value) -> bool {
    json_eq(value, operand)
        || matches!(value, Value::Array(items) if items.iter().any(|i| json_eq(i, operand)))
}

/// Structural equality with numbers compared by value (`1 == 1.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, a)| y.get(key).is_some_and(|b| json_eq(a, b)))
        }
        _ => a == b,
    }
}

/// JSON containment, as PostgreSQL's `jsonb @>` (what pgvector users filter with), extended so
/// that a non-array pattern is also contained in an array holding an element that contains it
/// (`{"reviews": {"by": "bob"}}` matches `{"reviews": [{"by": "bob"}]}`, as `{"tags": "x"}`
/// matches `{"tags": ["x"]}`). Field values inside an object pattern follow the same rule.
pub(crate) fn contains(value: &Value, pattern: &Value) -> bool {
    match (value, pattern) {
        (Value::Array(_), Value::Array(_)) => contains_strict(value, pattern),
        (Value::Array(items), _) => items
            .iter()
            .any(|item| !item.is_array() && contains_strict(item, pattern)),
        _ => contains_strict(value, pattern),
    }
}

/// PostgreSQL's containment: an object pattern needs each of its keys, containing the
/// pattern's value; an array pattern needs an array value in which each pattern element is
/// contained in some element (so a scalar element must equal an element: `[["x"]]` does not
/// contain `["x"]`); scalars are equal.
fn contains_strict(value: &Value, pattern: &Value) -> bool {
    match (value, pattern) {
        (Value::Object(object), Value::Object(fields)) => fields
            .iter()
            .all(|(key, p)| object.get(key).is_some_and(|v| contains(v, p))),
        (Value::Array(items), Value::Array(wanted)) => wanted
            .iter()
            .all(|p| items.iter().any(|item| contains_strict(item, p))),
        _ => json_eq(value, pattern),
    }
}

/// Orders a field value against a comparison operand, when they are of the same type.
fn compare(value: &Value, operand: &Scalar) -> Option<Ordering> {
    match (value, operand) {
        (Value::Number(n), Scalar::Number(x)) => n.as_f64()?.partial_cmp(x),
        (Value::String(s), Scalar::String(x)) => Some(s.as_str().cmp(x.as_str())),
        _ => None,
    }
}

//! The parser: a JSON value in, an [`Expr`] out, or an [`Error::InvalidFilter`] that names the
//! offending place as a JSON pointer (`/$and/1/year/$gt`; the whole filter is `/`) and says
//! what is wrong. It walks the input once, counting every JSON value against
//! [`limits::MAX_FILTER_NODES`] and refusing nesting deeper than [`limits::MAX_FILTER_DEPTH`]
//! before it recurses, so a hostile filter costs bounded time and stack. Nothing in a filter is
//! ever executed: operators are a closed set of names.

use serde_json::{Map, Value};

use super::ast::{CmpOp, Expr, FieldPath, Predicate, Scalar};
use crate::error::{Error, Quoted, Result};
use crate::limits;

/// Keys refused anywhere in a filter: harmless to Rust, but a filter is often built or
/// forwarded by JavaScript, where these keys reach `Object.prototype` (prototype pollution).
pub const FORBIDDEN_KEYS: [&str; 3] = ["__proto__", "constructor", "prototype"];

/// Parses a filter given as a JSON object.
pub(crate) fn parse(value: &Value) -> Result<Expr> {
    let mut parser = Parser {
        nodes: 0,
        path: Vec::new(),
    };
    parser.filter(value, 1)
}

/// Parses a filter given as JSON text.
pub(crate) fn parse_str(json: &str) -> Result<Expr> {
    if json.len() > limits::MAX_FILTER_BYTES {
        return Err(Error::InvalidFilter {
            path: "/".into(),
            reason: format!(
                "{} bytes of JSON; the limit is {}",
                json.len(),
                limits::MAX_FILTER_BYTES
            ),
        });
    }
    // serde_json refuses nesting beyond 128 levels itself, so this cannot exhaust the stack.
    let value: Value = serde_json::from_str(json).map_err(|e| Error::InvalidFilter {
        path: "/".into(),
        reason: format!("not valid JSON: {e}"),
    })?;
    parse(&value)
}

struct Parser {
    /// JSON values visited so far.
    nodes: usize,
    /// Keys and indexes from the root to the value being parsed, for error messages.
    path: Vec<String>,
}

impl Parser {
    fn error(&self, reason: impl Into<String>) -> Error {
        let mut pointer = String::new();
        for segment in &self.path {
            pointer.push('/');
            // RFC 6901 escaping, so a pointer names exactly one place.
            pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
        }
        if pointer.is_empty() {
            pointer.push('/');
        }
        Error::InvalidFilter {
            path: pointer,
            reason: reason.into(),
        }
    }

    /// Counts one JSON value at `depth` against the limits.
    fn visit(&mut self, depth: usize) -> Result<()> {
        self.nodes += 1;
        if self.nodes > limits::MAX_FILTER_NODES {
            return Err(self.error(format!(
                "the filter has more than {} JSON values",
                limits::MAX_FILTER_NODES
            )));
        }
        if depth > limits::MAX_FILTER_DEPTH {
            return Err(self.error(format!(
                "the filter nests deeper than {} levels",
                limits::MAX_FILTER_DEPTH
            )));
        }
        Ok(())
    }

    fn check_key(&self, key: &str) -> Result<()> {
        if FORBIDDEN_KEYS.contains(&key) {
            return Err(self.error(format!("the key {} is not allowed", Quoted(key))));
        }
        Ok(())
    }

    /// Runs `f` with `segment` appended to the error path.
    fn at<T>(&mut self, segment: impl Into<String>, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(segment.into());
        let result = f(self);
        self.path.pop();
        result
    }

    /// A filter object: field conditions and `$and`/`$or`/`$not`, all of which must hold.
    fn filter(&mut self, value: &Value, depth: usize) -> Result<Expr> {
        self.visit(depth)?;
        let Value::Object(object) = value else {
            return Err(self.error(format!(
                "a filter must be a JSON object, not {}",
                kind(value)
            )));
        };
        let mut terms = Vec::with_capacity(object.len());
        for (key, operand) in object {
            let term = self.at(key.as_str(), |p| {
                p.check_key(key)?;
                match key.as_str() {
                    "$and" | "$or" => {
                        let children = p.filter_list(key, operand, depth + 1)?;
                        Ok(if key == "$and" {
                            Expr::And(children)
                        } else {
                            Expr::Or(children)
                        })
                    }
                    "$not" => Ok(Expr::Not(Box::new(p.filter(operand, depth + 1)?))),
                    op if op.starts_with('$') => Err(p.error(if is_field_operator(op) {
                        format!("{op} must be applied to a field, as in {{\"field\": {{\"{op}\": ...}}}}")
                    } else {
                        unknown_operator(op)
                    })),
                    field => {
                        let path = p.field_path(field)?;
                        p.condition(&path, operand, depth + 1)
                    }
                }
            })?;
            terms.push(term);
        }
        Ok(conjunction(terms))
    }

    /// The operand of `$and` / `$or`: a non-empty array of filter objects.
    fn filter_list(&mut self, op: &str, value: &Value, depth: usize) -> Result<Vec<Expr>> {
        self.visit(depth)?;
        let Value::Array(items) = value else {
            return Err(self.error(format!(
                "{op} takes an array of filter objects, not {}",
                kind(value)
            )));
        };
        if items.is_empty() {
            return Err(self.error(format!("{op} takes a non-empty array")));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.at(i.to_string(), |p| p.filter(item, depth + 1)))
            .collect()
    }

    fn field_path(&self, field: &str) -> Result<FieldPath> {
        if field.is_empty() {
            return Err(self.error("field names must not be empty"));
        }
        for segment in field.split('.') {
            if segment.is_empty() {
                return Err(self.error(format!(
                    "the field path {} has an empty segment (a leading, trailing or doubled dot)",
                    Quoted(field)
                )));
            }
            self.check_key(segment)?;
        }
        Ok(FieldPath::new(field))
    }

    /// What a field is compared with: an operator object, or a value (the shorthand).
    fn condition(&mut self, path: &FieldPath, value: &Value, depth: usize) -> Result<Expr> {
        let Value::Object(object) = value else {
            return self.shorthand(path, value, depth);
        };
        let operators = object.keys().filter(|k| k.starts_with('$')).count();
        if operators == 0 {
            return self.shorthand(path, value, depth);
        }
        if operators != object.len() {
            return Err(self.error(
                "an object mixes operators ($...) and field names; nest fields with dotted paths or put them in a plain object",
            ));
        }
        self.visit(depth)?;
        self.operators(path, object, depth)
    }

    /// `{"field": value}`: equality for scalars, containment for objects and arrays.
    fn shorthand(&mut self, path: &FieldPath, value: &Value, depth: usize) -> Result<Expr> {
        self.literal(value, depth)?;
        let predicate = match value {
            Value::Object(_) | Value::Array(_) => Predicate::Contains(value.clone()),
            _ => Predicate::Eq(value.clone()),
        };
        Ok(Expr::Field(path.clone(), predicate))
    }

    /// The operators of one operator object, all of which must hold.
    fn operators(
        &mut self,
        path: &FieldPath,
        object: &Map<String, Value>,
        depth: usize,
    ) -> Result<Expr> {
        let mut terms = Vec::with_capacity(object.len());
        for (op, operand) in object {
            let term = self.at(op.as_str(), |p| p.operator(path, op, operand, depth + 1))?;
            terms.push(term);
        }
        Ok(conjunction(terms))
    }

    fn operator(
        &mut self,
        path: &FieldPath,
        op: &str,
        operand: &Value,
        depth: usize,
    ) -> Result<Expr> {
        let field = |predicate| Expr::Field(path.clone(), predicate);
        let not = |expr| Expr::Not(Box::new(expr));
        Ok(match op {
            "$eq" | "$ne" => {
                self.literal(operand, depth)?;
                let eq = field(Predicate::Eq(operand.clone()));
                if op == "$eq" {
                    eq
                } else {
                    not(eq)
                }
            }
            "$in" | "$nin" => {
                let Value::Array(items) = operand else {
                    return Err(self.error(format!(
                        "{op} takes an array of values, not {}",
                        kind(operand)
                    )));
                };
                self.literal(operand, depth)?;
                let any = field(Predicate::In(items.clone()));
                if op == "$in" {
                    any
                } else {
                    not(any)
                }
            }
            "$gt" | "$gte" | "$lt" | "$lte" => {
                self.visit(depth)?;
                let scalar = match operand {
                    Value::Number(n) => Scalar::Number(n.as_f64().ok_or_else(|| {
                        self.error(format!("{op} operand {n} is not representable"))
                    })?),
                    Value::String(s) => Scalar::String(s.clone()),
                    other => {
                        return Err(self.error(format!(
                            "{op} takes a number or a string, not {}",
                            kind(other)
                        )))
                    }
                };
                let cmp = match op {
                    "$gt" => CmpOp::Gt,
                    "$gte" => CmpOp::Gte,
                    "$lt" => CmpOp::Lt,
                    _ => CmpOp::Lte,
                };
                field(Predicate::Cmp(cmp, scalar))
            }
            "$exists" => {
                self.visit(depth)?;
                match operand {
                    Value::Bool(true) => field(Predicate::Exists),
                    Value::Bool(false) => not(field(Predicate::Exists)),
                    other => {
                        return Err(
                            self.error(format!("$exists takes true or false, not {}", kind(other)))
                        )
                    }
                }
            }
            "$not" => match operand {
                Value::Object(object)
                    if !object.is_empty() && object.keys().all(|k| k.starts_with('$')) =>
                {
                    self.visit(depth)?;
                    not(self.operators(path, object, depth)?)
                }
                _ => {
                    return Err(self.error(
                        "$not on a field takes an operator object, such as {\"$in\": [...]}",
                    ))
                }
            },
            "$and" | "$or" => {
                return Err(self.error(format!(
                    "{op} combines filter objects and is not valid inside a field's operators"
                )))
            }
            other => return Err(self.error(unknown_operator(other))),
        })
    }

    /// A value compared against metadata: counted, depth-checked, keys checked, never
    /// interpreted (keys starting with `$` inside it are plain keys).
    fn literal(&mut self, value: &Value, depth: usize) -> Result<()> {
        self.visit(depth)?;
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.at(i.to_string(), |p| p.literal(item, depth + 1))?;
                }
            }
            Value::Object(object) => {
                for (key, item) in object {
                    self.at(key.as_str(), |p| {
                        p.check_key(key)?;
                        if key.starts_with('$') {
                            // Most likely an operator the user meant to nest; say so rather
                            // than silently compare with a literal `$` key.
                            return Err(p.error(format!(
                                "operators cannot appear inside a value ({}); address nested fields with a dotted path, as in {{\"a.b\": {{\"$gt\": 1}}}}",
                                Quoted(key)
                            )));
                        }
                        p.literal(item, depth + 1)
                    })?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// `And` of the terms, without wrapping a single term or none.
fn conjunction(mut terms: Vec<Expr>) -> Expr {
    match terms.len() {
        0 => Expr::True,
        1 => terms.pop().unwrap_or(Expr::True),
        _ => Expr::And(terms),
    }
}

fn is_field_operator(op: &str) -> bool {
    matches!(
        op,
        "$eq" | "$ne" | "$in" | "$nin" | "$gt" | "$gte" | "$lt" | "$lte" | "$exists"
    )
}

fn unknown_operator(op: &str) -> String {
    format!(
        "unknown operator {}; the operators are $eq $ne $in $nin $gt $gte $lt $lte $exists $and $or $not",
        Quoted(op)
    )
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

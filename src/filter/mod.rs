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
mod compiled;
mod eval;
pub mod fields;
mod parse;
mod posting;
pub mod strategy;

pub use ast::{CmpOp, Expr, FieldPath, Predicate, Scalar};
pub use compiled::{parse_field_path, Filter};
pub use fields::{Candidates, FieldIndexes};
pub use parse::FORBIDDEN_KEYS;
pub use posting::Posting;
pub use strategy::{Estimate, FilteredSearch, Strategy, Thresholds};

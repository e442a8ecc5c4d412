//! Indexed fields: for each declared field, a posting list (sorted ids) per distinct value,
//! kept in ordered maps so that numeric and string ranges are a walk over a key range. Plus the
//! set of all live ids, the universe for `$not`, `$exists: false` and sampling.
//!
//! Promise: for the predicates it answers, [`FieldIndexes::candidates`] returns exactly the ids
//! whose metadata the evaluator in `eval.rs` accepts (`exact: true`), or a superset of them
//! (`exact: false`), never fewer. Both read values through the same [`FieldPath::resolve`] and
//! index a field's value and, for an array, each of its scalar elements, which is what the
//! evaluator's "equal, or an array with an equal element" rule looks at.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde_json::Value;

use super::ast::{CmpOp, Expr, FieldPath, Predicate, Scalar};
use super::posting::Posting;

/// A total order over the f64 values of JSON numbers (no NaN in JSON; `-0.0` folded into
/// `0.0` so that `0 == -0` as the evaluator has it).
#[derive(Debug, Clone, Copy, PartialEq)]
struct NumberKey(f64);

impl NumberKey {
    fn new(x: f64) -> Self {
        NumberKey(x + 0.0)
    }
}

impl Eq for NumberKey {}

impl PartialOrd for NumberKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for NumberKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Which posting of a field a scalar (or the field's presence) lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot<'a> {
    Present,
    Null,
    Bool(bool),
    Number(NumberKey),
    String(&'a str),
}

impl<'a> Slot<'a> {
    /// The slot of a scalar; `None` for arrays and objects, which are not indexed.
    fn of(value: &'a Value) -> Option<Self> {
        Some(match value {
            Value::Null => Slot::Null,
            Value::Bool(b) => Slot::Bool(*b),
            Value::Number(n) => Slot::Number(NumberKey::new(n.as_f64()?)),
            Value::String(s) => Slot::String(s),
            Value::Array(_) | Value::Object(_) => return None,
        })
    }
}

/// The postings of one field.
#[derive(Debug, Clone, Default)]
struct FieldIndex {
    /// Ids whose metadata has the field (any value, `null` included).
    present: Posting,
    numbers: BTreeMap<NumberKey, Posting>,
    strings: BTreeMap<String, Posting>,
    /// `[false, true]`.
    bools: [Posting; 2],
    nulls: Posting,
}

impl FieldIndex {
    /// Applies `f` to the posting of each scalar the value holds (itself, or its elements).
    fn for_each_key(&mut self, value: &Value, f: &mut impl FnMut(&mut Posting)) {
        match value {
            Value::Array(items) => {
                for item in items {
                    if !item.is_array() {
                        self.for_scalar(item, f);
                    }
                }
            }
            _ => self.for_scalar(value, f),
        }
    }

    fn for_scalar(&mut self, value: &Value, f: &mut impl FnMut(&mut Posting)) {
        match value {
            Value::Null => f(&mut self.nulls),
            Value::Bool(b) => f(&mut self.bools[*b as usize]),
            Value::Number(n) => {
                if let Some(x) = n.as_f64() {
                    f(self.numbers.entry(NumberKey::new(x)).or_default());
                }
            }
            Value::String(s) => {
                // `get_mut` first: no key allocation when the value is already indexed.
                if let Some(posting) = self.strings.get_mut(s.as_str()) {
                    f(posting);
                } else {
                    f(self.strings.entry(s.clone()).or_default());
                }
            }
            Value::Array(_) | Value::Object(_) => {}
        }
    }

    fn insert(&mut self, id: u32, value: &Value) {
        self.present.insert(id);
        self.for_each_key(value, &mut |p| {
            p.insert(id);
        });
    }

    /// Removes a batch of ids, each with the value it was indexed under: the ids are grouped
    /// by posting first so that each touched posting is rewritten once.
    fn remove_many<'a>(&mut self, items: &[(u32, &'a Value)]) {
        let mut pending: BTreeMap<Slot<'a>, Vec<u32>> = BTreeMap::new();
        for &(id, value) in items {
            pending.entry(Slot::Present).or_default().push(id);
            let scalars = match value {
                Value::Array(elements) => elements.as_slice(),
                _ => std::slice::from_ref(value),
            };
            for slot in scalars.iter().filter_map(Slot::of) {
                pending.entry(slot).or_default().push(id);
            }
        }
        for (slot, mut ids) in pending {
            ids.sort_unstable();
            ids.dedup();
            match slot {
                Slot::Present => self.present.remove_sorted(&ids),
                Slot::Null => self.nulls.remove_sorted(&ids),
                Slot::Bool(b) => self.bools[b as usize].remove_sorted(&ids),
                Slot::Number(key) => {
                    if let Some(posting) = self.numbers.get_mut(&key) {
                        posting.remove_sorted(&ids);
                        if posting.is_empty() {
                            // Dropped so that a churning field keeps no dead keys.
                            self.numbers.remove(&key);
                        }
                    }
                }
                Slot::String(s) => {
                    if let Some(posting) = self.strings.get_mut(s) {
                        posting.remove_sorted(&ids);
                        if posting.is_empty() {
                            self.strings.remove(s);
                        }
                    }
                }
            }
        }
    }

    /// The posting of one scalar, if the field is indexed by it.
    fn posting(&self, value: &Value) -> Option<Option<&Posting>> {
        Some(match value {
            Value::Null => Some(&self.nulls),
            Value::Bool(b) => Some(&self.bools[*b as usize]),
            Value::Number(n) => self.numbers.get(&NumberKey::new(n.as_f64()?)),
            Value::String(s) => self.strings.get(s.as_str()),
            Value::Array(_) | Value::Object(_) => return None,
        })
    }

    /// The ids whose field value satisfies `predicate`, and whether that set is exact (rather
    /// than a superset). `None` when the index cannot narrow the predicate.
    fn candidates(&self, predicate: &Predicate) -> Option<(Posting, bool)> {
        match predicate {
            Predicate::Eq(value) => Some((self.posting(value)?.cloned().unwrap_or_default(), true)),
            Predicate::In(values) => {
                let mut postings = Vec::with_capacity(values.len());
                for value in values {
                    postings.extend(self.posting(value)?);
                }
                Some((Posting::union_all(postings.into_iter()), true))
            }
            // An array pattern of scalars needs every element present: the intersection of
            // their postings is a superset (it does not check that the field is an array).
            Predicate::Contains(Value::Array(items))
                if !items.is_empty() && items.iter().all(is_scalar) =>
            {
                let mut set: Option<Posting> = None;
                for item in items {
                    let posting = self.posting(item)?.cloned().unwrap_or_default();
                    match &mut set {
                        None => set = Some(posting),
                        Some(set) => set.intersect_with(&posting),
                    }
                }
                set.map(|s| (s, false))
            }
            Predicate::Contains(_) => None,
            Predicate::Cmp(op, operand) => {
                let set = match operand {
                    Scalar::Number(x) => Posting::union_all(
                        self.numbers
                            .range(bounds(*op, NumberKey::new(*x)))
                            .map(|(_, p)| p),
                    ),
                    Scalar::String(s) => {
                        let (low, high) = bounds(*op, s.as_str());
                        Posting::union_all(
                            self.strings.range::<str, _>((low, high)).map(|(_, p)| p),
                        )
                    }
                };
                Some((set, true))
            }
            Predicate::Exists => Some((self.present.clone(), true)),
        }
    }

    fn memory_bytes(&self) -> usize {
        let entry = std::mem::size_of::<Posting>() + 16;
        self.present.memory_bytes()
            + self.nulls.memory_bytes()
            + self.bools.iter().map(Posting::memory_bytes).sum::<usize>()
            + self
                .numbers
                .values()
                .map(|p| p.memory_bytes() + entry)
                .sum::<usize>()
            + self
                .strings
                .iter()
                .map(|(k, p)| k.capacity() + p.memory_bytes() + entry + 24)
                .sum::<usize>()
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// The key range a comparison selects.
fn bounds<K>(op: CmpOp, key: K) -> (Bound<K>, Bound<K>) {
    match op {
        CmpOp::Gt => (Bound::Excluded(key), Bound::Unbounded),
        CmpOp::Gte => (Bound::Included(key), Bound::Unbounded),
        CmpOp::Lt => (Bound::Unbounded, Bound::Excluded(key)),
        CmpOp::Lte => (Bound::Unbounded, Bound::Included(key)),
    }
}

/// A candidate set computed from the indexes.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    pub ids: Posting,
    /// `true`: exactly the matching ids. `false`: a superset that still needs evaluating.
    pub exact: bool,
}

/// All indexed fields of a collection, and its live ids.
#[derive(Debug, Clone, Default)]
pub struct FieldIndexes {
    all: Posting,
    fields: BTreeMap<FieldPath, FieldIndex>,
}

impl FieldIndexes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every live id.
    pub fn all(&self) -> &Posting {
        &self.all
    }

    /// Number of live ids.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Whether `field` (a dotted path) is indexed.
    pub fn is_indexed(&self, field: &FieldPath) -> bool {
        self.fields.contains_key(field)
    }

    /// The indexed fields, in order.
    pub fn fields(&self) -> impl Iterator<Item = &FieldPath> {
        self.fields.keys()
    }

    /// Starts indexing `field`, reading the metadata of every live item. Returns `false` (and
    /// does nothing) if it was already indexed. Items given in ascending id order build every
    /// posting by appending; any order is correct, but costs a shift per out-of-order id.
    pub fn create<'a>(
        &mut self,
        field: FieldPath,
        items: impl Iterator<Item = (u32, Option<&'a Value>)>,
    ) -> bool {
        if self.fields.contains_key(&field) {
            return false;
        }
        let mut index = FieldIndex::default();
        for (id, metadata) in items {
            if let Some(value) = metadata.and_then(|m| field.resolve(m)) {
                index.insert(id, value);
            }
        }
        self.fields.insert(field, index);
        true
    }

    /// Stops indexing `field`; returns whether it was indexed.
    pub fn drop_field(&mut self, field: &FieldPath) -> bool {
        self.fields.remove(field).is_some()
    }

    /// Records a new live item.
    pub fn insert(&mut self, id: u32, metadata: Option<&Value>) {
        self.all.insert(id);
        let Some(metadata) = metadata else { return };
        for (path, index) in &mut self.fields {
            if let Some(value) = path.resolve(metadata) {
                index.insert(id, value);
            }
        }
    }

    /// Forgets a batch of items; each `metadata` must be what the item was inserted with.
    /// Costs one pass over each touched posting, however many items the batch holds.
    pub fn remove_many<'a>(&mut self, items: impl Iterator<Item = (u32, Option<&'a Value>)>) {
        let items: Vec<(u32, Option<&Value>)> = items.collect();
        let mut ids: Vec<u32> = items.iter().map(|&(id, _)| id).collect();
        ids.sort_unstable();
        self.all.remove_sorted(&ids);
        for (path, index) in &mut self.fields {
            let values: Vec<(u32, &Value)> = items
                .iter()
                .filter_map(|&(id, metadata)| Some((id, path.resolve(metadata?)?)))
                .collect();
            index.remove_many(&values);
        }
    }

    /// The ids the indexes narrow `expr` to, or `None` when they cannot narrow it at all.
    pub fn candidates(&self, expr: &Expr) -> Option<Candidates> {
        let (ids, exact) = self.narrow(expr)?;
        Some(Candidates { ids, exact })
    }

    fn narrow(&self, expr: &Expr) -> Option<(Posting, bool)> {
        match expr {
            Expr::True => Some((self.all.clone(), true)),
            Expr::Field(path, predicate) => self.fields.get(path)?.candidates(predicate),
            Expr::And(children) => {
                let mut set: Option<Posting> = None;
                let mut exact = true;
                for child in children {
                    match self.narrow(child) {
                        Some((ids, child_exact)) => {
                            exact &= child_exact;
                            match &mut set {
                                None => set = Some(ids),
                                Some(set) => set.intersect_with(&ids),
                            }
                        }
                        None => exact = false,
                    }
                }
                set.map(|s| (s, exact))
            }
            Expr::Or(children) => {
                let mut set = Posting::new();
                let mut exact = true;
                for child in children {
                    let (ids, child_exact) = self.narrow(child)?;
                    exact &= child_exact;
                    set.union_with(&ids);
                }
                Some((set, exact))
            }
            Expr::Not(child) => match self.narrow(child)? {
                (ids, true) => Some((self.all.difference(&ids), true)),
                (_, false) => None,
            },
        }
    }

    /// Heap bytes of every posting and key.
    pub fn memory_bytes(&self) -> usize {
        self.all.memory_bytes()
            + self
                .fields
                .iter()
                .map(|(path, index)| path.as_str().len() * 2 + index.memory_bytes())
                .sum::<usize>()
    }
}

//! JSONPath evaluation in Jayway's rules: a [`Query`] resolves against a document, borrowing
//! matches where it can, with every step charged to a [`Budget`].

use std::borrow::Cow;
use std::cell::Cell;
use std::cmp::Ordering;

use regex::Regex;
use serde_json::{Map, Number, Value};

use super::ast::{CmpOp, Expr, Function, Operand, PathOperand, Query, Segment, Selector};

/// The steps left to one evaluation. Once spent, every further charge fails at once, so loops
/// over nodes stop in a step each without every function returning a `Result`.
pub(super) struct Budget {
    left: Cell<u64>,
    spent: Cell<bool>,
}

impl Budget {
    pub(super) fn new(steps: u64) -> Budget {
        Budget {
            left: Cell::new(steps),
            spent: Cell::new(false),
        }
    }

    /// Whether the budget ran out.
    pub(super) fn is_spent(&self) -> bool {
        self.spent.get()
    }

    /// Takes `n` steps; false (for good) once the budget is spent.
    fn take(&self, n: u64) -> bool {
        match self.left.get().checked_sub(n) {
            Some(left) if !self.spent.get() => {
                self.left.set(left);
                true
            }
            _ => {
                self.spent.set(true);
                false
            }
        }
    }

    /// Takes a step per node of `value`, which is about to be copied.
    fn take_copy(&self, value: &Value) -> bool {
        walk(value, self, |_| {});
        !self.spent.get()
    }
}

/// What a query resolves to, borrowing from the document where it can.
pub(super) enum Resolved<'a> {
    Missing,
    One(&'a Value),
    Many(Vec<&'a Value>),
    Owned(Value),
}

impl<'a> Resolved<'a> {
    pub(super) fn into_cow(self, budget: &Budget) -> Option<Cow<'a, Value>> {
        match self {
            Resolved::Missing => None,
            Resolved::One(v) => Some(Cow::Borrowed(v)),
            Resolved::Many(vs) => {
                // Matches overlap (`$..*` holds every subtree inside its parent): pay for the copy.
                if !vs.iter().all(|v| budget.take_copy(v)) {
                    return Some(Cow::Owned(Value::Null));
                }
                Some(Cow::Owned(Value::Array(vs.into_iter().cloned().collect())))
            }
            Resolved::Owned(v) => Some(Cow::Owned(v)),
        }
    }
}

/// The nodes selected by a path body: one node while the path is definite, else a list.
enum Selection<'a> {
    One(&'a Value),
    Many(Vec<&'a Value>),
}

impl Query {
    pub(super) fn resolve<'a>(
        &'a self,
        start: &'a Value,
        root: &'a Value,
        budget: &Budget,
    ) -> Resolved<'a> {
        // A name union as the very last selector merges its keys (Jayway's "multi-property
        // merge", which it treats as definite).
        let (body, leaf_union) = match self.segments.split_last() {
            Some((last, rest)) if self.function.is_none() => match &last.selector {
                Selector::Names(names) => (rest, Some((last.descendant, names.as_slice()))),
                _ => (self.segments.as_slice(), None),
            },
            _ => (self.segments.as_slice(), None),
        };
        let Some(selection) = self.select(body, start, root, budget) else {
            return Resolved::Missing;
        };
        if let Some((descendant, names)) = leaf_union {
            return merge_union(selection, descendant, names, budget);
        }
        match (self.function, selection) {
            (Some(Function::Length), Selection::Many(matches))
                if self.segments.first().is_some_and(|s| s.descendant) =>
            {
                // Jayway rewrites `$..x.length()` as `length($..x[*])`: it counts the children
                // of the matches (`$..book.length()` is the number of books).
                let children: usize = matches
                    .iter()
                    .map(|m| match m {
                        Value::Array(items) => items.len(),
                        Value::Object(map) => map.len(),
                        _ => 0,
                    })
                    .sum();
                Resolved::Owned(Value::from(children))
            }
            (Some(f), Selection::One(v)) => f.apply(Subject::One(v)),
            (Some(f), Selection::Many(vs)) => f.apply(Subject::Many(&vs)),
            (None, Selection::One(v)) => Resolved::One(v),
            (None, Selection::Many(vs)) => Resolved::Many(vs),
        }
    }

    /// `None` when the path does not resolve (a failure while it is still definite).
    fn select<'a>(
        &'a self,
        body: &'a [Segment],
        start: &'a Value,
        root: &'a Value,
        budget: &Budget,
    ) -> Option<Selection<'a>> {
        if body.len() <= self.first_indefinite {
            // Only names and single indexes: walk without allocating.
            let mut node = start;
            for segment in body {
                node = match (&segment.selector, node) {
                    (Selector::Name(name), Value::Object(map)) => map.get(name)?,
                    (Selector::Index(i), Value::Array(items)) => array_index(items, *i)?,
                    _ => return None,
                };
            }
            return Some(Selection::One(node));
        }
        let mut current = vec![start];
        let mut next = Vec::new();
        for (i, segment) in body.iter().enumerate() {
            // Jayway throws PathNotFound only while everything upstream is definite.
            let strict = i <= self.first_indefinite;
            for &node in &current {
                if !budget.take(1) {
                    return None;
                }
                if !segment.apply(node, root, strict, &mut next, budget) {
                    return None;
                }
            }
            std::mem::swap(&mut current, &mut next);
            next.clear();
            if current.is_empty() {
                break;
            }
        }
        Some(Selection::Many(current))
    }
}

fn merge_union<'a>(
    selection: Selection<'a>,
    descendant: bool,
    names: &[String],
    budget: &Budget,
) -> Resolved<'a> {
    let merge = |map: &Map<String, Value>| {
        let mut merged = Map::new();
        for name in names {
            if let Some(v) = map.get(name)
                && budget.take_copy(v)
            {
                merged.insert(name.clone(), v.clone());
            }
        }
        Value::Object(merged)
    };
    if descendant {
        // Jayway's scan only picks objects that have every listed key.
        let mut out = Vec::new();
        let nodes = match selection {
            Selection::One(v) => vec![v],
            Selection::Many(vs) => vs,
        };
        for node in nodes {
            walk(node, budget, |n| {
                if let Value::Object(map) = n
                    && names.iter().all(|k| map.contains_key(k))
                {
                    out.push(merge(map));
                }
            });
        }
        return Resolved::Owned(Value::Array(out));
    }
    match selection {
        Selection::One(Value::Object(map)) => Resolved::Owned(merge(map)),
        Selection::One(_) => Resolved::Missing,
        Selection::Many(nodes) => Resolved::Owned(Value::Array(
            nodes
                .into_iter()
                .filter_map(|n| n.as_object().map(merge))
                .collect(),
        )),
    }
}

/// Pre-order walk of `node` and everything below it, without recursion, a step per node; stops
/// when the budget is spent.
fn walk<'a>(node: &'a Value, budget: &Budget, mut visit: impl FnMut(&'a Value)) {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if !budget.take(1) {
            return;
        }
        visit(n);
        match n {
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(map) => stack.extend(map.values().rev()),
            _ => {}
        }
    }
}

fn array_index(items: &[Value], i: i64) -> Option<&Value> {
    let idx = if i < 0 {
        items
            .len()
            .checked_sub(usize::try_from(i.unsigned_abs()).ok()?)?
    } else {
        usize::try_from(i).ok()?
    };
    items.get(idx)
}

/// Jayway's slice arithmetic (`ArraySliceToken`): `[a:]` and `[:b]` count negative bounds from
/// the end; `[a:b]` only caps `b` at the length and resolves each negative index on its own.
fn slice_into<'a>(
    items: &'a [Value],
    from: Option<i64>,
    to: Option<i64>,
    out: &mut Vec<&'a Value>,
) {
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    if len == 0 {
        return;
    }
    let (start, end) = match (from, to) {
        (Some(f), None) => ((if f < 0 { len.saturating_add(f) } else { f }).max(0), len),
        (None, Some(t)) => (0, (if t < 0 { len.saturating_add(t) } else { t }).min(len)),
        (Some(f), Some(t)) => (f, t.min(len)),
        (None, None) => (0, len),
    };
    // Indexes below -len select nothing: skip them instead of counting through them.
    let mut i = start.max(len.saturating_neg());
    while i < end {
        if let Some(v) = array_index(items, i) {
            out.push(v);
        }
        i += 1;
    }
}

fn push_children<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    match node {
        Value::Array(items) => out.extend(items.iter()),
        Value::Object(map) => out.extend(map.values()),
        _ => {}
    }
}

impl Segment {
    /// Applies this segment to one node. Returns false when the path must not resolve (only
    /// possible when `strict`, i.e. everything upstream is definite).
    fn apply<'a>(
        &'a self,
        node: &'a Value,
        root: &'a Value,
        strict: bool,
        out: &mut Vec<&'a Value>,
        budget: &Budget,
    ) -> bool {
        if self.descendant {
            walk(node, budget, |n| {
                self.selector.scan_one(n, root, out, budget)
            });
            return true;
        }
        match (&self.selector, node) {
            (Selector::Name(name), Value::Object(map)) => match map.get(name) {
                Some(v) => out.push(v),
                None => return !strict,
            },
            (Selector::Names(names), Value::Object(map)) => {
                out.extend(names.iter().filter_map(|n| map.get(n)));
            }
            (Selector::Wildcard, _) => push_children(node, out),
            (Selector::Index(i), Value::Array(items)) => out.extend(array_index(items, *i)),
            (Selector::Indexes(indexes), Value::Array(items)) => {
                out.extend(indexes.iter().filter_map(|i| array_index(items, *i)));
            }
            (Selector::Slice { from, to }, Value::Array(items)) => {
                slice_into(items, *from, *to, out)
            }
            (Selector::Filter(expr), Value::Array(items)) => {
                out.extend(
                    items
                        .iter()
                        .filter(|item| budget.take(1) && expr.test(item, root, budget)),
                );
            }
            (Selector::Filter(expr), Value::Object(_)) => {
                if expr.test(node, root, budget) {
                    out.push(node);
                }
            }
            _ => return !strict,
        }
        true
    }
}

impl Selector {
    /// The selector applied to one node visited by a deep scan (never fails).
    fn scan_one<'a>(
        &'a self,
        node: &'a Value,
        root: &'a Value,
        out: &mut Vec<&'a Value>,
        budget: &Budget,
    ) {
        match (self, node) {
            (Selector::Name(name), Value::Object(map)) => out.extend(map.get(name)),
            (Selector::Names(names), Value::Object(map)) => {
                out.extend(names.iter().filter_map(|n| map.get(n)));
            }
            (Selector::Wildcard, _) => push_children(node, out),
            (Selector::Index(i), Value::Array(items)) => out.extend(array_index(items, *i)),
            (Selector::Indexes(indexes), Value::Array(items)) => {
                out.extend(indexes.iter().filter_map(|i| array_index(items, *i)));
            }
            (Selector::Slice { from, to }, Value::Array(items)) => {
                slice_into(items, *from, *to, out)
            }
            // Jayway's scan tests a filter against each object it visits.
            (Selector::Filter(expr), Value::Object(_)) if expr.test(node, root, budget) => {
                out.push(node)
            }
            _ => {}
        }
    }
}

/// What a trailing function applies to.
#[derive(Clone, Copy)]
enum Subject<'s> {
    /// The value of a definite path.
    One(&'s Value),
    /// The matches of an indefinite path.
    Many(&'s [&'s Value]),
}

/// Iterates the elements of a subject that is an array (or a list of matches).
enum Elements<'s> {
    Array(std::slice::Iter<'s, Value>),
    List(std::slice::Iter<'s, &'s Value>),
}

impl<'s> Iterator for Elements<'s> {
    type Item = &'s Value;

    fn next(&mut self) -> Option<&'s Value> {
        match self {
            Elements::Array(it) => it.next(),
            Elements::List(it) => it.next().copied(),
        }
    }
}

impl<'s> Subject<'s> {
    fn elements(&self) -> Option<Elements<'s>> {
        match *self {
            Subject::One(Value::Array(items)) => Some(Elements::Array(items.iter())),
            Subject::One(_) => None,
            Subject::Many(list) => Some(Elements::List(list.iter())),
        }
    }
}

impl Function {
    fn apply<'a>(self, subject: Subject<'_>) -> Resolved<'a> {
        let value = match self {
            Function::Length => match subject {
                Subject::One(Value::Array(items)) => Some(Value::from(items.len())),
                Subject::One(Value::Object(map)) => Some(Value::from(map.len())),
                Subject::One(Value::String(s)) => Some(Value::from(s.chars().count())),
                Subject::One(_) => None,
                Subject::Many(list) => Some(Value::from(list.len())),
            },
            Function::Sum | Function::Avg | Function::Min | Function::Max => {
                subject.elements().and_then(|els| self.aggregate(els))
            }
            Function::Keys => match subject {
                Subject::One(Value::Object(map)) => Some(Value::Array(
                    map.keys().map(|k| Value::String(k.clone())).collect(),
                )),
                _ => None,
            },
            Function::First => subject.elements().and_then(|mut els| els.next().cloned()),
            Function::Last => subject.elements().and_then(|els| els.last().cloned()),
        };
        value.map_or(Resolved::Missing, Resolved::Owned)
    }

    /// Jayway's aggregations: over the numbers among the elements, as doubles.
    fn aggregate(self, elements: Elements<'_>) -> Option<Value> {
        let mut count = 0.0f64;
        let mut sum = 0.0f64;
        let mut min = f64::INFINITY;
        let mut max = f64::NEG_INFINITY;
        for x in elements.filter_map(|v| v.as_number().and_then(Number::as_f64)) {
            count += 1.0;
            sum += x;
            min = min.min(x);
            max = max.max(x);
        }
        if count == 0.0 {
            return None;
        }
        let result = match self {
            Function::Sum => sum,
            Function::Avg => sum / count,
            Function::Min => min,
            Function::Max => max,
            _ => return None,
        };
        Number::from_f64(result).map(Value::Number)
    }
}

impl PathOperand {
    fn resolve<'a>(&'a self, current: &'a Value, root: &'a Value, budget: &Budget) -> Resolved<'a> {
        let start = if self.from_root { root } else { current };
        self.query.resolve(start, root, budget)
    }

    fn exists(&self, current: &Value, root: &Value, budget: &Budget) -> bool {
        match self.resolve(current, root, budget) {
            Resolved::Missing => false,
            Resolved::Many(matches) => !matches.is_empty(),
            Resolved::One(_) | Resolved::Owned(_) => true,
        }
    }
}

impl Operand {
    fn resolve<'a>(&'a self, current: &'a Value, root: &'a Value, budget: &Budget) -> Resolved<'a> {
        match self {
            Operand::Path(path) => path.resolve(current, root, budget),
            Operand::Literal(v) => Resolved::One(v),
            Operand::Regex(_) => Resolved::Missing,
        }
    }
}

impl Expr {
    fn test(&self, current: &Value, root: &Value, budget: &Budget) -> bool {
        match self {
            Expr::Or(terms) => terms.iter().any(|t| t.test(current, root, budget)),
            Expr::And(terms) => terms.iter().all(|t| t.test(current, root, budget)),
            Expr::Exists { path, negated } => path.exists(current, root, budget) != *negated,
            Expr::Compare {
                left,
                op: CmpOp::Match,
                right,
            } => match (left, right) {
                (Operand::Regex(_), Operand::Regex(_)) => false,
                (Operand::Regex(re), other) | (other, Operand::Regex(re)) => other
                    .resolve(current, root, budget)
                    .into_cow(budget)
                    .is_some_and(|v| regex_matches(re, &v)),
                _ => false,
            },
            Expr::Compare { left, op, right } => {
                let Some(l) = left.resolve(current, root, budget).into_cow(budget) else {
                    return false;
                };
                let Some(r) = right.resolve(current, root, budget).into_cow(budget) else {
                    return false;
                };
                compare(*op, &l, &r)
            }
        }
    }
}

fn compare(op: CmpOp, l: &Value, r: &Value) -> bool {
    match op {
        CmpOp::Eq => json_eq(l, r),
        CmpOp::Ne => !json_eq(l, r),
        CmpOp::Lt => order(l, r) == Some(Ordering::Less),
        CmpOp::Le => matches!(order(l, r), Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => order(l, r) == Some(Ordering::Greater),
        CmpOp::Ge => matches!(order(l, r), Some(Ordering::Greater | Ordering::Equal)),
        CmpOp::In => matches!(r, Value::Array(items) if items.iter().any(|x| json_eq(l, x))),
        CmpOp::Nin => matches!(r, Value::Array(items) if !items.iter().any(|x| json_eq(l, x))),
        CmpOp::Empty => match (l, r) {
            (Value::String(s), Value::Bool(want)) => s.is_empty() == *want,
            (Value::Array(items), Value::Bool(want)) => items.is_empty() == *want,
            (Value::Object(map), Value::Bool(want)) => map.is_empty() == *want,
            _ => false,
        },
        CmpOp::Match => false,
    }
}

/// Jayway's regex input: strings and numbers as text, booleans as `true`/`false`, anything else
/// as the empty string; an array matches when any element does.
fn regex_matches(re: &Regex, v: &Value) -> bool {
    fn text(v: &Value) -> Cow<'_, str> {
        match v {
            Value::String(s) => Cow::Borrowed(s),
            Value::Number(n) => Cow::Owned(n.to_string()),
            Value::Bool(true) => Cow::Borrowed("true"),
            Value::Bool(false) => Cow::Borrowed("false"),
            _ => Cow::Borrowed(""),
        }
    }
    match v {
        Value::Array(items) => items.iter().any(|i| re.is_match(&text(i))),
        other => re.is_match(&text(other)),
    }
}

fn num_cmp(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    if a.is_u64() && b.is_i64() {
        // a > i64::MAX and b < 0.
        return Some(Ordering::Greater);
    }
    if a.is_i64() && b.is_u64() {
        return Some(Ordering::Less);
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// Numbers and strings compare within their kind (strings in Java's UTF-16 order).
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y),
        (Value::String(x), Value::String(y)) => Some(x.encode_utf16().cmp(y.encode_utf16())),
        _ => None,
    }
}

/// JSON equality with numbers compared by value (`1 == 1.0`); objects ignore key order.
/// Recursion follows the document's depth, which serde_json's parser already bounds.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y) == Some(Ordering::Equal),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(xm), Value::Object(ym)) => {
            xm.len() == ym.len()
                && xm
                    .iter()
                    .all(|(k, x)| ym.get(k).is_some_and(|y| json_eq(x, y)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use crate::jsonpath::{Resolution, parse};

    #[test]
    fn long_definite_paths_do_not_recurse() {
        let path = format!("${}", ".a".repeat(10_000));
        let parsed = parse(&path).unwrap();
        assert_eq!(
            parsed.evaluate(&serde_json::json!({"a": 1})),
            Ok(Resolution::NotFound)
        );
    }
}

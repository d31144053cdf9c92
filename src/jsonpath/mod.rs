//! JSONPath for translation maps, in the dialect Genesys Cloud evaluates: Jayway JsonPath.
//!
//! Genesys resolves each `translation_map` entry of a data action with Jayway JsonPath (default
//! configuration), whose syntax is wider than RFC 9535. This module parses that dialect once
//! ([`parse`]) and evaluates it many times against response bodies ([`JsonPath::evaluate`]), so
//! that `nodectl` can predict, offline, what Genesys will put in each translation variable.
//!
//! A path that starts with neither `$` nor `@` is read as Jayway reads it, with `$.` before it:
//! `entities[0].id` is `$.entities[0].id`, `[0]` is `$.[0]`, and `.a` is the deep scan `$..a`; a
//! top-level `@` is the document, as `$` is.
//!
//! Accepted: `$`, `.name`, `['name']` / `["name"]`, `.[0]` (Jayway's dot-then-bracket quirk),
//! `*` / `[*]`, deep scan `..name` / `..[0]` / `..*` / `..[?(…)]`, single indexes (negative
//! too), index unions `[0,2]`, name unions `['a','b']`, slices `[1:3]` `[:2]` `[-2:]`, filters
//! `[?(…)]` with `== != < <= > >= =~ in nin empty`, `&&`, `||`, parentheses, existence tests
//! `@.a` / `!@.a`, operands `@…` / `$…` paths, quoted strings, numbers, `true` / `false` /
//! `null`, JSON arrays and objects, `/regex/` with flags `i m s x`; and one trailing function
//! `length() size() min() max() avg() sum() keys() first() last()` (also inside filters, e.g.
//! `@.tags.length() > 2`).
//!
//! Errors come in two kinds ([`JsonPathErrorKind`]): *syntax* errors (not JSONPath at all) and
//! *unsupported* constructs (valid Jayway syntax outside nodectl's dialect: other functions,
//! function arguments, `subsetof` / `anyof` / `noneof` / `size` / `contains` / … operators,
//! `===`, `[?]` placeholders, `[(…)]` script expressions, slice steps, regex look-around).
//! When a path has both, the syntax error wins.
//!
//! Evaluation follows Jayway's rules:
//! - a *definite* path (only names and single indexes) yields its value, or
//!   [`Resolution::NotFound`] when nothing matches; a JSON `null` match is `Value(Null)`;
//! - an *indefinite* path yields the JSON array of all matches, possibly `[]`; but while the path
//!   is still definite (before its first wildcard, scan, filter, slice or union) a missing
//!   property, or a property / index / slice / filter applied to `null` or to the wrong kind of
//!   value, makes the whole path `NotFound`, as Jayway's `PathNotFoundException` does
//!   (`$.missing[*]` does not resolve; `$.list[*].missing` is `[]`);
//! - a name union as the last selector merges the present keys into one object per match
//!   (`$['a','b']` → `{"a":…,"b":…}`; `$.items[*]['id','name']` → an array of such objects);
//! - a trailing function applies to the result of the path before it (the value, or the array of
//!   matches) and yields one value; `sum avg min max` give JSON doubles; a function that cannot
//!   apply (wrong type, no numbers, empty array for `first()`) gives `NotFound`. One
//!   exception, as in Jayway: `length()` after a path that starts with `..` counts the children
//!   of the matches (`$..book.length()` is the number of books);
//! - a filter on an object tests the object itself (Jayway), on an array each element;
//! - slices use Jayway's arithmetic, including its handling of a negative start in `[a:b]`.
//!
//! Evaluation is bounded: every node a scan visits, every match, every filter test and every node
//! copied into the result costs a step, and past [`MAX_EVAL_STEPS`] [`JsonPath::evaluate`] fails
//! with [`BudgetExceeded`] (nested filters with deep scans, `$..[?(@..a)]`, are polynomial in the
//! document's size with a degree that grows with the nesting).
//!
//! Deliberate differences from Jayway: a comparison with a missing `@.x` is always false (Jayway
//! treats `!=` and `nin` against a missing property as true); `==` between a number and a string
//! is false; `max()` of negative numbers is correct (Jayway starts from `Double.MIN_VALUE`); a
//! scan followed by a filter tests objects only.
//!
//! Layout: `ast.rs` is the syntax tree, `parser.rs` turns path text into it, and `eval.rs`
//! evaluates it against a document within a budget; this file holds the public API.

mod ast;
mod eval;
mod parser;

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use ast::Query;
use eval::Budget;

/// Deepest nesting of filters, parentheses and JSON literals accepted by [`parse`].
pub const MAX_NESTING: usize = 32;

/// Steps one evaluation may take: a deep scan of a 512 000-byte response visits well under a
/// million nodes, so a path that needs more is a scan inside a scan (or worse).
pub const MAX_EVAL_STEPS: u64 = 2_000_000;

/// Steps of a quick evaluation ([`JsonPath::evaluate_within`]): a translation-map path over a
/// typical response needs far fewer.
pub const QUICK_EVAL_STEPS: u64 = 20_000;

/// An evaluation that ran out of its [`MAX_EVAL_STEPS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "JSONPath budget exceeded: more than {MAX_EVAL_STEPS} evaluation steps (deep scans or filters too costly for this document)"
)]
pub struct BudgetExceeded;

/// The two kinds of [`JsonPathError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonPathErrorKind {
    /// Not JSONPath at all.
    Syntax,
    /// Valid Jayway JsonPath that nodectl does not implement.
    Unsupported,
}

/// Why a path could not be parsed. Offsets count characters from 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonPathError {
    /// Not JSONPath: unbalanced bracket, unterminated string, junk characters, …
    #[error("{message} at offset {offset}{}", expected_suffix(.expected.as_deref()))]
    Syntax {
        /// Character offset of the problem.
        offset: usize,
        /// What is wrong, without the offset.
        message: String,
        /// What the parser expected instead, when that helps.
        expected: Option<String>,
    },
    /// Valid Jayway syntax outside nodectl's dialect.
    #[error("unsupported JSONPath {construct} (outside nodectl's dialect) at offset {offset}")]
    Unsupported {
        /// Character offset of the construct.
        offset: usize,
        /// The construct, e.g. ``function `stddev()` ``.
        construct: String,
    },
}

fn expected_suffix(expected: Option<&str>) -> String {
    expected
        .map(|e| format!("; expected {e}"))
        .unwrap_or_default()
}

impl JsonPathError {
    /// Whether this is a syntax error or an unsupported construct.
    pub fn kind(&self) -> JsonPathErrorKind {
        match self {
            JsonPathError::Syntax { .. } => JsonPathErrorKind::Syntax,
            JsonPathError::Unsupported { .. } => JsonPathErrorKind::Unsupported,
        }
    }

    /// The same error `by` characters earlier (an error in the text with Jayway's implied `$.`
    /// before it, located in the text as written; a problem inside the prefix is at 0).
    fn shifted_back(self, by: usize) -> Self {
        match self {
            JsonPathError::Syntax {
                offset,
                message,
                expected,
            } => JsonPathError::Syntax {
                offset: offset.saturating_sub(by),
                message,
                expected,
            },
            JsonPathError::Unsupported { offset, construct } => JsonPathError::Unsupported {
                offset: offset.saturating_sub(by),
                construct,
            },
        }
    }

    /// Character offset (0-based) of the problem in the path text.
    pub fn offset(&self) -> usize {
        match self {
            JsonPathError::Syntax { offset, .. } | JsonPathError::Unsupported { offset, .. } => {
                *offset
            }
        }
    }
}

/// The result of evaluating a path against a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// The path resolved to this value (possibly JSON `null`, or an array of matches).
    Value(Value),
    /// The path does not resolve (Jayway's `PathNotFoundException`).
    NotFound,
}

impl Resolution {
    /// The resolved value, if any.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Resolution::Value(v) => Some(v),
            Resolution::NotFound => None,
        }
    }

    /// The resolved value, if any, by value.
    pub fn into_value(self) -> Option<Value> {
        match self {
            Resolution::Value(v) => Some(v),
            Resolution::NotFound => None,
        }
    }
}

/// A parsed JSONPath, ready to be evaluated many times.
#[derive(Debug, Clone)]
pub struct JsonPath {
    source: String,
    query: Query,
}

/// Parses a JSONPath in Jayway's dialect.
pub fn parse(path: &str) -> Result<JsonPath, JsonPathError> {
    let query = parser::parse_path(path)?;
    Ok(JsonPath {
        source: path.to_owned(),
        query,
    })
}

impl JsonPath {
    /// Jayway's definiteness test: no wildcard, deep scan, filter, slice or union (a negative
    /// single index is still definite). A trailing function does not change it.
    pub fn is_definite(&self) -> bool {
        self.query.first_indefinite == self.query.segments.len()
    }

    /// Evaluates the path against `doc` (which is also `$` inside filters); fails only when the
    /// evaluation would take more than [`MAX_EVAL_STEPS`].
    pub fn evaluate(&self, doc: &Value) -> Result<Resolution, BudgetExceeded> {
        self.evaluate_within(doc, MAX_EVAL_STEPS)
    }

    /// [`JsonPath::evaluate`] with a budget of `steps` (at most [`MAX_EVAL_STEPS`] make sense):
    /// servers try [`QUICK_EVAL_STEPS`] inline and hand a path that needs more to a thread that
    /// may block.
    pub fn evaluate_within(&self, doc: &Value, steps: u64) -> Result<Resolution, BudgetExceeded> {
        let budget = Budget::new(steps);
        let resolved = self.query.resolve(doc, doc, &budget);
        let value = match resolved.into_cow(&budget) {
            Some(v) => Resolution::Value(v.into_owned()),
            None => Resolution::NotFound,
        };
        if budget.is_spent() {
            return Err(BudgetExceeded);
        }
        Ok(value)
    }

    /// The path text as given to [`parse`].
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for JsonPath {
    type Err = JsonPathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_shareable() {
        fn assert_traits<T: Clone + fmt::Debug + Send + Sync>() {}
        assert_traits::<JsonPath>();
        assert_traits::<JsonPathError>();
        assert_traits::<Resolution>();
    }
}

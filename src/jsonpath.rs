//! JSONPath for translation maps, in the dialect Genesys Cloud evaluates: Jayway JsonPath.
//!
//! Genesys resolves each `translation_map` entry of a data action with Jayway JsonPath (default
//! configuration), whose syntax is wider than RFC 9535. This module parses that dialect once
//! ([`parse`]) and evaluates it many times against response bodies ([`JsonPath::evaluate`]), so
//! that `nodectl` can predict, offline, what Genesys will put in each translation variable.
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

use std::borrow::Cow;
use std::cell::Cell;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Number, Value};

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

/// The steps left to one evaluation. Once spent, every further charge fails at once, so loops
/// over nodes stop in a step each without every function returning a `Result`.
struct Budget {
    left: Cell<u64>,
    spent: Cell<bool>,
}

impl Budget {
    fn new(steps: u64) -> Budget {
        Budget {
            left: Cell::new(steps),
            spent: Cell::new(false),
        }
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
    let chars: Vec<char> = path.chars().collect();
    let Some(start) = chars.iter().position(|c| !c.is_whitespace()) else {
        return Err(JsonPathError::Syntax {
            offset: 0,
            message: "empty JSONPath".to_owned(),
            expected: None,
        });
    };
    let end = chars
        .iter()
        .rposition(|c| !c.is_whitespace())
        .map_or(chars.len(), |i| i + 1);
    let mut parser = Parser {
        chars,
        pos: start,
        end,
        depth: 0,
        unsupported: None,
    };
    let query = parser.parse_root()?;
    if let Some(err) = parser.unsupported.take() {
        return Err(err);
    }
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
        if budget.spent.get() {
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

// ---------------------------------------------------------------------------------------------
// Syntax tree
// ---------------------------------------------------------------------------------------------

/// A path after its `$` or `@`: selectors, then at most one function.
#[derive(Debug, Clone)]
struct Query {
    segments: Vec<Segment>,
    function: Option<Function>,
    /// Index of the first segment that is not a plain name or single index.
    first_indefinite: usize,
}

#[derive(Debug, Clone)]
struct Segment {
    /// Preceded by `..`.
    descendant: bool,
    selector: Selector,
}

impl Segment {
    fn is_definite(&self) -> bool {
        !self.descendant && matches!(self.selector, Selector::Name(_) | Selector::Index(_))
    }
}

#[derive(Debug, Clone)]
enum Selector {
    Name(String),
    Names(Vec<String>),
    Wildcard,
    Index(i64),
    Indexes(Vec<i64>),
    Slice { from: Option<i64>, to: Option<i64> },
    Filter(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Length,
    Min,
    Max,
    Avg,
    Sum,
    Keys,
    First,
    Last,
}

impl Function {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "length" | "size" => Function::Length,
            "min" => Function::Min,
            "max" => Function::Max,
            "avg" => Function::Avg,
            "sum" => Function::Sum,
            "keys" => Function::Keys,
            "first" => Function::First,
            "last" => Function::Last,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Exists {
        path: PathOperand,
        negated: bool,
    },
    Compare {
        left: Operand,
        op: CmpOp,
        right: Operand,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    In,
    Nin,
    Empty,
}

#[derive(Debug, Clone)]
struct PathOperand {
    /// `$…` rather than `@…`.
    from_root: bool,
    query: Query,
}

#[derive(Debug, Clone)]
enum Operand {
    Path(PathOperand),
    Literal(Value),
    Regex(Regex),
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

type PResult<T> = Result<T, JsonPathError>;

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// One past the last non-whitespace character.
    end: usize,
    depth: usize,
    /// First unsupported construct seen; reported only if no syntax error follows.
    unsupported: Option<JsonPathError>,
}

fn is_name_char(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(
            c,
            '.' | '['
                | ']'
                | '('
                | ')'
                | '\''
                | '"'
                | ','
                | '='
                | '!'
                | '<'
                | '>'
                | '~'
                | '&'
                | '|'
        )
}

fn describe(c: char) -> String {
    if c.is_whitespace() {
        "whitespace".to_owned()
    } else {
        format!("character `{c}`")
    }
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        let i = self.pos.checked_add(k)?;
        if i < self.end {
            self.chars.get(i).copied()
        } else {
            None
        }
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(k, c)| self.peek_at(k) == Some(c))
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.chars
            .get(from..to)
            .map(|cs| cs.iter().collect())
            .unwrap_or_default()
    }

    fn syntax<T>(&self, offset: usize, message: impl Into<String>) -> PResult<T> {
        Err(JsonPathError::Syntax {
            offset,
            message: message.into(),
            expected: None,
        })
    }

    fn unexpected<T>(&self, expected: &str) -> PResult<T> {
        let message = match self.peek() {
            None => "unexpected end of path".to_owned(),
            Some(c) => format!("unexpected {}", describe(c)),
        };
        Err(JsonPathError::Syntax {
            offset: self.pos,
            message,
            expected: Some(expected.to_owned()),
        })
    }

    fn note_unsupported(&mut self, offset: usize, construct: impl Into<String>) {
        if self.unsupported.is_none() {
            self.unsupported = Some(JsonPathError::Unsupported {
                offset,
                construct: construct.into(),
            });
        }
    }

    fn enter(&mut self, offset: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return self.syntax(
                offset,
                format!(
                    "JSONPath nested deeper than {MAX_NESTING} levels (filters, parentheses or JSON literals)"
                ),
            );
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn parse_root(&mut self) -> PResult<Query> {
        match self.peek() {
            Some('$') => self.bump(),
            Some('@') => {
                return self.syntax(
                    self.pos,
                    "a JSONPath must start with `$` (`@` is only valid inside a filter)",
                );
            }
            _ => return self.syntax(self.pos, "a JSONPath must start with `$`"),
        }
        let query = self.parse_query()?;
        match self.peek() {
            None => Ok(query),
            Some(']') => self.syntax(self.pos, "unbalanced `]` (no matching `[`)"),
            Some(c) if c.is_whitespace() => self.unexpected(
                "`.`, `[` or the end of the path (write a name with spaces as ['my name'])",
            ),
            Some(_) => self.unexpected("`.`, `[` or the end of the path"),
        }
    }

    /// Segments and an optional trailing function, after `$` or `@`.
    fn parse_query(&mut self) -> PResult<Query> {
        let mut segments = Vec::new();
        let mut function = None;
        let mut function_seen = false;
        loop {
            let at = self.pos;
            let descendant = match self.peek() {
                Some('.') => {
                    self.bump();
                    self.eat('.')
                }
                Some('[') => {
                    let selector = self.parse_bracket()?;
                    segments.push(Segment {
                        descendant: false,
                        selector,
                    });
                    self.check_after_function(function_seen, at);
                    continue;
                }
                _ => break,
            };
            self.check_after_function(function_seen, at);
            match self.peek() {
                None => {
                    let what = if descendant { "`..`" } else { "`.`" };
                    return self.syntax(at, format!("a path must not end with {what}"));
                }
                Some('[') => {
                    let selector = self.parse_bracket()?;
                    segments.push(Segment {
                        descendant,
                        selector,
                    });
                }
                Some('*') => {
                    self.bump();
                    segments.push(Segment {
                        descendant,
                        selector: Selector::Wildcard,
                    });
                }
                Some(c) if is_name_char(c) => {
                    let name_at = self.pos;
                    while self.peek().is_some_and(is_name_char) {
                        self.bump();
                    }
                    let name = self.text(name_at, self.pos);
                    if self.peek() == Some('(') {
                        let parsed = self.parse_function(&name, name_at)?;
                        if descendant {
                            self.note_unsupported(
                                name_at,
                                format!("function `{name}()` directly after a deep scan `..`"),
                            );
                        }
                        function = parsed;
                        function_seen = true;
                    } else {
                        segments.push(Segment {
                            descendant,
                            selector: Selector::Name(name),
                        });
                    }
                }
                Some(_) => {
                    let after = if descendant { "`..`" } else { "`.`" };
                    return self.unexpected(&format!("a name, `*` or `[` after {after}"));
                }
            }
        }
        let first_indefinite = segments
            .iter()
            .position(|s| !s.is_definite())
            .unwrap_or(segments.len());
        Ok(Query {
            segments,
            function,
            first_indefinite,
        })
    }

    fn check_after_function(&mut self, function_seen: bool, at: usize) {
        if function_seen {
            self.note_unsupported(at, "path after a function (a function must end the path)");
        }
    }

    /// `name(` … `)`; the name is already read and `pos` is at `(`.
    fn parse_function(&mut self, name: &str, name_at: usize) -> PResult<Option<Function>> {
        let open = self.pos;
        self.bump();
        let args_start = self.pos;
        let mut depth = 1usize;
        loop {
            match self.peek() {
                None => {
                    return self.syntax(open, format!("unclosed `(` in the call of `{name}()`"));
                }
                Some('\'' | '"') => {
                    self.parse_string()?;
                }
                Some('(') => {
                    depth += 1;
                    self.bump();
                }
                Some(')') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    self.bump();
                }
                Some(_) => self.bump(),
            }
        }
        let has_args = self
            .chars
            .get(args_start..self.pos)
            .is_some_and(|cs| cs.iter().any(|c| !c.is_whitespace()));
        self.bump();
        match Function::from_name(name) {
            Some(f) if !has_args => Ok(Some(f)),
            Some(_) => {
                self.note_unsupported(name_at, format!("function `{name}(…)` with arguments"));
                Ok(None)
            }
            None => {
                self.note_unsupported(name_at, format!("function `{name}()`"));
                Ok(None)
            }
        }
    }

    /// `[` … `]`; `pos` is at `[`.
    fn parse_bracket(&mut self) -> PResult<Selector> {
        let open = self.pos;
        self.bump();
        self.skip_ws();
        let selector = match self.peek() {
            None => return self.syntax(open, "unbalanced `[` (no matching `]`)"),
            Some('?') => self.parse_filter(open)?,
            Some('*') => {
                self.bump();
                Selector::Wildcard
            }
            Some('\'' | '"') => {
                let first = self.parse_string()?;
                let mut names = Vec::new();
                loop {
                    self.skip_ws();
                    if !self.eat(',') {
                        break;
                    }
                    self.skip_ws();
                    match self.peek() {
                        Some('\'' | '"') => names.push(self.parse_string()?),
                        _ => return self.unexpected("a quoted name after `,`"),
                    }
                }
                if names.is_empty() {
                    Selector::Name(first)
                } else {
                    names.insert(0, first);
                    Selector::Names(names)
                }
            }
            Some(c) if c == '-' || c == ':' || c.is_ascii_digit() => self.parse_indexes()?,
            Some(']') => return self.syntax(open, "empty brackets `[]`"),
            Some('(') => {
                let at = self.pos;
                self.skip_group()?;
                self.note_unsupported(at, "script expression `[(…)]`");
                Selector::Wildcard
            }
            Some(_) => {
                return self.unexpected(
                    "a quoted name, an index, a slice, `*` or a filter `?(…)` inside `[`",
                );
            }
        };
        self.skip_ws();
        match self.peek() {
            Some(']') => {
                self.bump();
                Ok(selector)
            }
            None => self.syntax(open, "unbalanced `[` (no matching `]`)"),
            Some(_) => self.unexpected("`]`"),
        }
    }

    /// Skips a parenthesised group (for reporting unsupported script expressions).
    fn skip_group(&mut self) -> PResult<()> {
        let open = self.pos;
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return self.syntax(open, "unbalanced `(` (no matching `)`)"),
                Some('\'' | '"') => {
                    self.parse_string()?;
                    continue;
                }
                Some('(') => depth += 1,
                Some(')') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.bump();
                        return Ok(());
                    }
                }
                Some(_) => {}
            }
            self.bump();
        }
    }

    fn parse_int(&mut self) -> PResult<Option<i64>> {
        let at = self.pos;
        let negative = self.eat('-');
        let digits_at = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.pos == digits_at {
            if negative {
                return self.unexpected("digits after `-`");
            }
            return Ok(None);
        }
        match self.text(at, self.pos).parse::<i64>() {
            Ok(i) => Ok(Some(i)),
            Err(_) => self.syntax(at, "array index out of range"),
        }
    }

    fn parse_indexes(&mut self) -> PResult<Selector> {
        let at = self.pos;
        let first = self.parse_int()?;
        self.skip_ws();
        if self.eat(':') {
            self.skip_ws();
            let to = self.parse_int()?;
            self.skip_ws();
            if self.peek() == Some(':') {
                let step_at = self.pos;
                self.bump();
                self.skip_ws();
                self.parse_int()?;
                self.note_unsupported(step_at, "slice step `[start:end:step]`");
            }
            if first.is_none() && to.is_none() {
                return self.syntax(at, "a slice needs a start or an end, e.g. `[1:]` or `[:2]`");
            }
            return Ok(Selector::Slice { from: first, to });
        }
        let Some(first) = first else {
            return self.unexpected("an index");
        };
        let mut indexes = vec![first];
        loop {
            self.skip_ws();
            if !self.eat(',') {
                break;
            }
            self.skip_ws();
            match self.parse_int()? {
                Some(i) => indexes.push(i),
                None => return self.unexpected("an index after `,`"),
            }
        }
        Ok(if indexes.len() == 1 {
            Selector::Index(first)
        } else {
            Selector::Indexes(indexes)
        })
    }

    /// A quoted string; `pos` is at the opening quote.
    fn parse_string(&mut self) -> PResult<String> {
        let open = self.pos;
        let Some(quote) = self.peek() else {
            return self.unexpected("a quoted string");
        };
        self.bump();
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.syntax(open, "unterminated string literal");
            };
            self.bump();
            if c == quote {
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek() else {
                return self.syntax(open, "unterminated string literal");
            };
            let escape_at = self.pos - 1;
            self.bump();
            match e {
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let unit = self.parse_hex4(escape_at)?;
                    let c = if (0xD800..0xDC00).contains(&unit) && self.starts_with("\\u") {
                        let low_at = self.pos;
                        self.pos += 2;
                        let low = self.parse_hex4(low_at)?;
                        if !(0xDC00..0xE000).contains(&low) {
                            return self.syntax(escape_at, "invalid `\\u` surrogate pair");
                        }
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                    } else {
                        char::from_u32(unit)
                    };
                    match c {
                        Some(c) => out.push(c),
                        None => return self.syntax(escape_at, "invalid `\\u` escape"),
                    }
                }
                other => out.push(other),
            }
        }
    }

    fn parse_hex4(&mut self, escape_at: usize) -> PResult<u32> {
        let mut value = 0u32;
        for _ in 0..4 {
            match self.peek().and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    value = value * 16 + d;
                    self.bump();
                }
                None => return self.syntax(escape_at, "invalid `\\u` escape"),
            }
        }
        Ok(value)
    }

    /// `?(` … `)` inside brackets; `pos` is at `?`.
    fn parse_filter(&mut self, open: usize) -> PResult<Selector> {
        let question = self.pos;
        self.bump();
        self.skip_ws();
        match self.peek() {
            Some('(') => {}
            Some(']') => {
                self.note_unsupported(question, "filter placeholder `[?]`");
                return Ok(Selector::Wildcard);
            }
            None => return self.syntax(open, "unbalanced `[` (no matching `]`)"),
            Some(_) => return self.unexpected("`(` after `[?` (filters are written `[?(…)]`)"),
        }
        let paren = self.pos;
        self.enter(paren)?;
        self.bump();
        let expr = self.parse_or()?;
        self.skip_ws();
        match self.peek() {
            Some(')') => self.bump(),
            None | Some(']') => {
                return self.syntax(paren, "unbalanced `(` in filter (no matching `)`)");
            }
            Some(_) => return self.unexpected("`&&`, `||` or `)` in filter"),
        }
        self.leave();
        Ok(Selector::Filter(Box::new(expr)))
    }

    fn parse_or(&mut self) -> PResult<Expr> {
        let mut terms = vec![self.parse_and()?];
        loop {
            self.skip_ws();
            if !self.starts_with("||") {
                break;
            }
            self.pos += 2;
            terms.push(self.parse_and()?);
        }
        Ok(collapse(terms, Expr::Or))
    }

    fn parse_and(&mut self) -> PResult<Expr> {
        let mut terms = vec![self.parse_atom()?];
        loop {
            self.skip_ws();
            if !self.starts_with("&&") {
                break;
            }
            self.pos += 2;
            terms.push(self.parse_atom()?);
        }
        Ok(collapse(terms, Expr::And))
    }

    fn at_condition_end(&self) -> bool {
        matches!(self.peek(), None | Some(')' | ']'))
            || self.starts_with("&&")
            || self.starts_with("||")
    }

    fn parse_atom(&mut self) -> PResult<Expr> {
        self.skip_ws();
        let at = self.pos;
        match self.peek() {
            Some('(') => {
                self.enter(at)?;
                self.bump();
                let expr = self.parse_or()?;
                self.skip_ws();
                match self.peek() {
                    Some(')') => self.bump(),
                    None | Some(']') => {
                        return self.syntax(at, "unbalanced `(` in filter (no matching `)`)");
                    }
                    Some(_) => return self.unexpected("`&&`, `||` or `)` in filter"),
                }
                self.leave();
                Ok(expr)
            }
            Some('!') if self.peek_at(1) != Some('=') => {
                self.bump();
                self.skip_ws();
                let path = match self.peek() {
                    Some('@' | '$') => self.parse_path_operand()?,
                    _ => {
                        return self
                            .syntax(at, "`!` can only negate an existence test like `!@.a`");
                    }
                };
                self.skip_ws();
                if !self.at_condition_end() {
                    return self.syntax(at, "`!` can only negate an existence test like `!@.a`");
                }
                Ok(Expr::Exists {
                    path,
                    negated: true,
                })
            }
            _ => {
                let left = self.parse_operand()?;
                self.skip_ws();
                if self.at_condition_end() {
                    return match left {
                        Operand::Path(path) => Ok(Expr::Exists {
                            path,
                            negated: false,
                        }),
                        _ => self.unexpected("a comparison operator after the literal"),
                    };
                }
                let op = self.parse_operator()?;
                self.skip_ws();
                let right_at = self.pos;
                let right = self.parse_operand()?;
                match (op, &right) {
                    (Some(CmpOp::Empty), r) if !matches!(r, Operand::Literal(Value::Bool(_))) => {
                        self.syntax(right_at, "`empty` must be followed by true or false")
                    }
                    (Some(CmpOp::In | CmpOp::Nin), r)
                        if !matches!(r, Operand::Path(_) | Operand::Literal(Value::Array(_))) =>
                    {
                        self.syntax(
                            right_at,
                            "`in` and `nin` expect a JSON array like ['a','b']",
                        )
                    }
                    _ => Ok(Expr::Compare {
                        left,
                        op: op.unwrap_or(CmpOp::Eq),
                        right,
                    }),
                }
            }
        }
    }

    /// A relational operator; `None` for a recognised but unsupported one (already noted).
    fn parse_operator(&mut self) -> PResult<Option<CmpOp>> {
        let at = self.pos;
        let symbolic: [(&str, Option<CmpOp>); 10] = [
            ("===", None),
            ("!==", None),
            ("==", Some(CmpOp::Eq)),
            ("!=", Some(CmpOp::Ne)),
            ("<=", Some(CmpOp::Le)),
            (">=", Some(CmpOp::Ge)),
            ("=~", Some(CmpOp::Match)),
            ("<", Some(CmpOp::Lt)),
            (">", Some(CmpOp::Gt)),
            ("=", None),
        ];
        for (text, op) in symbolic {
            if self.starts_with(text) {
                if text == "=" {
                    return self.syntax(at, "`=` is not an operator; use `==`");
                }
                self.pos += text.chars().count();
                if op.is_none() {
                    self.note_unsupported(at, format!("filter operator `{text}`"));
                }
                return Ok(op);
            }
        }
        if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                self.bump();
            }
            let word = self.text(at, self.pos);
            return match word.as_str() {
                "in" => Ok(Some(CmpOp::In)),
                "nin" => Ok(Some(CmpOp::Nin)),
                "empty" => Ok(Some(CmpOp::Empty)),
                "subsetof" | "anyof" | "noneof" | "size" | "contains" | "all" | "exists"
                | "type" | "matches" => {
                    self.note_unsupported(at, format!("filter operator `{word}`"));
                    Ok(None)
                }
                _ => self.syntax(at, format!("unknown filter operator `{word}`")),
            };
        }
        self.unexpected("a comparison operator (== != < <= > >= =~ in nin empty)")
    }

    fn parse_path_operand(&mut self) -> PResult<PathOperand> {
        let from_root = self.peek() == Some('$');
        self.bump();
        let query = self.parse_query()?;
        Ok(PathOperand { from_root, query })
    }

    fn parse_operand(&mut self) -> PResult<Operand> {
        self.skip_ws();
        match self.peek() {
            Some('@' | '$') => Ok(Operand::Path(self.parse_path_operand()?)),
            Some('/') => Ok(match self.parse_regex()? {
                Some(re) => Operand::Regex(re),
                None => Operand::Literal(Value::Null),
            }),
            Some(_) => Ok(Operand::Literal(self.parse_literal()?)),
            None => self.unexpected("a value"),
        }
    }

    /// A JSON-ish literal: strings in either quote, numbers, true/false/null, arrays, objects.
    fn parse_literal(&mut self) -> PResult<Value> {
        self.skip_ws();
        let at = self.pos;
        match self.peek() {
            Some('\'' | '"') => Ok(Value::String(self.parse_string()?)),
            Some(c) if c == '-' || c.is_ascii_digit() => Ok(Value::Number(self.parse_number()?)),
            Some('[') => {
                self.enter(at)?;
                self.bump();
                let mut items = Vec::new();
                self.skip_ws();
                if !self.eat(']') {
                    loop {
                        items.push(self.parse_literal()?);
                        self.skip_ws();
                        if self.eat(',') {
                            continue;
                        }
                        if self.eat(']') {
                            break;
                        }
                        if self.peek().is_none() {
                            return self
                                .syntax(at, "unbalanced `[` in JSON literal (no matching `]`)");
                        }
                        return self.unexpected("`,` or `]` in JSON array");
                    }
                }
                self.leave();
                Ok(Value::Array(items))
            }
            Some('{') => {
                self.enter(at)?;
                self.bump();
                let mut map = Map::new();
                self.skip_ws();
                if !self.eat('}') {
                    loop {
                        self.skip_ws();
                        if !matches!(self.peek(), Some('\'' | '"')) {
                            return self.unexpected("a quoted key in JSON object");
                        }
                        let key = self.parse_string()?;
                        self.skip_ws();
                        if !self.eat(':') {
                            return self.unexpected("`:` in JSON object");
                        }
                        let value = self.parse_literal()?;
                        map.insert(key, value);
                        self.skip_ws();
                        if self.eat(',') {
                            continue;
                        }
                        if self.eat('}') {
                            break;
                        }
                        if self.peek().is_none() {
                            return self
                                .syntax(at, "unbalanced `{` in JSON literal (no matching `}`)");
                        }
                        return self.unexpected("`,` or `}` in JSON object");
                    }
                }
                self.leave();
                Ok(Value::Object(map))
            }
            Some(c) if c.is_alphabetic() => {
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.bump();
                }
                match self.text(at, self.pos).as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" => Ok(Value::Null),
                    word => self.syntax(
                        at,
                        format!("unexpected `{word}`; expected a value (quote strings)"),
                    ),
                }
            }
            _ => self
                .unexpected("a value (path, string, number, true, false, null, array or /regex/)"),
        }
    }

    fn parse_number(&mut self) -> PResult<Number> {
        let at = self.pos;
        self.eat('-');
        let digits = |p: &mut Parser| {
            let from = p.pos;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.bump();
            }
            p.pos > from
        };
        if !digits(self) {
            return self.syntax(at, "invalid number");
        }
        let mut float = false;
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            digits(self);
            float = true;
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.bump();
            if !self.eat('+') {
                self.eat('-');
            }
            if !digits(self) {
                return self.syntax(at, "invalid number");
            }
            float = true;
        }
        let text = self.text(at, self.pos);
        if !float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Number::from(i));
            }
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Number::from(u));
            }
        }
        match text.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Ok(n),
            None => self.syntax(at, "number out of range"),
        }
    }

    /// `/…/flags`; `None` when the pattern uses an unsupported feature (already noted).
    fn parse_regex(&mut self) -> PResult<Option<Regex>> {
        let at = self.pos;
        self.bump();
        let mut body = String::new();
        loop {
            match self.peek() {
                None => return self.syntax(at, "unterminated regular expression"),
                Some('/') => {
                    self.bump();
                    break;
                }
                Some('\\') => {
                    self.bump();
                    match self.peek() {
                        Some('/') => body.push('/'),
                        Some(c) => {
                            body.push('\\');
                            body.push(c);
                        }
                        None => return self.syntax(at, "unterminated regular expression"),
                    }
                    self.bump();
                }
                Some(c) => {
                    body.push(c);
                    self.bump();
                }
            }
        }
        let mut builder_flags = (false, false, false, false);
        while let Some(c) = self.peek().filter(char::is_ascii_alphabetic) {
            match c {
                'i' => builder_flags.0 = true,
                'm' => builder_flags.1 = true,
                's' => builder_flags.2 = true,
                'x' => builder_flags.3 = true,
                'u' => {}
                'd' | 'U' => {
                    self.note_unsupported(self.pos, format!("regular-expression flag `{c}`"))
                }
                _ => {
                    return self.syntax(self.pos, format!("unknown regular-expression flag `{c}`"));
                }
            }
            self.bump();
        }
        let (case_insensitive, multi_line, dot_all, extended) = builder_flags;
        // Jayway uses Java's `Matcher.matches()`: the whole input must match.
        let pattern = if extended {
            format!("\\A(?:{body}\n)\\z")
        } else {
            format!("\\A(?:{body})\\z")
        };
        let built = RegexBuilder::new(&pattern)
            .case_insensitive(case_insensitive)
            .multi_line(multi_line)
            .dot_matches_new_line(dot_all)
            .ignore_whitespace(extended)
            .build();
        match built {
            Ok(re) => Ok(Some(re)),
            Err(regex::Error::Syntax(msg)) => {
                let reason = msg
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("error:"))
                    .map_or_else(|| msg.clone(), |r| r.trim().to_owned());
                if reason.contains("not supported") {
                    self.note_unsupported(at, format!("regular-expression feature ({reason})"));
                    Ok(None)
                } else {
                    self.syntax(at, format!("invalid regular expression: {reason}"))
                }
            }
            Err(_) => {
                self.note_unsupported(at, "regular expression too large");
                Ok(None)
            }
        }
    }
}

fn collapse(mut terms: Vec<Expr>, combine: fn(Vec<Expr>) -> Expr) -> Expr {
    if terms.len() == 1
        && let Some(only) = terms.pop()
    {
        return only;
    }
    combine(terms)
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/// What a query resolves to, borrowing from the document where it can.
enum Resolved<'a> {
    Missing,
    One(&'a Value),
    Many(Vec<&'a Value>),
    Owned(Value),
}

impl<'a> Resolved<'a> {
    fn into_cow(self, budget: &Budget) -> Option<Cow<'a, Value>> {
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
    fn resolve<'a>(&'a self, start: &'a Value, root: &'a Value, budget: &Budget) -> Resolved<'a> {
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
    use super::*;

    #[test]
    fn types_are_shareable() {
        fn assert_traits<T: Clone + fmt::Debug + Send + Sync>() {}
        assert_traits::<JsonPath>();
        assert_traits::<JsonPathError>();
        assert_traits::<Resolution>();
    }

    #[test]
    fn error_kind_and_offset() {
        let err = parse("$['a").unwrap_err();
        assert_eq!(err.kind(), JsonPathErrorKind::Syntax);
        assert_eq!(err.offset(), 2);
        assert_eq!(err.to_string(), "unterminated string literal at offset 2");
        let err = parse("$.a.stddev()").unwrap_err();
        assert_eq!(err.kind(), JsonPathErrorKind::Unsupported);
        assert_eq!(err.offset(), 4);
        assert!(
            err.to_string()
                .contains("unsupported JSONPath function `stddev()` (outside nodectl's dialect)")
        );
    }

    #[test]
    fn deep_nesting_is_rejected_without_overflow() {
        let mut path = String::from("$");
        for _ in 0..200 {
            path.push_str("[?(@");
        }
        for _ in 0..200 {
            path.push_str(")]");
        }
        let err = parse(&path).unwrap_err();
        assert_eq!(err.kind(), JsonPathErrorKind::Syntax);
        assert!(err.to_string().contains("nested deeper than 32"));

        let parens = format!("$[?({}@.a{})]", "(".repeat(100), ")".repeat(100));
        assert!(parse(&parens).is_err());
        let ok = format!("$[?({}@.a{})]", "(".repeat(10), ")".repeat(10));
        assert!(parse(&ok).is_ok());
    }

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

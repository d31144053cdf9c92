//! The JSONPath parser: a hand-written recursive descent over characters that builds the
//! [`Query`] of a path, reporting syntax errors at once and the first unsupported construct only
//! when no syntax error follows.

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Number, Value};

use super::JsonPathError;
use super::MAX_NESTING;
use super::ast::{CmpOp, Expr, Function, Operand, PathOperand, Query, Segment, Selector};

type PResult<T> = Result<T, JsonPathError>;

/// Parses the text of a whole path (surrounding whitespace allowed) into its query.
///
/// A path whose first non-whitespace character is neither `$` nor `@` is read as Jayway's
/// `PathCompiler.compile` reads it: as `$.` followed by the whole text, leading whitespace
/// included (`entities[0].id` is `$.entities[0].id`, `[0]` is `$.[0]`, `.a` is the deep scan
/// `$..a`). Offsets in errors still count characters of the text as written. A top-level `@` is
/// the document, as `$` is.
pub(super) fn parse_path(path: &str) -> PResult<Query> {
    let written: Vec<char> = path.chars().collect();
    let Some(first) = written.iter().position(|c| !c.is_whitespace()) else {
        return Err(JsonPathError::Syntax {
            offset: 0,
            message: "empty JSONPath".to_owned(),
            expected: None,
        });
    };
    if matches!(written.get(first), Some('$' | '@')) {
        return parse_chars(written, first);
    }
    let mut chars: Vec<char> = IMPLIED_ROOT.chars().collect();
    chars.extend(written);
    parse_chars(chars, 0).map_err(|err| err.shifted_back(IMPLIED_ROOT.len()))
}

/// What Jayway puts before a path that starts with neither `$` nor `@`.
const IMPLIED_ROOT: &str = "$.";

/// Parses `chars` from `start`, its first non-whitespace character.
fn parse_chars(chars: Vec<char>, start: usize) -> PResult<Query> {
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
    Ok(query)
}

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
            // Jayway compiles a top-level `@` as a root token too, evaluated against the
            // document itself.
            Some('$' | '@') => self.bump(),
            _ => return self.syntax(self.pos, "a JSONPath must start with `$` or `@`"),
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

#[cfg(test)]
mod tests {
    use crate::jsonpath::{JsonPathErrorKind, parse};

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
}

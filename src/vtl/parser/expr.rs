//! Expression parsing: literals (numbers, strings with interpolation, lists, ranges, maps),
//! references, parentheses, unary `!` / `not` / `-`, and the binary operators by precedence
//! climbing over [`BINARY_OPERATORS`].

use super::super::ast::{BinExpr, BinOp, Expr, ExprKind, Node};
use super::{PResult, Parser};

/// How a binary operator is written.
#[derive(Debug, Clone, Copy)]
enum Spelling {
    /// Punctuation, recognised wherever it starts (`-` only when it does not start a negative
    /// number, as in Velocity's lexer).
    Symbol(&'static str),
    /// A word operator (`and`, `eq`, …), recognised only when no word character follows.
    Word(&'static str),
}

impl Spelling {
    fn len(self) -> usize {
        match self {
            Spelling::Symbol(text) | Spelling::Word(text) => text.len(),
        }
    }
}

/// One row of [`BINARY_OPERATORS`].
#[derive(Debug)]
struct BinaryOperator {
    spelling: Spelling,
    /// Binds tighter the higher it is; operators of one precedence associate to the left.
    precedence: u8,
    op: BinOp,
}

const fn operator(spelling: Spelling, precedence: u8, op: BinOp) -> BinaryOperator {
    BinaryOperator {
        spelling,
        precedence,
        op,
    }
}

/// Velocity's binary operators, loosest first: `||` < `&&` < equality < relational <
/// additive < multiplicative. Within a precedence, a symbol comes before any symbol that is its
/// prefix (`<=` before `<`).
const BINARY_OPERATORS: &[BinaryOperator] = &[
    operator(Spelling::Symbol("||"), 1, BinOp::Or),
    operator(Spelling::Word("or"), 1, BinOp::Or),
    operator(Spelling::Symbol("&&"), 2, BinOp::And),
    operator(Spelling::Word("and"), 2, BinOp::And),
    operator(Spelling::Symbol("=="), 3, BinOp::Eq),
    operator(Spelling::Symbol("!="), 3, BinOp::Ne),
    operator(Spelling::Word("eq"), 3, BinOp::Eq),
    operator(Spelling::Word("ne"), 3, BinOp::Ne),
    operator(Spelling::Symbol("<="), 4, BinOp::Le),
    operator(Spelling::Symbol(">="), 4, BinOp::Ge),
    operator(Spelling::Symbol("<"), 4, BinOp::Lt),
    operator(Spelling::Symbol(">"), 4, BinOp::Gt),
    operator(Spelling::Word("le"), 4, BinOp::Le),
    operator(Spelling::Word("ge"), 4, BinOp::Ge),
    operator(Spelling::Word("lt"), 4, BinOp::Lt),
    operator(Spelling::Word("gt"), 4, BinOp::Gt),
    operator(Spelling::Symbol("+"), 5, BinOp::Add),
    operator(Spelling::Symbol("-"), 5, BinOp::Sub),
    operator(Spelling::Symbol("*"), 6, BinOp::Mul),
    operator(Spelling::Symbol("/"), 6, BinOp::Div),
    operator(Spelling::Symbol("%"), 6, BinOp::Mod),
];

impl<'r, 's> Parser<'r, 's> {
    pub(crate) fn parse_expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.parse_binary(0);
        self.depth -= 1;
        r
    }

    /// Builds a binary node; `ls..le` and `rs..re` are the operands' source spans.
    fn bin(&self, op: BinOp, left: Expr, right: Expr, spans: [usize; 4]) -> Expr {
        let [ls, le, rs, re] = spans;
        let pos = left.pos;
        let (left_lit, right_lit) = if op == BinOp::Add {
            (
                self.slice(ls, le).trim().into(),
                self.slice(rs, re).trim().into(),
            )
        } else {
            ("".into(), "".into())
        };
        Expr {
            kind: ExprKind::Bin(Box::new(BinExpr {
                op,
                left,
                right,
                left_lit,
                right_lit,
            })),
            pos,
        }
    }

    /// Binary operators at and above `min_precedence`, by precedence climbing over
    /// [`BINARY_OPERATORS`]: every operator is left-associative, so the right operand of an
    /// operator of precedence `n` takes only operators above `n`. `start` is where the left
    /// operand's text begins (a `+` node keeps both operands' trimmed source text).
    fn parse_binary(&mut self, min_precedence: u8) -> PResult<Expr> {
        let start = self.p;
        let mut left = self.parse_unary()?;
        loop {
            self.skip_ws();
            let Some(operator) = self.binary_operator_here() else {
                return Ok(left);
            };
            if operator.precedence < min_precedence {
                return Ok(left);
            }
            let left_end = self.p;
            self.p += operator.spelling.len();
            let right_start = self.p;
            let right = self.parse_binary(operator.precedence + 1)?;
            left = self.bin(
                operator.op,
                left,
                right,
                [start, left_end, right_start, self.p],
            );
        }
    }

    /// The binary operator spelled at the current offset, if any (at most one entry of
    /// [`BINARY_OPERATORS`] can match: longer symbols come before their prefixes, words must
    /// end at a non-word character).
    fn binary_operator_here(&self) -> Option<&'static BinaryOperator> {
        let rest = self.s.get(self.p..)?;
        BINARY_OPERATORS
            .iter()
            .find(|operator| match operator.spelling {
                Spelling::Symbol("-") => rest.starts_with('-') && !self.minus_starts_number(self.p),
                Spelling::Symbol(symbol) => rest.starts_with(symbol),
                Spelling::Word(word) => self.keyword_at(self.p, word),
            })
    }

    /// A `-` here starts a negative number literal (Velocity's lexer), not a minus operator.
    fn minus_starts_number(&self, i: usize) -> bool {
        match self.at(i + 1) {
            Some(c) if c.is_ascii_digit() => true,
            Some(b'.') => self.at(i + 2).is_some_and(|c| c.is_ascii_digit()),
            _ => false,
        }
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.parse_unary_inner();
        self.depth -= 1;
        r
    }

    fn parse_unary_inner(&mut self) -> PResult<Expr> {
        self.skip_ws();
        let at = self.p;
        if self.at(at) == Some(b'!') && self.at(at + 1) != Some(b'=') {
            self.p += 1;
            let inner = self.parse_unary()?;
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                pos: self.pos_at(at),
            });
        }
        if self.keyword_at(at, "not") {
            self.p += 3;
            let inner = self.parse_unary()?;
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                pos: self.pos_at(at),
            });
        }
        if self.at(at) == Some(b'-') && !self.minus_starts_number(at) {
            self.p += 1;
            let inner = self.parse_primary(true)?;
            return Ok(Expr {
                kind: ExprKind::Neg(Box::new(inner)),
                pos: self.pos_at(at),
            });
        }
        self.parse_primary(true)
    }

    /// A Velocity "Parameter": what list and map literals and `#foreach` accept.
    pub(super) fn parse_param(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.parse_primary(false);
        self.depth -= 1;
        r
    }

    fn parse_primary(&mut self, allow_paren: bool) -> PResult<Expr> {
        self.skip_ws();
        let at = self.p;
        let pos = self.pos_at(at);
        let e = match self.at(at) {
            Some(b'"') | Some(b'\'') => self.parse_string()?,
            Some(b'$') => match self.parse_reference(at)? {
                Some((r, end)) => {
                    self.p = end;
                    Expr {
                        kind: ExprKind::Ref(Box::new(r)),
                        pos,
                    }
                }
                None => {
                    return Err(self.err_at(at, "expected a reference after $"));
                }
            },
            Some(b'\\') => {
                // Velocity's lexer glues backslashes to a following `$`; in an expression they
                // do not change the reference's value.
                let mut q = at;
                while self.at(q) == Some(b'\\') {
                    q += 1;
                }
                match (self.at(q), self.parse_reference(q)?) {
                    (Some(b'$'), Some((r, end))) => {
                        self.p = end;
                        Expr {
                            kind: ExprKind::Ref(Box::new(r)),
                            pos,
                        }
                    }
                    _ => {
                        return Err(self.err_at(
                            at,
                            format!("expected an expression, found {}", self.describe_here()),
                        ));
                    }
                }
            }
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b'.' => self.parse_number()?,
            Some(b'[') => self.parse_list_or_range()?,
            Some(b'{') => self.parse_map()?,
            Some(b'(') if allow_paren => {
                self.p += 1;
                let inner = self.parse_expr()?;
                self.expect_close_paren("the parenthesized expression")?;
                inner
            }
            Some(_) if self.keyword_at(at, "true") => {
                self.p += 4;
                Expr {
                    kind: ExprKind::Bool(true),
                    pos,
                }
            }
            Some(_) if self.keyword_at(at, "false") => {
                self.p += 5;
                Expr {
                    kind: ExprKind::Bool(false),
                    pos,
                }
            }
            Some(_) if self.keyword_at(at, "null") => {
                return Err(self.err_at(at, "there is no null literal in Velocity"));
            }
            _ => {
                return Err(self.err_at(
                    at,
                    format!("expected an expression, found {}", self.describe_here()),
                ));
            }
        };
        self.skip_ws();
        Ok(e)
    }

    fn parse_number(&mut self) -> PResult<Expr> {
        let at = self.p;
        let pos = self.pos_at(at);
        let mut i = at;
        if self.at(i) == Some(b'-') {
            i += 1;
        }
        let digits_start = i;
        while self.at(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        let int_digits = i - digits_start;
        let mut is_float = false;
        if self.at(i) == Some(b'.') && self.at(i + 1) != Some(b'.') {
            let mut j = i + 1;
            let mut frac = 0;
            while self.at(j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
                frac += 1;
            }
            if int_digits > 0 || frac > 0 {
                is_float = true;
                i = j;
            }
        }
        if int_digits == 0 && !is_float {
            return Err(self.err_at(
                at,
                format!("expected an expression, found {}", self.describe_here()),
            ));
        }
        if matches!(self.at(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(self.at(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if self.at(j).is_some_and(|c| c.is_ascii_digit()) {
                while self.at(j).is_some_and(|c| c.is_ascii_digit()) {
                    j += 1;
                }
                is_float = true;
                i = j;
            }
        }
        let text = self.slice(at, i);
        self.p = i;
        if is_float {
            let mut t = text.to_string();
            if t.ends_with('.') {
                t.push('0');
            }
            let t = t.replace("-.", "-0.");
            let t = if t.starts_with('.') {
                format!("0{t}")
            } else {
                t
            };
            let t = t.replace(".e", ".0e").replace(".E", ".0E");
            match t.parse::<f64>() {
                Ok(f) => Ok(Expr {
                    kind: ExprKind::Float(f),
                    pos,
                }),
                Err(_) => Err(self.err_at(at, format!("bad number {text}"))),
            }
        } else if let Ok(v) = text.parse::<i64>() {
            Ok(Expr {
                kind: ExprKind::Int(v),
                pos,
            })
        } else if let Ok(v) = text.parse::<i128>() {
            Ok(Expr {
                kind: ExprKind::Big(v),
                pos,
            })
        } else {
            Err(self.unsupported_at(at, format!("integer literal {text} is too large")))
        }
    }

    fn parse_string(&mut self) -> PResult<Expr> {
        let at = self.p;
        let pos = self.pos_at(at);
        let Some(q) = self.at(at) else {
            return Err(self.err_at(at, "expected a string"));
        };
        let mut i = at + 1;
        loop {
            match self.at(i) {
                None => return Err(self.err_at(at, "unterminated string literal")),
                Some(c) if c == q => {
                    if self.at(i + 1) == Some(q) {
                        i += 2;
                    } else {
                        break;
                    }
                }
                Some(_) => i += 1,
            }
        }
        let raw = self.slice(at + 1, i);
        self.p = i + 1;
        let quote = if q == b'"' { "\"" } else { "'" };
        let doubled = if q == b'"' { "\"\"" } else { "''" };
        let content = unescape_unicode(&raw.replace(doubled, quote));
        if q == b'"' && (raw.contains('$') || raw.contains('#')) {
            let mut sub = Parser::new(self.root, &content, self.origin + at + 1);
            sub.depth = self.depth;
            let nodes = sub.parse_template()?;
            let all_text = nodes.iter().all(|n| matches!(n, Node::Text(_)));
            if all_text {
                let mut s = String::new();
                for n in &nodes {
                    if let Node::Text(t) = n {
                        s.push_str(t);
                    }
                }
                return Ok(Expr {
                    kind: ExprKind::Str(s.into()),
                    pos,
                });
            }
            return Ok(Expr {
                kind: ExprKind::Interp(nodes),
                pos,
            });
        }
        Ok(Expr {
            kind: ExprKind::Str(content.into()),
            pos,
        })
    }

    fn parse_list_or_range(&mut self) -> PResult<Expr> {
        let at = self.p;
        let pos = self.pos_at(at);
        // range: [ (ref | int) .. (ref | int) ]
        let saved = self.p;
        self.p = at + 1;
        self.skip_ws();
        if let Some(lo) = self.try_range_bound()? {
            self.skip_ws();
            if self.s.get(self.p..).is_some_and(|r| r.starts_with("..")) {
                self.p += 2;
                self.skip_ws();
                let Some(hi) = self.try_range_bound()? else {
                    return Err(self.err_at(self.p, "expected an integer or reference after .."));
                };
                self.skip_ws();
                if self.at(self.p) != Some(b']') {
                    return Err(self.err_at(
                        self.p,
                        format!(
                            "expected ] to close the range, found {}",
                            self.describe_here()
                        ),
                    ));
                }
                self.p += 1;
                return Ok(Expr {
                    kind: ExprKind::Range(Box::new(lo), Box::new(hi)),
                    pos,
                });
            }
        }
        self.p = saved + 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.at(self.p) == Some(b']') {
            self.p += 1;
            return Ok(Expr {
                kind: ExprKind::List(items),
                pos,
            });
        }
        loop {
            items.push(self.parse_param()?);
            match self.at(self.p) {
                Some(b',') => self.p += 1,
                Some(b']') => {
                    self.p += 1;
                    return Ok(Expr {
                        kind: ExprKind::List(items),
                        pos,
                    });
                }
                _ => {
                    return Err(self.err_at(
                        self.p,
                        format!("expected , or ] in list, found {}", self.describe_here()),
                    ));
                }
            }
        }
    }

    /// An integer literal or a reference, as a range bound; `None` (position restored) otherwise.
    fn try_range_bound(&mut self) -> PResult<Option<Expr>> {
        let at = self.p;
        match self.at(at) {
            Some(b'$') => match self.parse_reference(at)? {
                Some((r, end)) => {
                    self.p = end;
                    Ok(Some(Expr {
                        kind: ExprKind::Ref(Box::new(r)),
                        pos: self.pos_at(at),
                    }))
                }
                None => Ok(None),
            },
            Some(c) if c.is_ascii_digit() || c == b'-' => {
                let mut i = at;
                if c == b'-' {
                    i += 1;
                }
                let ds = i;
                while self.at(i).is_some_and(|c| c.is_ascii_digit()) {
                    i += 1;
                }
                if i == ds {
                    return Ok(None);
                }
                // an integer only if not followed by a decimal point (except "..")
                if self.at(i) == Some(b'.') && self.at(i + 1) != Some(b'.') {
                    return Ok(None);
                }
                if matches!(self.at(i), Some(b'e' | b'E')) {
                    return Ok(None);
                }
                let e = self.parse_number()?;
                Ok(Some(e))
            }
            _ => Ok(None),
        }
    }

    fn parse_map(&mut self) -> PResult<Expr> {
        let at = self.p;
        let pos = self.pos_at(at);
        self.p += 1;
        let mut entries = Vec::new();
        self.skip_ws();
        if self.at(self.p) == Some(b'}') {
            self.p += 1;
            return Ok(Expr {
                kind: ExprKind::Map(entries),
                pos,
            });
        }
        loop {
            let k = self.parse_param()?;
            if self.at(self.p) != Some(b':') {
                return Err(self.err_at(
                    self.p,
                    format!("expected : in map literal, found {}", self.describe_here()),
                ));
            }
            self.p += 1;
            let v = self.parse_param()?;
            entries.push((k, v));
            match self.at(self.p) {
                Some(b',') => self.p += 1,
                Some(b'}') => {
                    self.p += 1;
                    return Ok(Expr {
                        kind: ExprKind::Map(entries),
                        pos,
                    });
                }
                _ => {
                    return Err(self.err_at(
                        self.p,
                        format!(
                            "expected , or }} in map literal, found {}",
                            self.describe_here()
                        ),
                    ));
                }
            }
        }
    }
}

/// Velocity's string-literal `\uXXXX` unescaping.
fn unescape_unicode(s: &str) -> String {
    if !s.contains("\\u") {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut units: Vec<u16> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == '\\' && chars.get(i + 1) == Some(&'u') {
            let hex: String = chars.iter().skip(i + 2).take(4).collect();
            if hex.len() == 4
                && hex.chars().all(|h| h.is_ascii_hexdigit())
                && let Ok(v) = u16::from_str_radix(&hex, 16)
            {
                units.push(v);
                i += 6;
                continue;
            }
        }
        let mut buf = [0u16; 2];
        units.extend_from_slice(c.encode_utf16(&mut buf));
        i += 1;
    }
    String::from_utf16_lossy(&units)
}

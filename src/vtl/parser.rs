//! The Velocity parser: turns template source into the syntax tree of `ast.rs`, applying Velocity
//! 2.1+'s "lines" whitespace gobbling, escape rules (`\$`, `\#`), comments and unparsed blocks as it
//! goes, and rejecting everything outside nodectl's subset with a specific message.
//!
//! It scans bytes directly (every special character is ASCII); expressions inside directives,
//! method arguments and indexes are parsed by recursive descent with Velocity's precedence.

use std::sync::Arc;

use super::ast::{
    BinExpr, BinOp, Expr, ExprKind, ForeachNode, IfNode, Method, MethodCall, Modifier, Node, Pos,
    RefExpr, RefNode, SetNode, Tool,
};
use super::regex_java::{JavaRegex, Replacement};

/// A parse failure at a byte offset of the root source.
#[derive(Debug)]
pub(crate) struct PErr {
    pub off: usize,
    pub msg: String,
    pub unsupported: bool,
}

/// Line index of the whole template, shared by nested parsers of interpolated strings.
pub(crate) struct Root<'r> {
    pub src: &'r str,
    line_starts: Vec<usize>,
    /// Whether each line is pure ASCII (then a column is a byte distance).
    line_ascii: Vec<bool>,
}

impl<'r> Root<'r> {
    pub(crate) fn new(src: &'r str) -> Root<'r> {
        let mut line_starts = vec![0];
        let b = src.as_bytes();
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
                line_starts.push(i + 1);
            }
            i += 1;
        }
        let line_ascii = line_starts
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = line_starts.get(i + 1).copied().unwrap_or(src.len());
                b.get(start..end).is_some_and(|l| l.is_ascii())
            })
            .collect();
        Root {
            src,
            line_starts,
            line_ascii,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn pos(&self, off: usize) -> Pos {
        let off = off.min(self.src.len());
        let idx = match self.line_starts.binary_search(&off) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(idx).copied().unwrap_or(0);
        let col = if self.line_ascii.get(idx).copied().unwrap_or(false) {
            off - start
        } else {
            self.src
                .get(start..off)
                .map(|s| s.chars().count())
                .unwrap_or(0)
        };
        Pos {
            line: (idx + 1) as u32,
            col: (col + 1) as u32,
        }
    }

    /// The text of line `line` (1-based), without its terminator.
    pub(crate) fn line_text(&self, line: u32) -> &'r str {
        let idx = (line as usize).saturating_sub(1);
        let start = self.line_starts.get(idx).copied().unwrap_or(0);
        let end = self
            .line_starts
            .get(idx + 1)
            .copied()
            .unwrap_or(self.src.len());
        self.src
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }
}

/// How a block ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closer {
    End,
    Else,
    ElseIf,
    Eof,
}

/// The directives that Velocity registers but nodectl does not run.
const UNSUPPORTED_DIRECTIVES: &[&str] = &[
    "macro", "include", "parse", "define", "evaluate", "stop", "literal",
];

/// Directives whose escaping (`\#name`) Velocity recognises.
fn is_known_directive(word: &str) -> bool {
    matches!(
        word,
        "if" | "else"
            | "elseif"
            | "end"
            | "set"
            | "foreach"
            | "include"
            | "parse"
            | "macro"
            | "define"
            | "evaluate"
            | "break"
            | "stop"
    )
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

pub(crate) struct Parser<'r, 's> {
    root: &'r Root<'r>,
    s: &'s str,
    b: &'s [u8],
    p: usize,
    origin: usize,
    /// Current nesting of blocks and expressions (bounded so that hostile input cannot exhaust
    /// the stack).
    depth: usize,
}

/// Deepest nesting of directives, parentheses, literals and interpolated strings accepted.
const MAX_DEPTH: usize = 64;

/// A `#word` or `#{word}` found at some offset.
struct Word<'s> {
    name: &'s str,
    bracketed: bool,
    /// Offset just after the word (after `}` when bracketed).
    end: usize,
}

type PResult<T> = Result<T, PErr>;

impl<'r, 's> Parser<'r, 's> {
    pub(crate) fn new(root: &'r Root<'r>, s: &'s str, origin: usize) -> Parser<'r, 's> {
        Parser {
            root,
            s,
            b: s.as_bytes(),
            p: 0,
            origin,
            depth: 0,
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(
                self.unsupported_at(self.p, format!("nesting deeper than {MAX_DEPTH} levels"))
            );
        }
        Ok(())
    }

    /// Parses a whole template (or the content of an interpolated string).
    pub(crate) fn parse_template(&mut self) -> PResult<Vec<Node>> {
        let (nodes, closer, off) = self.parse_block(false)?;
        match closer {
            Closer::Eof => Ok(nodes),
            Closer::End => Err(self.err_at(off, "#end without a matching #if or #foreach")),
            Closer::Else => Err(self.err_at(off, "#else without a matching #if")),
            Closer::ElseIf => Err(self.err_at(off, "#elseif without a matching #if")),
        }
    }

    // ----- positions and errors -----

    fn pos_at(&self, local: usize) -> Pos {
        self.root.pos(self.origin + local)
    }

    fn err_at(&self, local: usize, msg: impl Into<String>) -> PErr {
        PErr {
            off: self.origin + local,
            msg: msg.into(),
            unsupported: false,
        }
    }

    fn unsupported_at(&self, local: usize, msg: impl Into<String>) -> PErr {
        PErr {
            off: self.origin + local,
            msg: format!("{} (outside nodectl's Velocity subset)", msg.into()),
            unsupported: true,
        }
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn slice(&self, a: usize, b: usize) -> &'s str {
        self.s.get(a..b).unwrap_or("")
    }

    fn describe_here(&self) -> String {
        match self.s.get(self.p..).and_then(|r| r.chars().next()) {
            None => "end of template".to_string(),
            Some('\n') | Some('\r') => "end of line".to_string(),
            Some(c) => format!("'{c}'"),
        }
    }

    // ----- template level -----

    fn at_line_start(&self) -> bool {
        self.p == 0
            || matches!(
                self.p.checked_sub(1).and_then(|i| self.at(i)),
                Some(b'\n' | b'\r')
            )
    }

    fn skip_blank_from(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        i
    }

    /// Eats `[ \t]*` followed by a newline, if that is what comes next.
    fn eat_blank_newline(&mut self) {
        let q = self.skip_blank_from(self.p);
        match self.at(q) {
            Some(b'\n') => self.p = q + 1,
            Some(b'\r') => {
                self.p = if self.at(q + 1) == Some(b'\n') {
                    q + 2
                } else {
                    q + 1
                }
            }
            _ => {}
        }
    }

    /// The word after a `#` at `hash`, in plain or bracketed form.
    fn word_at(&self, hash: usize) -> Option<Word<'s>> {
        let mut i = hash + 1;
        let bracketed = self.at(i) == Some(b'{');
        if bracketed {
            i += 1;
        }
        let start = i;
        match self.at(i) {
            Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b'@' => i += 1,
            _ => return None,
        }
        while self.at(i).is_some_and(is_word_char) {
            i += 1;
        }
        let name = self.slice(start, i);
        if bracketed {
            if self.at(i) != Some(b'}') {
                return None;
            }
            i += 1;
        }
        Some(Word {
            name,
            bracketed,
            end: i,
        })
    }

    fn set_paren_after(&self, i: usize) -> Option<usize> {
        let q = self.skip_blank_from(i);
        (self.at(q) == Some(b'(')).then_some(q)
    }

    /// Whether the `#` at `hash` starts a directive that gobbles its line's indentation.
    fn is_gobbling_directive(&self, hash: usize) -> bool {
        let Some(w) = self.word_at(hash) else {
            return false;
        };
        match w.name {
            "if" | "else" | "elseif" | "end" | "foreach" | "break" => true,
            "set" => self.set_paren_after(w.end).is_some(),
            _ => false,
        }
    }

    fn flush(text: &mut String, nodes: &mut Vec<Node>) {
        if !text.is_empty() {
            nodes.push(Node::Text(std::mem::take(text).into_boxed_str()));
        }
    }

    /// Parses statements until a closer (`#end`, `#else`, `#elseif`) or the end of input.
    /// Returns the statements, the closer and the closer's offset.
    fn parse_block(&mut self, in_block: bool) -> PResult<(Vec<Node>, Closer, usize)> {
        self.enter()?;
        let r = self.parse_block_inner(in_block);
        self.depth -= 1;
        r
    }

    fn parse_block_inner(&mut self, in_block: bool) -> PResult<(Vec<Node>, Closer, usize)> {
        let mut nodes = Vec::new();
        let mut text = String::new();
        loop {
            let Some(c) = self.at(self.p) else {
                Self::flush(&mut text, &mut nodes);
                return Ok((nodes, Closer::Eof, self.p));
            };
            let line_start = self.at_line_start();
            if line_start && (c == b' ' || c == b'\t') {
                let q = self.skip_blank_from(self.p);
                if self.at(q) == Some(b'#') && self.is_gobbling_directive(q) {
                    self.p = q;
                }
            }
            let Some(c) = self.at(self.p) else { continue };
            match c {
                b'#' => {
                    let hash = self.p;
                    if let Some(closer) =
                        self.parse_hash(line_start, in_block, &mut text, &mut nodes)?
                    {
                        Self::flush(&mut text, &mut nodes);
                        return Ok((nodes, closer, hash));
                    }
                }
                b'$' => {
                    let at = self.p;
                    match self.parse_reference(at)? {
                        Some((r, end)) => {
                            Self::flush(&mut text, &mut nodes);
                            nodes.push(Node::Ref(Box::new(RefNode { escapes: 0, r })));
                            self.p = end;
                        }
                        None => {
                            text.push('$');
                            self.p += 1;
                        }
                    }
                }
                b'\\' => self.parse_backslashes(&mut text, &mut nodes)?,
                _ => {
                    let start = self.p;
                    let mut i = self.p;
                    while let Some(ch) = self.at(i) {
                        if ch == b'#' || ch == b'$' || ch == b'\\' {
                            break;
                        }
                        i += 1;
                        if ch == b'\n' || (ch == b'\r' && self.at(i) != Some(b'\n')) {
                            break;
                        }
                    }
                    text.push_str(self.slice(start, i));
                    self.p = i;
                }
            }
        }
    }

    fn parse_backslashes(&mut self, text: &mut String, nodes: &mut Vec<Node>) -> PResult<()> {
        let start = self.p;
        let mut q = self.p;
        while self.at(q) == Some(b'\\') {
            q += 1;
        }
        let n = q - start;
        match self.at(q) {
            Some(b'$') => match self.parse_reference(q)? {
                Some((r, end)) => {
                    Self::flush(text, nodes);
                    nodes.push(Node::Ref(Box::new(RefNode {
                        escapes: n as u32,
                        r,
                    })));
                    self.p = end;
                }
                None => {
                    push_backslashes(text, n);
                    text.push('$');
                    self.p = q + 1;
                }
            },
            Some(b'#') => {
                let word = self.word_at(q);
                if n % 2 == 1 {
                    match word {
                        Some(w) => {
                            let shown = self.slice(q, w.end);
                            if is_known_directive(w.name) {
                                push_backslashes(text, n / 2);
                            } else {
                                push_backslashes(text, n);
                            }
                            text.push_str(shown);
                            self.p = w.end;
                        }
                        None => {
                            push_backslashes(text, n);
                            self.p = q;
                        }
                    }
                } else {
                    let control = match &word {
                        Some(w) if matches!(w.name, "if" | "else" | "elseif" | "end") => true,
                        Some(w) => {
                            !w.bracketed
                                && matches!(
                                    w.name,
                                    "foreach"
                                        | "include"
                                        | "parse"
                                        | "macro"
                                        | "define"
                                        | "evaluate"
                                        | "break"
                                        | "stop"
                                )
                        }
                        None => false,
                    };
                    push_backslashes(text, if control { n / 2 } else { n });
                    self.p = q;
                }
            }
            _ => {
                push_backslashes(text, n);
                self.p = q;
            }
        }
        Ok(())
    }

    /// Handles a `#` at `self.p`. Returns a closer when one ends the current block.
    fn parse_hash(
        &mut self,
        starts_line: bool,
        in_block: bool,
        text: &mut String,
        nodes: &mut Vec<Node>,
    ) -> PResult<Option<Closer>> {
        let hash = self.p;
        match self.at(hash + 1) {
            Some(b'#') => {
                // line comment: eats its newline
                let mut i = hash + 2;
                while let Some(c) = self.at(i) {
                    i += 1;
                    if c == b'\n' {
                        break;
                    }
                    if c == b'\r' {
                        if self.at(i) == Some(b'\n') {
                            i += 1;
                        }
                        break;
                    }
                }
                self.p = i;
                return Ok(None);
            }
            Some(b'*') => {
                let Some(end) = self.s.get(hash + 2..).and_then(|r| r.find("*#")) else {
                    return Err(self.err_at(hash, "unterminated comment #* (missing *#)"));
                };
                self.p = hash + 2 + end + 2;
                return Ok(None);
            }
            Some(b'[') if self.at(hash + 2) == Some(b'[') => {
                let Some(end) = self.s.get(hash + 3..).and_then(|r| r.find("]]#")) else {
                    return Err(self.err_at(hash, "unterminated unparsed block #[[ (missing ]]#)"));
                };
                text.push_str(self.slice(hash + 3, hash + 3 + end));
                self.p = hash + 3 + end + 3;
                return Ok(None);
            }
            _ => {}
        }
        let Some(w) = self.word_at(hash) else {
            text.push('#');
            self.p = hash + 1;
            return Ok(None);
        };
        match w.name {
            "if" => {
                self.p = w.end;
                Self::flush(text, nodes);
                let node = self.parse_if(hash, starts_line)?;
                nodes.push(node);
                Ok(None)
            }
            "else" | "elseif" | "end" => {
                if !in_block {
                    return Err(self.err_at(
                        hash,
                        format!("#{} without a matching #if or #foreach", w.name),
                    ));
                }
                self.p = w.end;
                Ok(Some(match w.name {
                    "else" => Closer::Else,
                    "elseif" => Closer::ElseIf,
                    _ => Closer::End,
                }))
            }
            "set" => {
                let Some(paren) = self.set_paren_after(w.end) else {
                    return Err(self.err_at(hash, "#set must be followed by ( on the same line"));
                };
                self.p = paren + 1;
                Self::flush(text, nodes);
                let node = self.parse_set(hash)?;
                nodes.push(node);
                if starts_line {
                    self.eat_blank_newline();
                }
                Ok(None)
            }
            "foreach" => {
                self.p = w.end;
                Self::flush(text, nodes);
                let node = self.parse_foreach(hash, starts_line)?;
                nodes.push(node);
                Ok(None)
            }
            "break" => {
                self.p = w.end;
                let q = self.skip_ws_from(self.p);
                if self.at(q) == Some(b'(') {
                    return Err(self.unsupported_at(hash, "#break with an argument"));
                }
                Self::flush(text, nodes);
                nodes.push(Node::Break);
                if starts_line {
                    self.eat_blank_newline();
                }
                Ok(None)
            }
            name if UNSUPPORTED_DIRECTIVES.contains(&name) => {
                Err(self.unsupported_at(hash, format!("unsupported directive #{name}")))
            }
            name if name.starts_with('@') => {
                Err(self.unsupported_at(hash, format!("block macro call #{name}")))
            }
            name => {
                let q = self.skip_ws_from(w.end);
                if self.at(q) == Some(b'(') {
                    return Err(self.unsupported_at(
                        hash,
                        format!("unknown directive or macro call #{name}(...)"),
                    ));
                }
                // not a directive: plain text, as Velocity renders it
                text.push_str(self.slice(hash, w.end));
                self.p = w.end;
                Ok(None)
            }
        }
    }

    fn expect_open_paren(&mut self, hash: usize, what: &str) -> PResult<()> {
        let q = self.skip_ws_from(self.p);
        if self.at(q) != Some(b'(') {
            return Err(self.err_at(hash, format!("#{what} must be followed by (")));
        }
        self.p = q + 1;
        Ok(())
    }

    fn expect_close_paren(&mut self, what: &str) -> PResult<()> {
        self.skip_ws();
        if self.at(self.p) != Some(b')') {
            return Err(self.err_at(
                self.p,
                format!("expected ) to close {what}, found {}", self.describe_here()),
            ));
        }
        self.p += 1;
        Ok(())
    }

    fn parse_if(&mut self, hash: usize, starts_line: bool) -> PResult<Node> {
        self.expect_open_paren(hash, "if")?;
        let cond = self.parse_expr()?;
        self.expect_close_paren("the #if condition")?;
        self.eat_blank_newline();
        let mut branches = Vec::new();
        let mut otherwise = None;
        let (body, mut closer, mut closer_off) = self.parse_block(true)?;
        branches.push((cond, body));
        loop {
            match closer {
                Closer::ElseIf => {
                    if otherwise.is_some() {
                        return Err(self.err_at(closer_off, "#elseif after #else"));
                    }
                    self.expect_open_paren(closer_off, "elseif")?;
                    let c = self.parse_expr()?;
                    self.expect_close_paren("the #elseif condition")?;
                    self.eat_blank_newline();
                    let (b, cl, off) = self.parse_block(true)?;
                    branches.push((c, b));
                    closer = cl;
                    closer_off = off;
                }
                Closer::Else => {
                    if otherwise.is_some() {
                        return Err(self.err_at(closer_off, "a second #else in the same #if"));
                    }
                    self.eat_blank_newline();
                    let (b, cl, off) = self.parse_block(true)?;
                    otherwise = Some(b);
                    closer = cl;
                    closer_off = off;
                }
                Closer::End => {
                    if starts_line {
                        self.eat_blank_newline();
                    }
                    return Ok(Node::If(Box::new(IfNode {
                        branches,
                        otherwise,
                    })));
                }
                Closer::Eof => {
                    return Err(self.err_at(hash, "#if without a matching #end"));
                }
            }
        }
    }

    fn parse_foreach(&mut self, hash: usize, starts_line: bool) -> PResult<Node> {
        self.expect_open_paren(hash, "foreach")?;
        self.skip_ws();
        let var = self.parse_simple_target("#foreach")?;
        let before_in = self.p;
        self.skip_ws();
        if !(self.keyword_at(self.p, "in")) || before_in == self.p {
            return Err(self.err_at(
                self.p,
                format!(
                    "expected 'in' in #foreach($item in ...), found {}",
                    self.describe_here()
                ),
            ));
        }
        self.p += 2;
        let iterable = self.parse_param()?;
        self.expect_close_paren("#foreach")?;
        self.eat_blank_newline();
        let (body, closer, off) = self.parse_block(true)?;
        match closer {
            Closer::End => {}
            Closer::Else => {
                return Err(self.unsupported_at(off, "#else inside #foreach"));
            }
            Closer::ElseIf => return Err(self.err_at(off, "#elseif inside #foreach")),
            Closer::Eof => return Err(self.err_at(hash, "#foreach without a matching #end")),
        }
        if starts_line {
            self.eat_blank_newline();
        }
        Ok(Node::Foreach(Box::new(ForeachNode {
            var,
            iterable,
            body,
            pos: self.pos_at(hash),
        })))
    }

    /// `$name`, `$!name`, `${name}` as the target of `#set` or `#foreach`.
    fn parse_simple_target(&mut self, what: &str) -> PResult<Box<str>> {
        let at = self.p;
        if self.at(at) != Some(b'$') {
            return Err(self.err_at(
                at,
                format!(
                    "expected a $reference in {what}, found {}",
                    self.describe_here()
                ),
            ));
        }
        match self.parse_reference(at)? {
            Some((r, end)) => {
                if !r.mods.is_empty() {
                    return Err(self.unsupported_at(
                        at,
                        format!("{what} of a property, method or index ({})", r.literal),
                    ));
                }
                self.p = end;
                Ok(r.root)
            }
            None => Err(self.err_at(at, format!("expected a $reference in {what}"))),
        }
    }

    fn parse_set(&mut self, hash: usize) -> PResult<Node> {
        self.skip_ws();
        let name = self.parse_simple_target("#set")?;
        self.skip_ws();
        if self.at(self.p) != Some(b'=') || self.at(self.p + 1) == Some(b'=') {
            return Err(self.err_at(
                self.p,
                format!("expected = in #set, found {}", self.describe_here()),
            ));
        }
        self.p += 1;
        let value = self.parse_expr()?;
        self.expect_close_paren("#set")?;
        let _ = hash;
        Ok(Node::Set(Box::new(SetNode { name, value })))
    }

    // ----- references -----

    fn ident_end(&self, start: usize) -> usize {
        let mut i = start + 1;
        while self.at(i).is_some_and(is_ident_char) {
            i += 1;
        }
        i
    }

    /// Parses a reference whose `$` is at `at`. `Ok(None)` when the `$` starts no reference.
    fn parse_reference(&mut self, at: usize) -> PResult<Option<(RefExpr, usize)>> {
        let mut i = at + 1;
        let mut quiet = false;
        if self.at(i) == Some(b'!') {
            quiet = true;
            i += 1;
        }
        let formal = self.at(i) == Some(b'{');
        if formal {
            i += 1;
        }
        if !self.at(i).is_some_and(is_ident_start) {
            return Ok(None);
        }
        let name_end = self.ident_end(i);
        let root: Box<str> = self.slice(i, name_end).into();
        i = name_end;
        let mut mods = Vec::new();
        let saved = self.p;
        loop {
            match self.at(i) {
                Some(b'[') => {
                    let open = i;
                    self.p = i + 1;
                    let idx = self.parse_expr()?;
                    self.skip_ws();
                    if self.at(self.p) != Some(b']') {
                        return Err(self.err_at(
                            self.p,
                            format!(
                                "expected ] to close the index, found {}",
                                self.describe_here()
                            ),
                        ));
                    }
                    i = self.p + 1;
                    mods.push(Modifier::Index(idx, self.pos_at(open)));
                }
                Some(b'.') if self.at(i + 1).is_some_and(is_ident_start) => {
                    let nstart = i + 1;
                    let nend = self.ident_end(nstart);
                    let name = self.slice(nstart, nend);
                    if self.at(nend) == Some(b'(') {
                        let Some(id) = Method::from_name(name) else {
                            return Err(self
                                .unsupported_at(nstart, format!("unsupported method .{name}()")));
                        };
                        self.p = nend + 1;
                        let args = self.parse_args()?;
                        i = self.p;
                        let mut call = MethodCall {
                            name: name.into(),
                            id,
                            args,
                            pos: self.pos_at(nstart),
                            regex: None,
                            replacement: None,
                        };
                        self.precompile(&mut call, nstart)?;
                        mods.push(Modifier::Method(Box::new(call)));
                    } else {
                        mods.push(Modifier::Prop(name.into(), self.pos_at(nstart)));
                        i = nend;
                    }
                }
                _ => break,
            }
        }
        self.p = saved;
        if formal {
            match self.at(i) {
                Some(b'}') => i += 1,
                Some(b'|') => {
                    return Err(self.unsupported_at(at, "alternate value ${name|default}"));
                }
                _ => {
                    let here = self.s.get(i..).and_then(|r| r.chars().next());
                    return Err(self.err_at(
                        i,
                        format!(
                            "expected }} to close {}, found {}",
                            self.slice(at, i),
                            here.map_or("end of template".to_string(), |c| format!("'{c}'"))
                        ),
                    ));
                }
            }
        }
        self.check_tool(&root, &mods, at)?;
        let r = RefExpr {
            root,
            quiet,
            mods,
            literal: self.slice(at, i).into(),
            pos: self.pos_at(at),
        };
        Ok(Some((r, i)))
    }

    fn check_tool(&self, root: &str, mods: &[Modifier], at: usize) -> PResult<()> {
        let Some(tool) = Tool::from_name(root) else {
            return Ok(());
        };
        match mods.first() {
            None => Err(self.unsupported_at(at, format!("${root} used without a method"))),
            Some(Modifier::Method(m)) => {
                if tool.has_method(m.id) {
                    Ok(())
                } else {
                    Err(self.unsupported_at(
                        at,
                        format!("unsupported tool method ${root}.{}()", m.name),
                    ))
                }
            }
            Some(Modifier::Prop(p, _)) => {
                if tool.property(p).is_some() {
                    Ok(())
                } else {
                    Err(self.unsupported_at(at, format!("unsupported tool property ${root}.{p}")))
                }
            }
            Some(Modifier::Index(..)) => {
                Err(self.unsupported_at(at, format!("${root} used with an index")))
            }
        }
    }

    /// Compiles constant regex and replacement arguments of `replaceAll` and `split` once.
    fn precompile(&self, call: &mut MethodCall, at: usize) -> PResult<()> {
        if !matches!(call.id, Method::ReplaceAll | Method::Split) {
            return Ok(());
        }
        if let Some(Expr {
            kind: ExprKind::Str(pat),
            ..
        }) = call.args.first()
        {
            match JavaRegex::new(pat) {
                Ok(r) => call.regex = Some(Arc::new(r)),
                Err(e) => return Err(self.unsupported_at(at, e.message)),
            }
        }
        if call.id == Method::ReplaceAll
            && let Some(Expr {
                kind: ExprKind::Str(rep),
                ..
            }) = call.args.get(1)
        {
            match Replacement::parse(rep) {
                Ok(r) => call.replacement = Some(Arc::new(r)),
                Err(e) => {
                    return Err(self.err_at(at, format!("bad replaceAll replacement: {e}")));
                }
            }
        }
        Ok(())
    }

    /// Method arguments after `(`, through `)`.
    fn parse_args(&mut self) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        self.skip_ws();
        if self.at(self.p) == Some(b')') {
            self.p += 1;
            return Ok(args);
        }
        loop {
            args.push(self.parse_expr()?);
            self.skip_ws();
            match self.at(self.p) {
                Some(b',') => self.p += 1,
                Some(b')') => {
                    self.p += 1;
                    return Ok(args);
                }
                _ => {
                    return Err(self.err_at(
                        self.p,
                        format!(
                            "expected , or ) in method arguments, found {}",
                            self.describe_here()
                        ),
                    ));
                }
            }
        }
    }

    // ----- expressions -----

    fn skip_ws_from(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    }

    fn skip_ws(&mut self) {
        self.p = self.skip_ws_from(self.p);
    }

    fn keyword_at(&self, i: usize, kw: &str) -> bool {
        self.s.get(i..).is_some_and(|r| r.starts_with(kw))
            && !self.at(i + kw.len()).is_some_and(is_word_char)
    }

    pub(crate) fn parse_expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.parse_or();
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

    fn parse_or(&mut self) -> PResult<Expr> {
        let start = self.p;
        let mut left = self.parse_and()?;
        loop {
            self.skip_ws();
            let n = if self.s.get(self.p..).is_some_and(|r| r.starts_with("||"))
                || self.keyword_at(self.p, "or")
            {
                2
            } else {
                return Ok(left);
            };
            let le = self.p;
            self.p += n;
            let rs = self.p;
            let right = self.parse_and()?;
            left = self.bin(BinOp::Or, left, right, [start, le, rs, self.p]);
        }
    }

    fn parse_and(&mut self) -> PResult<Expr> {
        let start = self.p;
        let mut left = self.parse_eq()?;
        loop {
            self.skip_ws();
            let n = if self.s.get(self.p..).is_some_and(|r| r.starts_with("&&")) {
                2
            } else if self.keyword_at(self.p, "and") {
                3
            } else {
                return Ok(left);
            };
            let le = self.p;
            self.p += n;
            let rs = self.p;
            let right = self.parse_eq()?;
            left = self.bin(BinOp::And, left, right, [start, le, rs, self.p]);
        }
    }

    fn parse_eq(&mut self) -> PResult<Expr> {
        let start = self.p;
        let mut left = self.parse_rel()?;
        loop {
            self.skip_ws();
            let rest = self.s.get(self.p..).unwrap_or("");
            let (op, n) = if rest.starts_with("==") {
                (BinOp::Eq, 2)
            } else if rest.starts_with("!=") {
                (BinOp::Ne, 2)
            } else if self.keyword_at(self.p, "eq") {
                (BinOp::Eq, 2)
            } else if self.keyword_at(self.p, "ne") {
                (BinOp::Ne, 2)
            } else {
                return Ok(left);
            };
            let le = self.p;
            self.p += n;
            let rs = self.p;
            let right = self.parse_rel()?;
            left = self.bin(op, left, right, [start, le, rs, self.p]);
        }
    }

    fn parse_rel(&mut self) -> PResult<Expr> {
        let start = self.p;
        let mut left = self.parse_add()?;
        loop {
            self.skip_ws();
            let rest = self.s.get(self.p..).unwrap_or("");
            let (op, n) = if rest.starts_with("<=") {
                (BinOp::Le, 2)
            } else if rest.starts_with(">=") {
                (BinOp::Ge, 2)
            } else if rest.starts_with('<') {
                (BinOp::Lt, 1)
            } else if rest.starts_with('>') {
                (BinOp::Gt, 1)
            } else if self.keyword_at(self.p, "le") {
                (BinOp::Le, 2)
            } else if self.keyword_at(self.p, "ge") {
                (BinOp::Ge, 2)
            } else if self.keyword_at(self.p, "lt") {
                (BinOp::Lt, 2)
            } else if self.keyword_at(self.p, "gt") {
                (BinOp::Gt, 2)
            } else {
                return Ok(left);
            };
            let le = self.p;
            self.p += n;
            let rs = self.p;
            let right = self.parse_add()?;
            left = self.bin(op, left, right, [start, le, rs, self.p]);
        }
    }

    /// A `-` here starts a negative number literal (Velocity's lexer), not a minus operator.
    fn minus_starts_number(&self, i: usize) -> bool {
        match self.at(i + 1) {
            Some(c) if c.is_ascii_digit() => true,
            Some(b'.') => self.at(i + 2).is_some_and(|c| c.is_ascii_digit()),
            _ => false,
        }
    }

    fn parse_add(&mut self) -> PResult<Expr> {
        let start = self.p;
        let mut left = self.parse_mul()?;
        loop {
            self.skip_ws();
            let op = match self.at(self.p) {
                Some(b'+') => BinOp::Add,
                Some(b'-') if !self.minus_starts_number(self.p) => BinOp::Sub,
                _ => return Ok(left),
            };
            let le = self.p;
            self.p += 1;
            let rs = self.p;
            let right = self.parse_mul()?;
            left = self.bin(op, left, right, [start, le, rs, self.p]);
        }
    }

    fn parse_mul(&mut self) -> PResult<Expr> {
        let start = self.p;
        let mut left = self.parse_unary()?;
        loop {
            self.skip_ws();
            let op = match self.at(self.p) {
                Some(b'*') => BinOp::Mul,
                Some(b'/') => BinOp::Div,
                Some(b'%') => BinOp::Mod,
                _ => return Ok(left),
            };
            let le = self.p;
            self.p += 1;
            let rs = self.p;
            let right = self.parse_unary()?;
            left = self.bin(op, left, right, [start, le, rs, self.p]);
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
    fn parse_param(&mut self) -> PResult<Expr> {
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

fn push_backslashes(text: &mut String, n: usize) {
    for _ in 0..n {
        text.push('\\');
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

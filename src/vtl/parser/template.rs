//! Template-level parsing: text and its escapes (`\\$`, `\\#`), comments and unparsed blocks,
//! Velocity's "lines" whitespace gobbling, the directives (`#if`, `#foreach`, `#set`, …) and
//! references with their properties, indexes and method calls (tool calls are checked, and
//! their constant regexes precompiled, here).

use std::sync::Arc;

use super::super::ast::{
    Expr, ExprKind, ForeachNode, IfNode, Method, MethodCall, Modifier, Node, RefExpr, RefNode,
    SetNode, Tool,
};
use super::super::regex_java::{JavaRegex, Replacement};
use super::{Closer, PResult, Parser, is_word_char};

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

/// A `#word` or `#{word}` found at some offset.
struct Word<'s> {
    name: &'s str,
    bracketed: bool,
    /// Offset just after the word (after `}` when bracketed).
    end: usize,
}

impl<'r, 's> Parser<'r, 's> {
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
    pub(super) fn parse_block(&mut self, in_block: bool) -> PResult<(Vec<Node>, Closer, usize)> {
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

    /// A `##` line comment (with its newline), a `#* … *#` block comment or a `#[[ … ]]#`
    /// unparsed block (its content goes to `text`) at `hash`; false when none starts there.
    fn parse_comment_or_unparsed(&mut self, hash: usize, text: &mut String) -> PResult<bool> {
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
                Ok(true)
            }
            Some(b'*') => {
                let Some(end) = self.s.get(hash + 2..).and_then(|r| r.find("*#")) else {
                    return Err(self.err_at(hash, "unterminated comment #* (missing *#)"));
                };
                self.p = hash + 2 + end + 2;
                Ok(true)
            }
            Some(b'[') if self.at(hash + 2) == Some(b'[') => {
                let Some(end) = self.s.get(hash + 3..).and_then(|r| r.find("]]#")) else {
                    return Err(self.err_at(hash, "unterminated unparsed block #[[ (missing ]]#)"));
                };
                text.push_str(self.slice(hash + 3, hash + 3 + end));
                self.p = hash + 3 + end + 3;
                Ok(true)
            }
            _ => Ok(false),
        }
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
        if self.parse_comment_or_unparsed(hash, text)? {
            return Ok(None);
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

    pub(super) fn expect_close_paren(&mut self, what: &str) -> PResult<()> {
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
    pub(super) fn parse_reference(&mut self, at: usize) -> PResult<Option<(RefExpr, usize)>> {
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
        // MathTool's `random(a, b)` and `$math.random` exist, but no dry run can reproduce them.
        let random = match mods.first() {
            Some(Modifier::Method(m)) => m.id == Method::Random,
            Some(Modifier::Prop(p, _)) => p.as_ref() == "random",
            _ => false,
        };
        if tool == Tool::Math && random {
            return Err(self.unsupported_at(
                at,
                "$math.random is not supported: its result is random, so a dry run could not \
                 reproduce Genesys's output",
            ));
        }
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

    /// Compiles constant regex and replacement arguments of `replaceAll`, `replaceFirst`, `split`
    /// and `matches` once.
    fn precompile(&self, call: &mut MethodCall, at: usize) -> PResult<()> {
        if !matches!(
            call.id,
            Method::ReplaceAll | Method::ReplaceFirst | Method::Split | Method::Matches
        ) {
            return Ok(());
        }
        if let Some(Expr {
            kind: ExprKind::Str(pat),
            ..
        }) = call.args.first()
        {
            let compiled = if call.id == Method::Matches {
                JavaRegex::new_full(pat)
            } else {
                JavaRegex::new(pat)
            };
            match compiled {
                Ok(r) => call.regex = Some(Arc::new(r)),
                Err(e) => return Err(self.unsupported_at(at, e.message)),
            }
        }
        if matches!(call.id, Method::ReplaceAll | Method::ReplaceFirst)
            && let Some(Expr {
                kind: ExprKind::Str(rep),
                ..
            }) = call.args.get(1)
        {
            match Replacement::parse(rep) {
                Ok(r) => call.replacement = Some(Arc::new(r)),
                Err(e) => {
                    return Err(self.err_at(at, format!("bad {} replacement: {e}", call.name)));
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
}

fn push_backslashes(text: &mut String, n: usize) {
    for _ in 0..n {
        text.push('\\');
    }
}

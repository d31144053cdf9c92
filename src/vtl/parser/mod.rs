//! The Velocity parser: turns template source into the syntax tree of `ast.rs`, applying Velocity
//! 2.1+'s "lines" whitespace gobbling, escape rules (`\$`, `\#`), comments and unparsed blocks as it
//! goes, and rejecting everything outside nodectl's subset with a specific message.
//!
//! It scans bytes directly (every special character is ASCII). `template.rs` parses the template
//! level (text, escapes, directives, references); `expr.rs` parses the expressions inside
//! directives, method arguments and indexes, binary operators by precedence climbing over one
//! table of Velocity's operators.

mod expr;
mod template;

use super::ast::{Node, Pos};

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

    pub(super) fn skip_ws_from(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    }

    pub(super) fn skip_ws(&mut self) {
        self.p = self.skip_ws_from(self.p);
    }

    pub(super) fn keyword_at(&self, i: usize, kw: &str) -> bool {
        self.s.get(i..).is_some_and(|r| r.starts_with(kw))
            && !self.at(i + kw.len()).is_some_and(is_word_char)
    }

    fn describe_here(&self) -> String {
        match self.s.get(self.p..).and_then(|r| r.chars().next()) {
            None => "end of template".to_string(),
            Some('\n') | Some('\r') => "end of line".to_string(),
            Some(c) => format!("'{c}'"),
        }
    }
}

//! The JSONPath syntax tree: a [`Query`] is segments of selectors and at most one trailing
//! function; filters hold boolean [`Expr`]essions over path operands, literals and regexes.

use regex::Regex;
use serde_json::Value;

/// A path after its `$` or `@`: selectors, then at most one function.
#[derive(Debug, Clone)]
pub(super) struct Query {
    pub(super) segments: Vec<Segment>,
    pub(super) function: Option<Function>,
    /// Index of the first segment that is not a plain name or single index.
    pub(super) first_indefinite: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Segment {
    /// Preceded by `..`.
    pub(super) descendant: bool,
    pub(super) selector: Selector,
}

impl Segment {
    pub(super) fn is_definite(&self) -> bool {
        !self.descendant && matches!(self.selector, Selector::Name(_) | Selector::Index(_))
    }
}

#[derive(Debug, Clone)]
pub(super) enum Selector {
    Name(String),
    Names(Vec<String>),
    Wildcard,
    Index(i64),
    Indexes(Vec<i64>),
    Slice { from: Option<i64>, to: Option<i64> },
    Filter(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Function {
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
    pub(super) fn from_name(name: &str) -> Option<Self> {
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
pub(super) enum Expr {
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
pub(super) enum CmpOp {
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
pub(super) struct PathOperand {
    /// `$…` rather than `@…`.
    pub(super) from_root: bool,
    pub(super) query: Query,
}

#[derive(Debug, Clone)]
pub(super) enum Operand {
    Path(PathOperand),
    Literal(Value),
    Regex(Regex),
}

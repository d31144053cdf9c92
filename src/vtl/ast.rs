//! The syntax tree of a parsed Velocity template: text runs (with whitespace gobbling already applied
//! by the parser), references, directives and expressions, each carrying its 1-based source position.

use std::sync::Arc;

use super::regex_java::{JavaRegex, Replacement};

/// A 1-based line/column position in the template source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub line: u32,
    pub col: u32,
}

/// One statement of a template body.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    /// Literal output (already unescaped and gobbled).
    Text(Box<str>),
    /// A reference rendered into the output.
    Ref(Box<RefNode>),
    If(Box<IfNode>),
    Foreach(Box<ForeachNode>),
    Set(Box<SetNode>),
    Break,
}

/// A reference in text position, with the backslashes that preceded its `$`.
#[derive(Clone, Debug)]
pub(crate) struct RefNode {
    pub escapes: u32,
    pub r: RefExpr,
}

/// `$root.mod1.mod2(...)[idx]`, in shorthand or formal (`${...}`) notation, quiet or not.
#[derive(Clone, Debug)]
pub(crate) struct RefExpr {
    pub root: Box<str>,
    pub quiet: bool,
    pub mods: Vec<Modifier>,
    /// The reference's own source text (rendered when it is null in request mode).
    pub literal: Box<str>,
    pub pos: Pos,
}

#[derive(Clone, Debug)]
pub(crate) enum Modifier {
    Prop(Box<str>, Pos),
    Index(Expr, Pos),
    Method(Box<MethodCall>),
}

#[derive(Clone, Debug)]
pub(crate) struct MethodCall {
    pub name: Box<str>,
    pub id: Method,
    pub args: Vec<Expr>,
    pub pos: Pos,
    /// Pre-compiled pattern when the first argument of `replaceAll`/`split` is a constant.
    pub regex: Option<Arc<JavaRegex>>,
    /// Pre-parsed replacement when the second argument of `replaceAll` is a constant.
    pub replacement: Option<Arc<Replacement>>,
}

/// Every method name nodectl's subset knows (on strings, lists, maps, numbers and the tools).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Length,
    ToUpperCase,
    ToLowerCase,
    Trim,
    IsEmpty,
    Contains,
    StartsWith,
    EndsWith,
    IndexOf,
    Substring,
    Replace,
    ReplaceAll,
    Split,
    LastIndexOf,
    Concat,
    ReplaceFirst,
    Matches,
    Equals,
    EqualsIgnoreCase,
    CharAt,
    Size,
    Get,
    ContainsKey,
    KeySet,
    Values,
    IntValue,
    ToString,
    HasNext,
    // $esc
    Url,
    UrlFormEncode,
    UriEncode,
    JsonString,
    JsonEncode,
    Xml,
    Html,
    Java,
    JsonDecode,
    Javascript,
    Sql,
    Velocity,
    // $math
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Max,
    Min,
    Abs,
    Round,
    Floor,
    Ceil,
    ToNumber,
    ToInteger,
    Pow,
    Idiv,
    RoundTo,
    ToDouble,
    /// Known only to be refused with a clear message (its result is random).
    Random,
    // $encoding
    Base64,
    // $successTemplateUtils
    FirstFromArray,
    MoveKeysIntoArrayOfObjects,
    // $urlTool
    OptionalQueryParam,
    // $salesforce
    EscReserved,
}

impl Method {
    pub(crate) fn from_name(name: &str) -> Option<Method> {
        use Method::*;
        Some(match name {
            "length" => Length,
            "toUpperCase" => ToUpperCase,
            "toLowerCase" => ToLowerCase,
            "trim" => Trim,
            "isEmpty" => IsEmpty,
            "contains" => Contains,
            "startsWith" => StartsWith,
            "endsWith" => EndsWith,
            "indexOf" => IndexOf,
            "substring" => Substring,
            "replace" => Replace,
            "replaceAll" => ReplaceAll,
            "split" => Split,
            "lastIndexOf" => LastIndexOf,
            "concat" => Concat,
            "replaceFirst" => ReplaceFirst,
            "matches" => Matches,
            "equals" => Equals,
            "equalsIgnoreCase" => EqualsIgnoreCase,
            "charAt" => CharAt,
            "size" => Size,
            "get" => Get,
            "containsKey" => ContainsKey,
            "keySet" => KeySet,
            "values" => Values,
            "intValue" => IntValue,
            "toString" => ToString,
            "hasNext" => HasNext,
            "url" => Url,
            "urlFormEncode" => UrlFormEncode,
            "uriEncode" => UriEncode,
            "jsonString" => JsonString,
            "jsonEncode" => JsonEncode,
            "xml" => Xml,
            "html" => Html,
            "java" => Java,
            "jsonDecode" => JsonDecode,
            "javascript" => Javascript,
            "sql" => Sql,
            "velocity" => Velocity,
            "add" => Add,
            "sub" => Sub,
            "mul" => Mul,
            "div" => Div,
            "mod" => Mod,
            "max" => Max,
            "min" => Min,
            "abs" => Abs,
            "round" => Round,
            "floor" => Floor,
            "ceil" => Ceil,
            "toNumber" => ToNumber,
            "toInteger" => ToInteger,
            "pow" => Pow,
            "idiv" => Idiv,
            "roundTo" => RoundTo,
            "toDouble" => ToDouble,
            "random" => Random,
            "base64" => Base64,
            "firstFromArray" => FirstFromArray,
            "moveKeysIntoArrayOfObjects" => MoveKeysIntoArrayOfObjects,
            "optionalQueryParam" => OptionalQueryParam,
            "escReserved" => EscReserved,
            _ => return None,
        })
    }
}

/// The tools every template sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum Tool {
    Esc,
    Math,
    Encoding,
    SuccessTemplateUtils,
    UrlTool,
    /// Genesys's Salesforce macros (Salesforce data actions).
    Salesforce,
}

impl Tool {
    pub(crate) fn from_name(name: &str) -> Option<Tool> {
        Some(match name {
            "esc" => Tool::Esc,
            "math" => Tool::Math,
            "encoding" => Tool::Encoding,
            "successTemplateUtils" => Tool::SuccessTemplateUtils,
            "urlTool" => Tool::UrlTool,
            "salesforce" => Tool::Salesforce,
            _ => return None,
        })
    }

    pub(crate) fn has_method(self, m: Method) -> bool {
        use Method::*;
        match self {
            Tool::Esc => matches!(
                m,
                Url | UrlFormEncode
                    | UriEncode
                    | JsonString
                    | JsonEncode
                    | JsonDecode
                    | Xml
                    | Html
                    | Java
                    | Javascript
                    | Sql
                    | Velocity
            ),
            Tool::Math => matches!(
                m,
                Add | Sub
                    | Mul
                    | Div
                    | Mod
                    | Max
                    | Min
                    | Abs
                    | Round
                    | Floor
                    | Ceil
                    | ToNumber
                    | ToInteger
                    | Pow
                    | Idiv
                    | RoundTo
                    | ToDouble
            ),
            Tool::Encoding => m == Base64,
            Tool::SuccessTemplateUtils => matches!(m, FirstFromArray | MoveKeysIntoArrayOfObjects),
            Tool::UrlTool => m == OptionalQueryParam,
            Tool::Salesforce => m == EscReserved,
        }
    }

    /// The constant properties of `$esc` (EscapeTool's getters).
    pub(crate) fn property(self, name: &str) -> Option<&'static str> {
        if self != Tool::Esc {
            return None;
        }
        Some(match name {
            "quote" | "q" => "\"",
            "d" | "dollar" => "$",
            "h" | "hash" => "#",
            "b" | "backslash" => "\\",
            "s" | "singleQuote" => "'",
            "e" | "exclamation" => "!",
            "n" | "newline" => "\n",
            _ => return None,
        })
    }

    pub(crate) fn class_name(self) -> &'static str {
        match self {
            Tool::Esc => "org.apache.velocity.tools.generic.EscapeTool",
            Tool::Math => "org.apache.velocity.tools.generic.MathTool",
            Tool::Encoding => "EncodingTool",
            Tool::SuccessTemplateUtils => "SuccessTemplateUtils",
            Tool::UrlTool => "UrlTool",
            Tool::Salesforce => "SalesforceTool",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct IfNode {
    pub branches: Vec<(Expr, Vec<Node>)>,
    pub otherwise: Option<Vec<Node>>,
}

#[derive(Clone, Debug)]
pub(crate) struct ForeachNode {
    pub var: Box<str>,
    pub iterable: Expr,
    pub body: Vec<Node>,
    pub pos: Pos,
}

#[derive(Clone, Debug)]
pub(crate) struct SetNode {
    pub name: Box<str>,
    pub value: Expr,
}

#[derive(Clone, Debug)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    pub pos: Pos,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    And,
    Or,
}

#[derive(Clone, Debug)]
pub(crate) enum ExprKind {
    Str(Box<str>),
    /// A double-quoted string containing `$` or `#`: rendered as a small template.
    Interp(Vec<Node>),
    Int(i64),
    Big(i128),
    Float(f64),
    Bool(bool),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Range(Box<Expr>, Box<Expr>),
    Ref(Box<RefExpr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    /// Binary operators; for `+` the operands' source texts stand in for a null side when the other
    /// side is a string (Velocity's concatenation rule).
    Bin(Box<BinExpr>),
}

#[derive(Clone, Debug)]
pub(crate) struct BinExpr {
    pub op: BinOp,
    pub left: Expr,
    pub right: Expr,
    pub left_lit: Box<str>,
    pub right_lit: Box<str>,
}

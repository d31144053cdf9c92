//! nodectl's Velocity (VTL) template engine: the subset of Apache Velocity 2.1+ (with hyphens in
//! identifiers) that Genesys Cloud data actions use for request and success templates, rendered
//! exactly as Velocity renders it, and everything outside the subset rejected at parse time.
//!
//! Parse once with [`parse`], render many times with [`render`] against a JSON context (the root
//! object: `input`, `credentials`, translation variables, `rawResult`). [`Mode::Request`] renders a
//! null or undefined non-quiet reference as its own source text; [`Mode::Success`] is strict, as
//! Genesys runs success templates. [`Template::references`] and friends support validation.
//!
//! Templates come from pull requests and requests to the emulator and `serve`, so one render is
//! bounded: [`MAX_STEPS`] evaluation steps, strings and output of at most [`MAX_STRING_BYTES`],
//! [`MAX_BUILT_BYTES`] of strings built in all, lists and maps nested at most [`MAX_VALUE_DEPTH`]
//! deep. Running out is a [`RenderError`] at the construct that ran out, never a hang or an abort.

mod ast;
mod eval;
mod parser;
mod regex_java;
pub mod tools;
mod value;

use ast::{Expr, ExprKind, Method, Modifier, Node};

/// Evaluation steps one render may take: every node, loop iteration, expression, reference,
/// property and method call costs one, plus one per 256 bytes of the strings a method or
/// comparison reads and one per element a range, split, `keySet()` or list copy produces. A few
/// million steps take well under a second; a data action's template needs thousands.
pub const MAX_STEPS: u64 = 5_000_000;

/// Longest string value, and longest output, one render may build (8 MiB): far above any request
/// or response body Genesys accepts, far below what hurts the machine.
pub const MAX_STRING_BYTES: usize = 8 * 1024 * 1024;

/// Bytes of strings (interpolations, concatenations, method results) one render may build in all
/// (256 MiB), so that many variables of [`MAX_STRING_BYTES`] each cannot exhaust memory.
pub const MAX_BUILT_BYTES: u64 = 256 * 1024 * 1024;

/// Deepest nesting of list and map literals a render may build (a `#set($a = [$a])` loop).
pub const MAX_VALUE_DEPTH: usize = 64;

/// Steps [`render_quick`] takes before it gives up: templates of data actions need far fewer.
pub const QUICK_STEPS: u64 = 20_000;

/// Bytes of strings [`render_quick`] builds before it gives up (1 MiB).
pub const QUICK_BUILT_BYTES: u64 = 1024 * 1024;

/// A parsed template, ready to render any number of times.
#[derive(Clone, Debug)]
pub struct Template {
    nodes: Vec<Node>,
    source_len: usize,
}

/// How references that are null or undefined behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Request templates (URL, headers, body): a non-quiet null or undefined reference renders its
    /// own source text, as Velocity does by default.
    Request,
    /// `success_template`: strict references; an unset variable is an error with Velocity's
    /// message `Variable $x has not been set at successTemplate[line L, column C]`.
    Success,
}

/// A template that cannot be parsed, or uses something outside nodectl's Velocity subset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}\n{excerpt}")]
pub struct ParseError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    pub message: String,
    unsupported: bool,
    excerpt: String,
}

impl ParseError {
    /// True when the template is valid Velocity but uses a feature outside nodectl's subset (the
    /// template is then "not dry-runnable"); false for plain syntax errors.
    pub fn is_unsupported(&self) -> bool {
        self.unsupported
    }
}

/// A failure while rendering (index out of range, bad regex, strict reference, …).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct RenderError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// A variable reference found in a template, for validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefInfo {
    /// The variable name (`input` in `${input.name}`).
    pub root: String,
    /// The property names that follow the root, up to the first method call or index
    /// (`["name"]` in `${input.name}`, `["items"]` in `$input.items.size()`).
    pub path: Vec<String>,
    pub line: u32,
    pub column: u32,
    /// `$!name` / `$!{name}`.
    pub quiet: bool,
}

/// A reference rendered into a template's output, and where in the JSON text around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputRef {
    /// The variable name (`x` in `${x}` or `$x.length()`).
    pub root: String,
    /// Nothing follows the name (`${x}`, not `$x.length()` or `$x[0]`): the variable's own text
    /// is what is rendered.
    pub bare: bool,
    /// Whether the text before it leaves it inside a JSON string literal (`"…${x}…"`).
    pub in_json_string: bool,
    pub line: u32,
    pub column: u32,
}

/// Parses a template.
pub fn parse(source: &str) -> Result<Template, ParseError> {
    let root = parser::Root::new(source);
    let mut p = parser::Parser::new(&root, source, 0);
    match p.parse_template() {
        Ok(nodes) => Ok(Template {
            nodes,
            source_len: source.len(),
        }),
        Err(e) => {
            let pos = root.pos(e.off);
            let line_text = root.line_text(pos.line);
            let caret: String = line_text
                .chars()
                .take(pos.col.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            Err(ParseError {
                line: pos.line,
                column: pos.col,
                message: e.msg,
                unsupported: e.unsupported,
                excerpt: format!("  {line_text}\n  {caret}^"),
            })
        }
    }
}

/// Renders a template against `context` (a JSON object whose keys are the template's variables).
pub fn render(
    template: &Template,
    context: &serde_json::Value,
    mode: Mode,
) -> Result<String, RenderError> {
    let mut out = String::with_capacity(template.source_len + template.source_len / 2 + 16);
    let mut r = eval::Renderer::new(context, mode == Mode::Success);
    match r.render(&template.nodes, &mut out) {
        Ok(()) => Ok(out),
        Err(e) => Err(RenderError {
            line: e.pos.line,
            column: e.pos.col,
            message: e.msg,
        }),
    }
}

/// [`render`] with the small budgets [`QUICK_STEPS`] and [`QUICK_BUILT_BYTES`]: the result of
/// a cheap template, or `None` when the template needs more. Servers render inline with this and
/// hand what returns `None` to a thread that may block for the full budgets, so that one costly
/// template never holds up the tasks that answer other requests.
pub fn render_quick(
    template: &Template,
    context: &serde_json::Value,
    mode: Mode,
) -> Option<Result<String, RenderError>> {
    let mut out = String::with_capacity(template.source_len + template.source_len / 2 + 16);
    let mut r = eval::Renderer::with_budget(
        context,
        mode == Mode::Success,
        QUICK_STEPS,
        QUICK_BUILT_BYTES,
    );
    match r.render(&template.nodes, &mut out) {
        Ok(()) => Some(Ok(out)),
        Err(_) if r.ran_out => None,
        Err(e) => Some(Err(RenderError {
            line: e.pos.line,
            column: e.pos.col,
            message: e.msg,
        })),
    }
}

impl Template {
    /// Every variable reference in the template (text, directives, method arguments, string
    /// interpolation), in source order.
    pub fn references(&self) -> Vec<RefInfo> {
        let mut out = Vec::new();
        walk_nodes(&self.nodes, &mut |r| {
            let mut path = Vec::new();
            for m in &r.mods {
                match m {
                    Modifier::Prop(name, _) => path.push(name.to_string()),
                    _ => break,
                }
            }
            out.push(RefInfo {
                root: r.root.to_string(),
                path,
                line: r.pos.line,
                column: r.pos.col,
                quiet: r.quiet,
            });
        });
        out
    }

    /// The references rendered into the output (not those inside directives or method
    /// arguments, not escaped ones), in source order, each with whether the template's literal
    /// text before it leaves it inside a JSON string (a lexical reading: `"` opens and closes a
    /// string, `\` escapes the next character; each `#if` branch starts from the state before
    /// the `#if` and the first branch's state goes on after it, a `#foreach` body counts once).
    pub fn output_references(&self) -> Vec<OutputRef> {
        let mut out = Vec::new();
        let mut state = JsonTextState::default();
        output_refs(&self.nodes, &mut state, &mut out);
        out
    }

    /// The variables assigned by `#set` anywhere in the template.
    pub fn set_targets(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_targets(&self.nodes, &mut out, false);
        out
    }

    /// The loop variables of `#foreach` directives (`item` in `#foreach($item in …)`).
    pub fn loop_variables(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_targets(&self.nodes, &mut out, true);
        out
    }

    /// Best effort: whether a list or map (a `#set` list/map/range literal, or the result of
    /// `keySet()`, `values()` or `split()`) is rendered directly into the output.
    pub fn renders_collection_literal(&self) -> bool {
        let mut collections = Vec::new();
        collect_collection_vars(&self.nodes, &mut collections);
        renders_collection(&self.nodes, &collections)
    }
}

fn walk_nodes<'t>(nodes: &'t [Node], f: &mut dyn FnMut(&'t ast::RefExpr)) {
    for n in nodes {
        match n {
            Node::Text(_) | Node::Break => {}
            Node::Ref(r) => walk_ref(&r.r, f),
            Node::If(i) => {
                for (c, body) in &i.branches {
                    walk_expr(c, f);
                    walk_nodes(body, f);
                }
                if let Some(o) = &i.otherwise {
                    walk_nodes(o, f);
                }
            }
            Node::Foreach(fe) => {
                walk_expr(&fe.iterable, f);
                walk_nodes(&fe.body, f);
            }
            Node::Set(s) => walk_expr(&s.value, f),
        }
    }
}

/// Where literal text has left a JSON reader: inside a string, after a backslash in one.
#[derive(Clone, Copy, Default)]
struct JsonTextState {
    in_string: bool,
    escaped: bool,
}

impl JsonTextState {
    fn feed(&mut self, text: &str) {
        for c in text.chars() {
            if self.escaped {
                self.escaped = false;
            } else if self.in_string && c == '\\' {
                self.escaped = true;
            } else if c == '"' {
                self.in_string = !self.in_string;
            }
        }
    }
}

fn output_refs(nodes: &[Node], state: &mut JsonTextState, out: &mut Vec<OutputRef>) {
    for n in nodes {
        match n {
            Node::Text(text) => state.feed(text),
            Node::Ref(r) if r.escapes % 2 == 0 => {
                // A rendered value ends whatever escape the text began.
                state.escaped = false;
                out.push(OutputRef {
                    root: r.r.root.to_string(),
                    bare: r.r.mods.is_empty(),
                    in_json_string: state.in_string,
                    line: r.r.pos.line,
                    column: r.r.pos.col,
                });
            }
            Node::Ref(r) => state.feed(&r.r.literal),
            Node::If(i) => {
                let before = *state;
                let mut after = None;
                let bodies = i
                    .branches
                    .iter()
                    .map(|(_, b)| b)
                    .chain(i.otherwise.as_ref());
                for body in bodies {
                    let mut branch = before;
                    output_refs(body, &mut branch, out);
                    after.get_or_insert(branch);
                }
                *state = after.unwrap_or(before);
            }
            Node::Foreach(fe) => output_refs(&fe.body, state, out),
            Node::Set(_) | Node::Break => {}
        }
    }
}

fn walk_ref<'t>(r: &'t ast::RefExpr, f: &mut dyn FnMut(&'t ast::RefExpr)) {
    f(r);
    for m in &r.mods {
        match m {
            Modifier::Prop(..) => {}
            Modifier::Index(e, _) => walk_expr(e, f),
            Modifier::Method(c) => {
                for a in &c.args {
                    walk_expr(a, f);
                }
            }
        }
    }
}

fn walk_expr<'t>(e: &'t Expr, f: &mut dyn FnMut(&'t ast::RefExpr)) {
    match &e.kind {
        ExprKind::Str(_)
        | ExprKind::Int(_)
        | ExprKind::Big(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_) => {}
        ExprKind::Interp(nodes) => walk_nodes(nodes, f),
        ExprKind::List(items) => items.iter().for_each(|i| walk_expr(i, f)),
        ExprKind::Map(entries) => {
            for (k, v) in entries {
                walk_expr(k, f);
                walk_expr(v, f);
            }
        }
        ExprKind::Range(a, b) => {
            walk_expr(a, f);
            walk_expr(b, f);
        }
        ExprKind::Ref(r) => walk_ref(r, f),
        ExprKind::Not(i) | ExprKind::Neg(i) => walk_expr(i, f),
        ExprKind::Bin(b) => {
            walk_expr(&b.left, f);
            walk_expr(&b.right, f);
        }
    }
}

fn push_unique(out: &mut Vec<String>, name: &str) {
    if !out.iter().any(|n| n == name) {
        out.push(name.to_string());
    }
}

fn collect_targets(nodes: &[Node], out: &mut Vec<String>, loops: bool) {
    for n in nodes {
        match n {
            Node::Set(s) if !loops => push_unique(out, &s.name),
            Node::If(i) => {
                for (_, body) in &i.branches {
                    collect_targets(body, out, loops);
                }
                if let Some(o) = &i.otherwise {
                    collect_targets(o, out, loops);
                }
            }
            Node::Foreach(f) => {
                if loops {
                    push_unique(out, &f.var);
                }
                collect_targets(&f.body, out, loops);
            }
            _ => {}
        }
    }
}

fn yields_collection(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::List(_) | ExprKind::Map(_) | ExprKind::Range(..) => true,
        ExprKind::Ref(r) => ref_yields_collection(r, &[]),
        _ => false,
    }
}

fn ref_yields_collection(r: &ast::RefExpr, collections: &[String]) -> bool {
    match r.mods.last() {
        None => collections.iter().any(|c| **c == *r.root),
        Some(Modifier::Method(m)) => {
            matches!(m.id, Method::KeySet | Method::Values | Method::Split)
        }
        Some(_) => false,
    }
}

fn collect_collection_vars(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        match n {
            Node::Set(s) if yields_collection(&s.value) => push_unique(out, &s.name),
            Node::If(i) => {
                for (_, body) in &i.branches {
                    collect_collection_vars(body, out);
                }
                if let Some(o) = &i.otherwise {
                    collect_collection_vars(o, out);
                }
            }
            Node::Foreach(f) => collect_collection_vars(&f.body, out),
            _ => {}
        }
    }
}

fn renders_collection(nodes: &[Node], collections: &[String]) -> bool {
    nodes.iter().any(|n| match n {
        Node::Ref(r) => r.escapes % 2 == 0 && ref_yields_collection(&r.r, collections),
        Node::If(i) => {
            i.branches
                .iter()
                .any(|(_, body)| renders_collection(body, collections))
                || i.otherwise
                    .as_ref()
                    .is_some_and(|o| renders_collection(o, collections))
        }
        Node::Foreach(f) => renders_collection(&f.body, collections),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}

    #[test]
    fn template_is_send_sync() {
        assert_send_sync::<Template>();
    }

    #[test]
    fn introspection() {
        let t =
            parse("#set($a = [1])${input.x} $a $!input.y.z.size() #foreach($i in $input.l)$i#end")
                .unwrap();
        let refs = t.references();
        assert_eq!(refs[0].root, "input");
        assert_eq!(refs[0].path, vec!["x"]);
        assert_eq!(refs[0].column, 15);
        assert_eq!(t.set_targets(), vec!["a"]);
        assert_eq!(t.loop_variables(), vec!["i"]);
        assert!(t.renders_collection_literal());
        assert!(!parse("$input.x").unwrap().renders_collection_literal());
    }

    #[test]
    fn parse_error_display() {
        let e = parse("ab\n  #macro(x)#end").unwrap_err();
        assert!(e.is_unsupported());
        assert_eq!((e.line, e.column), (2, 3));
        assert_eq!(
            e.to_string(),
            "line 2, column 3: unsupported directive #macro (outside nodectl's Velocity subset)\n    #macro(x)#end\n    ^"
        );
        let e = parse("#if(true").unwrap_err();
        assert!(!e.is_unsupported());
    }
}

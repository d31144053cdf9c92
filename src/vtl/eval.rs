//! The renderer: walks the syntax tree against a JSON context and writes the output, following
//! Velocity's rules for null and undefined references (source text in request templates, errors in
//! strict success templates), `#set`/`#foreach` scoping, `#break`, and Java method semantics
//! (UTF-16 string indexes, `split`, `replaceAll`, list and map methods).

use std::borrow::Cow;
use std::rc::Rc;

use serde_json::Value as Json;

use super::ast::{
    BinExpr, BinOp, Expr, ExprKind, ForeachNode, Method, MethodCall, Modifier, Node, Pos, RefExpr,
    Tool,
};
use super::regex_java::{JavaRegex, Replacement};
use super::tools;
use super::value::{LoopInfo, Num, Value, arith, java_int_value, velocity_eq, velocity_order};
use super::{MAX_BUILT_BYTES, MAX_STEPS, MAX_STRING_BYTES, MAX_VALUE_DEPTH};

/// Largest list a range literal may materialize.
const MAX_RANGE: i128 = 1_000_000;

/// A render failure.
#[derive(Debug)]
pub(crate) struct RErr {
    pub pos: Pos,
    pub msg: String,
}

enum Flow {
    Normal,
    Break,
}

pub(crate) struct Renderer<'a> {
    ctx: &'a Json,
    strict: bool,
    locals: Vec<(&'a str, Value<'a>)>,
    /// Steps taken so far, against [`MAX_STEPS`].
    steps: u64,
    /// Bytes of strings built so far, against [`MAX_BUILT_BYTES`].
    built: u64,
    /// The position of the construct being evaluated, for budget errors in plain text.
    here: Pos,
    /// This render's step and bytes-built budgets: the full ones, or a quick pass's.
    max_steps: u64,
    max_built: u64,
    /// Set when a budget ran out, so that a quick pass knows to hand over to a full render.
    pub(crate) ran_out: bool,
}

/// Steps for reading a string of `len` bytes: scanning 256 bytes costs about as much as a node.
fn read_cost(len: usize) -> u64 {
    (len / 256) as u64
}

/// What a method reads of a value: the text of a string (list methods other than `contains`
/// are O(1) and charged on their own).
fn text_cost(v: &Value<'_>) -> u64 {
    read_cost(v.as_str().map_or(0, str::len))
}

/// What comparing a value costs: its text for strings, its elements for lists and maps.
fn value_cost(v: &Value<'_>) -> u64 {
    match v {
        Value::Str(_) | Value::OStr(_) => read_cost(v.as_str().map_or(0, str::len)),
        other => other.list_len().or_else(|| other.map_len()).unwrap_or(0) as u64,
    }
}

type R<T> = Result<T, RErr>;

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Byte offset of UTF-16 index `idx` in `s`; `None` past the end or inside a surrogate pair.
fn utf16_to_byte(s: &str, idx: usize) -> Option<usize> {
    let mut units = 0usize;
    for (b, c) in s.char_indices() {
        if units == idx {
            return Some(b);
        }
        units += c.len_utf16();
        if units > idx {
            return None;
        }
    }
    (units == idx).then_some(s.len())
}

fn byte_to_utf16(s: &str, byte: usize) -> usize {
    s.get(..byte).map(utf16_len).unwrap_or(0)
}

/// What `indexOf` / `lastIndexOf` look for: Java's overloads take a string or a character code.
enum Needle<'a> {
    Text(Cow<'a, str>),
    /// A code that is no character: found nowhere (-1).
    NoSuchChar,
    /// Neither: no such method overload.
    NotText,
}

fn needle_of<'a>(x: &'a Value<'_>) -> Needle<'a> {
    match x {
        Value::Int(code) => match u32::try_from(*code).ok().and_then(char::from_u32) {
            Some(c) => Needle::Text(Cow::Owned(c.to_string())),
            None => Needle::NoSuchChar,
        },
        other => arg_str(other).map_or(Needle::NotText, Needle::Text),
    }
}

/// Java's `s.lastIndexOf(needle, from)` in UTF-16 units: the last match starting at or before
/// `from`, or -1. Matches of a whole-character needle are character-aligned, so the search runs
/// on the UTF-8 text, in the prefix where such a match can end.
fn last_index_of(s: &str, needle: &str, from: i64) -> i64 {
    let (len, needle_len) = (utf16_len(s) as i64, utf16_len(needle) as i64);
    let start = from.min(len - needle_len);
    if start < 0 {
        return -1;
    }
    let limit = (start + needle_len) as usize;
    // the byte end of the last whole character within the first `limit` units
    let mut units = 0usize;
    let mut end = 0usize;
    for (b, c) in s.char_indices() {
        units += c.len_utf16();
        if units > limit {
            break;
        }
        end = b + c.len_utf8();
    }
    match s.get(..end).and_then(|prefix| prefix.rfind(needle)) {
        Some(b) => byte_to_utf16(s, b) as i64,
        None => -1,
    }
}

impl<'a> Renderer<'a> {
    /// A renderer with the full budgets.
    pub(crate) fn new(ctx: &'a Json, strict: bool) -> Renderer<'a> {
        Renderer::with_budget(ctx, strict, MAX_STEPS, MAX_BUILT_BYTES)
    }

    /// A renderer that gives up after `max_steps` steps or `max_built` bytes of strings built.
    pub(crate) fn with_budget(
        ctx: &'a Json,
        strict: bool,
        max_steps: u64,
        max_built: u64,
    ) -> Renderer<'a> {
        Renderer {
            ctx,
            strict,
            locals: Vec::new(),
            steps: 0,
            built: 0,
            here: Pos { line: 1, col: 1 },
            max_steps,
            max_built,
            ran_out: false,
        }
    }

    // ----- budgets -----

    /// Takes `n` steps at `pos`; past [`MAX_STEPS`] the render fails there.
    fn charge(&mut self, pos: Pos, n: u64) -> R<()> {
        self.here = pos;
        self.steps = self.steps.saturating_add(n);
        if self.steps > self.max_steps {
            self.ran_out = true;
            return Err(self.err(
                pos,
                format!(
                    "template budget exceeded: more than {MAX_STEPS} evaluation steps (loops or expressions too costly for one render){}",
                    self.at(pos)
                ),
            ));
        }
        Ok(())
    }

    /// Refuses output or a string past [`MAX_STRING_BYTES`].
    fn check_len(&self, len: usize, pos: Pos) -> R<()> {
        if len > MAX_STRING_BYTES {
            return Err(self.err(
                pos,
                format!(
                    "template budget exceeded: a string or the output grew past {MAX_STRING_BYTES} bytes{}",
                    self.at(pos)
                ),
            ));
        }
        Ok(())
    }

    /// Accounts for a string the render built (and checks its length).
    fn built_string(&mut self, v: &Value<'a>, pos: Pos) -> R<()> {
        if let Value::OStr(s) = v {
            self.check_len(s.len(), pos)?;
            self.built = self.built.saturating_add(s.len() as u64);
            if self.built > self.max_built {
                self.ran_out = true;
                return Err(self.err(
                    pos,
                    format!(
                        "template budget exceeded: more than {MAX_BUILT_BYTES} bytes of strings built{}",
                    self.at(pos)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Refuses a list or map literal nested past [`MAX_VALUE_DEPTH`] (deep values would overflow
    /// the stack when rendered or dropped). Each list or map visited costs a step, so a shared
    /// value (`[$a, $a]` repeated) cannot make this walk exponential.
    fn check_depth(&mut self, v: &Value<'a>, depth: usize, pos: Pos) -> R<()> {
        if depth > MAX_VALUE_DEPTH {
            return Err(self.err(
                pos,
                format!(
                    "template budget exceeded: lists or maps nested deeper than {MAX_VALUE_DEPTH} levels{}",
                    self.at(pos)
                ),
            ));
        }
        match v {
            Value::List(items) | Value::Coll(items) => {
                self.charge(pos, 1)?;
                for item in items.iter() {
                    self.check_depth(item, depth + 1, pos)?;
                }
            }
            Value::Map(entries) => {
                self.charge(pos, 1)?;
                for (k, item) in entries.iter() {
                    self.check_depth(k, depth + 1, pos)?;
                    self.check_depth(item, depth + 1, pos)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub(crate) fn render(&mut self, nodes: &'a [Node], out: &mut String) -> R<()> {
        self.render_nodes(nodes, out).map(|_| ())
    }

    fn at(&self, pos: Pos) -> String {
        if self.strict {
            format!(" at successTemplate[line {}, column {}]", pos.line, pos.col)
        } else {
            String::new()
        }
    }

    fn err(&self, pos: Pos, msg: impl Into<String>) -> RErr {
        RErr {
            pos,
            msg: msg.into(),
        }
    }

    // ----- variables -----

    fn lookup(&self, name: &str) -> Option<Value<'a>> {
        if let Some((_, v)) = self.locals.iter().rev().find(|(n, _)| *n == name) {
            return Some(v.clone());
        }
        if let Json::Object(m) = self.ctx
            && let Some(v) = m.get(name)
        {
            return Some(Value::from_json(v));
        }
        Tool::from_name(name).map(Value::Tool)
    }

    fn set_local(&mut self, name: &'a str, v: Value<'a>) {
        if let Some(slot) = self.locals.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = v;
        } else {
            self.locals.push((name, v));
        }
    }

    fn take_local(&mut self, name: &str) -> Option<Value<'a>> {
        let idx = self.locals.iter().rposition(|(n, _)| *n == name)?;
        Some(self.locals.remove(idx).1)
    }

    fn restore_local(&mut self, name: &'a str, saved: Option<Value<'a>>) {
        let _ = self.take_local(name);
        if let Some(v) = saved {
            self.locals.push((name, v));
        }
    }

    // ----- statements -----

    fn render_nodes(&mut self, nodes: &'a [Node], out: &mut String) -> R<Flow> {
        for node in nodes {
            self.charge(self.here, 1)?;
            match node {
                Node::Text(t) => {
                    out.push_str(t);
                    self.check_len(out.len(), self.here)?;
                }
                Node::Ref(rn) => {
                    let r = &rn.r;
                    let n = rn.escapes as usize;
                    let v = self.eval_ref(r, false)?;
                    if n % 2 == 1 {
                        let k = if v.is_null() { n / 2 + 1 } else { n / 2 };
                        push_backslashes(out, k);
                        out.push_str(&r.literal);
                    } else if v.is_null() {
                        if self.strict && !r.quiet {
                            return Err(self.err(
                                r.pos,
                                format!(
                                    "Reference {} evaluated to null when attempting to render{}",
                                    r.literal,
                                    self.at(r.pos)
                                ),
                            ));
                        }
                        push_backslashes(out, n);
                        if !r.quiet {
                            out.push_str(&r.literal);
                        }
                    } else {
                        push_backslashes(out, n / 2);
                        v.write_to(out);
                    }
                    self.check_len(out.len(), r.pos)?;
                }
                Node::If(ifn) => {
                    let mut chosen = None;
                    for (cond, body) in &ifn.branches {
                        if self.eval_bool(cond)? {
                            chosen = Some(body);
                            break;
                        }
                    }
                    let body = match chosen {
                        Some(b) => Some(b),
                        None => ifn.otherwise.as_ref(),
                    };
                    if let Some(body) = body
                        && let Flow::Break = self.render_nodes(body, out)?
                    {
                        return Ok(Flow::Break);
                    }
                }
                Node::Set(s) => {
                    let v = self.eval(&s.value)?;
                    self.set_local(&s.name, v);
                }
                Node::Foreach(f) => self.foreach(f, out)?,
                Node::Break => return Ok(Flow::Break),
            }
        }
        Ok(Flow::Normal)
    }

    fn foreach(&mut self, f: &'a ForeachNode, out: &mut String) -> R<()> {
        enum Items<'a> {
            Json(&'a [Json]),
            Values(Vec<Value<'a>>),
            Range(i64, i64),
            None,
        }
        let items = match &f.iterable.kind {
            ExprKind::Range(lo, hi) => match self.range_bounds(lo, hi)? {
                Some((a, b)) => Items::Range(a, b),
                None => Items::None,
            },
            _ => {
                let v = self.eval(&f.iterable)?;
                match v {
                    Value::Json(Json::Array(a)) => Items::Json(a.as_slice()),
                    Value::List(l) | Value::Coll(l) => {
                        self.charge(f.pos, l.len() as u64)?;
                        Items::Values(l.as_ref().clone())
                    }
                    Value::Json(Json::Object(_)) | Value::Map(_) => {
                        self.charge(f.pos, value_cost(&v))?;
                        Items::Values(v.map_values().unwrap_or_default())
                    }
                    Value::Null => Items::None,
                    other => {
                        if self.strict {
                            return Err(self.err(
                                f.iterable.pos,
                                format!(
                                    "#foreach over a {} which is not iterable{}",
                                    other.java_class(),
                                    self.at(f.pos)
                                ),
                            ));
                        }
                        Items::None
                    }
                }
            }
        };
        let len = match &items {
            Items::Json(a) => a.len(),
            Items::Values(v) => v.len(),
            Items::Range(a, b) => (a.abs_diff(*b) as usize).saturating_add(1),
            Items::None => 0,
        };
        if len == 0 {
            return Ok(());
        }
        let var: &'a str = &f.var;
        let saved_var = self.take_local(var);
        let saved_loop = self.take_local("foreach");
        let mut result = Ok(());
        for index in 0..len {
            if let Err(e) = self.charge(f.pos, 1) {
                result = Err(e);
                break;
            }
            let item = match &items {
                Items::Json(a) => a.get(index).map(Value::from_json).unwrap_or(Value::Null),
                Items::Values(v) => v.get(index).cloned().unwrap_or(Value::Null),
                Items::Range(a, b) => {
                    let step = if a <= b {
                        index as i64
                    } else {
                        -(index as i64)
                    };
                    Value::Int(a.saturating_add(step))
                }
                Items::None => Value::Null,
            };
            self.set_local(var, item);
            self.set_local("foreach", Value::Loop(LoopInfo { index, len }));
            match self.render_nodes(&f.body, out) {
                Ok(Flow::Normal) => {}
                Ok(Flow::Break) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.restore_local(var, saved_var);
        self.restore_local("foreach", saved_loop);
        result
    }

    fn range_bounds(&mut self, lo: &'a Expr, hi: &'a Expr) -> R<Option<(i64, i64)>> {
        let a = self.eval(lo)?;
        let b = self.eval(hi)?;
        match (a.num(), b.num()) {
            (Some(x), Some(y)) => Ok(Some((
                i64::from(java_int_value(x)),
                i64::from(java_int_value(y)),
            ))),
            _ => Ok(None),
        }
    }

    // ----- expressions -----

    /// Evaluates in boolean context; an undefined bare reference is allowed here even in strict mode.
    fn eval_bool(&mut self, e: &'a Expr) -> R<bool> {
        match &e.kind {
            ExprKind::Ref(r) if r.mods.is_empty() => Ok(self.eval_ref(r, true)?.truthy()),
            ExprKind::Not(inner) => Ok(!self.eval_bool(inner)?),
            ExprKind::Bin(b) if b.op == BinOp::And => {
                Ok(self.eval_bool(&b.left)? && self.eval_bool(&b.right)?)
            }
            ExprKind::Bin(b) if b.op == BinOp::Or => {
                Ok(self.eval_bool(&b.left)? || self.eval_bool(&b.right)?)
            }
            _ => Ok(self.eval(e)?.truthy()),
        }
    }

    fn eval(&mut self, e: &'a Expr) -> R<Value<'a>> {
        self.charge(e.pos, 1)?;
        Ok(match &e.kind {
            ExprKind::Str(s) => Value::Str(s),
            ExprKind::Interp(nodes) => {
                let mut s = String::new();
                self.render_nodes(nodes, &mut s)?;
                let v = Value::owned_str(s);
                self.built_string(&v, e.pos)?;
                v
            }
            ExprKind::Int(i) => Value::Int(*i),
            ExprKind::Big(i) => Value::Big(*i),
            ExprKind::Float(f) => Value::Float(*f),
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::List(items) => {
                let mut v = Vec::with_capacity(items.len());
                for it in items {
                    v.push(self.eval(it)?);
                }
                let list = Value::List(Rc::new(v));
                self.check_depth(&list, 0, e.pos)?;
                list
            }
            ExprKind::Map(entries) => {
                let mut m: Vec<(Value<'a>, Value<'a>)> = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let k = self.eval(k)?;
                    let v = self.eval(v)?;
                    if let Some(slot) = m
                        .iter_mut()
                        .find(|(ek, _)| super::value::java_equals(ek, &k))
                    {
                        slot.1 = v;
                    } else {
                        m.push((k, v));
                    }
                }
                let map = Value::Map(Rc::new(m));
                self.check_depth(&map, 0, e.pos)?;
                map
            }
            ExprKind::Range(lo, hi) => match self.range_bounds(lo, hi)? {
                Some((a, b)) => {
                    if i128::from(a.abs_diff(b)) >= MAX_RANGE {
                        return Err(self.err(
                            e.pos,
                            format!("range [{a}..{b}] is too large to build as a list"),
                        ));
                    }
                    self.charge(e.pos, a.abs_diff(b))?;
                    let v: Vec<Value<'a>> = if a <= b {
                        (a..=b).map(Value::Int).collect()
                    } else {
                        (b..=a).rev().map(Value::Int).collect()
                    };
                    Value::List(Rc::new(v))
                }
                None => Value::Null,
            },
            ExprKind::Ref(r) => self.eval_ref(r, false)?,
            ExprKind::Not(inner) => Value::Bool(!self.eval_bool(inner)?),
            ExprKind::Neg(inner) => match self.eval(inner)?.num() {
                Some(Num::I(i)) => match i.checked_neg() {
                    Some(n) => Value::from_int(n),
                    None => Value::Float(-(i as f64)),
                },
                Some(Num::B(i)) => match i.checked_neg() {
                    Some(n) => Value::Big(n),
                    None => Value::Float(-(i as f64)),
                },
                Some(Num::F(f)) => Value::Float(-f),
                None => Value::Null,
            },
            ExprKind::Bin(b) => self.eval_bin(b, e.pos)?,
        })
    }

    fn eval_bin(&mut self, b: &'a BinExpr, pos: Pos) -> R<Value<'a>> {
        match b.op {
            BinOp::And => Ok(Value::Bool(
                self.eval_bool(&b.left)? && self.eval_bool(&b.right)?,
            )),
            BinOp::Or => Ok(Value::Bool(
                self.eval_bool(&b.left)? || self.eval_bool(&b.right)?,
            )),
            BinOp::Eq | BinOp::Ne => {
                let l = self.eval(&b.left)?;
                let r = self.eval(&b.right)?;
                self.charge(pos, value_cost(&l).saturating_add(value_cost(&r)))?;
                let eq = velocity_eq(&l, &r);
                Ok(Value::Bool(if b.op == BinOp::Eq { eq } else { !eq }))
            }
            BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => {
                let l = self.eval(&b.left)?;
                let r = self.eval(&b.right)?;
                self.charge(pos, value_cost(&l).saturating_add(value_cost(&r)))?;
                if l.is_null() || r.is_null() {
                    if self.strict {
                        let (side, lit) = if l.is_null() {
                            ("Left", &b.left)
                        } else {
                            ("Right", &b.right)
                        };
                        let lit = match &lit.kind {
                            ExprKind::Ref(r) => r.literal.to_string(),
                            _ => "expression".to_string(),
                        };
                        return Err(self.err(
                            pos,
                            format!(
                                "{side} side ({lit}) of comparison operation has null value{}",
                                self.at(pos)
                            ),
                        ));
                    }
                    return Ok(Value::Bool(false));
                }
                match velocity_order(&l, &r) {
                    Some(ord) => Ok(Value::Bool(match b.op {
                        BinOp::Lt => ord.is_lt(),
                        BinOp::Gt => ord.is_gt(),
                        BinOp::Le => ord.is_le(),
                        _ => ord.is_ge(),
                    })),
                    None => {
                        if self.strict {
                            let side = if l.num().is_some() { "Right" } else { "Left" };
                            return Err(self.err(
                                pos,
                                format!(
                                    "{side} side of comparison operation is not a number{}",
                                    self.at(pos)
                                ),
                            ));
                        }
                        Ok(Value::Bool(false))
                    }
                }
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                let l = self.eval(&b.left)?;
                let r = self.eval(&b.right)?;
                if b.op == BinOp::Add && (l.as_str().is_some() || r.as_str().is_some()) {
                    let mut s = String::new();
                    if l.is_null() {
                        s.push_str(&b.left_lit);
                    } else {
                        l.write_to(&mut s);
                    }
                    if r.is_null() {
                        s.push_str(&b.right_lit);
                    } else {
                        r.write_to(&mut s);
                    }
                    let v = Value::owned_str(s);
                    self.built_string(&v, pos)?;
                    return Ok(v);
                }
                let (Some(x), Some(y)) = (l.num(), r.num()) else {
                    return Ok(Value::Null);
                };
                let op = match b.op {
                    BinOp::Add => '+',
                    BinOp::Sub => '-',
                    BinOp::Mul => '*',
                    BinOp::Div => '/',
                    _ => '%',
                };
                match arith(op, x, y) {
                    Ok(r) => Ok(r.map_or(Value::Null, Num::into_value)),
                    Err(msg) => Err(self.err(pos, msg)),
                }
            }
        }
    }

    // ----- references -----

    fn eval_ref(&mut self, r: &'a RefExpr, in_condition: bool) -> R<Value<'a>> {
        self.charge(r.pos, 1)?;
        let mut v = match self.lookup(&r.root) {
            Some(v) => v,
            None => {
                if self.strict && !(in_condition && r.mods.is_empty()) {
                    return Err(self.err(
                        r.pos,
                        format!("Variable ${} has not been set{}", r.root, self.at(r.pos)),
                    ));
                }
                return Ok(Value::Null);
            }
        };
        for m in &r.mods {
            if v.is_null() {
                if self.strict {
                    let (name, pos) = match m {
                        Modifier::Prop(n, p) => (n.to_string(), *p),
                        Modifier::Method(c) => (format!("{}()", c.name), c.pos),
                        Modifier::Index(_, p) => ("[]".to_string(), *p),
                    };
                    return Err(self.err(
                        pos,
                        format!(
                            "Attempted to access '{name}' on a null value{}",
                            self.at(pos)
                        ),
                    ));
                }
                return Ok(Value::Null);
            }
            v = match m {
                Modifier::Prop(name, pos) => self.get_prop(v, name, *pos)?,
                Modifier::Index(idx, pos) => {
                    let i = self.eval(idx)?;
                    self.index(v, i, *pos, &r.literal)?
                }
                Modifier::Method(call) => {
                    let mut args = Vec::with_capacity(call.args.len());
                    for a in &call.args {
                        args.push(self.eval(a)?);
                    }
                    // A method reads its receiver and arguments (and may copy them): charge by size.
                    let mut cost = args
                        .iter()
                        .fold(text_cost(&v), |sum, a| sum.saturating_add(text_cost(a)));
                    if call.id == Method::Contains {
                        cost = cost.saturating_add(v.list_len().unwrap_or(0) as u64);
                    }
                    // `split` can make a part of every byte: pay for them before they are built.
                    if call.id == Method::Split {
                        cost = cost.saturating_add(v.as_str().map_or(0, str::len) as u64);
                    }
                    self.charge(call.pos, cost.saturating_add(1))?;
                    let result = self.call(v, call, args, &r.literal)?;
                    self.built_string(&result, call.pos)?;
                    // `split`, `keySet()` and `values()` build one element per part.
                    if let Value::List(items) | Value::Coll(items) = &result {
                        self.charge(call.pos, items.len() as u64)?;
                    }
                    result
                }
            };
        }
        Ok(v)
    }

    fn get_prop(&self, v: Value<'a>, name: &str, pos: Pos) -> R<Value<'a>> {
        if let Some(found) = v.map_get_str(name) {
            return Ok(found);
        }
        let found = match &v {
            Value::Tool(t) => t.property(name).map(Value::Str),
            Value::Loop(l) => match name {
                "index" => Some(Value::Int(l.index as i64)),
                "count" => Some(Value::Int(l.index as i64 + 1)),
                "hasNext" => Some(Value::Bool(l.index + 1 < l.len)),
                "first" => Some(Value::Bool(l.index == 0)),
                "last" => Some(Value::Bool(l.index + 1 == l.len)),
                _ => None,
            },
            Value::Str(s) if name == "empty" => Some(Value::Bool(s.is_empty())),
            Value::OStr(s) if name == "empty" => Some(Value::Bool(s.is_empty())),
            other if name == "empty" && other.is_list() => {
                Some(Value::Bool(other.list_len() == Some(0)))
            }
            _ => None,
        };
        match found {
            Some(f) => Ok(f),
            None if self.strict => Err(self.err(
                pos,
                format!(
                    "Object '{}' does not contain property '{name}'{}",
                    v.java_class(),
                    self.at(pos)
                ),
            )),
            None => Ok(Value::Null),
        }
    }

    fn index(&self, v: Value<'a>, i: Value<'a>, pos: Pos, lit: &str) -> R<Value<'a>> {
        if let Some(len) = v.list_len().filter(|_| !matches!(v, Value::Coll(_))) {
            let Some(n) = arg_int(&i) else {
                return self.not_found(&v, "get", pos);
            };
            let idx = if n < 0 {
                i64::from(n) + len as i64
            } else {
                i64::from(n)
            };
            return match usize::try_from(idx).ok().and_then(|k| v.list_get(k)) {
                Some(x) => Ok(x),
                None => Err(self.err(
                    pos,
                    format!("{lit}: index {n} out of range for a list of size {len}"),
                )),
            };
        }
        if v.is_map() {
            return Ok(v.map_get(&i).unwrap_or(Value::Null));
        }
        self.not_found(&v, "get", pos)
    }

    fn not_found(&self, v: &Value<'a>, method: &str, pos: Pos) -> R<Value<'a>> {
        if self.strict {
            Err(self.err(
                pos,
                format!(
                    "Object '{}' does not contain method {method}(){}",
                    v.java_class(),
                    self.at(pos)
                ),
            ))
        } else {
            Ok(Value::Null)
        }
    }

    fn thrown(&self, pos: Pos, lit: &str, msg: impl std::fmt::Display) -> RErr {
        self.err(pos, format!("{lit}: {msg}"))
    }

    /// A method's regex argument: the pattern compiled with the template when it was a literal
    /// (`cached`), else `arg` compiled now by `compile` (`None`: `arg` is not text — no such
    /// overload).
    fn regex_arg<'c>(
        &self,
        cached: Option<&'c JavaRegex>,
        arg: &Value<'_>,
        compile: fn(&str) -> Result<JavaRegex, crate::vtl::regex_java::RegexError>,
        pos: Pos,
        lit: &str,
    ) -> R<Option<Cow<'c, JavaRegex>>> {
        if let Some(regex) = cached {
            return Ok(Some(Cow::Borrowed(regex)));
        }
        let Some(pattern) = arg_str(arg) else {
            return Ok(None);
        };
        let regex = compile(&pattern).map_err(|e| self.thrown(pos, lit, e.message))?;
        Ok(Some(Cow::Owned(regex)))
    }

    fn call(
        &self,
        v: Value<'a>,
        call: &'a MethodCall,
        args: Vec<Value<'a>>,
        lit: &str,
    ) -> R<Value<'a>> {
        let pos = call.pos;
        let nf = || self.not_found(&v, &call.name, pos);
        if let Value::Tool(t) = v {
            if !t.has_method(call.id) {
                return nf();
            }
            return match tools::call(t, call.id, &args) {
                Ok(Some(x)) => Ok(x),
                Ok(None) => nf(),
                Err(e) => Err(self.thrown(pos, lit, e)),
            };
        }
        if call.id == Method::ToString && args.is_empty() {
            return Ok(match &v {
                Value::Str(_) | Value::OStr(_) => v.clone(),
                other => Value::owned_str(other.to_java_string()),
            });
        }
        if call.id == Method::Equals
            && let [x] = args.as_slice()
            && v.as_str().is_none()
        {
            return Ok(Value::Bool(super::value::java_equals(&v, x)));
        }
        match &v {
            Value::Str(s) => self
                .string_method(s, call, &args, lit)
                .map(StrResult::into_value),
            Value::OStr(s) => {
                let s: Rc<str> = s.clone();
                self.string_method(&s, call, &args, lit)
                    .map(StrResult::into_owned_value)
            }
            Value::Int(_) | Value::Big(_) | Value::Float(_) => match (call.id, args.as_slice()) {
                (Method::IntValue, []) => match v.num() {
                    Some(n) => Ok(Value::Int(i64::from(java_int_value(n)))),
                    None => nf(),
                },
                _ => nf(),
            },
            Value::Loop(l) => match (call.id, args.as_slice()) {
                (Method::HasNext, []) => Ok(Value::Bool(l.index + 1 < l.len)),
                _ => nf(),
            },
            other if other.is_list() => {
                let len = other.list_len().unwrap_or(0);
                match (call.id, args.as_slice()) {
                    (Method::Size, []) => Ok(Value::Int(len as i64)),
                    (Method::IsEmpty, []) => Ok(Value::Bool(len == 0)),
                    (Method::Get, [i]) => {
                        if matches!(other, Value::Coll(_)) {
                            return nf();
                        }
                        let Some(n) = arg_int(i) else { return nf() };
                        match usize::try_from(n).ok().and_then(|k| other.list_get(k)) {
                            Some(x) => Ok(x),
                            None => Err(self.err(
                                pos,
                                format!("{lit}: index {n} out of range for a list of size {len}"),
                            )),
                        }
                    }
                    (Method::Contains, [x]) => Ok(Value::Bool((0..len).any(|k| {
                        other
                            .list_get(k)
                            .is_some_and(|e| super::value::java_equals(&e, x))
                    }))),
                    _ => nf(),
                }
            }
            other if other.is_map() => match (call.id, args.as_slice()) {
                (Method::Get, [k]) => Ok(other.map_get(k).unwrap_or(Value::Null)),
                (Method::ContainsKey, [k]) => {
                    Ok(Value::Bool(other.map_contains_key(k).unwrap_or(false)))
                }
                (Method::KeySet, []) => {
                    Ok(Value::Coll(Rc::new(other.map_keys().unwrap_or_default())))
                }
                (Method::Values, []) => {
                    Ok(Value::Coll(Rc::new(other.map_values().unwrap_or_default())))
                }
                (Method::Size, []) => Ok(Value::Int(other.map_len().unwrap_or(0) as i64)),
                (Method::IsEmpty, []) => Ok(Value::Bool(other.map_len() == Some(0))),
                _ => nf(),
            },
            _ => nf(),
        }
    }

    /// String methods; results may borrow the receiver `s`.
    fn string_method<'s>(
        &self,
        s: &'s str,
        call: &'a MethodCall,
        args: &[Value<'a>],
        lit: &str,
    ) -> R<StrResult<'a, 's>> {
        let pos = call.pos;
        let nf = || -> R<StrResult<'a, 's>> {
            self.not_found(&Value::Str(""), &call.name, pos)
                .map(StrResult::Value)
        };
        let npe = || self.thrown(pos, lit, "java.lang.NullPointerException");
        let val = |v: Value<'a>| Ok(StrResult::Value(v));
        match (call.id, args) {
            (Method::Length, []) => val(Value::Int(utf16_len(s) as i64)),
            (Method::ToUpperCase, []) => val(Value::owned_str(s.to_uppercase())),
            (Method::ToLowerCase, []) => val(Value::owned_str(s.to_lowercase())),
            (Method::Trim, []) => Ok(StrResult::Slice(s.trim_matches(|c: char| c <= ' '))),
            (Method::IsEmpty, []) => val(Value::Bool(s.is_empty())),
            (Method::Contains | Method::StartsWith | Method::EndsWith, [x]) => {
                if x.is_null() {
                    return Err(npe());
                }
                let Some(x) = arg_str(x) else { return nf() };
                val(Value::Bool(match call.id {
                    Method::Contains => s.contains(x.as_ref()),
                    Method::StartsWith => s.starts_with(x.as_ref()),
                    _ => s.ends_with(x.as_ref()),
                }))
            }
            (Method::IndexOf, [x]) => {
                if x.is_null() {
                    return Err(npe());
                }
                let needle = match needle_of(x) {
                    Needle::Text(needle) => needle,
                    Needle::NoSuchChar => return val(Value::Int(-1)),
                    Needle::NotText => return nf(),
                };
                val(Value::Int(match s.find(needle.as_ref()) {
                    Some(b) => byte_to_utf16(s, b) as i64,
                    None => -1,
                }))
            }
            (Method::Substring, [a]) | (Method::Substring, [a, _]) => {
                let Some(begin) = arg_int(a) else { return nf() };
                let len = utf16_len(s) as i64;
                let end = match args.get(1) {
                    Some(b) => match arg_int(b) {
                        Some(e) => i64::from(e),
                        None => return nf(),
                    },
                    None => len,
                };
                let begin = i64::from(begin);
                if begin < 0 || end > len || begin > end {
                    return Err(self.thrown(
                        pos,
                        lit,
                        format!(
                            "java.lang.StringIndexOutOfBoundsException: begin {begin}, end {end}, length {len}"
                        ),
                    ));
                }
                match (
                    utf16_to_byte(s, begin as usize),
                    utf16_to_byte(s, end as usize),
                ) {
                    (Some(x), Some(y)) => Ok(StrResult::Slice(s.get(x..y).unwrap_or(""))),
                    _ => Err(self.thrown(pos, lit, "substring would split a surrogate pair")),
                }
            }
            (Method::Replace, [a, b]) => {
                if a.is_null() || b.is_null() {
                    return Err(npe());
                }
                let (Some(a), Some(b)) = (arg_str(a), arg_str(b)) else {
                    return nf();
                };
                // Size the result before building it: `replace("", $big)` multiplies.
                let hits = if a.is_empty() {
                    s.chars().count().saturating_add(1)
                } else {
                    s.matches(a.as_ref()).count()
                };
                let len = (s.len() - hits.saturating_mul(a.len()))
                    .saturating_add(hits.saturating_mul(b.len()));
                self.check_len(len, pos)?;
                val(Value::owned_str(s.replace(a.as_ref(), b.as_ref())))
            }
            (method @ (Method::ReplaceAll | Method::ReplaceFirst), [re, rep]) => {
                if re.is_null() || rep.is_null() {
                    return Err(npe());
                }
                let Some(regex) =
                    self.regex_arg(call.regex.as_deref(), re, JavaRegex::new, pos, lit)?
                else {
                    return nf();
                };
                let parsed;
                let replacement: &Replacement = match &call.replacement {
                    Some(r) => r,
                    None => {
                        let Some(t) = arg_str(rep) else { return nf() };
                        parsed = Replacement::parse(&t).map_err(|e| self.thrown(pos, lit, e))?;
                        &parsed
                    }
                };
                let out = if method == Method::ReplaceAll {
                    regex.replace_all(s, replacement, MAX_STRING_BYTES)
                } else {
                    regex.replace_first(s, replacement, MAX_STRING_BYTES)
                }
                .map_err(|e| self.thrown(pos, lit, e))?;
                val(Value::owned_str(out))
            }
            (Method::Split, [re]) => {
                if re.is_null() {
                    return Err(npe());
                }
                let Some(regex) =
                    self.regex_arg(call.regex.as_deref(), re, JavaRegex::new, pos, lit)?
                else {
                    return nf();
                };
                Ok(StrResult::Parts(regex.split(s)))
            }
            (Method::LastIndexOf, [x]) | (Method::LastIndexOf, [x, _]) => {
                if x.is_null() {
                    return Err(npe());
                }
                let needle = match needle_of(x) {
                    Needle::Text(needle) => needle,
                    Needle::NoSuchChar => return val(Value::Int(-1)),
                    Needle::NotText => return nf(),
                };
                let from = match args.get(1) {
                    Some(f) => match arg_int(f) {
                        Some(i) => i64::from(i),
                        None => return nf(),
                    },
                    None => i64::MAX,
                };
                val(Value::Int(last_index_of(s, &needle, from)))
            }
            (Method::Concat, [x]) => {
                if x.is_null() {
                    return Err(npe());
                }
                let Some(x) = arg_str(x) else { return nf() };
                if x.is_empty() {
                    return Ok(StrResult::Slice(s));
                }
                self.check_len(s.len().saturating_add(x.len()), pos)?;
                let mut out = String::with_capacity(s.len() + x.len());
                out.push_str(s);
                out.push_str(&x);
                val(Value::owned_str(out))
            }
            (Method::Matches, [re]) => {
                if re.is_null() {
                    return Err(npe());
                }
                let Some(regex) =
                    self.regex_arg(call.regex.as_deref(), re, JavaRegex::new_full, pos, lit)?
                else {
                    return nf();
                };
                val(Value::Bool(regex.is_full_match(s)))
            }
            (Method::Equals, [x]) => val(Value::Bool(x.as_str() == Some(s))),
            (Method::EqualsIgnoreCase, [x]) => val(Value::Bool(match x.as_str() {
                Some(o) => eq_ignore_case(s, o),
                None => false,
            })),
            (Method::CharAt, [i]) => {
                let Some(i) = arg_int(i) else { return nf() };
                let units: Vec<u16> = s.encode_utf16().collect();
                match usize::try_from(i).ok().and_then(|k| units.get(k)) {
                    Some(&u) => val(Value::Char(
                        char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER),
                    )),
                    None => Err(self.thrown(
                        pos,
                        lit,
                        format!(
                            "java.lang.StringIndexOutOfBoundsException: index {i}, length {}",
                            units.len()
                        ),
                    )),
                }
            }
            _ => nf(),
        }
    }
}

/// A string method's result, possibly borrowing the receiver.
enum StrResult<'a, 's> {
    Value(Value<'a>),
    Slice(&'s str),
    Parts(Vec<&'s str>),
}

impl<'a> StrResult<'a, 'a> {
    fn into_value(self) -> Value<'a> {
        match self {
            StrResult::Value(v) => v,
            StrResult::Slice(s) => Value::Str(s),
            StrResult::Parts(p) => Value::List(Rc::new(p.into_iter().map(Value::Str).collect())),
        }
    }
}

impl<'a> StrResult<'a, '_> {
    fn into_owned_value(self) -> Value<'a> {
        match self {
            StrResult::Value(v) => v,
            StrResult::Slice(s) => Value::owned_str(s.to_string()),
            StrResult::Parts(p) => Value::List(Rc::new(
                p.into_iter()
                    .map(|x| Value::owned_str(x.to_string()))
                    .collect(),
            )),
        }
    }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    let (ua, ub): (Vec<u16>, Vec<u16>) = (a.encode_utf16().collect(), b.encode_utf16().collect());
    if ua.len() != ub.len() {
        return false;
    }
    a.chars().zip(b.chars()).all(|(x, y)| {
        x == y || x.to_uppercase().eq(y.to_uppercase()) || x.to_lowercase().eq(y.to_lowercase())
    })
}

/// An `int` method argument (Velocity 2 converts whole doubles and numeric strings).
fn arg_int(v: &Value<'_>) -> Option<i32> {
    match v {
        Value::Int(i) => i32::try_from(*i).ok(),
        Value::Float(f) if f.fract() == 0.0 && f.abs() <= f64::from(i32::MAX) => Some(*f as i32),
        Value::Str(s) => s.parse().ok(),
        Value::OStr(s) => s.parse().ok(),
        _ => None,
    }
}

/// A `String` method argument (Velocity 2 converts numbers and booleans).
fn arg_str<'v>(v: &'v Value<'_>) -> Option<Cow<'v, str>> {
    match v {
        Value::Str(s) => Some(Cow::Borrowed(s)),
        Value::OStr(s) => Some(Cow::Borrowed(s)),
        Value::Int(_) | Value::Big(_) | Value::Float(_) | Value::Bool(_) => {
            Some(Cow::Owned(v.to_java_string()))
        }
        _ => None,
    }
}

fn push_backslashes(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('\\');
    }
}

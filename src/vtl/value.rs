//! Runtime values of the engine and Java's rules for them: rendering (`toString` of strings, numbers,
//! lists and maps, `Double.toString`), truthiness (Velocity 2's empty check), equality and ordering
//! (Velocity 2's comparison nodes, including string-to-number coercion), and arithmetic (integer
//! division and modulo, integers promoting past 64 bits instead of overflowing).
//!
//! Values borrow from the template and the JSON context (`'a`) so rendering never copies the context.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::rc::Rc;

use serde_json::Value as Json;

use super::MAX_STRING_BYTES;
use super::ast::Tool;

/// The state of the innermost `#foreach`, seen through `$foreach`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LoopInfo {
    pub index: usize,
    pub len: usize,
}

#[derive(Clone, Debug)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    /// Java Integer and Long.
    Int(i64),
    /// Java BigInteger (past 64 bits).
    Big(i128),
    /// Java Double.
    Float(f64),
    Str(&'a str),
    OStr(Rc<str>),
    /// Java Character (what `charAt` returns): renders like a string but has no string methods.
    Char(char),
    /// A JSON array or object of the context, borrowed.
    Json(&'a Json),
    List(Rc<Vec<Value<'a>>>),
    /// A Java collection without positional access (what `keySet()` and `values()` return).
    Coll(Rc<Vec<Value<'a>>>),
    Map(Rc<Vec<(Value<'a>, Value<'a>)>>),
    Tool(Tool),
    Loop(LoopInfo),
}

impl<'a> Value<'a> {
    pub(crate) fn from_json(j: &'a Json) -> Value<'a> {
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::Big(i128::from(u))
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Json::String(s) => Value::Str(s.as_str()),
            Json::Array(_) | Json::Object(_) => Value::Json(j),
        }
    }

    pub(crate) fn owned_str(s: String) -> Value<'a> {
        Value::OStr(Rc::from(s))
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::OStr(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn is_list(&self) -> bool {
        matches!(
            self,
            Value::List(_) | Value::Coll(_) | Value::Json(Json::Array(_))
        )
    }

    pub(crate) fn is_map(&self) -> bool {
        matches!(self, Value::Map(_) | Value::Json(Json::Object(_)))
    }

    pub(crate) fn from_int(i: i128) -> Value<'a> {
        match i64::try_from(i) {
            Ok(v) => Value::Int(v),
            Err(_) => Value::Big(i),
        }
    }

    pub(crate) fn num(&self) -> Option<Num> {
        match self {
            Value::Int(i) => Some(Num::I(i128::from(*i))),
            Value::Big(i) => Some(Num::B(*i)),
            Value::Float(f) => Some(Num::F(*f)),
            _ => None,
        }
    }

    /// The Java class name, for strict-mode messages.
    pub(crate) fn java_class(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "java.lang.Boolean",
            Value::Int(i) => {
                if i32::try_from(*i).is_ok() {
                    "java.lang.Integer"
                } else {
                    "java.lang.Long"
                }
            }
            Value::Big(_) => "java.math.BigInteger",
            Value::Float(_) => "java.lang.Double",
            Value::Str(_) | Value::OStr(_) => "java.lang.String",
            Value::Char(_) => "java.lang.Character",
            Value::Json(Json::Object(_)) | Value::Map(_) => "java.util.LinkedHashMap",
            Value::Json(_) | Value::List(_) => "java.util.ArrayList",
            Value::Coll(_) => "java.util.Collection",
            Value::Tool(t) => t.class_name(),
            Value::Loop(_) => "org.apache.velocity.runtime.directive.ForeachScope",
        }
    }

    /// Velocity 2 truthiness: null, false, zero, "" and empty collections are false.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Big(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::OStr(s) => !s.is_empty(),
            Value::Json(Json::Array(a)) => !a.is_empty(),
            Value::Json(Json::Object(o)) => !o.is_empty(),
            Value::Json(_) => true,
            Value::List(l) | Value::Coll(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Tool(_) | Value::Loop(_) | Value::Char(_) => true,
        }
    }

    /// Java's `toString()` of the value, appended to `out`. Null renders as `null` (only reachable
    /// inside collections; top-level nulls are handled by the renderer). A list or map stops
    /// writing its elements once `out` is past [`MAX_STRING_BYTES`]: a list can share one big
    /// string many times over, and the renderer refuses any string that long anyway.
    pub(crate) fn write_to(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Big(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => write_double(*f, out),
            Value::Str(s) => out.push_str(s),
            Value::OStr(s) => out.push_str(s),
            Value::Char(c) => out.push(*c),
            Value::Json(Json::Array(a)) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if out.len() > MAX_STRING_BYTES {
                        return;
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    Value::from_json(v).write_to(out);
                }
                out.push(']');
            }
            Value::Json(Json::Object(o)) => {
                out.push('{');
                for (i, (k, v)) in o.iter().enumerate() {
                    if out.len() > MAX_STRING_BYTES {
                        return;
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push('=');
                    Value::from_json(v).write_to(out);
                }
                out.push('}');
            }
            Value::Json(j) => Value::from_json(j).write_to(out),
            Value::List(l) | Value::Coll(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if out.len() > MAX_STRING_BYTES {
                        return;
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_to(out);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if out.len() > MAX_STRING_BYTES {
                        return;
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write_to(out);
                    out.push('=');
                    v.write_to(out);
                }
                out.push('}');
            }
            Value::Tool(t) => out.push_str(t.class_name()),
            Value::Loop(_) => out.push_str("org.apache.velocity.runtime.directive.ForeachScope"),
        }
    }

    pub(crate) fn to_java_string(&self) -> String {
        let mut s = String::new();
        self.write_to(&mut s);
        s
    }

    pub(crate) fn list_len(&self) -> Option<usize> {
        match self {
            Value::Json(Json::Array(a)) => Some(a.len()),
            Value::List(l) | Value::Coll(l) => Some(l.len()),
            _ => None,
        }
    }

    pub(crate) fn list_get(&self, i: usize) -> Option<Value<'a>> {
        match self {
            Value::Json(Json::Array(a)) => a.get(i).map(Value::from_json),
            Value::List(l) | Value::Coll(l) => l.get(i).cloned(),
            _ => None,
        }
    }

    pub(crate) fn map_len(&self) -> Option<usize> {
        match self {
            Value::Json(Json::Object(o)) => Some(o.len()),
            Value::Map(m) => Some(m.len()),
            _ => None,
        }
    }

    /// `Map.get(key)`; `None` when the value is not a map.
    pub(crate) fn map_get(&self, key: &Value<'a>) -> Option<Value<'a>> {
        match self {
            Value::Json(Json::Object(o)) => Some(match key.as_str() {
                Some(k) => o.get(k).map(Value::from_json).unwrap_or(Value::Null),
                None => Value::Null,
            }),
            Value::Map(m) => Some(
                m.iter()
                    .find(|(k, _)| java_equals(k, key))
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null),
            ),
            _ => None,
        }
    }

    /// Property access on a map by name (`$map.key`).
    pub(crate) fn map_get_str(&self, key: &str) -> Option<Value<'a>> {
        match self {
            Value::Json(Json::Object(o)) => {
                Some(o.get(key).map(Value::from_json).unwrap_or(Value::Null))
            }
            Value::Map(m) => Some(
                m.iter()
                    .find(|(k, _)| k.as_str() == Some(key))
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null),
            ),
            _ => None,
        }
    }

    pub(crate) fn map_contains_key(&self, key: &Value<'a>) -> Option<bool> {
        match self {
            Value::Json(Json::Object(o)) => Some(key.as_str().is_some_and(|k| o.contains_key(k))),
            Value::Map(m) => Some(m.iter().any(|(k, _)| java_equals(k, key))),
            _ => None,
        }
    }

    pub(crate) fn map_keys(&self) -> Option<Vec<Value<'a>>> {
        match self {
            Value::Json(Json::Object(o)) => {
                Some(o.keys().map(|k| Value::Str(k.as_str())).collect())
            }
            Value::Map(m) => Some(m.iter().map(|(k, _)| k.clone()).collect()),
            _ => None,
        }
    }

    pub(crate) fn map_values(&self) -> Option<Vec<Value<'a>>> {
        match self {
            Value::Json(Json::Object(o)) => Some(o.values().map(Value::from_json).collect()),
            Value::Map(m) => Some(m.iter().map(|(_, v)| v.clone()).collect()),
            _ => None,
        }
    }
}

/// A number for arithmetic and comparison: Java Integer/Long (`I`), BigInteger (`B`, a type that
/// sticks even when the value would fit a long, as in Java), or Double (`F`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Num {
    I(i128),
    B(i128),
    F(f64),
}

impl Num {
    pub(crate) fn to_f64(self) -> f64 {
        match self {
            Num::I(i) | Num::B(i) => i as f64,
            Num::F(f) => f,
        }
    }

    fn int(self) -> Option<i128> {
        match self {
            Num::I(i) | Num::B(i) => Some(i),
            Num::F(_) => None,
        }
    }

    pub(crate) fn into_value<'a>(self) -> Value<'a> {
        match self {
            Num::I(i) => Value::from_int(i),
            Num::B(i) => Value::Big(i),
            Num::F(f) => Value::Float(f),
        }
    }
}

pub(crate) fn compare_nums(a: Num, b: Num) -> Ordering {
    match (a.int(), b.int()) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.to_f64().total_cmp(&b.to_f64()),
    }
}

/// Java's `Double.toString`.
pub(crate) fn write_double(d: f64, out: &mut String) {
    if d.is_nan() {
        out.push_str("NaN");
        return;
    }
    if d.is_infinite() {
        out.push_str(if d > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if d == 0.0 {
        out.push_str(if d.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    if d < 0.0 {
        out.push('-');
    }
    let a = d.abs();
    let sci = format!("{a:e}");
    let (mant, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.as_str();
    let first = digits.get(..1).unwrap_or("0");
    let rest = digits.get(1..).unwrap_or("");
    if (1e-3..1e7).contains(&a) {
        if exp >= 0 {
            let int_len = (exp as usize) + 1;
            if digits.len() <= int_len {
                out.push_str(digits);
                for _ in digits.len()..int_len {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(digits.get(..int_len).unwrap_or(""));
                out.push('.');
                out.push_str(digits.get(int_len..).unwrap_or(""));
            }
        } else {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(digits);
        }
    } else {
        out.push_str(first);
        out.push('.');
        out.push_str(if rest.is_empty() { "0" } else { rest });
        let _ = write!(out, "E{exp}");
    }
}

/// `new BigDecimal(s)` as Velocity 2's DuckType uses it to compare strings with numbers.
pub(crate) fn parse_big_decimal(s: &str) -> Option<Num> {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+') | Some(b'-')) {
        i += 1;
    }
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    let mut decimal = false;
    if b.get(i) == Some(&b'.') {
        decimal = true;
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            frac_digits += 1;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e') | Some(b'E')) {
        decimal = true;
        i += 1;
        if matches!(b.get(i), Some(b'+') | Some(b'-')) {
            i += 1;
        }
        let exp_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    if !decimal && let Ok(v) = s.parse::<i128>() {
        return Some(Num::I(v));
    }
    s.parse::<f64>().ok().map(Num::F)
}

/// DuckType.asNumber: numbers as they are, anything else through its string form.
fn duck_number(v: &Value<'_>) -> Option<Num> {
    match v {
        Value::Int(_) | Value::Big(_) | Value::Float(_) => v.num(),
        Value::Str(s) => parse_big_decimal(s),
        Value::OStr(s) => parse_big_decimal(s),
        Value::Char(c) => parse_big_decimal(c.encode_utf8(&mut [0u8; 4])),
        _ => None,
    }
}

fn same_class(a: &Value<'_>, b: &Value<'_>) -> bool {
    (a.as_str().is_some() && b.as_str().is_some())
        || (matches!(a, Value::Bool(_)) && matches!(b, Value::Bool(_)))
        || (a.is_list() && b.is_list())
        || (a.is_map() && b.is_map())
        || (a.num().is_some() && b.num().is_some())
        || (matches!(a, Value::Tool(_)) && matches!(b, Value::Tool(_)))
        || (matches!(a, Value::Loop(_)) && matches!(b, Value::Loop(_)))
        || (matches!(a, Value::Char(_)) && matches!(b, Value::Char(_)))
}

/// Java `equals` (lists element-wise, maps by entries, numbers only within the same kind).
pub(crate) fn java_equals(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Int(_) | Value::Big(_), Value::Int(_) | Value::Big(_)) => {
            a.num().and_then(Num::int) == b.num().and_then(Num::int)
        }
        (Value::Tool(x), Value::Tool(y)) => x == y,
        (Value::Char(x), Value::Char(y)) => x == y,
        _ => {
            if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
                return x == y;
            }
            if a.is_list() && b.is_list() {
                let (Some(la), Some(lb)) = (a.list_len(), b.list_len()) else {
                    return false;
                };
                if la != lb {
                    return false;
                }
                return (0..la).all(|i| match (a.list_get(i), b.list_get(i)) {
                    (Some(x), Some(y)) => java_equals(&x, &y),
                    _ => false,
                });
            }
            if a.is_map() && b.is_map() {
                let (Some(ka), Some(kb)) = (a.map_keys(), b.map_keys()) else {
                    return false;
                };
                if ka.len() != kb.len() {
                    return false;
                }
                return ka.iter().all(|k| {
                    b.map_contains_key(k) == Some(true)
                        && match (a.map_get(k), b.map_get(k)) {
                            (Some(x), Some(y)) => java_equals(&x, &y),
                            _ => false,
                        }
                });
            }
            false
        }
    }
}

/// Velocity 2's `==`.
pub(crate) fn velocity_eq(a: &Value<'_>, b: &Value<'_>) -> bool {
    if a.is_null() || b.is_null() {
        return a.is_null() && b.is_null();
    }
    if let (Some(x), Some(y)) = (duck_number(a), duck_number(b)) {
        return compare_nums(x, y) == Ordering::Equal;
    }
    if same_class(a, b) {
        return java_equals(a, b);
    }
    a.to_java_string() == b.to_java_string()
}

/// Velocity 2's `<`-family operand check: both sides as numbers, or `None`.
pub(crate) fn velocity_order(a: &Value<'_>, b: &Value<'_>) -> Option<Ordering> {
    match (duck_number(a), duck_number(b)) {
        (Some(x), Some(y)) => Some(compare_nums(x, y)),
        _ => None,
    }
}

/// Arithmetic with Velocity's MathUtils rules. `Ok(None)` is Velocity's null result (division or
/// modulo by zero); `Err` is an ArithmeticException.
pub(crate) fn arith(op: char, a: Num, b: Num) -> Result<Option<Num>, &'static str> {
    let big = matches!(a, Num::B(_)) || matches!(b, Num::B(_));
    match (a, b) {
        (Num::I(x), Num::I(y)) | (Num::I(x) | Num::B(x), Num::B(y)) | (Num::B(x), Num::I(y)) => {
            // integers: Integer/Long promote to BigInteger on overflow; BigInteger stays BigInteger
            let wrap = |r: Option<i128>, fallback: f64| -> Num {
                match r {
                    Some(v) if big || i64::try_from(v).is_err() => Num::B(v),
                    Some(v) => Num::I(v),
                    None => Num::F(fallback),
                }
            };
            let (fx, fy) = (x as f64, y as f64);
            Ok(Some(match op {
                '+' => wrap(x.checked_add(y), fx + fy),
                '-' => wrap(x.checked_sub(y), fx - fy),
                '*' => wrap(x.checked_mul(y), fx * fy),
                '/' => {
                    if y == 0 {
                        return Ok(None);
                    }
                    wrap(x.checked_div(y), fx / fy)
                }
                _ => {
                    if y == 0 {
                        return Ok(None);
                    }
                    if big {
                        // BigInteger.mod: non-negative, positive modulus only
                        if y < 0 {
                            return Err("BigInteger: modulus not positive");
                        }
                        Num::B(x.rem_euclid(y))
                    } else {
                        Num::I(x.checked_rem(y).unwrap_or(0))
                    }
                }
            }))
        }
        (Num::B(x), Num::F(f)) | (Num::F(f), Num::B(x)) => {
            // Velocity computes these in BigDecimal; exact when the double is whole
            if op == '%' {
                return Err("Cannot calculate the modulo of BigDecimals.");
            }
            if f.fract() == 0.0 && f.abs() < 1e38 && matches!(op, '+' | '-' | '*') {
                let fi = f as i128;
                let (l, r) = if matches!(a, Num::B(_)) {
                    (x, fi)
                } else {
                    (fi, x)
                };
                return arith(op, Num::B(l), Num::B(r));
            }
            float_arith(op, a.to_f64(), b.to_f64())
        }
        _ => float_arith(op, a.to_f64(), b.to_f64()),
    }
}

fn float_arith(op: char, x: f64, y: f64) -> Result<Option<Num>, &'static str> {
    Ok(match op {
        '+' => Some(Num::F(x + y)),
        '-' => Some(Num::F(x - y)),
        '*' => Some(Num::F(x * y)),
        '/' => (y != 0.0).then(|| Num::F(x / y)),
        _ => (y != 0.0).then(|| Num::F(x % y)),
    })
}

/// Java's `Number.intValue()`.
pub(crate) fn java_int_value(n: Num) -> i32 {
    match n {
        Num::I(i) | Num::B(i) => i as i32,
        Num::F(f) => f as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(f: f64) -> String {
        let mut s = String::new();
        write_double(f, &mut s);
        s
    }

    #[test]
    fn java_double_to_string() {
        assert_eq!(d(2.5), "2.5");
        assert_eq!(d(100.0), "100.0");
        assert_eq!(d(12345678.9), "1.23456789E7");
        assert_eq!(d(0.0001), "1.0E-4");
        assert_eq!(d(0.001), "0.001");
        assert_eq!(d(1e7), "1.0E7");
        assert_eq!(d(9999999.0), "9999999.0");
        assert_eq!(d(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(d(-3.5), "-3.5");
        assert_eq!(d(1e20), "1.0E20");
        assert_eq!(d(123456789.0 * 1000.0), "1.23456789E11");
    }

    #[test]
    fn big_decimal() {
        assert!(matches!(parse_big_decimal("5"), Some(Num::I(5))));
        assert!(matches!(parse_big_decimal("5.0"), Some(Num::F(_))));
        assert!(parse_big_decimal(" 5").is_none());
        assert!(parse_big_decimal("abc").is_none());
        assert!(parse_big_decimal(".").is_none());
        assert!(matches!(parse_big_decimal("1e3"), Some(Num::F(_))));
    }
}

//! The tools every template can call: Velocity Tools' EscapeTool (`$esc`) and MathTool (`$math`)
//! with their Java semantics, and Genesys's extensions (`$esc.jsonString` / `jsonEncode`,
//! `$esc.jsonDecode`, `$esc.uriEncode`, `$encoding`, `$successTemplateUtils`, `$urlTool`,
//! `$salesforce`).

use super::ast::{Method, Tool};
use super::value::{Num, Value};

/// Outcome of a tool call: `Ok(None)` when no method of that name takes these arguments (Velocity
/// then renders the call literally), `Err` when the method threw.
pub(crate) type ToolResult<'a> = Result<Option<Value<'a>>, String>;

pub(crate) fn call<'a>(tool: Tool, m: Method, args: &[Value<'a>]) -> ToolResult<'a> {
    match tool {
        Tool::Esc => esc(m, args),
        Tool::Math => math(m, args),
        Tool::Encoding => match (m, args) {
            (Method::Base64, [a]) => Ok(Some(map_str(a, |s| base64(s.as_bytes())))),
            _ => Ok(None),
        },
        Tool::SuccessTemplateUtils => success_utils(m, args),
        Tool::UrlTool => url_tool(m, args),
        Tool::Salesforce => match (m, args) {
            (Method::EscReserved, [a]) => Ok(Some(map_str(a, sosl_escape))),
            _ => Ok(None),
        },
    }
}

/// `$salesforce.escReserved(text)`: a backslash before each character SOSL reserves, so that a
/// flow's value searches literally (`FIND {…}`). The set is Salesforce's ("The following characters
/// are reserved: ? & | ! { } [ ] ( ) ^ ~ * : \ \" ' + -"); that Genesys's macro escapes exactly
/// this set is *unverified* (docs/runtime.md).
fn sosl_escape(text: &str) -> String {
    const RESERVED: &str = "?&|!{}[]()^~*:\\\"'+-";
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if RESERVED.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn map_str<'a>(v: &Value<'a>, f: impl FnOnce(&str) -> String) -> Value<'a> {
    if v.is_null() {
        return Value::Null;
    }
    match v.as_str() {
        Some(s) => Value::owned_str(f(s)),
        None => Value::owned_str(f(&v.to_java_string())),
    }
}

fn esc<'a>(m: Method, args: &[Value<'a>]) -> ToolResult<'a> {
    let [a] = args else { return Ok(None) };
    let f: fn(&str) -> String = match m {
        Method::Url | Method::UrlFormEncode => url_encode,
        Method::UriEncode => uri_encode,
        Method::JsonString | Method::JsonEncode => json_string,
        Method::Xml => xml,
        Method::Html => html,
        Method::Java => java,
        Method::Javascript => javascript,
        Method::Sql => |s| s.replace('\'', "''"),
        Method::Velocity => velocity,
        Method::JsonDecode => {
            if a.is_null() {
                return Ok(Some(Value::Null));
            }
            let text = match a.as_str() {
                Some(s) => json_decode(s)?,
                None => json_decode(&a.to_java_string())?,
            };
            return Ok(Some(Value::owned_str(text)));
        }
        _ => return Ok(None),
    };
    Ok(Some(map_str(a, f)))
}

/// EscapeTool's `velocity`: `$` and `#` become `${esc.d}` and `${esc.h}`.
fn velocity(s: &str) -> String {
    s.replace('$', "${esc.d}").replace('#', "${esc.h}")
}

/// `$esc.jsonDecode`, Genesys's reverse of `$esc.jsonEncode`, taken to be commons-lang3's
/// `StringEscapeUtils.unescapeJson` (= `unescapeJava`; *unverified*): `\"` `\\` `\/` `\'` `\b`
/// `\f` `\n` `\r` `\t`, `\uXXXX` (also `\uuXXXX` and `\u+XXXX`) and octal `\0`–`\377`; a
/// backslash before any other character is dropped. An incomplete `\u` escape throws.
pub(crate) fn json_decode(s: &str) -> Result<String, String> {
    let units: Vec<u16> = s.encode_utf16().collect();
    let mut out: Vec<u16> = Vec::with_capacity(units.len());
    let is_octal =
        |u: Option<&u16>| u.is_some_and(|&u| (u16::from(b'0')..=u16::from(b'7')).contains(&u));
    let mut i = 0usize;
    while let Some(&u) = units.get(i) {
        if u != u16::from(b'\\') {
            out.push(u);
            i += 1;
            continue;
        }
        let Some(&next) = units.get(i + 1) else {
            // a trailing backslash is dropped
            break;
        };
        if is_octal(Some(&next)) {
            let first = next - u16::from(b'0');
            let mut value = first;
            let mut j = i + 2;
            if is_octal(units.get(j)) {
                value = value * 8 + (units.get(j).copied().unwrap_or(0) - u16::from(b'0'));
                j += 1;
                if first <= 3 && is_octal(units.get(j)) {
                    value = value * 8 + (units.get(j).copied().unwrap_or(0) - u16::from(b'0'));
                    j += 1;
                }
            }
            out.push(value);
            i = j;
            continue;
        }
        if next == u16::from(b'u') {
            let mut j = i + 1;
            while units.get(j) == Some(&u16::from(b'u')) {
                j += 1;
            }
            if units.get(j) == Some(&u16::from(b'+')) {
                j += 1;
            }
            let Some(hex) = units.get(j..j + 4) else {
                let rest = String::from_utf16_lossy(units.get(i..).unwrap_or_default());
                return Err(format!(
                    "java.lang.IllegalArgumentException: Less than 4 hex digits in unicode value: '{rest}' due to end of CharSequence"
                ));
            };
            let hex = String::from_utf16_lossy(hex);
            match u16::from_str_radix(&hex, 16) {
                Ok(v) if hex.bytes().all(|b| b.is_ascii_hexdigit()) => out.push(v),
                _ => {
                    return Err(format!(
                        "java.lang.IllegalArgumentException: Unable to parse unicode value: {hex}"
                    ));
                }
            }
            i = j + 4;
            continue;
        }
        let mapped = match next {
            0x62 => Some(0x08), // b
            0x6e => Some(0x0a), // n
            0x74 => Some(0x09), // t
            0x66 => Some(0x0c), // f
            0x72 => Some(0x0d), // r
            0x5c | 0x22 | 0x27 => Some(next),
            _ => None,
        };
        match mapped {
            Some(m) => {
                out.push(m);
                i += 2;
            }
            // `\x`: the backslash alone is dropped, `x` is read again
            None => i += 1,
        }
    }
    Ok(String::from_utf16_lossy(&out))
}

/// Java's `URLEncoder.encode(s, "UTF-8")`.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => push_pct(&mut out, b),
        }
    }
    out
}

/// Percent-encoding that keeps RFC 3986 unreserved characters.
pub fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'~' | b'_' => {
                out.push(b as char)
            }
            _ => push_pct(&mut out, b),
        }
    }
    out
}

fn push_pct(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0') as char);
    out.push(HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0') as char);
}

/// Escapes for the inside of a JSON string: `"`, `\` and control characters.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn escape_entities(s: &str, entity: fn(u16) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        let mut buf = [0u16; 2];
        for &u in c.encode_utf16(&mut buf).iter() {
            if let Some(name) = entity(u) {
                out.push('&');
                out.push_str(name);
                out.push(';');
            } else if u > 0x7f {
                out.push_str(&format!("&#{u};"));
            } else {
                out.push(char::from(u as u8));
            }
        }
    }
    out
}

fn xml_entity(u: u16) -> Option<&'static str> {
    match u {
        34 => Some("quot"),
        38 => Some("amp"),
        60 => Some("lt"),
        62 => Some("gt"),
        39 => Some("apos"),
        _ => None,
    }
}

fn html_entity(u: u16) -> Option<&'static str> {
    HTML40
        .binary_search_by_key(&u, |(c, _)| *c)
        .ok()
        .and_then(|i| HTML40.get(i))
        .map(|(_, n)| *n)
}

/// commons-lang 2 `StringEscapeUtils.escapeXml`.
pub(crate) fn xml(s: &str) -> String {
    escape_entities(s, xml_entity)
}

/// commons-lang 2 `StringEscapeUtils.escapeHtml` (HTML 4.0 entities).
pub(crate) fn html(s: &str) -> String {
    escape_entities(s, html_entity)
}

/// commons-lang 2 `StringEscapeUtils.escapeJava`.
pub(crate) fn java(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        let mut buf = [0u16; 2];
        for &u in c.encode_utf16(&mut buf).iter() {
            match u {
                0x08 => out.push_str("\\b"),
                0x0a => out.push_str("\\n"),
                0x09 => out.push_str("\\t"),
                0x0c => out.push_str("\\f"),
                0x0d => out.push_str("\\r"),
                0x22 => out.push_str("\\\""),
                0x5c => out.push_str("\\\\"),
                u if !(0x20..=0x7f).contains(&u) => out.push_str(&format!("\\u{u:04X}")),
                u => out.push(char::from(u as u8)),
            }
        }
    }
    out
}

/// commons-lang 2 `StringEscapeUtils.escapeJavaScript` (EscapeTool's `javascript`): `escapeJava`
/// that also escapes `'` and `/`.
pub(crate) fn javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '/' => out.push_str("\\/"),
            c => out.push_str(&java(c.encode_utf8(&mut [0u8; 4]))),
        }
    }
    out
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| T.get((i & 63) as usize).copied().unwrap_or(b'=') as char;
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = u32::from(chunk.first().copied().unwrap_or(0));
        let b1 = u32::from(chunk.get(1).copied().unwrap_or(0));
        let b2 = u32::from(chunk.get(2).copied().unwrap_or(0));
        let n = (b0 << 16) | (b1 << 8) | b2;
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

// ----- $math -----

/// MathTool's `toNumber`: numbers as they are; strings parsed leniently like `DecimalFormat`
/// (leading number, `,` grouping, stops at the first other character).
pub(crate) fn to_number(v: &Value<'_>) -> Option<Num> {
    if let Some(n) = v.num() {
        return Some(n);
    }
    let s = match v {
        Value::Null => return None,
        Value::Str(s) => std::borrow::Cow::Borrowed(*s),
        Value::OStr(s) => std::borrow::Cow::Borrowed(s.as_ref()),
        other => std::borrow::Cow::Owned(other.to_java_string()),
    };
    lenient_number(&s)
}

fn lenient_number(s: &str) -> Option<Num> {
    let b = s.as_bytes();
    let mut i = 0;
    let neg = b.first() == Some(&b'-');
    if neg {
        i += 1;
    }
    let mut int_digits = String::new();
    while let Some(&c) = b.get(i) {
        if c.is_ascii_digit() {
            int_digits.push(c as char);
        } else if c == b','
            && !int_digits.is_empty()
            && b.get(i + 1).is_some_and(u8::is_ascii_digit)
        {
            // grouping separator
        } else {
            break;
        }
        i += 1;
    }
    let mut frac = String::new();
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            frac.push(c as char);
            i += 1;
        }
    }
    if int_digits.is_empty() && frac.is_empty() {
        return None;
    }
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.is_empty() {
        let digits = if int_digits.is_empty() {
            "0"
        } else {
            &int_digits
        };
        if let Ok(v) = digits.parse::<i64>() {
            return Some(Num::I(i128::from(if neg { -v } else { v })));
        }
    }
    let text = format!(
        "{}{}.{}",
        if neg { "-" } else { "" },
        if int_digits.is_empty() {
            "0"
        } else {
            &int_digits
        },
        if frac.is_empty() { "0" } else { &frac }
    );
    text.parse::<f64>().ok().map(Num::F)
}

fn has_floating_point(n: Num) -> bool {
    match n {
        Num::I(_) | Num::B(_) => false,
        Num::F(f) => f.is_finite(),
    }
}

/// MathTool's `matchType`: an Integer or Long when the result is whole and no input had a decimal
/// point, else a Double. Infinity counts as whole (`Math.rint(∞) == ∞`), so an integer result that
/// overflows a double saturates to Long's bounds (Java's `(long)` cast), as in Java.
fn match_type<'a>(out: f64, inputs: &[Num]) -> Value<'a> {
    let integral = out.round_ties_even() == out && !inputs.iter().any(|n| has_floating_point(*n));
    if !integral {
        return Value::Float(out);
    }
    if out > f64::from(i32::MAX) || out < f64::from(i32::MIN) {
        Value::Int(out as i64)
    } else {
        Value::Int(i64::from(out as i32))
    }
}

fn math<'a>(m: Method, args: &[Value<'a>]) -> ToolResult<'a> {
    let arity_ok = match m {
        Method::Add | Method::Sub | Method::Mul | Method::Div | Method::Max | Method::Min => true,
        Method::Mod | Method::Pow | Method::Idiv | Method::RoundTo => args.len() == 2,
        _ => args.len() == 1,
    };
    if !arity_ok {
        return Ok(None);
    }
    let mut nums = Vec::with_capacity(args.len());
    for a in args {
        match to_number(a) {
            Some(n) => nums.push(n),
            None => return Ok(Some(Value::Null)),
        }
    }
    let v = match m {
        Method::Add => match_type(nums.iter().map(|n| n.to_f64()).sum(), &nums),
        Method::Mul => match_type(nums.iter().map(|n| n.to_f64()).product(), &nums),
        Method::Sub => {
            let mut it = nums.iter().map(|n| n.to_f64());
            let first = it.next().unwrap_or(0.0);
            match_type(it.fold(first, |a, b| a - b), &nums)
        }
        Method::Div => {
            let mut it = nums.iter().map(|n| n.to_f64());
            let mut acc = it.next().unwrap_or(0.0);
            for d in it {
                if d == 0.0 {
                    return Ok(Some(Value::Null));
                }
                acc /= d;
            }
            match_type(acc, &nums)
        }
        Method::Max | Method::Min => {
            if nums.is_empty() {
                return Ok(Some(Value::Null));
            }
            let acc = nums.iter().map(|n| n.to_f64()).fold(
                if m == Method::Max {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                },
                |a, b| if m == Method::Max { a.max(b) } else { a.min(b) },
            );
            match_type(acc, &nums)
        }
        // MathTool's `mod` and `idiv`: Java `int` remainder and division, null for a zero divisor.
        Method::Mod | Method::Idiv => {
            let [a, b] = nums.as_slice() else {
                return Ok(None);
            };
            let (x, y) = (
                super::value::java_int_value(*a),
                super::value::java_int_value(*b),
            );
            if y == 0 {
                Value::Null
            } else if m == Method::Mod {
                Value::Int(i64::from(x.wrapping_rem(y)))
            } else {
                Value::Int(i64::from(x.wrapping_div(y)))
            }
        }
        Method::Abs => {
            let [a] = nums.as_slice() else {
                return Ok(None);
            };
            match_type(a.to_f64().abs(), &nums)
        }
        Method::Round => {
            let [a] = nums.as_slice() else {
                return Ok(None);
            };
            Value::Int(i64::from(a.to_f64().round_ties_even() as i32))
        }
        Method::Floor => {
            let [a] = nums.as_slice() else {
                return Ok(None);
            };
            Value::Int(i64::from(a.to_f64().floor() as i32))
        }
        Method::Ceil => {
            let [a] = nums.as_slice() else {
                return Ok(None);
            };
            Value::Int(i64::from(a.to_f64().ceil() as i32))
        }
        Method::ToNumber => {
            let [a] = nums.as_slice() else {
                return Ok(None);
            };
            a.into_value()
        }
        Method::ToInteger => {
            let [a] = nums.as_slice() else {
                return Ok(None);
            };
            Value::Int(i64::from(super::value::java_int_value(*a)))
        }
        Method::ToDouble => {
            let [a] = nums.as_slice() else {
                return Ok(None);
            };
            Value::Float(a.to_f64())
        }
        Method::Pow => {
            let [a, b] = nums.as_slice() else {
                return Ok(None);
            };
            match_type(java_pow(a.to_f64(), b.to_f64()), &nums)
        }
        Method::RoundTo => {
            let [places, a] = nums.as_slice() else {
                return Ok(None);
            };
            Value::Float(round_to(super::value::java_int_value(*places), a.to_f64()))
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

/// Java's `Math.round(double)`: half up (towards positive infinity), saturating to `long`'s
/// bounds, NaN → 0.
fn java_round(x: f64) -> i64 {
    let floor = x.floor();
    let r = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    r as i64
}

/// MathTool's `roundTo(places, x)`, quirk included: the factor starts at 10 and gains a zero per
/// place after the first (as an `int`, so it wraps past 9 places), so 0 places or fewer round to
/// one decimal like 1 place does — `roundTo(0, 3.14159)` is `3.1` in Velocity Tools 2.0 and 3.x.
fn round_to(places: i32, x: f64) -> f64 {
    let mut delta: i32 = 10;
    for _ in 1..places.min(64) {
        delta = delta.wrapping_mul(10);
    }
    let d = f64::from(delta);
    java_round(x * d) as f64 / d
}

/// `Math.pow` where it differs from `f64::powf`: `pow(x, NaN)` is NaN (Rust gives 1 for `x == 1`),
/// and `pow(±1, ±∞)` is NaN (Rust gives 1).
fn java_pow(x: f64, y: f64) -> f64 {
    if y.is_nan() || (x.abs() == 1.0 && y.is_infinite()) {
        return f64::NAN;
    }
    x.powf(y)
}

// ----- Genesys helpers -----

fn success_utils<'a>(m: Method, args: &[Value<'a>]) -> ToolResult<'a> {
    match m {
        Method::FirstFromArray => {
            let (text, default) = match args {
                [t] => (t, Value::Str("")),
                [t, d] => (t, d.clone()),
                _ => return Ok(None),
            };
            if text.is_null() {
                return Ok(Some(default));
            }
            let s = text.to_java_string();
            match serde_json::from_str::<serde_json::Value>(&s) {
                Ok(serde_json::Value::Array(a)) => match a.first() {
                    Some(first) => Ok(Some(Value::owned_str(
                        serde_json::to_string(first).unwrap_or_default(),
                    ))),
                    None => Ok(Some(default)),
                },
                _ => Ok(Some(default)),
            }
        }
        Method::MoveKeysIntoArrayOfObjects => {
            let [text, key_name, value_name] = args else {
                return Ok(None);
            };
            if text.is_null() || key_name.is_null() || value_name.is_null() {
                return Ok(Some(Value::Null));
            }
            let s = text.to_java_string();
            let Ok(serde_json::Value::Object(obj)) = serde_json::from_str::<serde_json::Value>(&s)
            else {
                return Ok(Some(Value::Null));
            };
            let kn = key_name.to_java_string();
            let vn = value_name.to_java_string();
            let arr: Vec<serde_json::Value> = obj
                .into_iter()
                .map(|(k, v)| {
                    let mut o = serde_json::Map::new();
                    o.insert(kn.clone(), serde_json::Value::String(k));
                    o.insert(vn.clone(), v);
                    serde_json::Value::Object(o)
                })
                .collect();
            Ok(Some(Value::owned_str(
                serde_json::to_string(&arr).unwrap_or_default(),
            )))
        }
        _ => Ok(None),
    }
}

fn url_tool<'a>(m: Method, args: &[Value<'a>]) -> ToolResult<'a> {
    if m != Method::OptionalQueryParam {
        return Ok(None);
    }
    let (name, value, first) = match args {
        [n, v] => (n, v, false),
        [n, v, f] => (n, v, f.truthy()),
        _ => return Ok(None),
    };
    if value.is_null() {
        return Ok(Some(Value::Str("")));
    }
    let v = value.to_java_string();
    if v.is_empty() {
        return Ok(Some(Value::Str("")));
    }
    let mut out = String::new();
    out.push(if first { '?' } else { '&' });
    out.push_str(&name.to_java_string());
    out.push('=');
    out.push_str(&uri_encode(&v));
    Ok(Some(Value::owned_str(out)))
}

/// HTML 4.0 named entities (commons-lang 2's `Entities.HTML40`), sorted by code point.
static HTML40: &[(u16, &str)] = &[
    (34, "quot"),
    (38, "amp"),
    (60, "lt"),
    (62, "gt"),
    (160, "nbsp"),
    (161, "iexcl"),
    (162, "cent"),
    (163, "pound"),
    (164, "curren"),
    (165, "yen"),
    (166, "brvbar"),
    (167, "sect"),
    (168, "uml"),
    (169, "copy"),
    (170, "ordf"),
    (171, "laquo"),
    (172, "not"),
    (173, "shy"),
    (174, "reg"),
    (175, "macr"),
    (176, "deg"),
    (177, "plusmn"),
    (178, "sup2"),
    (179, "sup3"),
    (180, "acute"),
    (181, "micro"),
    (182, "para"),
    (183, "middot"),
    (184, "cedil"),
    (185, "sup1"),
    (186, "ordm"),
    (187, "raquo"),
    (188, "frac14"),
    (189, "frac12"),
    (190, "frac34"),
    (191, "iquest"),
    (192, "Agrave"),
    (193, "Aacute"),
    (194, "Acirc"),
    (195, "Atilde"),
    (196, "Auml"),
    (197, "Aring"),
    (198, "AElig"),
    (199, "Ccedil"),
    (200, "Egrave"),
    (201, "Eacute"),
    (202, "Ecirc"),
    (203, "Euml"),
    (204, "Igrave"),
    (205, "Iacute"),
    (206, "Icirc"),
    (207, "Iuml"),
    (208, "ETH"),
    (209, "Ntilde"),
    (210, "Ograve"),
    (211, "Oacute"),
    (212, "Ocirc"),
    (213, "Otilde"),
    (214, "Ouml"),
    (215, "times"),
    (216, "Oslash"),
    (217, "Ugrave"),
    (218, "Uacute"),
    (219, "Ucirc"),
    (220, "Uuml"),
    (221, "Yacute"),
    (222, "THORN"),
    (223, "szlig"),
    (224, "agrave"),
    (225, "aacute"),
    (226, "acirc"),
    (227, "atilde"),
    (228, "auml"),
    (229, "aring"),
    (230, "aelig"),
    (231, "ccedil"),
    (232, "egrave"),
    (233, "eacute"),
    (234, "ecirc"),
    (235, "euml"),
    (236, "igrave"),
    (237, "iacute"),
    (238, "icirc"),
    (239, "iuml"),
    (240, "eth"),
    (241, "ntilde"),
    (242, "ograve"),
    (243, "oacute"),
    (244, "ocirc"),
    (245, "otilde"),
    (246, "ouml"),
    (247, "divide"),
    (248, "oslash"),
    (249, "ugrave"),
    (250, "uacute"),
    (251, "ucirc"),
    (252, "uuml"),
    (253, "yacute"),
    (254, "thorn"),
    (255, "yuml"),
    (338, "OElig"),
    (339, "oelig"),
    (352, "Scaron"),
    (353, "scaron"),
    (376, "Yuml"),
    (402, "fnof"),
    (710, "circ"),
    (732, "tilde"),
    (913, "Alpha"),
    (914, "Beta"),
    (915, "Gamma"),
    (916, "Delta"),
    (917, "Epsilon"),
    (918, "Zeta"),
    (919, "Eta"),
    (920, "Theta"),
    (921, "Iota"),
    (922, "Kappa"),
    (923, "Lambda"),
    (924, "Mu"),
    (925, "Nu"),
    (926, "Xi"),
    (927, "Omicron"),
    (928, "Pi"),
    (929, "Rho"),
    (931, "Sigma"),
    (932, "Tau"),
    (933, "Upsilon"),
    (934, "Phi"),
    (935, "Chi"),
    (936, "Psi"),
    (937, "Omega"),
    (945, "alpha"),
    (946, "beta"),
    (947, "gamma"),
    (948, "delta"),
    (949, "epsilon"),
    (950, "zeta"),
    (951, "eta"),
    (952, "theta"),
    (953, "iota"),
    (954, "kappa"),
    (955, "lambda"),
    (956, "mu"),
    (957, "nu"),
    (958, "xi"),
    (959, "omicron"),
    (960, "pi"),
    (961, "rho"),
    (962, "sigmaf"),
    (963, "sigma"),
    (964, "tau"),
    (965, "upsilon"),
    (966, "phi"),
    (967, "chi"),
    (968, "psi"),
    (969, "omega"),
    (977, "thetasym"),
    (978, "upsih"),
    (982, "piv"),
    (8194, "ensp"),
    (8195, "emsp"),
    (8201, "thinsp"),
    (8204, "zwnj"),
    (8205, "zwj"),
    (8206, "lrm"),
    (8207, "rlm"),
    (8211, "ndash"),
    (8212, "mdash"),
    (8216, "lsquo"),
    (8217, "rsquo"),
    (8218, "sbquo"),
    (8220, "ldquo"),
    (8221, "rdquo"),
    (8222, "bdquo"),
    (8224, "dagger"),
    (8225, "Dagger"),
    (8226, "bull"),
    (8230, "hellip"),
    (8240, "permil"),
    (8242, "prime"),
    (8243, "Prime"),
    (8249, "lsaquo"),
    (8250, "rsaquo"),
    (8254, "oline"),
    (8260, "frasl"),
    (8364, "euro"),
    (8465, "image"),
    (8472, "weierp"),
    (8476, "real"),
    (8482, "trade"),
    (8501, "alefsym"),
    (8592, "larr"),
    (8593, "uarr"),
    (8594, "rarr"),
    (8595, "darr"),
    (8596, "harr"),
    (8629, "crarr"),
    (8656, "lArr"),
    (8657, "uArr"),
    (8658, "rArr"),
    (8659, "dArr"),
    (8660, "hArr"),
    (8704, "forall"),
    (8706, "part"),
    (8707, "exist"),
    (8709, "empty"),
    (8711, "nabla"),
    (8712, "isin"),
    (8713, "notin"),
    (8715, "ni"),
    (8719, "prod"),
    (8721, "sum"),
    (8722, "minus"),
    (8727, "lowast"),
    (8730, "radic"),
    (8733, "prop"),
    (8734, "infin"),
    (8736, "ang"),
    (8743, "and"),
    (8744, "or"),
    (8745, "cap"),
    (8746, "cup"),
    (8747, "int"),
    (8756, "there4"),
    (8764, "sim"),
    (8773, "cong"),
    (8776, "asymp"),
    (8800, "ne"),
    (8801, "equiv"),
    (8804, "le"),
    (8805, "ge"),
    (8834, "sub"),
    (8835, "sup"),
    (8836, "nsub"),
    (8838, "sube"),
    (8839, "supe"),
    (8853, "oplus"),
    (8855, "otimes"),
    (8869, "perp"),
    (8901, "sdot"),
    (8968, "lceil"),
    (8969, "rceil"),
    (8970, "lfloor"),
    (8971, "rfloor"),
    (9001, "lang"),
    (9002, "rang"),
    (9674, "loz"),
    (9824, "spades"),
    (9827, "clubs"),
    (9829, "hearts"),
    (9830, "diams"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoders() {
        assert_eq!(url_encode("a b&c=d/é~*._-"), "a+b%26c%3Dd%2F%C3%A9%7E*._-");
        assert_eq!(uri_encode("a b~"), "a%20b~");
        assert_eq!(json_string("a\"b\\c\nd\u{1}/é"), "a\\\"b\\\\c\\nd\\u0001/é");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(html("<é>&'"), "&lt;&eacute;&gt;&amp;'");
        assert_eq!(xml("<é>&'"), "&lt;&#233;&gt;&amp;&apos;");
        assert_eq!(java("a\"b\nc'/é"), "a\\\"b\\nc'/\\u00E9");
    }
}

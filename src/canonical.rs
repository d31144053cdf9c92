//! Canonical JSON text (RFC 8785's rules as far as nodectl's values need them): object keys sorted
//! by UTF-16 code units, no insignificant whitespace, strings escaped as serde_json does (the minimal
//! JSON escaping RFC 8785 asks for). Used wherever equal values must hash equally: the plan checksum
//! and the cache key of a node's definition. Floats print as serde_json prints them (shortest
//! round-trip), which matches RFC 8785's ECMAScript form for every value in a data action except
//! exponents ≥ 21, where the `+` sign differs.

use serde_json::Value;

/// Lower-case hexadecimal of bytes (digests in checksums, file and folder names).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha256:<hex>` of a value's canonical text: the checksum equal values share.
pub fn checksum(value: &Value) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex(&sha2::Sha256::digest(to_string(value).as_bytes()))
    )
}

/// The canonical text of a value.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// Appends the canonical text of a value to `out`.
pub fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::String(text) => write_string(text, out),
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON string literal, escaped as serde_json escapes (without an intermediate allocation when
/// nothing needs escaping, the common case).
fn write_string(text: &str, out: &mut String) {
    if text
        .chars()
        .all(|c| c != '"' && c != '\\' && !c.is_control())
    {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(&Value::String(text.to_string()).to_string());
    }
}

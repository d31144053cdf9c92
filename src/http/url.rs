//! Percent-encoding as nodectl's servers need it: `%XX` decoding of path segments (lenient, or
//! strict for names a user typed), form decoding of query strings (`+` as a space), and encoding of
//! everything but RFC 3986's unreserved characters. Pure.

/// `%XX` decoding of a path segment; malformed escapes stay as they are.
pub fn percent_decode(text: &str) -> String {
    let (bytes, _) = decode(text, false);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `%XX` decoding that refuses what `percent_decode` lets through: an escape that is not `%` and
/// two hex digits, or escapes that decode to bytes that are not UTF-8 (for names a user typed).
pub fn percent_decode_strict(text: &str) -> Result<String, String> {
    let (bytes, malformed) = decode(text, false);
    if let Some(escape) = malformed {
        return Err(format!("`{escape}` is not a `%` and two hex digits"));
    }
    String::from_utf8(bytes)
        .map_err(|_| "its escapes decode to bytes that are not UTF-8".to_string())
}

/// Form decoding: `%XX` and `+` as a space.
pub fn form_decode(text: &str) -> String {
    let (bytes, _) = decode(text, true);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The decoded bytes, and the first malformed escape (kept as it is in the bytes), if any.
fn decode(text: &str, plus_is_space: bool) -> (Vec<u8>, Option<String>) {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut malformed = None;
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'%' => {
                let hex = bytes
                    .get(index + 1..index + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(value) => {
                        out.push(value);
                        index += 3;
                    }
                    None => {
                        if malformed.is_none() {
                            let escape = text.get(index..).unwrap_or_default().chars().take(3);
                            malformed = Some(escape.collect());
                        }
                        out.push(byte);
                        index += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                index += 1;
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    (out, malformed)
}

/// `%XX`-encodes everything but RFC 3986's unreserved characters (for the listing URIs).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes() {
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
        assert_eq!(form_decode("a+b%2Fc"), "a b/c");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert!(percent_decode_strict("%zz").is_err());
    }
}

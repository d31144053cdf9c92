//! Genesys's limit on the nesting of data-action JSON ("the depth of JSON objects is limited to 50
//! levels", help p=141921, docs/genesys-evidence.md B.7), counted in one pass without parsing:
//! the runtime checks upstream answers with it, the emulator and `serve` the inputs they are sent.
//! Pure.

/// "The depth of JSON objects is limited to 50 levels" (Genesys help p=141921).
pub const MAX_JSON_DEPTH: usize = 50;

/// Whether JSON text nests objects and arrays more than `max` levels deep (`{}` is one level,
/// `{"a":[1]}` two). Brackets inside strings do not count; the text need not be valid JSON (a
/// parser says what else is wrong with it). One pass, no recursion: any depth is safe to check.
pub fn nesting_exceeds(text: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in text {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_counted_outside_strings() {
        assert!(!nesting_exceeds(b"{}", 1));
        assert!(nesting_exceeds(b"{\"a\":[1]}", 1));
        assert!(!nesting_exceeds(b"{\"a\":\"[[[[\\\"{{\"}", 1));
        let deep = format!("{}{}", "[".repeat(51), "]".repeat(51));
        assert!(nesting_exceeds(deep.as_bytes(), MAX_JSON_DEPTH));
        let ok = format!("{}{}", "[".repeat(50), "]".repeat(50));
        assert!(!nesting_exceeds(ok.as_bytes(), MAX_JSON_DEPTH));
    }
}

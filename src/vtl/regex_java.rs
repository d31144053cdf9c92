//! Java regular expressions (as `String.replaceAll` and `String.split` take them) on top of Rust's
//! `regex` crate: translation of the syntax that differs (ASCII-only `\d \w \s \b`, POSIX `\p{Alpha}`,
//! `\Q…\E`, octal and `\uXXXX` escapes, `.` excluding every line terminator), rejection of what Rust
//! cannot do (look-around, backreferences, possessive quantifiers, atomic groups), Java's replacement
//! syntax (`$1`, `${name}`, `\$`) and Java's split rules.

use regex::Regex;

/// A compiled Java pattern.
#[derive(Clone, Debug)]
pub(crate) struct JavaRegex {
    pub re: Regex,
}

/// Why a pattern cannot be used: unsupported Java features, or a pattern neither engine accepts.
#[derive(Clone, Debug)]
pub(crate) struct RegexError {
    pub message: String,
}

impl JavaRegex {
    pub(crate) fn new(java: &str) -> Result<JavaRegex, RegexError> {
        let translated = translate(java)?;
        match Regex::new(&translated) {
            Ok(re) => Ok(JavaRegex { re }),
            Err(e) => Err(RegexError {
                message: format!(
                    "regex {java:?} is not supported: {}",
                    first_line(&e.to_string())
                ),
            }),
        }
    }

    /// The pattern as `String.matches` uses it: it must match the whole input.
    pub(crate) fn new_full(java: &str) -> Result<JavaRegex, RegexError> {
        let translated = translate(java)?;
        // A newline ends a `(?x)` comment that would otherwise swallow the closing parenthesis;
        // in that mode it is whitespace, so it changes nothing else.
        let chars: Vec<char> = java.chars().collect();
        let end = if has_flag(&chars, 'x') {
            "\n)\\z"
        } else {
            ")\\z"
        };
        match Regex::new(&format!("\\A(?:{translated}{end}")) {
            Ok(re) => Ok(JavaRegex { re }),
            Err(e) => Err(RegexError {
                message: format!(
                    "regex {java:?} is not supported: {}",
                    first_line(&e.to_string())
                ),
            }),
        }
    }

    /// `String.matches(regex)`, for a pattern made by [`JavaRegex::new_full`].
    pub(crate) fn is_full_match(&self, input: &str) -> bool {
        self.re.is_match(input)
    }

    /// `String.split(regex)` with limit 0: trailing empty strings removed, no leading empty string
    /// for a zero-width match at the start.
    pub(crate) fn split<'t>(&self, input: &'t str) -> Vec<&'t str> {
        let mut parts: Vec<&'t str> = Vec::new();
        let mut index = 0usize;
        let mut matched = false;
        for m in self.re.find_iter(input) {
            if index == 0 && m.start() == 0 && m.end() == 0 {
                continue;
            }
            matched = true;
            parts.push(input.get(index..m.start()).unwrap_or(""));
            index = m.end();
        }
        if !matched {
            return vec![input];
        }
        parts.push(input.get(index..).unwrap_or(""));
        while parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        parts
    }

    /// `String.replaceAll(regex, replacement)`, refused once the result grows past `max_len`
    /// bytes (an empty match replaced by a long text multiplies the input).
    pub(crate) fn replace_all(
        &self,
        input: &str,
        repl: &Replacement,
        max_len: usize,
    ) -> Result<String, String> {
        self.replace(input, repl, max_len, usize::MAX)
    }

    /// `String.replaceFirst(regex, replacement)`.
    pub(crate) fn replace_first(
        &self,
        input: &str,
        repl: &Replacement,
        max_len: usize,
    ) -> Result<String, String> {
        self.replace(input, repl, max_len, 1)
    }

    /// Replaces the first `limit` matches.
    fn replace(
        &self,
        input: &str,
        repl: &Replacement,
        max_len: usize,
        limit: usize,
    ) -> Result<String, String> {
        let group_count = self.re.captures_len().saturating_sub(1);
        let resolved = repl.resolve(group_count, &self.re)?;
        let mut out = String::with_capacity(input.len());
        let mut last = 0usize;
        for caps in self.re.captures_iter(input).take(limit) {
            let Some(m) = caps.get(0) else { continue };
            out.push_str(input.get(last..m.start()).unwrap_or(""));
            for part in &resolved {
                match part {
                    Resolved::Lit(s) => out.push_str(s),
                    Resolved::Group(g) => {
                        if let Some(gm) = caps.get(*g) {
                            out.push_str(gm.as_str());
                        }
                    }
                }
            }
            last = m.end();
            if out.len() > max_len {
                return Err(format!(
                    "template budget exceeded: a string or the output grew past {max_len} bytes"
                ));
            }
        }
        out.push_str(input.get(last..).unwrap_or(""));
        Ok(out)
    }
}

fn first_line(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines.last().map(|l| l.to_string()).unwrap_or_default()
}

fn unsupported(java: &str, what: &str) -> RegexError {
    RegexError {
        message: format!(
            "regex {java:?} uses {what}, which nodectl's regex engine does not support (outside nodectl's Velocity subset)"
        ),
    }
}

fn hex_escape(c: char) -> String {
    format!("\\x{{{:X}}}", c as u32)
}

fn posix_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "Lower" => "a-z",
        "Upper" => "A-Z",
        "ASCII" => "\\x00-\\x7F",
        "Alpha" => "a-zA-Z",
        "Digit" => "0-9",
        "Alnum" => "a-zA-Z0-9",
        "Punct" => "!-/:-@\\[-`{-~",
        "Graph" => "!-~",
        "Print" => " -~",
        "Blank" => " \\t",
        "Cntrl" => "\\x00-\\x1F\\x7F",
        "XDigit" => "0-9a-fA-F",
        "Space" => " \\t\\n\\x0B\\x0C\\r",
        _ => return None,
    })
}

/// Translates Java regex syntax into Rust regex syntax.
pub(crate) fn translate(java: &str) -> Result<String, RegexError> {
    let chars: Vec<char> = java.chars().collect();
    let dotall = has_flag(&chars, 's');
    let mut out = String::with_capacity(java.len() + 8);
    let mut i = 0usize;
    let mut class_depth = 0usize;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    return Err(RegexError {
                        message: format!("regex {java:?} ends with an unescaped backslash"),
                    });
                };
                i += 2;
                let inside = class_depth > 0;
                match n {
                    '1'..='9' => return Err(unsupported(java, "a backreference")),
                    'k' => return Err(unsupported(java, "a named backreference")),
                    'G' | 'Z' | 'R' | 'X' | 'h' | 'H' | 'v' | 'V' | 'c' => {
                        return Err(unsupported(java, &format!("\\{n}")));
                    }
                    '0' => {
                        // octal: \0n, \0nn, \0mnn (m <= 3)
                        let mut val = 0u32;
                        let mut digits = 0;
                        while digits < 3 {
                            match chars.get(i) {
                                Some(d) if ('0'..='7').contains(d) => {
                                    let nv = val * 8 + (*d as u32 - '0' as u32);
                                    if nv > 0o377 {
                                        break;
                                    }
                                    val = nv;
                                    i += 1;
                                    digits += 1;
                                }
                                _ => break,
                            }
                        }
                        if digits == 0 {
                            return Err(unsupported(java, "an invalid octal escape"));
                        }
                        out.push_str(&format!("\\x{{{val:X}}}"));
                    }
                    'd' => out.push_str(if inside { "0-9" } else { "[0-9]" }),
                    'w' => out.push_str(if inside { "0-9A-Za-z_" } else { "[0-9A-Za-z_]" }),
                    's' => out.push_str(if inside {
                        "\\t\\n\\x0B\\x0C\\r "
                    } else {
                        "[\\t\\n\\x0B\\x0C\\r ]"
                    }),
                    'D' | 'W' | 'S' => {
                        if inside {
                            return Err(unsupported(java, "a negated class escape inside [...]"));
                        }
                        out.push_str(match n {
                            'D' => "[^0-9]",
                            'W' => "[^0-9A-Za-z_]",
                            _ => "[^\\t\\n\\x0B\\x0C\\r ]",
                        });
                    }
                    'b' | 'B' => {
                        if inside {
                            return Err(unsupported(java, "\\b inside [...]"));
                        }
                        out.push_str(if n == 'b' { "(?-u:\\b)" } else { "(?-u:\\B)" });
                    }
                    'Q' => {
                        // literal until \E
                        loop {
                            match chars.get(i) {
                                None => break,
                                Some('\\') if chars.get(i + 1) == Some(&'E') => {
                                    i += 2;
                                    break;
                                }
                                Some(&q) => {
                                    out.push_str(&hex_escape(q));
                                    i += 1;
                                }
                            }
                        }
                    }
                    'E' => {}
                    'u' => {
                        let hex: String = chars.iter().skip(i).take(4).collect();
                        if hex.len() != 4 || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                            return Err(unsupported(java, "an invalid \\u escape"));
                        }
                        i += 4;
                        let v = u32::from_str_radix(&hex, 16).unwrap_or(0);
                        if char::from_u32(v).is_none() {
                            return Err(unsupported(java, "a surrogate \\u escape"));
                        }
                        out.push_str(&format!("\\x{{{v:X}}}"));
                    }
                    'x' => out.push_str("\\x"),
                    'e' => out.push_str("\\x{1B}"),
                    'n' | 't' | 'r' | 'f' | 'a' | 'z' | 'A' => {
                        out.push('\\');
                        out.push(n);
                    }
                    'p' | 'P' => {
                        // \p{Name} or \pL
                        let (name, consumed) = if chars.get(i) == Some(&'{') {
                            let mut j = i + 1;
                            let mut name = String::new();
                            while let Some(&ch) = chars.get(j) {
                                if ch == '}' {
                                    break;
                                }
                                name.push(ch);
                                j += 1;
                            }
                            if chars.get(j) != Some(&'}') {
                                return Err(unsupported(java, "an unterminated \\p{...}"));
                            }
                            (name, j + 1 - i)
                        } else {
                            match chars.get(i) {
                                Some(&ch) => (ch.to_string(), 1),
                                None => return Err(unsupported(java, "a truncated \\p")),
                            }
                        };
                        i += consumed;
                        if let Some(set) = posix_class(&name) {
                            if n == 'p' {
                                if inside {
                                    out.push_str(set);
                                } else {
                                    out.push('[');
                                    out.push_str(set);
                                    out.push(']');
                                }
                            } else if inside {
                                return Err(unsupported(java, "a negated \\P{...} inside [...]"));
                            } else {
                                out.push_str("[^");
                                out.push_str(set);
                                out.push(']');
                            }
                        } else {
                            let rust_name = name
                                .strip_prefix("Is")
                                .or_else(|| name.strip_prefix("In"))
                                .unwrap_or(&name);
                            if name.starts_with("java") {
                                return Err(unsupported(java, &format!("\\{n}{{{name}}}")));
                            }
                            out.push('\\');
                            out.push(n);
                            out.push('{');
                            out.push_str(rust_name);
                            out.push('}');
                        }
                    }
                    other if other.is_ascii_alphanumeric() => {
                        return Err(unsupported(java, &format!("\\{other}")));
                    }
                    other => out.push_str(&hex_escape(other)),
                }
                continue;
            }
            '[' => {
                class_depth += 1;
                out.push('[');
                // a leading ']' or '^]' is literal in Java as well; copy '^' through
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                i += 1;
                continue;
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(']');
            }
            '(' if class_depth == 0 => {
                if chars.get(i + 1) == Some(&'?') {
                    let rest: String = chars.iter().skip(i + 2).take(3).collect();
                    if rest.starts_with('=')
                        || rest.starts_with('!')
                        || rest.starts_with("<=")
                        || rest.starts_with("<!")
                    {
                        return Err(unsupported(java, "look-around"));
                    }
                    if rest.starts_with('>') {
                        return Err(unsupported(java, "an atomic group"));
                    }
                    // inline flags: only i m s x are shared with Rust
                    let mut j = i + 2;
                    while let Some(&f) = chars.get(j) {
                        if f == ')' || f == ':' {
                            break;
                        }
                        if f == '<' || f == '\'' || f == 'P' {
                            break;
                        }
                        if !matches!(f, 'i' | 'm' | 's' | 'x' | '-') {
                            return Err(unsupported(java, &format!("the inline flag ({f})")));
                        }
                        j += 1;
                    }
                }
                out.push('(');
            }
            '*' | '+' | '?' | '}' if class_depth == 0 => {
                out.push(c);
                if chars.get(i + 1) == Some(&'+') {
                    return Err(unsupported(java, "a possessive quantifier"));
                }
            }
            '.' if class_depth == 0 && !dotall => {
                out.push_str("[^\\n\\r\\x{85}\\x{2028}\\x{2029}]")
            }
            '~' | '-' if class_depth > 0 && chars.get(i + 1) == Some(&c) => {
                // Rust reads "~~" / "--" inside a class as set operations; Java reads literals.
                out.push_str(&hex_escape(c));
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

fn has_flag(chars: &[char], flag: char) -> bool {
    let mut i = 0;
    while i + 2 < chars.len() {
        let prev_backslash = i > 0 && chars.get(i - 1) == Some(&'\\');
        if chars.get(i) == Some(&'(') && chars.get(i + 1) == Some(&'?') && !prev_backslash {
            let mut j = i + 2;
            while let Some(&f) = chars.get(j) {
                if f == ')' || f == ':' || f == '-' {
                    break;
                }
                if f == flag {
                    return true;
                }
                j += 1;
            }
        }
        i += 1;
    }
    false
}

/// A Java replacement string, parsed: literal runs and group references.
#[derive(Clone, Debug)]
pub(crate) struct Replacement {
    parts: Vec<ReplPart>,
}

#[derive(Clone, Debug)]
enum ReplPart {
    Lit(String),
    /// `$` followed by these digits (how many of them belong to the reference depends on the pattern).
    Digits(String),
    Named(String),
}

enum Resolved {
    Lit(String),
    Group(usize),
}

impl Replacement {
    pub(crate) fn parse(s: &str) -> Result<Replacement, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut it = s.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                '\\' => match it.next() {
                    Some(n) => lit.push(n),
                    None => return Err("character to be escaped is missing".to_string()),
                },
                '$' => match it.peek().copied() {
                    Some('{') => {
                        it.next();
                        let mut name = String::new();
                        loop {
                            match it.next() {
                                Some('}') => break,
                                Some(ch) if ch.is_ascii_alphanumeric() => name.push(ch),
                                _ => {
                                    return Err(
                                        "named capturing group is missing trailing '}'".to_string()
                                    );
                                }
                            }
                        }
                        if name.is_empty() {
                            return Err("named capturing group has 0 length name".to_string());
                        }
                        if !lit.is_empty() {
                            parts.push(ReplPart::Lit(std::mem::take(&mut lit)));
                        }
                        parts.push(ReplPart::Named(name));
                    }
                    Some(d) if d.is_ascii_digit() => {
                        let mut digits = String::new();
                        while let Some(&d) = it.peek() {
                            if d.is_ascii_digit() {
                                digits.push(d);
                                it.next();
                            } else {
                                break;
                            }
                        }
                        if !lit.is_empty() {
                            parts.push(ReplPart::Lit(std::mem::take(&mut lit)));
                        }
                        parts.push(ReplPart::Digits(digits));
                    }
                    _ => return Err("Illegal group reference".to_string()),
                },
                other => lit.push(other),
            }
        }
        if !lit.is_empty() {
            parts.push(ReplPart::Lit(lit));
        }
        Ok(Replacement { parts })
    }

    fn resolve(&self, group_count: usize, re: &Regex) -> Result<Vec<Resolved>, String> {
        let mut out = Vec::with_capacity(self.parts.len());
        for p in &self.parts {
            match p {
                ReplPart::Lit(s) => out.push(Resolved::Lit(s.clone())),
                ReplPart::Named(name) => {
                    let idx = re
                        .capture_names()
                        .position(|n| n == Some(name.as_str()))
                        .ok_or_else(|| format!("No group with name {{{name}}}"))?;
                    out.push(Resolved::Group(idx));
                }
                ReplPart::Digits(digits) => {
                    let mut chars = digits.chars();
                    let first = chars.next().and_then(|c| c.to_digit(10)).unwrap_or(0) as usize;
                    if first > group_count {
                        return Err(format!("No group {first}"));
                    }
                    let mut g = first;
                    let mut rest = String::new();
                    let mut taking = true;
                    for c in chars {
                        let d = c.to_digit(10).unwrap_or(0) as usize;
                        if taking {
                            let ng = g.saturating_mul(10).saturating_add(d);
                            if ng <= group_count {
                                g = ng;
                                continue;
                            }
                            taking = false;
                        }
                        rest.push(c);
                    }
                    out.push(Resolved::Group(g));
                    if !rest.is_empty() {
                        out.push(Resolved::Lit(rest));
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_rules() {
        let r = JavaRegex::new(",").unwrap();
        assert_eq!(r.split("a,b,,"), vec!["a", "b"]);
        assert_eq!(r.split(""), vec![""]);
        assert_eq!(r.split(","), Vec::<&str>::new());
        assert_eq!(r.split(",a"), vec!["", "a"]);
        let e = JavaRegex::new("").unwrap();
        assert_eq!(e.split("abc"), vec!["a", "b", "c"]);
    }

    #[test]
    fn replace_groups() {
        let r = JavaRegex::new("(o)").unwrap();
        let rep = Replacement::parse("[$1]").unwrap();
        assert_eq!(
            r.replace_all("Hello World", &rep, usize::MAX).unwrap(),
            "Hell[o] W[o]rld"
        );
        let rep = Replacement::parse("$12").unwrap();
        assert_eq!(r.replace_all("o", &rep, usize::MAX).unwrap(), "o2");
        assert!(Replacement::parse("$x").is_err());
        assert!(JavaRegex::new("a(?=b)").is_err());
        assert!(JavaRegex::new("(a)\\1").is_err());
    }
}

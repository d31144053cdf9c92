//! Source files and positions: reads a TOML file into a `serde_json::Value` tree (the form the shape
//! check and serde work on) and maps a path inside that tree back to `line:column` in the file.
//!
//! The happy path parses once. Positions are only needed when something is wrong, so `locate`
//! re-parses the text into toml's spanned tree on demand instead of keeping spans for every value.

use std::path::{Path, PathBuf};

use serde_json::Value;
use toml::de::{DeTable, DeValue};

use super::diag::{Diagnostics, Position};

/// One step of a path into a parsed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl From<&str> for Seg {
    fn from(key: &str) -> Seg {
        Seg::Key(key.to_string())
    }
}

impl From<usize> for Seg {
    fn from(index: usize) -> Seg {
        Seg::Index(index)
    }
}

/// Builds a path (an array of `Seg`) from keys and indexes: `seg_path!["request", "headers", 0]`.
#[macro_export]
#[doc(hidden)]
macro_rules! seg_path {
    ($($seg:expr),* $(,)?) => {
        [$($crate::manifest::source::Seg::from($seg)),*]
    };
}

/// Whether a diagnostic points at a key (`unknown key`) or at its value (`wrong type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Key,
    Value,
}

/// A file's text with the name it is shown under.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// As shown in diagnostics (`--dir` joined with the relative path).
    pub display: PathBuf,
    /// Relative to the project directory.
    pub relative: PathBuf,
    pub text: String,
}

impl SourceFile {
    pub fn new(display: PathBuf, relative: PathBuf, text: String) -> SourceFile {
        SourceFile {
            display,
            relative,
            text,
        }
    }

    /// 1-based line and character column of a byte offset.
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        position_after(self.text.get(..offset).unwrap_or(""))
    }

    /// Parses the text as TOML. Every syntax error is reported (toml's recovering parser), and then
    /// `None` is returned: a file that does not parse is not checked further.
    pub fn parse_toml(&self, diags: &mut Diagnostics) -> Option<Value> {
        match toml::from_str::<Value>(&self.text) {
            Ok(value) => Some(untoml(value)),
            Err(first) => {
                let (_, errors) = DeTable::parse_recoverable(&self.text);
                let reported = if errors.is_empty() {
                    vec![first]
                } else {
                    errors
                };
                for error in reported {
                    let at = error
                        .span()
                        .map_or(Position::START, |s| self.position(s.start));
                    diags.error(&self.display, at, toml_message(error.message()));
                }
                None
            }
        }
    }

    /// The position of the key or value at `path`; when the path leads nowhere (a missing key), the
    /// deepest existing key on the way.
    pub fn locate(&self, path: &[Seg], target: Target) -> Position {
        let (root, _) = DeTable::parse_recoverable(&self.text);
        let mut found: Option<usize> = None;
        let mut current: DeValueRef<'_, '_> = DeValueRef::Table(root.get_ref());
        for (i, seg) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            let next = match (current, seg) {
                (DeValueRef::Table(table), Seg::Key(key)) => table
                    .get_key_value(key.as_str())
                    .map(|(k, v)| (k.span(), v)),
                (DeValueRef::Value(DeValue::Table(table)), Seg::Key(key)) => table
                    .get_key_value(key.as_str())
                    .map(|(k, v)| (k.span(), v)),
                (DeValueRef::Value(DeValue::Array(items)), Seg::Index(index)) => {
                    items.get(*index).map(|v| (v.span(), v))
                }
                _ => None,
            };
            let Some((key_span, value)) = next else { break };
            found = Some(if last && target == Target::Value {
                value.span().start
            } else {
                key_span.start
            });
            current = DeValueRef::Value(value.get_ref());
        }
        found.map_or(Position::START, |offset| self.position(offset))
    }

    /// The position of a place inside the string value at `path`: `line` is 1-based within the
    /// string, `column0` a 0-based character column. Exact for literal and multi-line strings and
    /// for basic strings without escapes before the place; else the start of the value.
    pub fn locate_in_string(&self, path: &[Seg], line: usize, column0: usize) -> Position {
        let start = self.locate(path, Target::Value);
        let line_text = self
            .text
            .lines()
            .nth(start.line.saturating_sub(1))
            .unwrap_or("");
        let rest: String = line_text
            .chars()
            .skip(start.column.saturating_sub(1))
            .collect();
        let multi_line = rest.starts_with("\"\"\"") || rest.starts_with("'''");
        if multi_line {
            // TOML trims a newline right after the opening delimiter.
            let trimmed_newline = rest.chars().skip(3).all(char::is_whitespace);
            let (first_line, first_column) = if trimmed_newline {
                (start.line + 1, 1)
            } else {
                (start.line, start.column + 3)
            };
            return if line <= 1 {
                Position {
                    line: first_line,
                    column: first_column + column0,
                }
            } else {
                Position {
                    line: first_line + line - 1,
                    column: 1 + column0,
                }
            };
        }
        if (rest.starts_with('"') || rest.starts_with('\'')) && line == 1 {
            return Position {
                line: start.line,
                column: start.column + 1 + column0,
            };
        }
        start
    }
}

#[derive(Clone, Copy)]
enum DeValueRef<'a, 'i> {
    Table(&'a DeTable<'i>),
    Value(&'a DeValue<'i>),
}

/// toml's messages start lower-case and sometimes end with a newline; keep them on one line.
fn toml_message(message: &str) -> String {
    let one_line = message.trim().replace('\n', "; ");
    format!("TOML syntax: {one_line}")
}

/// toml turns datetimes into `{"$__toml_private_datetime": "…"}` tables when deserialized into a
/// `serde_json::Value`; nodectl takes them as their RFC 3339 text.
fn untoml(value: Value) -> Value {
    const DATETIME_KEY: &str = "$__toml_private_datetime";
    match value {
        Value::Object(map) => {
            if map.len() == 1
                && let Some(Value::String(text)) = map.get(DATETIME_KEY)
            {
                return Value::String(text.clone());
            }
            Value::Object(map.into_iter().map(|(k, v)| (k, untoml(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(untoml).collect()),
        other => other,
    }
}

/// Reads a file as UTF-8, reporting a failure as a diagnostic: at 1:1 when the file cannot be read,
/// at the first byte that is not UTF-8 otherwise.
pub fn read(
    display: PathBuf,
    relative: PathBuf,
    full: &Path,
    diags: &mut Diagnostics,
) -> Option<SourceFile> {
    let bytes = match std::fs::read(full) {
        Ok(bytes) => bytes,
        Err(error) => {
            diags.error(
                &display,
                Position::START,
                format!("cannot read file: {error}"),
            );
            return None;
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Some(SourceFile::new(display, relative, text)),
        Err(error) => {
            let bytes = error.as_bytes();
            let valid = error.utf8_error().valid_up_to();
            // Everything before `valid` is UTF-8 by definition.
            let before = bytes.get(..valid).and_then(|b| std::str::from_utf8(b).ok());
            let byte = bytes.get(valid).copied().unwrap_or_default();
            diags.error(
                &display,
                position_after(before.unwrap_or_default()),
                format!(
                    "the file is not UTF-8 text: byte 0x{byte:02X} cannot start or continue a character (save it as UTF-8)"
                ),
            );
            None
        }
    }
}

/// The 1-based line and character column just after `before` (the text up to a position).
fn position_after(before: &str) -> Position {
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    Position { line, column }
}

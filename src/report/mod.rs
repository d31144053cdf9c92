//! Rendering of results for people and machines. Nothing here prints: `cli` decides where the text goes.
//! Styles are ANSI sequences; the output stream strips them when colour is off (`--color`, `NO_COLOR`,
//! not a terminal).

pub mod export;
pub mod import;
pub mod parity;
pub mod plan;
pub mod record;
pub mod test;

use serde_json::Value;

use crate::manifest::{Diagnostic, Severity};

const RED_BOLD: &str = "\x1b[1;31m";
const YELLOW_BOLD: &str = "\x1b[1;33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// A unified diff of two JSON values, pretty-printed, under their labels.
pub(crate) fn json_diff(before: (&str, &Value), after: (&str, &Value)) -> String {
    let before_text = serde_json::to_string_pretty(before.1).unwrap_or_default() + "\n";
    let after_text = serde_json::to_string_pretty(after.1).unwrap_or_default() + "\n";
    similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .diff_lines(&before_text, &after_text)
        .unified_diff()
        .header(before.0, after.0)
        .to_string()
        .trim_end()
        .to_string()
}

/// One diagnostic: `path:line:col: error: message`.
pub fn diagnostic(d: &Diagnostic) -> String {
    let style = match d.severity {
        Severity::Error => RED_BOLD,
        Severity::Warning => YELLOW_BOLD,
    };
    format!(
        "{BOLD}{}:{}:{}:{RESET} {style}{}:{RESET} {}",
        d.path.display(),
        d.line,
        d.column,
        d.severity.as_str(),
        d.message
    )
}

/// `N errors, M warnings`, the last line of `validate`.
pub fn diagnostics_summary(errors: usize, warnings: usize) -> String {
    let text = format!(
        "{}, {}",
        counted(errors, "error"),
        counted(warnings, "warning")
    );
    if errors > 0 {
        format!("{RED_BOLD}{text}{RESET}")
    } else {
        text
    }
}

/// The summary of a command other than `validate` that stopped on invalid files: it shows only the
/// errors, so the warnings are counted and left to `validate`.
pub fn load_failure_summary(errors: usize, warnings: usize) -> String {
    let text = format!("{RED_BOLD}{}{RESET}", counted(errors, "error"));
    if warnings == 0 {
        return text;
    }
    format!(
        "{text} (and {}: `nodectl validate` shows them)",
        counted(warnings, "warning")
    )
}

/// `1 error`, `2 errors`.
fn counted(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

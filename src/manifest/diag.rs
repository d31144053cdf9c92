//! Diagnostics: every problem `validate` finds, each with its file, line and column, collected so that
//! all of them are reported at once rather than stopping at the first.

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a problem is. Warnings never change an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem at one place. `line` and `column` are 1-based; the column counts characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    /// The file as the user names it (the `--dir` argument joined with the file's relative path).
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.severity.as_str(),
            self.message
        )
    }
}

/// A position in a file, as found by `source::SourceFile::locate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub const START: Position = Position { line: 1, column: 1 };
}

/// The problems found so far.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(
        &mut self,
        severity: Severity,
        path: &Path,
        at: Position,
        message: impl Into<String>,
    ) {
        self.items.push(Diagnostic {
            path: path.to_path_buf(),
            line: at.line,
            column: at.column,
            severity,
            message: message.into(),
        });
    }

    pub fn error(&mut self, path: &Path, at: Position, message: impl Into<String>) {
        self.push(Severity::Error, path, at, message);
    }

    pub fn warning(&mut self, path: &Path, at: Position, message: impl Into<String>) {
        self.push(Severity::Warning, path, at, message);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn warning_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// The problems in file order (path, line, column), each reported once even when several
    /// environments found it.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort();
        self.items.dedup();
        self.items
    }

    /// Sorts and removes duplicates in place (the counts then match what is printed).
    pub fn normalize(&mut self) {
        let items = std::mem::take(&mut self.items);
        self.items = Diagnostics { items }.into_sorted();
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }
}

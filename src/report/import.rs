//! What `import` did, for people: its notes (types inferred, categories chosen), the problems that
//! stopped it, and its one-line summary.

use crate::ops::import::{ImportProblems, ImportReport};

/// `note: …` lines, one per note (for stderr).
pub fn notes(report: &ImportReport) -> Vec<String> {
    report.notes.iter().map(|n| format!("note: {n}")).collect()
}

/// `FILE: problem` lines, then what that means (for stderr, after `error:`).
pub fn problems(problems: &ImportProblems) -> Vec<String> {
    let mut lines = problems.0.clone();
    lines.push(format!(
        "{} problem(s); nothing imported, nothing written",
        problems.0.len()
    ));
    lines
}

/// `imported N action(s): nodes/a.toml, …`.
pub fn summary(report: &ImportReport) -> String {
    let written: Vec<String> = report
        .written
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    format!(
        "imported {} action(s): {}",
        report.imported,
        written.join(", ")
    )
}

//! What `export` did, for people: the notes on what it skipped, and its one-line summary.

use crate::ops::export::ExportReport;

/// `note: …` lines, one per note (for stderr).
pub fn notes(report: &ExportReport) -> Vec<String> {
    report.notes.iter().map(|n| format!("note: {n}")).collect()
}

/// `exported N action(s) from M integration(s) into DIR (R request(s))`.
pub fn summary(report: &ExportReport) -> String {
    format!(
        "exported {} action(s) from {} integration(s) into {} ({} request(s))",
        report.exported,
        report.integrations,
        report.nodes_dir.display(),
        report.requests
    )
}

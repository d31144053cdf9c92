//! What `record` did, for people: the summary line, and the warnings about the fixture it wrote.

use crate::ops::record::RecordReport;

/// `recorded FILE: N attempt(s), OUTCOME`.
pub fn summary(report: &RecordReport) -> String {
    format!(
        "recorded {}: {} attempt(s), {}",
        report.out.display(),
        report.attempts,
        report.live
    )
}

/// `warning: …` lines (for stderr): a replay that ends otherwise than the live run, a fixture that
/// `nodectl test` will not find.
pub fn warnings(report: &RecordReport) -> Vec<String> {
    let mut warnings = Vec::new();
    if report.live != report.replay {
        warnings.push(format!(
            "warning: the replay with placeholders ends in {} while the live run ended in {}; check the fixture's [expect]",
            report.replay, report.live
        ));
    }
    if let Some(fixtures_dir) = &report.outside {
        warnings.push(format!(
            "warning: `{}` is outside {}/, so `nodectl test` will not run it",
            report.out.display(),
            fixtures_dir.display()
        ));
    }
    warnings
}

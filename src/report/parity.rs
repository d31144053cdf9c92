//! `nodectl parity`'s results: per node and fixture whether Genesys's execution agrees with
//! nodectl's, and for each step that differs, both sides (a unified diff for JSON objects and
//! arrays); the JSON form carries the same (docs/runtime.md, "Parity with Genesys").

use serde_json::{Value, json};

use super::{BOLD, RED_BOLD, RESET};
use crate::ops::parity::{FixtureOutcome, NodeOutcome, ParityReport};
use crate::parity::{Shown, StepComparison, Verdict};

/// The text report.
pub fn text(report: &ParityReport) -> String {
    let mut lines = vec![format!(
        "parity of env `{}` with {} ({} actions)",
        report.env,
        report.api_base,
        if report.draft { "draft" } else { "published" }
    )];
    let (mut agree, mut differ, mut failed, mut skipped) = (0, 0, 0, 0);
    for node in &report.nodes {
        match &node.outcome {
            NodeOutcome::NotOptedIn => {
                skipped += 1;
                lines.push(format!(
                    "{BOLD}{}{RESET}: skipped (no `parity = true` under `[local]`)",
                    node.node
                ));
            }
            NodeOutcome::NotInOrg => {
                failed += 1;
                lines.push(format!(
                    "{BOLD}{}{RESET}: {RED_BOLD}not in the org{RESET} (apply it first)",
                    node.node
                ));
            }
            NodeOutcome::NoFixtures => {
                skipped += 1;
                lines.push(format!(
                    "{BOLD}{}{RESET}: skipped (no fixtures: their inputs are what is compared)",
                    node.node
                ));
            }
            NodeOutcome::Fixtures(fixtures) => {
                lines.push(format!("{BOLD}{}{RESET}", node.node));
                for fixture in fixtures {
                    match &fixture.outcome {
                        FixtureOutcome::TestFailed(message) => {
                            failed += 1;
                            lines.push(format!(
                                "  {RED_BOLD}FAIL{RESET} {}: the org's test failed: {message}",
                                fixture.fixture
                            ));
                        }
                        FixtureOutcome::Compared(comparison) if comparison.agrees() => {
                            agree += 1;
                            let steps: Vec<String> = comparison
                                .steps
                                .iter()
                                .map(|s| s.step.to_string())
                                .collect();
                            lines.push(format!(
                                "  ok   {} (steps {})",
                                fixture.fixture,
                                steps.join(", ")
                            ));
                        }
                        FixtureOutcome::Compared(comparison) => {
                            differ += 1;
                            lines.push(format!(
                                "  {RED_BOLD}DIFF{RESET} {} ({})",
                                fixture.fixture,
                                fixture.source.display()
                            ));
                            for step in comparison.differences() {
                                lines.extend(
                                    step_lines(step).into_iter().map(|l| format!("    {l}")),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    lines.push(String::new());
    lines.push(format!(
        "{agree} agree, {differ} differ, {failed} failed, {skipped} skipped"
    ));
    lines.join("\n")
}

/// One differing step: `step N. Name` and both sides.
fn step_lines(step: &StepComparison) -> Vec<String> {
    let mut lines = vec![format!("step {}. {} differs:", step.step, step.name)];
    let Verdict::Differs { nodectl, genesys } = &step.verdict else {
        return lines;
    };
    match (nodectl, genesys) {
        (Shown::Value(ours), Shown::Value(theirs))
            if ours.is_object() || ours.is_array() || theirs.is_object() || theirs.is_array() =>
        {
            let diff = super::json_diff(("nodectl", ours), ("Genesys", theirs));
            lines.extend(diff.lines().map(|l| format!("  {l}")));
        }
        _ => {
            lines.push(format!("  nodectl: {}", shown_text(nodectl)));
            lines.push(format!("  Genesys: {}", shown_text(genesys)));
        }
    }
    lines
}

fn shown_text(shown: &Shown) -> String {
    match shown {
        Shown::Value(value) => value.to_string(),
        Shown::Hidden => crate::parity::HIDDEN.to_string(),
        Shown::Failed(message) => format!("failed: {message}"),
        Shown::NotRun => "did not run".to_string(),
    }
}

/// The JSON report.
pub fn json(report: &ParityReport) -> Value {
    let nodes: Vec<Value> = report
        .nodes
        .iter()
        .map(|node| {
            let (outcome, fixtures) = match &node.outcome {
                NodeOutcome::NotOptedIn => ("notOptedIn", Vec::new()),
                NodeOutcome::NotInOrg => ("notInOrg", Vec::new()),
                NodeOutcome::NoFixtures => ("noFixtures", Vec::new()),
                NodeOutcome::Fixtures(fixtures) => (
                    "compared",
                    fixtures
                        .iter()
                        .map(|f| {
                            let mut entry = json!({
                                "fixture": f.fixture,
                                "source": f.source.display().to_string(),
                            });
                            let fields = match &f.outcome {
                                FixtureOutcome::Compared(comparison) => json!({
                                    "agrees": comparison.agrees(),
                                    "steps": comparison.steps,
                                }),
                                FixtureOutcome::TestFailed(message) => json!({
                                    "agrees": false,
                                    "testFailed": message,
                                }),
                            };
                            if let (Value::Object(entry), Value::Object(fields)) =
                                (&mut entry, fields)
                            {
                                entry.extend(fields);
                            }
                            entry
                        })
                        .collect(),
                ),
            };
            json!({ "node": node.node, "outcome": outcome, "fixtures": fixtures })
        })
        .collect();
    json!({
        "env": report.env,
        "target": report.api_base,
        "draft": report.draft,
        "agrees": report.agrees(),
        "nodes": nodes,
    })
}

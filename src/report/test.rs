//! `nodectl test` results: the text a person reads (a line per fixture, then what differed), the
//! JSON machines read (`--output json`), and JUnit XML for CI systems (`--junit`).

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::fixture::{Failure, FixtureResult, TestRun};
use crate::runtime::error::kind_name;

const GREEN: &str = "\x1b[32m";
const RED_BOLD: &str = "\x1b[1;31m";
const YELLOW_BOLD: &str = "\x1b[1;33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// `Node / fixture-name`.
fn title(result: &FixtureResult) -> String {
    format!("{} / {}", result.fixture.node, result.fixture.name)
}

/// The whole text report; `paths` gives each fixture's file as the user names it.
pub fn text(run: &TestRun, path_of: &dyn Fn(&FixtureResult) -> String) -> String {
    let mut out = String::new();
    // The env is shown only when the run spans several (decided once: a run has thousands of lines).
    let several_envs = run.results.first().is_some_and(|first| {
        run.results
            .iter()
            .any(|r| r.fixture.env != first.fixture.env)
    });
    for result in &run.results {
        let status = if result.passed() {
            format!("{GREEN}ok  {RESET}")
        } else {
            format!("{RED_BOLD}FAIL{RESET}")
        };
        let env = if several_envs {
            format!(" [{}]", result.fixture.env)
        } else {
            String::new()
        };
        let _ = writeln!(out, "{status} {}{env}", title(result));
    }
    let failed: Vec<&FixtureResult> = run.results.iter().filter(|r| !r.passed()).collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\n{BOLD}failures:{RESET}");
        for result in failed {
            let _ = writeln!(
                out,
                "\n{BOLD}--- {} ({}){RESET}",
                title(result),
                path_of(result)
            );
            for failure in &result.failures {
                for line in describe(failure).lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
            if let Some(step) = failing_step(result) {
                for line in step.lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
    }
    for node in &run.untested_nodes {
        let _ = writeln!(
            out,
            "{YELLOW_BOLD}warning:{RESET} node `{node}` has no fixture"
        );
    }
    let summary = format!("{} passed, {} failed", run.passed(), run.failed());
    let _ = writeln!(
        out,
        "\n{}",
        if run.failed() > 0 {
            format!("{RED_BOLD}{summary}{RESET}")
        } else {
            summary
        }
    );
    out
}

/// What differed, in words.
pub fn describe(failure: &Failure) -> String {
    match failure {
        Failure::Request(problem) => problem.to_string(),
        Failure::Success {
            execution,
            expected,
        } => {
            let (want, got) = if *expected {
                ("succeed", "failed")
            } else {
                ("fail", "succeeded")
            };
            format!("execution {execution} was expected to {want} but {got}")
        }
        Failure::Output {
            execution,
            expected,
            actual,
        } => {
            let diff = super::json_diff(("expected output", expected), ("actual output", actual));
            format!("execution {execution}: output differs\n{diff}")
        }
        Failure::ErrorKind {
            execution,
            expected,
            actual,
        } => match actual {
            Some(actual) => format!(
                "execution {execution}: error kind differs\n  expected: {}\n  actual:   {}",
                kind_name(*expected),
                kind_name(*actual)
            ),
            None => format!(
                "execution {execution}: expected error {} but it succeeded",
                kind_name(*expected)
            ),
        },
        Failure::ErrorContains {
            execution,
            expected,
            actual,
        } => {
            format!(
                "execution {execution}: error message does not contain {expected:?}\n  message: {actual}"
            )
        }
        Failure::Attempts { expected, actual } => {
            format!("attempts differ\n  expected: {expected}\n  actual:   {actual}")
        }
        Failure::Waits { expected, actual } => {
            format!("waits_ms differ\n  expected: {expected:?}\n  actual:   {actual:?}")
        }
        Failure::Cached { expected, actual } => {
            format!("cached differs\n  expected: {expected:?}\n  actual:   {actual:?}")
        }
        Failure::NodeMissing => {
            "the fixture's node could not be loaded (see `nodectl validate`)".to_string()
        }
    }
}

/// The failing step of the first failed execution, with its Genesys error body.
fn failing_step(result: &FixtureResult) -> Option<String> {
    let execution = result.executions.iter().find(|e| !e.success())?;
    let step = execution.failed_operation()?;
    let body = execution
        .error_body()
        .map(|b| serde_json::to_string_pretty(&b).unwrap_or_default())
        .unwrap_or_default();
    // Genesys's test tool sums a failure up as `<step>. <name>: <message>`.
    Some(format!(
        "failing step {}. {}: {}\nerror body: {body}",
        step.step,
        step.name,
        step.error.as_ref().map_or("", |e| e.specific_message())
    ))
}

/// `--output json`: the machine form of the same result.
pub fn json(run: &TestRun, path_of: &dyn Fn(&FixtureResult) -> String) -> Value {
    let fixtures: Vec<Value> = run
        .results
        .iter()
        .map(|result| {
            json!({
                "node": result.fixture.node,
                "fixture": result.fixture.name,
                "env": result.fixture.env,
                "file": path_of(result),
                "passed": result.passed(),
                "failures": result.failures.iter().map(describe).collect::<Vec<_>>(),
                "executions": result.executions.iter().map(|e| json!({
                    "success": e.success(),
                    "cached": e.cached,
                    "attempts": e.attempts.len(),
                    "waits_ms": e.waits_ms,
                    "result": e.test_result(),
                })).collect::<Vec<_>>(),
                "duration_ms": result.duration.as_secs_f64() * 1000.0,
            })
        })
        .collect();
    json!({
        "passed": run.passed(),
        "failed": run.failed(),
        "untested_nodes": run.untested_nodes,
        "fixtures": fixtures,
        "duration_ms": run.duration.as_secs_f64() * 1000.0,
    })
}

/// `--junit FILE`: one test suite per node, one test case per fixture.
pub fn junit(
    run: &TestRun,
    path_of: &dyn Fn(&FixtureResult) -> String,
) -> Result<String, quick_junit::SerializeError> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("nodectl test");
    report.set_time(run.duration);
    let mut suites: Vec<(String, TestSuite)> = Vec::new();
    for result in &run.results {
        let status = if result.passed() {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let details: Vec<String> = result.failures.iter().map(describe).collect();
            status.set_message(
                details
                    .first()
                    .map(|d| d.lines().next().unwrap_or("").to_string())
                    .unwrap_or_default(),
            );
            let mut description = details.join("\n");
            if let Some(step) = failing_step(result) {
                description.push('\n');
                description.push_str(&step);
            }
            status.set_description(description);
            status
        };
        let mut case = TestCase::new(result.fixture.name.clone(), status);
        case.set_classname(result.fixture.node.clone());
        case.set_time(result.duration);
        case.add_property(quick_junit::Property::new("file", path_of(result)));
        let suite_name = result.fixture.node.clone();
        match suites.iter_mut().find(|(name, _)| *name == suite_name) {
            Some((_, suite)) => {
                suite.add_test_case(case);
            }
            None => {
                let mut suite = TestSuite::new(suite_name.clone());
                suite.add_test_case(case);
                suites.push((suite_name, suite));
            }
        }
    }
    report.add_test_suites(suites.into_iter().map(|(_, s)| s));
    report.to_string()
}

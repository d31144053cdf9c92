//! `nodectl validate` over the case projects in `tests/cases/validate/{ok,invalid}/*/` and over the
//! example project in `manifests/`. Each case directory is a project; `expected.txt` holds the exit
//! code and output a user sees.

use std::path::Path;

use crate::expect::{Failures, cases, nodectl, root};

/// Runs `nodectl validate` in the case directory (args from an optional `args` file) and compares.
fn check(case: &Path, want_exit: i32, failures: &mut Failures) {
    let extra = std::fs::read_to_string(case.join("args")).unwrap_or_default();
    let mut args = vec!["validate"];
    args.extend(extra.split_whitespace());
    let run = nodectl(case, &args);
    if run.code != want_exit {
        failures.add(
            case,
            format!(
                "exit {} instead of {want_exit}\n{}",
                run.code,
                run.transcript()
            ),
        );
    }
    if want_exit == 3 && !run.stdout.lines().any(|l| l.contains(": error: ")) {
        failures.add(case, "an invalid case must report at least one error line");
    }
    if run.stderr.contains("panicked") || run.stderr.contains("RUST_BACKTRACE") {
        failures.add(case, "nodectl panicked");
    }
    failures.expect_file(case, &case.join("expected.txt"), &run.transcript());
}

#[test]
fn valid_projects_pass() {
    let mut failures = Failures::default();
    let all = cases("validate/ok");
    for case in &all {
        check(case, 0, &mut failures);
    }
    failures.finish("validate/ok", all.len());
}

#[test]
fn invalid_projects_report_every_problem() {
    let mut failures = Failures::default();
    let all = cases("validate/invalid");
    for case in &all {
        check(case, 3, &mut failures);
    }
    failures.finish("validate/invalid", all.len());
}

#[test]
fn example_project_is_valid_without_warnings() {
    let run = nodectl(&root().join("manifests"), &["validate"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.ends_with("0 errors, 0 warnings\n"),
        "{}",
        run.transcript()
    );
    // Every node and fixture file of the example was read.
    let nodes = std::fs::read_dir(root().join("manifests/nodes"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        run.stdout
            .contains(&format!("checked {nodes} node file(s)")),
        "{}",
        run.transcript()
    );
}

#[test]
fn discovers_the_project_from_a_subdirectory() {
    let run = nodectl(&root().join("manifests/fixtures"), &["validate"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.ends_with("0 errors, 0 warnings\n"),
        "{}",
        run.transcript()
    );
}

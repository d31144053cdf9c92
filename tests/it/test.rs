//! `nodectl test` over the case projects in `tests/cases/test/*/` (an optional `args` file adds
//! arguments) and over the example project: the transcript a user sees, the JUnit file CI systems
//! read, and the JSON form.

use std::path::Path;

use crate::expect::{Failures, cases, nodectl, root};

/// Context ids differ per execution, and durations per run.
fn normalize(text: &str) -> String {
    let uuid = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .unwrap_or_else(|e| panic!("{e}"));
    let time = regex::Regex::new(r#"(time|timestamp)="[^"]*""#).unwrap_or_else(|e| panic!("{e}"));
    let text = uuid.replace_all(text, "<context-id>");
    time.replace_all(&text, "$1=\"<t>\"").into_owned()
}

fn check(case: &Path, failures: &mut Failures) {
    let extra = std::fs::read_to_string(case.join("args")).unwrap_or_default();
    // In folders that do not exist yet (`--junit target/…` in a fresh clone): nodectl makes them.
    let reports = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let junit = reports
        .path()
        .join("reports")
        .join("nested")
        .join("junit.xml");
    let junit_path = junit.to_string_lossy().into_owned();
    let mut args = vec!["test", "--junit", junit_path.as_str()];
    args.extend(extra.split_whitespace());
    let run = nodectl(case, &args);
    if run.stderr.contains("panicked") {
        failures.add(case, "nodectl panicked");
    }
    failures.expect_file(
        case,
        &case.join("expected.txt"),
        &normalize(&run.transcript()),
    );
    let xml = std::fs::read_to_string(&junit).unwrap_or_default();
    failures.expect_file(case, &case.join("junit.xml"), &normalize(&xml));
}

#[test]
fn test_reports_every_kind_of_failure() {
    let mut failures = Failures::default();
    let all = cases("test");
    for case in &all {
        check(case, &mut failures);
    }
    failures.finish("test", all.len());
}

#[test]
fn example_project_fixtures_all_pass() {
    let run = nodectl(&root().join("manifests"), &["test"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let fixtures = walk(&root().join("manifests/fixtures"));
    assert!(
        run.stdout
            .ends_with(&format!("{fixtures} passed, 0 failed\n")),
        "{}",
        run.transcript()
    );
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .map(|p| {
            if p.is_dir() {
                walk(&p)
            } else {
                usize::from(p.extension().is_some_and(|e| e == "toml"))
            }
        })
        .sum()
}

#[test]
fn json_output_matches_the_text_result() {
    let case = root().join("tests/cases/test/failures");
    let run = nodectl(&case, &["test", "--output", "json"]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    let report: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.stdout));
    let text = nodectl(&case, &["test"]);
    let summary = format!("{} passed, {} failed", report["passed"], report["failed"]);
    assert!(
        text.stdout.contains(&summary),
        "json says {summary}, text says:\n{}",
        text.stdout
    );
    let fixtures = report["fixtures"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(fixtures, walk(&case.join("fixtures")));
}

#[test]
fn node_filter_and_exit_codes() {
    let case = root().join("tests/cases/test/failures");
    let only = nodectl(&case, &["test", "Create"]);
    assert_eq!(only.code, 4, "{}", only.transcript());
    assert!(
        only.stdout.contains("1 passed, 1 failed"),
        "{}",
        only.stdout
    );
    assert!(!only.stdout.contains("Lookup /"), "{}", only.stdout);
    let unknown = nodectl(&case, &["test", "Craete"]);
    assert_eq!(unknown.code, 64, "{}", unknown.transcript());
    assert!(
        unknown.stderr.contains("did you mean `Create`?"),
        "{}",
        unknown.stderr
    );
    let invalid = nodectl(
        &root().join("tests/cases/validate/invalid/bad-method"),
        &["test"],
    );
    assert_eq!(invalid.code, 3, "{}", invalid.transcript());
}

/// `test --update` after a deliberate change (a new query parameter, a new output field) on a copy
/// of `tests/cases/test-update/project`: `--dry-run` shows the diffs and writes nothing; `--update`
/// rewrites the request URL (keeping its tera expression and comment) and the expected output,
/// leaves the outcome it must not judge to a person, and runs the fixtures again. The transcript and
/// the rewritten file are in `tests/cases/test-update/expected.txt`.
#[test]
fn update_rewrites_what_a_deliberate_change_moved() {
    let case = root().join("tests/cases/test-update");
    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    crate::scenarios::copy_dir(&case.join("project"), project.path());
    let node = project.path().join("nodes/lookup.toml");
    let text = std::fs::read_to_string(&node).unwrap_or_default();
    let changed = text
        .replace(
            "/v1/customers/${input.customerId}\"",
            "/v1/customers/${input.customerId}?verbose=true\"",
        )
        .replace(
            "translation_map = { name = \"$.customer.name\" }",
            "translation_map = { name = \"$.customer.name\", tier = \"$.customer.tier\" }",
        )
        .replace(
            "'{\"name\": ${name}}'",
            "'{\"name\": ${name}, \"tier\": ${tier}}'",
        );
    assert_ne!(text, changed, "the deliberate change must apply");
    std::fs::write(&node, changed).unwrap_or_else(|e| panic!("{e}"));
    let gold = project.path().join("fixtures/lookup/gold.toml");
    let original = std::fs::read_to_string(&gold).unwrap_or_default();

    let mut transcript = String::new();
    let dry = nodectl(project.path(), &["test", "--update", "--dry-run"]);
    transcript.push_str(&format!(
        "=== nodectl test --update --dry-run\n{}",
        dry.transcript()
    ));
    assert_eq!(
        std::fs::read_to_string(&gold).unwrap_or_default(),
        original,
        "--dry-run wrote the fixture"
    );
    // From elsewhere, with --dir: the files written are the project's.
    let parent = project.path().parent().unwrap_or(project.path());
    let dir = project
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let update = nodectl(parent, &["test", "--dir", dir.as_str(), "--update"]);
    transcript.push_str(&format!(
        "=== nodectl test --dir <project> --update (from its parent folder)\n{}",
        update.transcript().replace(&dir, "<project>")
    ));
    transcript.push_str(&format!(
        "=== fixtures/lookup/gold.toml\n{}",
        std::fs::read_to_string(&gold).unwrap_or_default()
    ));
    let after = nodectl(project.path(), &["test", "Lookup Customer"]);
    transcript.push_str(&format!("=== nodectl test\n{}", after.transcript()));
    let mut failures = Failures::default();
    failures.expect_file(&case, &case.join("expected.txt"), &normalize(&transcript));
    failures.finish("test-update", 1);
}

//! `nodectl run` and `nodectl record` against a scripted upstream on 127.0.0.1: each
//! `tests/cases/run/cases/*.toml` names the arguments, the upstream's replies (or
//! `upstream = "refused"`), optional stdin and environment, commands to run `then` (e.g. `test` on
//! the recorded fixture), files to `show`, and `secrets` that must appear nowhere in the output or
//! the files, optionally another `project` (`gc-project`: Genesys Cloud Data Actions nodes whose
//! API base and login host is the upstream); `*.expected` holds the transcripts, the files and the requests the upstream received.

use std::path::Path;

use crate::expect::{Failures, nodectl_with, root};
use crate::upstream::{Reply, Upstream, refused_base};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    args: Vec<String>,
    #[serde(default)]
    upstream: Option<String>,
    #[serde(default)]
    reply: Vec<Reply>,
    #[serde(default)]
    stdin: Option<String>,
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    then: Vec<Vec<String>>,
    #[serde(default)]
    show: Vec<String>,
    #[serde(default)]
    secrets: Vec<String>,
    /// The project folder under `tests/cases/run/` (default `project`).
    #[serde(default)]
    project: Option<String>,
}

/// Copies the run project with `@UPSTREAM@` replaced, runs the case and compares its transcript.
fn check(case_file: &Path, failures: &mut Failures) {
    let text = std::fs::read_to_string(case_file).unwrap_or_default();
    let case: Case =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", case_file.display()));
    let upstream = Upstream::start(case.reply.clone());
    let base = if case.upstream.as_deref() == Some("refused") {
        refused_base()
    } else {
        upstream.base.clone()
    };

    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    crate::expect::copy_project(
        &root()
            .join("tests/cases/run")
            .join(case.project.as_deref().unwrap_or("project")),
        project.path(),
        &base,
    );
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let envs: Vec<(String, String)> = case
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.replace("@UPSTREAM@", &base)))
        .collect();
    let run = nodectl_with(project.path(), &args, &envs, case.stdin.as_deref());

    let mut transcript = run.transcript();
    for command in &case.then {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let next = nodectl_with(project.path(), &args, &envs, None);
        transcript.push_str(&format!(
            "=== nodectl {}\n{}",
            command.join(" "),
            next.transcript()
        ));
    }
    for file in &case.show {
        let text = std::fs::read_to_string(project.path().join(file))
            .unwrap_or_else(|e| format!("(cannot read: {e})\n"));
        transcript.push_str(&format!("=== {file}\n{text}"));
    }
    for secret in &case.secrets {
        if transcript.contains(secret.as_str()) {
            failures.add(
                case_file,
                format!("secret {secret:?} leaked into the output or a written file"),
            );
        }
    }
    transcript.push_str("--- upstream received\n");
    for request in upstream.received() {
        transcript.push_str(&format!("{} {}\n", request.method, request.target));
        for (name, value) in &request.headers {
            if !["host", "content-length", "user-agent"]
                .contains(&name.to_ascii_lowercase().as_str())
            {
                transcript.push_str(&format!("  {name}: {value}\n"));
            }
        }
        if !request.body.is_empty() {
            transcript.push_str(&format!("  body: {}\n", request.body));
        }
    }
    let transcript = normalize(&transcript, &base);
    if transcript.contains("panicked") {
        failures.add(case_file, "nodectl panicked");
    }
    failures.expect_file(
        case_file,
        &case_file.with_extension("expected"),
        &transcript,
    );
}

/// Stable text: the upstream's port, the per-execution context ids and `test --output json`'s
/// durations vary from run to run.
fn normalize(text: &str, base: &str) -> String {
    let text = text.replace(base, "@UPSTREAM@");
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap_or_else(|e| panic!("{e}"));
    let text = crate::expect::normalize_context_ids(&text);
    let duration =
        regex::Regex::new(r#""duration_ms": [0-9.e-]+"#).unwrap_or_else(|e| panic!("{e}"));
    let text = duration.replace_all(&text, r#""duration_ms": <ms>"#);
    port.replace_all(&text, "127.0.0.1:<port>").into_owned()
}

#[test]
fn run_executes_nodes_against_a_live_upstream() {
    let mut failures = Failures::default();
    let cases = crate::expect::case_files("run/cases");
    for case in &cases {
        check(case, &mut failures);
    }
    failures.finish("run", cases.len());
}

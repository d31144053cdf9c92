//! `nodectl import` and `export --format genesys`, through the CLI. Data-driven cases in
//! `tests/cases/import/<case>/` (`nodectl.toml`, maybe `nodes/`, and `args`: one argument a line,
//! `@INPUTS@` standing for `tests/cases/import-inputs/`, which holds real Genesys files from public
//! repositories (see its SOURCES.md) and broken ones); `expected` is the transcript followed by every
//! file under `nodes/` afterwards. Then round trips over the embedded emulator: import → apply →
//! export into a new project → plan has no changes → export --format genesys gives the file back.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::expect::{Failures, cases, copy_project, nodectl, root};

fn inputs() -> PathBuf {
    root().join("tests/cases/import-inputs")
}

/// Every file under `dir`, as `=== path` headings and contents, sorted.
fn dump(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            dump(&path, base, out);
        } else {
            let relative = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .display()
                .to_string();
            out.push((relative, std::fs::read_to_string(&path).unwrap_or_default()));
        }
    }
}

#[test]
fn import_cases() {
    let mut failures = Failures::default();
    let all = cases("import");
    let inputs = inputs();
    let shown = inputs.display().to_string();
    for case in &all {
        let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let project = work.path().join("p");
        copy_project(case, &project, "");
        let _ = std::fs::remove_file(project.join("args"));
        let _ = std::fs::remove_file(project.join("expected"));
        let args_text = std::fs::read_to_string(case.join("args")).unwrap_or_default();
        let mut args = vec!["import".to_string()];
        args.extend(
            args_text
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| l.replace("@INPUTS@", &shown)),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = nodectl(&project, &args);
        let mut text = run
            .transcript()
            .replace(&shown, "@INPUTS@")
            .replace(&project.display().to_string(), "<project>");
        let mut files = Vec::new();
        dump(&project.join("nodes"), &project, &mut files);
        files.sort();
        for (path, content) in files {
            text.push_str(&format!("=== {path}\n{content}"));
        }
        // Nothing may land outside the project.
        if work.path().join("outside").exists() {
            failures.add(case, "a file was written outside the project");
        }
        failures.expect_file(case, &case.join("expected"), &text);
    }
    failures.finish("import", all.len());
}

/// A JSON file.
fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Import → apply → export into a new project (its nodectl.toml declares the type) → plan there
/// has no changes → export --format genesys gives back what was imported.
fn round_trip(file: &str, integration: &str, kind: &str) {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let a = work.path().join("a");
    let b = work.path().join("b");
    std::fs::create_dir_all(&a).unwrap_or_else(|e| panic!("{e}"));
    let declared = if kind == "custom-rest-actions" {
        format!("\"{integration}\"")
    } else {
        format!("{{ name = \"{integration}\", type = \"{kind}\" }}")
    };
    std::fs::write(
        a.join("nodectl.toml"),
        format!("[project]\nname = \"rt\"\ndefault_env = \"dev\"\n\n[env.dev]\nemulator = true\nintegration = {declared}\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let input = inputs().join(file);
    let input_arg = input.display().to_string();
    let steps: [&[&str]; 2] = [&["import", &input_arg], &["apply", "--auto-approve"]];
    for args in steps {
        let run = nodectl(&a, args);
        assert_eq!(run.code, 0, "{args:?}:\n{}", run.transcript());
    }
    let state = a.join(".nodectl/emulator/dev.json");
    let b_arg = b.display().to_string();
    let run = nodectl(&a, &["export", "--out", &b_arg]);
    assert_eq!(run.code, 0, "export:\n{}", run.transcript());
    let project = std::fs::read_to_string(b.join("nodectl.toml")).unwrap_or_default();
    assert!(
        project.contains(&format!("integration = {declared}")),
        "the new project declares the integration with its type:\n{project}"
    );
    std::fs::create_dir_all(b.join(".nodectl/emulator")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(&state, b.join(".nodectl/emulator/dev.json")).unwrap_or_else(|e| panic!("{e}"));
    let run = nodectl(&b, &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "plan after export:\n{}", run.transcript());
    let run = nodectl(
        &b,
        &["export", "--format", "genesys", "--output", "genesys"],
    );
    assert_eq!(
        run.code,
        0,
        "export --format genesys:\n{}",
        run.transcript()
    );
    let written: Vec<PathBuf> = std::fs::read_dir(b.join("genesys"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let exported = json(&written[0]);
    let original = json(&input);
    for key in [
        "name",
        "integrationType",
        "actionType",
        "config",
        "contract",
        "secure",
    ] {
        assert_eq!(
            exported.get(key),
            original.get(key),
            "`{key}` differs from {file}"
        );
    }
    assert!(
        written[0].to_string_lossy().ends_with(".custom.json"),
        "{written:?}"
    );
}

#[test]
fn genesys_cloud_data_action_round_trip() {
    round_trip(
        "GenesysCloudBlueprints__ani-blacklist__Disconnect-Interaction.json",
        "GC Data Actions",
        "purecloud-data-actions",
    );
}

#[test]
fn web_services_round_trip() {
    round_trip(
        "mcphee11__architect-logging__Logging-to-GC-Chat-Group.json",
        "Web Services",
        "custom-rest-actions",
    );
}

#[test]
fn export_genesys_needs_an_output_dir() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        work.path().join("nodectl.toml"),
        "[project]\nname = \"g\"\ndefault_env = \"dev\"\n\n[env.dev]\nemulator = true\nintegration = \"Web\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run = nodectl(work.path(), &["export", "--format", "genesys"]);
    assert_eq!(run.code, 64, "{}", run.transcript());
    assert!(run.stderr.contains("--output DIR"), "{}", run.stderr);
}

/// Hostile surroundings: a `nodes` directory that is a symlink out of the project refuses the import
/// as a whole, and a file over the size limit is not read.
#[cfg(unix)]
#[test]
fn import_stays_inside_the_project_and_within_the_size_limit() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let project = work.path().join("p");
    let outside = work.path().join("outside");
    std::fs::create_dir_all(&project).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(&outside).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        project.join("nodectl.toml"),
        "[project]\nname = \"h\"\ndefault_env = \"dev\"\n\n[env.dev]\nemulator = true\nintegration = \"Web\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(&outside, project.join("nodes")).unwrap_or_else(|e| panic!("{e}"));
    let input = inputs().join("mcphee11__architect-logging__Logging-to-GC-Chat-Group.json");
    let run = nodectl(&project, &["import", &input.display().to_string()]);
    assert_ne!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("symlink"), "{}", run.stderr);
    let leaked: Vec<_> = std::fs::read_dir(&outside).into_iter().flatten().collect();
    assert!(leaked.is_empty(), "written through the symlink: {leaked:?}");

    std::fs::remove_file(project.join("nodes")).unwrap_or_else(|e| panic!("{e}"));
    let big = work.path().join("big.json");
    let padding = " ".repeat(1024 * 1024);
    std::fs::write(&big, format!("{{\"name\": \"big\"{padding}}}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let run = nodectl(&project, &["import", &big.display().to_string()]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(run.stderr.contains("byte limit"), "{}", run.stderr);
    assert!(!project.join("nodes").exists(), "nothing is written");
}

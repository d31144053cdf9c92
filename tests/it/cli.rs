//! The command line itself: usage errors exit 64, help lists only working commands, `schema` and
//! `completions` produce what editors and shells consume.

use std::path::Path;

use crate::expect::{nodectl, root};

#[test]
fn usage_errors_exit_64() {
    for args in [
        &["frobnicate"][..],
        &["validate", "--bogus"],
        &[],
        &["validate", "--color", "sometimes"],
        &["completions", "powershell"],
    ] {
        let run = nodectl(&root(), args);
        assert_eq!(run.code, 64, "nodectl {args:?}\n{}", run.transcript());
    }
}

#[test]
fn help_lists_only_working_commands() {
    const WORKING: [&str; 16] = [
        "init",
        "validate",
        "test",
        "plan",
        "apply",
        "run",
        "record",
        "export",
        "import",
        "parity",
        "schema",
        "completions",
        "man",
        "emulator",
        "serve",
        "help",
    ];
    let run = nodectl(&root(), &["--help"]);
    assert_eq!(run.code, 0);
    let listed: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        listed, WORKING,
        "help lists other commands than those that work:\n{}",
        run.stdout
    );
    for command in WORKING.iter().filter(|c| **c != "help") {
        let help = nodectl(&root(), &[command, "--help"]);
        assert!(
            help.stdout.contains("Example"),
            "`{command} --help` has no example:\n{}",
            help.stdout
        );
    }
}

#[test]
fn missing_dir_is_a_usage_error_and_no_project_is_invalid() {
    let run = nodectl(&root(), &["validate", "--dir", "does/not/exist"]);
    assert_eq!(run.code, 64, "{}", run.transcript());
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run = nodectl(empty.path(), &["validate"]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(
        run.stderr.contains("no nodectl.toml"),
        "{}",
        run.transcript()
    );
}

#[test]
fn schema_is_valid_json_schema_that_accepts_the_example() {
    for kind in ["project", "node", "fixture"] {
        let run = nodectl(&root(), &["schema", kind]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        let schema: serde_json::Value =
            serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{kind} schema does not compile: {e}"));
        let files: Vec<std::path::PathBuf> = match kind {
            "project" => vec![root().join("manifests/nodectl.toml")],
            "node" => list(&root().join("manifests/nodes")),
            _ => std::fs::read_dir(root().join("manifests/fixtures"))
                .into_iter()
                .flatten()
                .flatten()
                .flat_map(|d| list(&d.path()))
                .collect(),
        };
        assert!(!files.is_empty());
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let value: serde_json::Value =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{} rejected by the {kind} schema: {errors:?}",
                file.display()
            );
        }
    }
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = out.path().join("schemas");
    let run = nodectl(
        &root(),
        &["schema", "--out-dir", dir.to_str().unwrap_or_default()],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    for name in [
        "nodectl.schema.json",
        "node.schema.json",
        "fixture.schema.json",
    ] {
        assert!(dir.join(name).is_file(), "{name} not written");
    }
}

fn list(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef nodectl"),
        ("fish", "complete -c nodectl"),
    ] {
        let run = nodectl(&root(), &["completions", shell]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        assert!(
            run.stdout.contains(marker),
            "{shell} script lacks `{marker}`"
        );
        assert!(
            run.stdout.contains("validate"),
            "{shell} script does not complete subcommands"
        );
    }
}

#[test]
fn colour_follows_color_flag_and_no_color() {
    let case = root().join("tests/cases/validate/invalid/bad-method");
    let plain = nodectl(&case, &["validate"]);
    assert!(
        !plain.stdout.contains('\x1b'),
        "NO_COLOR output has escapes:\n{}",
        plain.stdout
    );
    let forced = nodectl(&case, &["--color", "always", "validate"]);
    assert!(
        forced.stdout.contains("\x1b[1;31merror:"),
        "--color always has no red error:\n{}",
        forced.stdout
    );
    assert_eq!(forced.code, 3);
    let never = nodectl(&case, &["validate", "--color", "never"]);
    assert!(!never.stdout.contains('\x1b'));
}

#[test]
fn verbose_json_logs_go_to_stderr_only() {
    let quiet = nodectl(&root().join("manifests"), &["validate"]);
    assert!(
        quiet.stderr.is_empty(),
        "logs without -v:\n{}",
        quiet.stderr
    );
    let run = nodectl(
        &root().join("manifests"),
        &["-vv", "--log-format", "json", "validate"],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.ends_with("0 errors, 0 warnings\n"),
        "logs leaked into stdout:\n{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("project loaded"),
        "-vv logged nothing:\n{}",
        run.stderr
    );
    for line in run.stderr.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not a JSON log line: {line}"
        );
    }
}

/// `nodectl man --out-dir DIR` writes a page per command (into folders it makes), generated from
/// the same definitions as `--help`: a flag added to a command is in its page.
#[test]
fn man_pages_are_written_for_every_command() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("share/man/man1");
    let out_text = out.to_string_lossy().into_owned();
    let run = nodectl(&root(), &["man", "--out-dir", out_text.as_str()]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let page = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    assert!(
        page("nodectl.1").starts_with(".ie"),
        "{}",
        page("nodectl.1")
    );
    assert!(page("nodectl.1").contains(".TH nodectl 1"));
    let plan = page("nodectl-plan.1");
    assert!(plan.contains(".TH nodectl-plan 1"), "{plan}");
    assert!(plan.contains("skip\\-flow\\-impact"), "{plan}");
    let pages = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
    assert_eq!(pages, 16, "nodectl.1 and one page per command (15)");
    assert!(
        run.stdout.contains("wrote 16 manual pages"),
        "{}",
        run.stdout
    );
}

/// `nodectl init` makes a project that `validate`, `test` and `apply` pass right after (flags, no
/// terminal), with the files the newcomer needs; a second `init` there writes nothing.
#[test]
fn init_makes_a_project_that_validates_tests_and_applies() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run = |cwd: &Path, args: &[&str]| crate::expect::nodectl_with(cwd, args, &[], None);
    let made = run(
        dir.path(),
        &[
            "init",
            "my-actions",
            "--region",
            "eu-west-1",
            "--ci",
            "github",
        ],
    );
    assert_eq!(made.code, 0, "{}", made.transcript());
    let project = dir.path().join("my-actions");
    for file in [
        "nodectl.toml",
        "nodes/lookup-customer.toml",
        "fixtures/lookup-customer/found.toml",
        "fixtures/lookup-customer/unknown.toml",
        ".gitignore",
        ".taplo.toml",
        ".schemas/node.schema.json",
        ".github/workflows/nodectl.yml",
    ] {
        assert!(
            project.join(file).is_file(),
            "{file} missing:\n{}",
            made.stdout
        );
    }
    let config = std::fs::read_to_string(project.join("nodectl.toml")).unwrap_or_default();
    assert!(
        config.contains("name = \"my-actions\"") && config.contains("region = \"eu-west-1\""),
        "{config}"
    );
    let validate = run(&project, &["validate"]);
    assert_eq!(validate.code, 0, "{}", validate.transcript());
    assert!(
        validate.stdout.contains("0 errors, 0 warnings"),
        "{}",
        validate.stdout
    );
    let test = run(&project, &["test"]);
    assert_eq!(test.code, 0, "{}", test.transcript());
    assert!(
        test.stdout.contains("2 passed, 0 failed"),
        "{}",
        test.stdout
    );
    let apply = run(&project, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    assert!(
        apply.stdout.contains("Apply: 1 applied"),
        "{}",
        apply.stdout
    );

    let again = run(dir.path(), &["init", "my-actions"]);
    assert_eq!(again.code, 5, "{}", again.transcript());
    assert!(
        again.stderr.contains("already holds a nodectl.toml"),
        "{}",
        again.stderr
    );

    let gitlab = run(
        dir.path(),
        &["init", "other", "--ci", "gitlab", "--integration", "CRM"],
    );
    assert_eq!(gitlab.code, 0, "{}", gitlab.transcript());
    assert!(dir.path().join("other/.gitlab-ci.yml").is_file());
    let other = std::fs::read_to_string(dir.path().join("other/nodectl.toml")).unwrap_or_default();
    assert!(
        !other.contains("[env.prod]") && other.contains("integration = \"CRM\""),
        "{other}"
    );
    assert_eq!(run(&dir.path().join("other"), &["test"]).code, 0);
}

/// A node named in part gets the name it begins: `test "Lookup Customer"` in a project whose node is
/// `Lookup Customer by Phone`.
#[test]
fn a_node_named_in_part_gets_a_did_you_mean() {
    let run = nodectl(&root(), &["test", "--dir", "manifests", "Lookup Customer"]);
    assert_eq!(run.code, 64, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("no node named `Lookup Customer`; did you mean `Lookup Customer by Phone`?"),
        "{}",
        run.stderr
    );
}

/// On a terminal `init` asks for what the flags did not give (here under a pseudo-terminal made by
/// util-linux's `script`, answering from stdin): the integration, the region and the CI system.
#[test]
fn init_asks_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut child = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{} init demo", env!("CARGO_BIN_EXE_nodectl")),
            "/dev/null",
        ])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run script(1) for a pseudo-terminal: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(b"CRM Actions\neu-west-1\ngitlab\n");
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Integration of your actions [Web Services]:"),
        "{text}"
    );
    let config = std::fs::read_to_string(dir.path().join("demo/nodectl.toml")).unwrap_or_default();
    assert!(
        config.contains("integration = \"CRM Actions\"")
            && config.contains("region = \"eu-west-1\""),
        "{config}"
    );
    assert!(dir.path().join("demo/.gitlab-ci.yml").is_file(), "{text}");
}

//! `nodectl test`: the dry-run of every fixture (or those of the named nodes), offline.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Exit, Output, ProjectArgs};
use crate::fixture::{self, FixtureResult};
use crate::manifest::{EnvScope, paths};
use crate::report;

#[derive(Debug, Args)]
#[command(
    about = "Dry-run every node against its recorded fixtures (offline)",
    after_help = "Each fixture runs its node with the fixture's input over its recorded HTTP exchanges, on a virtual clock, and is compared with its [expect]. Exit 0 when all pass, 4 when any fails, 3 when files are invalid.\n\n--update, after a deliberate change, rewrites the failing fixtures' request expectations and expected output from the actual run (shown as diffs; comments and every other key kept), then runs them again; --dry-run shows what it would change.\n\nExamples:\n  nodectl test\n  nodectl test \"Lookup Customer\" --junit target/nodectl-junit.xml\n  nodectl test --env prod --output json\n  nodectl test \"Lookup Customer\" --update --dry-run"
)]
pub struct TestArgs {
    /// Only the fixtures of these nodes.
    #[arg(value_name = "NODE")]
    nodes: Vec<String>,
    /// Also write JUnit XML (one testcase per fixture, grouped per node) to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
    /// Rewrite the failing fixtures' request expectations and expected output from the actual
    /// run (after a deliberate change), then run them again.
    #[arg(long)]
    update: bool,
    /// With --update: show the changes without writing them.
    #[arg(long, requires = "update")]
    dry_run: bool,
    #[command(flatten)]
    project: ProjectArgs,
}

/// `--output` of the commands whose results are a text report or JSON (`test`, `parity`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum Format {
    Text,
    Json,
}

pub fn run(args: TestArgs, output: &mut Output) -> Exit {
    let scope = (args.project.dir.clone(), args.project.env.clone());
    let project =
        match super::load_project(args.project.dir, EnvScope::One(args.project.env), output) {
            Ok(project) => project,
            Err(exit) => return exit,
        };
    if let Err(exit) = super::check_node_names(&project, &args.nodes, output) {
        return exit;
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let run = match fixture::run_all(&project, &args.nodes, workers) {
        Ok(run) => run,
        Err(error) => {
            output.error(format!("cannot start the dry-run: {error}"));
            return Exit::Failure;
        }
    };
    let path_of = shown_path(&project);
    match args.output {
        Format::Text => output.line(report::test::text(&run, &path_of).trim_end()),
        Format::Json => output.line(
            serde_json::to_string_pretty(&report::test::json(&run, &path_of)).unwrap_or_default(),
        ),
    }
    if let Some(file) = &args.junit {
        // The report may land in the checkout of a pull request: never through its symlinks.
        let written = report::test::junit(&run, &path_of)
            .map_err(|e| e.to_string())
            .and_then(|xml| {
                paths::write_inside(&project.config.dir, file, xml.as_bytes())
                    .map_err(|e| e.to_string())
            });
        if let Err(error) = written {
            output.error(format!(
                "cannot write JUnit report `{}`: {error}",
                file.display()
            ));
            return Exit::Failure;
        }
    }
    if run.failed() > 0 && args.update {
        return update(&project, &run, scope, &args.nodes, args.dry_run, output);
    }
    if run.failed() > 0 {
        Exit::DryRunFailed
    } else {
        Exit::Success
    }
}

/// `--update`: each failing fixture's changes as a diff, written unless `dry_run`; then the
/// updated fixtures run again, and that run decides the exit code.
fn update(
    project: &crate::manifest::Project,
    run: &fixture::TestRun,
    (dir, env): (Option<PathBuf>, Option<String>),
    nodes: &[String],
    dry_run: bool,
    output: &mut Output,
) -> Exit {
    let (updates, problems) = crate::ops::update::updates(project, run);
    let verb = if dry_run { "would update" } else { "updated" };
    output.line("");
    for updated in &updates {
        match &updated.update.text {
            Some(text) => {
                output.line(format!(
                    "{verb} {} ({}): {}",
                    updated.path.display(),
                    updated.fixture,
                    updated.update.changed.join(", ")
                ));
                let diff = report::plan::unified(&updated.before, text);
                output.line(diff.trim_end());
            }
            None => output.line(format!(
                "not updated {} ({}): nothing --update rewrites",
                updated.path.display(),
                updated.fixture
            )),
        }
        for failure in &updated.update.left {
            output.line(format!(
                "  left to fix by hand: {}",
                report::test::describe(failure).replace('\n', "\n  ")
            ));
        }
    }
    for (path, problem) in &problems {
        output.error(format!("{}: {problem}", path.display()));
    }
    if dry_run {
        return Exit::DryRunFailed;
    }
    let written = match crate::ops::update::write(project, &updates) {
        Ok(written) => written,
        Err(error) => {
            output.error(error.to_string());
            return Exit::of_error(&error);
        }
    };
    output.line(format!(
        "{written} fixture file(s) updated; running them again"
    ));
    // The files changed on disk: load them again, as `nodectl test` would.
    let project = match super::load_project(dir, EnvScope::One(env), output) {
        Ok(project) => project,
        Err(exit) => return exit,
    };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let again = match fixture::run_all(&project, nodes, workers) {
        Ok(again) => again,
        Err(error) => {
            output.error(format!("cannot run the fixtures again: {error}"));
            return Exit::Failure;
        }
    };
    let path_of = shown_path(&project);
    output.line(report::test::text(&again, &path_of).trim_end());
    if again.failed() > 0 {
        Exit::DryRunFailed
    } else {
        Exit::Success
    }
}

/// A fixture's file as the report shows it (relative to where nodectl runs).
fn shown_path(project: &crate::manifest::Project) -> impl Fn(&FixtureResult) -> String + '_ {
    move |result| {
        fixture::fixture_path(project, &result.fixture)
            .display()
            .to_string()
    }
}

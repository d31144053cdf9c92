//! `nodectl record`: run a node live and write a fixture that replays green as written, with no
//! secret in it.

use std::path::PathBuf;

use clap::Args;

use super::live::{LiveArgs, prepare};
use super::{Exit, Output};
use crate::fixture::record;
use crate::manifest::paths;
use crate::runtime::Execution;
use crate::runtime::error::kind_name;

#[derive(Debug, Args)]
#[command(
    about = "Run a node live and record the execution as a fixture",
    after_help = "The fixture holds placeholders (<redacted:credentials.NAME>, and <redacted:input.NAME> for a secure node's inputs) instead of secrets; credential values are removed from the recorded responses and Set-Cookie is dropped. --out is relative to the project directory.\n\nExamples:\n  nodectl record \"Lookup Customer\" --input '{\"customerId\": \"c-42\"}' --out fixtures/lookup-customer/gold.toml\n  nodectl record \"Get Payment Status\" --input @in.json --credentials - --out fixtures/payments/ok.toml --force < creds.json"
)]
pub struct RecordArgs {
    #[command(flatten)]
    live: LiveArgs,
    /// The fixture file to write (relative to the project directory).
    #[arg(long, value_name = "FIXTURE")]
    out: PathBuf,
    /// Overwrite an existing fixture.
    #[arg(long)]
    force: bool,
}

fn outcome(execution: &Execution) -> String {
    match &execution.result {
        Ok(_) => "success".to_string(),
        Err(error) => kind_name(error.kind).to_string(),
    }
}

pub fn run(args: RecordArgs, output: &mut Output) -> Exit {
    let prepared = match prepare(args.live, output) {
        Ok(prepared) => prepared,
        Err(exit) => return exit,
    };
    let project = &prepared.project;
    let target = project.config.dir.join(&args.out);
    if target.exists() && !args.force {
        output.error(format!(
            "`{}` exists; refusing to overwrite it without --force",
            args.out.display()
        ));
        return Exit::Refused;
    }
    // Before the live run, so that a bad --out does not throw a recording away; a directory on the
    // way that leads out of the project is refused (the fixture belongs to the project).
    let target = match paths::check_write_target(&project.config.dir, &target) {
        Ok(target) => target,
        Err(reason) => {
            output.error(format!(
                "--out {}: it {reason}; nothing recorded",
                args.out.display()
            ));
            return Exit::Failure;
        }
    };
    if let Some(parent) = target.parent()
        && let Err(error) = std::fs::create_dir_all(parent)
    {
        let shown = args.out.parent().unwrap_or(&args.out).display();
        let why = if parent.is_file() {
            "it is a file".to_string()
        } else {
            error.to_string()
        };
        output.error(format!(
            "--out {}: cannot create its directory `{shown}`: {why}",
            args.out.display()
        ));
        return Exit::Failure;
    }
    let recording = record::record(
        &prepared.node,
        &prepared.input,
        &prepared.context,
        prepared.transport,
        &prepared.env_name,
    );
    let recorded = match super::block_on(recording, output) {
        Some(Ok(recorded)) => recorded,
        Some(Err(error)) => {
            output.error(error.to_string());
            return Exit::Failure;
        }
        None => return Exit::Failure,
    };
    if let Err(error) = paths::write_inside(&project.config.dir, &target, recorded.toml.as_bytes())
    {
        output.error(format!("cannot write `{}`: {error}", args.out.display()));
        return Exit::Failure;
    }
    output.line(format!(
        "recorded {}: {} attempt(s), {}",
        args.out.display(),
        recorded.live.attempts.len(),
        outcome(&recorded.live)
    ));
    if outcome(&recorded.live) != outcome(&recorded.replay) {
        output.eline(format!(
            "warning: the replay with placeholders ends in {} while the live run ended in {}; check the fixture's [expect]",
            outcome(&recorded.replay),
            outcome(&recorded.live)
        ));
    }
    if !args.out.starts_with(&project.config.fixtures_dir) {
        output.eline(format!(
            "warning: `{}` is outside {}/, so `nodectl test` will not run it",
            args.out.display(),
            project.config.fixtures_dir.display()
        ));
    }
    Exit::Success
}

//! `nodectl record`: run a node live and write a fixture that replays green as written, with no
//! secret in it.

use std::path::PathBuf;

use clap::Args;

use super::live::{LiveArgs, prepare};
use super::{Exit, Output};
use crate::{ops, report};

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
    /// Write the fixture even when the upstream could not be reached (connection, DNS, TLS,
    /// timeout); without it such a run writes nothing and exits 1.
    #[arg(long)]
    allow_failure: bool,
}

pub fn run(args: RecordArgs, output: &mut Output) -> Exit {
    let prepared = match prepare(args.live, output) {
        Ok(prepared) => prepared,
        Err(exit) => return exit,
    };
    let report = match super::block_on(
        ops::record::run(prepared, &args.out, args.force, args.allow_failure),
        output,
    ) {
        Some(Ok(report)) => report,
        Some(Err(error)) => {
            output.error(error.to_string());
            return Exit::of_error(&error);
        }
        None => return Exit::Failure,
    };
    output.line(report::record::summary(&report));
    for warning in report::record::warnings(&report) {
        output.eline(warning);
    }
    Exit::Success
}

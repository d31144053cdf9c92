//! `nodectl run`: execute one node for real against its upstream and print the output (or the
//! Genesys-shaped error body) as JSON; `--trace` prints the whole `TestExecutionResult` instead. A
//! node reading `${authResponse.X}` runs its integration's custom authentication action first.

use clap::Args;

use super::live::{LiveArgs, prepare};
use super::{Exit, Output};
use crate::runtime::{Runtime, SystemClock};

#[derive(Debug, Args)]
#[command(
    about = "Execute one node for real and print its output as JSON",
    after_help = "Credentials come from --credentials @FILE or - (stdin), else $NODECTL_CREDENTIALS_<ENV>, else the env's credentials_file (default .nodectl/credentials/<env>.json). Exit 0 on success, 1 when the execution fails.\n\nExamples:\n  nodectl run \"Lookup Customer\" --input '{\"customerId\": \"c-42\"}'\n  nodectl run \"Get Payment Status\" --input @input.json --credentials @creds.json --env prod --trace"
)]
pub struct RunArgs {
    #[command(flatten)]
    live: LiveArgs,
    /// Print the step trace (Genesys's TestExecutionResult) instead of only the output.
    #[arg(long)]
    trace: bool,
    /// Print the output in Architect's flattened form (Genesys's `flatten=true`: nested keys
    /// joined with `.`, arrays of objects as one array per property).
    #[arg(long)]
    flatten: bool,
}

pub fn run(args: RunArgs, output: &mut Output) -> Exit {
    let prepared = match prepare(args.live, output) {
        Ok(prepared) => prepared,
        Err(exit) => return exit,
    };
    let runtime = Runtime::new(prepared.transport, SystemClock);
    let Some(mut execution) = super::block_on(
        runtime.execute(&prepared.node, &prepared.input, &prepared.context),
        output,
    ) else {
        return Exit::Failure;
    };
    if args.flatten {
        execution.flatten_output();
    }
    let mut printed = if args.trace {
        execution.test_result()
    } else {
        match &execution.result {
            Ok(value) => value.clone(),
            Err(error) => error.genesys_body(&execution.context_id),
        }
    };
    // The output is the product, but what reaches a terminal must not hold a credential (an
    // upstream may echo one) or, for a secure node, an input: both are redacted here too.
    execution.redactor.value(&mut printed);
    output.line(serde_json::to_string_pretty(&printed).unwrap_or_default());
    if execution.success() {
        Exit::Success
    } else {
        Exit::Failure
    }
}

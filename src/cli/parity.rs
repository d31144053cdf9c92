//! `nodectl parity`: has the org test each opted-in node's action with its fixtures' inputs and
//! compares Genesys's trace with nodectl's dry-run, step by step (docs/runtime.md, "Parity with Genesys"). Exit 0
//! when all agree, 1 when a step differs or the org could not be asked.

use clap::Args;

use super::test::Format;
use super::{Exit, Output, ProjectArgs};
use crate::ops::parity::{self, ParitySettings};
use crate::report;

#[derive(Debug, Args)]
#[command(
    about = "Compare Genesys's own test of each action with nodectl's dry-run, step by step",
    after_help = "Only nodes with `parity = true` under `[local]` are tested: the org's test endpoint executes the real request. Each fixture's input goes to the action's test endpoint (its draft's with --draft); Genesys's resolved URL, headers and body (steps 5-7), translation (9) and output (10) are compared with nodectl's dry-run of the fixture, and every other step by outcome. Values that may hold a secret are compared but never shown. Exit 0 when all agree, 1 when any step differs or the org cannot be asked, 64 when no node opts in.\n\nExamples:\n  nodectl parity --env prod\n  nodectl parity \"Lookup Customer\" --env prod --draft --output json"
)]
pub struct ParityArgs {
    /// Only these nodes (each must opt in).
    #[arg(value_name = "NODE")]
    nodes: Vec<String>,
    /// Test the actions' drafts instead of their published versions.
    #[arg(long)]
    draft: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
    #[command(flatten)]
    project: ProjectArgs,
}

pub fn run(args: ParityArgs, output: &mut Output) -> Exit {
    let (project, env) = match super::load_env(&args.project, output) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let settings = ParitySettings {
        nodes: args.nodes,
        draft: args.draft,
    };
    let report = match super::block_on(parity::run(&project, &env.name, &settings), output) {
        Some(Ok(report)) => report,
        Some(Err(error)) => {
            output.error(error.to_string());
            return Exit::of_error(&error);
        }
        None => return Exit::Failure,
    };
    match args.output {
        Format::Text => output.line(report::parity::text(&report)),
        Format::Json => output
            .line(serde_json::to_string_pretty(&report::parity::json(&report)).unwrap_or_default()),
    }
    if report.agrees() {
        Exit::Success
    } else {
        Exit::Failure
    }
}

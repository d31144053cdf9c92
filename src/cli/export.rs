//! `nodectl export`: adopt an org's existing data actions as manifests (the next `plan` is empty).

use std::path::PathBuf;

use clap::Args;

use super::{Exit, Output, ProjectArgs};
use crate::model::IntegrationRef;
use crate::ops::{self, export::ExportFormat, export::ExportRequest};
use crate::report;

#[derive(Debug, Args)]
#[command(
    about = "Write the org's existing data actions as node manifests",
    after_help = "Reads every action of the env's integrations (or those named) completely and writes nodes/<slug>.toml for each — templates verbatim, schemas as TOML tables or as schemas/*.json when TOML cannot hold them — so that the next plan is empty; actions of every integration type (function data actions: their configuration only). With --format genesys --output DIR, writes each action in the Genesys UI's export format instead (DIR/<slug>.custom.json). Refuses to overwrite files without --force. With --out DIR and no nodectl.toml there, writes one with the env.\n\nExamples:\n  nodectl export --env prod\n  nodectl export --env prod --integration \"ACME Web Services\" --out ../acme-actions --fixtures"
)]
pub struct ExportArgs {
    #[command(flatten)]
    project: ProjectArgs,
    /// An integration to export (name, or id:<uuid>); default: the env's.
    #[arg(long = "integration", value_name = "NAME|id:UUID")]
    integrations: Vec<String>,
    /// Where to write: the project directory for manifests (default: this project); for
    /// `--format genesys`, the directory the `.custom.json` files go into (required).
    #[arg(long, visible_alias = "output", value_name = "DIR")]
    out: Option<PathBuf>,
    /// `manifests` (node manifests in a project) or `genesys` (Genesys's UI export format, one
    /// <slug>.custom.json per action, which the Genesys UI imports).
    #[arg(long, value_enum, default_value_t = Format::Manifests)]
    format: Format,
    /// Overwrite existing manifests.
    #[arg(long)]
    force: bool,
    /// Also write a fixture skeleton per node (fixtures/<slug>/example.toml).
    #[arg(long)]
    fixtures: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Manifests,
    Genesys,
}

pub fn run(args: ExportArgs, output: &mut Output) -> Exit {
    let (project, env) = match super::load_env(&args.project, output) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let request = ExportRequest {
        integrations: args
            .integrations
            .iter()
            .map(|i| IntegrationRef::parse(i))
            .collect(),
        out: args.out,
        force: args.force,
        fixtures: args.fixtures,
        format: match args.format {
            Format::Manifests => ExportFormat::Manifests,
            Format::Genesys => ExportFormat::Genesys,
        },
    };
    // Reading a large org takes a while at the platform's rate: show that it is alive.
    let spinner = output.progress.then(|| {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_message("reading the org's actions…");
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        spinner
    });
    let result = super::block_on(ops::export::run(&project, &env, &request), output);
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let report = match result {
        Some(Ok(report)) => report,
        Some(Err(error)) => {
            output.error(error.to_string());
            return Exit::of_error(&error);
        }
        None => return Exit::Failure,
    };
    for note in report::export::notes(&report) {
        output.eline(note);
    }
    output.line(report::export::summary(&report));
    Exit::Success
}

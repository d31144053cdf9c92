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
    after_help = "Reads every action of the env's integrations (or those named) completely and writes nodes/<slug>.toml for each — templates verbatim, schemas as TOML tables or as schemas/*.json when TOML cannot hold them — so that the next plan is empty; actions of every integration type (function data actions: their configuration only). With --format genesys --output DIR, writes each action in the Genesys UI's export format instead (DIR/<slug>.custom.json). Refuses to overwrite files without --force. With --out DIR and no nodectl.toml there, writes one with the env. Outside any project, --out DIR with --region (or --api-base) and --integration starts a project in DIR from those flags.\n\nExamples:\n  nodectl export --env prod\n  nodectl export --env prod --integration \"ACME Web Services\" --out ../acme-actions --fixtures\n  nodectl export --out acme-actions --region eu-west-1 --integration \"ACME Web Services\""
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
    /// Outside any project: the org's region, to start a project in --out from (with --integration).
    #[arg(long, value_name = "REGION", conflicts_with = "api_base")]
    region: Option<String>,
    /// Outside any project: the org's API base, to start a project in --out from.
    #[arg(long, value_name = "URL")]
    api_base: Option<String>,
}

/// Outside any project, `export --out DIR --region R|--api-base URL --integration NAME` starts one in
/// DIR (its `nodectl.toml` from the flags, env `--env` or `prod`) and exports into it.
fn start_project_if_none(args: &mut ExportArgs, output: &mut Output) -> Result<(), Exit> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let in_a_project = args.project.dir.is_some()
        || crate::manifest::project::discover(&cwd).is_some()
        || !matches!(args.format, Format::Manifests);
    let Some(out) = args.out.clone().filter(|_| !in_a_project) else {
        return Ok(());
    };
    if out.join("nodectl.toml").exists() {
        args.project.dir = Some(out);
        args.out = None;
        return Ok(());
    }
    if args.region.is_none() && args.api_base.is_none() {
        output.error(format!(
            "no nodectl.toml here or above: to start a project in `{}`, name the org with --region (or --api-base) and its integration with --integration",
            out.display()
        ));
        return Err(Exit::Usage);
    }
    if args.integrations.is_empty() {
        output.error("name the integration(s) to export with --integration NAME");
        return Err(Exit::Usage);
    }
    let env = args
        .project
        .env
        .clone()
        .unwrap_or_else(|| "prod".to_string());
    if env.is_empty()
        || !env
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        output.error(format!(
            "--env `{env}`: an env name is letters, digits, `_` and `-`"
        ));
        return Err(Exit::Usage);
    }
    let name = crate::ops::init::project_name_of(&out);
    let text = crate::ops::init::export_project_file(
        &name,
        &env,
        args.region.as_deref(),
        args.api_base.as_deref(),
        &args.integrations,
    );
    let written = std::fs::create_dir_all(&out)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            crate::manifest::paths::write_inside(&out, &out.join("nodectl.toml"), text.as_bytes())
                .map_err(|e| e.to_string())
        });
    if let Err(error) = written {
        output.error(format!(
            "cannot start a project in `{}`: {error}",
            out.display()
        ));
        return Err(Exit::Failure);
    }
    output.eline(format!(
        "started a project in {} (env `{env}`); exporting into it",
        out.display()
    ));
    args.project.dir = Some(out);
    args.project.env = Some(env);
    args.out = None;
    Ok(())
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Manifests,
    Genesys,
}

pub fn run(mut args: ExportArgs, output: &mut Output) -> Exit {
    if let Err(exit) = start_project_if_none(&mut args, output) {
        return exit;
    }
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

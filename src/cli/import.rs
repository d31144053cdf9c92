//! `nodectl import FILE…`: Genesys's own action files (the UI's export format, the API's action JSON)
//! as node manifests of the project.

use std::path::PathBuf;

use clap::Args;

use super::{Exit, Output, ProjectArgs};
use crate::model::IntegrationRef;
use crate::ops::{self, import::ImportError, import::ImportRequest};
use crate::report;

#[derive(Debug, Args)]
#[command(
    about = "Turn Genesys's action files (UI export, API JSON) into node manifests",
    after_help = "Reads each FILE — the Genesys UI's export format (*.custom.json: name, integrationType, actionType, config, contract, secure) or the API's action JSON (name, category, integrationId, config, contract, secure) — and writes nodes/<slug>.toml for it, as export does. The integration is the env's managed integration of the file's integrationType (declare types in nodectl.toml: integrations = [{ name = \"…\", type = \"purecloud-data-actions\" }]); an API file without type gets the type its URL implies (a /api/… path: purecloud-data-actions; an absolute URL: custom-rest-actions). --integration NAME overrides both. Writes nothing when any file has a problem (all are reported), and refuses to overwrite files without --force. Custom-auth and static actions are refused.\n\nExamples:\n  nodectl import exports/*.custom.json\n  nodectl import --env dev --integration \"Genesys Cloud Data Actions\" action.json"
)]
pub struct ImportArgs {
    #[command(flatten)]
    project: ProjectArgs,
    /// The files to import (JSON, at most 1 MiB each).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// The integration every file goes into (name, or id:<uuid>; one the env manages).
    #[arg(long, value_name = "NAME|id:UUID")]
    integration: Option<String>,
    /// Overwrite existing manifests.
    #[arg(long)]
    force: bool,
}

pub fn run(args: ImportArgs, output: &mut Output) -> Exit {
    let (project, env) = match super::load_env(&args.project, output) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let request = ImportRequest {
        files: args.files,
        integration: args.integration.as_deref().map(IntegrationRef::parse),
        force: args.force,
    };
    match ops::import::run(&project, &env, &request) {
        Ok(report) => {
            for note in report::import::notes(&report) {
                output.eline(note);
            }
            output.line(report::import::summary(&report));
            Exit::Success
        }
        Err(ImportError::Invalid(problems)) => {
            for line in report::import::problems(&problems) {
                output.error(line);
            }
            Exit::Invalid
        }
        Err(ImportError::Ops(error)) => {
            output.error(error.to_string());
            Exit::of_error(&error)
        }
    }
}

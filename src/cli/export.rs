//! `nodectl export`: adopt an org's existing data actions as manifests (the next `plan` is empty).

use std::path::{Path, PathBuf};

use clap::Args;

use super::{Exit, Output, ProjectArgs};
use crate::export;
use crate::manifest::{EnvScope, paths};
use crate::model::{IntegrationRef, Target};
use crate::workflow;

#[derive(Debug, Args)]
#[command(
    about = "Write the org's existing data actions as node manifests",
    after_help = "Reads every action of the env's integrations (or those named) completely and writes nodes/<slug>.toml for each — templates verbatim, schemas as TOML tables or as schemas/*.json when TOML cannot hold them — so that the next plan is empty. Refuses to overwrite files without --force. With --out DIR and no nodectl.toml there, writes one with the env.\n\nExamples:\n  nodectl export --env prod\n  nodectl export --env prod --integration \"ACME Web Services\" --out ../acme-actions --fixtures"
)]
pub struct ExportArgs {
    #[command(flatten)]
    project: ProjectArgs,
    /// An integration to export (name, or id:<uuid>); default: the env's.
    #[arg(long = "integration", value_name = "NAME|id:UUID")]
    integrations: Vec<String>,
    /// The project directory to write into (default: this project).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Overwrite existing manifests.
    #[arg(long)]
    force: bool,
    /// Also write a fixture skeleton per node (fixtures/<slug>/example.toml).
    #[arg(long)]
    fixtures: bool,
}

/// `nodectl.toml` for a new project holding the env's connection and the exported integrations.
fn project_file(name: &str, env: &crate::model::Env, integrations: &[IntegrationRef]) -> String {
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let target = match &env.target {
        Target::Emulator => "emulator = true".to_string(),
        Target::Region { name, .. } => format!("region = {}", quote(name)),
        Target::ApiBase(base) => format!("api_base = {}", quote(base)),
    };
    let names: Vec<String> = integrations.iter().map(|i| quote(&i.to_string())).collect();
    let integration = match names.as_slice() {
        [one] => format!("integration = {one}"),
        many => format!("integrations = [{}]", many.join(", ")),
    };
    format!(
        "# Written by `nodectl export`.\n[project]\nname = {}\ndefault_env = {}\n\n[env.{}]\n{target}\n{integration}\nmax_rps = {}\nclient_id_env = {}\nclient_secret_env = {}\n",
        quote(name),
        quote(&env.name),
        env.name,
        env.max_rps,
        quote(&env.client_id_env),
        quote(&env.client_secret_env)
    )
}

pub fn run(args: ExportArgs, output: &mut Output) -> Exit {
    let project = match super::load_project(
        args.project.dir.clone(),
        EnvScope::One(args.project.env.clone()),
        output,
    ) {
        Ok(project) => project,
        Err(exit) => return exit,
    };
    let Some(env) = project
        .checked_envs
        .first()
        .and_then(|e| project.config.envs.get(e))
        .cloned()
    else {
        output.error("no env selected: pass --env or set default_env in nodectl.toml");
        return Exit::Usage;
    };
    let wanted: Vec<IntegrationRef> = if args.integrations.is_empty() {
        env.integrations.clone()
    } else {
        args.integrations
            .iter()
            .map(|i| IntegrationRef::parse(i))
            .collect()
    };
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| project.config.dir.clone());
    let new_project = !out_dir.join("nodectl.toml").is_file();
    if !new_project
        && out_dir == project.config.dir
        && let Some(stranger) = wanted.iter().find(|i| !env.integrations.contains(i))
    {
        output.error(format!("env `{}` does not manage integration `{stranger}`: add it to the env's integrations first (or export into a new project with --out)", env.name));
        return Exit::Usage;
    }
    let several = wanted.len() > 1 || (!new_project && env.integrations.len() > 1);

    // Reading a large org takes a while at the platform's rate: show that it is alive.
    let spinner = output.progress.then(|| {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_message("reading the org's actions…");
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        spinner
    });
    let work = async {
        let connection = workflow::connect(&project, &env, None, None).await?;
        let snapshot = connection.remote.snapshot(&wanted).await;
        connection.close().await?;
        Ok::<_, workflow::WorkflowError>(snapshot?)
    };
    let snapshot = match super::block_on(work, output) {
        Some(Ok(snapshot)) => snapshot,
        Some(Err(error)) => {
            output.error(error.to_string());
            return Exit::Failure;
        }
        None => return Exit::Failure,
    };
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let mut notes = Vec::new();
    if snapshot.statics > 0 {
        notes.push(format!(
            "skipped {} built-in static action(s): Genesys owns them",
            snapshot.statics
        ));
    }
    let foreign: Vec<&str> = snapshot
        .integrations
        .iter()
        .filter(|i| {
            i.integration_type
                .as_deref()
                .is_some_and(|t| t != crate::remote::CUSTOM_REST_ACTIONS)
        })
        .map(|i| i.id.as_str())
        .collect();
    for integration in snapshot
        .integrations
        .iter()
        .filter(|i| foreign.contains(&i.id.as_str()))
    {
        notes.push(format!(
            "skipped integration `{}` ({}): only Web Services data actions (custom-rest-actions) are managed; function and custom-auth actions are left alone",
            integration.name,
            integration.integration_type.as_deref().unwrap_or("unknown type")
        ));
    }
    let names: std::collections::BTreeMap<&str, &str> = snapshot
        .integrations
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    let actions: Vec<&crate::remote::RemoteAction> = snapshot
        .actions
        .iter()
        .filter(|a| !foreign.contains(&a.integration_id.as_str()))
        .collect();
    let slugs = export::unique_slugs(&actions);
    let mut exported = Vec::with_capacity(actions.len());
    for (action, slug) in actions.iter().zip(&slugs) {
        let integration = several.then(|| {
            names
                .get(action.integration_id.as_str())
                .copied()
                .unwrap_or(action.integration_id.as_str())
        });
        match export::export_action(action, slug, integration, args.fixtures) {
            Ok(node) => exported.push(node),
            Err(message) => {
                output.error(message);
                return Exit::Failure;
            }
        }
    }
    let nodes_dir = out_dir.join(&project.config.nodes_dir);
    let fixtures_dir = out_dir.join(&project.config.fixtures_dir);
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for node in &exported {
        files.push((
            nodes_dir.join(format!("{}.toml", node.slug)),
            node.manifest.clone(),
        ));
        for (path, text) in &node.schema_files {
            files.push((nodes_dir.join(path), text.clone()));
        }
        if let Some(fixture) = &node.fixture {
            files.push((
                fixtures_dir.join(&node.slug).join("example.toml"),
                fixture.clone(),
            ));
        }
    }
    let existing: Vec<&Path> = files
        .iter()
        .map(|(p, _)| p.as_path())
        .filter(|p| p.exists())
        .collect();
    if !existing.is_empty() && !args.force {
        let shown: Vec<String> = existing
            .iter()
            .take(5)
            .map(|p| p.display().to_string())
            .collect();
        output.error(format!(
            "{} file(s) exist ({}{}); refusing to overwrite them without --force",
            existing.len(),
            shown.join(", "),
            if existing.len() > 5 { ", …" } else { "" }
        ));
        return Exit::Refused;
    }
    if new_project {
        files.push((
            out_dir.join("nodectl.toml"),
            project_file(&project.config.name, &env, &wanted),
        ));
    }
    // Every place is checked before anything is written: a directory of the target project that
    // is a symlink out of it refuses the export as a whole rather than half of it.
    if let Err(error) = std::fs::create_dir_all(&out_dir) {
        output.error(format!("cannot create `{}`: {error}", out_dir.display()));
        return Exit::Failure;
    }
    let mut places: Vec<&PathBuf> = files.iter().map(|(path, _)| path).collect();
    // The org lists actions in no fixed order: the first refusal reported must not depend on it.
    places.sort();
    for path in places {
        if let Err(reason) = paths::check_write_target(&out_dir, path) {
            output.error(format!(
                "cannot write `{}`: it {reason}; nothing written",
                path.display()
            ));
            return Exit::Failure;
        }
    }
    for (path, text) in &files {
        if let Err(error) = paths::write_inside(&out_dir, path, text.as_bytes()) {
            output.error(format!("cannot write `{}`: {error}", path.display()));
            return Exit::Failure;
        }
    }
    for note in &notes {
        output.eline(format!("note: {note}"));
    }
    output.line(format!(
        "exported {} action(s) from {} integration(s) into {} ({} request(s))",
        exported.len(),
        snapshot.integrations.len(),
        nodes_dir.display(),
        snapshot.requests
    ));
    Exit::Success
}

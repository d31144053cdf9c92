//! `export`'s operation: read the org's actions of the wanted integrations, decide what is exported
//! (every integration type's actions; built-in static actions are skipped and function data actions'
//! function settings left alone, with a note), which files that makes (manifests, schema files,
//! fixture skeletons, a `nodectl.toml` declaring each integration's type for a new project — or, with
//! `--format genesys`, one `<slug>.custom.json` per action in Genesys's UI export format), and write
//! them only when none would be overwritten without `--force` and every place is inside the target
//! project. The manifests themselves are `crate::export`'s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{OpsError, connect};
use crate::export::{self, Exported};
use crate::manifest::{Project, paths};
use crate::model::{Env, IntegrationRef, IntegrationType, Target};
use crate::remote::{ManagedIntegration, RemoteAction, Snapshot};

/// What `export` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    /// The integrations to export; empty for the env's.
    pub integrations: Vec<IntegrationRef>,
    /// The project directory to write into; `None` for this project.
    pub out: Option<PathBuf>,
    /// Overwrite existing files.
    pub force: bool,
    /// Also write a fixture skeleton per node.
    pub fixtures: bool,
    /// What is written.
    pub format: ExportFormat,
}

/// What `export` writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExportFormat {
    /// Node manifests in a project (`out` is the project directory).
    #[default]
    Manifests,
    /// Genesys's UI export format, one `<slug>.custom.json` per action, straight into `out`.
    Genesys,
}

/// What an export did.
#[derive(Debug, Clone)]
pub struct ExportReport {
    /// Things skipped, for the user to know (one line each).
    pub notes: Vec<String>,
    /// Actions exported.
    pub exported: usize,
    /// Integrations read.
    pub integrations: usize,
    /// Where the manifests went.
    pub nodes_dir: PathBuf,
    /// Requests the read cost.
    pub requests: u64,
}

/// `nodectl export`.
pub async fn run(
    project: &Project,
    env: &Env,
    request: &ExportRequest,
) -> Result<ExportReport, OpsError> {
    let wanted: Vec<IntegrationRef> = if request.integrations.is_empty() {
        env.integrations.clone()
    } else {
        request.integrations.clone()
    };
    let out_dir = request
        .out
        .clone()
        .unwrap_or_else(|| project.config.dir.clone());
    let new_project = !out_dir.join("nodectl.toml").is_file();
    if !new_project
        && out_dir == project.config.dir
        && let Some(stranger) = wanted.iter().find(|i| !env.integrations.contains(i))
    {
        return Err(OpsError::Usage(format!(
            "env `{}` does not manage integration `{stranger}`: add it to the env's integrations first (or export into a new project with --out)",
            env.name
        )));
    }
    let several = wanted.len() > 1 || (!new_project && env.integrations.len() > 1);

    let connection = connect(project, env, None, None).await?;
    let snapshot = connection.remote.snapshot(&wanted).await;
    connection.close().await?;
    let snapshot = snapshot?;

    let (mut notes, actions) = exportable(&snapshot);
    if !new_project {
        notes.extend(undeclared_types(env, &snapshot));
    }
    if request.format == ExportFormat::Genesys {
        return export_genesys(project, request, &snapshot, notes, &actions);
    }
    let exported = export_actions(&snapshot, &actions, several, request.fixtures)?;
    let nodes_dir = out_dir.join(&project.config.nodes_dir);
    let fixtures_dir = out_dir.join(&project.config.fixtures_dir);
    let mut files = files_of(&exported, &nodes_dir, &fixtures_dir);
    refuse_overwrites(&files, request.force)?;
    if new_project {
        files.push((
            out_dir.join("nodectl.toml"),
            project_file(&project.config.name, env, &snapshot.integrations),
        ));
    }
    write_all(&out_dir, &files)?;
    Ok(ExportReport {
        notes,
        exported: exported.len(),
        integrations: snapshot.integrations.len(),
        nodes_dir,
        requests: snapshot.requests,
    })
}

/// The actions to export (every managed integration's, whatever its type), and notes on what is
/// skipped or left unmanaged.
fn exportable(snapshot: &Snapshot) -> (Vec<String>, Vec<&RemoteAction>) {
    let mut notes = Vec::new();
    if snapshot.statics > 0 {
        notes.push(format!(
            "skipped {} built-in static action(s): Genesys owns them",
            snapshot.statics
        ));
    }
    for integration in &snapshot.integrations {
        let kind = integration_type(integration);
        let count = snapshot
            .actions
            .iter()
            .filter(|a| a.integration_id == integration.id)
            .count();
        if kind.has_no_url() && count > 0 {
            notes.push(format!(
                "integration `{}` ({kind}): {count} function data action(s) exported as configuration only; each one's function settings and code package (GET /api/v2/integrations/actions/{{actionId}}/function) are not managed — nodectl never changes them, but deleting the action (plan --prune) deletes them with it",
                integration.name
            ));
        } else if let Some(reason) = kind.live_obstacle().filter(|_| count > 0) {
            notes.push(format!(
                "integration `{}`: {count} action(s) exported; they dry-run over fixtures but cannot run live ({reason})",
                integration.name
            ));
        }
    }
    (notes, snapshot.actions.iter().collect())
}

/// Integrations whose type in the org is not the one the env declares (the project's nodes would
/// be read as another kind of action): what to write in nodectl.toml.
fn undeclared_types(env: &Env, snapshot: &Snapshot) -> Vec<String> {
    snapshot
        .integrations
        .iter()
        .filter(|i| env.integrations.contains(&i.reference))
        .filter_map(|i| {
            let kind = integration_type(i);
            let declared = env.integration_type(&i.reference);
            (kind != declared).then(|| {
                let name = i.reference.to_string();
                let entry = match kind {
                    IntegrationType::WebServices => format!("{name:?} (a plain name)"),
                    _ => format!("{{ name = {name:?}, type = \"{kind}\" }}"),
                };
                format!(
                    "integration `{name}` is `{kind}` in the org but env `{}` declares `{declared}`: write {entry} among its integrations in nodectl.toml",
                    env.name
                )
            })
        })
        .collect()
}

/// A managed integration's type as the org lists it (Web Services when it does not say).
pub(super) fn integration_type(integration: &ManagedIntegration) -> IntegrationType {
    integration
        .integration_type
        .as_deref()
        .and_then(IntegrationType::parse)
        .unwrap_or(IntegrationType::WebServices)
}

/// Each action in Genesys's UI export format, into `request.out` (inside the project or anywhere
/// the user names; inside, the project's containment rules hold).
fn export_genesys(
    project: &Project,
    request: &ExportRequest,
    snapshot: &Snapshot,
    notes: Vec<String>,
    actions: &[&RemoteAction],
) -> Result<ExportReport, OpsError> {
    let Some(output) = request.out.clone() else {
        return Err(OpsError::Usage(
            "--format genesys writes the files into --output DIR: pass one".to_string(),
        ));
    };
    let types: BTreeMap<&str, IntegrationType> = snapshot
        .integrations
        .iter()
        .map(|i| (i.id.as_str(), integration_type(i)))
        .collect();
    let slugs = export::unique_slugs(actions);
    let files: Vec<(PathBuf, String)> = actions
        .iter()
        .zip(&slugs)
        .map(|(action, slug)| {
            let kind = types
                .get(action.integration_id.as_str())
                .cloned()
                .unwrap_or(IntegrationType::WebServices);
            (
                output.join(format!("{slug}.custom.json")),
                crate::export::genesys::to_ui_text(&action.content(), &kind),
            )
        })
        .collect();
    refuse_overwrites(&files, request.force)?;
    write_all(&project.config.dir, &files)?;
    Ok(ExportReport {
        notes,
        exported: files.len(),
        integrations: snapshot.integrations.len(),
        nodes_dir: output,
        requests: snapshot.requests,
    })
}

/// Each action as a node; `several` integrations are exported: each node names its own.
fn export_actions(
    snapshot: &Snapshot,
    actions: &[&RemoteAction],
    several: bool,
    fixtures: bool,
) -> Result<Vec<Exported>, OpsError> {
    let names: BTreeMap<&str, &str> = snapshot
        .integrations
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    let slugs = export::unique_slugs(actions);
    actions
        .iter()
        .zip(&slugs)
        .map(|(action, slug)| {
            let integration = several.then(|| {
                names
                    .get(action.integration_id.as_str())
                    .copied()
                    .unwrap_or(action.integration_id.as_str())
            });
            export::export_action(action, slug, integration, fixtures).map_err(OpsError::Io)
        })
        .collect()
}

/// The files of the exported nodes: manifests and schema files under `nodes_dir`, fixture
/// skeletons under `fixtures_dir`.
fn files_of(
    exported: &[Exported],
    nodes_dir: &Path,
    fixtures_dir: &Path,
) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for node in exported {
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
    files
}

/// Existing files are overwritten only with `--force`.
pub(super) fn refuse_overwrites(files: &[(PathBuf, String)], force: bool) -> Result<(), OpsError> {
    let existing: Vec<&Path> = files
        .iter()
        .map(|(p, _)| p.as_path())
        .filter(|p| p.exists())
        .collect();
    if existing.is_empty() || force {
        return Ok(());
    }
    let shown: Vec<String> = existing
        .iter()
        .take(5)
        .map(|p| p.display().to_string())
        .collect();
    Err(OpsError::Refused(format!(
        "{} file(s) exist ({}{}); refusing to overwrite them without --force",
        existing.len(),
        shown.join(", "),
        if existing.len() > 5 { ", …" } else { "" }
    )))
}

/// Writes the files. Every place is checked before anything is written: a directory of the target
/// project that is a symlink out of it refuses the export as a whole rather than half of it.
pub(super) fn write_all(out_dir: &Path, files: &[(PathBuf, String)]) -> Result<(), OpsError> {
    std::fs::create_dir_all(out_dir)
        .map_err(|error| OpsError::Io(format!("cannot create `{}`: {error}", out_dir.display())))?;
    let mut places: Vec<&PathBuf> = files.iter().map(|(path, _)| path).collect();
    // The org lists actions in no fixed order: the first refusal reported must not depend on it.
    places.sort();
    for path in places {
        paths::check_write_target(out_dir, path).map_err(|reason| {
            OpsError::Io(format!(
                "cannot write `{}`: it {reason}; nothing written",
                path.display()
            ))
        })?;
    }
    for (path, text) in files {
        paths::write_inside(out_dir, path, text.as_bytes())
            .map_err(|error| OpsError::Io(format!("cannot write `{}`: {error}", path.display())))?;
    }
    Ok(())
}

/// `nodectl.toml` for a new project holding the env's connection and the exported integrations,
/// each with its type as the org lists it (a plain name for a Web Services one).
fn project_file(name: &str, env: &Env, integrations: &[ManagedIntegration]) -> String {
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let target = match &env.target {
        Target::Emulator => "emulator = true".to_string(),
        Target::Region { name, .. } => format!("region = {}", quote(name)),
        Target::ApiBase(base) => format!("api_base = {}", quote(base)),
    };
    let names: Vec<String> = integrations
        .iter()
        .map(|i| {
            let reference = quote(&i.reference.to_string());
            match integration_type(i) {
                IntegrationType::WebServices => reference,
                kind => format!("{{ name = {reference}, type = {} }}", quote(kind.as_str())),
            }
        })
        .collect();
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

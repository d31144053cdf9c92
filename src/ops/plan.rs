//! `plan`'s operation, shared with `apply`: take the snapshot of the env's org, dry-run the changing
//! nodes, compute the plan (the decisions are `plan`'s, pure), and save it for `apply PLANFILE`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{OpsError, connect};
use crate::fixture::{self, TestRun};
use crate::manifest::{Project, paths};
use crate::model::{CredentialValues, Env, IntegrationRef, IntegrationType};
use crate::plan::impact::{self, ActionImpact, FlowImpact};
use crate::plan::integrations::{IntegrationInput, pending_id};
use crate::plan::{self, DesiredNode, Flags, Plan, PlanInput, RemoteState, Unmanaged};
use crate::remote::{Remote, RemoteError, Snapshot, flows};

/// What a plan is asked for with (the flags and options of `plan` and `apply`).
#[derive(Debug, Clone, Default)]
pub struct PlanSettings {
    pub flags: Flags,
    /// Only these nodes (`--node`).
    pub only: Vec<String>,
    pub skip_dry_run: bool,
    /// Requests in flight at once; the client's default when `None`.
    pub parallelism: Option<usize>,
    /// Requests per second; the env's `max_rps` when `None`.
    pub max_rps: Option<f64>,
    /// `--skip-flow-impact`: dependency tracking is not asked (the plan says so).
    pub skip_flow_impact: bool,
}

/// What `plan` produced, with what it was computed from.
pub struct Planned {
    pub plan: Plan,
    pub snapshot: Snapshot,
    /// The dry-run of the changing nodes; `None` when skipped or nothing changes.
    pub dry_run: Option<TestRun>,
    /// `--skip-dry-run` was given.
    pub dry_run_skipped: bool,
    /// The managed credentials' values, for apply; never shown.
    pub credential_values: CredentialValues,
    /// The marker of this project and env in its managed integrations' notes.
    pub marker: String,
}

/// Why a computed plan must not be applied (or makes `plan` fail).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stops {
    /// A fixture of a changing node failed.
    pub dry_run_failed: bool,
    /// The plan has errors (collisions) or safety refusals.
    pub refused: bool,
}

impl Stops {
    pub fn any(self) -> bool {
        self.dry_run_failed || self.refused
    }
}

impl Planned {
    /// What stops this plan from being applied.
    pub fn stops(&self) -> Stops {
        Stops {
            dry_run_failed: self.dry_run.as_ref().is_some_and(|r| r.failed() > 0),
            refused: !self.plan.errors.is_empty() || !self.plan.refusals.is_empty(),
        }
    }
}

/// `nodectl plan`: the plan and, when `save_to` is given, whether it was saved there (a failure to
/// save does not take the plan away: it is still shown).
pub struct PlanReport {
    pub planned: Planned,
    pub saved: Option<(PathBuf, Result<(), OpsError>)>,
}

/// `nodectl plan`: connect, plan, disconnect; then save the plan to `save_to`. With `ahead` (the
/// connection and snapshot `ahead` took while the project loaded), the snapshot is that one when it
/// was taken for this project's directory and this very env, else it is taken now.
pub async fn run(
    project: &Project,
    env: &Env,
    settings: &PlanSettings,
    save_to: Option<&Path>,
    ahead: Option<Ahead>,
) -> Result<PlanReport, OpsError> {
    let ahead = ahead.filter(|ahead| {
        let same = ahead.dir == project.config.dir && ahead.env == *env;
        if !same {
            tracing::debug!("the env changed while the project loaded: snapshot taken again");
        }
        same
    });
    let (connection, planned) = match ahead {
        Some(ahead) => {
            let (connection, snapshot) = ahead.taken?;
            let planned = match snapshot {
                Ok(snapshot) => {
                    plan_from(project, env, &connection.remote, snapshot, settings).await
                }
                Err(error) => Err(error),
            };
            (connection, planned)
        }
        None => {
            let connection = connect(project, env, settings.parallelism, settings.max_rps).await?;
            let planned = plan(project, env, &connection.remote, settings).await;
            (connection, planned)
        }
    };
    connection.close().await?;
    let planned = planned?;
    let saved = save_to.map(|path| (path.to_path_buf(), save(project, path, &planned.plan)));
    Ok(PlanReport { planned, saved })
}

/// Saves the plan (its JSON) for `apply PLANFILE`. The plan may land in the checkout of a pull
/// request: never through its symlinks.
pub fn save(project: &Project, path: &Path, plan: &Plan) -> Result<(), OpsError> {
    let text = serde_json::to_string_pretty(plan).unwrap_or_default() + "\n";
    paths::write_inside(&project.config.dir, path, text.as_bytes())
        .map(|_| ())
        .map_err(|error| {
            OpsError::Io(format!(
                "cannot write the plan to `{}`: {error}",
                path.display()
            ))
        })
}

/// Snapshot, dry-run of the changing nodes (unless skipped), plan.
pub async fn plan(
    project: &Project,
    env: &Env,
    remote: &Remote,
    settings: &PlanSettings,
) -> Result<Planned, OpsError> {
    let snapshot = remote
        .snapshot_with(
            &env.integrations,
            super::integrations::query(env, settings.flags.prune).as_ref(),
        )
        .await?;
    plan_from(project, env, remote, snapshot, settings).await
}

/// The env's directory and env as `nodectl.toml` alone gives them (`dir` and `env` as `--dir` and
/// `--env` say, from `cwd`), when `ahead` may connect to that org before the nodes and fixtures have
/// loaded: the project file is usable without errors (its API base is one credentials may go to),
/// the env exists, and it is not the embedded emulator. `None` otherwise: the snapshot then waits
/// for the project, whose load reports what is wrong.
pub fn env_ahead(dir: Option<&Path>, cwd: &Path, env: Option<&str>) -> Option<(PathBuf, Env)> {
    let (dir, display_root) = match dir {
        Some(dir) => (cwd.join(dir), dir.to_path_buf()),
        None => {
            let found = crate::manifest::project::discover(cwd)?;
            (found.clone(), found)
        }
    };
    if !dir.is_dir() {
        return None;
    }
    let mut diagnostics = crate::manifest::Diagnostics::default();
    let (config, _) = crate::manifest::project::load(&dir, &display_root, &mut diagnostics)?;
    if diagnostics.has_errors() {
        return None;
    }
    let name = env.map(str::to_string).or(config.default_env.clone())?;
    let env = config.envs.get(&name)?.clone();
    (!super::connect::is_embedded(&env)).then_some((config.dir, env))
}

/// The connection to an env's org and its snapshot, taken before the project's nodes are loaded
/// (they play no part in either): a warm `plan` against a distant org spends most of its time in
/// round trips, which then overlap the load.
pub struct Ahead {
    dir: PathBuf,
    env: Env,
    taken: Result<(super::Connection, Result<Snapshot, OpsError>), OpsError>,
}

/// Connects to `env`'s org (from `env_ahead`) and takes its snapshot, for `run`.
pub async fn ahead(dir: PathBuf, env: Env, settings: PlanSettings) -> Ahead {
    let taken =
        match super::connect::connect_dir(&dir, &env, settings.parallelism, settings.max_rps).await
        {
            Ok(connection) => {
                let snapshot = connection
                    .remote
                    .snapshot_with(
                        &env.integrations,
                        super::integrations::query(&env, settings.flags.prune).as_ref(),
                    )
                    .await
                    .map_err(OpsError::from);
                Ok((connection, snapshot))
            }
            Err(error) => Err(error),
        };
    Ahead { dir, env, taken }
}

/// Dry-run of the changing nodes (unless skipped) and plan, from a snapshot already taken, with
/// the flows that consume what the plan deletes, replaces, renames or breaks.
async fn plan_from(
    project: &Project,
    env: &Env,
    remote: &Remote,
    snapshot: Snapshot,
    settings: &PlanSettings,
) -> Result<Planned, OpsError> {
    crate::remote::check_declared_types(&snapshot.integrations, |i| env.integration_type(i))?;
    let (managed, credential_values) =
        super::integrations::input(&project.config.name, env, snapshot.managed.as_ref())?;
    let marker = managed.marker.clone();
    let mut plan = plan::compute(&plan_input(project, env, &snapshot, settings, managed));
    flow_impact(remote, &mut plan, settings.skip_flow_impact).await?;
    let dry_run = if settings.skip_dry_run {
        None
    } else {
        dry_run(project, &plan).await?
    };
    Ok(Planned {
        plan,
        snapshot,
        dry_run,
        dry_run_skipped: settings.skip_dry_run,
        credential_values,
        marker,
    })
}

/// Asks Architect's dependency tracking which flows consume the actions the plan deletes,
/// replaces, renames or breaks (`plan::impact::questions`; none: no request), and applies the brake
/// on those a published flow consumes. An OAuth client without `architect:dependencyTracking:view`
/// (403) gets a note in the plan, not a failure.
async fn flow_impact(remote: &Remote, plan: &mut Plan, skip: bool) -> Result<(), OpsError> {
    let questions = impact::questions(plan);
    if questions.is_empty() {
        return Ok(());
    }
    if skip {
        plan.flow_impact = Some(FlowImpact::unchecked(
            &questions,
            "not checked (--skip-flow-impact): which flows use these actions is unknown"
                .to_string(),
        ));
        return Ok(());
    }
    let permission_note = |error: &RemoteError| {
        format!(
            "not checked: this OAuth client may not read Architect's dependency tracking (it needs the permission architect:dependencyTracking:view): {error}"
        )
    };
    let build = match remote.dependency_build().await {
        Ok(build) => build,
        Err(error) if flows::is_permission_refusal(&error) => {
            plan.flow_impact = Some(FlowImpact::unchecked(&questions, permission_note(&error)));
            return Ok(());
        }
        Err(error) => return Err(error.into()),
    };
    let stale = impact::staleness(build.status.as_deref());
    // A build's answers never change: cache them under its identity, when it is up to date.
    let build_key = stale.is_none().then(|| {
        format!(
            "{}@{}",
            build.id.as_deref().unwrap_or_default(),
            build.date_completed.as_deref().unwrap_or_default()
        )
    });
    let mut actions = Vec::with_capacity(questions.len());
    for question in &questions {
        let flows = match remote
            .consuming_flows(
                &question.action_id,
                question.version,
                question.secure,
                build_key.as_deref(),
            )
            .await
        {
            Ok(flows) => flows,
            Err(error) if flows::is_permission_refusal(&error) => {
                plan.flow_impact = Some(FlowImpact::unchecked(&questions, permission_note(&error)));
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        };
        actions.push(ActionImpact::of(question, flows));
    }
    let impact = FlowImpact {
        checked: true,
        note: None,
        stale: stale.map(|why| {
            format!("dependency tracking may be out of date: {why}; the flows listed may be incomplete, and none listed is no guarantee")
        }),
        actions,
    };
    impact::brake(plan, &impact);
    plan.flow_impact = Some(impact);
    Ok(())
}

/// What the plan is computed from: the env's nodes with their integrations' ids, and the org.
fn plan_input(
    project: &Project,
    env: &Env,
    snapshot: &Snapshot,
    settings: &PlanSettings,
    managed: IntegrationInput,
) -> PlanInput {
    let mut ids: BTreeMap<&IntegrationRef, String> = snapshot
        .integrations
        .iter()
        .map(|i| (&i.reference, i.id.clone()))
        .collect();
    // The managed integrations the org lacks yet: their nodes are created after them, in the same
    // apply, under the id the plan gives them until then.
    let mut integration_names: BTreeMap<String, String> = snapshot
        .integrations
        .iter()
        .map(|i| (i.id.clone(), i.name.clone()))
        .collect();
    for reference in &env.integrations {
        if let IntegrationRef::Name(name) = reference
            && !ids.contains_key(reference)
            && managed.desired.iter().any(|d| d.name == *name)
        {
            let pending = pending_id(name);
            integration_names.insert(pending.clone(), name.clone());
            ids.insert(reference, pending);
        }
    }
    let desired: Vec<DesiredNode> = project
        .nodes
        .get(&env.name)
        .into_iter()
        .flatten()
        .filter_map(|node| {
            let id = ids.get(&node.key.integration)?;
            Some(DesiredNode {
                integration_id: id.to_string(),
                node: node.clone(),
            })
        })
        .collect();
    PlanInput {
        env: env.name.clone(),
        integrations: integration_names,
        code_integrations: snapshot
            .integrations
            .iter()
            .filter(|i| i.integration_type.as_deref() == Some(IntegrationType::FUNCTION))
            .map(|i| i.id.clone())
            .collect(),
        desired,
        remote: snapshot
            .actions
            .iter()
            .map(|a| RemoteState {
                id: a.id.clone(),
                version: a.version,
                integration_id: a.integration_id.clone(),
                content: a.content(),
            })
            .collect(),
        unmanaged: snapshot
            .elsewhere
            .iter()
            .map(|a| Unmanaged {
                id: a.id.clone(),
                name: a.name.clone(),
                integration_id: a.integration_id.clone(),
                integration_name: a.integration_name.clone(),
            })
            .collect(),
        safety: project.config.safety.clone(),
        flags: settings.flags,
        only: settings.only.clone(),
        managed,
    }
}

/// The dry-run of the nodes the plan changes; `None` when none does.
async fn dry_run(project: &Project, plan: &Plan) -> Result<Option<TestRun>, OpsError> {
    let changing: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.change.is_write())
        .map(|c| c.key.name.clone())
        .collect();
    if changing.is_empty() {
        return Ok(None);
    }
    let project = project.clone();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    // The dry-run has its own executor; keep it off this one's threads.
    let run = tokio::task::spawn_blocking(move || fixture::run_all(&project, &changing, workers))
        .await
        .map_err(|e| OpsError::DryRun(std::io::Error::other(e.to_string())))?
        .map_err(OpsError::DryRun)?;
    Ok(Some(run))
}

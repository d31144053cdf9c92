//! `apply`'s operation: read and reconcile a saved plan (`apply PLANFILE`: an intact plan of this
//! format version, whose flags and env rule), plan afresh, refuse a stale plan or a `--checksum`
//! that no longer matches, decide whether to ask for confirmation (and refuse without a terminal),
//! then execute the plan through `crate::apply`. The prompt and the progress are the caller's, through
//! `ApplyUi`.

use std::path::Path;

use super::plan::{PlanSettings, Planned, Stops, plan};
use super::{OpsError, connect};
use crate::apply::{self, ApplyOptions, NodeOutcome, Outcome};
use crate::manifest::Project;
use crate::model::Env;
use crate::plan::{ChangeKind, FORMAT_VERSION, Plan};

/// What `apply` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ApplyRequest {
    pub settings: PlanSettings,
    /// The saved plan (`apply PLANFILE`), read by `read_plan` and reconciled by `reconcile`.
    pub saved: Option<Plan>,
    /// `--checksum`: apply only a plan with this checksum.
    pub checksum: Option<String>,
    pub auto_approve: bool,
    /// Stdin is a terminal to ask on.
    pub interactive: bool,
}

/// What the person running `apply` sees and is asked, on the caller's side.
pub trait ApplyUi {
    /// The plan is computed (shown before anything is decided on it).
    fn planned(&mut self, planned: &Planned);
    /// Asks for confirmation; `true` to go on.
    fn confirm(&mut self) -> bool;
    /// The plan is about to be executed with `total` changes: what hears of each one finished.
    fn progress(&mut self, total: u64) -> Box<dyn Fn(&NodeOutcome) + Sync>;
}

/// Whether to ask before applying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// `--auto-approve`, or the plan was pinned (a plan file or `--checksum`).
    NotNeeded,
    /// Ask on the terminal.
    Ask,
    /// Nobody to ask: refuse.
    NoTerminal,
}

/// The confirmation decision: a pinned plan (saved, or `--checksum`) or `--auto-approve` needs
/// none; otherwise ask, and refuse when stdin is no terminal.
pub fn confirmation(request: &ApplyRequest) -> Confirmation {
    let pinned = request.saved.is_some() || request.checksum.is_some();
    if request.auto_approve || pinned {
        Confirmation::NotNeeded
    } else if request.interactive {
        Confirmation::Ask
    } else {
        Confirmation::NoTerminal
    }
}

/// How an apply ended.
#[derive(Debug)]
pub enum ApplyEnd {
    /// The saved plan or `--checksum` does not match the fresh plan (the message says why).
    Stale(String),
    /// The plan must not be applied (`Planned::stops`).
    Stopped(Stops),
    /// Nothing to change.
    NoChanges,
    /// Confirmation was needed and stdin is no terminal.
    NoTerminal,
    /// The person did not confirm.
    Cancelled,
    /// Executed.
    Applied(Outcome),
}

/// The plan, how the apply ended, and a failure to disconnect (reported, not fatal).
pub struct ApplyReport {
    pub planned: Planned,
    pub end: ApplyEnd,
    pub close_error: Option<OpsError>,
}

/// Reads a saved plan: an I/O failure is `OpsError::Io`; anything else that is not an intact plan
/// of this format version is `OpsError::Refused`.
pub fn read_plan(path: &Path) -> Result<Plan, OpsError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| OpsError::Io(format!("cannot read the plan `{shown}`: {e}")))?;
    let refused = OpsError::Refused;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        refused(format!(
            "`{shown}` is not a plan file (the JSON `plan --out` writes): {e}"
        ))
    })?;
    if !value.is_object() {
        return Err(refused(format!(
            "`{shown}` is not a plan file: it holds a JSON {}, not the object `plan --out` writes",
            json_kind(&value)
        )));
    }
    let version = match value.get("format_version") {
        None => {
            return Err(refused(format!(
                "`{shown}` is not a plan file: it has no format_version"
            )));
        }
        Some(version) => version.as_u64().ok_or_else(|| {
            refused(format!(
                "`{shown}` is not a plan file: format_version must be a whole number, found {version}"
            ))
        })?,
    };
    if version != u64::from(FORMAT_VERSION) {
        return Err(refused(format!(
            "the plan `{shown}` has format_version {version}; this nodectl applies format_version {FORMAT_VERSION}: plan again"
        )));
    }
    let plan: Plan = serde_json::from_value(value)
        .map_err(|e| refused(format!("`{shown}` is not a plan file: {e}")))?;
    if crate::plan::checksum(&plan) != plan.checksum {
        return Err(refused(format!(
            "the plan `{shown}` was changed after `nodectl plan` wrote it: its checksum {} does not match its content; plan again",
            plan.checksum
        )));
    }
    Ok(plan)
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// The saved plan's flags and env rule: a flag it was made without, or another `--env`, is a
/// usage error; otherwise `settings` take the plan's flags and `env` its env.
pub fn reconcile(
    saved: &Plan,
    settings: &mut PlanSettings,
    env: &mut Option<String>,
) -> Result<(), OpsError> {
    let given = settings.flags;
    for (name, given, file) in [
        ("--prune", given.prune, saved.flags.prune),
        ("--force", given.force, saved.flags.force),
        (
            "--allow-replace",
            given.allow_replace,
            saved.flags.allow_replace,
        ),
    ] {
        if given && !file {
            return Err(OpsError::Usage(format!(
                "{name} contradicts the plan file, which was made without it; plan again with {name}"
            )));
        }
    }
    settings.flags = saved.flags;
    // `--prune` is off when nodes are named, in the plan file as on the command line.
    settings.flags.prune = saved.flags.prune && settings.only.is_empty();
    match env {
        Some(given) if *given != saved.env => Err(OpsError::Usage(format!(
            "--env {given} contradicts the plan file, which is for env `{}`",
            saved.env
        ))),
        _ => {
            *env = Some(saved.env.clone());
            Ok(())
        }
    }
}

/// Why a pinned plan does not match the fresh one; `None` when it does (or nothing is pinned).
pub fn staleness(request: &ApplyRequest, fresh: &Plan) -> Option<String> {
    let expected = request
        .saved
        .as_ref()
        .map(|p| &p.checksum)
        .or(request.checksum.as_ref())?;
    if *expected == fresh.checksum {
        return None;
    }
    Some(match &request.saved {
        Some(saved) => stale_saved_plan(saved, fresh),
        None => format!(
            "the plan's checksum is {}, not {expected}: the org or the manifests changed; plan again",
            fresh.checksum
        ),
    })
}

/// "the plan is stale: X changed since the plan was made (version a → b)".
fn stale_saved_plan(saved: &Plan, fresh: &Plan) -> String {
    if saved.integration_ids != fresh.integration_ids {
        return format!(
            "the plan was made for integration(s) {} but env `{}` manages {}: it comes from another project or org; plan again",
            saved.integration_ids.join(", "),
            fresh.env,
            fresh.integration_ids.join(", ")
        );
    }
    for old in &saved.changes {
        let new = fresh.changes.iter().find(|c| c.key == old.key);
        match new {
            Some(new) if new.version != old.version => {
                return format!(
                    "the plan is stale: `{}` changed since the plan was made (version {} → {})",
                    old.key.name,
                    old.version.map_or("none".to_string(), |v| v.to_string()),
                    new.version.map_or("none".to_string(), |v| v.to_string())
                );
            }
            None => {
                return format!(
                    "the plan is stale: `{}` is no longer part of the plan",
                    old.key.name
                );
            }
            _ => {}
        }
    }
    "the plan is stale: the org or the manifests changed since the plan was made; plan again"
        .to_string()
}

/// `nodectl apply`: connect, plan, check the pin, the stops and the confirmation, execute,
/// disconnect.
pub async fn run(
    project: &Project,
    env: &Env,
    request: &ApplyRequest,
    ui: &mut dyn ApplyUi,
) -> Result<ApplyReport, OpsError> {
    let settings = &request.settings;
    let connection = connect(project, env, settings.parallelism, settings.max_rps).await?;
    // A failed plan drops the connection unclosed: the embedded emulator's state is not written
    // back (nothing was changed), as before this layer existed.
    let planned = plan(project, env, &connection.remote, settings).await?;
    ui.planned(&planned);
    let end = decide_and_execute(project, env, request, &planned, &connection, ui).await;
    let close_error = connection.close().await.err();
    Ok(ApplyReport {
        planned,
        end,
        close_error,
    })
}

/// Everything between the fresh plan and the disconnect.
async fn decide_and_execute(
    project: &Project,
    env: &Env,
    request: &ApplyRequest,
    planned: &Planned,
    connection: &connect::Connection,
    ui: &mut dyn ApplyUi,
) -> ApplyEnd {
    let plan = &planned.plan;
    if let Some(message) = staleness(request, plan) {
        return ApplyEnd::Stale(message);
    }
    let stops = planned.stops();
    if stops.any() {
        return ApplyEnd::Stopped(stops);
    }
    if !plan.has_changes() {
        return ApplyEnd::NoChanges;
    }
    match confirmation(request) {
        Confirmation::NotNeeded => {}
        Confirmation::NoTerminal => return ApplyEnd::NoTerminal,
        Confirmation::Ask => {
            if !ui.confirm() {
                return ApplyEnd::Cancelled;
            }
        }
    }
    let total = plan
        .changes
        .iter()
        .filter(|c| c.change != ChangeKind::NoOp)
        .count() as u64
        + plan
            .integration_changes
            .iter()
            .filter(|c| c.change != ChangeKind::NoOp)
            .count() as u64;
    let on_done = ui.progress(total);
    let options = ApplyOptions {
        parallelism: request.settings.parallelism.unwrap_or(4),
        force: request.settings.flags.force,
    };
    let protected = protected_names(project, env);
    let context = apply::IntegrationContext {
        marker: planned.marker.clone(),
        values: planned.credential_values.clone(),
    };
    let outcome = apply::apply(
        &connection.remote,
        plan,
        options,
        &protected,
        &context,
        &*on_done,
    )
    .await;
    ApplyEnd::Applied(outcome)
}

/// The names apply re-checks every delete against: `[safety] protect` and the env's nodes marked
/// `protect = true`.
fn protected_names(project: &Project, env: &Env) -> Vec<String> {
    let marked = project
        .nodes
        .get(&env.name)
        .into_iter()
        .flatten()
        .filter(|node| node.protect)
        .map(|node| node.key.name.clone());
    project
        .config
        .safety
        .protect
        .iter()
        .cloned()
        .chain(marked)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Flags;

    fn plan(env: &str, flags: Flags, checksum: &str) -> Plan {
        Plan {
            format_version: FORMAT_VERSION,
            nodectl_version: String::new(),
            env: env.to_string(),
            integration_ids: vec!["i-1".to_string()],
            flags,
            changes: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            refusals: Vec::new(),
            existing: 0,
            integration_changes: Vec::new(),
            flow_impact: None,
            checksum: checksum.to_string(),
        }
    }

    #[test]
    fn confirmation_is_asked_only_for_an_unpinned_plan_on_a_terminal() {
        let mut request = ApplyRequest::default();
        assert_eq!(confirmation(&request), Confirmation::NoTerminal);
        request.interactive = true;
        assert_eq!(confirmation(&request), Confirmation::Ask);
        request.checksum = Some("sha256:x".to_string());
        assert_eq!(confirmation(&request), Confirmation::NotNeeded);
        let request = ApplyRequest {
            auto_approve: true,
            ..ApplyRequest::default()
        };
        assert_eq!(confirmation(&request), Confirmation::NotNeeded);
        let request = ApplyRequest {
            saved: Some(plan("dev", Flags::default(), "c")),
            ..ApplyRequest::default()
        };
        assert_eq!(confirmation(&request), Confirmation::NotNeeded);
    }

    #[test]
    fn the_plan_files_flags_and_env_rule() {
        let saved = plan(
            "prod",
            Flags {
                prune: true,
                force: false,
                allow_replace: false,
            },
            "c",
        );
        let mut settings = PlanSettings::default();
        let mut env = None;
        assert!(reconcile(&saved, &mut settings, &mut env).is_ok());
        assert!(settings.flags.prune);
        assert_eq!(env.as_deref(), Some("prod"));

        settings.flags.force = true;
        let error = reconcile(&saved, &mut settings, &mut env);
        assert!(matches!(error, Err(OpsError::Usage(m)) if m.starts_with("--force contradicts")));

        let mut settings = PlanSettings::default();
        let mut env = Some("dev".to_string());
        let error = reconcile(&saved, &mut settings, &mut env);
        assert!(matches!(error, Err(OpsError::Usage(m)) if m.starts_with("--env dev contradicts")));
    }

    #[test]
    fn a_pinned_checksum_that_moved_is_stale() {
        let fresh = plan("dev", Flags::default(), "sha256:new");
        assert_eq!(staleness(&ApplyRequest::default(), &fresh), None);
        let request = ApplyRequest {
            checksum: Some("sha256:new".to_string()),
            ..ApplyRequest::default()
        };
        assert_eq!(staleness(&request, &fresh), None);
        let request = ApplyRequest {
            checksum: Some("sha256:old".to_string()),
            ..ApplyRequest::default()
        };
        let message = staleness(&request, &fresh).unwrap_or_default();
        assert!(message.starts_with("the plan's checksum is sha256:new, not sha256:old"));
        let mut saved = plan("dev", Flags::default(), "sha256:old");
        saved.integration_ids = vec!["i-2".to_string()];
        let request = ApplyRequest {
            saved: Some(saved),
            ..ApplyRequest::default()
        };
        let message = staleness(&request, &fresh).unwrap_or_default();
        assert!(message.starts_with("the plan was made for integration(s) i-2"));
    }
}

//! `nodectl apply`: plan, confirm, and execute the plan against the env's org; a saved plan or a
//! `--checksum` is applied only when the org has not changed since it was made.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::plan::{PlanOptions, dry_run_summary, load_env, plan_exits, print_dry_run_failures};
use super::{Exit, Output};
use crate::apply::{self, ApplyOptions, Status};
use crate::plan::{FORMAT_VERSION, Plan};
use crate::workflow;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(
    about = "Apply the plan to the env's org (creates, updates, then deletes)",
    after_help = "Without PLANFILE it plans, shows the plan and asks for confirmation on a terminal (--auto-approve skips the question; without a terminal it exits 5). With PLANFILE or --checksum it refuses (exit 5) when the org changed since the plan was made.\n\nExamples:\n  nodectl apply --auto-approve\n  nodectl plan --out plan.json && nodectl apply plan.json\n  nodectl apply --env prod --checksum sha256:3f2a… --auto-approve"
)]
pub struct ApplyArgs {
    /// A plan saved by `plan --out`.
    #[arg(value_name = "PLANFILE")]
    planfile: Option<PathBuf>,
    #[command(flatten)]
    options: PlanOptions,
    /// Do not ask for confirmation.
    #[arg(long)]
    auto_approve: bool,
    /// Apply only if the plan's checksum is this one.
    #[arg(long, value_name = "SHA256", value_parser = plan_checksum)]
    checksum: Option<String>,
    /// Output format of the outcome.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
}

/// `--checksum`: `sha256:` and 64 hex digits as `plan` prints it (the prefix may be left out).
fn plan_checksum(text: &str) -> Result<String, String> {
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(format!("sha256:{}", hex.to_ascii_lowercase()))
    } else {
        Err(format!(
            "`{text}` is not a plan checksum: give the `sha256:` and 64 hex digits that `nodectl plan` prints"
        ))
    }
}

/// Reads a saved plan: an I/O failure exits 1, anything else that is not an intact plan of this
/// format version is refused (exit 5).
fn read_plan(path: &PathBuf) -> Result<Plan, (Exit, String)> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        (
            Exit::Failure,
            format!("cannot read the plan `{shown}`: {e}"),
        )
    })?;
    let refused = |message: String| (Exit::Refused, message);
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

/// "the plan is stale: X changed since the plan was made (version a → b)".
fn staleness(saved: &Plan, fresh: &Plan) -> String {
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

fn confirm(output: &mut Output) -> bool {
    let _ = write!(output.err, "Apply these changes? Only 'yes' is accepted: ");
    let _ = output.err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
}

pub fn run(args: ApplyArgs, output: &mut Output) -> Exit {
    let mut options = args.options.clone();
    let saved = match args.planfile.as_ref().map(read_plan).transpose() {
        Ok(saved) => saved,
        Err((exit, message)) => {
            output.error(message);
            return exit;
        }
    };
    if let Some(saved) = &saved {
        // The plan file's flags rule; a contradicting flag is a usage error.
        let given = options.flags();
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
                output.error(format!("{name} contradicts the plan file, which was made without it; plan again with {name}"));
                return Exit::Usage;
            }
        }
        options.prune = saved.flags.prune;
        options.force = saved.flags.force;
        options.allow_replace = saved.flags.allow_replace;
        match &options.project.env {
            Some(env) if *env != saved.env => {
                output.error(format!(
                    "--env {env} contradicts the plan file, which is for env `{}`",
                    saved.env
                ));
                return Exit::Usage;
            }
            _ => options.project.env = Some(saved.env.clone()),
        }
    }
    let (project, env) = match load_env(&options, output) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let expected_checksum = saved
        .as_ref()
        .map(|p| p.checksum.clone())
        .or(args.checksum.clone());
    let interactive = std::io::stdin().is_terminal();
    let flags = options.flags();
    let auto_approve = args.auto_approve;
    let json = matches!(args.output, Format::Json);

    let work = async {
        let connection =
            workflow::connect(&project, &env, options.parallelism, options.max_rps).await?;
        let planned = workflow::plan(
            &project,
            &env,
            &connection.remote,
            flags,
            &options.nodes,
            options.skip_dry_run,
        )
        .await?;
        Ok::<_, workflow::WorkflowError>((connection, planned))
    };
    let Some(runtime) = super::runtime(output) else {
        return Exit::Failure;
    };
    let (connection, planned) = match runtime.block_on(work) {
        Ok(pair) => pair,
        Err(error) => {
            output.error(error.to_string());
            return Exit::Failure;
        }
    };
    let close = |output: &mut Output, connection: workflow::Connection| {
        if let Err(error) = runtime.block_on(connection.close()) {
            output.error(error.to_string());
        }
    };
    let plan = planned.plan;
    let dry = dry_run_summary(&planned.dry_run, options.skip_dry_run);
    if !json {
        output.line(crate::report::plan::text(&plan, false, dry).trim_end());
    }
    if let Some(expected) = &expected_checksum
        && *expected != plan.checksum
    {
        let message = match &saved {
            Some(saved) => staleness(saved, &plan),
            None => format!(
                "the plan's checksum is {}, not {expected}: the org or the manifests changed; plan again",
                plan.checksum
            ),
        };
        output.error(message);
        close(output, connection);
        return Exit::Refused;
    }
    let stops = plan_exits(&plan, &planned.dry_run, false);
    if !stops.is_empty() {
        print_dry_run_failures(&project, &planned.dry_run, output);
        close(output, connection);
        return Exit::combine(&stops);
    }
    if !plan.has_changes() {
        if json {
            output.line(serde_json::json!({"plan": plan, "outcome": {"nodes": []}}).to_string());
        }
        close(output, connection);
        return Exit::Success;
    }
    if !auto_approve && expected_checksum.is_none() {
        if !interactive {
            output.error("refusing to apply without a terminal to confirm on: pass --auto-approve (or apply a saved plan)");
            close(output, connection);
            return Exit::Refused;
        }
        if !confirm(output) {
            output.eline("Apply cancelled.");
            close(output, connection);
            return Exit::Refused;
        }
    }
    // A progress bar on a terminal; one line per finished change otherwise (CI logs).
    let total = plan
        .changes
        .iter()
        .filter(|c| c.change != crate::plan::ChangeKind::NoOp)
        .count() as u64;
    let bar = output.progress.then(|| {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        bar
    });
    let lines = std::sync::Mutex::new(std::io::stderr());
    let on_done = |outcome: &apply::NodeOutcome| {
        let mark = match outcome.status {
            Status::Applied | Status::Unchanged => "ok  ",
            Status::Failed => "FAIL",
            Status::Refused => "STOP",
            Status::Skipped => "skip",
        };
        let line = format!("{mark} {} {}", outcome.change.as_str(), outcome.node);
        match &bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(line);
            }
            None => {
                if let Ok(mut err) = lines.lock() {
                    let _ = writeln!(err, "{line}");
                }
            }
        }
    };
    let apply_options = ApplyOptions {
        parallelism: options.parallelism.unwrap_or(4),
        force: flags.force,
    };
    let protected = protected_names(&project, &env);
    let outcome = runtime.block_on(apply::apply(
        &connection.remote,
        &plan,
        apply_options,
        &protected,
        &on_done,
    ));
    close(output, connection);
    if json {
        output.line(
            serde_json::to_string_pretty(&serde_json::json!({"plan": plan, "outcome": outcome}))
                .unwrap_or_default(),
        );
    } else {
        output.line(crate::report::plan::outcome_text(&outcome).trim_end());
    }
    let mut exits = Vec::new();
    if outcome.failed() {
        exits.push(Exit::Failure);
    }
    if outcome.refused() {
        exits.push(Exit::Refused);
    }
    Exit::combine(&exits)
}

/// The names apply re-checks every delete against: `[safety] protect` and the env's nodes marked
/// `protect = true`.
fn protected_names(project: &crate::manifest::Project, env: &crate::model::Env) -> Vec<String> {
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

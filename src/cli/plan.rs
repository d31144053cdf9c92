//! `nodectl plan`: what `apply` would do, as text, JSON or Markdown, with the dry-run of the changing
//! nodes first and the safety brakes checked.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Exit, Output, ProjectArgs};
use crate::manifest::{EnvScope, paths};
use crate::plan::{Flags, Plan};
use crate::report::plan::DryRunSummary;
use crate::workflow;

/// The options `plan` and `apply` share.
#[derive(Debug, Args, Clone)]
pub struct PlanOptions {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Only these nodes (pruning is then off).
    #[arg(long = "node", value_name = "NAME")]
    pub nodes: Vec<String>,
    /// Delete actions of the managed integrations that no manifest describes.
    #[arg(long)]
    pub prune: bool,
    /// Proceed despite the safety brakes (too many changes, breaking contract changes, someone's draft).
    #[arg(long)]
    pub force: bool,
    /// Allow replacing an action that moved integration (it gets a new id).
    #[arg(long)]
    pub allow_replace: bool,
    /// Skip the dry-run of the changing nodes.
    #[arg(long)]
    pub skip_dry_run: bool,
    /// Requests in flight at once (default 4).
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub parallelism: Option<usize>,
    /// Requests per second towards the org (default: the env's max_rps).
    #[arg(long, value_name = "R", value_parser = positive_rate)]
    pub max_rps: Option<f64>,
}

impl PlanOptions {
    pub fn flags(&self) -> Flags {
        Flags {
            prune: self.prune && self.nodes.is_empty(),
            allow_replace: self.allow_replace,
            force: self.force,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
#[command(
    about = "Show what apply would change in the env's org",
    after_help = "Exit 0 (no changes, or changes without --detailed-exitcode), 2 changes with --detailed-exitcode, 4 failing fixtures (unless --skip-dry-run), 5 refused for safety, 3 invalid files, 1 remote errors.\n\nExamples:\n  nodectl plan\n  nodectl plan --env prod --output markdown --detailed-exitcode > plan.md || [ $? -eq 2 ]\n  nodectl plan --out plan.json"
)]
pub struct PlanArgs {
    #[command(flatten)]
    options: PlanOptions,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
    /// Show every field, and unchanged actions.
    #[arg(long)]
    verbose: bool,
    /// Exit 2 when there are changes.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Save the plan (JSON) for `apply PLANFILE`.
    #[arg(long, value_name = "PLANFILE")]
    out: Option<PathBuf>,
}

/// The exits a computed plan implies (refusals, collisions, dry-run failures, changes).
pub fn plan_exits(
    plan: &Plan,
    dry_run: &Option<crate::fixture::TestRun>,
    detailed: bool,
) -> Vec<Exit> {
    let mut exits = Vec::new();
    if dry_run.as_ref().is_some_and(|r| r.failed() > 0) {
        exits.push(Exit::DryRunFailed);
    }
    if !plan.errors.is_empty() || !plan.refusals.is_empty() {
        exits.push(Exit::Refused);
    }
    if detailed && plan.has_changes() {
        exits.push(Exit::Changes);
    }
    exits
}

/// `--parallelism`: a whole number of at least 1.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(count) if count >= 1 => Ok(count),
        _ => Err(format!(
            "`{text}` is not a number of requests: give a whole number of at least 1"
        )),
    }
}

/// `--max-rps`: a finite number above 0.
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a rate: give requests per second as a number above 0, like 10 or 0.5"
        )),
    }
}

/// The project and the selected env; the exit code when either cannot be had (message printed).
pub fn load_env(
    options: &PlanOptions,
    output: &mut Output,
) -> Result<(crate::manifest::Project, crate::model::Env), Exit> {
    let project = super::load_project(
        options.project.dir.clone(),
        EnvScope::One(options.project.env.clone()),
        output,
    )?;
    match project
        .checked_envs
        .first()
        .and_then(|e| project.config.envs.get(e))
        .cloned()
    {
        Some(env) => Ok((project, env)),
        None => {
            output.error("no env selected: pass --env or set default_env in nodectl.toml");
            Err(Exit::Usage)
        }
    }
}

/// The failing fixtures of the dry-run, on stderr, as `nodectl test` shows them.
pub fn print_dry_run_failures(
    project: &crate::manifest::Project,
    run: &Option<crate::fixture::TestRun>,
    output: &mut Output,
) {
    if let Some(run) = run.as_ref().filter(|r| r.failed() > 0) {
        let path_of = |r: &crate::fixture::FixtureResult| {
            crate::fixture::fixture_path(project, &r.fixture)
                .display()
                .to_string()
        };
        output.eline(crate::report::test::text(run, &path_of).trim_end());
    }
}

pub fn dry_run_summary(
    run: &Option<crate::fixture::TestRun>,
    skipped: bool,
) -> Option<DryRunSummary> {
    if skipped {
        return Some(DryRunSummary {
            skipped: true,
            ..DryRunSummary::default()
        });
    }
    run.as_ref().map(|r| DryRunSummary {
        passed: r.passed(),
        failed: r.failed(),
        skipped: false,
    })
}

pub fn run(args: PlanArgs, output: &mut Output) -> Exit {
    let options = args.options;
    let (project, env) = match load_env(&options, output) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let flags = options.flags();
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
        .await;
        connection.close().await?;
        planned
    };
    let planned = match super::block_on(work, output) {
        Some(Ok(planned)) => planned,
        Some(Err(error)) => {
            output.error(error.to_string());
            return Exit::Failure;
        }
        None => return Exit::Failure,
    };
    let plan = &planned.plan;
    let dry = dry_run_summary(&planned.dry_run, options.skip_dry_run);
    print_dry_run_failures(&project, &planned.dry_run, output);
    match args.output {
        Format::Text => output.line(crate::report::plan::text(plan, args.verbose, dry).trim_end()),
        Format::Json => output.line(serde_json::to_string_pretty(plan).unwrap_or_default()),
        Format::Markdown => output.line(crate::report::plan::markdown(plan, dry).trim_end()),
    }
    if let Some(path) = &args.out {
        let text = serde_json::to_string_pretty(plan).unwrap_or_default() + "\n";
        // The plan may land in the checkout of a pull request: never through its symlinks.
        if let Err(error) = paths::write_inside(&project.config.dir, path, text.as_bytes()) {
            output.error(format!(
                "cannot write the plan to `{}`: {error}",
                path.display()
            ));
            return Exit::Failure;
        }
        output.eline(format!(
            "saved the plan to {}; apply it with `nodectl apply {}`",
            path.display(),
            path.display()
        ));
    }
    Exit::combine(&plan_exits(plan, &planned.dry_run, args.detailed_exitcode))
}

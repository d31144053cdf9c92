//! `nodectl plan`: what `apply` would do, as text, JSON or Markdown, with the dry-run of the changing
//! nodes first and the safety brakes checked.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Exit, Output, ProjectArgs};
use crate::ops::{self, PlanSettings};
use crate::plan::Flags;
use crate::report;

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
    /// Proceed despite the safety brakes (too many changes, breaking contract changes, someone's
    /// draft, published flows that consume what changes).
    #[arg(long)]
    pub force: bool,
    /// Do not ask Architect's dependency tracking which flows use the actions that change (for an
    /// OAuth client without architect:dependencyTracking:view); the plan says so.
    #[arg(long)]
    pub skip_flow_impact: bool,
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
    /// What the plan is asked for with; `--prune` is off when nodes are named.
    pub fn settings(&self) -> PlanSettings {
        PlanSettings {
            flags: Flags {
                prune: self.prune && self.nodes.is_empty(),
                allow_replace: self.allow_replace,
                force: self.force,
            },
            only: self.nodes.clone(),
            skip_dry_run: self.skip_dry_run,
            parallelism: self.parallelism,
            max_rps: self.max_rps,
            skip_flow_impact: self.skip_flow_impact,
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

/// The failing fixtures of the dry-run, on stderr, as `nodectl test` shows them.
pub fn print_dry_run_failures(
    project: &crate::manifest::Project,
    run: Option<&crate::fixture::TestRun>,
    output: &mut Output,
) {
    if let Some(run) = run.filter(|r| r.failed() > 0) {
        let path_of = |r: &crate::fixture::FixtureResult| {
            crate::fixture::fixture_path(project, &r.fixture)
                .display()
                .to_string()
        };
        output.eline(crate::report::test::text(run, &path_of).trim_end());
    }
}

pub fn run(args: PlanArgs, output: &mut Output) -> Exit {
    let options = args.options;
    let settings = options.settings();
    let Some(runtime) = super::runtime(output) else {
        return Exit::Failure;
    };
    // The snapshot needs only nodectl.toml's env: it is taken on the runtime's threads while this
    // one loads the nodes and fixtures (a load that fails drops it with the runtime).
    let ahead = std::env::current_dir().ok().and_then(|cwd| {
        let (dir, env) = ops::plan::env_ahead(
            options.project.dir.as_deref(),
            &cwd,
            options.project.env.as_deref(),
        )?;
        Some(runtime.spawn(ops::plan::ahead(dir, env, settings.clone())))
    });
    let (project, env) = match super::load_env(&options.project, output) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    if let Err(exit) = super::check_node_names(&project, &options.nodes, output) {
        return exit;
    }
    let work = async {
        let ahead = match ahead {
            Some(task) => task.await.ok(),
            None => None,
        };
        ops::plan::run(&project, &env, &settings, args.out.as_deref(), ahead).await
    };
    let report = match runtime.block_on(work) {
        Ok(report) => report,
        Err(error) => {
            output.error(error.to_string());
            return Exit::Failure;
        }
    };
    let planned = &report.planned;
    let plan = &planned.plan;
    let dry = report::plan::dry_run_summary(planned.dry_run.as_ref(), planned.dry_run_skipped);
    print_dry_run_failures(&project, planned.dry_run.as_ref(), output);
    match args.output {
        Format::Text => output.line(report::plan::text(plan, args.verbose, dry).trim_end()),
        Format::Json => output.line(report::plan::json(plan)),
        Format::Markdown => output.line(report::plan::markdown(plan, dry).trim_end()),
    }
    if let Some((path, saved)) = &report.saved {
        if let Err(error) = saved {
            output.error(error.to_string());
            return Exit::of_error(error);
        }
        output.eline(format!(
            "saved the plan to {}; apply it with `nodectl apply {}`",
            path.display(),
            path.display()
        ));
    }
    let detailed_changes = args.detailed_exitcode && plan.has_changes();
    Exit::combine(&Exit::of_plan(planned.stops(), detailed_changes))
}

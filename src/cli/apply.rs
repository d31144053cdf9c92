//! `nodectl apply`: plan, confirm, and execute the plan against the env's org; a saved plan or a
//! `--checksum` is applied only when the org has not changed since it was made.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::plan::{PlanOptions, print_dry_run_failures};
use super::{Exit, Output, ProjectArgs};
use crate::apply::NodeOutcome;
use crate::ops::apply::{ApplyEnd, ApplyReport, ApplyRequest, ApplyUi};
use crate::ops::{self, OpsError, Planned};
use crate::report;

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

/// The terminal side of `apply`: the plan shown (text output), the question, the progress.
struct Terminal<'a> {
    output: &'a mut Output,
    json: bool,
    /// The progress bar, kept to clear it before the results are printed.
    bar: Option<indicatif::ProgressBar>,
}

impl ApplyUi for Terminal<'_> {
    fn planned(&mut self, planned: &Planned) {
        if !self.json {
            let dry =
                report::plan::dry_run_summary(planned.dry_run.as_ref(), planned.dry_run_skipped);
            self.output
                .line(report::plan::text(&planned.plan, false, dry).trim_end());
        }
    }

    fn confirm(&mut self) -> bool {
        let output = &mut *self.output;
        let _ = write!(output.err, "Apply these changes? Only 'yes' is accepted: ");
        let _ = output.err.flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
    }

    /// A progress bar on a terminal; one line per finished change otherwise (CI logs).
    fn progress(&mut self, total: u64) -> Box<dyn Fn(&NodeOutcome) + Sync> {
        let bar = self.output.progress.then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        self.bar = bar.clone();
        // Without a terminal each change is reported once, as it finishes (the outcome after
        // them gives only the summary); with one the bar shows it and the outcome lists all.
        let lines = std::sync::Mutex::new(anstream::AutoStream::new(
            std::io::stdout(),
            self.output.color,
        ));
        let json = self.json;
        Box::new(move |outcome: &NodeOutcome| match &bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(report::plan::progress_line(outcome));
            }
            None if !json => {
                if let Ok(mut out) = lines.lock() {
                    let _ = write!(out, "{}", report::plan::outcome_line(outcome));
                }
            }
            None => {}
        })
    }
}

/// The plan file read and reconciled with the command line, or the exit (message printed).
fn request(args: &ApplyArgs, output: &mut Output) -> Result<(ApplyRequest, ProjectArgs), Exit> {
    let mut settings = args.options.settings();
    let mut project = args.options.project.clone();
    let fail = |output: &mut Output, error: OpsError| {
        output.error(error.to_string());
        Exit::of_error(&error)
    };
    let saved = match &args.planfile {
        Some(path) => {
            let saved = ops::apply::read_plan(path).map_err(|e| fail(output, e))?;
            ops::apply::reconcile(&saved, &mut settings, &mut project.env)
                .map_err(|e| fail(output, e))?;
            Some(saved)
        }
        None => None,
    };
    let request = ApplyRequest {
        settings,
        saved,
        checksum: args.checksum.clone(),
        auto_approve: args.auto_approve,
        interactive: std::io::stdin().is_terminal(),
    };
    Ok((request, project))
}

pub fn run(args: ApplyArgs, output: &mut Output) -> Exit {
    let (request, project_args) = match request(&args, output) {
        Ok(request) => request,
        Err(exit) => return exit,
    };
    let (project, env) = match super::load_env(&project_args, output) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    if let Err(exit) = super::check_node_names(&project, &args.options.nodes, output) {
        return exit;
    }
    let json = matches!(args.output, Format::Json);
    let Some(runtime) = super::runtime(output) else {
        return Exit::Failure;
    };
    let mut terminal = Terminal {
        output: &mut *output,
        json,
        bar: None,
    };
    let result = runtime.block_on(ops::apply::run(&project, &env, &request, &mut terminal));
    // The results start on a clean line: the bar's last frame is gone.
    let streamed = match terminal.bar.take() {
        Some(bar) => {
            bar.finish_and_clear();
            false
        }
        None => !json,
    };
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            output.error(error.to_string());
            return Exit::Failure;
        }
    };
    show(&project, &report, json, streamed, output);
    Exit::of_apply(&report.end)
}

/// How the apply ended, on stdout and stderr; a failure to disconnect where it happened.
/// `streamed`: each change was already reported as it finished (no terminal).
fn show(
    project: &crate::manifest::Project,
    report: &ApplyReport,
    json: bool,
    streamed: bool,
    output: &mut Output,
) {
    let plan = &report.planned.plan;
    let closed = |output: &mut Output| {
        if let Some(error) = &report.close_error {
            output.error(error.to_string());
        }
    };
    match &report.end {
        ApplyEnd::Stale(message) => {
            output.error(message);
            closed(output);
        }
        ApplyEnd::Stopped(_) => {
            print_dry_run_failures(project, report.planned.dry_run.as_ref(), output);
            closed(output);
        }
        ApplyEnd::NoChanges => {
            if json {
                output.line(report::plan::apply_json(plan, None));
            }
            closed(output);
        }
        ApplyEnd::NoTerminal => {
            output.error("refusing to apply without a terminal to confirm on: pass --auto-approve (or apply a saved plan)");
            closed(output);
        }
        ApplyEnd::Cancelled => {
            output.eline("Apply cancelled.");
            closed(output);
        }
        ApplyEnd::Applied(outcome) => {
            closed(output);
            if json {
                output.line(report::plan::apply_json(plan, Some(outcome)));
            } else {
                output.line(report::plan::outcome_text(outcome, !streamed).trim_end());
            }
        }
    }
}

//! The command line: clap definitions, global options (logging, colour, progress), dispatch to one
//! file per subcommand, and the mapping of outcomes to exit codes. This is the only module that
//! writes to stdout and stderr.

mod apply;
mod completions;
mod emulator;
pub mod exit;
mod export;
mod import;
mod init;
mod live;
mod man;
mod parity;
mod plan;
mod record;
mod run;
mod schema;
mod serve;
mod test;
mod validate;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anstream::ColorChoice;

use crate::manifest;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

pub use exit::Exit;

#[derive(Debug, Parser)]
#[command(
    name = "nodectl",
    version,
    about = "GitOps for Genesys Cloud data actions: TOML manifests in git, validated and dry-run offline",
    after_help = "Exit codes: 0 ok, 1 runtime failure, 2 changes (plan --detailed-exitcode), 3 invalid files, 4 dry-run failed, 5 refused for safety, 64 usage.\n\nExample:\n  nodectl validate --dir manifests"
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalOptions,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
struct GlobalOptions {
    /// More log output on stderr: -v for debug, -vv for trace (also RUST_LOG).
    #[arg(short = 'v', action = clap::ArgAction::Count, global = true)]
    log_verbosity: u8,
    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// When to use colours (NO_COLOR is respected with `auto`).
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, global = true)]
    color: ColorWhen,
    /// Never draw progress bars (they are drawn only on a terminal anyway).
    #[arg(long, global = true)]
    no_progress: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    Init(init::InitArgs),
    Validate(validate::ValidateArgs),
    Test(test::TestArgs),
    Plan(plan::PlanArgs),
    Apply(apply::ApplyArgs),
    Run(run::RunArgs),
    Record(record::RecordArgs),
    Export(export::ExportArgs),
    Import(import::ImportArgs),
    Parity(parity::ParityArgs),
    Schema(schema::SchemaArgs),
    Completions(completions::CompletionsArgs),
    Man(man::ManArgs),
    Emulator(emulator::EmulatorArgs),
    Serve(serve::ServeArgs),
}

/// Where output goes, with the colour choice applied.
pub struct Output {
    pub out: anstream::AutoStream<std::io::Stdout>,
    pub err: anstream::AutoStream<std::io::Stderr>,
    /// Progress bars are drawn (a terminal on stderr, and no `--no-progress`).
    pub progress: bool,
    /// The colour choice, for a stream opened elsewhere (apply's per-change lines).
    pub color: ColorChoice,
}

impl Output {
    fn new(color: ColorWhen, no_progress: bool) -> Output {
        let choice = match color {
            ColorWhen::Auto => ColorChoice::Auto,
            ColorWhen::Always => ColorChoice::Always,
            ColorWhen::Never => ColorChoice::Never,
        };
        Output {
            out: anstream::AutoStream::new(std::io::stdout(), choice),
            err: anstream::AutoStream::new(std::io::stderr(), choice),
            progress: !no_progress && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            color: choice,
        }
    }

    /// A line on stdout. A closed pipe (`nodectl … | head`) is not an error worth reporting.
    pub fn line(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", text.as_ref());
    }

    /// A line on stderr.
    pub fn eline(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.err, "{}", text.as_ref());
    }

    /// `error: …` on stderr.
    pub fn error(&mut self, text: impl AsRef<str>) {
        self.eline(format!("\x1b[1;31merror:\x1b[0m {}", text.as_ref()));
    }
}

/// Runs nodectl with the process's arguments and returns its exit code.
pub fn main() -> ExitCode {
    // A bug must not dump a backtrace (or anything it holds) on a user: one line, and a request.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "error: nodectl hit an internal error{location}; please report it with the command you ran"
        );
    }));
    run(std::env::args_os()).into()
}

/// Runs nodectl with the given arguments (the first is the program name).
pub fn run<I, T>(args: I) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let exit = match error.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Exit::Success,
                _ => Exit::Usage,
            };
            let _ = error.print();
            // clap prints help for a missing subcommand; that is still a usage error.
            if error.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                return Exit::Usage;
            }
            return exit;
        }
    };
    init_logging(&cli.global);
    let mut output = Output::new(cli.global.color, cli.global.no_progress);
    match cli.command {
        Command::Init(args) => init::run(args, &mut output),
        Command::Validate(args) => validate::run(args, &mut output),
        Command::Test(args) => test::run(args, &mut output),
        Command::Plan(args) => plan::run(args, &mut output),
        Command::Apply(args) => apply::run(args, &mut output),
        Command::Run(args) => run::run(args, &mut output),
        Command::Record(args) => record::run(args, &mut output),
        Command::Export(args) => export::run(args, &mut output),
        Command::Import(args) => import::run(args, &mut output),
        Command::Schema(args) => schema::run(args, &mut output),
        Command::Completions(args) => completions::run(args, &mut output),
        Command::Man(args) => man::run(args, &mut output),
        Command::Emulator(args) => emulator::run(args, &mut output),
        Command::Serve(args) => serve::run(args, &mut output),
        Command::Parity(args) => parity::run(args, &mut output),
    }
}

/// Logs go to stderr: `-v` debug, `-vv` trace for nodectl's own targets only; `RUST_LOG` overrides.
/// Dependencies stay at `warn` so that no wire dump (and no secret in one) is ever logged.
fn init_logging(global: &GlobalOptions) {
    let level = match global.log_verbosity {
        0 => "warn",
        1 => "nodectl=debug,warn",
        _ => "nodectl=trace,warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(matches!(global.color, ColorWhen::Always));
    let _ = match global.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The clap command, for completions.
fn command() -> clap::Command {
    Cli::command()
}

/// `--dir` and `--env`, shared by the project commands.
#[derive(Debug, Args, Clone)]
struct ProjectArgs {
    /// Project directory (default: the nearest directory upwards holding nodectl.toml).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Environment from nodectl.toml.
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
}

/// Loads the project for a command that needs a valid one: its errors go to stderr and give exit
/// 3 (64 for a `--dir` that is not a directory). Warnings are `validate`'s business and are not
/// repeated by every command, only counted.
fn load_project(
    dir: Option<PathBuf>,
    envs: manifest::EnvScope,
    output: &mut Output,
) -> Result<manifest::Project, Exit> {
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(error) => {
            output.error(format!("cannot read the current directory: {error}"));
            return Err(Exit::Failure);
        }
    };
    let loaded = match crate::ops::load_project(&manifest::LoadOptions { dir, cwd, envs }) {
        Ok(loaded) => loaded,
        Err(error @ manifest::LoadError::DirNotFound(_)) => {
            output.error(format!("--dir: {error}"));
            return Err(Exit::Usage);
        }
        Err(error) => {
            output.error(error.to_string());
            return Err(Exit::Invalid);
        }
    };
    for diagnostic in loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == manifest::Severity::Error)
    {
        output.eline(crate::report::diagnostic(diagnostic));
    }
    if loaded.diagnostics.has_errors() {
        output.eline(crate::report::load_failure_summary(
            loaded.diagnostics.error_count(),
            loaded.diagnostics.warning_count(),
        ));
        return Err(Exit::Invalid);
    }
    loaded.project.ok_or(Exit::Invalid)
}

/// The project and the env `--env` (or `default_env`) selects, for a command about one env; the
/// exit code when either cannot be had (the message is printed).
fn load_env(
    args: &ProjectArgs,
    output: &mut Output,
) -> Result<(manifest::Project, crate::model::Env), Exit> {
    let project = load_project(
        args.dir.clone(),
        manifest::EnvScope::One(args.env.clone()),
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

/// Refuses (usage error) node names the project does not have, with a "did you mean" — every
/// command that takes node names (`test NODE…`, `plan --node`, `apply --node`) says so rather than
/// doing nothing for a typo.
fn check_node_names(
    project: &manifest::Project,
    names: &[String],
    output: &mut Output,
) -> Result<(), Exit> {
    let known: Vec<&str> = project
        .nodes
        .values()
        .flatten()
        .map(|n| n.key.name.as_str())
        .collect();
    for name in names {
        if !known.contains(&name.as_str()) {
            let hint = manifest::shape::did_you_mean(name, &known)
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            output.error(format!("no node named `{name}`{hint}"));
            return Err(Exit::Usage);
        }
    }
    Ok(())
}

/// A tokio runtime for a command (commands are otherwise synchronous).
fn runtime(output: &mut Output) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            output.error(format!("cannot start the async runtime: {error}"));
            None
        }
    }
}

/// Runs a future to completion on a fresh tokio runtime.
fn block_on<F: std::future::Future>(future: F, output: &mut Output) -> Option<F::Output> {
    runtime(output).map(|runtime| runtime.block_on(future))
}

//! `nodectl init [DIR]`: a working project in one command (`ops::init`). On a terminal, what the
//! flags did not say is asked (Enter keeps the default shown); elsewhere the flags and their
//! defaults are used as they are. Prints the files and the next commands.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Exit, Output};
use crate::ops::init::{self, Ci, InitSettings};

#[derive(Debug, Args)]
#[command(
    about = "Start a project: an emulator env, a sample node and fixtures, schemas, CI",
    after_help = "Writes nodectl.toml (an emulator env `local`, and an env `prod` when --region or --api-base is given), nodes/lookup-customer.toml with two fixtures that pass, .gitignore, .taplo.toml with the editor schemas under .schemas/, and with --ci a GitHub Actions or GitLab CI workflow. Refuses a folder that already has a nodectl.toml, and never writes over a file. On a terminal it asks for what the flags did not give.\n\nExamples:\n  nodectl init my-actions\n  nodectl init --region eu-west-1 --integration \"Web Services\" --ci github\n  cd my-actions && nodectl validate && nodectl test && nodectl apply --auto-approve"
)]
pub struct InitArgs {
    /// The project folder (created when missing; default: the current folder).
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The project's name (default: the folder's name).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The integration the actions live in (the emulator makes it under the same name).
    #[arg(long, value_name = "NAME")]
    integration: Option<String>,
    /// Your org's region (e.g. us-east-1, eu-west-1): adds the env `prod`.
    #[arg(long, value_name = "REGION", conflicts_with = "api_base")]
    region: Option<String>,
    /// Your org's API base instead of a region (e.g. https://api.mypurecloud.ie): adds `prod`.
    #[arg(long, value_name = "URL")]
    api_base: Option<String>,
    /// Also write a CI workflow.
    #[arg(long, value_enum, value_name = "SYSTEM")]
    ci: Option<CiArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CiArg {
    Github,
    Gitlab,
}

const DEFAULT_INTEGRATION: &str = "Web Services";

pub fn run(args: InitArgs, output: &mut Output) -> Exit {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let folder_name = init::project_name_of(&dir);
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut settings = InitSettings {
        name: args.name.clone().unwrap_or(folder_name),
        integration: args
            .integration
            .clone()
            .unwrap_or_else(|| DEFAULT_INTEGRATION.to_string()),
        region: args.region.clone(),
        api_base: args.api_base.clone(),
        ci: args.ci.map(|ci| match ci {
            CiArg::Github => Ci::Github,
            CiArg::Gitlab => Ci::Gitlab,
        }),
    };
    if interactive {
        ask_for_what_is_missing(&args, &mut settings, output);
    }
    match init::write(&dir, &settings) {
        Ok(written) => {
            output.line(format!(
                "created the project `{}` in {}:",
                settings.name,
                dir.display()
            ));
            for path in &written {
                output.line(format!("  {}", path.display()));
            }
            output.line(format!(
                "next:\n  cd {}\n  nodectl validate && nodectl test     # offline: every file checked, the sample's fixtures replayed\n  nodectl apply --auto-approve         # into the embedded emulator (env `local`)",
                dir.display()
            ));
            if settings.region.is_some() || settings.api_base.is_some() {
                output.line("  GENESYSCLOUD_OAUTHCLIENT_ID_PROD=… GENESYSCLOUD_OAUTHCLIENT_SECRET_PROD=… nodectl plan --env prod");
            }
            Exit::Success
        }
        Err(error) => {
            output.error(error.to_string());
            Exit::of_error(&error)
        }
    }
}

/// On a terminal: the region, the integration and the CI system, when no flag gave them.
fn ask_for_what_is_missing(args: &InitArgs, settings: &mut InitSettings, output: &mut Output) {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut ask = |question: &str, default: &str, output: &mut Output| -> String {
        let _ = write!(output.err, "{question} [{default}]: ");
        let _ = output.err.flush();
        match lines.next() {
            Some(Ok(line)) if !line.trim().is_empty() => line.trim().to_string(),
            _ => default.to_string(),
        }
    };
    if args.integration.is_none() {
        settings.integration = ask("Integration of your actions", &settings.integration, output);
    }
    if args.region.is_none() && args.api_base.is_none() {
        let region = ask(
            "Your org's region, e.g. us-east-1 (none: the emulator only)",
            "none",
            output,
        );
        settings.region = (region != "none").then_some(region);
    }
    if args.ci.is_none() {
        settings.ci = match ask("CI workflow: github, gitlab or none", "none", output).as_str() {
            "github" => Some(Ci::Github),
            "gitlab" => Some(Ci::Gitlab),
            _ => None,
        };
    }
}

//! `nodectl validate`: offline checks of every manifest and fixture, all problems at once.

use clap::Args;

use super::{Exit, Output, ProjectArgs};
use crate::manifest::{self, EnvScope, LoadOptions};
use crate::report;

#[derive(Debug, Args)]
#[command(
    about = "Check every manifest and fixture offline; report all problems at once",
    after_help = "Without --env every env is checked. Exit 3 on errors; warnings never change the exit code.\n\nExamples:\n  nodectl validate\n  nodectl validate --dir manifests --env prod"
)]
pub struct ValidateArgs {
    #[command(flatten)]
    project: ProjectArgs,
}

pub fn run(args: ValidateArgs, output: &mut Output) -> Exit {
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(error) => {
            output.error(format!("cannot read the current directory: {error}"));
            return Exit::Failure;
        }
    };
    let options = LoadOptions {
        dir: args.project.dir,
        cwd,
        envs: match args.project.env {
            Some(env) => EnvScope::One(Some(env)),
            None => EnvScope::All,
        },
    };
    let loaded = match crate::ops::load_project(&options) {
        Ok(loaded) => loaded,
        Err(error @ manifest::LoadError::DirNotFound(_)) => {
            output.error(format!("--dir: {error}"));
            return Exit::Usage;
        }
        Err(error) => {
            output.error(error.to_string());
            return Exit::Invalid;
        }
    };
    let diags = &loaded.diagnostics;
    for diagnostic in diags.iter() {
        output.line(report::diagnostic(diagnostic));
    }
    if let Some(project) = &loaded.project {
        let envs = if project.checked_envs.is_empty() {
            "none".to_string()
        } else {
            project.checked_envs.join(", ")
        };
        output.line(format!(
            "checked {} node file(s) and {} fixture file(s) in env(s): {envs}",
            project.node_files, project.fixture_files
        ));
    }
    output.line(report::diagnostics_summary(
        diags.error_count(),
        diags.warning_count(),
    ));
    if diags.has_errors() {
        Exit::Invalid
    } else {
        Exit::Success
    }
}

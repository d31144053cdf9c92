//! What `run` and `record` share: the arguments naming the node, its input and credentials; the
//! node, its credentials and the live execution context are resolved by `ops::live::prepare`.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::{Exit, Output, ProjectArgs};
use crate::manifest::EnvScope;
use crate::manifest::credentials::CredentialSource;
use crate::ops;
pub use crate::ops::live::Prepared;

/// The arguments that name a node and what to execute it with.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// The node's name.
    node: String,
    /// The input object: JSON text, or @FILE.
    #[arg(long, value_name = "JSON|@FILE")]
    input: String,
    /// Credential values as a JSON object: @FILE or - for standard input (never the values themselves).
    #[arg(long, value_name = "@FILE|-")]
    credentials: Option<String>,
    #[command(flatten)]
    project: ProjectArgs,
}

/// `--input`: JSON text or `@file`, which must hold a JSON object.
fn read_input(argument: &str) -> Result<Value, String> {
    let (text, origin) = match argument.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| format!("--input: cannot read `{path}`: {e}"))?,
            PathBuf::from(path).display().to_string(),
        ),
        None => (argument.to_string(), "--input".to_string()),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(format!("{origin}: the input must be a JSON object")),
        Err(e) => Err(format!("{origin}: not JSON: {e}")),
    }
}

/// Loads the project, reads the input, and has the node, credentials and context resolved; the exit code to
/// return when something is wrong (the message is already printed).
pub fn prepare(args: LiveArgs, output: &mut Output) -> Result<Prepared, Exit> {
    let project = super::load_project(args.project.dir, EnvScope::One(args.project.env), output)?;
    let usage = |output: &mut Output, message: String| {
        output.error(message);
        Exit::Usage
    };
    let input = read_input(&args.input).map_err(|m| usage(output, m))?;
    let source = args
        .credentials
        .as_deref()
        .map(CredentialSource::parse)
        .transpose()
        .map_err(|e| usage(output, e.to_string()))?;
    let env_name = project.checked_envs.first().cloned().ok_or_else(|| {
        usage(
            output,
            "no env selected: pass --env or set default_env in nodectl.toml".to_string(),
        )
    })?;
    if !(project.config.envs.contains_key(&env_name) && project.nodes.contains_key(&env_name)) {
        return Err(Exit::Invalid);
    }
    ops::live::prepare(project, env_name, &args.node, input, source.as_ref()).map_err(|error| {
        output.error(error.to_string());
        Exit::of_error(&error)
    })
}

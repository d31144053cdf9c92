//! What `run` and `record` share: the node, its input and credentials, and the live execution
//! context of the selected env.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::{Exit, Output, ProjectArgs};
use crate::manifest::credentials::{self, CredentialSource};
use crate::manifest::{EnvScope, shape::did_you_mean};
pub use crate::ops::live::Prepared;
use crate::runtime::{CompiledNode, ExecContext};
use crate::transport::live::LiveTransport;

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

/// Loads the project and resolves the node, input, credentials and context; the exit code to
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
    let (Some(env), Some(nodes)) = (
        project.config.envs.get(&env_name),
        project.nodes.get(&env_name),
    ) else {
        return Err(Exit::Invalid);
    };
    let Some(node) = nodes.iter().find(|n| n.key.name == args.node) else {
        let names: Vec<&str> = nodes.iter().map(|n| n.key.name.as_str()).collect();
        let hint = did_you_mean(&args.node, &names)
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        return Err(usage(
            output,
            format!("no node named `{}` in env `{env_name}`{hint}", args.node),
        ));
    };
    let credentials = credentials::load(&project.config.dir, env, source.as_ref())
        .map_err(|e| usage(output, e.to_string()))?;
    let mut context = ExecContext::new(env.org_id.as_deref(), credentials);
    context.api_base = crate::manifest::project::pipeline_api_base()
        .map_err(|e| usage(output, e))?
        .or_else(|| env.target.api_base().map(str::to_string));
    let transport = LiveTransport::new().map_err(|e| {
        output.error(e.to_string());
        Exit::Failure
    })?;
    let node = CompiledNode::new(node.clone());
    Ok(Prepared {
        project,
        env_name,
        node,
        input,
        context,
        transport,
    })
}

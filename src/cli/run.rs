//! `nodectl run`: execute one node for real against its upstream and print the output (or the
//! Genesys-shaped error body) as JSON; `--trace` prints the whole `TestExecutionResult` instead.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::{Exit, Output, ProjectArgs};
use crate::manifest::credentials::{self, CredentialSource};
use crate::manifest::{EnvScope, shape::did_you_mean};
use crate::model::Target;
use crate::runtime::{CompiledNode, ExecContext, Runtime, SystemClock};
use crate::transport::live::LiveTransport;

#[derive(Debug, Args)]
#[command(
    about = "Execute one node for real and print its output as JSON",
    after_help = "Credentials come from --credentials @FILE or - (stdin), else $NODECTL_CREDENTIALS_<ENV>, else the env's credentials_file (default .nodectl/credentials/<env>.json). Exit 0 on success, 1 when the execution fails.\n\nExamples:\n  nodectl run \"Lookup Customer\" --input '{\"customerId\": \"c-42\"}'\n  nodectl run \"Get Payment Status\" --input @input.json --credentials @creds.json --env prod --trace"
)]
pub struct RunArgs {
    /// The node's name.
    node: String,
    /// The input object: JSON text, or @FILE.
    #[arg(long, value_name = "JSON|@FILE")]
    input: String,
    /// Credential values as a JSON object: @FILE or - for standard input.
    #[arg(long, value_name = "@FILE|-")]
    credentials: Option<String>,
    /// Print the step trace (Genesys's TestExecutionResult) instead of only the output.
    #[arg(long)]
    trace: bool,
    #[command(flatten)]
    project: ProjectArgs,
}

/// `--input`: JSON text or `@file`, which must hold a JSON object.
pub fn read_input(argument: &str) -> Result<Value, String> {
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

pub fn run(args: RunArgs, output: &mut Output) -> Exit {
    let Some(project) =
        super::load_project(args.project.dir, EnvScope::One(args.project.env), output)
    else {
        return Exit::Invalid;
    };
    let input = match read_input(&args.input) {
        Ok(input) => input,
        Err(message) => {
            output.error(message);
            return Exit::Usage;
        }
    };
    let source = match args
        .credentials
        .as_deref()
        .map(CredentialSource::parse)
        .transpose()
    {
        Ok(source) => source,
        Err(error) => {
            output.error(error.to_string());
            return Exit::Usage;
        }
    };
    let Some(env_name) = project.checked_envs.first().cloned() else {
        output.error("no env selected: pass --env or set default_env in nodectl.toml");
        return Exit::Usage;
    };
    let (Some(env), Some(nodes)) = (
        project.config.envs.get(&env_name),
        project.nodes.get(&env_name),
    ) else {
        return Exit::Invalid;
    };
    let Some(node) = nodes.iter().find(|n| n.key.name == args.node) else {
        let names: Vec<&str> = nodes.iter().map(|n| n.key.name.as_str()).collect();
        let hint = did_you_mean(&args.node, &names)
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        output.error(format!(
            "no node named `{}` in env `{env_name}`{hint}",
            args.node
        ));
        return Exit::Usage;
    };
    let credentials = match credentials::load(&project.config.dir, env, source.as_ref()) {
        Ok(credentials) => credentials,
        Err(error) => {
            output.error(error.to_string());
            return Exit::Usage;
        }
    };
    let mut context = ExecContext::new(env.org_id.as_deref(), credentials);
    context.api_base = std::env::var("NODECTL_API_BASE")
        .ok()
        .or(match &env.target {
            Target::Region { api_base, .. } => Some(api_base.clone()),
            Target::ApiBase(base) => Some(base.clone()),
            Target::Emulator => None,
        });
    let transport = match LiveTransport::new() {
        Ok(transport) => transport,
        Err(error) => {
            output.error(error.to_string());
            return Exit::Failure;
        }
    };
    let compiled = CompiledNode::new(node.clone());
    let runtime = Runtime::new(transport, SystemClock);
    let Some(execution) = super::block_on(runtime.execute(&compiled, &input, &context), output)
    else {
        return Exit::Failure;
    };
    let printed = if args.trace {
        execution.test_result()
    } else {
        match &execution.result {
            Ok(value) => value.clone(),
            Err(error) => error.genesys_body(&execution.context_id),
        }
    };
    output.line(serde_json::to_string_pretty(&printed).unwrap_or_default());
    if execution.success() {
        Exit::Success
    } else {
        Exit::Failure
    }
}

//! `nodectl record`: run a node live and write a fixture that replays green as written, with no
//! secret in it.

use std::path::PathBuf;

use clap::Args;

use super::{Exit, Output, ProjectArgs};
use crate::fixture::record;
use crate::manifest::credentials::{self, CredentialSource};
use crate::manifest::{EnvScope, shape::did_you_mean};
use crate::model::Target;
use crate::runtime::error::kind_name;
use crate::runtime::{CompiledNode, ExecContext};
use crate::transport::live::LiveTransport;

#[derive(Debug, Args)]
#[command(
    about = "Run a node live and record the execution as a fixture",
    after_help = "The fixture holds placeholders (<redacted:credentials.NAME>, and <redacted:input.NAME> for a secure node's inputs) instead of secrets; credential values are removed from the recorded responses and Set-Cookie is dropped. --out is relative to the project directory.\n\nExamples:\n  nodectl record \"Lookup Customer\" --input '{\"customerId\": \"c-42\"}' --out fixtures/lookup-customer/gold.toml\n  nodectl record \"Get Payment Status\" --input @in.json --credentials - --out fixtures/payments/ok.toml --force < creds.json"
)]
pub struct RecordArgs {
    /// The node's name.
    node: String,
    /// The input object: JSON text, or @FILE.
    #[arg(long, value_name = "JSON|@FILE")]
    input: String,
    /// The fixture file to write (relative to the project directory).
    #[arg(long, value_name = "FIXTURE")]
    out: PathBuf,
    /// Credential values as a JSON object: @FILE or - for standard input.
    #[arg(long, value_name = "@FILE|-")]
    credentials: Option<String>,
    /// Overwrite an existing fixture.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    project: ProjectArgs,
}

pub fn run(args: RecordArgs, output: &mut Output) -> Exit {
    let Some(project) =
        super::load_project(args.project.dir, EnvScope::One(args.project.env), output)
    else {
        return Exit::Invalid;
    };
    let input = match super::run::read_input(&args.input) {
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
    let target = project.config.dir.join(&args.out);
    if target.exists() && !args.force {
        output.error(format!(
            "`{}` exists; refusing to overwrite it without --force",
            args.out.display()
        ));
        return Exit::Refused;
    }
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
    let Some(recorded) = super::block_on(
        record::record(&compiled, &input, &context, transport, &env_name),
        output,
    ) else {
        return Exit::Failure;
    };
    let recorded = match recorded {
        Ok(recorded) => recorded,
        Err(error) => {
            output.error(error.to_string());
            return Exit::Failure;
        }
    };
    if let Some(parent) = target.parent()
        && let Err(error) = std::fs::create_dir_all(parent)
    {
        output.error(format!("cannot create `{}`: {error}", parent.display()));
        return Exit::Failure;
    }
    if let Err(error) = std::fs::write(&target, &recorded.toml) {
        output.error(format!("cannot write `{}`: {error}", args.out.display()));
        return Exit::Failure;
    }
    let outcome = |e: &crate::runtime::Execution| match &e.result {
        Ok(_) => "success".to_string(),
        Err(error) => kind_name(error.kind).to_string(),
    };
    output.line(format!(
        "recorded {}: {} attempt(s), {}",
        args.out.display(),
        recorded.live.attempts.len(),
        outcome(&recorded.live)
    ));
    if outcome(&recorded.live) != outcome(&recorded.replay) {
        output.eline(format!(
            "warning: the replay with placeholders ends in {} while the live run ended in {}; check the fixture's [expect]",
            outcome(&recorded.replay),
            outcome(&recorded.live)
        ));
    }
    if !args.out.starts_with(&project.config.fixtures_dir) {
        output.eline(format!(
            "warning: `{}` is outside {}/, so `nodectl test` will not run it",
            args.out.display(),
            project.config.fixtures_dir.display()
        ));
    }
    Exit::Success
}

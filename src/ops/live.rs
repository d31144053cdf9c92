//! What a live execution of one node (`run`, `record`) is made of, and how it is resolved: the
//! node of the selected env, its credentials (`manifest::credentials`), and the execution context
//! with the API base (the pipeline's `NODECTL_API_BASE`, else the env's region or `api_base`), and
//! for a Genesys Cloud Data Actions node the token source granting its bearer token.

use std::sync::Arc;

use serde_json::Value;

use super::OpsError;
use crate::manifest::credentials::{self, CredentialSource};
use crate::manifest::{Project, shape::did_you_mean};
use crate::model::IntegrationType;
use crate::runtime::{CompiledNode, ExecContext};
use crate::transport::live::LiveTransport;
use crate::transport::token::{CachedTokens, ClientCredentialsGrant, TokenSource};

/// Everything a live execution needs.
pub struct Prepared {
    pub project: Project,
    pub env_name: String,
    pub node: CompiledNode,
    pub input: Value,
    pub context: ExecContext,
    pub transport: LiveTransport,
}

/// Resolves the node `node` of env `env_name` (which the project holds), its credentials from
/// `source` (or the env's defaults) and the execution context; `input` is the node's input object.
pub fn prepare(
    project: Project,
    env_name: String,
    node: &str,
    input: Value,
    source: Option<&CredentialSource>,
) -> Result<Prepared, OpsError> {
    let no_env = || OpsError::Usage(format!("env `{env_name}` is not in the project"));
    let env = project.config.envs.get(&env_name).ok_or_else(no_env)?;
    let nodes = project.nodes.get(&env_name).ok_or_else(no_env)?;
    let Some(found) = nodes.iter().find(|n| n.key.name == node) else {
        let names: Vec<&str> = nodes.iter().map(|n| n.key.name.as_str()).collect();
        let hint = did_you_mean(node, &names)
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        return Err(OpsError::Usage(format!(
            "no node named `{node}` in env `{env_name}`{hint}"
        )));
    };
    let credentials = credentials::load(&project.config.dir, env, source)
        .map_err(|e| OpsError::Usage(e.to_string()))?;
    let mut context = ExecContext::new(env.org_id.as_deref(), credentials);
    context.api_base = crate::manifest::project::pipeline_api_base()
        .map_err(OpsError::Usage)?
        .or_else(|| env.target.api_base().map(str::to_string));
    if found.integration_type == IntegrationType::GenesysCloud {
        context.tokens = Some(live_tokens(
            &context,
            &credentials::origin(env, source),
            &env_name,
        )?);
    }
    let transport = LiveTransport::new().map_err(|e| OpsError::Io(e.to_string()))?;
    // A node reading `${authResponse.X}` runs its integration's custom authentication action first.
    let node = CompiledNode::linked(found.clone(), nodes);
    Ok(Prepared {
        project,
        env_name,
        node,
        input,
        context,
        transport,
    })
}

/// The token source of a Genesys Cloud Data Actions node (docs/runtime.md): the client-credentials
/// grant of the OAuth client in the env's credentials (`clientId`, `clientSecret`, read from
/// `origin`), at the login host of the env's API base and nowhere else (docs/security.md).
fn live_tokens(
    context: &ExecContext,
    origin: &str,
    env_name: &str,
) -> Result<Arc<dyn TokenSource>, OpsError> {
    let Some(api_base) = &context.api_base else {
        return Err(OpsError::Usage(format!(
            "a Genesys Cloud Data Actions node calls the env's Platform API, and env `{env_name}` has no API base here (an `emulator = true` env: run `nodectl emulator` and set `api_base`, or set NODECTL_API_BASE)"
        )));
    };
    let token_url = format!(
        "{}/oauth/token",
        crate::genesys::client::login_base_for(api_base).trim_end_matches('/')
    );
    let grant = ClientCredentialsGrant::new(&context.credentials, origin, token_url);
    grant.check().map_err(OpsError::Credentials)?;
    Ok(Arc::new(CachedTokens::new(grant)))
}

//! What serve serves: the nodes of one env, each compiled once (templates parsed, schema validators
//! built), their fixtures (for `--replay`), the live execution context (the env's org id, API base
//! and credentials), and the in-memory Genesys org built from the same nodes with
//! `emulator::convert::post_input` + `Org::create`, which the Genesys-compatible `/test` and
//! `/execute` endpoints run through `emulator::exec`. A set is immutable: a `--watch` reload
//! builds a new one and swaps it in.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::emulator::convert::{post_input, to_node};
use crate::emulator::state::Org;
use crate::manifest::{EnvScope, LoadOptions, Severity, credentials};
use crate::model::{Fixture, IntegrationType, Node};
use crate::runtime::{CompiledNode, ExecContext, ZERO_UUID};
use crate::transport::token::{CachedTokens, ClientCredentialsGrant};

/// A loaded project, before compilation.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub env: String,
    pub nodes: Vec<Node>,
    pub fixtures: Vec<Fixture>,
    /// The live context: `org_id`, `api_base` and the env's credentials.
    pub context: ExecContext,
}

/// The compiled set.
pub struct NodeSet {
    pub env: String,
    /// By name; the first node of a name wins (names are unique per integration only).
    nodes: BTreeMap<String, Arc<CompiledNode>>,
    /// Fixtures by node name, in file order.
    fixtures: BTreeMap<String, Vec<Fixture>>,
    pub context: ExecContext,
    /// The org `/test` and `/execute` run against.
    pub org: Org,
    /// Its actions compiled once, by action id (`convert::to_node` of each).
    actions: BTreeMap<String, Arc<CompiledNode>>,
    /// Answers of cached nodes by (node, input text) — see `Answers`.
    pub answers: Answers,
}

/// The fast path of cached nodes: the output (as JSON text) of a fresh successful execution, by
/// node name and the exact request body, until the node's `ttl_seconds` runs out. With the set's
/// credentials fixed, the same input renders the same request, so this answers exactly what the
/// runtime's cache would — without parsing, validating and rendering again to compute its key (a
/// body that differs only in spacing just misses and goes to the runtime). It lives in the
/// `NodeSet`, so a reload (new manifests, new credentials) starts it empty.
#[derive(Default)]
pub struct Answers {
    entries: std::sync::Mutex<
        std::collections::HashMap<String, std::collections::HashMap<Vec<u8>, Answer>>,
    >,
}

struct Answer {
    expires: std::time::Instant,
    output: std::sync::Arc<str>,
}

impl Answers {
    /// Keeps at most this many answers per node; beyond it the expired ones go, then all of them.
    const LIMIT: usize = 10_000;

    pub fn get(&self, node: &str, body: &[u8]) -> Option<std::sync::Arc<str>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(node)
            .and_then(|answers| answers.get(body))
            .filter(|answer| answer.expires > std::time::Instant::now())
            .map(|answer| answer.output.clone())
    }

    pub fn put(
        &self,
        node: &str,
        body: &[u8],
        output: &serde_json::Value,
        ttl: std::time::Duration,
    ) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        let answers = entries.entry(node.to_string()).or_default();
        if answers.len() >= Self::LIMIT {
            answers.retain(|_, answer| answer.expires > now);
            if answers.len() >= Self::LIMIT {
                answers.clear();
            }
        }
        let answer = Answer {
            expires: now + ttl,
            output: std::sync::Arc::from(output.to_string()),
        };
        answers.insert(body.to_vec(), answer);
    }
}

impl NodeSet {
    /// Compiles every node once and builds the org. Nodes the org refuses (Genesys's own checks)
    /// stay available on `/simulate` and are reported in the returned warnings.
    pub fn build(snapshot: Snapshot) -> (NodeSet, Vec<String>) {
        let mut warnings = Vec::new();
        let mut org = Org::new(0x5e57e);
        org.org_id = if snapshot.context.org_id.is_empty() {
            ZERO_UUID.to_string()
        } else {
            snapshot.context.org_id.clone()
        };
        let integrations: BTreeMap<String, &str> = snapshot
            .nodes
            .iter()
            .map(|n| (n.key.integration.to_string(), n.integration_type.as_str()))
            .collect();
        let mut ids = BTreeMap::new();
        for (name, integration_type) in integrations {
            let id = org.ensure_integration(&name, integration_type);
            if let Some(integration) = org.integrations.iter_mut().find(|i| i.id == id) {
                integration.credentials = snapshot.context.credentials.clone();
            }
            ids.insert(name, id);
        }
        // The custom authentication action of each integration, compiled once: what a node (or an
        // org action) reading `${authResponse.X}` runs first (the runtime caches its answer).
        let auth_by_integration: BTreeMap<String, Arc<CompiledNode>> = snapshot
            .nodes
            .iter()
            .filter(|n| n.custom_auth)
            .map(|n| {
                (
                    n.key.integration.to_string(),
                    Arc::new(CompiledNode::new(n.clone())),
                )
            })
            .collect();
        let auth_of_id = |integration_id: &str| {
            ids.iter()
                .find(|(_, id)| id.as_str() == integration_id)
                .and_then(|(name, _)| auth_by_integration.get(name))
                .cloned()
        };
        let mut nodes = BTreeMap::new();
        for node in snapshot.nodes {
            if let Some(id) = ids.get(&node.key.integration.to_string())
                && let Err(error) = org.create(post_input(&node, id))
            {
                warnings.push(format!(
                    "node `{}` is not available on /api/v2/integrations/actions: {}",
                    node.key.name, error.message
                ));
            }
            let name = node.key.name.clone();
            let auth = auth_by_integration
                .get(&node.key.integration.to_string())
                .cloned();
            nodes
                .entry(name)
                .or_insert_with(|| Arc::new(CompiledNode::new(node).with_custom_auth(auth)));
        }
        let mut fixtures: BTreeMap<String, Vec<Fixture>> = BTreeMap::new();
        for fixture in snapshot.fixtures {
            if fixture.env == snapshot.env {
                fixtures
                    .entry(fixture.node.clone())
                    .or_default()
                    .push(fixture);
            }
        }
        let actions = org
            .actions
            .iter()
            .filter_map(|(id, action)| {
                let integration_type = org
                    .integration(&action.integration_id)
                    .map_or(IntegrationType::WEB_SERVICES, |i| {
                        i.integration_type.as_str()
                    });
                let node = to_node(action, integration_type).ok()?;
                let auth = auth_of_id(&action.integration_id);
                Some((
                    id.clone(),
                    Arc::new(CompiledNode::new(node).with_custom_auth(auth)),
                ))
            })
            .collect();
        let set = NodeSet {
            env: snapshot.env,
            nodes,
            fixtures,
            context: snapshot.context,
            org,
            actions,
            answers: Answers::default(),
        };
        (set, warnings)
    }

    pub fn node(&self, name: &str) -> Option<&Arc<CompiledNode>> {
        self.nodes.get(name)
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Arc<CompiledNode>> {
        self.nodes.values()
    }

    pub fn names(&self) -> Vec<&str> {
        self.nodes.keys().map(String::as_str).collect()
    }

    /// The org's action with this id, compiled.
    pub fn action(&self, id: &str) -> Option<&Arc<CompiledNode>> {
        self.actions.get(id)
    }

    /// The node's fixtures, in file order.
    pub fn fixtures(&self, node: &str) -> &[Fixture] {
        self.fixtures.get(node).map_or(&[], Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// Loads and validates (with `validate`'s checks) the project at `dir` for `env` (the project's
/// `default_env` when `None`), with the env's credentials from its sources
/// (`NODECTL_CREDENTIALS_<ENV>`, else its `credentials_file`). Errors are the diagnostics text.
pub fn load_project(dir: Option<PathBuf>, env: Option<String>) -> Result<Snapshot, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let loaded = crate::lint::load(&LoadOptions {
        dir,
        cwd,
        envs: EnvScope::One(env),
    })
    .map_err(|e| e.to_string())?;
    if loaded.diagnostics.has_errors() {
        let lines: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(ToString::to_string)
            .collect();
        return Err(lines.join("\n"));
    }
    let project = loaded
        .project
        .ok_or_else(|| "the project could not be loaded".to_string())?;
    let env_name = project.checked_envs.first().cloned().ok_or_else(|| {
        "no env selected: pass --env or set default_env in nodectl.toml".to_string()
    })?;
    let env = project
        .config
        .envs
        .get(&env_name)
        .ok_or_else(|| format!("no env `{env_name}` in nodectl.toml"))?;
    let credentials =
        credentials::load(&project.config.dir, env, None).map_err(|e| e.to_string())?;
    let mut context = ExecContext::new(env.org_id.as_deref(), credentials);
    context.api_base = crate::manifest::project::pipeline_api_base()?
        .or_else(|| env.target.api_base().map(str::to_string));
    // Genesys Cloud Data Actions nodes authenticate with the env's OAuth client at the login host
    // of the API base; missing credentials fail those nodes' `authenticate` step, naming the source.
    if let Some(api_base) = &context.api_base {
        let token_url = format!(
            "{}/oauth/token",
            crate::genesys::client::login_base_for(api_base).trim_end_matches('/')
        );
        let grant = ClientCredentialsGrant::new(
            &context.credentials,
            &credentials::origin(env, None),
            token_url,
        );
        context.tokens = Some(Arc::new(CachedTokens::new(grant)));
    }
    let nodes = project.nodes.get(&env_name).cloned().unwrap_or_default();
    Ok(Snapshot {
        env: env_name,
        nodes,
        fixtures: project.fixtures,
        context,
    })
}

//! `nodectl parity`'s operation: for each node of the env that opts in (`[local] parity = true`),
//! each of its fixtures' inputs goes to the org's test endpoint for the node's action (published,
//! or its draft), and Genesys's trace is compared with nodectl's dry-run of the same fixture
//! (`crate::parity`). The org's test executes the real request, hence the opt-in; the tests run
//! one at a time.

use std::path::PathBuf;
use std::sync::Arc;

use super::OpsError;
use crate::fixture;
use crate::manifest::{Project, shape::did_you_mean};
use crate::model::{Env, Fixture, Node};
use crate::parity::{self, Comparison};
use crate::runtime::CompiledNode;

/// What to compare.
#[derive(Debug, Clone, Default)]
pub struct ParitySettings {
    /// Only these nodes (each must opt in); all that opt in when empty.
    pub nodes: Vec<String>,
    /// Test the actions' drafts (`…/draft/test`) instead of the published versions.
    pub draft: bool,
}

/// The outcome for every node of the env.
#[derive(Debug)]
pub struct ParityReport {
    pub env: String,
    /// The org's API base.
    pub api_base: String,
    pub draft: bool,
    pub nodes: Vec<NodeParity>,
}

impl ParityReport {
    /// Every compared execution agrees and every opted-in node could be compared.
    pub fn agrees(&self) -> bool {
        self.nodes.iter().all(|n| match &n.outcome {
            NodeOutcome::NotOptedIn | NodeOutcome::NoFixtures => true,
            NodeOutcome::NotInOrg => false,
            NodeOutcome::Fixtures(fixtures) => fixtures.iter().all(|f| match &f.outcome {
                FixtureOutcome::Compared(comparison) => comparison.agrees(),
                FixtureOutcome::TestFailed(_) => false,
            }),
        })
    }
}

#[derive(Debug)]
pub struct NodeParity {
    pub node: String,
    pub outcome: NodeOutcome,
}

#[derive(Debug)]
pub enum NodeOutcome {
    /// `[local] parity` is not set: the org is not asked to execute it.
    NotOptedIn,
    /// The org has no action of this name in the node's integration (not applied yet).
    NotInOrg,
    NoFixtures,
    Fixtures(Vec<FixtureParity>),
}

#[derive(Debug)]
pub struct FixtureParity {
    pub fixture: String,
    /// The fixture file, relative to the project directory.
    pub source: PathBuf,
    pub outcome: FixtureOutcome,
}

#[derive(Debug)]
pub enum FixtureOutcome {
    Compared(Comparison),
    /// The org's test endpoint did not answer a trace (`POST … -> status: message`).
    TestFailed(String),
}

/// Compares the env's opted-in nodes with the org's executions of their actions.
pub async fn run(
    project: &Project,
    env_name: &str,
    settings: &ParitySettings,
) -> Result<ParityReport, OpsError> {
    let no_env = || OpsError::Usage(format!("env `{env_name}` is not in the project"));
    let env = project.config.envs.get(env_name).ok_or_else(no_env)?;
    let nodes = project.nodes.get(env_name).ok_or_else(no_env)?;
    let selected = select(nodes, &settings.nodes, env_name)?;

    let connection = super::connect(project, env, None, None).await?;
    let result = compare_all(project, env, nodes, &selected, settings, &connection).await;
    connection.close().await?;
    let outcomes = result?;
    Ok(ParityReport {
        env: env_name.to_string(),
        api_base: connection_base(env),
        draft: settings.draft,
        nodes: outcomes,
    })
}

/// The nodes to report on, by name: those named (each must exist and opt in), else every node.
fn select<'a>(
    nodes: &'a [Node],
    names: &[String],
    env_name: &str,
) -> Result<Vec<&'a Node>, OpsError> {
    let mut selected: Vec<&Node> = if names.is_empty() {
        nodes.iter().collect()
    } else {
        let known: Vec<&str> = nodes.iter().map(|n| n.key.name.as_str()).collect();
        let mut chosen = Vec::with_capacity(names.len());
        for name in names {
            let Some(node) = nodes.iter().find(|n| &n.key.name == name) else {
                let hint = did_you_mean(name, &known)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(OpsError::Usage(format!(
                    "no node named `{name}` in env `{env_name}`{hint}"
                )));
            };
            if !node.local.parity {
                return Err(OpsError::Usage(format!(
                    "node `{name}` does not opt in to parity checks: a test executes its real request; add `parity = true` under `[local]` in {}",
                    node.source.display()
                )));
            }
            chosen.push(node);
        }
        chosen
    };
    selected.sort_by(|a, b| a.key.name.cmp(&b.key.name));
    if !selected.iter().any(|n| n.local.parity) {
        return Err(OpsError::Usage(format!(
            "no node of env `{env_name}` opts in to parity checks (`parity = true` under `[local]`): a test executes the real request, so each node opts in"
        )));
    }
    Ok(selected)
}

async fn compare_all(
    project: &Project,
    env: &Env,
    nodes: &[Node],
    selected: &[&Node],
    settings: &ParitySettings,
    connection: &super::Connection,
) -> Result<Vec<NodeParity>, OpsError> {
    let remote = &connection.remote;
    let integrations = remote.resolve_integrations(&env.integrations).await?;
    let api_base = remote.client().options().api_base.clone();
    let mut outcomes = Vec::with_capacity(selected.len());
    for node in selected {
        let outcome = if !node.local.parity {
            NodeOutcome::NotOptedIn
        } else {
            let action = match integrations
                .iter()
                .find(|i| i.reference == node.key.integration)
            {
                Some(integration) => remote.find_by_name(&integration.id, &node.key.name).await?,
                None => None,
            };
            match action {
                None => NodeOutcome::NotInOrg,
                Some(action) => {
                    let fixtures: Vec<&Fixture> = project
                        .fixtures
                        .iter()
                        .filter(|f| f.env == env.name && f.node == node.key.name)
                        .collect();
                    if fixtures.is_empty() {
                        NodeOutcome::NoFixtures
                    } else {
                        let compiled = Arc::new(CompiledNode::linked((*node).clone(), nodes));
                        let mut compared = Vec::with_capacity(fixtures.len());
                        for fixture in fixtures {
                            compared.push(
                                compare_fixture(
                                    project,
                                    &compiled,
                                    fixture,
                                    &action.id,
                                    &api_base,
                                    settings.draft,
                                    remote,
                                )
                                .await,
                            );
                        }
                        NodeOutcome::Fixtures(compared)
                    }
                }
            }
        };
        outcomes.push(NodeParity {
            node: node.key.name.clone(),
            outcome,
        });
    }
    Ok(outcomes)
}

/// One fixture: the org's test of its input, and nodectl's dry-run of it (one execution, with the
/// org's API base, so that resolved paths compare).
async fn compare_fixture(
    project: &Project,
    node: &Arc<CompiledNode>,
    fixture: &Fixture,
    action_id: &str,
    api_base: &str,
    draft: bool,
    remote: &crate::remote::Remote,
) -> FixtureParity {
    let outcome = match remote.test_action(action_id, draft, &fixture.input).await {
        Err(error) => FixtureOutcome::TestFailed(error.to_string()),
        Ok(genesys) => {
            let mut once = fixture.clone();
            once.repeat = 1;
            let mut context = fixture::dry_run_context(project, &once);
            context.api_base = Some(api_base.to_string());
            let ours = fixture::run_fixture(Some(node.clone()), once, context).await;
            let operations = ours
                .executions
                .first()
                .map(|e| e.operations.as_slice())
                .unwrap_or_default();
            FixtureOutcome::Compared(parity::compare(
                operations,
                &genesys.operations,
                &node.secret_parts(),
            ))
        }
    };
    FixtureParity {
        fixture: fixture.name.clone(),
        source: fixture.source.clone(),
        outcome,
    }
}

/// The API base the report names: the pipeline's, the env's, or the embedded emulator.
fn connection_base(env: &Env) -> String {
    if let Ok(Some(base)) = crate::manifest::project::pipeline_api_base() {
        return base;
    }
    env.target
        .api_base()
        .map_or_else(|| "the embedded emulator".to_string(), str::to_string)
}

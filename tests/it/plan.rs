//! The pure planner driven directly, without a process or an org: each case in
//! `tests/cases/plan/<case>/` is the desired project (`desired/`: a `nodectl.toml` and node
//! manifests, as a user writes them), the org (`org/`: the same kind of project, whose nodes stand
//! for the actions the org holds, and `org.toml` giving each one's id and version, and the actions
//! of integrations the env does not manage), the flags (`case.toml`), and the plan `plan::compute`
//! must return, as `nodectl plan --verbose` shows it (`expected.txt`; `UPDATE_EXPECT=1` rewrites).
//! The CLI scenarios (`tests/cases/scenarios/`) keep the end-to-end path; these pin the planning
//! rules themselves.
//!
//! `org.toml`: `[integrations]` (id → name; the first listed is the env's own), `[[action]]` with
//! `name`, `integration` (a name of `[integrations]`), `id`, `version` — one per node of `org/` —
//! `[[unmanaged]]` (`id`, `name`, `integration_id`, `integration_name`), and `[types]` (id → the
//! integration type where it is not `custom-rest-actions`, as the org's listing says). `case.toml`: `env`
//! (default `local`), `prune`, `allow_replace`, `force`, `only`.

use std::collections::BTreeMap;
use std::path::Path;

use nodectl::manifest::{EnvScope, LoadOptions};
use nodectl::model::{IntegrationRef, Node};
use nodectl::plan::{DesiredNode, Flags, PlanInput, RemoteState, Unmanaged};

use crate::expect::{Failures, cases};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    prune: bool,
    #[serde(default)]
    allow_replace: bool,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    only: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Org {
    integrations: indexmap::IndexMap<String, String>,
    #[serde(default)]
    action: Vec<OrgAction>,
    #[serde(default)]
    unmanaged: Vec<OrgUnmanaged>,
    #[serde(default)]
    types: BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgAction {
    name: String,
    integration: String,
    id: String,
    version: i64,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgUnmanaged {
    id: String,
    name: String,
    integration_id: String,
    integration_name: String,
}

/// The nodes of one env of the project in `dir`, loaded and checked as `validate` does (a case's
/// projects must be valid: the planner only ever sees valid ones).
fn nodes(dir: &Path, env: &str, case: &Path) -> (nodectl::model::Safety, Vec<Node>) {
    let loaded = nodectl::lint::load(&LoadOptions {
        dir: Some(dir.to_path_buf()),
        cwd: dir.to_path_buf(),
        envs: EnvScope::One(Some(env.to_string())),
    })
    .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
    assert!(
        loaded.diagnostics.error_count() == 0,
        "{}: {} does not validate",
        case.display(),
        dir.display()
    );
    let project = loaded
        .project
        .unwrap_or_else(|| panic!("{}: no project", case.display()));
    let nodes = project.nodes.get(env).cloned().unwrap_or_default();
    (project.config.safety, nodes)
}

fn integration_name(reference: &IntegrationRef) -> String {
    match reference {
        IntegrationRef::Name(name) => name.clone(),
        IntegrationRef::Id(id) => id.clone(),
    }
}

fn plan_of(case_dir: &Path) -> String {
    let case: Case = std::fs::read_to_string(case_dir.join("case.toml"))
        .map(|text| toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", case_dir.display())))
        .unwrap_or_default();
    let org: Org =
        toml::from_str(&std::fs::read_to_string(case_dir.join("org.toml")).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{}/org.toml: {e}", case_dir.display()));
    let env = case.env.clone().unwrap_or_else(|| "local".to_string());
    let id_of: BTreeMap<&str, &str> = org
        .integrations
        .iter()
        .map(|(id, name)| (name.as_str(), id.as_str()))
        .collect();

    let (safety, desired_nodes) = nodes(&case_dir.join("desired"), &env, case_dir);
    let desired = desired_nodes
        .into_iter()
        .map(|node| {
            let name = integration_name(&node.key.integration);
            let integration_id = id_of
                .get(name.as_str())
                .unwrap_or_else(|| {
                    panic!(
                        "{}: integration `{name}` not in org.toml",
                        case_dir.display()
                    )
                })
                .to_string();
            DesiredNode {
                node,
                integration_id,
            }
        })
        .collect();

    let (_, org_nodes) = nodes(&case_dir.join("org"), &env, case_dir);
    let remote = org
        .action
        .iter()
        .map(|action| {
            let node = org_nodes
                .iter()
                .find(|n| {
                    n.key.name == action.name
                        && integration_name(&n.key.integration) == action.integration
                })
                .unwrap_or_else(|| {
                    panic!(
                        "{}: org.toml names `{}` in `{}`, which no node of org/ is",
                        case_dir.display(),
                        action.name,
                        action.integration
                    )
                });
            RemoteState {
                id: action.id.clone(),
                version: action.version,
                integration_id: id_of
                    .get(action.integration.as_str())
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                content: node.content(),
            }
        })
        .collect();
    assert_eq!(
        org.action.len(),
        org_nodes.len(),
        "{}: every node of org/ needs an [[action]] in org.toml",
        case_dir.display()
    );

    let input = PlanInput {
        env,
        managed: Default::default(),
        integrations: org.integrations.clone().into_iter().collect(),
        code_integrations: org
            .types
            .iter()
            .filter(|(_, kind)| kind.as_str() == "function-data-actions")
            .map(|(id, _)| id.clone())
            .collect(),
        desired,
        remote,
        unmanaged: org
            .unmanaged
            .iter()
            .map(|u| Unmanaged {
                id: u.id.clone(),
                name: u.name.clone(),
                integration_id: u.integration_id.clone(),
                integration_name: u.integration_name.clone(),
            })
            .collect(),
        safety,
        flags: Flags {
            prune: case.prune,
            allow_replace: case.allow_replace,
            force: case.force,
        },
        only: case.only.clone(),
    };
    let plan = nodectl::plan::compute(&input);
    // Same input, same plan, byte for byte (ARCHITECTURE.md, invariant 1).
    let again = nodectl::plan::compute(&input);
    assert_eq!(
        serde_json::to_string(&plan).ok(),
        serde_json::to_string(&again).ok(),
        "{}: the plan is not deterministic",
        case_dir.display()
    );
    // The report styles its text; the terminal's stream strips the styles when colour is off.
    let ansi = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap_or_else(|e| panic!("{e}"));
    ansi.replace_all(&nodectl::report::plan::text(&plan, true, None), "")
        .into_owned()
}

#[test]
fn planning_rules() {
    let mut failures = Failures::default();
    let all = cases("plan");
    for case in &all {
        let actual = plan_of(case);
        failures.expect_file(case, &case.join("expected.txt"), &actual);
    }
    failures.finish("plan", all.len());
}

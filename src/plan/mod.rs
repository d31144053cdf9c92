//! The reconciler's brain (docs/plan-apply.md): desired nodes against the org's actions → a deterministic
//! `Plan` of create / update (patch or draft) / rename / replace / delete / no-op changes, with name
//! collisions, breaking contract changes, ownership and the safety brakes. Pure: no I/O, and the
//! same inputs give the same plan, byte for byte (its checksum is what `apply` checks for staleness).

pub mod diff;
pub mod impact;
pub mod integrations;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{ActionContent, Node, Safety};
use diff::FieldChange;
use integrations::{IntegrationChange, IntegrationInput};

/// Bumped whenever the plan file's meaning changes; `apply` refuses other versions.
pub const FORMAT_VERSION: u32 = 1;
/// octoDNS's defaults for the change brake when `[safety]` does not say.
pub const DEFAULT_MAX_CHANGE_PERCENT: f64 = 30.0;
pub const DEFAULT_MIN_EXISTING: u64 = 10;

/// An action as the org holds it (in a managed integration), in model terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteState {
    pub id: String,
    pub version: i64,
    pub integration_id: String,
    pub content: ActionContent,
}

impl RemoteState {
    /// The integration's custom authentication action: claimed only by a `custom_auth` node,
    /// never created or deleted by nodectl.
    pub fn is_custom_auth(&self) -> bool {
        crate::model::is_custom_auth_id(&self.id)
    }
}

/// An action of an integration the env does not manage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmanaged {
    pub id: String,
    pub name: String,
    pub integration_id: String,
    pub integration_name: String,
}

/// A desired node with the id of its (resolved) integration.
#[derive(Debug, Clone)]
pub struct DesiredNode {
    pub node: Node,
    pub integration_id: String,
}

/// The flags that change what a plan does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    pub prune: bool,
    pub allow_replace: bool,
    pub force: bool,
}

/// Everything a plan is computed from.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub env: String,
    /// The managed integrations: id → name.
    pub integrations: BTreeMap<String, String>,
    /// The managed integrations whose actions run a code package nodectl does not manage
    /// (`function-data-actions`): their actions are never deleted or replaced.
    pub code_integrations: BTreeSet<String>,
    pub desired: Vec<DesiredNode>,
    pub remote: Vec<RemoteState>,
    pub unmanaged: Vec<Unmanaged>,
    pub safety: Safety,
    pub flags: Flags,
    /// `--node`: only these nodes (pruning is then off).
    pub only: Vec<String>,
    /// The integrations nodectl manages as resources.
    pub managed: IntegrationInput,
}

/// What happens to one node or action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Create,
    Update,
    Rename,
    Replace,
    Delete,
    #[serde(rename = "no-op")]
    NoOp,
}

impl ChangeKind {
    /// A change apply writes before the deletes: create, update, rename, replace.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            ChangeKind::Create | ChangeKind::Update | ChangeKind::Rename | ChangeKind::Replace
        )
    }
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Create => "create",
            ChangeKind::Update => "update",
            ChangeKind::Rename => "rename",
            ChangeKind::Replace => "replace",
            ChangeKind::Delete => "delete",
            ChangeKind::NoOp => "no-op",
        }
    }
}

/// How an update reaches Genesys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// `PATCH /actions/{id}`: name, category or config.
    Patch,
    /// draft → patch → validate → publish: contract or `secure` (keeps the id).
    Draft,
}

/// The identity of a change: the integration and the node's (or action's) name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChangeKey {
    pub integration_id: String,
    pub name: String,
}

/// One change of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub key: ChangeKey,
    pub change: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// The action changed (for create: none yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<ActionContent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<ActionContent>,
    /// The fields that differ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Why the contract change breaks callers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaking: Vec<String>,
    /// For a replace: the old action (deleted after the new one exists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<ReplacedAction>,
    /// Extra words: "replace leftover", "not managed by any manifest (use --prune)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Whether the node is secure (its values are never shown).
    #[serde(default)]
    pub secure: bool,
    /// Whether nodectl cannot dry-run it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_dry_runnable: Vec<String>,
}

/// The old action a replace deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacedAction {
    pub id: String,
    pub version: i64,
    pub integration_id: String,
}

/// Why a plan may not be applied as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub reason: String,
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub nodectl_version: String,
    pub env: String,
    pub integration_ids: Vec<String>,
    pub flags: Flags,
    pub changes: Vec<Change>,
    /// Problems that make the plan impossible (name collisions): exit 5.
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// Safety brakes that hold without `--force`: exit 5.
    pub refusals: Vec<Refusal>,
    /// Existing (non-static) actions in the managed integrations.
    pub existing: usize,
    /// The managed integrations' changes, applied before the actions' (deletes after them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integration_changes: Vec<IntegrationChange>,
    /// The Architect flows that consume what the plan deletes, replaces, renames or breaks
    /// (`impact.rs`; filled in by `ops::plan`, which asks the org); `None` when nothing such changes.
    /// Not part of the checksum: it describes the org, not what apply does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_impact: Option<impact::FlowImpact>,
    pub checksum: String,
}

impl Plan {
    /// Whether anything would change.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.change != ChangeKind::NoOp)
            || self
                .integration_changes
                .iter()
                .any(|c| c.change != ChangeKind::NoOp)
    }

    pub fn count(&self, kind: ChangeKind) -> usize {
        self.changes.iter().filter(|c| c.change == kind).count()
    }
}

/// Computes the plan.
pub fn compute(input: &PlanInput) -> Plan {
    let targeted = !input.only.is_empty();
    let protected: BTreeSet<&str> = input
        .safety
        .protect
        .iter()
        .map(String::as_str)
        .chain(
            input
                .desired
                .iter()
                .filter(|d| d.node.protect)
                .map(|d| d.node.key.name.as_str()),
        )
        .collect();

    // With `--node`, only those nodes: the integrations stay as they are (and unpruned).
    let integration_changes = if targeted {
        Vec::new()
    } else {
        integrations::changes(&input.managed, input.flags.prune)
    };
    let mut matching = Matching {
        custom_auth_coming: custom_auth_coming(&integration_changes),
        ..Matching::default()
    };
    match_nodes(input, &mut matching);
    let Matching {
        mut changes,
        mut errors,
        warnings,
        claimed,
        ..
    } = matching;
    // Genesys compares data-action names case-insensitively within an integration: two nodes whose
    // names differ only in case, or a new action whose name an existing one holds in another case,
    // would be refused by the org halfway through an apply.
    errors.extend(case_insensitive_collisions(input, &changes, &claimed));

    if !targeted {
        changes.extend(unclaimed_changes(input, &claimed));
    }
    let mut warnings = warnings;
    warnings.extend(unmanaged_code(input, &changes));
    changes.sort_by(|a, b| a.key.cmp(&b.key).then(a.change.cmp(&b.change)));

    let mut refusals = safety_refusals(input, &changes, &integration_changes, &protected);
    refusals.extend(integration_refusals(&integration_changes, &protected));
    let mut plan = Plan {
        format_version: FORMAT_VERSION,
        nodectl_version: env!("CARGO_PKG_VERSION").to_string(),
        env: input.env.clone(),
        integration_ids: input.integrations.keys().cloned().collect(),
        flags: input.flags,
        changes,
        errors,
        warnings,
        refusals,
        existing: input.remote.len(),
        integration_changes,
        flow_impact: None,
        checksum: String::new(),
    };
    plan.checksum = checksum(&plan);
    plan
}

/// What matching the nodes to the org's actions produced.
#[derive(Default)]
struct Matching<'a> {
    changes: Vec<Change>,
    errors: Vec<String>,
    warnings: Vec<String>,
    /// Remote action id → the node that claims it.
    claimed: BTreeMap<&'a str, &'a str>,
    /// The integrations (ids, `new:<name>` for one to create) whose custom authentication action
    /// Genesys makes during this apply, when it binds their User Defined OAuth credential.
    custom_auth_coming: BTreeSet<String>,
}

/// The integrations whose declared credential is a User Defined OAuth one: Genesys gives them a
/// custom authentication action once it is bound, which a `custom_auth` node then updates.
fn custom_auth_coming(changes: &[IntegrationChange]) -> BTreeSet<String> {
    changes
        .iter()
        .filter(|c| {
            c.desired
                .as_ref()
                .and_then(|d| d.credential.as_ref())
                .is_some_and(|credential| credential.makes_custom_auth())
        })
        .map(|c| {
            c.id.clone()
                .unwrap_or_else(|| integrations::pending_id(&c.name))
        })
        .collect()
}

/// Matches every (targeted) node to the org's action it manages — by `(integration, name)`, then
/// `previous_names` (a rename), then the same name in another managed integration (a replace) —
/// and records the change each needs, or why it cannot be planned.
fn match_nodes<'a>(input: &'a PlanInput, matching: &mut Matching<'a>) {
    let targeted = !input.only.is_empty();
    // The remote actions by (integration, name) — the first of a name wins, as Genesys lists them —
    // and by name alone: matching stays linear in the number of nodes and actions.
    let mut by_integration_and_name: HashMap<(&str, &str), &RemoteState> = HashMap::new();
    let mut by_name: HashMap<&str, Vec<&RemoteState>> = HashMap::new();
    // The custom authentication actions by integration: matched by kind, not by name.
    let mut custom_auth: HashMap<&str, &RemoteState> = HashMap::new();
    for remote in &input.remote {
        if remote.is_custom_auth() {
            custom_auth.insert(remote.integration_id.as_str(), remote);
            continue;
        }
        by_integration_and_name
            .entry((remote.integration_id.as_str(), remote.content.name.as_str()))
            .or_insert(remote);
        by_name
            .entry(remote.content.name.as_str())
            .or_default()
            .push(remote);
    }

    // Which remote action each node claims; an action claimed twice is a collision.
    let mut seen_names: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for desired in &input.desired {
        let node = &desired.node;
        if targeted && !input.only.contains(&node.key.name) {
            continue;
        }
        if let Some(other) = seen_names.insert(
            (desired.integration_id.as_str(), node.key.name.as_str()),
            node.key.name.as_str(),
        ) {
            matching.errors.push(format!(
                "two nodes claim the name `{other}` in one integration"
            ));
            continue;
        }
        if node.custom_auth {
            match custom_auth.get(desired.integration_id.as_str()) {
                Some(remote) => {
                    if let Some(first) = matching
                        .claimed
                        .insert(remote.id.as_str(), node.key.name.as_str())
                    {
                        matching.errors.push(format!(
                            "`{first}` and `{}` both claim the custom authentication action ({})",
                            node.key.name, remote.id
                        ));
                        continue;
                    }
                    let renamed = remote.content.name != node.key.name;
                    matching
                        .changes
                        .push(update_change(desired, remote, node.content(), renamed));
                }
                None if matching
                    .custom_auth_coming
                    .contains(&desired.integration_id) =>
                {
                    matching.changes.push(Change {
                        strategy: Some(Strategy::Patch),
                        note: Some("Genesys creates it when the integration's User Defined OAuth credential is bound; apply then updates it".to_string()),
                        ..new_change(desired, ChangeKind::Update, node.content())
                    });
                }
                None => matching.errors.push(format!(
                    "`{}` is the custom authentication action of integration `{}`, which has none: Genesys creates it when the integration's configuration binds a User Defined OAuth credential",
                    node.key.name,
                    input
                        .integrations
                        .get(&desired.integration_id)
                        .map_or(desired.integration_id.as_str(), String::as_str)
                )),
            }
            continue;
        }
        let in_integration = |name: &str| {
            by_integration_and_name
                .get(&(desired.integration_id.as_str(), name))
                .copied()
        };
        let current = in_integration(&node.key.name);
        let previous: Vec<&RemoteState> = node
            .previous_names
            .iter()
            .filter_map(|p| in_integration(p))
            .collect();
        let matched = match (current, previous.as_slice()) {
            (Some(current), [first, ..]) => {
                matching.errors.push(format!(
                    "`{}` cannot be renamed from `{}` ({}): an action named `{}` already exists ({})",
                    node.key.name, first.content.name, first.id, node.key.name, current.id
                ));
                continue;
            }
            (Some(current), []) => Some((current, false)),
            (None, [only]) => Some((*only, true)),
            (None, [first, second, ..]) => {
                matching.errors.push(format!(
                    "`{}` lists two previous names that both exist: `{}` ({}) and `{}` ({})",
                    node.key.name, first.content.name, first.id, second.content.name, second.id
                ));
                continue;
            }
            (None, []) => None,
        };
        let after = node.content();
        match matched {
            Some((remote, renamed)) => {
                if let Some(first) = matching
                    .claimed
                    .insert(remote.id.as_str(), node.key.name.as_str())
                {
                    matching.errors.push(format!(
                        "`{first}` and `{}` both claim action `{}` ({})",
                        node.key.name, remote.content.name, remote.id
                    ));
                    continue;
                }
                matching
                    .changes
                    .push(update_change(desired, remote, after, renamed));
            }
            None => plan_unmatched(input, desired, after, &by_name, matching),
        }
    }
}

/// A node with no action of its name in its integration: a replace when exactly one managed
/// integration holds it (by name or previous name), else a create; warns when an unmanaged
/// integration has the name too.
fn plan_unmatched<'a>(
    input: &'a PlanInput,
    desired: &'a DesiredNode,
    after: ActionContent,
    by_name: &HashMap<&str, Vec<&'a RemoteState>>,
    matching: &mut Matching<'a>,
) {
    let node = &desired.node;
    // Not in its integration: moved from another managed integration (replace), or new.
    let names: Vec<&str> = std::iter::once(node.key.name.as_str())
        .chain(node.previous_names.iter().map(String::as_str))
        .collect();
    // By id: a name listed twice (current and previous) finds its action once.
    let elsewhere: Vec<&RemoteState> = names
        .iter()
        .filter_map(|name| by_name.get(name))
        .flatten()
        .filter(|r| r.integration_id != desired.integration_id)
        .map(|r| (r.id.as_str(), *r))
        .collect::<BTreeMap<&str, &RemoteState>>()
        .into_values()
        .collect();
    for other in input
        .unmanaged
        .iter()
        .filter(|u| names.contains(&u.name.as_str()))
    {
        matching.warnings.push(format!(
                "`{}` also exists in unmanaged integration `{}` ({}); nodectl creates its own and leaves that one alone",
                other.name, other.integration_name, other.id
            ));
    }
    match elsewhere.as_slice() {
        [old] => {
            matching
                .claimed
                .insert(old.id.as_str(), node.key.name.as_str());
            matching.changes.push(Change {
                replaces: Some(ReplacedAction {
                    id: old.id.clone(),
                    version: old.version,
                    integration_id: old.integration_id.clone(),
                }),
                before: Some(old.content.clone()),
                fields: diff::fields(&old.content, &after),
                ..new_change(desired, ChangeKind::Replace, after)
            });
        }
        _ => matching
            .changes
            .push(new_change(desired, ChangeKind::Create, after)),
    }
}

/// The org's actions no node claims: deletes with `--prune` (never when targeting), replace
/// leftovers always, and otherwise reported with a note.
fn unclaimed_changes(input: &PlanInput, claimed: &BTreeMap<&str, &str>) -> Vec<Change> {
    let mut unclaimed = Vec::new();
    let desired_names: BTreeSet<&str> = input
        .desired
        .iter()
        .map(|d| d.node.key.name.as_str())
        .collect();
    for remote in &input.remote {
        if claimed.contains_key(remote.id.as_str()) {
            continue;
        }
        let leftover = desired_names.contains(remote.content.name.as_str());
        let note = if leftover {
            Some("replace leftover".to_string())
        } else if input.flags.prune {
            None
        } else {
            Some("not managed by any manifest (use --prune to delete it)".to_string())
        };
        let runs_code = input.code_integrations.contains(&remote.integration_id);
        let (kind, note) = if remote.is_custom_auth() {
            (
                ChangeKind::NoOp,
                Some(CUSTOM_AUTH_NEVER_DELETED.to_string()),
            )
        } else if runs_code && (leftover || input.flags.prune) {
            (ChangeKind::NoOp, Some(CODE_NEVER_DELETED.to_string()))
        } else if leftover || input.flags.prune {
            (ChangeKind::Delete, note)
        } else {
            (ChangeKind::NoOp, note)
        };
        unclaimed.push(Change {
            key: ChangeKey {
                integration_id: remote.integration_id.clone(),
                name: remote.content.name.clone(),
            },
            change: kind,
            strategy: None,
            id: Some(remote.id.clone()),
            version: Some(remote.version),
            before: Some(remote.content.clone()),
            after: None,
            fields: Vec::new(),
            breaking: Vec::new(),
            replaces: None,
            note,
            secure: remote.content.secure,
            not_dry_runnable: Vec::new(),
        });
    }
    unclaimed
}

/// Why an unclaimed custom authentication action stays.
const CUSTOM_AUTH_NEVER_DELETED: &str = "the integration's custom authentication action: Genesys creates and deletes it with a User Defined OAuth credential (manage it with a node that has custom_auth = true)";

/// Why an unclaimed function data action stays.
const CODE_NEVER_DELETED: &str = "a function data action: never deleted by nodectl, which does not manage its code package; delete it in Genesys";

/// What plan does not manage of the function data actions it writes: their function settings and
/// code package, which stay as they are in Genesys (a created one has none until uploaded).
fn unmanaged_code(input: &PlanInput, changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .filter(|c| c.change.is_write() && input.code_integrations.contains(&c.key.integration_id))
        .map(|c| {
            let consequence = if c.change == ChangeKind::Create {
                "the new action has no code until one is uploaded in Genesys"
            } else {
                "they stay as they are in Genesys"
            };
            format!(
                "`{}` is a function data action: nodectl manages its configuration, not its function settings or code package ({consequence})",
                c.key.name
            )
        })
        .collect()
}

fn new_change(desired: &DesiredNode, kind: ChangeKind, after: ActionContent) -> Change {
    Change {
        key: ChangeKey {
            integration_id: desired.integration_id.clone(),
            name: desired.node.key.name.clone(),
        },
        change: kind,
        strategy: None,
        id: None,
        version: None,
        before: None,
        secure: after.secure,
        after: Some(after),
        fields: Vec::new(),
        breaking: Vec::new(),
        replaces: None,
        note: None,
        not_dry_runnable: desired.node.not_dry_runnable.clone(),
    }
}

fn update_change(
    desired: &DesiredNode,
    remote: &RemoteState,
    mut after: ActionContent,
    renamed: bool,
) -> Change {
    // `timeoutSeconds` is compared only when the manifest sets it.
    if after.timeout_seconds.is_none() {
        after.timeout_seconds = remote.content.timeout_seconds;
    }
    let fields = diff::fields(&remote.content, &after);
    let contract_or_secure = fields
        .iter()
        .any(|f| f.field.starts_with("contract") || f.field == "secure");
    let kind = if fields.is_empty() {
        ChangeKind::NoOp
    } else if renamed {
        ChangeKind::Rename
    } else {
        ChangeKind::Update
    };
    let breaking = if contract_or_secure {
        diff::breaking(&remote.content, &after)
    } else {
        Vec::new()
    };
    Change {
        strategy: match kind {
            ChangeKind::NoOp => None,
            _ if contract_or_secure => Some(Strategy::Draft),
            _ => Some(Strategy::Patch),
        },
        id: Some(remote.id.clone()),
        version: Some(remote.version),
        before: Some(remote.content.clone()),
        fields,
        breaking,
        ..new_change(desired, kind, after)
    }
}

/// Names that Genesys would take for the same name (case-insensitively, in one integration): among
/// the nodes, and between a new action and an existing one no node claims.
fn case_insensitive_collisions(
    input: &PlanInput,
    changes: &[Change],
    claimed: &BTreeMap<&str, &str>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut nodes: BTreeMap<(&str, String), &str> = BTreeMap::new();
    for desired in &input.desired {
        let name = desired.node.key.name.as_str();
        let folded = (desired.integration_id.as_str(), name.to_lowercase());
        if let Some(other) = nodes.insert(folded, name)
            && other != name
        {
            problems.push(format!(
                "`{other}` and `{name}` differ only in case: Genesys takes them for the same data-action name in one integration"
            ));
        }
    }
    let mut remote: HashMap<(&str, String), Vec<&RemoteState>> = HashMap::new();
    for action in &input.remote {
        remote
            .entry((
                action.integration_id.as_str(),
                action.content.name.to_lowercase(),
            ))
            .or_default()
            .push(action);
    }
    for change in changes
        .iter()
        .filter(|c| matches!(c.change, ChangeKind::Create | ChangeKind::Replace))
    {
        let folded = (
            change.key.integration_id.as_str(),
            change.key.name.to_lowercase(),
        );
        for existing in remote.get(&folded).into_iter().flatten() {
            if existing.content.name != change.key.name
                && !claimed.contains_key(existing.id.as_str())
            {
                problems.push(format!(
                    "`{}` cannot be created: action `{}` ({}) holds that name in another case, and Genesys compares names case-insensitively; name the node `{}`, or list `{}` in its previous_names to rename it",
                    change.key.name,
                    existing.content.name,
                    existing.id,
                    existing.content.name,
                    existing.content.name
                ));
            }
        }
    }
    problems
}

/// The brakes: protected actions never deleted or replaced; breaking changes and too many changes
/// need `--force` (docs/plan-apply.md, "Safety brakes").
fn safety_refusals(
    input: &PlanInput,
    changes: &[Change],
    integration_changes: &[IntegrationChange],
    protected: &BTreeSet<&str>,
) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    for change in changes {
        let destroys = matches!(change.change, ChangeKind::Delete | ChangeKind::Replace);
        if destroys && protected.contains(change.key.name.as_str()) {
            refusals.push(Refusal {
                reason: format!(
                    "`{}` is protected and would be {}d",
                    change.key.name,
                    change.change.as_str()
                ),
            });
        }
        if destroys
            && change
                .replaces
                .as_ref()
                .is_some_and(|r| input.code_integrations.contains(&r.integration_id))
        {
            refusals.push(Refusal {
                reason: format!("`{}` would be replaced, deleting a function data action whose code package nodectl does not manage; move it in Genesys", change.key.name),
            });
        }
        if change.change == ChangeKind::Replace && !input.flags.allow_replace {
            refusals.push(Refusal {
                reason: format!("`{}` moved integration: replacing it gives it a new id and breaks the flows that call it; use --allow-replace", change.key.name),
            });
        }
        if !change.breaking.is_empty() && !input.flags.force {
            refusals.push(Refusal {
                reason: format!(
                    "`{}` has a breaking contract change ({}); use --force",
                    change.key.name,
                    change.breaking.join("; ")
                ),
            });
        }
    }
    let changed = changes
        .iter()
        .filter(|c| {
            matches!(
                c.change,
                ChangeKind::Update | ChangeKind::Rename | ChangeKind::Replace | ChangeKind::Delete
            )
        })
        .count();
    // An integration's delete takes its actions with it: they count as changed, and as existing.
    let going_with_integrations: usize = integration_changes
        .iter()
        .filter(|c| c.change == ChangeKind::Delete)
        .map(|c| c.actions)
        .sum();
    let changed = changed + going_with_integrations;
    let existing = input.remote.len() + going_with_integrations;
    let max_percent = input
        .safety
        .max_change_percent
        .unwrap_or(DEFAULT_MAX_CHANGE_PERCENT);
    let min_existing = input.safety.min_existing.unwrap_or(DEFAULT_MIN_EXISTING);
    if !input.flags.force && existing as u64 >= min_existing && existing > 0 {
        let percent = changed as f64 * 100.0 / existing as f64;
        if percent > max_percent {
            refusals.push(Refusal {
                reason: format!("{changed} of {existing} managed actions would change ({percent:.0}% > {max_percent}%); use --force"),
            });
        }
    }
    refusals
}

/// The brakes on integrations: a protected name is never deleted (`[safety] protect` names
/// integrations too).
fn integration_refusals(changes: &[IntegrationChange], protected: &BTreeSet<&str>) -> Vec<Refusal> {
    changes
        .iter()
        .filter(|c| c.change == ChangeKind::Delete && protected.contains(c.name.as_str()))
        .map(|c| Refusal {
            reason: format!(
                "integration `{}` is protected and would be deleted with its {} action(s)",
                c.name, c.actions
            ),
        })
        .collect()
}

/// SHA-256 of the canonical JSON (RFC 8785) of what the plan would do:
/// `{"changes":[…],"env":…,"flags":…,"format_version":…,"integration_changes":…,"integration_ids":…}`
/// (keys in canonical order; `integration_changes` only when there are some, so that plans saved
/// before integrations were managed keep their checksum). The text is hashed as it is written, one change at a time, so that a 10,000-node plan
/// never holds its whole canonical form in memory.
pub fn checksum(plan: &Plan) -> String {
    let mut hasher = Sha256::new();
    let mut text = String::new();
    let mut hash_value = |hasher: &mut Sha256, value: &serde_json::Value| {
        text.clear();
        crate::canonical::write(value, &mut text);
        hasher.update(text.as_bytes());
    };
    hasher.update(b"{\"changes\":[");
    for (index, c) in plan.changes.iter().enumerate() {
        if index > 0 {
            hasher.update(b",");
        }
        let change = serde_json::json!({
            "key": c.key, "change": c.change, "strategy": c.strategy, "id": c.id,
            "version": c.version, "before": c.before, "after": c.after,
        });
        hash_value(&mut hasher, &change);
    }
    hasher.update(b"],\"env\":");
    hash_value(&mut hasher, &serde_json::json!(plan.env));
    hasher.update(b",\"flags\":");
    hash_value(&mut hasher, &serde_json::json!(plan.flags));
    hasher.update(b",\"format_version\":");
    hash_value(&mut hasher, &serde_json::json!(plan.format_version));
    if !plan.integration_changes.is_empty() {
        hasher.update(b",\"integration_changes\":");
        hash_value(&mut hasher, &serde_json::json!(plan.integration_changes));
    }
    hasher.update(b",\"integration_ids\":");
    hash_value(&mut hasher, &serde_json::json!(plan.integration_ids));
    hasher.update(b"}");
    format!("sha256:{}", crate::canonical::hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksum as it was first written: the whole basis as one value, then its canonical
    /// text. The streaming form must hash the same bytes, so that saved plans stay valid.
    fn checksum_in_one_piece(plan: &Plan) -> String {
        let changes: Vec<serde_json::Value> = plan
            .changes
            .iter()
            .map(|c| {
                serde_json::json!({
                    "key": c.key, "change": c.change, "strategy": c.strategy, "id": c.id,
                    "version": c.version, "before": c.before, "after": c.after,
                })
            })
            .collect();
        let mut basis = serde_json::json!({
            "format_version": plan.format_version,
            "env": plan.env,
            "integration_ids": plan.integration_ids,
            "flags": plan.flags,
            "changes": changes,
        });
        if !plan.integration_changes.is_empty() {
            basis["integration_changes"] = serde_json::json!(plan.integration_changes);
        }
        crate::canonical::checksum(&basis)
    }

    #[test]
    fn the_streamed_checksum_hashes_the_canonical_text_of_the_whole_plan() {
        let text = include_str!("../../tests/cases/plan_checksum/example-plan.json");
        let plan: Plan = match serde_json::from_str(text) {
            Ok(plan) => plan,
            Err(error) => panic!("the example plan does not parse: {error}"),
        };
        assert_eq!(checksum(&plan), checksum_in_one_piece(&plan));
        assert_eq!(checksum(&plan), plan.checksum);
    }
}

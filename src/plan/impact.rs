//! Flow impact, sans IO: which actions of a plan Architect flows may stop working with (deleted,
//! replaced, renamed, or changed in a breaking way: the contract, `secure`), what dependency
//! tracking said about them, and the brake: changing an action a *published* flow consumes is
//! refused without `--force` (docs/plan-apply.md, "Flow impact"). `ops::plan` asks the org; the
//! decisions are here.

use serde::{Deserialize, Serialize};

use super::{ChangeKey, ChangeKind, Plan, Refusal};
pub use crate::model::ConsumingFlow;

/// An action the plan changes in a way its consuming flows may not survive, to ask dependency
/// tracking about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub key: ChangeKey,
    pub change: ChangeKind,
    /// The action in the org (for a replace: the old one, which is deleted).
    pub action_id: String,
    pub version: i64,
    /// Dependency tracking files a secure action as `SECUREACTION`, others as `DATAACTION`.
    pub secure: bool,
    /// Why a flow may break: "deleted", "replaced", "renamed", "breaking contract change: …",
    /// "`secure` changes".
    pub why: String,
}

/// The actions to ask about, in plan order: only those, so a plan without such a change asks
/// nothing.
pub fn questions(plan: &Plan) -> Vec<Question> {
    plan.changes
        .iter()
        .filter_map(|change| {
            let secure_before = change.before.as_ref().is_some_and(|c| c.secure);
            let (action_id, version, why) = match change.change {
                ChangeKind::Delete => (change.id.clone()?, change.version?, "deleted".to_string()),
                ChangeKind::Replace => {
                    let old = change.replaces.as_ref()?;
                    (
                        old.id.clone(),
                        old.version,
                        "replaced (a new id)".to_string(),
                    )
                }
                ChangeKind::Rename => (change.id.clone()?, change.version?, rename_why(change)),
                ChangeKind::Update => {
                    let why = update_why(change)?;
                    (change.id.clone()?, change.version?, why)
                }
                ChangeKind::Create | ChangeKind::NoOp => return None,
            };
            Some(Question {
                key: change.key.clone(),
                change: change.change,
                action_id,
                version,
                secure: secure_before,
                why,
            })
        })
        .collect()
}

/// A rename breaks flows that name the action (Architect refers to it by id, but shows the name;
/// *unverified* whether a renamed action stays bound): plus what else changes with it.
fn rename_why(change: &super::Change) -> String {
    match update_why(change) {
        Some(also) => format!("renamed; {also}"),
        None => "renamed".to_string(),
    }
}

/// Why an update may break its flows, if it may: a breaking contract change, or `secure` changing.
fn update_why(change: &super::Change) -> Option<String> {
    let secure_changes = change.fields.iter().any(|f| f.field == "secure");
    match (change.breaking.is_empty(), secure_changes) {
        (true, false) => None,
        (false, false) => Some(format!(
            "breaking contract change: {}",
            change.breaking.join("; ")
        )),
        (true, true) => Some("`secure` changes".to_string()),
        (false, true) => Some(format!(
            "`secure` changes; breaking contract change: {}",
            change.breaking.join("; ")
        )),
    }
}

/// What dependency tracking said about one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionImpact {
    pub key: ChangeKey,
    pub change: ChangeKind,
    pub action_id: String,
    pub why: String,
    pub flows: Vec<ConsumingFlow>,
}

impl ActionImpact {
    /// What dependency tracking said about the action `question` asked about.
    pub fn of(question: &Question, flows: Vec<ConsumingFlow>) -> ActionImpact {
        ActionImpact {
            key: question.key.clone(),
            change: question.change,
            action_id: question.action_id.clone(),
            why: question.why.clone(),
            flows,
        }
    }
}

/// The flow impact of a plan (`plan.flow_impact`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowImpact {
    /// Whether dependency tracking was asked (not: `--skip-flow-impact`, or no permission).
    pub checked: bool,
    /// Why it was not asked, or what limits the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Dependency tracking's build is not up to date (its status, when it is not OPERATIONAL): the
    /// flows listed may be incomplete, and "no flows" is no guarantee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<String>,
    /// One entry per action asked about, in plan order.
    pub actions: Vec<ActionImpact>,
}

impl FlowImpact {
    /// Not asked: `note` says why.
    pub fn unchecked(questions: &[Question], note: String) -> FlowImpact {
        FlowImpact {
            checked: false,
            note: Some(note),
            stale: None,
            actions: questions
                .iter()
                .map(|q| ActionImpact::of(q, Vec::new()))
                .collect(),
        }
    }

    /// The flows whose published version consumes `action`.
    pub fn published_consumers(action: &ActionImpact) -> impl Iterator<Item = &ConsumingFlow> {
        action.flows.iter().filter(|f| f.published.is_some())
    }
}

/// Whether a dependency-tracking build status is up to date; `Some(why not)` otherwise.
pub fn staleness(status: Option<&str>) -> Option<String> {
    let why = match status {
        Some("OPERATIONAL") => return None,
        Some("OPERATIONALNEEDSREBUILD") => {
            "its build is older than the latest changes (OPERATIONALNEEDSREBUILD)"
        }
        Some(running @ ("BUILDINPROGRESS" | "BUILDQUEUED" | "BUILDINITIALIZING")) => {
            return Some(format!("its build is still running ({running})"));
        }
        Some("BUILDINCOMPLETE") => "its last build did not complete (BUILDINCOMPLETE)",
        Some("NOTBUILT") => "it has never been built (NOTBUILT)",
        Some(other) => return Some(format!("its build status is {other}")),
        None => "its build status is unknown",
    };
    Some(why.to_string())
}

/// The brake: every action a published flow consumes is refused without `--force`, naming the
/// flows. (`protect` refuses on its own, whatever the flows.)
pub fn brake(plan: &mut Plan, impact: &FlowImpact) {
    if plan.flags.force {
        return;
    }
    for action in &impact.actions {
        let flows: Vec<String> = FlowImpact::published_consumers(action)
            .map(ConsumingFlow::describe)
            .collect();
        if flows.is_empty() {
            continue;
        }
        plan.refusals.push(Refusal {
            reason: format!(
                "{} `{}` ({}) is consumed by {} published flow(s): {}; these flows may stop working. Use --force to change it anyway",
                action.change.as_str(),
                action.key.name,
                action.why,
                flows.len(),
                flows.join(", ")
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(name: &str, published: Option<&str>, checked_in: Option<&str>) -> ConsumingFlow {
        ConsumingFlow {
            id: format!("id-{name}"),
            name: name.to_string(),
            flow_type: "INBOUNDCALLFLOW".to_string(),
            published: published.map(str::to_string),
            checked_in: checked_in.map(str::to_string),
        }
    }

    #[test]
    fn flows_are_described_with_their_versions() {
        assert_eq!(
            flow("Main IVR", Some("3.0"), Some("4.0")).describe(),
            "Main IVR (INBOUNDCALLFLOW, published 3.0, checked in 4.0)"
        );
        assert_eq!(
            flow("Draft", None, Some("1.0")).describe(),
            "Draft (INBOUNDCALLFLOW, checked in 1.0)"
        );
    }

    /// A plan with one change of each kind (as a saved plan file would hold them).
    fn plan(force: bool) -> Plan {
        let key = |name: &str| serde_json::json!({"integration_id": "i-1", "name": name});
        let value = serde_json::json!({
            "format_version": 1, "nodectl_version": "", "env": "prod", "integration_ids": ["i-1"],
            "flags": {"prune": true, "allow_replace": true, "force": force},
            "changes": [
                {"key": key("A"), "change": "delete", "id": "a", "version": 1},
                {"key": key("B"), "change": "update", "id": "b", "version": 2,
                 "breaking": ["output `tier` removed"]},
                {"key": key("C"), "change": "update", "id": "c", "version": 3,
                 "fields": [{"field": "category", "before": "x", "after": "y"}]},
                {"key": key("D"), "change": "rename", "id": "d", "version": 4},
                {"key": key("E"), "change": "replace",
                 "replaces": {"id": "e-old", "version": 5, "integration_id": "i-0"}},
                {"key": key("F"), "change": "create"},
                {"key": key("G"), "change": "update", "id": "g", "version": 6,
                 "fields": [{"field": "secure", "before": false, "after": true}]}
            ],
            "errors": [], "warnings": [], "refusals": [], "existing": 6, "checksum": ""
        });
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn deletes_replaces_renames_and_breaking_updates_are_asked_about() {
        let asked: Vec<(String, String, String)> = questions(&plan(false))
            .into_iter()
            .map(|q| (q.key.name, q.action_id, q.why))
            .collect();
        assert_eq!(
            asked,
            [
                ("A", "a", "deleted"),
                ("B", "b", "breaking contract change: output `tier` removed"),
                ("D", "d", "renamed"),
                ("E", "e-old", "replaced (a new id)"),
                ("G", "g", "`secure` changes"),
            ]
            .map(|(n, i, w)| (n.to_string(), i.to_string(), w.to_string()))
        );
    }

    #[test]
    fn only_published_consumers_brake_and_force_releases_them() {
        let asked = questions(&plan(false));
        let impact = FlowImpact {
            checked: true,
            note: None,
            stale: None,
            actions: asked
                .iter()
                .map(|q| {
                    ActionImpact::of(
                        q,
                        match q.key.name.as_str() {
                            "A" => vec![
                                flow("Main IVR", Some("3.0"), None),
                                flow("Other", Some("1.0"), Some("2.0")),
                            ],
                            "B" => vec![flow("Draft", None, Some("1.0"))],
                            _ => Vec::new(),
                        },
                    )
                })
                .collect(),
        };
        let mut refused = plan(false);
        brake(&mut refused, &impact);
        let reasons: Vec<&str> = refused.refusals.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "delete `A` (deleted) is consumed by 2 published flow(s): Main IVR (INBOUNDCALLFLOW, published 3.0), Other (INBOUNDCALLFLOW, published 1.0, checked in 2.0); these flows may stop working. Use --force to change it anyway"
            ]
        );
        let mut forced = plan(true);
        brake(&mut forced, &impact);
        assert!(forced.refusals.is_empty());
    }

    #[test]
    fn only_operational_builds_are_up_to_date() {
        assert_eq!(staleness(Some("OPERATIONAL")), None);
        for status in [
            "OPERATIONALNEEDSREBUILD",
            "BUILDINPROGRESS",
            "BUILDQUEUED",
            "BUILDINITIALIZING",
            "BUILDINCOMPLETE",
            "NOTBUILT",
            "SOMETHINGNEW",
        ] {
            assert!(staleness(Some(status)).is_some(), "{status}");
        }
        assert!(staleness(None).is_some());
    }
}

//! The managed integrations' part of a plan (docs/plan-apply.md, "Integrations as code"): for each
//! integration the project declares with `manage` or a `credential`, the steps that bring the org's
//! integration to the declared one — create it, create or rewrite its credential, configure it
//! (name, nodectl's marker in its notes, the credential bound), enable or disable it — and, with
//! `--prune`, the deletes of the integrations this project and env once managed and no longer
//! declare. `converge` is the one rule: `plan` runs it on the snapshot, `apply` again on a fresh
//! read of each integration, so that an apply interrupted anywhere finishes the job on its next
//! run without duplicates. Pure.

use serde::{Deserialize, Serialize};

use super::ChangeKind;
use crate::fingerprint::{Fingerprint, parse_credential_name};
pub use crate::model::{CredentialState, IntegrationState};

/// What the project wants of one managed integration (the fingerprint computed by `ops` from the
/// pipeline's secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredIntegration {
    pub name: String,
    #[serde(rename = "type")]
    pub integration_type: String,
    pub enabled: bool,
    pub credential: Option<DesiredCredential>,
}

/// A managed integration's credential as declared: never its values, only their fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredCredential {
    #[serde(rename = "type")]
    pub credential_type: String,
    /// The key of the integration's configuration it is bound under (`basicAuth`,
    /// `pureCloudOAuthClient`, …: the integration type's `credentials`).
    pub slot: String,
    pub fingerprint: Fingerprint,
}

impl DesiredCredential {
    /// Whether Genesys gives the integration a custom authentication action for it.
    pub fn makes_custom_auth(&self) -> bool {
        self.credential_type == crate::model::CredentialSpec::USER_DEFINED_OAUTH
    }
}

/// One write of an integration's convergence, in the order `converge` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum IntegrationStep {
    /// `POST /api/v2/integrations` with its name and type.
    CreateIntegration,
    /// `POST /api/v2/integrations/credentials`, named with the integration's id and fingerprint.
    CreateCredential,
    /// `PUT /api/v2/integrations/credentials/{id}`: the current values (and name).
    UpdateCredential { id: String, reason: String },
    /// `PUT …/config/current`: its name, nodectl's marker in its notes, its credential bound.
    Configure { reason: String },
    /// `PATCH /api/v2/integrations/{id}`: `intendedState`.
    SetEnabled { enabled: bool },
    /// `DELETE /api/v2/integrations/{id}` (its actions go with it).
    DeleteIntegration,
    /// `DELETE /api/v2/integrations/credentials/{id}`: nodectl's credential of a deleted
    /// integration.
    DeleteCredential { id: String },
}

impl IntegrationStep {
    /// What the step does, for people.
    pub fn describe(&self) -> String {
        match self {
            IntegrationStep::CreateIntegration => "create the integration".to_string(),
            IntegrationStep::CreateCredential => "create its credential".to_string(),
            IntegrationStep::UpdateCredential { id, reason } => {
                format!("update credential {id}: {reason}")
            }
            IntegrationStep::Configure { reason } => format!("configure it: {reason}"),
            IntegrationStep::SetEnabled { enabled: true } => "enable it".to_string(),
            IntegrationStep::SetEnabled { enabled: false } => "disable it".to_string(),
            IntegrationStep::DeleteIntegration => "delete the integration".to_string(),
            IntegrationStep::DeleteCredential { id } => format!("delete credential {id}"),
        }
    }
}

/// What happens to one integration (or to one credential nodectl left behind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationChange {
    pub name: String,
    pub change: ChangeKind,
    /// Its id in the org; `None` for one to create.
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub integration_type: String,
    pub steps: Vec<IntegrationStep>,
    /// What apply converges it to (none for a delete).
    pub desired: Option<DesiredIntegration>,
    /// For a delete: how many actions go with it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub actions: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Everything the integrations' part of a plan is computed from.
#[derive(Debug, Clone, Default)]
pub struct IntegrationInput {
    /// The marker of this project and env (`marker`).
    pub marker: String,
    pub desired: Vec<DesiredIntegration>,
    /// The org's integrations of the declared names (and types).
    pub existing: Vec<IntegrationState>,
    /// Integrations whose notes carry this project's and env's marker that it no longer declares.
    pub undeclared: Vec<IntegrationState>,
    /// Credentials nodectl named for an integration that no longer exists.
    pub orphans: Vec<CredentialState>,
}

/// The id a plan gives an integration it creates, until apply knows the real one.
pub fn pending_id(name: &str) -> String {
    format!("new:{name}")
}

/// The text nodectl keeps at the start of a managed integration's notes: which project and env
/// manage it, so that `--prune` deletes only its own integrations.
pub fn marker(project: &str, env: &str) -> String {
    format!("Managed by nodectl: project \"{project}\", env \"{env}\".")
}

/// The notes nodectl writes: the marker and a word for whoever opens the integration in Genesys.
pub fn notes(marker: &str) -> String {
    format!("{marker} Changes made here are undone by the next apply.")
}

/// The fingerprint a credential's name carries when nodectl wrote it for integration `state`.
fn own_fingerprint(state: &IntegrationState, credential: &CredentialState) -> Option<Fingerprint> {
    parse_credential_name(&credential.name)
        .filter(|(id, _)| *id == state.id)
        .map(|(_, fingerprint)| fingerprint)
}

/// The credentials nodectl wrote for this integration: the bound ones, then those left unbound.
pub fn own_credentials(state: &IntegrationState) -> impl Iterator<Item = &CredentialState> {
    state
        .bound
        .iter()
        .map(|(_, c)| c)
        .chain(&state.unbound)
        .filter(|c| own_fingerprint(state, c).is_some())
}

/// The steps from what the org holds (`None`: no such integration) to what is desired; none when
/// they agree.
pub fn converge(
    desired: &DesiredIntegration,
    state: Option<&IntegrationState>,
    marker: &str,
) -> Vec<IntegrationStep> {
    let Some(state) = state else {
        let mut steps = vec![IntegrationStep::CreateIntegration];
        if desired.credential.is_some() {
            steps.push(IntegrationStep::CreateCredential);
        }
        steps.push(IntegrationStep::Configure {
            reason: if desired.credential.is_some() {
                "its name, notes and credential".to_string()
            } else {
                "its name and notes".to_string()
            },
        });
        if desired.enabled {
            steps.push(IntegrationStep::SetEnabled { enabled: true });
        }
        return steps;
    };
    let mut steps = Vec::new();
    let mut configure = Vec::new();
    if !state.notes.starts_with(marker) {
        configure.push("mark it as managed by this project in its notes".to_string());
    }
    if let Some(credential) = &desired.credential {
        let ours = |c: &CredentialState| own_fingerprint(state, c);
        let bound = state
            .bound
            .iter()
            .find(|(slot, _)| *slot == credential.slot)
            .map(|(_, c)| c);
        match bound.and_then(|c| Some((c, ours(c)?))) {
            Some((current, fingerprint)) => {
                if let Some(reason) = stale(credential, current, &fingerprint) {
                    steps.push(IntegrationStep::UpdateCredential {
                        id: current.id.clone(),
                        reason,
                    });
                }
            }
            None => match state.unbound.iter().find_map(|c| Some((c, ours(c)?))) {
                Some((left, fingerprint)) => {
                    if let Some(reason) = stale(credential, left, &fingerprint) {
                        steps.push(IntegrationStep::UpdateCredential {
                            id: left.id.clone(),
                            reason,
                        });
                    }
                    configure.push(format!(
                            "bind credential {} (an earlier apply created it and stopped before binding it)",
                            left.id
                        ));
                }
                None => {
                    steps.push(IntegrationStep::CreateCredential);
                    configure.push(match bound {
                            Some(other) => format!(
                                "bind its own credential instead of `{}` ({}), which nodectl did not write and leaves as it is",
                                other.name, other.id
                            ),
                            None => format!("bind its credential under `{}`", credential.slot),
                        });
                }
            },
        }
    }
    if !configure.is_empty() {
        steps.push(IntegrationStep::Configure {
            reason: configure.join("; "),
        });
    }
    if state.enabled != desired.enabled {
        steps.push(IntegrationStep::SetEnabled {
            enabled: desired.enabled,
        });
    }
    steps
}

/// Why a credential nodectl wrote no longer holds the declared values, if it does not.
fn stale(
    desired: &DesiredCredential,
    current: &CredentialState,
    fingerprint: &Fingerprint,
) -> Option<String> {
    if current.credential_type != desired.credential_type {
        Some(format!(
            "its type changes from {} to {}",
            current.credential_type, desired.credential_type
        ))
    } else if fingerprint.key_id != desired.fingerprint.key_id {
        Some(format!(
            "the fingerprint key changed (key {} → {}), so the values are written again",
            fingerprint.key_id, desired.fingerprint.key_id
        ))
    } else if fingerprint.mac != desired.fingerprint.mac {
        Some("its values changed (secret rotated)".to_string())
    } else {
        None
    }
}

/// The integrations' changes: each declared one converged, then the undeclared ones of this
/// project and env (deleted with `prune`) and nodectl's credentials left without integration.
pub fn changes(input: &IntegrationInput, prune: bool) -> Vec<IntegrationChange> {
    let mut changes = Vec::new();
    for desired in &input.desired {
        let state = input
            .existing
            .iter()
            .find(|s| s.name == desired.name && s.integration_type == desired.integration_type);
        let steps = converge(desired, state, &input.marker);
        let change = match (state, steps.is_empty()) {
            (None, _) => ChangeKind::Create,
            (Some(_), true) => ChangeKind::NoOp,
            (Some(_), false) => ChangeKind::Update,
        };
        changes.push(IntegrationChange {
            name: desired.name.clone(),
            change,
            id: state.map(|s| s.id.clone()),
            integration_type: desired.integration_type.clone(),
            steps,
            desired: Some(desired.clone()),
            actions: 0,
            note: None,
        });
    }
    for state in &input.undeclared {
        let mut steps = vec![IntegrationStep::DeleteIntegration];
        steps.extend(
            own_credentials(state).map(|c| IntegrationStep::DeleteCredential { id: c.id.clone() }),
        );
        changes.push(IntegrationChange {
            name: state.name.clone(),
            change: if prune {
                ChangeKind::Delete
            } else {
                ChangeKind::NoOp
            },
            id: Some(state.id.clone()),
            integration_type: state.integration_type.clone(),
            steps: if prune { steps } else { Vec::new() },
            desired: None,
            actions: state.actions,
            note: (!prune).then(|| {
                format!(
                    "no longer declared (use --prune to delete it with its {} action(s))",
                    state.actions
                )
            }),
        });
    }
    for orphan in &input.orphans {
        changes.push(IntegrationChange {
            name: format!("credential {}", orphan.id),
            change: if prune {
                ChangeKind::Delete
            } else {
                ChangeKind::NoOp
            },
            id: None,
            integration_type: String::new(),
            steps: if prune {
                vec![IntegrationStep::DeleteCredential {
                    id: orphan.id.clone(),
                }]
            } else {
                Vec::new()
            },
            desired: None,
            actions: 0,
            note: Some(if prune {
                "nodectl's credential of an integration that no longer exists".to_string()
            } else {
                "nodectl's credential of an integration that no longer exists (use --prune to delete it)".to_string()
            }),
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKER: &str = "Managed by nodectl: project \"p\", env \"dev\".";

    fn fingerprint(mac: char) -> Fingerprint {
        Fingerprint {
            key_id: "0000aaaa".to_string(),
            mac: mac.to_string().repeat(32),
        }
    }

    fn desired(mac: char) -> DesiredIntegration {
        DesiredIntegration {
            name: "CRM".to_string(),
            integration_type: "custom-rest-actions".to_string(),
            enabled: true,
            credential: Some(DesiredCredential {
                credential_type: "basicAuth".to_string(),
                slot: "basicAuth".to_string(),
                fingerprint: fingerprint(mac),
            }),
        }
    }

    fn ours(id: &str, mac: char) -> CredentialState {
        CredentialState {
            id: id.to_string(),
            name: crate::fingerprint::credential_name("i1", &fingerprint(mac)),
            credential_type: "basicAuth".to_string(),
        }
    }

    fn state(bound: Option<CredentialState>, unbound: Vec<CredentialState>) -> IntegrationState {
        IntegrationState {
            id: "i1".to_string(),
            name: "CRM".to_string(),
            integration_type: "custom-rest-actions".to_string(),
            enabled: true,
            notes: notes(MARKER),
            bound: bound
                .map(|c| ("basicAuth".to_string(), c))
                .into_iter()
                .collect(),
            unbound,
            actions: 0,
        }
    }

    #[test]
    fn an_integration_as_declared_needs_nothing_and_a_rotated_secret_one_credential_update() {
        assert_eq!(
            converge(
                &desired('a'),
                Some(&state(Some(ours("c1", 'a')), vec![])),
                MARKER
            ),
            vec![]
        );
        assert_eq!(
            converge(
                &desired('b'),
                Some(&state(Some(ours("c1", 'a')), vec![])),
                MARKER
            ),
            vec![IntegrationStep::UpdateCredential {
                id: "c1".to_string(),
                reason: "its values changed (secret rotated)".to_string()
            }]
        );
    }

    #[test]
    fn every_interruption_of_a_create_converges_without_a_second_credential() {
        let fresh = converge(&desired('a'), None, MARKER);
        assert_eq!(fresh[0], IntegrationStep::CreateIntegration);
        // Stopped after the integration: its credential is created, once.
        let mut bare = state(None, vec![]);
        bare.notes = String::new();
        bare.enabled = false;
        let steps = converge(&desired('a'), Some(&bare), MARKER);
        assert_eq!(
            steps
                .iter()
                .filter(|s| **s == IntegrationStep::CreateCredential)
                .count(),
            1
        );
        // Stopped after the credential: it is bound, not created again.
        bare.unbound = vec![ours("c1", 'a')];
        let steps = converge(&desired('a'), Some(&bare), MARKER);
        assert!(
            !steps.contains(&IntegrationStep::CreateCredential),
            "{steps:?}"
        );
        assert!(
            matches!(&steps[0], IntegrationStep::Configure { reason } if reason.contains("bind credential c1"))
        );
        assert_eq!(steps[1], IntegrationStep::SetEnabled { enabled: true });
    }

    #[test]
    fn a_credential_nodectl_did_not_write_is_replaced_by_its_own_not_overwritten() {
        let foreign = CredentialState {
            id: "hand".to_string(),
            name: "made in the UI".to_string(),
            credential_type: "basicAuth".to_string(),
        };
        let steps = converge(&desired('a'), Some(&state(Some(foreign), vec![])), MARKER);
        assert_eq!(steps[0], IntegrationStep::CreateCredential);
        assert!(
            matches!(&steps[1], IntegrationStep::Configure { reason } if reason.contains("leaves as it is"))
        );
    }
}

//! The managed integrations' side of `plan` and `apply` (docs/plan-apply.md, "Integrations as
//! code"): what the snapshot must read for them, and the plan's input — each declared integration
//! with its credential's key in the integration type's configuration and the keyed fingerprint of
//! its values, read here from the pipeline's secrets (and kept, for apply, in `CredentialValues`,
//! which no report shows); the org's integrations of the declared names; those carrying this
//! project's and env's marker that it no longer declares; nodectl's orphaned credentials.

use std::collections::BTreeMap;

use super::OpsError;
use crate::fingerprint::FingerprintKey;
use crate::manifest::secrets;
use crate::model::{CredentialValues, Env};
use crate::plan::integrations::{DesiredCredential, DesiredIntegration, IntegrationInput, marker};
use crate::remote::{IntegrationsView, ManagedQuery};

/// What the snapshot reads for the env's managed integrations: `None` when the env manages none
/// and nothing is pruned (no extra request). With `--prune` the view is read even without any
/// declared, so that removing the last managed integration from the project still deletes it.
pub fn query(env: &Env, prune: bool) -> Option<ManagedQuery> {
    if env.managed_integrations.is_empty() && !prune {
        return None;
    }
    let mut types: Vec<String> = env
        .managed_integrations
        .iter()
        .filter(|spec| spec.credential.is_some())
        .map(|spec| spec.integration_type.to_string())
        .collect();
    types.sort();
    types.dedup();
    Some(ManagedQuery {
        creatable: env
            .managed_integrations
            .iter()
            .map(|spec| spec.name.clone())
            .collect(),
        types,
    })
}

/// The plan's input for the managed integrations, and the credential values apply will write.
/// Every unreadable secret of every integration is reported at once.
pub fn input(
    project_name: &str,
    env: &Env,
    view: Option<&IntegrationsView>,
) -> Result<(IntegrationInput, CredentialValues), OpsError> {
    let Some(view) = view else {
        return Ok((IntegrationInput::default(), CredentialValues::default()));
    };
    let marker = marker(project_name, &env.name);
    let needs_key = env
        .managed_integrations
        .iter()
        .any(|spec| spec.credential.is_some());
    let key = if needs_key {
        let bytes =
            secrets::fingerprint_key(env).map_err(|e| OpsError::Credentials(e.to_string()))?;
        Some(FingerprintKey::new(&bytes).map_err(|e| {
            OpsError::Credentials(format!("{}: {e}", secrets::FINGERPRINT_KEY_VARIABLE))
        })?)
    } else {
        None
    };
    let mut problems: Vec<String> = Vec::new();
    let mut values = BTreeMap::new();
    let mut desired = Vec::new();
    for spec in &env.managed_integrations {
        let kind = spec.integration_type.to_string();
        let credential = match (&spec.credential, &key) {
            (Some(credential), Some(key)) => {
                let slot = view.credential_keys.get(&kind).and_then(|keys| {
                    keys.iter()
                        .find(|(_, types)| types.contains(&credential.credential_type))
                        .map(|(slot, _)| slot.clone())
                });
                let Some(slot) = slot else {
                    let accepted: Vec<String> = view
                        .credential_keys
                        .get(&kind)
                        .into_iter()
                        .flatten()
                        .flat_map(|(slot, types)| {
                            types.iter().map(move |t| format!("{t} (under `{slot}`)"))
                        })
                        .collect();
                    problems.push(format!(
                        "integration `{}`: an integration of type `{kind}` takes no `{}` credential; it takes {}",
                        spec.name,
                        credential.credential_type,
                        if accepted.is_empty() { "none".to_string() } else { accepted.join(", ") }
                    ));
                    continue;
                };
                match secrets::read_credential(&spec.name, credential) {
                    Ok(fields) => {
                        let fingerprint =
                            key.fingerprint(&spec.name, &credential.credential_type, &fields);
                        values.insert(spec.name.clone(), fields);
                        Some(DesiredCredential {
                            credential_type: credential.credential_type.clone(),
                            slot,
                            fingerprint,
                        })
                    }
                    Err(unreadable) => {
                        problems.extend(unreadable.iter().map(ToString::to_string));
                        continue;
                    }
                }
            }
            _ => None,
        };
        desired.push(DesiredIntegration {
            name: spec.name.clone(),
            integration_type: kind,
            enabled: spec.enabled,
            credential,
        });
    }
    if !problems.is_empty() {
        return Err(OpsError::Credentials(format!(
            "the managed credentials cannot be read:\n  {}",
            problems.join("\n  ")
        )));
    }
    let declared = |name: &str, kind: &str| {
        desired
            .iter()
            .any(|d| d.name == name && d.integration_type == kind)
    };
    let existing = view
        .all
        .iter()
        .filter(|state| declared(&state.name, &state.integration_type))
        .cloned()
        .collect();
    let undeclared = view
        .all
        .iter()
        .filter(|state| {
            state.notes.starts_with(&marker) && !declared(&state.name, &state.integration_type)
        })
        .cloned()
        .collect();
    Ok((
        IntegrationInput {
            marker,
            desired,
            existing,
            undeclared,
            orphans: view.orphans.clone(),
        },
        CredentialValues(values),
    ))
}

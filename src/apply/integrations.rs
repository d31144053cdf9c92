//! Applies the managed integrations' changes (docs/plan-apply.md, "Integrations as code"): before
//! the actions, each declared integration is read afresh and converged with the same rule the plan
//! used (`plan::integrations::converge`), one write after another, so that an apply interrupted
//! anywhere — after the integration was created, after its credential was created but not bound,
//! after it was configured but not enabled — finishes on its next run without a second integration
//! or credential; after the actions' deletes, the integrations no longer declared are deleted
//! (checked again: still carrying this project's marker, not protected), then their credentials.

use std::collections::BTreeMap;

use super::{NodeOutcome, Status};
use crate::fingerprint::credential_name;
use crate::model::CredentialValues;
use crate::plan::ChangeKind;
use crate::plan::integrations::{
    DesiredIntegration, IntegrationChange, IntegrationStep, converge, notes, own_credentials,
};
use crate::remote::{Remote, RemoteError};

/// What the integrations' changes need besides the plan: the marker of this project and env, and
/// the credentials' values.
#[derive(Debug, Clone, Default)]
pub struct IntegrationContext {
    pub marker: String,
    pub values: CredentialValues,
}

/// How an outcome names an integration.
pub fn outcome_name(name: &str) -> String {
    format!("integration `{name}`")
}

fn outcome(
    change: &IntegrationChange,
    status: Status,
    id: Option<String>,
    error: Option<String>,
) -> NodeOutcome {
    NodeOutcome {
        node: outcome_name(&change.name),
        change: change.change,
        status,
        id,
        version: None,
        attempts: 1,
        error,
    }
}

/// Converges one declared integration; the outcome carries its id (the new one for a create).
pub async fn converge_one(
    remote: &Remote,
    change: &IntegrationChange,
    context: &IntegrationContext,
) -> NodeOutcome {
    let Some(desired) = &change.desired else {
        return outcome(change, Status::Unchanged, change.id.clone(), None);
    };
    let mut id = change.id.clone();
    match execute(remote, desired, context, &mut id).await {
        Ok(0) => outcome(change, Status::Unchanged, id, None),
        Ok(_) => outcome(change, Status::Applied, id, None),
        Err(error) => outcome(
            change,
            Status::Failed,
            id,
            Some(format!("integration `{}`: {error}", desired.name)),
        ),
    }
}

/// The steps against the integration as it is now; how many writes were made.
async fn execute(
    remote: &Remote,
    desired: &DesiredIntegration,
    context: &IntegrationContext,
    id: &mut Option<String>,
) -> Result<usize, RemoteError> {
    let state = remote
        .integration_state(id.as_deref(), &desired.name, &desired.integration_type)
        .await?;
    if let Some(state) = &state {
        *id = Some(state.id.clone());
    }
    let steps = converge(desired, state.as_ref(), &context.marker);
    let mut credential_id = state
        .as_ref()
        .and_then(|s| own_credentials(s).next())
        .map(|c| c.id.clone());
    let values = context.values.0.get(&desired.name);
    for step in &steps {
        tracing::debug!(integration = %desired.name, step = %step.describe(), "integration step");
        match step {
            IntegrationStep::CreateIntegration => {
                *id = Some(
                    remote
                        .create_integration(&desired.name, &desired.integration_type)
                        .await?,
                );
            }
            IntegrationStep::CreateCredential => {
                if let Some((name, kind, values)) = credential_write(id.as_deref(), desired, values)
                {
                    credential_id = Some(remote.create_credential(&name, kind, values).await?);
                }
            }
            IntegrationStep::UpdateCredential { id: existing, .. } => {
                if let Some((name, kind, values)) = credential_write(id.as_deref(), desired, values)
                {
                    remote
                        .update_credential(existing, &name, kind, values)
                        .await?;
                    credential_id = Some(existing.clone());
                }
            }
            IntegrationStep::Configure { .. } => {
                let Some(integration_id) = id.as_deref() else {
                    continue;
                };
                let binding = desired
                    .credential
                    .as_ref()
                    .zip(credential_id.as_deref())
                    .map(|(credential, credential_id)| (credential.slot.as_str(), credential_id));
                remote
                    .configure_integration(
                        integration_id,
                        &desired.name,
                        &notes(&context.marker),
                        binding,
                    )
                    .await?;
            }
            IntegrationStep::SetEnabled { enabled } => {
                if let Some(integration_id) = id.as_deref() {
                    remote.set_enabled(integration_id, *enabled).await?;
                }
            }
            IntegrationStep::DeleteIntegration | IntegrationStep::DeleteCredential { .. } => {}
        }
    }
    Ok(steps.len())
}

/// What a credential write sends: the name carrying the integration's id and the values'
/// fingerprint, the credential type, the values (none before the integration exists).
fn credential_write<'a>(
    integration_id: Option<&str>,
    desired: &'a DesiredIntegration,
    values: Option<&'a BTreeMap<String, String>>,
) -> Option<(String, &'a str, &'a BTreeMap<String, String>)> {
    let credential = desired.credential.as_ref()?;
    Some((
        credential_name(integration_id?, &credential.fingerprint),
        credential.credential_type.as_str(),
        values?,
    ))
}

/// Deletes an integration no longer declared, after checking that it still is what the plan saw:
/// it carries this project's marker and is not protected. Then nodectl's credentials it held.
pub async fn delete_one(
    remote: &Remote,
    change: &IntegrationChange,
    context: &IntegrationContext,
    protected: &[String],
) -> NodeOutcome {
    if protected.iter().any(|p| p == &change.name) {
        return outcome(
            change,
            Status::Refused,
            change.id.clone(),
            Some(format!(
                "not deleted: integration `{}` is protected",
                change.name
            )),
        );
    }
    if let Some(id) = &change.id {
        match remote
            .integration_state(Some(id), &change.name, &change.integration_type)
            .await
        {
            Ok(Some(state)) if !state.notes.starts_with(&context.marker) => {
                return outcome(
                    change,
                    Status::Refused,
                    change.id.clone(),
                    Some(format!(
                        "not deleted: integration `{}` ({id}) no longer carries this project's marker; run plan again",
                        state.name
                    )),
                );
            }
            Ok(_) => {}
            Err(error) => {
                return outcome(
                    change,
                    Status::Failed,
                    change.id.clone(),
                    Some(error.to_string()),
                );
            }
        }
    }
    for step in &change.steps {
        let done = match step {
            IntegrationStep::DeleteIntegration => match &change.id {
                Some(id) => remote.delete_integration(id).await,
                None => Ok(()),
            },
            IntegrationStep::DeleteCredential { id } => remote.delete_credential(id).await,
            _ => Ok(()),
        };
        if let Err(error) = done {
            return outcome(
                change,
                Status::Failed,
                change.id.clone(),
                Some(error.to_string()),
            );
        }
    }
    outcome(change, Status::Applied, change.id.clone(), None)
}

/// Whether a change is one this phase writes before the actions.
pub fn is_write(change: &IntegrationChange) -> bool {
    matches!(change.change, ChangeKind::Create | ChangeKind::Update)
}

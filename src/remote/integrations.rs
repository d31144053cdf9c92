//! The managed integrations in the org (docs/plan-apply.md, "Integrations as code"): their state as
//! `plan` compares it (the integrations listed with their configuration, the credentials listed
//! without their values, the integration types' credential keys), and the writes `apply` makes —
//! each safe to repeat: a create after an ambiguous failure looks the name up before posting again,
//! a configuration names its version and is re-read on a version conflict, a delete of something
//! already gone is done. Credential values pass through here on their way to Genesys and nowhere
//! else: no error or log line carries them.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{ACTIONS, Remote, RemoteAction, RemoteError, is_static};
use crate::fingerprint::parse_credential_name;
use crate::genesys::dto::{
    Action, CreateIntegrationRequest, Credential, CredentialInfo, CredentialInfoCursorListing,
    CredentialType, Integration, IntegrationConfiguration, IntegrationType,
};
use crate::genesys::{ApiError, Verb};
use crate::model::{CUSTOM_AUTH_PREFIX, is_custom_auth_id};
use crate::model::{CredentialState, IntegrationState};

const INTEGRATIONS: &str = "/api/v2/integrations";
const CREDENTIALS: &str = "/api/v2/integrations/credentials";
/// How often a configuration write is retried when its version moved meanwhile.
const CONFIG_RETRIES: usize = 5;
/// How long apply waits for Genesys to create a custom authentication action after binding a User
/// Defined OAuth credential (the Terraform provider waits 15 s).
const CUSTOM_AUTH_WAIT: Duration = Duration::from_secs(15);

/// The org as the managed integrations' plan needs it.
#[derive(Debug, Clone, Default)]
pub struct IntegrationsView {
    /// Every integration with its configuration.
    pub all: Vec<IntegrationState>,
    /// nodectl's credentials whose integration no longer exists.
    pub orphans: Vec<CredentialState>,
    /// The credential keys of each integration type asked about: type → key → credential types.
    pub credential_keys: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

/// What `Remote::snapshot` reads besides the actions when the env manages integrations.
#[derive(Debug, Clone, Default)]
pub struct ManagedQuery {
    /// Names that may be missing from the org: nodectl creates them.
    pub creatable: Vec<String>,
    /// The integration types whose credential keys are needed.
    pub types: Vec<String>,
}

impl Remote {
    /// The integrations (with their configuration), the credentials and the credential keys of
    /// `types`, read concurrently.
    pub(super) async fn integration_world(
        &self,
        types: &[String],
    ) -> Result<
        (
            Vec<Integration>,
            Vec<CredentialState>,
            BTreeMap<String, BTreeMap<String, Vec<String>>>,
        ),
        RemoteError,
    > {
        tokio::try_join!(
            async {
                self.client
                    .list_all(
                        &format!("{INTEGRATIONS}?expand=config.current"),
                        |i: &Integration| i.id.as_str(),
                    )
                    .await
                    .map_err(RemoteError::from)
            },
            self.credentials(),
            async {
                let mut keys = BTreeMap::new();
                for kind in types {
                    keys.insert(kind.clone(), self.credential_keys(kind).await?);
                }
                Ok::<_, RemoteError>(keys)
            },
        )
    }

    /// One integration's state now (`None`: it does not exist), for apply's fresh look before it
    /// writes; `by_name` finds it when its id is not known yet.
    pub async fn integration_state(
        &self,
        id: Option<&str>,
        name: &str,
        integration_type: &str,
    ) -> Result<Option<IntegrationState>, RemoteError> {
        let found = match id {
            Some(id) => {
                match self
                    .client
                    .get::<Integration>(&format!("{INTEGRATIONS}/{id}?expand=config.current"))
                    .await
                {
                    Ok(integration) => Some(integration),
                    Err(error) if error.is_not_found() => None,
                    Err(error) => return Err(error.into()),
                }
            }
            None => self.integration_named(name, integration_type).await?,
        };
        let Some(integration) = found else {
            return Ok(None);
        };
        let credentials = self.credentials().await?;
        Ok(Some(state_of(&integration, &credentials, None)))
    }

    /// The integration of this name and type, with its configuration.
    async fn integration_named(
        &self,
        name: &str,
        integration_type: &str,
    ) -> Result<Option<Integration>, RemoteError> {
        let all: Vec<Integration> = self
            .client
            .list_all(
                &format!("{INTEGRATIONS}?expand=config.current"),
                |i: &Integration| i.id.as_str(),
            )
            .await?;
        Ok(all.into_iter().find(|i| {
            i.name == name
                && i.integration_type.as_ref().map(|t| t.id.as_str()) == Some(integration_type)
        }))
    }

    /// Every credential, without values (the cursor listing, followed to its end).
    async fn credentials(&self) -> Result<Vec<CredentialState>, RemoteError> {
        let mut all = Vec::new();
        let mut next = Some(format!("{CREDENTIALS}/listing?pageSize=200"));
        // A cursor that never ends would be a server bug; 10,000 pages of 200 is beyond any org.
        for _ in 0..10_000 {
            let Some(path) = next.take() else { break };
            let page: CredentialInfoCursorListing = self.client.get(&path).await?;
            let empty = page.entities.is_empty();
            all.extend(page.entities.into_iter().map(credential_state));
            next = page.next_uri.filter(|_| !empty);
        }
        Ok(all)
    }

    /// The credential keys an integration type's configuration takes, with the credential types
    /// each accepts (`GET /api/v2/integrations/types/{typeId}`).
    async fn credential_keys(
        &self,
        integration_type: &str,
    ) -> Result<BTreeMap<String, Vec<String>>, RemoteError> {
        let kind: IntegrationType = self
            .client
            .get(&format!("{INTEGRATIONS}/types/{integration_type}"))
            .await?;
        Ok(kind
            .credentials
            .unwrap_or_default()
            .into_iter()
            .map(|(key, spec)| (key, spec.credential_types))
            .collect())
    }

    /// Creates an integration (disabled, as Genesys makes it). After an ambiguous failure the
    /// name is looked up before posting again, so a retried create never makes a second one.
    pub async fn create_integration(
        &self,
        name: &str,
        integration_type: &str,
    ) -> Result<String, RemoteError> {
        let request = CreateIntegrationRequest {
            name: Some(name.to_string()),
            integration_type: IntegrationType {
                id: integration_type.to_string(),
                credentials: None,
            },
        };
        create_once(
            async || {
                self.client
                    .send_json::<_, Integration>(Verb::Post, INTEGRATIONS, &request)
                    .await
                    .map(|created| created.id)
            },
            async || {
                Ok(self
                    .integration_named(name, integration_type)
                    .await?
                    .map(|existing| existing.id))
            },
        )
        .await
    }

    /// Creates a credential; after an ambiguous failure, one of the same name (it carries the
    /// integration's id and the values' fingerprint) is taken instead of posting again.
    pub async fn create_credential(
        &self,
        name: &str,
        credential_type: &str,
        fields: &BTreeMap<String, String>,
    ) -> Result<String, RemoteError> {
        let body = credential_body(name, credential_type, fields);
        create_once(
            async || {
                self.client
                    .send_json::<_, CredentialInfo>(Verb::Post, CREDENTIALS, &body)
                    .await
                    .map(|created| created.id)
            },
            async || {
                Ok(self
                    .credentials()
                    .await?
                    .into_iter()
                    .find(|c| c.name == name)
                    .map(|existing| existing.id))
            },
        )
        .await
    }

    /// Replaces a credential's values (and name, which carries their fingerprint): one write, so
    /// the org never holds new values under an old fingerprint or the reverse.
    pub async fn update_credential(
        &self,
        id: &str,
        name: &str,
        credential_type: &str,
        fields: &BTreeMap<String, String>,
    ) -> Result<(), RemoteError> {
        let body = credential_body(name, credential_type, fields);
        self.client
            .send_json::<_, serde_json::Value>(Verb::Put, &format!("{CREDENTIALS}/{id}"), &body)
            .await?;
        Ok(())
    }

    /// Writes an integration's configuration: its name, its notes and, when given, the credential
    /// bound under `binding.0`; properties, advanced settings and other bindings stay as they are.
    /// The version is the current one, read just before; a conflict reads it again.
    pub async fn configure_integration(
        &self,
        id: &str,
        name: &str,
        notes: &str,
        binding: Option<(&str, &str)>,
    ) -> Result<(), RemoteError> {
        let path = format!("{INTEGRATIONS}/{id}/config/current");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current: IntegrationConfiguration = self.client.get(&path).await?;
            let mut credentials: BTreeMap<String, CredentialInfo> = current
                .credentials
                .iter()
                .map(|(key, info)| {
                    (
                        key.clone(),
                        CredentialInfo {
                            id: info.id.clone(),
                            ..CredentialInfo::default()
                        },
                    )
                })
                .collect();
            if let Some((key, credential)) = binding {
                credentials.insert(
                    key.to_string(),
                    CredentialInfo {
                        id: credential.to_string(),
                        ..CredentialInfo::default()
                    },
                );
            }
            let wanted = IntegrationConfiguration {
                id: None,
                name: name.to_string(),
                version: current.version,
                properties: object_or_empty(current.properties),
                advanced: object_or_empty(current.advanced),
                notes: notes.to_string(),
                credentials,
                self_uri: None,
            };
            match self
                .client
                .send_json::<_, serde_json::Value>(Verb::Put, &path, &wanted)
                .await
            {
                Ok(_) => return Ok(()),
                Err(error) if error.is_version_conflict() && attempt < CONFIG_RETRIES => {
                    tracing::debug!(%error, "configuration version moved; reading it again");
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Enables or disables an integration (`intendedState`).
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), RemoteError> {
        let state = if enabled { "ENABLED" } else { "DISABLED" };
        self.client
            .send_json::<_, serde_json::Value>(
                Verb::Patch,
                &format!("{INTEGRATIONS}/{id}"),
                &serde_json::json!({ "intendedState": state }),
            )
            .await?;
        Ok(())
    }

    /// Deletes an integration (with its actions); one already gone is done.
    pub async fn delete_integration(&self, id: &str) -> Result<(), RemoteError> {
        match self.client.delete(&format!("{INTEGRATIONS}/{id}")).await {
            Ok(()) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Deletes a credential; one already gone is done.
    pub async fn delete_credential(&self, id: &str) -> Result<(), RemoteError> {
        match self.client.delete(&format!("{CREDENTIALS}/{id}")).await {
            Ok(()) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// The integration's custom authentication action once Genesys has created it (it does so
    /// asynchronously after a User Defined OAuth credential is bound): read completely, waiting
    /// up to 15 s.
    pub async fn await_custom_auth(
        &self,
        integration_id: &str,
    ) -> Result<RemoteAction, RemoteError> {
        let id = format!("{CUSTOM_AUTH_PREFIX}{integration_id}");
        let started = tokio::time::Instant::now();
        loop {
            match self.client.get::<Action>(&format!("{ACTIONS}/{id}")).await {
                Ok(_) => return self.read_fresh(&id).await,
                Err(error) if error.is_not_found() && started.elapsed() < CUSTOM_AUTH_WAIT => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// The managed integrations' view from the listings: each integration's state (with its action
/// count from the actions listing) and nodectl's credentials whose integration is gone.
pub(super) fn view(
    integrations: &[Integration],
    credentials: &[CredentialState],
    credential_keys: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    actions: &[Action],
) -> IntegrationsView {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for action in actions {
        if !is_static(&action.id) && !is_custom_auth_id(&action.id) {
            *counts.entry(action.integration_id.as_str()).or_default() += 1;
        }
    }
    let all = integrations
        .iter()
        .map(|i| state_of(i, credentials, counts.get(i.id.as_str()).copied()))
        .collect();
    let orphans = credentials
        .iter()
        .filter(|c| {
            parse_credential_name(&c.name)
                .is_some_and(|(id, _)| !integrations.iter().any(|i| i.id == id))
        })
        .cloned()
        .collect();
    IntegrationsView {
        all,
        orphans,
        credential_keys,
    }
}

/// A create that never makes a second one: `post` (at most 3 times) until it answers; after an
/// ambiguous failure (timeout, dropped connection, 5xx: it may have been stored) `find` looks for
/// what it would have made before posting again. The id made or found.
async fn create_once(
    post: impl AsyncFn() -> Result<String, ApiError>,
    find: impl AsyncFn() -> Result<Option<String>, RemoteError>,
) -> Result<String, RemoteError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match post().await {
            Ok(id) => return Ok(id),
            Err(error) if error.is_ambiguous() => {
                tracing::debug!(%error, "create failed ambiguously; looking it up before posting again");
                if let Some(existing) = find().await? {
                    return Ok(existing);
                }
                if attempts >= 3 {
                    return Err(error.into());
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// An integration's state from the listing (with `expand=config.current`) and the credentials.
fn state_of(
    integration: &Integration,
    credentials: &[CredentialState],
    actions: Option<usize>,
) -> IntegrationState {
    let config = integration.config.as_ref().and_then(|c| c.current.as_ref());
    let bound: Vec<(String, CredentialState)> = config
        .map(|c| {
            c.credentials
                .iter()
                .map(|(key, info)| {
                    // The credentials listing's entry (name and type), else the configuration's
                    // own copy of it.
                    let state = credentials
                        .iter()
                        .find(|c| c.id == info.id)
                        .cloned()
                        .unwrap_or_else(|| credential_state(info.clone()));
                    (key.clone(), state)
                })
                .collect()
        })
        .unwrap_or_default();
    let unbound = credentials
        .iter()
        .filter(|c| {
            parse_credential_name(&c.name).is_some_and(|(id, _)| id == integration.id)
                && !bound.iter().any(|(_, b)| b.id == c.id)
        })
        .cloned()
        .collect();
    IntegrationState {
        id: integration.id.clone(),
        name: integration.name.clone(),
        integration_type: integration
            .integration_type
            .as_ref()
            .map(|t| t.id.clone())
            .unwrap_or_default(),
        enabled: integration.intended_state.as_deref() == Some("ENABLED"),
        notes: config.map(|c| c.notes.clone()).unwrap_or_default(),
        bound,
        unbound,
        actions: actions.unwrap_or(0),
    }
}

fn credential_state(info: CredentialInfo) -> CredentialState {
    CredentialState {
        id: info.id,
        name: info.name.unwrap_or_default(),
        credential_type: info.r#type.map(|t| t.name).unwrap_or_default(),
    }
}

fn credential_body(
    name: &str,
    credential_type: &str,
    fields: &BTreeMap<String, String>,
) -> Credential {
    Credential {
        id: None,
        name: name.to_string(),
        r#type: CredentialType {
            name: credential_type.to_string(),
            ..CredentialType::default()
        },
        credential_fields: Some(fields.clone()),
        self_uri: None,
    }
}

/// Genesys wants objects for `properties` and `advanced`; an absent one is sent as `{}`.
fn object_or_empty(value: serde_json::Value) -> serde_json::Value {
    if value.is_object() {
        value
    } else {
        serde_json::json!({})
    }
}

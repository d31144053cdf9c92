//! The org as nodectl sees it, in model terms: the snapshot of the actions in the integrations an env
//! manages (names resolved to ids, each action read completely — contract and both templates — with a
//! content cache keyed by `(id, version)` so an unchanged action costs no extra request next time),
//! and the write operations `apply` uses, idempotent where docs/plan-apply.md says so. Writes are
//! offered in model terms (`create_action`, `update_action`, `update_draft` take an `ActionContent`);
//! the wire-level ones they are built on stay public for the tests of the Genesys API itself.

pub mod cache;
pub mod convert;
pub mod flows;
pub mod integrations;

use std::time::Duration;

use thiserror::Error;

use crate::genesys::dto::{
    Action, ActionConfig, ActionContract, DraftValidationResult, Integration, PostActionInput,
    PublishDraftInput, TestExecutionResult, UpdateActionInput, UpdateDraftInput,
};
use crate::genesys::{ApiError, Client, Verb};
use crate::model::{ActionContent, IntegrationRef, IntegrationType, is_custom_auth_id};
pub use cache::ContentCache;
pub use integrations::{IntegrationsView, ManagedQuery};

const ACTIONS: &str = "/api/v2/integrations/actions";

#[derive(Debug, Error)]
pub enum RemoteError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("integration `{0}` does not exist in this org")]
    IntegrationNotFound(String),
    #[error(
        "integration `{name}` is of type `{actual}` in this org, but the project declares it as `{declared}`{hint}"
    )]
    IntegrationTypeMismatch {
        name: String,
        actual: String,
        declared: String,
        hint: String,
    },
    #[error(
        "{count} integrations are named `{name}` ({ids}); name it by id: integration = \"id:<uuid>\""
    )]
    IntegrationAmbiguous {
        name: String,
        count: usize,
        ids: String,
    },
}

/// What a create returns: the action, and whether it already existed under that name (our own
/// earlier attempt whose answer was lost, or another writer's) and was adopted instead of made.
#[derive(Debug, Clone)]
pub struct Created {
    pub action: Action,
    pub adopted: bool,
}

/// A managed integration, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedIntegration {
    pub reference: IntegrationRef,
    pub id: String,
    pub name: String,
    /// `custom-rest-actions` for Web Services data actions; function and other kinds differ.
    pub integration_type: Option<String>,
}

/// Refuses a managed integration whose type in the org differs from the one the project declares
/// (`declared` gives `custom-rest-actions` for an undeclared one): the project would manage actions
/// it believes Genesys runs in another way.
pub fn check_declared_types(
    integrations: &[ManagedIntegration],
    declared: impl Fn(&IntegrationRef) -> IntegrationType,
) -> Result<(), RemoteError> {
    for integration in integrations {
        let Some(actual) = &integration.integration_type else {
            continue;
        };
        let wanted = declared(&integration.reference);
        if actual != wanted.as_str() {
            let hint = format!(
                "; declare it in nodectl.toml as {{ name = \"{}\", type = \"{actual}\" }}",
                integration.reference
            );
            return Err(RemoteError::IntegrationTypeMismatch {
                name: integration.name.clone(),
                actual: actual.clone(),
                declared: wanted.to_string(),
                hint,
            });
        }
    }
    Ok(())
}

/// One action with its complete content.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RemoteAction {
    pub id: String,
    pub version: i64,
    pub integration_id: String,
    pub name: String,
    pub category: String,
    pub secure: bool,
    /// With `requestTemplate` and `successTemplate` filled in from the template files.
    pub config: ActionConfig,
    pub contract: ActionContract,
}

/// An action outside the managed integrations (for "also exists in unmanaged integration" warnings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionSummary {
    pub id: String,
    pub name: String,
    pub integration_id: String,
    /// The name of its integration as the org lists it (its id when the listing does not know it).
    pub integration_name: String,
}

/// The org's actions for a set of managed integrations.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub integrations: Vec<ManagedIntegration>,
    /// Non-static actions of the managed integrations, by id order.
    pub actions: Vec<RemoteAction>,
    /// Actions of other integrations.
    pub elsewhere: Vec<ActionSummary>,
    /// Requests this snapshot cost (token grant included).
    pub requests: u64,
    /// Built-in `static…` actions seen in the managed integrations (ignored).
    pub statics: usize,
    /// The integrations and credentials, when the env manages integrations as resources.
    pub managed: Option<IntegrationsView>,
}

/// Reads and writes the org's actions through one client.
pub struct Remote {
    client: Client,
    cache: Option<ContentCache>,
}

impl Remote {
    pub fn new(client: Client, cache: Option<ContentCache>) -> Remote {
        Remote { client, cache }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Resolves integration names (and `id:` references) against the org.
    pub async fn resolve_integrations(
        &self,
        wanted: &[IntegrationRef],
    ) -> Result<Vec<ManagedIntegration>, RemoteError> {
        let all = self.integrations().await?;
        resolve(&all, wanted)
    }

    /// Every integration of the org.
    async fn integrations(&self) -> Result<Vec<Integration>, RemoteError> {
        Ok(self
            .client
            .list_all("/api/v2/integrations", |i: &Integration| i.id.as_str())
            .await?)
    }

    /// The snapshot: the integrations and every page of the action listing (the two listings
    /// concurrently), then the complete content of each managed action (from the content cache when
    /// its version is unchanged).
    pub async fn snapshot(&self, wanted: &[IntegrationRef]) -> Result<Snapshot, RemoteError> {
        self.snapshot_with(wanted, None).await
    }

    /// The snapshot, and with `managed` the integrations' configuration and the credentials (the
    /// integrations listing then carries each one's configuration, and the credentials are listed
    /// alongside): a managed integration the org lacks is not an error, it is to be created.
    pub async fn snapshot_with(
        &self,
        wanted: &[IntegrationRef],
        managed: Option<&ManagedQuery>,
    ) -> Result<Snapshot, RemoteError> {
        let before = self.client.requests_sent();
        // The two listings at once (neither needs the other); the first request to reach the token
        // grant makes it, the other waits for that token (`Client::access_token`).
        // With the custom authentication actions, which a project may manage too (they are listed
        // only when asked for).
        let actions_path = format!("{ACTIONS}?includeConfig=true&includeAuthActions=true");
        let (world, listed) = tokio::try_join!(
            async {
                match managed {
                    Some(query) => self
                        .integration_world(&query.types)
                        .await
                        .map(|(all, credentials, keys)| (all, Some((credentials, keys)))),
                    None => self.integrations().await.map(|all| (all, None)),
                }
            },
            async {
                self.client
                    .list_all(&actions_path, |a: &Action| a.id.as_str())
                    .await
                    .map_err(RemoteError::from)
            }
        )?;
        let (all, credentials) = world;
        let listed: Vec<Action> = listed;
        let creatable: &[String] = managed.map_or(&[], |q| q.creatable.as_slice());
        let wanted: Vec<IntegrationRef> = wanted
            .iter()
            .filter(|reference| match reference {
                IntegrationRef::Name(name) if creatable.contains(name) => {
                    all.iter().any(|i| i.name == *name)
                }
                _ => true,
            })
            .cloned()
            .collect();
        let integrations = resolve(&all, &wanted)?;
        let managed_view = credentials
            .map(|(credentials, keys)| integrations::view(&all, &credentials, keys, &listed));
        let name_of = |id: &str| {
            all.iter()
                .find(|i| i.id == id)
                .map_or_else(|| id.to_string(), |i| i.name.clone())
        };
        let managed_ids: Vec<&str> = integrations.iter().map(|i| i.id.as_str()).collect();
        let mut elsewhere = Vec::new();
        let mut to_read = Vec::new();
        let mut statics = 0;
        for action in listed {
            if is_static(&action.id) {
                statics += usize::from(managed_ids.contains(&action.integration_id.as_str()));
                continue;
            }
            if managed_ids.contains(&action.integration_id.as_str()) {
                to_read.push(action);
            } else if !is_custom_auth_id(&action.id) {
                elsewhere.push(ActionSummary {
                    integration_name: name_of(&action.integration_id),
                    id: action.id,
                    name: action.name,
                    integration_id: action.integration_id,
                });
            }
        }
        let reads = to_read.iter().map(|action| self.read_complete(action));
        // All at once: the client's semaphore and token bucket bound what really runs.
        let mut actions: Vec<RemoteAction> = futures_util::future::join_all(reads)
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        actions.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Snapshot {
            integrations,
            actions,
            elsewhere,
            requests: self.client.requests_sent() - before,
            statics,
            managed: managed_view,
        })
    }

    /// A listed action's complete content: the cached copy when it agrees with the listing, or the
    /// action with its contract plus both template files (3 requests), then cached.
    pub async fn read_complete(&self, listed: &Action) -> Result<RemoteAction, RemoteError> {
        if let Some(cached) = self.cache.as_ref().and_then(|c| c.get(listed)) {
            return Ok(cached);
        }
        let action = self.read_fresh(&listed.id).await?;
        if let Some(cache) = &self.cache {
            cache.put(&action);
        }
        Ok(action)
    }

    /// Reads an action completely, bypassing the cache.
    pub async fn read_fresh(&self, id: &str) -> Result<RemoteAction, RemoteError> {
        let action: Action = self
            .client
            .get(&format!(
                "{ACTIONS}/{id}?expand=contract&includeConfig=true"
            ))
            .await?;
        let request_path = format!("{ACTIONS}/{id}/templates/requesttemplate.vm");
        let success_path = format!("{ACTIONS}/{id}/templates/successtemplate.vm");
        let (request_template, success_template) = tokio::join!(
            self.client.get_text(&request_path),
            self.client.get_text(&success_path)
        );
        let mut config = action.config.unwrap_or_default();
        config.request.request_template = Some(request_template?);
        config.request.request_template_uri = None;
        config.response.success_template = Some(success_template?);
        config.response.success_template_uri = None;
        let mut contract = action.contract.unwrap_or_default();
        contract.input.input_schema_uri = None;
        contract.output.success_schema_uri = None;
        contract.output.error_schema_uri = None;
        Ok(RemoteAction {
            id: action.id,
            version: action.version,
            integration_id: action.integration_id,
            name: action.name,
            category: action.category.unwrap_or_default(),
            secure: action.secure,
            config,
            contract,
        })
    }

    /// The published action as the org holds it now (no contract, no templates), `None` when it
    /// does not exist: what apply checks a delete against just before sending it.
    pub async fn action(&self, id: &str) -> Result<Option<Action>, RemoteError> {
        match self.client.get::<Action>(&format!("{ACTIONS}/{id}")).await {
            Ok(action) => Ok(Some(action)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Has the org test an action (its draft with `draft`) with `input`: Genesys executes it for
    /// real and answers its trace, unflattened (`TestExecutionResult`; `nodectl parity`). A test is
    /// not repeated after an ambiguous failure: it may have reached the upstream.
    pub async fn test_action(
        &self,
        id: &str,
        draft: bool,
        input: &serde_json::Value,
    ) -> Result<TestExecutionResult, RemoteError> {
        let draft = if draft { "/draft" } else { "" };
        let path = format!("{ACTIONS}/{id}{draft}/test?flatten=false");
        Ok(self.client.send_json(Verb::Post, &path, input).await?)
    }

    /// Looks an action up by exact name in one integration (the listing's `name` filter is partial).
    pub async fn find_by_name(
        &self,
        integration_id: &str,
        name: &str,
    ) -> Result<Option<Action>, RemoteError> {
        let path = format!("{ACTIONS}?name={}", encode_query(name));
        let found: Vec<Action> = self
            .client
            .list_all(&path, |a: &Action| a.id.as_str())
            .await?;
        Ok(found
            .into_iter()
            .find(|a| a.integration_id == integration_id && a.name == name))
    }

    /// Creates an action, idempotently: after an ambiguous failure (timeout, dropped connection,
    /// 5xx) the name is looked up (3 tries over 5 s) before posting again, so a retried create never
    /// makes a duplicate.
    pub async fn create(&self, input: &PostActionInput) -> Result<Created, RemoteError> {
        let mut last_error = None;
        for _ in 0..3 {
            match self
                .client
                .send_json::<_, Action>(Verb::Post, ACTIONS, input)
                .await
            {
                Ok(action) => {
                    return Ok(Created {
                        action,
                        adopted: false,
                    });
                }
                Err(error) if error.is_ambiguous() => {
                    tracing::debug!(%error, name = %input.name, "create failed ambiguously; looking the name up");
                    for wait in [
                        Duration::from_millis(500),
                        Duration::from_millis(1500),
                        Duration::from_millis(3000),
                    ] {
                        if let Some(existing) = self
                            .find_by_name(&input.integration_id, &input.name)
                            .await?
                        {
                            return Ok(Created {
                                action: existing,
                                adopted: true,
                            });
                        }
                        tokio::time::sleep(wait).await;
                    }
                    last_error = Some(error);
                }
                Err(error)
                    if error.status() == Some(400)
                        && error.to_string().contains("already exists") =>
                {
                    // Someone (a racing apply, a retried request) created it first: adopt that
                    // action; the next plan shows any difference as an update.
                    if let Some(existing) = self
                        .find_by_name(&input.integration_id, &input.name)
                        .await?
                    {
                        tracing::debug!(name = %input.name, id = %existing.id, "create found the name taken; adopting the existing action");
                        return Ok(Created {
                            action: existing,
                            adopted: true,
                        });
                    }
                    return Err(error.into());
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(last_error.map_or_else(
            || RemoteError::IntegrationNotFound(input.integration_id.clone()),
            RemoteError::Api,
        ))
    }

    /// Creates the action `content` describes in the integration `integration_id` (see `create`).
    pub async fn create_action(
        &self,
        content: &ActionContent,
        integration_id: &str,
    ) -> Result<Created, RemoteError> {
        self.create(&convert::post_input(content, integration_id))
            .await
    }

    /// Updates the published action `id` at `version` to `content` in one `PATCH` (name,
    /// category, config: what a patch can change).
    pub async fn update_action(
        &self,
        id: &str,
        version: i64,
        content: &ActionContent,
    ) -> Result<Action, RemoteError> {
        let input = UpdateActionInput {
            category: Some(content.category.clone()),
            name: Some(content.name.clone()),
            config: Some(convert::config_of(content)),
            version,
        };
        self.patch(id, &input).await
    }

    /// Sets the action's draft (at `draft_version`) to `content`: everything, contract and
    /// `secure` included.
    pub async fn update_draft(
        &self,
        id: &str,
        draft_version: i64,
        content: &ActionContent,
    ) -> Result<Action, RemoteError> {
        let input = UpdateDraftInput {
            category: Some(content.category.clone()),
            name: Some(content.name.clone()),
            config: Some(convert::config_of(content)),
            contract: Some(convert::contract_of(content)),
            secure: Some(content.secure),
            version: draft_version,
        };
        self.draft_patch(id, &input).await
    }

    /// `PATCH /actions/{id}` (name, category, config) with the current version.
    pub async fn patch(&self, id: &str, input: &UpdateActionInput) -> Result<Action, RemoteError> {
        Ok(self
            .client
            .send_json(Verb::Patch, &format!("{ACTIONS}/{id}"), input)
            .await?)
    }

    /// Deletes an action; one already gone counts as deleted.
    pub async fn delete(&self, id: &str) -> Result<(), RemoteError> {
        match self.client.delete(&format!("{ACTIONS}/{id}")).await {
            Ok(()) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// The action's draft, if one exists.
    pub async fn draft(&self, id: &str) -> Result<Option<Action>, RemoteError> {
        match self
            .client
            .get::<Action>(&format!(
                "{ACTIONS}/{id}/draft?expand=contract&includeConfig=true"
            ))
            .await
        {
            Ok(draft) => Ok(Some(draft)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// A draft made from the published action.
    pub async fn draft_create(&self, id: &str) -> Result<Action, RemoteError> {
        Ok(self
            .client
            .send_json(
                Verb::Post,
                &format!("{ACTIONS}/{id}/draft"),
                &serde_json::json!({}),
            )
            .await?)
    }

    pub async fn draft_patch(
        &self,
        id: &str,
        input: &UpdateDraftInput,
    ) -> Result<Action, RemoteError> {
        Ok(self
            .client
            .send_json(Verb::Patch, &format!("{ACTIONS}/{id}/draft"), input)
            .await?)
    }

    pub async fn draft_validate(&self, id: &str) -> Result<DraftValidationResult, RemoteError> {
        Ok(self
            .client
            .get(&format!("{ACTIONS}/{id}/draft/validation"))
            .await?)
    }

    pub async fn draft_publish(&self, id: &str, version: i64) -> Result<Action, RemoteError> {
        Ok(self
            .client
            .post_idempotent(
                &format!("{ACTIONS}/{id}/draft/publish"),
                &PublishDraftInput { version },
            )
            .await?)
    }

    /// Deletes the action's draft; none left counts as deleted.
    pub async fn draft_delete(&self, id: &str) -> Result<(), RemoteError> {
        match self.client.delete(&format!("{ACTIONS}/{id}/draft")).await {
            Ok(()) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

/// Resolves integration names (and `id:` references) against the org's integrations.
fn resolve(
    all: &[Integration],
    wanted: &[IntegrationRef],
) -> Result<Vec<ManagedIntegration>, RemoteError> {
    wanted
        .iter()
        .map(|reference| {
            let matches: Vec<&Integration> = all
                .iter()
                .filter(|i| match reference {
                    IntegrationRef::Id(id) => i.id == *id,
                    IntegrationRef::Name(name) => i.name == *name,
                })
                .collect();
            match matches.as_slice() {
                [one] => Ok(ManagedIntegration {
                    reference: reference.clone(),
                    id: one.id.clone(),
                    name: one.name.clone(),
                    integration_type: one.integration_type.as_ref().map(|t| t.id.clone()),
                }),
                [] => Err(RemoteError::IntegrationNotFound(reference.to_string())),
                many => Err(RemoteError::IntegrationAmbiguous {
                    name: reference.to_string(),
                    count: many.len(),
                    ids: many
                        .iter()
                        .map(|i| i.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            }
        })
        .collect()
}

/// Built-in actions (`static…` ids) cannot be changed and are ignored.
pub fn is_static(id: &str) -> bool {
    id.starts_with("static")
}

/// Percent-encodes a query value (RFC 3986 unreserved kept).
fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

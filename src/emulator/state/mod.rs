//! The emulated org, sans IO: its integrations, published actions and drafts, and one pure method
//! per endpoint of docs/http-api.md's endpoint table, each answering what Genesys answers (status, envelope,
//! ErrorBody). No clock, no network, no files: the HTTP layer (`http.rs`) parses requests, checks
//! tokens and rate limits, injects faults, runs `/test` and `/execute` through the runtime and
//! persists the org (it is `Serialize`); this module only decides.
//!
//! Strict where Genesys is strict: required fields, known integration of type
//! `custom-rest-actions`, versions (409 "Version does not match current version."), 404s, no
//! contract or `secure` in a PATCH of a published action, built-in (`static…`) actions read-only.
//! Choices where Genesys is unverified are marked *unverified* and kept in one place each.
//!
//! The endpoints live by concern: `listings` (reads), `actions` (published actions' writes),
//! `drafts`, `integrations` (integrations' writes, `config/current`, custom authentication
//! actions), `credentials`, `validation` (Genesys's strictness), `replies` (error bodies, replies
//! and wire views) and `builtins` (the seeded `static…` actions); this module holds the org itself,
//! its state-file form, and `handle`, which dispatches a route to its endpoint; `dependencies`
//! serves Architect's dependency tracking over the flows `emulator::flows` declares (memory only).

mod actions;
mod builtins;
mod credentials;
mod dependencies;
mod drafts;
mod integrations;
mod listings;
mod replies;
mod validation;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use dependencies::missing_permission;
pub use replies::{ApiError, Body, ErrorParts, Reply};

use super::flows::Tracking;
use super::rng::SplitMix64;
use super::route::{Query, Route};
use crate::genesys::dto::{ActionConfig, ActionContract};
use crate::model::{DEFAULT_BODY, DEFAULT_SUCCESS_TEMPLATE, IntegrationType};
use actions::stored_config;

/// The integration type of Web Services data actions.
pub const CUSTOM_REST_ACTIONS: &str = IntegrationType::WEB_SERVICES;
/// The integration type whose actions run code and have no request URL.
pub const FUNCTION_DATA_ACTIONS: &str = IntegrationType::FUNCTION;
/// The integration types that hold data actions (Genesys's "data actions integrations": Web
/// Services, Genesys Cloud, function, AWS Lambda, Salesforce, Zendesk, Microsoft Dynamics; docs/
/// formats.md, "Integration types"). Other types (apps, telephony, …) hold none.
pub const DATA_ACTION_TYPES: [&str; 7] = [
    CUSTOM_REST_ACTIONS,
    IntegrationType::GENESYS_CLOUD,
    FUNCTION_DATA_ACTIONS,
    "aws-lambda-data-actions",
    "salesforce-datadip",
    "zendesk-data-actions",
    "microsoft-dynamics-data-actions",
];
/// The built-in integration that holds the seeded `static…` actions.
pub const BUILT_IN_INTEGRATION_ID: &str = "4b1e6c1a-2f0d-4e8b-9a57-3c6d2e8f1a90";
/// The state file's format version.
pub const STATE_FORMAT: u32 = 1;
/// `pageSize` when a listing names none.
pub const DEFAULT_PAGE_SIZE: u64 = 25;
/// The most ids one listing takes (`ids=a,b,…`).
const MAX_IDS: usize = 50;
/// `timeoutSeconds` bounds.
const TIMEOUT_RANGE: std::ops::RangeInclusive<i64> = 1..=60;
const METHODS: [&str; 5] = ["GET", "PUT", "POST", "PATCH", "DELETE"];
const ACTIONS_PATH: &str = "/api/v2/integrations/actions";
const REQUEST_TEMPLATE: &str = "requesttemplate.vm";
const SUCCESS_TEMPLATE: &str = "successtemplate.vm";
const INPUT_SCHEMA: &str = "inputschema.json";
const SUCCESS_SCHEMA: &str = "successschema.json";

/// An integration of the org and its current configuration (`name` is the configuration's name).
/// `credentials` (state file only, never on the wire) are the values `${credentials.X}` renders
/// when the emulator executes one of its actions: a state file may set them directly; once the
/// configuration binds credentials (`boundCredentials`: credential key → credential id), the bound
/// credentials' fields are used instead (`Org::executable`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredIntegration {
    pub id: String,
    pub name: String,
    pub integration_type: String,
    #[serde(default = "enabled")]
    pub intended_state: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub credentials: Map<String, Value>,
    /// The configuration's version (1 for a new integration).
    #[serde(default = "first_version", skip_serializing_if = "is_first_version")]
    pub config_version: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub advanced: Map<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bound_credentials: BTreeMap<String, String>,
}

impl StoredIntegration {
    /// A new integration of `integration_type`, its configuration at version 1, nothing bound.
    pub fn new(
        id: String,
        name: String,
        integration_type: String,
        state: &str,
    ) -> StoredIntegration {
        StoredIntegration {
            id,
            name,
            integration_type,
            intended_state: state.to_string(),
            credentials: Map::new(),
            config_version: first_version(),
            notes: String::new(),
            properties: Map::new(),
            advanced: Map::new(),
            bound_credentials: BTreeMap::new(),
        }
    }
}

fn enabled() -> String {
    "ENABLED".to_string()
}

fn first_version() -> i64 {
    1
}

fn is_first_version(version: &i64) -> bool {
    *version == 1
}

/// A credential of the org: its values are kept (the emulator stands in for Genesys, which runs
/// actions with them) but never answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredCredential {
    pub id: String,
    pub name: String,
    pub type_name: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// A published action or a draft, as stored: template texts inline, no server URIs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredAction {
    pub id: String,
    pub name: String,
    pub integration_id: String,
    pub category: String,
    #[serde(default)]
    pub secure: bool,
    pub version: i64,
    pub config: ActionConfig,
    pub contract: ActionContract,
}

impl StoredAction {
    /// The fields an action's PATCH and a draft's PATCH both take: those given replace the stored.
    fn update_fields(
        &mut self,
        name: Option<String>,
        category: Option<String>,
        config: Option<ActionConfig>,
    ) {
        if let Some(name) = name {
            self.name = name;
        }
        if let Some(category) = category {
            self.category = category;
        }
        if let Some(config) = config {
            self.config = stored_config(config);
        }
    }

    /// The request template text (Genesys's default when none was given).
    pub fn request_template(&self) -> &str {
        self.config
            .request
            .request_template
            .as_deref()
            .unwrap_or(DEFAULT_BODY)
    }

    /// The success template text (Genesys's default when none was given).
    pub fn success_template(&self) -> &str {
        self.config
            .response
            .success_template
            .as_deref()
            .unwrap_or(DEFAULT_SUCCESS_TEMPLATE)
    }
}

/// Whether an id is a built-in action's: they cannot be changed, deleted or drafted.
pub fn is_static(id: &str) -> bool {
    id.starts_with("static")
}

/// Settings of the org that come from the command line, not the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSettings {
    /// Listings serve at most this many entities per page (a larger `pageSize` is clamped).
    pub page_size_max: u64,
    /// Publish refuses a draft whose contract differs from the published action's.
    pub reject_contract_change: bool,
}

impl Default for OrgSettings {
    fn default() -> OrgSettings {
        OrgSettings {
            page_size_max: 100,
            reject_contract_change: false,
        }
    }
}

/// The org: everything the state file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Org {
    pub format: u32,
    /// `${input.orgId}` of every execution.
    pub org_id: String,
    pub integrations: Vec<StoredIntegration>,
    /// Published actions by id.
    pub actions: BTreeMap<String, StoredAction>,
    /// Drafts by the id of their action.
    pub drafts: BTreeMap<String, StoredAction>,
    /// Credentials by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub credentials: BTreeMap<String, StoredCredential>,
    /// The id generator's state, so that a restarted emulator never repeats an id.
    rng_state: u64,
    #[serde(skip)]
    settings: OrgSettings,
    /// Architect's dependency tracking: declared flows and the build (memory only).
    #[serde(skip)]
    tracking: Tracking,
    /// Bumped by every change (not persisted): the persister writes only newer snapshots.
    #[serde(skip)]
    generation: u64,
}

/// An action ready to run (`/test`, `/execute`): the action, its integration and the org's id.
#[derive(Debug, Clone, PartialEq)]
pub struct Executable {
    pub action: StoredAction,
    pub integration: StoredIntegration,
    pub org_id: String,
}

impl Org {
    /// A new org with the built-in integration and its `static…` actions; `seed` drives its ids.
    pub fn new(seed: u64) -> Org {
        let mut rng = SplitMix64::new(seed);
        let org_id = rng.uuid();
        let mut org = Org {
            format: STATE_FORMAT,
            org_id,
            integrations: Vec::new(),
            actions: BTreeMap::new(),
            drafts: BTreeMap::new(),
            credentials: BTreeMap::new(),
            rng_state: rng.state(),
            settings: OrgSettings::default(),
            tracking: Tracking::default(),
            generation: 0,
        };
        org.seed_built_ins();
        org
    }

    /// Reads a state file's text.
    pub fn from_json(text: &str) -> Result<Org, String> {
        let mut org: Org = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if org.format != STATE_FORMAT {
            return Err(format!(
                "state format {} is not supported (this nodectl writes format {STATE_FORMAT})",
                org.format
            ));
        }
        // A record filed under another id would be served under one id and changed under the
        // other: refuse the file rather than guess which is meant.
        let ids = org
            .actions
            .iter()
            .map(|(k, a)| ("actions", k, &a.id))
            .chain(org.drafts.iter().map(|(k, a)| ("drafts", k, &a.id)))
            .chain(
                org.credentials
                    .iter()
                    .map(|(k, c)| ("credentials", k, &c.id)),
            );
        for (map, key, id) in ids {
            if key != id {
                return Err(format!(
                    "{map}: the record under key `{key}` has id `{id}` (each key must be its record's id)"
                ));
            }
        }
        for integration in &org.integrations {
            if let Some((key, id)) = integration
                .bound_credentials
                .iter()
                .find(|(_, id)| !org.credentials.contains_key(*id))
            {
                return Err(format!(
                    "integrations: `{}` binds credential `{id}` ({key}), which is not among the credentials",
                    integration.id
                ));
            }
        }
        org.seed_built_ins();
        Ok(org)
    }

    /// The state file's text.
    pub fn to_json(&self) -> Result<String, String> {
        serde_json::to_string_pretty(self).map_err(|e| e.to_string())
    }

    pub fn configure(&mut self, settings: OrgSettings) {
        self.settings = settings;
    }

    /// Bumped by every change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn touch(&mut self) {
        self.generation += 1;
    }

    fn new_uuid(&mut self) -> String {
        let mut rng = SplitMix64::new(self.rng_state);
        let id = rng.uuid();
        self.rng_state = rng.state();
        id
    }

    /// The integration of that name, created with `integration_type` when absent (an existing one
    /// keeps its type); its id.
    pub fn ensure_integration(&mut self, name: &str, integration_type: &str) -> String {
        if let Some(existing) = self.integrations.iter().find(|i| i.name == name) {
            return existing.id.clone();
        }
        let id = self.new_uuid();
        self.integrations.push(StoredIntegration::new(
            id.clone(),
            name.to_string(),
            integration_type.to_string(),
            "ENABLED",
        ));
        self.touch();
        id
    }

    pub fn integration(&self, id: &str) -> Option<&StoredIntegration> {
        self.integrations.iter().find(|i| i.id == id)
    }

    /// Answers one request of the data-action API (not `/oauth/token`, the stats, `/test` or
    /// `/execute`, which the HTTP layer owns). The org has no clock: a dependency rebuild or a
    /// build status change through `handle` is dated at the current build's start; `handle_at`
    /// gives them the time.
    pub fn handle(&mut self, route: &Route, query: &Query, body: &[u8]) -> Reply {
        let now_ms = self.tracking.build.started_ms;
        self.handle_at(route, query, body, now_ms)
    }

    /// `handle`, at `now_ms` (milliseconds since the epoch).
    pub fn handle_at(&mut self, route: &Route, query: &Query, body: &[u8], now_ms: u64) -> Reply {
        let result = match route {
            Route::ListIntegrations => self.list_integrations(query),
            Route::CreateIntegration => self.create_integration(body),
            Route::GetIntegration(id) => self.get_integration(id, query),
            Route::PatchIntegration(id) => self.patch_integration(id, body),
            Route::DeleteIntegration(id) => self.delete_integration(id),
            Route::GetConfig(id) => self.get_config(id),
            Route::PutConfig(id) => self.put_config(id, body),
            Route::ListIntegrationTypes => self.list_types(query),
            Route::GetIntegrationType(kind) => self.get_type(kind),
            Route::ListCredentials => self.list_credentials(query),
            Route::CreateCredential => self.create_credential(body),
            Route::CredentialTypes => Ok(credentials::credential_types()),
            Route::CredentialCursorListing => self.cursor_credentials(query),
            Route::GetCredential(id) => self.get_credential(id),
            Route::PutCredential(id) => self.put_credential(id, body),
            Route::DeleteCredential(id) => self.delete_credential(id),
            Route::ListActions => self.list(query, false),
            Route::CreateAction => self.create_action(body),
            Route::GetAction(id) => self.get(id, query, false),
            Route::PatchAction(id) => self.patch_action(id, body),
            Route::DeleteAction(id) => self.delete_action(id),
            Route::ActionTemplate(id, file) => self.template(id, file, false),
            Route::ActionSchema(id, file) => self.schema(id, file, false),
            Route::ListDrafts => self.list(query, true),
            Route::CreateDraft => self.create_draft(body),
            Route::CreateDraftFrom(id) => self.create_draft_from(id),
            Route::GetDraft(id) => self.get(id, query, true),
            Route::PatchDraft(id) => self.patch_draft(id, body),
            Route::DeleteDraft(id) => self.delete_draft(id),
            Route::DraftTemplate(id, file) => self.template(id, file, true),
            Route::DraftSchema(id, file) => self.schema(id, file, true),
            Route::ValidateDraft(id) => self.validate_draft(id),
            Route::PublishDraft(id) => self.publish(id, body),
            Route::ConsumingResources => self.consuming_resources(query),
            Route::DependencyBuild => self.dependency_build(),
            Route::RebuildDependencies => self.rebuild_dependencies(now_ms),
            Route::PutFlows => self.put_flows(body),
            Route::PutDependencyTracking => self.put_tracking(body, now_ms),
            Route::MethodNotAllowed(template) => Err(ApiError::new(
                405,
                "method.not.allowed",
                format!("{template} does not take this method"),
            )),
            Route::Token
            | Route::Stats
            | Route::Perturb
            | Route::TestAction(_)
            | Route::TestDraft(_)
            | Route::ExecuteAction(_)
            | Route::NotFound => Err(ApiError::not_found("The requested resource was not found.")),
        };
        let reply = result.unwrap_or_else(Reply::from);
        if reply.changed {
            self.touch();
        }
        reply
    }

    /// What `/test` (`draft` for `…/draft/test`) runs.
    pub fn executable(&self, id: &str, draft: bool) -> Result<Executable, ApiError> {
        self.runnable(id, draft, false)
    }

    /// What `/test` or (`execute`) `/execute` runs: a custom authentication action can be tested
    /// but not executed ("These actions are not directly executable", Genesys's
    /// `includeAuthActions`).
    pub fn runnable(&self, id: &str, draft: bool, execute: bool) -> Result<Executable, ApiError> {
        let action = if draft {
            self.draft_of(id)?
        } else {
            self.published(id)?
        };
        if is_static(id) {
            return Err(ApiError::bad_request(format!(
                "Action {id} is a built-in action; the emulator cannot run built-in actions."
            )));
        }
        if execute && integrations::is_custom_auth(id) {
            return Err(ApiError::bad_request(format!(
                "Action {id} is a custom authentication action: it is not directly executable (the integration runs it to authenticate its other actions); test it with POST …/{id}/test."
            )));
        }
        let integration = self.integration(&action.integration_id).ok_or_else(|| {
            ApiError::invalid(
                "integrationId",
                format!("Integration {} does not exist.", action.integration_id),
            )
        })?;
        let mut integration = integration.clone();
        if let Some(values) = self.bound_values(&integration) {
            integration.credentials = values;
        }
        Ok(Executable {
            action: action.clone(),
            integration,
            org_id: self.org_id.clone(),
        })
    }

    fn published(&self, id: &str) -> Result<&StoredAction, ApiError> {
        self.actions
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("Action {id} was not found.")))
    }

    fn draft_of(&self, id: &str) -> Result<&StoredAction, ApiError> {
        self.drafts
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("No draft of action {id} was found.")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn post(org: &mut Org, path: &str, body: Value) -> Reply {
        let route = Route::parse("POST", path);
        org.handle(&route, &Query::default(), body.to_string().as_bytes())
    }

    fn action_body(org: &mut Org, name: &str) -> Value {
        let integration = org.ensure_integration("Web", CUSTOM_REST_ACTIONS);
        json!({
            "name": name, "category": "Tests", "integrationId": integration,
            "config": { "request": { "requestUrlTemplate": "https://x/y", "requestType": "GET" },
                        "response": {} },
            "contract": { "input": { "inputSchema": { "type": "object" } },
                          "output": { "successSchema": { "type": "object" } } }
        })
    }

    #[test]
    fn create_publishes_at_version_one_and_refuses_duplicates() {
        let mut org = Org::new(1);
        let body = action_body(&mut org, "A");
        let reply = post(&mut org, "/api/v2/integrations/actions", body.clone());
        assert_eq!(reply.status, 200);
        assert!(reply.changed);
        let Body::Json(action) = reply.body else {
            panic!("not JSON")
        };
        assert_eq!(action["version"], 1);
        let again = post(&mut org, "/api/v2/integrations/actions", body);
        assert_eq!(again.status, 400);
        assert!(!again.changed);
    }

    #[test]
    fn patch_checks_the_version() {
        let mut org = Org::new(2);
        let body = action_body(&mut org, "A");
        let Body::Json(action) = post(&mut org, "/api/v2/integrations/actions", body).body else {
            panic!("not JSON")
        };
        let id = action["id"].as_str().unwrap_or_default().to_string();
        let route = Route::parse("PATCH", &format!("/api/v2/integrations/actions/{id}"));
        let stale = org.handle(&route, &Query::default(), br#"{"version": 7, "name": "B"}"#);
        assert_eq!(stale.status, 409);
        let fresh = org.handle(&route, &Query::default(), br#"{"version": 1, "name": "B"}"#);
        assert_eq!(fresh.status, 200);
    }

    #[test]
    fn listings_take_at_most_fifty_ids() {
        let mut org = Org::new(4);
        let ids = vec!["custom_-_x"; 51].join(",");
        let query = Query::parse(&format!("ids={ids}"));
        let reply = org.handle(&Route::ListActions, &query, b"");
        assert_eq!(reply.status, 400);
        let query = Query::parse("ids=static_-_6f1d2c3b-8a4e-4f50-9b61-7c2d3e4f5a6b");
        let Body::Json(listing) = org.handle(&Route::ListActions, &query, b"").body else {
            panic!("not JSON")
        };
        assert_eq!(listing["total"], 1);
    }

    #[test]
    fn publish_bumps_the_published_version() {
        let mut org = Org::new(5);
        let body = action_body(&mut org, "A");
        let Body::Json(action) = post(&mut org, "/api/v2/integrations/actions", body).body else {
            panic!("not JSON")
        };
        let id = action["id"].as_str().unwrap_or_default().to_string();
        let base = format!("/api/v2/integrations/actions/{id}");
        assert_eq!(
            post(&mut org, &format!("{base}/draft"), json!({})).status,
            200
        );
        let published = post(
            &mut org,
            &format!("{base}/draft/publish"),
            json!({"version": 1}),
        );
        let Body::Json(published) = published.body else {
            panic!("not JSON")
        };
        assert_eq!(published["version"], 2);
        assert!(org.drafts.is_empty());
    }

    #[test]
    fn state_round_trips() {
        let mut org = Org::new(3);
        org.ensure_integration("Web", CUSTOM_REST_ACTIONS);
        let text = org.to_json().unwrap_or_default();
        let back = Org::from_json(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.integrations, org.integrations);
        assert_eq!(back.actions, org.actions);
    }

    #[test]
    fn versions_do_not_wrap() {
        let mut org = Org::new(1);
        let body = action_body(&mut org, "A");
        let reply = post(&mut org, "/api/v2/integrations/actions", body);
        let Body::Json(action) = reply.body else {
            panic!("not JSON")
        };
        let id = action["id"].as_str().unwrap_or_default().to_string();
        if let Some(stored) = org.actions.get_mut(&id) {
            stored.version = i64::MAX;
        }
        let route = Route::parse("PATCH", &format!("/api/v2/integrations/actions/{id}"));
        let patch = json!({ "version": i64::MAX, "name": "B" });
        let reply = org.handle(&route, &Query::default(), patch.to_string().as_bytes());
        assert_eq!(reply.status, 409);
        let Body::Error(error) = reply.body else {
            panic!("not an error")
        };
        assert_eq!(error.code, "version.exhausted");
        assert_eq!(org.actions[&id].version, i64::MAX);
        assert_eq!(org.actions[&id].name, "A");
    }

    #[test]
    fn a_state_file_whose_keys_disagree_with_the_ids_is_refused() {
        let mut org = Org::new(1);
        let body = action_body(&mut org, "A");
        post(&mut org, "/api/v2/integrations/actions", body);
        let text = org.to_json().unwrap_or_else(|e| panic!("{e}"));
        let mut value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let actions = value["actions"].as_object_mut().map(std::mem::take);
        let (_, record) = actions
            .and_then(|a| a.into_iter().next())
            .unwrap_or_else(|| panic!("no action"));
        value["actions"] = json!({ "not-its-id": record });
        let error = Org::from_json(&value.to_string()).unwrap_err();
        assert!(
            error.starts_with("actions: the record under key `not-its-id` has id `"),
            "{error}"
        );
    }
}

//! The emulated org, sans IO: its integrations, published actions and drafts, and one pure method
//! per endpoint of genesys-api.md's table, each answering what Genesys answers (status, envelope,
//! ErrorBody). No clock, no network, no files: the HTTP layer (`http.rs`) parses requests, checks
//! tokens and rate limits, injects faults, runs `/test` and `/execute` through the runtime and
//! persists the org (it is `Serialize`); this module only decides.
//!
//! Strict where Genesys is strict: required fields, known integration of type
//! `custom-rest-actions`, versions (409 "Version does not match current version."), 404s, no
//! contract or `secure` in a PATCH of a published action, built-in (`static…`) actions read-only.
//! Choices where Genesys is unverified are marked *unverified* and kept in one place each.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::rng::SplitMix64;
use super::route::{Query, Route};
use crate::genesys::dto::{
    Action, ActionConfig, ActionContract, ContractInput, ContractOutput, ErrorDetail,
    PostActionInput, PublishDraftInput, UpdateActionInput, UpdateDraftInput,
};
use crate::http::url::percent_encode;
use crate::model::{DEFAULT_BODY, DEFAULT_SUCCESS_TEMPLATE};

/// The integration type of Web Services data actions.
pub const CUSTOM_REST_ACTIONS: &str = "custom-rest-actions";
/// The built-in integration that holds the seeded `static…` actions.
pub const BUILT_IN_INTEGRATION_ID: &str = "4b1e6c1a-2f0d-4e8b-9a57-3c6d2e8f1a90";
const BUILT_IN_INTEGRATION_NAME: &str = "Genesys Cloud Data Actions (built-in)";
const BUILT_IN_INTEGRATION_TYPE: &str = "purecloud-data-actions";
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

/// An integration of the org. `credentials` (state file only, never on the wire) are the values
/// `${credentials.X}` renders when the emulator executes one of its actions.
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
}

fn enabled() -> String {
    "ENABLED".to_string()
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
    /// The id generator's state, so that a restarted emulator never repeats an id.
    rng_state: u64,
    #[serde(skip)]
    settings: OrgSettings,
    /// Bumped by every change (not persisted): the persister writes only newer snapshots.
    #[serde(skip)]
    generation: u64,
}

/// The version after `current`; a 409 instead of wrapping (a state file can hold any version).
fn next_version(current: i64) -> Result<i64, ApiError> {
    current.checked_add(1).ok_or_else(|| {
        ApiError::new(
            409,
            "version.exhausted",
            format!(
                "The version {current} cannot be incremented: the action has no versions left."
            ),
        )
    })
}

/// Why a request failed: Genesys's `ErrorBody` without its `contextId` (the HTTP layer adds it).
/// Boxed, so that results carrying it stay small; its parts are reached through `Deref`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError(Box<ErrorParts>);

/// The parts of an `ApiError`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorParts {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub message_params: Map<String, Value>,
    pub details: Vec<ErrorDetail>,
    pub errors: Vec<ApiError>,
}

impl std::ops::Deref for ApiError {
    type Target = ErrorParts;

    fn deref(&self) -> &ErrorParts {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorParts {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError(Box::new(ErrorParts {
            status,
            code: code.to_string(),
            message: message.into(),
            message_params: Map::new(),
            details: Vec::new(),
            errors: Vec::new(),
        }))
    }

    /// 400 `bad.request`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "bad.request", message)
    }

    /// 400 `invalid.value`, naming the field.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        let mut error = ApiError::new(400, "invalid.value", message);
        error.details.push(ErrorDetail {
            error_code: Some("invalid.value".to_string()),
            field_name: Some(field.to_string()),
            entity_id: None,
            entity_name: None,
        });
        error
    }

    /// 404 `not.found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "not.found", message)
    }

    /// 409 `conflict`, Genesys's answer to a stale version.
    pub fn version_conflict() -> ApiError {
        ApiError::new(409, "conflict", "Version does not match current version.")
    }

    /// Several problems as one answer: the first one's status and code, every message, detail and
    /// error.
    fn combined(mut problems: Vec<ApiError>) -> Option<ApiError> {
        if problems.len() <= 1 {
            return problems.pop();
        }
        let first = problems.first()?.clone();
        let mut error = ApiError::new(
            first.status,
            &first.code,
            problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        );
        error.details = problems.iter().flat_map(|p| p.details.clone()).collect();
        error.errors = problems;
        Some(error)
    }

    /// The `ErrorBody` JSON: `{message, code, status, messageWithParams, messageParams, contextId,
    /// details, errors}` (`contextId` left out when `None`).
    pub fn body(&self, context_id: Option<&str>) -> Value {
        let mut body = json!({
            "message": self.message,
            "code": self.code,
            "status": self.status,
            "messageWithParams": self.message,
            "messageParams": self.message_params,
        });
        if let (Value::Object(map), Some(id)) = (&mut body, context_id) {
            map.insert("contextId".to_string(), Value::String(id.to_string()));
        }
        if let Value::Object(map) = &mut body {
            map.insert(
                "details".to_string(),
                serde_json::to_value(&self.details).unwrap_or(Value::Array(Vec::new())),
            );
            map.insert(
                "errors".to_string(),
                Value::Array(self.errors.iter().map(|e| e.body(context_id)).collect()),
            );
        }
        body
    }
}

/// What an endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Json(Value),
    /// `text/plain` (the `templates/*.vm` reads).
    Text(String),
    Empty,
    Error(ApiError),
}

/// An answer: status, body and whether the org changed (then it must be persisted).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Body,
    pub changed: bool,
}

impl Reply {
    pub fn json(status: u16, value: Value) -> Reply {
        Reply {
            status,
            body: Body::Json(value),
            changed: false,
        }
    }

    fn changed(mut self) -> Reply {
        self.changed = true;
        self
    }

    fn no_content() -> Reply {
        Reply {
            status: 204,
            body: Body::Empty,
            changed: true,
        }
    }
}

impl From<ApiError> for Reply {
    fn from(error: ApiError) -> Reply {
        Reply {
            status: error.status,
            body: Body::Error(error),
            changed: false,
        }
    }
}

/// An action ready to run (`/test`, `/execute`): the action, its integration and the org's id.
#[derive(Debug, Clone, PartialEq)]
pub struct Executable {
    pub action: StoredAction,
    pub integration: StoredIntegration,
    pub org_id: String,
}

/// Which view of an action a read asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct View {
    draft: bool,
    contract: bool,
    config: bool,
}

impl View {
    const FULL: View = View {
        draft: false,
        contract: true,
        config: true,
    };
    const FULL_DRAFT: View = View {
        draft: true,
        contract: true,
        config: true,
    };
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
            rng_state: rng.state(),
            settings: OrgSettings::default(),
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
        for (map, records) in [("actions", &org.actions), ("drafts", &org.drafts)] {
            for (key, record) in records {
                if *key != record.id {
                    return Err(format!(
                        "{map}: the record under key `{key}` has id `{}` (each key must be its record's id)",
                        record.id
                    ));
                }
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

    /// The integration of that name, created (type `custom-rest-actions`) when absent; its id.
    pub fn ensure_integration(&mut self, name: &str) -> String {
        if let Some(existing) = self.integrations.iter().find(|i| i.name == name) {
            return existing.id.clone();
        }
        let id = self.new_uuid();
        self.integrations.push(StoredIntegration {
            id: id.clone(),
            name: name.to_string(),
            integration_type: CUSTOM_REST_ACTIONS.to_string(),
            intended_state: enabled(),
            credentials: Map::new(),
        });
        self.touch();
        id
    }

    pub fn integration(&self, id: &str) -> Option<&StoredIntegration> {
        self.integrations.iter().find(|i| i.id == id)
    }

    /// Adds the built-in integration and its two `static…` actions when they are missing.
    fn seed_built_ins(&mut self) {
        if self.integration(BUILT_IN_INTEGRATION_ID).is_none() {
            self.integrations.insert(
                0,
                StoredIntegration {
                    id: BUILT_IN_INTEGRATION_ID.to_string(),
                    name: BUILT_IN_INTEGRATION_NAME.to_string(),
                    integration_type: BUILT_IN_INTEGRATION_TYPE.to_string(),
                    intended_state: enabled(),
                    credentials: Map::new(),
                },
            );
        }
        for action in built_in_actions() {
            self.actions.entry(action.id.clone()).or_insert(action);
        }
    }

    /// Answers one request of the data-action API (not `/oauth/token`, the stats, `/test` or
    /// `/execute`, which the HTTP layer owns).
    pub fn handle(&mut self, route: &Route, query: &Query, body: &[u8]) -> Reply {
        let result = match route {
            Route::ListIntegrations => self.list_integrations(query),
            Route::GetIntegration(id) => self.get_integration(id),
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
            Route::MethodNotAllowed(template) => Err(ApiError::new(
                405,
                "method.not.allowed",
                format!("{template} does not take this method"),
            )),
            Route::Token
            | Route::Stats
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

    /// What `/test` (`draft` for `…/draft/test`) or `/execute` runs.
    pub fn executable(&self, id: &str, draft: bool) -> Result<Executable, ApiError> {
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
        let integration = self.integration(&action.integration_id).ok_or_else(|| {
            ApiError::invalid(
                "integrationId",
                format!("Integration {} does not exist.", action.integration_id),
            )
        })?;
        Ok(Executable {
            action: action.clone(),
            integration: integration.clone(),
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

    fn list_integrations(&self, query: &Query) -> Result<Reply, ApiError> {
        let entities: Vec<_> = self.integrations.iter().collect();
        let page = self.page(entities, integration_view, query, "/api/v2/integrations")?;
        Ok(Reply::json(200, page))
    }

    fn get_integration(&self, id: &str) -> Result<Reply, ApiError> {
        let integration = self
            .integration(id)
            .ok_or_else(|| ApiError::not_found(format!("Integration {id} was not found.")))?;
        Ok(Reply::json(200, integration_view(integration)))
    }

    /// `GET /actions` and `GET /actions/drafts`: filtered, sorted by name, paged.
    fn list(&self, query: &Query, drafts: bool) -> Result<Reply, ApiError> {
        let include_config = bool_param(query, "includeConfig")?.unwrap_or(false);
        let secure = bool_param(query, "secure")?;
        bool_param(query, "includeAuthActions")?;
        let name = query.get("name").map(str::to_lowercase);
        let category = query.get("category");
        let ids: Option<Vec<&str>> = query.get("ids").map(|ids| {
            ids.split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .collect()
        });
        if let Some(ids) = &ids
            && ids.len() > MAX_IDS
        {
            return Err(ApiError::invalid(
                "ids",
                format!("At most {MAX_IDS} ids may be given; got {}.", ids.len()),
            ));
        }
        let source = if drafts { &self.drafts } else { &self.actions };
        let mut matching: Vec<&StoredAction> = source
            .values()
            .filter(|a| {
                name.as_ref()
                    .is_none_or(|n| a.name.to_lowercase().contains(n.as_str()))
            })
            .filter(|a| category.is_none_or(|c| a.category == c))
            .filter(|a| secure.is_none_or(|s| a.secure == s))
            .filter(|a| ids.as_ref().is_none_or(|ids| ids.contains(&a.id.as_str())))
            .collect();
        // The key computed once per action (a 10,000-action org lowercases 10,000 names, not
        // 2 × n log n of them).
        matching.sort_by_cached_key(|a| (a.name.to_lowercase(), a.id.clone()));
        let view = View {
            draft: drafts,
            contract: false,
            config: include_config,
        };
        let path = if drafts {
            format!("{ACTIONS_PATH}/drafts")
        } else {
            ACTIONS_PATH.to_string()
        };
        let page = self.page(matching, |a| action_json(a, view), query, &path)?;
        Ok(Reply::json(200, page))
    }

    /// One page of `entities` with Genesys's envelope and URIs; only the page's entities are turned
    /// into JSON (`view`), so that paging through n entities costs O(n), not O(n²).
    fn page<T>(
        &self,
        entities: Vec<T>,
        view: impl Fn(T) -> Value,
        query: &Query,
        path: &str,
    ) -> Result<Value, ApiError> {
        let asked = positive_param(query, "pageSize")?.unwrap_or(DEFAULT_PAGE_SIZE);
        // *unverified*: Genesys's maximum is undocumented; a larger pageSize is clamped (the
        // envelope says which size was served), so clients must page by the envelope.
        let size = asked.min(self.settings.page_size_max.max(1));
        let number = positive_param(query, "pageNumber")?.unwrap_or(1);
        let total = entities.len() as u64;
        let page_count = total.div_ceil(size);
        let start = usize::try_from((number - 1).saturating_mul(size)).unwrap_or(usize::MAX);
        let page: Vec<Value> = entities
            .into_iter()
            .skip(start)
            .take(usize::try_from(size).unwrap_or(usize::MAX))
            .map(view)
            .collect();
        let others: String = query
            .0
            .iter()
            .filter(|(n, _)| n != "pageSize" && n != "pageNumber")
            .map(|(n, v)| format!("&{}={}", percent_encode(n), percent_encode(v)))
            .collect();
        let uri = |n: u64| format!("{path}?pageSize={size}&pageNumber={n}{others}");
        let mut listing = json!({
            "entities": page,
            "pageSize": size,
            "pageNumber": number,
            "total": total,
            "pageCount": page_count,
            "firstUri": uri(1),
            "selfUri": uri(number),
            "lastUri": uri(page_count.max(1)),
        });
        if let Value::Object(map) = &mut listing {
            if number < page_count {
                map.insert("nextUri".to_string(), Value::String(uri(number + 1)));
            }
            if number > 1 {
                map.insert("previousUri".to_string(), Value::String(uri(number - 1)));
            }
        }
        Ok(listing)
    }

    fn get(&self, id: &str, query: &Query, draft: bool) -> Result<Reply, ApiError> {
        let include_config = bool_param(query, "includeConfig")?.unwrap_or(false);
        let contract = query
            .all("expand")
            .flat_map(|e| e.split(','))
            .any(|e| e.trim() == "contract");
        let action = if draft {
            self.draft_of(id)?
        } else {
            self.published(id)?
        };
        let view = View {
            draft,
            contract,
            config: include_config,
        };
        Ok(Reply::json(200, action_json(action, view)))
    }

    fn template(&self, id: &str, file: &str, draft: bool) -> Result<Reply, ApiError> {
        let action = if draft {
            self.draft_of(id)?
        } else {
            self.published(id)?
        };
        let text = match file {
            REQUEST_TEMPLATE => action.request_template(),
            SUCCESS_TEMPLATE => action.success_template(),
            _ => {
                return Err(ApiError::not_found(format!(
                    "No template {file}; the templates are {REQUEST_TEMPLATE} and {SUCCESS_TEMPLATE}."
                )));
            }
        };
        Ok(Reply {
            status: 200,
            body: Body::Text(text.to_string()),
            changed: false,
        })
    }

    fn schema(&self, id: &str, file: &str, draft: bool) -> Result<Reply, ApiError> {
        let action = if draft {
            self.draft_of(id)?
        } else {
            self.published(id)?
        };
        let schema = match file {
            INPUT_SCHEMA => &action.contract.input.input_schema,
            SUCCESS_SCHEMA => &action.contract.output.success_schema,
            _ => {
                return Err(ApiError::not_found(format!(
                    "No schema {file}; the schemas are {INPUT_SCHEMA} and {SUCCESS_SCHEMA}."
                )));
            }
        };
        Ok(Reply::json(200, schema.clone()))
    }

    /// `POST /actions`: validated, published at version 1.
    fn create_action(&mut self, body: &[u8]) -> Result<Reply, ApiError> {
        let input: PostActionInput = post_input(body)?;
        let id = self.create(input)?;
        let action = self.published(&id)?;
        Ok(Reply::json(200, action_json(action, View::FULL)).changed())
    }

    /// Creates and publishes an action (version 1) with the checks of `POST /actions`; its id.
    /// How an org is built without HTTP (e.g. `serve`'s org from the manifests).
    pub fn create(&mut self, input: PostActionInput) -> Result<String, ApiError> {
        let id = format!("custom_-_{}", self.new_uuid());
        let action = stored_from_post(id, input);
        self.check_integration(&action.integration_id)?;
        let mut problems = self.problems(&action);
        problems.extend(self.duplicate_name(&action));
        if let Some(error) = ApiError::combined(problems) {
            return Err(error);
        }
        let id = action.id.clone();
        self.actions.insert(id.clone(), action);
        self.touch();
        Ok(id)
    }

    /// The published action with this id, or else the only one with this name.
    pub fn find(&self, id_or_name: &str) -> Option<&StoredAction> {
        if let Some(action) = self.actions.get(id_or_name) {
            return Some(action);
        }
        let mut named = self.actions.values().filter(|a| a.name == id_or_name);
        match (named.next(), named.next()) {
            (Some(action), None) => Some(action),
            _ => None,
        }
    }

    /// `PATCH /actions/{id}` (`UpdateActionInput`): name, category, config; with the version.
    fn patch_action(&mut self, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let value = json_object(body)?;
        for field in ["contract", "secure"] {
            if value.get(field).is_some() {
                return Err(ApiError::invalid(
                    field,
                    format!(
                        "{field} cannot be changed by PATCH on a published action (UpdateActionInput has no {field}); change it through a draft: POST …/{id}/draft, PATCH …/draft, POST …/draft/publish."
                    ),
                ));
            }
        }
        require(&value, &["version"])?;
        let update: UpdateActionInput = decode(value.clone())?;
        let current = self.published(id)?.clone();
        refuse_static(id)?;
        refuse_integration_change(&value, &current)?;
        if update.version != current.version {
            return Err(ApiError::version_conflict());
        }
        let mut next = current.clone();
        next.update_fields(update.name, update.category, update.config);
        next.version = next_version(current.version)?;
        let mut problems = self.problems(&next);
        problems.extend(self.duplicate_name(&next));
        if let Some(error) = ApiError::combined(problems) {
            return Err(error);
        }
        let reply = Reply::json(200, action_json(&next, View::FULL));
        self.actions.insert(id.to_string(), next);
        Ok(reply.changed())
    }

    fn delete_action(&mut self, id: &str) -> Result<Reply, ApiError> {
        self.published(id)?;
        refuse_static(id)?;
        self.actions.remove(id);
        // *unverified*: deleting an action also deletes its draft.
        self.drafts.remove(id);
        Ok(Reply::no_content())
    }

    /// `POST /actions/drafts`: a new draft (new id, never published), version 1.
    fn create_draft(&mut self, body: &[u8]) -> Result<Reply, ApiError> {
        let input: PostActionInput = post_input(body)?;
        let id = format!("custom_-_{}", self.new_uuid());
        let draft = stored_from_post(id, input);
        self.check_integration(&draft.integration_id)?;
        let reply = Reply::json(200, action_json(&draft, View::FULL_DRAFT));
        self.drafts.insert(draft.id.clone(), draft);
        Ok(reply.changed())
    }

    /// `POST /actions/{id}/draft`: a draft copied from the published action, version 1.
    fn create_draft_from(&mut self, id: &str) -> Result<Reply, ApiError> {
        let published = self.published(id)?.clone();
        refuse_static(id)?;
        if self.drafts.contains_key(id) {
            // *unverified*: Genesys's answer when a draft already exists.
            return Err(ApiError::new(
                409,
                "conflict",
                format!(
                    "Action {id} already has a draft; update it (PATCH …/draft), publish it or delete it first."
                ),
            ));
        }
        let draft = StoredAction {
            version: 1,
            ..published
        };
        let reply = Reply::json(200, action_json(&draft, View::FULL_DRAFT));
        self.drafts.insert(id.to_string(), draft);
        Ok(reply.changed())
    }

    /// `PATCH /actions/{id}/draft` (`UpdateDraftInput`): anything, with the draft's version.
    fn patch_draft(&mut self, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let value = json_object(body)?;
        require(&value, &["version"])?;
        let update: UpdateDraftInput = decode(value.clone())?;
        let current = self.draft_of(id)?.clone();
        refuse_static(id)?;
        if self.actions.contains_key(id) {
            refuse_integration_change(&value, &current)?;
        }
        if update.version != current.version {
            return Err(ApiError::version_conflict());
        }
        let mut next = current.clone();
        next.update_fields(update.name, update.category, update.config);
        if let Some(contract) = update.contract {
            next.contract = stored_contract(contract);
        }
        if let Some(secure) = update.secure {
            next.secure = secure;
        }
        if let Some(integration) = value.get("integrationId").and_then(Value::as_str) {
            self.check_integration(integration)?;
            next.integration_id = integration.to_string();
        }
        next.version = next_version(current.version)?;
        let reply = Reply::json(200, action_json(&next, View::FULL_DRAFT));
        self.drafts.insert(id.to_string(), next);
        Ok(reply.changed())
    }

    fn delete_draft(&mut self, id: &str) -> Result<Reply, ApiError> {
        self.draft_of(id)?;
        self.drafts.remove(id);
        Ok(Reply::no_content())
    }

    /// `GET /actions/{id}/draft/validation`: `{valid, errors}`, what publish would refuse.
    fn validate_draft(&self, id: &str) -> Result<Reply, ApiError> {
        let draft = self.draft_of(id)?;
        let errors = self.publish_problems(draft);
        let errors: Vec<Value> = errors.iter().map(|e| e.body(None)).collect();
        Ok(Reply::json(
            200,
            json!({ "valid": errors.is_empty(), "errors": errors }),
        ))
    }

    /// `POST /actions/{id}/draft/publish {version}`: the draft becomes the published action (same
    /// id; version one more than the published one, or 1) and the draft is gone.
    fn publish(&mut self, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let value = json_object(body)?;
        require(&value, &["version"])?;
        let input: PublishDraftInput = decode(value)?;
        let draft = self.draft_of(id)?.clone();
        if input.version != draft.version {
            return Err(ApiError::version_conflict());
        }
        if let Some(error) = ApiError::combined(self.publish_problems(&draft)) {
            return Err(error);
        }
        let version = match self.actions.get(id) {
            Some(published) => next_version(published.version)?,
            None => 1,
        };
        let action = StoredAction { version, ..draft };
        let reply = Reply::json(200, action_json(&action, View::FULL));
        self.actions.insert(id.to_string(), action);
        self.drafts.remove(id);
        Ok(reply.changed())
    }

    /// Everything that keeps a draft from being published.
    fn publish_problems(&self, draft: &StoredAction) -> Vec<ApiError> {
        let mut problems = self.problems(draft);
        if let Err(error) = self.check_integration(&draft.integration_id) {
            problems.push(error);
        }
        problems.extend(self.duplicate_name(draft));
        if self.settings.reject_contract_change
            && let Some(published) = self.actions.get(&draft.id)
        {
            let mut changed = Vec::new();
            if published.contract.input.input_schema != draft.contract.input.input_schema {
                changed.push("input schema");
            }
            if published.contract.output.success_schema != draft.contract.output.success_schema {
                changed.push("success schema");
            }
            if !changed.is_empty() {
                let mut error = ApiError::invalid(
                    "contract",
                    format!(
                        "The contract of a published action cannot be changed: the draft's {} {} from the published action's. Create a new action for the new contract (--reject-contract-change).",
                        changed.join(" and "),
                        if changed.len() == 1 {
                            "differs"
                        } else {
                            "differ"
                        }
                    ),
                );
                error
                    .message_params
                    .insert("changed".to_string(), Value::String(changed.join(", ")));
                problems.push(error);
            }
        }
        problems
    }

    /// The integration exists and holds Web Services data actions.
    fn check_integration(&self, id: &str) -> Result<(), ApiError> {
        let integration = self.integration(id).ok_or_else(|| {
            ApiError::invalid("integrationId", format!("Integration {id} does not exist."))
        })?;
        if integration.integration_type != CUSTOM_REST_ACTIONS {
            return Err(ApiError::invalid(
                "integrationId",
                format!(
                    "Integration {id} ({}) is of type {}; data actions can only be created in integrations of type {CUSTOM_REST_ACTIONS}.",
                    integration.name, integration.integration_type
                ),
            ));
        }
        Ok(())
    }

    /// Another published action of the same integration has this name (*unverified*: Genesys may
    /// allow it; the emulator refuses it).
    fn duplicate_name(&self, action: &StoredAction) -> Option<ApiError> {
        let other = self.actions.values().find(|a| {
            a.id != action.id
                && a.integration_id == action.integration_id
                && a.name.eq_ignore_ascii_case(&action.name)
        })?;
        let mut error = ApiError::invalid(
            "name",
            format!(
                "An action named \"{}\" already exists in integration {} ({}).",
                action.name, action.integration_id, other.id
            ),
        );
        if let Some(detail) = error.details.first_mut() {
            detail.entity_id = Some(other.id.clone());
            detail.entity_name = Some(other.name.clone());
        }
        Some(error)
    }

    /// The field checks of a complete action: what create, PATCH and publish require.
    fn problems(&self, action: &StoredAction) -> Vec<ApiError> {
        let mut problems = Vec::new();
        if action.name.trim().is_empty() {
            problems.push(ApiError::invalid("name", "name must not be empty."));
        }
        if action.category.trim().is_empty() {
            problems.push(ApiError::invalid("category", "category must not be empty."));
        }
        let request = &action.config.request;
        if request.request_url_template.trim().is_empty() {
            problems.push(ApiError::invalid(
                "config.request.requestUrlTemplate",
                "config.request.requestUrlTemplate must not be empty.",
            ));
        }
        if !METHODS.contains(&request.request_type.as_str()) {
            problems.push(ApiError::invalid(
                "config.request.requestType",
                format!(
                    "config.request.requestType must be one of {}; got \"{}\".",
                    METHODS.join(", "),
                    request.request_type
                ),
            ));
        }
        if let Some(timeout) = action.config.timeout_seconds
            && !TIMEOUT_RANGE.contains(&timeout)
        {
            problems.push(ApiError::invalid(
                "config.timeoutSeconds",
                format!("config.timeoutSeconds must be between 1 and 60; got {timeout}."),
            ));
        }
        let maps = [
            ("config.request.headers", &request.headers),
            (
                "config.response.translationMap",
                &action.config.response.translation_map,
            ),
            (
                "config.response.translationMapDefaults",
                &action.config.response.translation_map_defaults,
            ),
        ];
        for (field, map) in maps {
            if let Some((key, _)) = map.iter().find(|(_, v)| !v.is_string()) {
                problems.push(ApiError::invalid(
                    field,
                    format!("{field}.{key} must be a string."),
                ));
            }
        }
        for (field, schema) in [
            (
                "contract.input.inputSchema",
                &action.contract.input.input_schema,
            ),
            (
                "contract.output.successSchema",
                &action.contract.output.success_schema,
            ),
        ] {
            // Output schemas may be array-rooted (a flow can receive a list); inputs are objects.
            let roots: &[&str] = if field.starts_with("contract.output") {
                &["object", "array"]
            } else {
                &["object"]
            };
            if let Some(problem) = schema_problem(schema, roots) {
                problems.push(ApiError::invalid(field, format!("{field} {problem}")));
            }
        }
        problems
    }
}

/// Why a contract schema is unacceptable: not an object, a top-level `type` not among `roots`, or
/// not a schema.
fn schema_problem(schema: &Value, roots: &[&str]) -> Option<String> {
    let Value::Object(map) = schema else {
        return Some("must be a JSON Schema object.".to_string());
    };
    if !map
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| roots.contains(&t))
    {
        let allowed: Vec<String> = roots.iter().map(|r| format!("\"{r}\"")).collect();
        return Some(format!(
            "must have \"type\": {} at its top level.",
            allowed.join(" or ")
        ));
    }
    crate::schema::compile(schema)
        .err()
        .map(|e| format!("is not a valid JSON Schema: {e}"))
}

fn integration_view(integration: &StoredIntegration) -> Value {
    json!({
        "id": integration.id,
        "name": integration.name,
        "integrationType": { "id": integration.integration_type },
        "intendedState": integration.intended_state,
        "selfUri": format!("/api/v2/integrations/{}", integration.id),
    })
}

/// An action on the wire: contract only when asked for, config only when asked for, and template
/// and schema URIs instead of texts.
fn action_json(action: &StoredAction, view: View) -> Value {
    let base = if view.draft {
        format!("{ACTIONS_PATH}/{}/draft", action.id)
    } else {
        format!("{ACTIONS_PATH}/{}", action.id)
    };
    let contract = view.contract.then(|| ActionContract {
        input: ContractInput {
            input_schema: action.contract.input.input_schema.clone(),
            input_schema_uri: Some(format!("{base}/schemas/{INPUT_SCHEMA}")),
        },
        output: ContractOutput {
            success_schema: action.contract.output.success_schema.clone(),
            success_schema_uri: Some(format!("{base}/schemas/{SUCCESS_SCHEMA}")),
            error_schema: None,
            error_schema_uri: None,
        },
    });
    let config = view.config.then(|| {
        let mut config = action.config.clone();
        config.request.request_template = None;
        config.request.request_template_uri = Some(format!("{base}/templates/{REQUEST_TEMPLATE}"));
        config.response.success_template = None;
        config.response.success_template_uri = Some(format!("{base}/templates/{SUCCESS_TEMPLATE}"));
        config
    });
    let wire = Action {
        id: action.id.clone(),
        name: action.name.clone(),
        integration_id: action.integration_id.clone(),
        category: Some(action.category.clone()),
        contract,
        version: action.version,
        secure: action.secure,
        config,
        self_uri: Some(base),
    };
    serde_json::to_value(&wire).unwrap_or(Value::Null)
}

/// The config as stored: server URIs dropped, absent templates set to Genesys's defaults.
fn stored_config(mut config: ActionConfig) -> ActionConfig {
    config.request.request_template_uri = None;
    config.response.success_template_uri = None;
    if config.request.request_template.is_none() {
        config.request.request_template = Some(DEFAULT_BODY.to_string());
    }
    if config.response.success_template.is_none() {
        config.response.success_template = Some(DEFAULT_SUCCESS_TEMPLATE.to_string());
    }
    config
}

/// The contract as stored: the two schemas (`ActionContractInput` has nothing else).
fn stored_contract(contract: ActionContract) -> ActionContract {
    ActionContract {
        input: ContractInput {
            input_schema: contract.input.input_schema,
            input_schema_uri: None,
        },
        output: ContractOutput {
            success_schema: contract.output.success_schema,
            success_schema_uri: None,
            error_schema: None,
            error_schema_uri: None,
        },
    }
}

fn stored_from_post(id: String, input: PostActionInput) -> StoredAction {
    StoredAction {
        id,
        name: input.name,
        integration_id: input.integration_id,
        category: input.category,
        secure: input.secure,
        version: 1,
        config: stored_config(input.config),
        contract: stored_contract(input.contract),
    }
}

/// A `PostActionInput` body: a JSON object with every required field.
fn post_input(body: &[u8]) -> Result<PostActionInput, ApiError> {
    let value = json_object(body)?;
    require(
        &value,
        &["category", "name", "integrationId", "config", "contract"],
    )?;
    decode(value)
}

/// The body as a JSON object, or 400.
fn json_object(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("A request body is required."));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        ));
    }
    Ok(value)
}

/// 400 naming every required field that is missing or null.
fn require(value: &Value, fields: &[&str]) -> Result<(), ApiError> {
    let missing: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|f| value.get(f).is_none_or(Value::is_null))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut error = ApiError::bad_request(format!(
        "Missing required field{}: {}.",
        if missing.len() == 1 { "" } else { "s" },
        missing.join(", ")
    ));
    error.details = missing
        .iter()
        .map(|f| ErrorDetail {
            error_code: Some("missing.required.field".to_string()),
            field_name: Some((*f).to_string()),
            entity_id: None,
            entity_name: None,
        })
        .collect();
    Err(error)
}

fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| {
        ApiError::bad_request(format!("The request body does not match the model: {e}"))
    })
}

fn refuse_static(id: &str) -> Result<(), ApiError> {
    if is_static(id) {
        return Err(ApiError::bad_request(format!(
            "Action {id} is a built-in (static) action; it cannot be changed, drafted or deleted."
        )));
    }
    Ok(())
}

/// An action's integration is fixed: moving it is a replace (new id).
fn refuse_integration_change(value: &Value, current: &StoredAction) -> Result<(), ApiError> {
    match value.get("integrationId").and_then(Value::as_str) {
        Some(integration) if integration != current.integration_id => Err(ApiError::invalid(
            "integrationId",
            "The integration of an action cannot be changed; create the action in the other integration instead.",
        )),
        _ => Ok(()),
    }
}

/// A `true`/`false` query parameter.
fn bool_param(query: &Query, name: &str) -> Result<Option<bool>, ApiError> {
    match query.get(name) {
        None => Ok(None),
        Some(text) => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(ApiError::invalid(
                name,
                format!("{name} must be true or false; got \"{text}\"."),
            )),
        },
    }
}

/// A positive integer query parameter.
fn positive_param(query: &Query, name: &str) -> Result<Option<u64>, ApiError> {
    match query.get(name) {
        None => Ok(None),
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(ApiError::invalid(
                name,
                format!("{name} must be a positive integer; got \"{text}\"."),
            )),
        },
    }
}

/// The seeded built-in actions (Genesys Cloud Data Actions calling the Platform API itself).
fn built_in_actions() -> Vec<StoredAction> {
    let object = |properties: Value| json!({ "type": "object", "properties": properties });
    let action = |id: &str, name: &str, url: &str, input: Value, output: Value| StoredAction {
        id: id.to_string(),
        name: name.to_string(),
        integration_id: BUILT_IN_INTEGRATION_ID.to_string(),
        category: BUILT_IN_INTEGRATION_NAME.to_string(),
        secure: false,
        version: 1,
        config: stored_config(ActionConfig {
            timeout_seconds: None,
            request: crate::genesys::dto::RequestConfig {
                request_url_template: url.to_string(),
                request_type: "GET".to_string(),
                ..Default::default()
            },
            response: crate::genesys::dto::ResponseConfig::default(),
        }),
        contract: ActionContract {
            input: ContractInput {
                input_schema: input,
                input_schema_uri: None,
            },
            output: ContractOutput {
                success_schema: output,
                ..Default::default()
            },
        },
    };
    vec![
        action(
            "static_-_6f1d2c3b-8a4e-4f50-9b61-7c2d3e4f5a6b",
            "Get User Presence",
            "/api/v2/users/${input.userId}/presences/purecloud",
            object(json!({ "userId": { "type": "string" } })),
            object(json!({ "presenceDefinition": { "type": "object" } })),
        ),
        action(
            "static_-_9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "Get Queue Estimated Wait Time",
            "/api/v2/routing/queues/${input.queueId}/estimatedwaittime",
            object(json!({ "queueId": { "type": "string" } })),
            object(json!({ "results": { "type": "array" } })),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(org: &mut Org, path: &str, body: Value) -> Reply {
        let route = Route::parse("POST", path);
        org.handle(&route, &Query::default(), body.to_string().as_bytes())
    }

    fn action_body(org: &mut Org, name: &str) -> Value {
        let integration = org.ensure_integration("Web");
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
        org.ensure_integration("Web");
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

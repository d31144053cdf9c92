//! The wire models of the Genesys Cloud data-action API (docs/http-api.md), shared by the client and
//! the emulator. Reads tolerate unknown fields; writes use exactly Genesys's field names and leave
//! out what is absent.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `Action` (a published action, or a draft).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub integration_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ActionContract>,
    #[serde(default)]
    pub version: i64,
    #[serde(default)]
    pub secure: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ActionConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `ActionConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ActionConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    #[serde(default)]
    pub request: RequestConfig,
    #[serde(default)]
    pub response: ResponseConfig,
}

/// `RequestConfig`. Reads carry `requestTemplateUri` instead of the template text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RequestConfig {
    /// Empty for a function data action, which has none (left out of what is sent).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request_url_template: String,
    #[serde(default)]
    pub request_type: String,
    #[serde(default)]
    pub headers: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_template_uri: Option<String>,
}

/// `ResponseConfig`. Reads carry `successTemplateUri` instead of the template text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResponseConfig {
    #[serde(default)]
    pub translation_map: Map<String, Value>,
    #[serde(default)]
    pub translation_map_defaults: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_template_uri: Option<String>,
}

/// `ActionContract` (read) and `ActionContractInput` (write): schemas are opaque JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ActionContract {
    #[serde(default)]
    pub input: ContractInput,
    #[serde(default)]
    pub output: ContractOutput,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContractInput {
    #[serde(default)]
    pub input_schema: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema_uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContractOutput {
    #[serde(default)]
    pub success_schema: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_schema_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_schema_uri: Option<String>,
}

/// `PostActionInput`: create an action (or a new draft).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostActionInput {
    pub category: String,
    pub name: String,
    pub integration_id: String,
    pub config: ActionConfig,
    pub contract: ActionContract,
    #[serde(default)]
    pub secure: bool,
}

/// `UpdateActionInput`: PATCH of a published action — no contract, no secure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateActionInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ActionConfig>,
    pub version: i64,
}

/// `UpdateDraftInput`: PATCH of a draft — anything, with the draft's version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDraftInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ActionConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ActionContract>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
    pub version: i64,
}

/// `POST …/draft/publish` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishDraftInput {
    pub version: i64,
}

/// `GET …/draft/validation` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DraftValidationResult {
    pub valid: bool,
    #[serde(default)]
    pub errors: Vec<ErrorBody>,
}

/// `POST …/test` and `…/draft/test` answer: the official SDKs' `TestExecutionResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TestExecutionResult {
    #[serde(default)]
    pub operations: Vec<TestExecutionOperationResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_result: Option<Value>,
    #[serde(default)]
    pub success: bool,
}

/// `TestExecutionResult.operations[]`: the SDKs' `TestExecutionOperationResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TestExecutionOperationResult {
    #[serde(default)]
    pub step: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// `ConsumingResourcesEntityListing.entities[]`: the SDKs' `Dependency` — one resource (a flow
/// version) that consumes the object asked about (Architect's dependency tracking).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// The consuming version (`"3.0"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The resource's type (`INBOUNDCALLFLOW`, `COMMONMODULEFLOW`, …).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub updated: bool,
    #[serde(default)]
    pub state_unknown: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `GET /api/v2/architect/dependencytracking/build`: the SDKs' `DependencyStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DependencyStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_started: Option<String>,
    /// ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_completed: Option<String>,
    /// `OPERATIONAL`, `OPERATIONALNEEDSREBUILD`, `BUILDINPROGRESS`, `BUILDQUEUED`,
    /// `BUILDINITIALIZING`, `BUILDINCOMPLETE`, `NOTBUILT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// A page of a listing (`ActionEntityListing`, `IntegrationEntityListing`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityListing<T> {
    #[serde(default = "Vec::new")]
    pub entities: Vec<T>,
    #[serde(default)]
    pub page_size: i64,
    #[serde(default)]
    pub page_number: i64,
    #[serde(default)]
    pub total: i64,
    #[serde(default)]
    pub page_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// An integration (only what nodectl needs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_type: Option<IntegrationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended_state: Option<String>,
    /// With `expand=config.current`: its configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<IntegrationConfigs>,
}

/// `Integration.config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct IntegrationConfigs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<IntegrationConfiguration>,
}

/// `IntegrationType`: its id and, from `GET /api/v2/integrations/types/{typeId}`, the credentials
/// its configuration takes, by key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct IntegrationType {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<std::collections::BTreeMap<String, CredentialSpecification>>,
}

/// `CredentialSpecification`: one credential key of an integration type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSpecification {
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub credential_types: Vec<String>,
}

/// `CredentialInfoCursorListing`: `GET /api/v2/integrations/credentials/listing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CredentialInfoCursorListing {
    #[serde(default)]
    pub entities: Vec<CredentialInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
}

/// `CreateIntegrationRequest`: `POST /api/v2/integrations` (`name` optional in practice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateIntegrationRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub integration_type: IntegrationType,
}

/// `IntegrationConfiguration`: `GET`/`PUT /api/v2/integrations/{id}/config/current`. `version`
/// is the current one (a PUT names it); `credentials` maps the integration type's credential keys
/// (`basicAuth`, `pureCloudOAuthClient`, …) to credentials, of which a PUT needs only the `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: i64,
    #[serde(default)]
    pub properties: Value,
    #[serde(default)]
    pub advanced: Value,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub credentials: std::collections::BTreeMap<String, CredentialInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `CredentialInfo`: a credential without its values (what writes answer, listings hold and a
/// configuration binds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CredentialInfo {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<CredentialType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `Credential`: `POST`/`PUT /api/v2/integrations/credentials` (`credentialFields` are strings;
/// reads leave them out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    pub r#type: CredentialType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_fields: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `CredentialType`: its `name` (`basicAuth`, `userDefined`, `userDefinedOAuth`,
/// `pureCloudOAuthClient`, …); the types listing adds the fields it takes and requires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CredentialType {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_order: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<Vec<String>>,
}

/// Genesys's `ErrorBody`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub status: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_with_params: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub message_params: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    #[serde(default)]
    pub details: Vec<ErrorDetail>,
    #[serde(default)]
    pub errors: Vec<ErrorBody>,
}

impl ErrorBody {
    /// The most specific message: the innermost nested error's (a failed call's top-level message
    /// is generic; what went wrong is in `errors[]`).
    pub fn specific_message(&self) -> &str {
        self.errors
            .first()
            .map_or(self.message.as_str(), ErrorBody::specific_message)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
}

/// `POST /oauth/token` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub token_type: String,
    #[serde(default)]
    pub expires_in: u64,
}

/// `POST /oauth/token` failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct OAuthError {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

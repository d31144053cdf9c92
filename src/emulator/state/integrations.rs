//! The integrations' writes and their configuration: create (`intendedState` DISABLED, its
//! configuration at version 1), enable or disable (PATCH), delete (with its actions; credentials
//! stay), `config/current` (read, and replace naming the current version: the integration takes its
//! name, credentials bound by id), the integration types the emulator knows with the credential
//! keys their configurations take, and the custom authentication action a Web Services integration
//! gets while its configuration binds a `userDefinedOAuth` credential.

use serde_json::{Map, Value, json};

use crate::emulator::route::Query;
use crate::genesys::dto::{
    ActionConfig, ActionContract, ContractInput, ContractOutput, CreateIntegrationRequest,
    IntegrationConfiguration, RequestConfig, ResponseConfig,
};
use crate::model::IntegrationType;

use super::actions::stored_config;
use super::credentials::USER_DEFINED_OAUTH;
use super::replies::{ApiError, Reply};
use super::validation::{decode, json_object, next_version, require};
use super::{
    BUILT_IN_INTEGRATION_ID, CUSTOM_REST_ACTIONS, DATA_ACTION_TYPES, FUNCTION_DATA_ACTIONS, Org,
    StoredAction, StoredIntegration,
};

/// The id prefix of custom authentication actions: `customAuth_-_<integrationId>`.
pub use crate::model::CUSTOM_AUTH_PREFIX;
const INTEGRATIONS_PATH: &str = "/api/v2/integrations";

/// Whether an action id is a custom authentication action's.
pub use crate::model::is_custom_auth_id as is_custom_auth;

/// A credential key of a configuration: its name, whether it is required, and the credential types
/// it accepts (`CredentialSpecification`).
type CredentialKey = (&'static str, bool, &'static [&'static str]);

/// An integration type the emulator knows: id, display name, credential keys (`None`: unknown,
/// any key and any credential type are taken).
type KnownType = (&'static str, &'static str, Option<&'static [CredentialKey]>);

/// The integration types `POST /integrations` takes (also any other `…-data-actions`), with their
/// credential keys (`IntegrationType.credentials`). *unverified*: the display names, whether a key
/// is required, the keys of the types marked `None`; `functionCredentials` is *likely* (a public
/// configuration, not Genesys's own source).
const KNOWN_TYPES: [KnownType; 9] = [
    (
        CUSTOM_REST_ACTIONS,
        "Web Services Data Actions",
        Some(&[(
            "basicAuth",
            false,
            &["basicAuth", "userDefined", USER_DEFINED_OAUTH],
        )]),
    ),
    (
        IntegrationType::GENESYS_CLOUD,
        "Genesys Cloud Data Actions",
        Some(&[("pureCloudOAuthClient", true, &["pureCloudOAuthClient"])]),
    ),
    (
        FUNCTION_DATA_ACTIONS,
        "Function Data Actions",
        Some(&[("functionCredentials", false, &["userDefined"])]),
    ),
    ("aws-lambda-data-actions", "AWS Lambda Data Actions", None),
    ("salesforce-datadip", "Salesforce Data Actions", None),
    ("zendesk-data-actions", "Zendesk Data Actions", None),
    (
        "microsoft-dynamics-data-actions",
        "Microsoft Dynamics 365 Data Actions",
        None,
    ),
    ("embedded-client-app", "Client Application", None),
    ("imap-server", "IMAP Server", None),
];

/// The known type `kind`, or one synthesized for another `…-data-actions` type.
fn known_type(kind: &str) -> Option<KnownType> {
    KNOWN_TYPES
        .iter()
        .find(|(id, _, _)| *id == kind)
        .copied()
        .or_else(|| {
            (kind.ends_with("-data-actions") || DATA_ACTION_TYPES.contains(&kind))
                .then_some(("", "", None))
        })
}

/// The name of an integration created without one (*unverified*: the type's display name).
fn default_name(kind: &str) -> String {
    match known_type(kind) {
        Some((_, name, _)) if !name.is_empty() => name.to_string(),
        _ => kind.to_string(),
    }
}

/// The credential keys a type's configuration takes; `None`: any.
fn credential_keys(kind: &str) -> Option<&'static [CredentialKey]> {
    known_type(kind).and_then(|(_, _, keys)| keys)
}

/// `IntegrationType` on the wire.
fn type_json(kind: &str) -> Value {
    let credentials: Map<String, Value> = credential_keys(kind)
        .unwrap_or_default()
        .iter()
        .map(|(key, required, types)| {
            (
                (*key).to_string(),
                json!({ "required": required, "title": key, "credentialTypes": types }),
            )
        })
        .collect();
    json!({
        "id": kind,
        "name": default_name(kind),
        "credentials": credentials,
        "selfUri": format!("{INTEGRATIONS_PATH}/types/{kind}"),
    })
}

impl Org {
    fn integration_or_404(&self, id: &str) -> Result<&StoredIntegration, ApiError> {
        self.integration(id)
            .ok_or_else(|| ApiError::not_found(format!("Integration {id} was not found.")))
    }

    /// An integration that may be changed: it exists and is not the built-in one.
    fn changeable(&self, id: &str) -> Result<&StoredIntegration, ApiError> {
        let integration = self.integration_or_404(id)?;
        if id == BUILT_IN_INTEGRATION_ID {
            return Err(ApiError::bad_request(format!(
                "Integration {id} ({}) is built in: it cannot be changed or deleted.",
                integration.name
            )));
        }
        Ok(integration)
    }

    /// An integration on the wire (`Integration`); with `expand=config.current`, its configuration.
    pub(super) fn integration_json(&self, integration: &StoredIntegration, query: &Query) -> Value {
        let mut value = json!({
            "id": integration.id,
            "name": integration.name,
            "integrationType": { "id": integration.integration_type },
            "intendedState": integration.intended_state,
            "selfUri": format!("{INTEGRATIONS_PATH}/{}", integration.id),
        });
        let expanded = query
            .all("expand")
            .flat_map(|e| e.split(','))
            .any(|e| e.trim() == "config.current");
        if let (true, Value::Object(map)) = (expanded, &mut value) {
            map.insert(
                "config".to_string(),
                json!({ "current": self.config_json(integration) }),
            );
        }
        value
    }

    /// `IntegrationConfiguration`: bound credentials as `CredentialInfo`.
    fn config_json(&self, integration: &StoredIntegration) -> Value {
        let credentials: Map<String, Value> = integration
            .bound_credentials
            .iter()
            .map(|(key, id)| {
                let info = match self.credentials.get(id) {
                    Some(credential) => self.credential_info(credential),
                    None => json!({ "id": id }),
                };
                (key.clone(), info)
            })
            .collect();
        json!({
            "id": integration.id,
            "name": integration.name,
            "version": integration.config_version,
            "properties": integration.properties,
            "advanced": integration.advanced,
            "notes": integration.notes,
            "credentials": credentials,
            "selfUri": format!("{INTEGRATIONS_PATH}/{}/config/current", integration.id),
        })
    }

    /// `GET /integrations/types`: the known types, paged (`IntegrationTypeEntityListing`).
    pub(super) fn list_types(&self, query: &Query) -> Result<Reply, ApiError> {
        let kinds: Vec<&str> = KNOWN_TYPES.iter().map(|(id, _, _)| *id).collect();
        let page = self.page(kinds, type_json, query, "/api/v2/integrations/types")?;
        Ok(Reply::json(200, page))
    }

    /// `GET /integrations/types/{typeId}`: `IntegrationType`, with its credential keys.
    pub(super) fn get_type(&self, kind: &str) -> Result<Reply, ApiError> {
        if known_type(kind).is_none() {
            return Err(ApiError::not_found(format!(
                "Integration type {kind} was not found."
            )));
        }
        Ok(Reply::json(200, type_json(kind)))
    }

    pub(super) fn get_integration(&self, id: &str, query: &Query) -> Result<Reply, ApiError> {
        let integration = self.integration_or_404(id)?;
        Ok(Reply::json(200, self.integration_json(integration, query)))
    }

    /// `POST /integrations` (`CreateIntegrationRequest`): a known type; DISABLED, configuration at
    /// version 1, named `name` or after its type.
    pub(super) fn create_integration(&mut self, body: &[u8]) -> Result<Reply, ApiError> {
        let value = json_object(body)?;
        require(&value, &["integrationType"])?;
        let request: CreateIntegrationRequest = decode(value)?;
        let kind = request.integration_type.id;
        if known_type(&kind).is_none() {
            return Err(ApiError::invalid(
                "integrationType.id",
                format!("Integration type \"{kind}\" was not found."),
            ));
        }
        let name = match request.name {
            Some(name) if !name.trim().is_empty() => name,
            _ => default_name(&kind),
        };
        let id = self.new_uuid();
        // *likely* (Terraform's default, and it only enables when told): a new integration is
        // DISABLED.
        let integration = StoredIntegration::new(id, name, kind, "DISABLED");
        let reply = Reply::json(200, self.integration_json(&integration, &Query::default()));
        self.integrations.push(integration);
        Ok(reply.changed())
    }

    /// `PATCH /integrations/{id}` (`Integration`): only `intendedState`, ENABLED or DISABLED.
    pub(super) fn patch_integration(&mut self, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
        self.changeable(id)?;
        let value = json_object(body)?;
        require(&value, &["intendedState"])?;
        let state = value
            .get("intendedState")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if state != "ENABLED" && state != "DISABLED" {
            return Err(ApiError::invalid(
                "intendedState",
                format!(
                    "intendedState must be ENABLED or DISABLED; got {}.",
                    value.get("intendedState").unwrap_or(&Value::Null)
                ),
            ));
        }
        let Some(integration) = self.integrations.iter_mut().find(|i| i.id == id) else {
            return Err(ApiError::not_found(format!(
                "Integration {id} was not found."
            )));
        };
        integration.intended_state = state.to_string();
        let integration = integration.clone();
        Ok(Reply::json(200, self.integration_json(&integration, &Query::default())).changed())
    }

    /// `DELETE /integrations/{id}`: the integration, its actions and drafts (its custom
    /// authentication action too); its credentials stay. Answers the deleted `Integration`.
    pub(super) fn delete_integration(&mut self, id: &str) -> Result<Reply, ApiError> {
        let integration = self.changeable(id)?.clone();
        self.actions.retain(|_, a| a.integration_id != id);
        self.drafts.retain(|_, a| a.integration_id != id);
        self.integrations.retain(|i| i.id != id);
        Ok(Reply::json(200, self.integration_json(&integration, &Query::default())).changed())
    }

    pub(super) fn get_config(&self, id: &str) -> Result<Reply, ApiError> {
        let integration = self.integration_or_404(id)?;
        Ok(Reply::json(200, self.config_json(integration)))
    }

    /// `PUT /integrations/{id}/config/current` (`IntegrationConfiguration`): replaces the
    /// configuration, naming its current version (409 when stale), which then goes up by one; the
    /// integration takes its name; each credential bound by id must exist and suit its key.
    pub(super) fn put_config(&mut self, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let current = self.changeable(id)?.clone();
        let value = json_object(body)?;
        require(&value, &["name", "version"])?;
        for field in ["properties", "advanced"] {
            if value
                .get(field)
                .is_some_and(|v| !v.is_object() && !v.is_null())
            {
                return Err(ApiError::invalid(
                    field,
                    format!("{field} must be an object."),
                ));
            }
        }
        let config: IntegrationConfiguration = decode(value)?;
        // *unverified*: 409 (Terraform also retries a 400 "does not match the current version").
        if config.version != current.config_version {
            return Err(ApiError::version_conflict());
        }
        if config.name.trim().is_empty() {
            return Err(ApiError::invalid("name", "name must not be empty."));
        }
        let mut bound = std::collections::BTreeMap::new();
        let mut problems = Vec::new();
        for (key, info) in &config.credentials {
            match self.bindable(&current, key, &info.id) {
                Ok(()) => {
                    bound.insert(key.clone(), info.id.clone());
                }
                Err(error) => problems.push(error),
            }
        }
        if let Some(error) = ApiError::combined(problems) {
            return Err(error);
        }
        let object = |v: Value| match v {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let next = StoredIntegration {
            name: config.name,
            config_version: next_version(current.config_version)?,
            notes: config.notes,
            properties: object(config.properties),
            advanced: object(config.advanced),
            bound_credentials: bound,
            ..current
        };
        let reply = Reply::json(200, self.config_json(&next));
        if let Some(slot) = self.integrations.iter_mut().find(|i| i.id == id) {
            *slot = next;
        }
        self.sync_custom_auth(id);
        Ok(reply.changed())
    }

    /// Whether credential `credential` can be bound under `key` of `integration`'s configuration.
    fn bindable(
        &self,
        integration: &StoredIntegration,
        key: &str,
        credential: &str,
    ) -> Result<(), ApiError> {
        let field = format!("credentials.{key}");
        if credential.is_empty() {
            return Err(ApiError::invalid(
                &field,
                format!("{field}.id is required."),
            ));
        }
        let Some(stored) = self.credentials.get(credential) else {
            return Err(ApiError::invalid(
                &field,
                format!("Credential {credential} ({field}) was not found."),
            ));
        };
        let Some(keys) = credential_keys(&integration.integration_type) else {
            return Ok(());
        };
        let Some((_, _, types)) = keys.iter().find(|(k, _, _)| *k == key) else {
            let names: Vec<&str> = keys.iter().map(|(k, _, _)| *k).collect();
            return Err(ApiError::invalid(
                &field,
                format!(
                    "An integration of type {} takes no credential {key}; it takes {}.",
                    integration.integration_type,
                    names.join(", ")
                ),
            ));
        };
        if !types.contains(&stored.type_name.as_str()) {
            return Err(ApiError::invalid(
                &field,
                format!(
                    "Credential {credential} is of type {}; {field} takes a credential of type {}.",
                    stored.type_name,
                    types.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// The values `${credentials.X}` renders for `integration`: its bound credentials' fields, or
    /// `None` when it binds none (then the state file's `credentials` stand).
    pub(super) fn bound_values(
        &self,
        integration: &StoredIntegration,
    ) -> Option<Map<String, Value>> {
        if integration.bound_credentials.is_empty() {
            return None;
        }
        let mut values = Map::new();
        for id in integration.bound_credentials.values() {
            if let Some(credential) = self.credentials.get(id) {
                for (name, value) in &credential.fields {
                    values.insert(name.clone(), Value::String(value.clone()));
                }
            }
        }
        Some(values)
    }

    /// A Web Services integration binding a `userDefinedOAuth` credential has its custom
    /// authentication action (created published at version 1 with Genesys's default
    /// configuration); any other integration has none (it goes with its draft).
    pub(super) fn sync_custom_auth(&mut self, integration_id: &str) {
        let Some(integration) = self.integration(integration_id) else {
            return;
        };
        let wanted = integration.integration_type == CUSTOM_REST_ACTIONS
            && integration.bound_credentials.values().any(|id| {
                self.credentials
                    .get(id)
                    .is_some_and(|c| c.type_name == USER_DEFINED_OAUTH)
            });
        let id = format!("{CUSTOM_AUTH_PREFIX}{integration_id}");
        if !wanted {
            self.actions.remove(&id);
            self.drafts.remove(&id);
            return;
        }
        if self.actions.contains_key(&id) {
            return;
        }
        let action = default_custom_auth(id.clone(), integration);
        self.actions.insert(id, action);
    }
}

/// The custom authentication action Genesys creates (*unverified* beyond its id: the
/// configuration is the help page's User Defined (OAuth) example, the contract that of Genesys's
/// exported custom-auth actions, the name the integration's with " (Auth)").
fn default_custom_auth(id: String, integration: &StoredIntegration) -> StoredAction {
    let mut headers = Map::new();
    headers.insert(
        "Authorization".to_string(),
        Value::String(
            "Basic $encoding.base64(\"${credentials.clientId}:${credentials.clientSecret}\")"
                .to_string(),
        ),
    );
    headers.insert(
        "Content-Type".to_string(),
        Value::String("application/x-www-form-urlencoded".to_string()),
    );
    StoredAction {
        id,
        name: format!("{} (Auth)", integration.name),
        integration_id: integration.id.clone(),
        category: integration.name.clone(),
        secure: false,
        version: 1,
        config: stored_config(ActionConfig {
            timeout_seconds: None,
            request: RequestConfig {
                request_url_template: "${credentials.loginUrl}".to_string(),
                request_type: "POST".to_string(),
                headers,
                request_template: Some("grant_type=client_credentials".to_string()),
                request_template_uri: None,
            },
            response: ResponseConfig {
                success_template: Some("${rawResult}".to_string()),
                ..ResponseConfig::default()
            },
        }),
        contract: ActionContract {
            input: ContractInput {
                input_schema: json!({
                    "$schema": "http://json-schema.org/draft-04/schema#",
                    "title": "Auth Input",
                    "description": "No Input Value",
                    "type": "object",
                    "properties": {}
                }),
                input_schema_uri: None,
            },
            output: ContractOutput {
                success_schema: json!({
                    "$schema": "http://json-schema.org/draft-04/schema#",
                    "type": "object",
                    "properties": {},
                    "additionalProperties": true
                }),
                ..ContractOutput::default()
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::{Body, Org, Route};
    use crate::emulator::route::Query;

    fn call(org: &mut Org, method: &str, path: &str, body: Value) -> (u16, Value) {
        let route = Route::parse(method, path);
        let reply = org.handle(&route, &Query::default(), body.to_string().as_bytes());
        let value = match reply.body {
            Body::Json(value) => value,
            Body::Error(error) => error.body(None),
            _ => Value::Null,
        };
        (reply.status, value)
    }

    fn id(value: &Value) -> String {
        value["id"].as_str().unwrap_or_default().to_string()
    }

    #[test]
    fn custom_auth_follows_the_bound_credential_type_and_values_render() {
        let mut org = Org::new(9);
        let (_, integration) = call(
            &mut org,
            "POST",
            "/api/v2/integrations",
            json!({"name": "Web", "integrationType": {"id": "custom-rest-actions"}}),
        );
        let integration = id(&integration);
        let (status, credential) = call(
            &mut org,
            "POST",
            "/api/v2/integrations/credentials",
            json!({"name": "c", "type": "userDefinedOAuth", "credentialFields": {"k": "v"}}),
        );
        assert_eq!(status, 200, "a bare type name is taken");
        let credential = id(&credential);
        let config = format!("/api/v2/integrations/{integration}/config/current");
        let body =
            json!({"name": "Web", "version": 1, "credentials": {"basicAuth": {"id": credential}}});
        assert_eq!(call(&mut org, "PUT", &config, body).0, 200);
        let auth = format!("customAuth_-_{integration}");
        assert!(org.actions.contains_key(&auth));
        let runnable = org.runnable(&auth, false, false);
        let values = runnable
            .map(|e| e.integration.credentials)
            .unwrap_or_default();
        assert_eq!(values.get("k"), Some(&json!("v")));
        assert_eq!(
            org.runnable(&auth, false, true).err().map(|e| e.status),
            Some(400)
        );
        // The credential becomes basicAuth: the custom authentication goes.
        let path = format!("/api/v2/integrations/credentials/{credential}");
        let basic = json!({"name": "c", "type": {"name": "basicAuth"}, "credentialFields": {"userName": "u"}});
        assert_eq!(call(&mut org, "PUT", &path, basic).0, 200);
        assert!(!org.actions.contains_key(&auth));
    }

    #[test]
    fn the_built_in_integration_cannot_change() {
        let mut org = Org::new(9);
        let path = format!("/api/v2/integrations/{}", super::BUILT_IN_INTEGRATION_ID);
        assert_eq!(call(&mut org, "DELETE", &path, json!({})).0, 400);
        let patch = json!({"intendedState": "DISABLED"});
        assert_eq!(call(&mut org, "PATCH", &path, patch).0, 400);
    }
}

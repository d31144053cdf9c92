//! Strict validation as Genesys does it: the problems of an action (integration known and of type
//! `custom-rest-actions`, unique name, request fields, timeout, contract schemas, a flat input
//! contract) and of a draft
//! before publishing; request bodies (JSON object, required fields, typed decoding); query
//! parameters; built-ins read-only, integrations fixed; versions that cannot wrap.

use crate::emulator::route::Query;
use crate::genesys::dto::{ErrorDetail, PostActionInput};
use crate::schema::InputRuleViolation;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::integrations::is_custom_auth;
use super::replies::ApiError;
use super::{
    BUILT_IN_INTEGRATION_ID, DATA_ACTION_TYPES, FUNCTION_DATA_ACTIONS, METHODS, Org, StoredAction,
    TIMEOUT_RANGE, is_static,
};

impl Org {
    /// Everything that keeps a draft from being published.
    pub(super) fn publish_problems(&self, draft: &StoredAction) -> Vec<ApiError> {
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

    /// The integration exists, holds data actions, and is not the read-only built-in one.
    pub(super) fn check_integration(&self, id: &str) -> Result<(), ApiError> {
        let integration = self.integration(id).ok_or_else(|| {
            ApiError::invalid("integrationId", format!("Integration {id} does not exist."))
        })?;
        if id == BUILT_IN_INTEGRATION_ID {
            return Err(ApiError::invalid(
                "integrationId",
                format!(
                    "Integration {id} ({}) is built in: its actions are read-only.",
                    integration.name
                ),
            ));
        }
        let kind = integration.integration_type.as_str();
        // Genesys names its newer data-action integrations `…-data-actions` (Google's, for one,
        // whose id is not in the list): those hold actions too.
        if !DATA_ACTION_TYPES.contains(&kind) && !kind.ends_with("-data-actions") {
            return Err(ApiError::invalid(
                "integrationId",
                format!(
                    "Integration {id} ({}) is of type {}, which holds no data actions; data action integrations are of type {}.",
                    integration.name,
                    integration.integration_type,
                    DATA_ACTION_TYPES.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Another published action of the same integration has this name (*unverified*: Genesys may
    /// allow it; the emulator refuses it).
    pub(super) fn duplicate_name(&self, action: &StoredAction) -> Option<ApiError> {
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
    pub(super) fn problems(&self, action: &StoredAction) -> Vec<ApiError> {
        let mut problems = Vec::new();
        if action.name.trim().is_empty() {
            problems.push(ApiError::invalid("name", "name must not be empty."));
        }
        if action.category.trim().is_empty() {
            problems.push(ApiError::invalid("category", "category must not be empty."));
        }
        let request = &action.config.request;
        // A function data action runs its code package: it has no URL.
        let runs_code = self
            .integration(&action.integration_id)
            .is_some_and(|i| i.integration_type == FUNCTION_DATA_ACTIONS);
        if !runs_code && request.request_url_template.trim().is_empty() {
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
        if action.config.timeout_seconds.is_some() && is_custom_auth(&action.id) {
            problems.push(ApiError::invalid(
                "config.timeoutSeconds",
                "config.timeoutSeconds is invalid for Custom Authentication Actions.",
            ));
        } else if let Some(timeout) = action.config.timeout_seconds
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
        if let Some(problem) = input_rule_problem(&action.contract.input.input_schema) {
            problems.push(ApiError::invalid("contract.input.inputSchema", problem));
        }
        problems
    }
}

/// Why a contract schema is unacceptable: not an object, a top-level `type` not among `roots`, or
/// not a schema.
pub(super) fn schema_problem(schema: &Value, roots: &[&str]) -> Option<String> {
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

/// Genesys's save-time check of an input contract, "a simple properties schema" (its message,
/// as Genesys words it; only the first violation is named): `schema::input_rule_violations`.
pub(super) fn input_rule_problem(schema: &Value) -> Option<String> {
    let reason = match crate::schema::input_rule_violations(schema)
        .into_iter()
        .next()?
    {
        InputRuleViolation::Type(name, bad) => format!(
            "Error location: /properties/{name}/type. instance value (\"{bad}\") not found in enum (possible values: [\"boolean\",\"integer\",\"null\",\"number\",\"string\"])"
        ),
        InputRuleViolation::Name(name) => format!(
            "Error location: /properties/{name}. property name does not match the pattern \"{}\"",
            crate::schema::INPUT_NAME_PATTERN
        ),
    };
    Some(format!(
        "Failed Validation of contract.input.inputSchema as a simple properties schema. Must be an Object with properties and no sub-objects. JSON failed schema validation for the following reasons: {reason}"
    ))
}

/// A `PostActionInput` body: a JSON object with every required field.
pub(super) fn post_input(body: &[u8]) -> Result<PostActionInput, ApiError> {
    let value = json_object(body)?;
    require(
        &value,
        &["category", "name", "integrationId", "config", "contract"],
    )?;
    decode(value)
}

/// The body as a JSON object, or 400.
pub(super) fn json_object(body: &[u8]) -> Result<Value, ApiError> {
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
pub(super) fn require(value: &Value, fields: &[&str]) -> Result<(), ApiError> {
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

pub(super) fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| {
        ApiError::bad_request(format!("The request body does not match the model: {e}"))
    })
}

pub(super) fn refuse_static(id: &str) -> Result<(), ApiError> {
    if is_static(id) {
        return Err(ApiError::bad_request(format!(
            "Action {id} is a built-in (static) action; it cannot be changed, drafted or deleted."
        )));
    }
    Ok(())
}

/// An action's integration is fixed: moving it is a replace (new id).
pub(super) fn refuse_integration_change(
    value: &Value,
    current: &StoredAction,
) -> Result<(), ApiError> {
    match value.get("integrationId").and_then(Value::as_str) {
        Some(integration) if integration != current.integration_id => Err(ApiError::invalid(
            "integrationId",
            "The integration of an action cannot be changed; create the action in the other integration instead.",
        )),
        _ => Ok(()),
    }
}

/// A `true`/`false` query parameter.
pub(super) fn bool_param(query: &Query, name: &str) -> Result<Option<bool>, ApiError> {
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
pub(super) fn positive_param(query: &Query, name: &str) -> Result<Option<u64>, ApiError> {
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

/// The version after `current`; a 409 instead of wrapping (a state file can hold any version).
pub(super) fn next_version(current: i64) -> Result<i64, ApiError> {
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

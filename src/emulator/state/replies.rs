//! What the org answers: `ApiError` (Genesys's `ErrorBody` without its `contextId`), `Body` and
//! `Reply` (status, body, whether the org changed), and the wire views of integrations and actions
//! (`View`, `action_json`: template and schema URIs instead of texts, contract and config only when
//! asked for).

use crate::genesys::dto::{Action, ActionContract, ContractInput, ContractOutput, ErrorDetail};
use serde_json::{Map, Value, json};

use super::{
    ACTIONS_PATH, INPUT_SCHEMA, REQUEST_TEMPLATE, SUCCESS_SCHEMA, SUCCESS_TEMPLATE, StoredAction,
};

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
    pub(super) fn combined(mut problems: Vec<ApiError>) -> Option<ApiError> {
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

    pub(super) fn changed(mut self) -> Reply {
        self.changed = true;
        self
    }

    pub(super) fn no_content() -> Reply {
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

/// Which view of an action a read asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct View {
    pub(super) draft: bool,
    pub(super) contract: bool,
    pub(super) config: bool,
}

impl View {
    pub(super) const FULL: View = View {
        draft: false,
        contract: true,
        config: true,
    };
    pub(super) const FULL_DRAFT: View = View {
        draft: true,
        contract: true,
        config: true,
    };
}

/// An action on the wire: contract only when asked for, config only when asked for, and template
/// and schema URIs instead of texts.
pub(super) fn action_json(action: &StoredAction, view: View) -> Value {
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

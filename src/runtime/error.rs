//! Execution failures: a stable kind (fixtures assert on it), a specific message, and the
//! Genesys `ErrorBody` it becomes (docs/runtime.md, "Errors"). The codes, statuses and detail codes
//! are kept here in one place, each with its evidence in docs/genesys-evidence.md, so that they
//! are cheap to change when a live org disagrees.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::ErrorKind;

/// Why an execution failed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecError {
    pub kind: ErrorKind,
    pub message: String,
    /// The error underneath (a custom authentication action's own failure): the body's `errors`.
    pub cause: Option<Box<ExecError>>,
    /// For a failure of the upstream, what Genesys quotes after `Message:` in the nested error
    /// (`Request to backend service failed. Response from web service: <body>`, the connection's
    /// failure); `None`: the message.
    pub backend_message: Option<String>,
}

/// Which endpoint answers: `/execute` hides what the upstream answered, `/test` shows it
/// (docs/genesys-evidence.md addenda: "To see error details, use test mode").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Test,
    Execute,
}

/// The nested message of a failed upstream call in `/execute`'s answer, verbatim from Genesys's
/// help article "Data action returns a 400 error".
const HIDDEN_BACKEND_DETAILS: &str = "Request to backend service failed. To see error details, use test mode to execute the action, or execute request in Postman or other REST tools.";

/// Genesys's `ErrorBody` (the official SDKs' model, in its field order): what `/execute` answers
/// on failure, `TestExecutionResult.error`, and each failed operation's `error`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub message: String,
    pub code: &'static str,
    pub status: u16,
    pub message_with_params: String,
    pub message_params: Map<String, Value>,
    pub context_id: String,
    pub details: Vec<ErrorDetail>,
    pub errors: Vec<ErrorBody>,
}

/// `ErrorBody.details[]`: Genesys names the failing part of the action here (`ACTION.…`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorDetail {
    #[serde(rename = "errorCode")]
    pub error_code: &'static str,
}

impl ExecError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ExecError {
        ExecError {
            kind,
            message: message.into(),
            cause: None,
            backend_message: None,
        }
    }

    /// The same error with what Genesys quotes of the upstream's failure.
    pub fn with_backend_message(mut self, backend_message: impl Into<String>) -> ExecError {
        self.backend_message = Some(backend_message.into());
        self
    }

    pub fn caused_by(mut self, cause: ExecError) -> ExecError {
        self.cause = Some(Box::new(cause));
        self
    }

    /// The error as Genesys's test answers it, with the execution's `contextId`.
    pub fn body(&self, context_id: &str) -> ErrorBody {
        self.body_for(context_id, Endpoint::Test)
    }

    /// The error as Genesys's `/execute` answers it: the upstream's answer is not quoted.
    pub fn execute_body(&self, context_id: &str) -> ErrorBody {
        self.body_for(context_id, Endpoint::Execute)
    }

    fn body_for(&self, context_id: &str, endpoint: Endpoint) -> ErrorBody {
        let shape = shape(self.kind);
        let message = shape
            .message
            .map_or_else(|| self.message.clone(), str::to_string);
        let backend = |error: &ExecError| {
            if endpoint == Endpoint::Execute && error.kind == ErrorKind::RemoteStatus {
                HIDDEN_BACKEND_DETAILS.to_string()
            } else {
                error
                    .backend_message
                    .clone()
                    .unwrap_or_else(|| error.message.clone())
            }
        };
        let nested = match self.kind {
            ErrorKind::RemoteStatus
            | ErrorKind::RemoteInvalid
            | ErrorKind::RemoteTimeout
            | ErrorKind::RemoteConnect => Some(format!(
                "REST call for action execute failed. Message: {} [{context_id}]",
                backend(self)
            )),
            ErrorKind::AuthenticationFailed => Some(format!(
                "{} [{context_id}]",
                backend(self.cause.as_deref().unwrap_or(self))
            )),
            _ => None,
        };
        ErrorBody {
            message_with_params: message.clone(),
            message,
            code: shape.code,
            status: shape.status,
            message_params: Map::new(),
            context_id: context_id.to_string(),
            details: vec![ErrorDetail {
                error_code: shape.detail,
            }],
            errors: nested
                .into_iter()
                .map(|message| ErrorBody {
                    message_with_params: message.clone(),
                    message,
                    code: shape.nested_code,
                    status: shape.status,
                    message_params: Map::new(),
                    context_id: context_id.to_string(),
                    details: Vec::new(),
                    errors: Vec::new(),
                })
                .collect(),
        }
    }

    /// Applies `redact` to the message and its causes'.
    pub fn redact_with(&mut self, redact: &dyn Fn(&str) -> String) {
        self.message = redact(&self.message);
        if let Some(cause) = &mut self.cause {
            cause.redact_with(redact);
        }
    }

    /// [`ExecError::body`] as JSON.
    pub fn genesys_body(&self, context_id: &str) -> Value {
        serde_json::to_value(self.body(context_id)).unwrap_or(Value::Null)
    }
}

impl ErrorBody {
    /// The most specific message: the innermost nested error's (Genesys's top-level message of a
    /// failed call is generic; what went wrong is in `errors[]`).
    pub fn specific_message(&self) -> &str {
        self.errors
            .first()
            .map_or(self.message.as_str(), ErrorBody::specific_message)
    }

    /// Applies `redact` to every text of the body, nested errors included.
    pub fn redact_with(&mut self, redact: &dyn Fn(&str) -> String) {
        self.message = redact(&self.message);
        self.message_with_params = redact(&self.message_with_params);
        for nested in &mut self.errors {
            nested.redact_with(redact);
        }
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", kind_name(self.kind), self.message)
    }
}

/// The kind as fixtures write it (`remote.status`).
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InputInvalid => "input.invalid",
        ErrorKind::DefinitionInvalid => "definition.invalid",
        ErrorKind::AuthenticationFailed => "authentication",
        ErrorKind::TemplateRequest => "template.request",
        ErrorKind::TemplateUnsupported => "template.unsupported",
        ErrorKind::RemoteStatus => "remote.status",
        ErrorKind::RemoteTimeout => "remote.timeout",
        ErrorKind::RemoteConnect => "remote.connect",
        ErrorKind::RemoteInvalid => "remote.invalid",
        ErrorKind::Translation => "translation",
        ErrorKind::TemplateSuccess => "template.success",
        ErrorKind::OutputInvalid => "output.invalid",
    }
}

/// How Genesys words a kind of failure (docs/runtime.md, "Errors", each row with its evidence in
/// docs/genesys-evidence.md B.2, B.6).
struct Shape {
    status: u16,
    /// Top-level `code` (Genesys's lower.dot spelling).
    code: &'static str,
    /// Genesys's fixed top-level message; `None`: the error's own.
    message: Option<&'static str>,
    /// `details[0].errorCode`.
    detail: &'static str,
    /// The nested error's `code` (Genesys's UPPER_SNAKE spelling), when there is one.
    nested_code: &'static str,
}

fn shape(kind: ErrorKind) -> Shape {
    let processing = Shape {
        status: 400,
        code: "bad.request",
        message: None,
        detail: "ACTION.PROCESSING",
        nested_code: "BAD_REQUEST",
    };
    match kind {
        // "Data action returns a 400 error" (verified): the remote endpoint's failure.
        ErrorKind::RemoteStatus | ErrorKind::RemoteInvalid => Shape {
            message: Some(
                "The request could not be understood by the server due to malformed syntax.",
            ),
            detail: "ACTION.REMOTE_ENDPOINT",
            ..processing
        },
        // "Data action returns a 500 error" (verified): a connection reset.
        ErrorKind::RemoteConnect => Shape {
            status: 500,
            code: "internal.server.error",
            message: Some(
                "The server encountered an unexpected condition which prevented it from fulfilling the request.",
            ),
            detail: "ACTION.REMOTE_ENDPOINT",
            nested_code: "INTERNAL_SERVER_ERROR",
        },
        // Genesys's timeout answer is not documented (unverified): nodectl's.
        ErrorKind::RemoteTimeout => Shape {
            status: 504,
            code: "request.timeout",
            message: None,
            detail: "ACTION.REMOTE_ENDPOINT",
            nested_code: "REQUEST_TIMEOUT",
        },
        // "Data action fails during testing" (verified text; the lower.dot code is inferred
        // from the UI's `INVALID_CREDENTIALS`).
        ErrorKind::AuthenticationFailed => Shape {
            code: "invalid.credentials",
            message: Some("There was an issue validating the credentials."),
            detail: "ACTION.AUTHENTICATION",
            nested_code: "INVALID_CREDENTIALS",
            ..processing
        },
        // nodectl's (unverified): Genesys's words for a refused input are not documented.
        ErrorKind::InputInvalid => Shape {
            detail: "ACTION.INPUT",
            ..processing
        },
        ErrorKind::DefinitionInvalid
        | ErrorKind::TemplateRequest
        | ErrorKind::TemplateUnsupported
        | ErrorKind::Translation
        | ErrorKind::TemplateSuccess
        | ErrorKind::OutputInvalid => processing,
    }
}

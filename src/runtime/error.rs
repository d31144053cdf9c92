//! Execution failures: a stable kind (fixtures assert on it), a specific message, and the
//! Genesys-shaped error body of docs/runtime.md's table. The codes and statuses are nodectl's reading of
//! Genesys (unverified), kept here in one place so that they are cheap to change.

use std::fmt;

use serde_json::{Value, json};

use crate::model::ErrorKind;

/// Why an execution failed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ExecError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ExecError {
        ExecError {
            kind,
            message: message.into(),
        }
    }

    /// The error as Genesys answers it: `{ message, code, status, contextId, details, errors }`.
    pub fn genesys_body(&self, context_id: &str) -> Value {
        let (code, status) = code_and_status(self.kind);
        json!({
            "message": self.message,
            "code": code,
            "status": status,
            "contextId": context_id,
            "details": [{ "errorCode": detail_code(self.kind) }],
            "errors": [],
        })
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
        ErrorKind::TemplateRequest => "template.request",
        ErrorKind::TemplateUnsupported => "template.unsupported",
        ErrorKind::RemoteStatus => "remote.status",
        ErrorKind::RemoteTimeout => "remote.timeout",
        ErrorKind::RemoteConnect => "remote.connect",
        ErrorKind::Translation => "translation",
        ErrorKind::TemplateSuccess => "template.success",
        ErrorKind::OutputInvalid => "output.invalid",
    }
}

fn code_and_status(kind: ErrorKind) -> (&'static str, u16) {
    match kind {
        ErrorKind::RemoteTimeout => ("request.timeout", 504),
        _ => ("bad.request", 400),
    }
}

fn detail_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InputInvalid => "ACTION.INPUT",
        ErrorKind::RemoteStatus | ErrorKind::RemoteTimeout | ErrorKind::RemoteConnect => {
            "ACTION.REMOTE_ENDPOINT"
        }
        ErrorKind::TemplateRequest
        | ErrorKind::TemplateUnsupported
        | ErrorKind::Translation
        | ErrorKind::TemplateSuccess
        | ErrorKind::OutputInvalid => "ACTION.PROCESSING",
    }
}

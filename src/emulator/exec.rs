//! `/test`, `/draft/test` and `/execute`: the action runs through nodectl's runtime against its real
//! upstream, as Genesys runs it. `/test` answers 200 with the `TestExecutionResult` (success or
//! not); `/execute` answers the output, or the ErrorBody with its status. The integration's
//! credentials (from the state file) are `${credentials.X}`; an action reading `${authResponse.X}`
//! runs its integration's custom authentication action first when the caller hands it over
//! (`run_authenticated`). `serve` reuses this over its own org, and the execution limits with it
//! (`ExecGate`, from `limits`: both servers admit each execution through one). An input nested
//! deeper than Genesys's 50 levels is refused with a 400.

use std::sync::Arc;

use serde_json::Value;

use super::convert::to_node;
pub use super::limits::{ExecGate, ExecLimits, ExecPermit, ExecRefusal, MAX_JSON_DEPTH};
use super::state::{ApiError, Body, Executable, Reply, StoredAction};
use crate::runtime::redact::Redactor;
use crate::runtime::{Clock, CompiledNode, ExecContext, Runtime};
use crate::transport::Transport;
use crate::transport::token::TokenSource;

/// Which endpoint runs the action, and whether the caller asked for Architect's flattened output
/// (`?flatten=true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `…/test` and `…/draft/test`: the whole trace.
    Test { flatten: bool },
    /// `…/execute`: the output or the error.
    Execute { flatten: bool },
}

impl Mode {
    /// The endpoint of `route`'s kind with the query's `flatten` (Genesys's default: `false`).
    pub fn with_query(execute: bool, query: &super::route::Query) -> Mode {
        let flatten = query
            .get("flatten")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if execute {
            Mode::Execute { flatten }
        } else {
            Mode::Test { flatten }
        }
    }

    pub fn is_execute(self) -> bool {
        matches!(self, Mode::Execute { .. })
    }

    fn flatten(self) -> bool {
        match self {
            Mode::Test { flatten } | Mode::Execute { flatten } => flatten,
        }
    }
}

/// What an action's request goes to: the API base that request URLs starting with `/` resolve
/// against, and the tokens a Genesys Cloud Data Actions action authenticates with (docs/runtime.md).
#[derive(Debug, Clone, Copy, Default)]
pub struct Upstream<'a> {
    pub api_base: Option<&'a str>,
    pub tokens: Option<&'a Arc<dyn TokenSource>>,
}

/// Runs `executable` with the request body as its input, against `upstream`; `context_id` becomes the `contextId` of any error body. Also hands back the
/// redactor of what ran (its secrets and the values its templates derived from them,
/// docs/security.md): what `serve` redacts its answers with; the emulator, standing in for
/// Genesys, answers unredacted.
pub async fn run<T: Transport, C: Clock>(
    runtime: &Runtime<T, C>,
    executable: &Executable,
    body: &[u8],
    mode: Mode,
    upstream: Upstream<'_>,
    context_id: &str,
) -> (Reply, Redactor) {
    run_authenticated(runtime, executable, None, body, mode, upstream, context_id).await
}

/// [`run`] with the org's custom authentication action of the executable's integration
/// (`customAuth_-_<integrationId>`), if it has one: an action whose request templates read
/// `${authResponse.X}` runs it first, through the same runtime (which caches its answer per
/// integration; docs/runtime.md). An action of another integration is ignored.
pub async fn run_authenticated<T: Transport, C: Clock>(
    runtime: &Runtime<T, C>,
    executable: &Executable,
    custom_auth: Option<&StoredAction>,
    body: &[u8],
    mode: Mode,
    upstream: Upstream<'_>,
    context_id: &str,
) -> (Reply, Redactor) {
    let node = match to_node(&executable.action, &executable.integration.integration_type) {
        Ok(node) => node,
        Err(message) => {
            // The input is still checked first, as before.
            let reply = match parse_input(body) {
                Err(reply) => reply,
                Ok(_) => ApiError::bad_request(message).into(),
            };
            return (reply, unexecuted_redactor(executable, body));
        }
    };
    let auth = custom_auth
        .filter(|auth| auth.integration_id == executable.action.integration_id)
        .and_then(|auth| to_node(auth, &executable.integration.integration_type).ok())
        .map(|auth| Arc::new(CompiledNode::new(auth)));
    let compiled = CompiledNode::new(node).with_custom_auth(auth);
    run_compiled(
        runtime, executable, &compiled, body, mode, upstream, context_id,
    )
    .await
}

/// The redactor of a request refused before any execution: the integration's credentials and, for
/// a secure action, the input as far as it parses.
fn unexecuted_redactor(executable: &Executable, body: &[u8]) -> Redactor {
    let secure_input = executable
        .action
        .secure
        .then(|| serde_json::from_slice::<Value>(body).ok())
        .flatten();
    Redactor::for_execution(&executable.integration.credentials, secure_input.as_ref())
}

/// The request body as the action's input, or the 400 that refuses it.
fn parse_input(body: &[u8]) -> Result<Value, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "A request body is required: the action's input object.",
        )
        .into());
    }
    if super::limits::nesting_exceeds(body, MAX_JSON_DEPTH) {
        return Err(ApiError::bad_request(format!(
            "The request body nests JSON objects and arrays more than {MAX_JSON_DEPTH} levels deep: Genesys limits data-action JSON to {MAX_JSON_DEPTH} levels."
        ))
        .into());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("The request body is not valid JSON: {e}")).into()
    })
}

/// `run` for an action already compiled (`compiled` must be `to_node(&executable.action)`): how
/// `serve` runs its org's actions without compiling them per request.
pub async fn run_compiled<T: Transport, C: Clock>(
    runtime: &Runtime<T, C>,
    executable: &Executable,
    compiled: &CompiledNode,
    body: &[u8],
    mode: Mode,
    upstream: Upstream<'_>,
    context_id: &str,
) -> (Reply, Redactor) {
    let input = match parse_input(body) {
        Ok(input) => input,
        Err(reply) => return (reply, unexecuted_redactor(executable, body)),
    };
    let context = ExecContext {
        org_id: executable.org_id.clone(),
        integration_id: executable.integration.id.clone(),
        api_base: upstream.api_base.map(str::to_string),
        credentials: executable.integration.credentials.clone(),
        tokens: upstream.tokens.cloned(),
        auth_response: None,
        context_id: Some(context_id.to_string()),
    };
    let mut execution = runtime.execute(compiled, &input, &context).await;
    if mode.flatten() {
        execution.flatten_output();
    }
    let reply = match mode {
        Mode::Test { .. } => Reply::json(200, execution.test_result()),
        Mode::Execute { .. } => match &execution.result {
            Ok(output) => Reply::json(200, output.clone()),
            Err(error) => {
                let body = error.execute_body(context_id);
                Reply {
                    status: body.status,
                    body: Body::Json(serde_json::to_value(body).unwrap_or(Value::Null)),
                    changed: false,
                }
            }
        },
    };
    (reply, execution.redactor)
}

/// What `--perturb-step` (and `POST /_emulator/perturb`) does to a `/test` answer: the result of
/// step `step`, when it succeeded, deliberately disagrees with nodectl's (a string gains
/// ` (perturbed)`, an object the entry `"perturbed": "by the emulator"`, anything else becomes that
/// text; step 10's change is the final result's too). How `nodectl parity`'s report of a
/// disagreement is tested: the emulator otherwise agrees with nodectl by construction.
pub fn perturb(test_result: &mut Value, step: u8) {
    fn change(value: &mut Value) {
        match value {
            Value::String(text) => text.push_str(" (perturbed)"),
            Value::Object(object) => {
                object.insert("perturbed".to_string(), Value::from("by the emulator"));
            }
            other => *other = Value::from("perturbed by the emulator"),
        }
    }
    let Some(operations) = test_result
        .get_mut("operations")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let Some(operation) = operations.iter_mut().rev().find(|o| {
        o.get("step").and_then(Value::as_u64) == Some(u64::from(step))
            && o.get("success") == Some(&Value::Bool(true))
    }) else {
        return;
    };
    if let Some(result) = operation.get_mut("result") {
        change(result);
    } else if let Value::Object(operation) = operation {
        operation.insert(
            "result".to_string(),
            Value::from("perturbed by the emulator"),
        );
    }
    if step == crate::runtime::Step::OutputTransformation.number()
        && let Some(final_result) = test_result.get_mut("finalResult")
    {
        change(final_result);
    }
}

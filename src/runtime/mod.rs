//! The runtime: executes one node the way Genesys Cloud executes a data action (docs/runtime.md), plus
//! nodectl's local retry and cache policy. `test` (over replayed fixtures), `run` and `record`
//! (live), `serve` and the emulator all call this one executor; only the `Transport` and `Clock`
//! differ.
//!
//! Genesys's ten test steps ([`Step`]: validate the input as simple JSON, the definition, the input
//! schema; authenticate; resolve the URL, header and body templates; execute (with retries);
//! resolve the translation map; apply the output transformation) each leave an operation in the
//! trace, shaped like Genesys's `TestExecutionResult`, a failed one with its `ErrorBody`. Before a
//! trace or an error leaves the runtime, every secret in it is redacted. A node whose request templates read `${authResponse.X}` first
//! obtains its integration's authentication response: the custom authentication action run by
//! this same runtime (cached per integration), or the one the context gives.

pub mod cache;
pub mod clock;
pub mod compile;
pub mod error;
pub mod flatten;
pub mod nesting;
pub mod redact;
pub mod retry;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};

pub use cache::Cache;
use cache::Flight;
pub use clock::{Clock, SystemClock, VirtualClock};
pub use compile::{CompiledNode, SecretParts};
pub use error::{ErrorBody, ExecError};
use redact::Redactor;

use crate::jsonpath::{self, BudgetExceeded, JsonPath, Resolution};
use crate::model::{CachePolicy, ErrorKind, IntegrationType, RetryPolicy};
use crate::transport::token::TokenSource;
use crate::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use crate::vtl;

/// The timeout Genesys applies when `timeoutSeconds` is absent: "The default timeout of 60
/// seconds is used when you do not set a timeout value" (Genesys's help article "Add
/// configuration to custom actions for integrations", Execution Timeout).
pub const DEFAULT_TIMEOUT_SECONDS: u8 = 60;
/// The longest upstream body excerpt quoted in an error message.
const BODY_EXCERPT_BYTES: usize = 512;
/// How long an authentication response without a numeric `expires_in` is reused. Genesys says only
/// that the integration "only sends this credential information once" (unverified for how long):
/// an hour is the lifetime OAuth servers commonly grant (RFC 6749's client-credentials example
/// answers `"expires_in": 3600`), and a 401 from the upstream re-runs the action anyway.
pub const AUTH_RESPONSE_DEFAULT_TTL_SECONDS: u64 = 3600;
/// Reuse of an authentication response ends this long before its `expires_in` does (at most half
/// its lifetime), so that a request does not leave with a token about to expire.
pub const AUTH_RESPONSE_EXPIRY_MARGIN_SECONDS: u64 = 60;
/// How many integrations' authentication responses one runtime keeps.
const AUTH_RESPONSE_CACHE_ENTRIES: u64 = 256;
/// `input.orgId` when the env names no `org_id`.
pub const ZERO_UUID: &str = "00000000-0000-0000-0000-000000000000";

/// What an execution needs besides the node and its input.
#[derive(Debug, Clone, Default)]
pub struct ExecContext {
    /// `${input.orgId}`.
    pub org_id: String,
    /// `${input.integrationId}`.
    pub integration_id: String,
    /// The env's API base, for URLs starting with `/` (Genesys Cloud Data Actions integrations).
    pub api_base: Option<String>,
    /// `${credentials.X}`.
    pub credentials: Map<String, Value>,
    /// The bearer tokens of Genesys Cloud Data Actions nodes (docs/runtime.md): a live grant, the
    /// emulator's own, or the dry-run's placeholder. `None`: such a node fails its
    /// `authenticate` step.
    pub tokens: Option<Arc<dyn TokenSource>>,
    /// `${authResponse.X}` given as is (a fixture's `[auth_response]`): the custom authentication
    /// action is not run. `None`: it is run (or its cached answer reused) when a node reads it.
    pub auth_response: Option<Map<String, Value>>,
    /// The `contextId` of this execution's error bodies when the caller draws it (the emulator
    /// and `serve` answer with their own); `None`: the runtime draws one.
    pub context_id: Option<String>,
}

impl ExecContext {
    pub fn new(org_id: Option<&str>, credentials: Map<String, Value>) -> ExecContext {
        ExecContext {
            org_id: org_id.unwrap_or(ZERO_UUID).to_string(),
            integration_id: ZERO_UUID.to_string(),
            api_base: None,
            credentials,
            tokens: None,
            auth_response: None,
            context_id: None,
        }
    }
}

/// Genesys's numbered test steps, as its Test tab ("Operations") and `TestExecutionResult.operations[]`
/// show them (docs/runtime.md, "The ten steps"; docs/genesys-evidence.md B.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    SimpleJson = 1,
    DraftDefinition = 2,
    InputSchema = 3,
    Authentication = 4,
    UrlTemplate = 5,
    HeaderTemplates = 6,
    BodyTemplate = 7,
    Execute = 8,
    TranslationMap = 9,
    OutputTransformation = 10,
}

impl Step {
    pub const ALL: [Step; 10] = [
        Step::SimpleJson,
        Step::DraftDefinition,
        Step::InputSchema,
        Step::Authentication,
        Step::UrlTemplate,
        Step::HeaderTemplates,
        Step::BodyTemplate,
        Step::Execute,
        Step::TranslationMap,
        Step::OutputTransformation,
    ];

    pub fn number(self) -> u8 {
        self as u8
    }

    /// The step's name, verbatim from Genesys's test tool.
    pub fn name(self) -> &'static str {
        match self {
            Step::SimpleJson => "Validate request body contains simple json (key-value pairs)",
            Step::DraftDefinition => "Validate draft definition",
            Step::InputSchema => "Validate request body against simple input schema",
            Step::Authentication => "Perform authentication",
            Step::UrlTemplate => "Resolve request URL template",
            Step::HeaderTemplates => "Resolve request header templates",
            Step::BodyTemplate => "Resolve request body template",
            Step::Execute => "Execute",
            Step::TranslationMap => "Resolve translation map",
            Step::OutputTransformation => "Apply output transformation",
        }
    }

    pub fn from_number(number: u8) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.number() == number)
    }
}

/// One step of the trace: Genesys's `TestExecutionOperationResult` (`step`, `name`, `success`,
/// `result`, `error`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    pub step: u8,
    pub name: &'static str,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// What one HTTP attempt got.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    Response(HttpResponse),
    Failed(TransportError),
}

/// One HTTP attempt: the request (redacted), the wait taken before it, and its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub request: HttpRequest,
    pub wait_before_ms: u64,
    pub outcome: AttemptOutcome,
}

/// The result of one execution.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The output the flow receives (unredacted: it is the product), or the error.
    pub result: Result<Value, ExecError>,
    /// Redacted.
    pub operations: Vec<Operation>,
    /// Redacted requests, in order.
    pub attempts: Vec<Attempt>,
    /// The un-jittered waits the retry policy decided, in order.
    pub waits_ms: Vec<u64>,
    /// Served from the cache (then there are no attempts).
    pub cached: bool,
    pub context_id: String,
    /// The secrets of this execution and the values its templates derived from them: whatever
    /// hands the output on (`run`'s stdout, `serve`'s answers, `record`'s fixtures) redacts with it.
    pub redactor: Redactor,
}

impl Execution {
    pub fn success(&self) -> bool {
        self.result.is_ok()
    }

    /// The Genesys error body of a failure.
    pub fn error_body(&self) -> Option<Value> {
        self.result
            .as_ref()
            .err()
            .map(|e| e.genesys_body(&self.context_id))
    }

    /// The execution as `flatten=true` answers it: the output in Architect's flattened form
    /// (flatten.rs), in the result and in step 10's operation (redacted there, as every
    /// operation); an output that cannot be flattened fails step 10.
    pub fn flatten_output(&mut self) {
        let Ok(output) = &self.result else {
            return;
        };
        let step = self
            .operations
            .iter()
            .rposition(|o| o.step == Step::OutputTransformation.number());
        match flatten::flatten(output) {
            Ok(flat) => {
                if let Some(step) = step.and_then(|i| self.operations.get_mut(i)) {
                    let mut shown = flat.clone();
                    self.redactor.value(&mut shown);
                    step.result = Some(shown);
                }
                self.result = Ok(flat);
            }
            Err(flatten::FlattenError(why)) => {
                let error = ExecError::new(
                    ErrorKind::OutputInvalid,
                    format!("the output cannot be flattened: {why}"),
                );
                let failed = Operation {
                    step: Step::OutputTransformation.number(),
                    name: Step::OutputTransformation.name(),
                    success: false,
                    result: None,
                    error: Some(error.body(&self.context_id)),
                };
                match step.and_then(|i| self.operations.get_mut(i)) {
                    Some(step) => *step = failed,
                    None => self.operations.push(failed),
                }
                self.result = Err(error);
            }
        }
    }

    /// The operation that failed, if one did.
    pub fn failed_operation(&self) -> Option<&Operation> {
        self.operations.iter().find(|o| !o.success)
    }

    /// Genesys's `TestExecutionResult`: `{ operations, error, finalResult, success }`.
    pub fn test_result(&self) -> Value {
        json!({
            "operations": self.operations,
            "error": self.error_body(),
            "finalResult": self.result.as_ref().ok(),
            "success": self.success(),
        })
    }
}

/// The executor: a transport, a clock, the caches of the nodes it has run and the authentication
/// responses of the custom authentication actions it has run.
pub struct Runtime<T: Transport, C: Clock> {
    transport: T,
    clock: C,
    caches: Mutex<HashMap<[u8; 32], Arc<Cache>>>,
    /// Per integration (its custom authentication action's definition and the credentials), each
    /// entry living until its `expires_in` (docs/runtime.md, "Custom authentication").
    auth_cache: Cache,
}

impl<T: Transport, C: Clock> Runtime<T, C> {
    pub fn new(transport: T, clock: C) -> Runtime<T, C> {
        Runtime {
            transport,
            clock,
            caches: Mutex::new(HashMap::new()),
            auth_cache: Cache::new(CachePolicy {
                ttl_seconds: AUTH_RESPONSE_DEFAULT_TTL_SECONDS,
                max_entries: AUTH_RESPONSE_CACHE_ENTRIES,
            }),
        }
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    fn cache_for(&self, node: &CompiledNode) -> Option<Arc<Cache>> {
        let policy = node.node.local.cache.clone()?;
        let mut caches = self.caches.lock().unwrap_or_else(|p| p.into_inner());
        Some(
            caches
                .entry(node.definition_hash)
                .or_insert_with(|| Arc::new(Cache::new(policy)))
                .clone(),
        )
    }

    /// Executes the node once with `input`.
    pub async fn execute(
        &self,
        node: &CompiledNode,
        input: &Value,
        context: &ExecContext,
    ) -> Execution {
        let context_id = context
            .context_id
            .clone()
            .unwrap_or_else(|| context_id(self.clock.now_ms(), &node.node.key.name));
        let mut run = Run::new(&context_id);
        let result = self.steps(node, input, context, &mut run).await;
        let redactor = run.redactors.iter().fold(
            Redactor::for_execution(&context.credentials, node.node.secure.then_some(input))
                .with_derived(&run.derived),
            Redactor::merged,
        );
        let result = result.map_err(|mut error| {
            error.redact_with(&|text| redactor.text(text));
            error
        });
        for operation in &mut run.operations {
            if let Some(result) = &mut operation.result {
                redactor.value(result);
            }
            if let Some(error) = &mut operation.error {
                error.redact_with(&|text| redactor.text(text));
            }
        }
        for attempt in &mut run.attempts {
            redact_request(&redactor, &mut attempt.request);
        }
        Execution {
            result,
            operations: run.operations,
            attempts: run.attempts,
            waits_ms: run.waits_ms,
            cached: run.cached,
            context_id,
            redactor,
        }
    }

    async fn steps(
        &self,
        node: &CompiledNode,
        input: &Value,
        context: &ExecContext,
        run: &mut Run,
    ) -> Result<Value, ExecError> {
        run.step(Step::SimpleJson, &simple_json(input), |_| None)?;
        run.step(Step::DraftDefinition, &runnable_definition(node), |_| None)?;
        run.step(Step::InputSchema, &validate_input(node, input), |_| None)?;

        // 4. Perform authentication: the org's token (Genesys Cloud Data Actions), the custom
        // authentication action's response (a request template reads `$authResponse`), or
        // nothing to obtain (the templates read `${credentials.X}` themselves).
        let authentication = self.authenticate(node, context, run).await?;
        let auth_response = match &authentication {
            Authentication::Response(values) => Some(values.clone()),
            _ => None,
        };
        let template_context =
            with_auth_response(request_context(input, context), auth_response.clone());
        let probe = probe_for(node, &template_context);
        let request = self
            .resolve_request(node, &template_context, probe.as_ref(), context, run)
            .await?;
        let token = match authentication {
            Authentication::Token(token) => Some(token),
            _ => None,
        };
        let reauth = auth_response.map(|stale| Reauth {
            renewable: context.auth_response.is_none(),
            template_context,
            stale,
        });

        // The cache is consulted before step 8; identical concurrent misses wait for one call.
        let Some(cache) = self.cache_for(node) else {
            return self
                .execute_uncached(node, request, input, context, token, reauth, run)
                .await;
        };
        let key = cache::key(&node.definition_hash, &request);
        let flown = cache
            .single_flight(
                &key,
                || self.clock.now_ms(),
                async || {
                    let result = self
                        .execute_uncached(node, request, input, context, token, reauth, run)
                        .await;
                    if let Ok(output) = &result {
                        cache.put(key, output.clone(), self.clock.now_ms());
                    }
                    result
                },
            )
            .await;
        match flown {
            Flight::Hit(output) => Ok(run.cache_hit(output)),
            Flight::Missed(result) => result,
        }
    }

    /// The step-4 operation, and what it obtained.
    async fn authenticate(
        &self,
        node: &CompiledNode,
        context: &ExecContext,
        run: &mut Run,
    ) -> Result<Authentication, ExecError> {
        if node.node.integration_type == IntegrationType::GenesysCloud {
            return Ok(Authentication::Token(grant(context, run, false).await?));
        }
        if node.uses_auth_response {
            let values = self.auth_response(node, context, None, run).await?;
            return Ok(Authentication::Response(values));
        }
        run.operations.push(Operation::done(
            Step::Authentication,
            json!({ "source": "none to obtain: the templates read the integration's credentials as ${credentials.X}" }),
        ));
        Ok(Authentication::None)
    }

    /// Steps 5 to 7 over `template_context` (and its `probe`, redact.rs), traced in `run`.
    async fn resolve_request(
        &self,
        node: &CompiledNode,
        template_context: &Value,
        probe: Option<&Value>,
        context: &ExecContext,
        run: &mut Run,
    ) -> Result<HttpRequest, ExecError> {
        // 5. Resolve request URL template
        let url = render_tracked(
            &node.url,
            template_context,
            probe.filter(|_| node.reads_secrets.url),
            || "credentials-derived.url".to_string(),
            &mut run.derived,
        )
        .await
        .and_then(|url| {
            resolve_url(
                url,
                &node.node.integration_type,
                context,
                self.transport.replays(),
            )
        })
        .and_then(|url| {
            if node.node.integration_type == IntegrationType::GenesysCloud {
                token_destination(&url, context)?;
            }
            Ok(url)
        });
        let url = run.step(Step::UrlTemplate, &url, |u| Some(Value::String(u.clone())))?;

        // 6. Resolve request header templates
        let mut headers = Ok(Vec::with_capacity(node.headers.len()));
        for (index, (name, template)) in node.headers.iter().enumerate() {
            let reads_secrets = node.reads_secrets.headers.get(index).copied();
            match render_tracked(
                template,
                template_context,
                probe.filter(|_| reads_secrets.unwrap_or(true)),
                || format!("credentials-derived.header.{name}"),
                &mut run.derived,
            )
            .await
            {
                Ok(value) => {
                    // The whole value of an Authorization-type header is a credential.
                    if redact::is_credential_header(name) && !value.contains("<redacted:") {
                        run.derived.push((format!("header.{name}"), value.clone()));
                    }
                    if let Ok(rendered) = &mut headers {
                        rendered.push((name.clone(), value));
                    }
                }
                Err(error) => {
                    headers = Err(error);
                    break;
                }
            }
        }
        let mut headers = run.step(Step::HeaderTemplates, &headers, |h| {
            Some(Value::Object(
                h.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ))
        })?;

        // 7. Resolve request body template
        let body = if node.node.request.method.sends_body() {
            let rendered = render_tracked(
                &node.body,
                template_context,
                probe.filter(|_| node.reads_secrets.body),
                || "credentials-derived.body".to_string(),
                &mut run.derived,
            )
            .await
            .and_then(|body| {
                if crate::transport::header(&headers, "content-type").is_none() {
                    check_json_body(&body)?;
                    headers.push(("Content-Type".to_string(), "application/json".to_string()));
                }
                Ok(body)
            });
            Some(run.step(Step::BodyTemplate, &rendered, |b| {
                Some(Value::String(b.clone()))
            })?)
        } else {
            let none: Result<(), ExecError> = Ok(());
            run.step(Step::BodyTemplate, &none, |_| {
                Some(Value::String(format!(
                    "(no body for {})",
                    node.node.request.method
                )))
            })?;
            None
        };
        Ok(HttpRequest {
            method: node.node.request.method,
            url,
            headers,
            body,
        })
    }

    /// Steps 8 to 10.
    #[allow(clippy::too_many_arguments)]
    async fn execute_uncached(
        &self,
        node: &CompiledNode,
        request: HttpRequest,
        input: &Value,
        context: &ExecContext,
        token: Option<String>,
        reauth: Option<Reauth>,
        run: &mut Run,
    ) -> Result<Value, ExecError> {
        // 8. Execute
        let response = if let Some(token) = token {
            // A failed new grant after a 401 is traced as a failed step 4: no execute step.
            self.send_authenticated(node, request, context, token, run)
                .await?
        } else if let Some(reauth) = reauth {
            self.send_reauthenticating(node, request, context, reauth, run)
                .await?
        } else {
            self.send_with_retries(node, &request, run).await
        };
        let attempts_summary = run.attempts_summary();
        let response = response.and_then(|response| json_response(response, &node.node));
        let response = run.step(Step::Execute, &response, |_| Some(attempts_summary.clone()))?;

        // 9. Resolve translation map
        let variables = translate(node, &response.body).await;
        let variables = run.step(Step::TranslationMap, &variables, |vars| {
            Some(Value::Object(
                vars.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ))
        })?;

        // 10. Apply output transformation: the success template, then the output contract.
        let output = success_output(node, &response.body, variables, input, context)
            .await
            .and_then(|output| validate_output(node, &output).map(|()| output));
        run.step(Step::OutputTransformation, &output, |o| Some(o.clone()))
    }

    /// A Genesys Cloud data action's request: the integration's bearer token (step 4's) replaces
    /// any `Authorization` header the template rendered; a 401 answer invalidates it, and one new
    /// grant (traced as another step-4 operation) and one resend follow, once per execution. The
    /// outer error is a failed new grant (already traced), the inner the request's own outcome.
    async fn send_authenticated(
        &self,
        node: &CompiledNode,
        mut request: HttpRequest,
        context: &ExecContext,
        mut token: String,
        run: &mut Run,
    ) -> Result<Result<HttpResponse, ExecError>, ExecError> {
        let mut regranted = false;
        loop {
            request
                .headers
                .retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
            request
                .headers
                .push(("Authorization".to_string(), format!("Bearer {token}")));
            let response = self.send_with_retries(node, &request, run).await;
            let refused = matches!(
                run.attempts.last().map(|a| &a.outcome),
                Some(AttemptOutcome::Response(r)) if r.status == 401
            );
            if response.is_err() && refused && !regranted {
                if let Some(tokens) = &context.tokens {
                    tokens.invalidate(&token);
                }
                regranted = true;
                token = grant(context, run, true).await?;
                continue;
            }
            return Ok(response);
        }
    }

    /// A request whose templates read `$authResponse`: when the upstream answers 401 and the
    /// authentication response came from the custom authentication action, the action runs once
    /// more (its cached answer forgotten), the request is resolved again with the new response
    /// and sent once more. The outer error is a failed authentication (already traced).
    async fn send_reauthenticating(
        &self,
        node: &CompiledNode,
        request: HttpRequest,
        context: &ExecContext,
        reauth: Reauth,
        run: &mut Run,
    ) -> Result<Result<HttpResponse, ExecError>, ExecError> {
        let response = self.send_with_retries(node, &request, run).await;
        let refused = matches!(
            run.attempts.last().map(|a| &a.outcome),
            Some(AttemptOutcome::Response(r)) if r.status == 401
        );
        if response.is_ok() || !refused || !reauth.renewable {
            return Ok(response);
        }
        let fresh = self
            .auth_response(node, context, Some(&reauth.stale), run)
            .await?;
        let template_context = with_auth_response(reauth.template_context, Some(fresh));
        let probe = probe_for(node, &template_context);
        // Steps 5 to 7 again, untraced (the trace shows them once): only what they derive counts.
        let mut again = Run::new(&run.context_id);
        let request = self
            .resolve_request(node, &template_context, probe.as_ref(), context, &mut again)
            .await;
        run.derived.append(&mut again.derived);
        Ok(match request {
            Ok(request) => self.send_with_retries(node, &request, run).await,
            Err(error) => Err(error),
        })
    }

    /// The step-4 operation of a node reading `$authResponse`: the context's given response, else the integration's cached one, else the custom
    /// authentication action run now over the same transport with the same credentials (one run
    /// per integration at a time; the others wait for its answer). `stale`: the response the
    /// upstream just refused, forgotten first. Every string of the response becomes a secret of
    /// this execution.
    async fn auth_response(
        &self,
        node: &CompiledNode,
        context: &ExecContext,
        stale: Option<&Value>,
        run: &mut Run,
    ) -> Result<Value, ExecError> {
        if let Some(given) = &context.auth_response {
            let values = Value::Object(given.clone());
            run.derived.extend(redact::auth_response_secrets(&values));
            run.operations.push(Operation::done(
                Step::Authentication,
                json!({ "source": "authentication response given by the fixture ([auth_response])" }),
            ));
            return Ok(values);
        }
        let Some(auth) = node.custom_auth.as_ref() else {
            let missing: Result<Value, ExecError> = Err(ExecError::new(
                ErrorKind::AuthenticationFailed,
                format!(
                    "the request reads `$authResponse`, but integration `{}` has no custom authentication action in this project (a node with `custom_auth = true`); add it, or give the fixture an `[auth_response]` table",
                    node.node.key.integration
                ),
            ));
            return run.step(Step::Authentication, &missing, |_| None);
        };
        let name = auth.node.key.name.clone();
        let key = auth_key(auth, context);
        if let Some(stale) = stale
            && self.auth_cache.get(&key, self.clock.now_ms()).as_ref() == Some(stale)
        {
            self.auth_cache.remove(&key);
        }
        let obtained = self
            .auth_cache
            .single_flight(
                &key,
                || self.clock.now_ms(),
                async || {
                    let execution = self.run_custom_auth(auth, context).await;
                    if let Ok(values @ Value::Object(_)) = &execution.result {
                        self.auth_cache.put_for(
                            key,
                            values.clone(),
                            self.clock.now_ms(),
                            auth_ttl_ms(values),
                        );
                    }
                    Box::new(execution)
                },
            )
            .await;
        let after = stale.map(|_| "the previous authentication response was refused (401)");
        let (values, mut description) = match obtained {
            Flight::Hit(values) => (
                values,
                json!({ "action": name, "source": "reused cached authentication response" }),
            ),
            Flight::Missed(execution) => {
                let first = run.attempts.len();
                run.auth_attempts
                    .extend(first..first + execution.attempts.len());
                run.attempts.extend(execution.attempts.iter().cloned());
                run.waits_ms.extend(execution.waits_ms.iter().copied());
                run.redactors.push(execution.redactor.clone());
                let values = match &execution.result {
                    Ok(values @ Value::Object(_)) => Ok(values.clone()),
                    Ok(other) => Err(ExecError::new(
                        ErrorKind::AuthenticationFailed,
                        format!(
                            "custom authentication action `{name}` returned {}, not an object: `${{authResponse.X}}` reads the fields of an object",
                            crate::model::json_kind(other)
                        ),
                    )),
                    Err(error) => {
                        let failed = execution
                            .operations
                            .iter()
                            .rev()
                            .find(|o| !o.success)
                            .map(|o| format!(" at step {} `{}`", o.step, o.name))
                            .unwrap_or_default();
                        Err(ExecError::new(
                            ErrorKind::AuthenticationFailed,
                            format!(
                                "custom authentication action `{name}` failed{failed}: {}",
                                error.message
                            ),
                        )
                        .caused_by(error.clone()))
                    }
                };
                let values = match values {
                    Ok(values) => values,
                    failed => return run.step(Step::Authentication, &failed, |_| None),
                };
                (
                    values,
                    json!({
                        "action": name,
                        "source": "ran the custom authentication action",
                        "attempts": execution.attempts.len(),
                    }),
                )
            }
        };
        if let (Some(after), Value::Object(map)) = (after, &mut description) {
            map.insert("after".to_string(), Value::String(after.to_string()));
        }
        run.derived.extend(redact::auth_response_secrets(&values));
        run.operations
            .push(Operation::done(Step::Authentication, description));
        Ok(values)
    }

    /// The custom authentication action, executed by this runtime with the execution's
    /// credentials and an empty input.
    async fn run_custom_auth(&self, auth: &CompiledNode, context: &ExecContext) -> Execution {
        let mut auth_context = context.clone();
        auth_context.auth_response = None;
        Box::pin(self.execute(auth, &Value::Object(Map::new()), &auth_context)).await
    }

    async fn send_with_retries(
        &self,
        node: &CompiledNode,
        request: &HttpRequest,
        run: &mut Run,
    ) -> Result<HttpResponse, ExecError> {
        let no_retry = RetryPolicy {
            max_retries: 0,
            ..default_policy()
        };
        let policy = node.node.local.retry.as_ref().unwrap_or(&no_retry);
        let timeout = Duration::from_secs(u64::from(
            node.node.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS),
        ));
        let attempts = 1 + policy.max_retries;
        let mut wait_before = 0;
        let mut attempt = 1;
        loop {
            let outcome = self.transport.send(request, timeout).await;
            run.attempts.push(Attempt {
                request: request.clone(),
                wait_before_ms: wait_before,
                outcome: match &outcome {
                    Ok(response) => AttemptOutcome::Response(response.clone()),
                    Err(error) => AttemptOutcome::Failed(error.clone()),
                },
            });
            let outcome = match outcome {
                Ok(response) if (200..300).contains(&response.status) => return Ok(response),
                other => other,
            };
            let retryable = match &outcome {
                Ok(response) => retry::retries_status(policy, response.status),
                Err(TransportError::Invalid(_) | TransportError::TooLarge { .. }) => false,
                Err(_) => true,
            };
            let failure = || failure_of(&outcome, request, timeout);
            if !retryable || attempt >= attempts {
                return Err(failure());
            }
            let mut wait = retry::backoff_wait_ms(policy, attempt);
            if let Ok(response) = &outcome
                && matches!(response.status, 429 | 503)
                && let Some(after) = response.header("retry-after").and_then(|v| {
                    retry::retry_after_ms(v, response.header("date"), self.clock.now_ms())
                })
            {
                if after > retry::RETRY_AFTER_CAP_MS {
                    let mut error = failure();
                    error.message.push_str(&format!(
                        "; Retry-After of {} s exceeds the {} s cap, so retrying stopped",
                        after / 1000,
                        retry::RETRY_AFTER_CAP_MS / 1000
                    ));
                    return Err(error);
                }
                wait = wait.max(after);
            }
            run.waits_ms.push(wait);
            let taken = if policy.jitter {
                self.clock.jitter(wait)
            } else {
                wait
            };
            self.clock.sleep(taken).await;
            wait_before = taken;
            attempt += 1;
        }
    }
}

/// A step-4 operation of a Genesys Cloud Data Actions node: a token from the context's source
/// (added to the execution's secrets unless it is the dry-run's placeholder), sent later as
/// `Authorization: Bearer …`. `regrant`: after the previous token was refused.
async fn grant(context: &ExecContext, run: &mut Run, regrant: bool) -> Result<String, ExecError> {
    let granted = match &context.tokens {
        Some(tokens) => tokens
            .token()
            .await
            .map_err(|e| ExecError::new(ErrorKind::AuthenticationFailed, e.message)),
        None => Err(ExecError::new(
            ErrorKind::AuthenticationFailed,
            "a Genesys Cloud Data Actions node needs the integration's OAuth token, and this execution has no token source",
        )),
    };
    if let Ok(grant) = &granted
        && grant.secret
    {
        run.derived.push(("token".to_string(), grant.token.clone()));
    }
    let grant = run.step(Step::Authentication, &granted, |grant| {
        let mut description = grant.description.clone();
        if regrant && let Value::Object(map) = &mut description {
            map.insert(
                "after".to_string(),
                Value::String("the previous token was refused (401)".to_string()),
            );
        }
        Some(description)
    })?;
    Ok(grant.token)
}

/// The org's token goes to the org's API only: a Genesys Cloud Data Actions URL elsewhere (an
/// absolute one in the template) fails step 5, and nothing is sent (docs/security.md).
fn token_destination(url: &str, context: &ExecContext) -> Result<(), ExecError> {
    if on_api_base(url, context.api_base.as_deref()) {
        return Ok(());
    }
    Err(ExecError::new(
        ErrorKind::TemplateRequest,
        format!(
            "a Genesys Cloud Data Actions request goes to the org's Platform API only, and `{url}` is not under this env's API base{}; write the URL as a path (`/api/v2/…`)",
            context
                .api_base
                .as_deref()
                .map(|b| format!(" `{b}`"))
                .unwrap_or_default()
        ),
    ))
}

/// What step 4 obtained.
enum Authentication {
    /// Nothing: the templates read the credentials themselves.
    None,
    /// A Genesys Cloud Data Actions node's bearer token.
    Token(String),
    /// The custom authentication action's response (`$authResponse`).
    Response(Value),
}

/// The request templates' context, with `$authResponse` when the node reads it.
fn with_auth_response(mut template_context: Value, auth_response: Option<Value>) -> Value {
    if let (Some(values), Value::Object(map)) = (auth_response, &mut template_context) {
        map.insert(compile::AUTH_RESPONSE.to_string(), values);
    }
    template_context
}

/// The same context with every secret replaced by a probe: what renders differently with it is
/// derived from a secret and is redacted wherever it shows (redact.rs).
fn probe_for(node: &CompiledNode, template_context: &Value) -> Option<Value> {
    node.reads_secrets
        .any()
        .then(|| redact::probe_context(template_context, node.node.secure))
        .flatten()
}

/// What a 401 from the upstream needs to authenticate again and resolve the request anew.
struct Reauth {
    /// The response came from the custom authentication action (not given by the context).
    renewable: bool,
    template_context: Value,
    /// The authentication response the request was resolved with.
    stale: Value,
}

/// The cache key of an integration's authentication response: its custom authentication action's
/// definition (which names the integration) and the credentials it runs with.
fn auth_key(auth: &CompiledNode, context: &ExecContext) -> cache::CacheKey {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(auth.definition_hash);
    hasher.update(
        crate::canonical::to_string(&Value::Object(context.credentials.clone())).as_bytes(),
    );
    hasher.update(context.integration_id.as_bytes());
    hasher.finalize().into()
}

/// How long an authentication response is reused: its numeric `expires_in` (seconds, a number or
/// a string of digits) less the margin, else the default.
fn auth_ttl_ms(values: &Value) -> u64 {
    let expires_in = values.get("expires_in").and_then(|v| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    });
    let seconds = match expires_in {
        Some(seconds) => {
            seconds.saturating_sub(AUTH_RESPONSE_EXPIRY_MARGIN_SECONDS.min(seconds / 2))
        }
        None => AUTH_RESPONSE_DEFAULT_TTL_SECONDS,
    };
    seconds.saturating_mul(1000)
}

/// Whether `url` is on the API base: the same scheme, host and port, then a path, a query or
/// nothing.
fn on_api_base(url: &str, api_base: Option<&str>) -> bool {
    let Some(base) = api_base else {
        return false;
    };
    let base = base.trim_end_matches('/');
    url.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}

fn default_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 0,
        backoff: crate::model::Backoff::Exponential,
        initial_delay_ms: 500,
        max_delay_ms: 10_000,
        multiplier: 2.0,
        jitter: true,
        retry_on: RetryPolicy::DEFAULT_RETRY_ON.to_vec(),
    }
}

/// The trace being built.
#[derive(Default)]
struct Run {
    /// The execution's `contextId`, for the failed operations' error bodies.
    context_id: String,
    /// Values the request templates derived from secrets: `(name, value)`.
    derived: Vec<(String, String)>,
    operations: Vec<Operation>,
    attempts: Vec<Attempt>,
    waits_ms: Vec<u64>,
    cached: bool,
    /// Indices in `attempts` of the custom authentication action's attempts.
    auth_attempts: Vec<usize>,
    /// The redactors of the custom authentication action's executions.
    redactors: Vec<Redactor>,
}

impl Operation {
    fn done(step: Step, result: Value) -> Operation {
        Operation {
            step: step.number(),
            name: step.name(),
            success: true,
            result: Some(result),
            error: None,
        }
    }
}

impl Run {
    fn new(context_id: &str) -> Run {
        Run {
            context_id: context_id.to_string(),
            ..Run::default()
        }
    }

    /// Records a step's outcome and passes it on.
    fn step<T: Clone>(
        &mut self,
        step: Step,
        outcome: &Result<T, ExecError>,
        result: impl Fn(&T) -> Option<Value>,
    ) -> Result<T, ExecError> {
        match outcome {
            Ok(value) => {
                self.operations.push(Operation {
                    step: step.number(),
                    name: step.name(),
                    success: true,
                    result: result(value),
                    error: None,
                });
                Ok(value.clone())
            }
            Err(error) => {
                self.operations.push(Operation {
                    step: step.number(),
                    name: step.name(),
                    success: false,
                    result: None,
                    error: Some(error.body(&self.context_id)),
                });
                Err(error.clone())
            }
        }
    }

    fn cache_hit(&mut self, output: Value) -> Value {
        self.cached = true;
        self.operations
            .push(Operation::done(Step::Execute, json!({ "cached": true })));
        output
    }

    fn attempts_summary(&self) -> Value {
        Value::Array(
            self.attempts
                .iter()
                .enumerate()
                .filter(|(i, _)| !self.auth_attempts.contains(i))
                .map(|(_, a)| a)
                .enumerate()
                .map(|(i, a)| {
                    let outcome = match &a.outcome {
                        AttemptOutcome::Response(r) => json!({ "status": r.status }),
                        AttemptOutcome::Failed(e) => json!({ "error": e.to_string() }),
                    };
                    let mut entry = json!({ "attempt": i + 1, "waitMs": a.wait_before_ms });
                    if let (Value::Object(entry), Value::Object(outcome)) = (&mut entry, outcome) {
                        entry.extend(outcome);
                    }
                    entry
                })
                .collect(),
        )
    }
}

/// Steps 1 to 3 alone — the input is simple JSON, the definition can run, the input satisfies the
/// input schema — for a caller that must refuse bad input as an execution would before doing
/// anything else (`serve --replay` before it looks for a fixture).
pub fn check_input(node: &CompiledNode, input: &Value) -> Result<(), ExecError> {
    simple_json(input)?;
    runnable_definition(node)?;
    validate_input(node, input)
}

/// Step 1: the input is a JSON object whose values are not objects or arrays.
fn simple_json(input: &Value) -> Result<(), ExecError> {
    let Some(object) = input.as_object() else {
        return Err(ExecError::new(
            ErrorKind::InputInvalid,
            format!(
                "the input must be a JSON object of key-value pairs, not {}",
                crate::model::json_kind(input)
            ),
        ));
    };
    let nested: Vec<String> = object
        .iter()
        .filter(|(_, value)| value.is_object() || value.is_array())
        .map(|(key, _)| format!("`{key}`"))
        .collect();
    if nested.is_empty() {
        return Ok(());
    }
    Err(ExecError::new(
        ErrorKind::InputInvalid,
        format!(
            "the input must be simple JSON (key-value pairs), and {} {} an object or an array",
            nested.join(", "),
            if nested.len() == 1 { "holds" } else { "hold" }
        ),
    ))
}

/// Step 2: the definition runs: both contracts compile.
fn runnable_definition(node: &CompiledNode) -> Result<(), ExecError> {
    let problems: Vec<String> = [
        ("input_schema", node.input_validator.as_ref().err()),
        ("output_schema", node.output_validator.as_ref().err()),
    ]
    .into_iter()
    .filter_map(|(which, problem)| problem.map(|m| format!("{which} {m}")))
    .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ExecError::new(
            ErrorKind::DefinitionInvalid,
            problems.join("; "),
        ))
    }
}

/// Step 3 (steps 1 and 2 passed).
fn validate_input(node: &CompiledNode, input: &Value) -> Result<(), ExecError> {
    let Ok(validator) = node.input_validator.as_ref() else {
        return Ok(());
    };
    let violations = schema_violations(validator, input);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ExecError::new(
            ErrorKind::InputInvalid,
            format!("input does not match input_schema: {violations}"),
        ))
    }
}

fn validate_output(node: &CompiledNode, output: &Value) -> Result<(), ExecError> {
    let Ok(validator) = node.output_validator.as_ref() else {
        return Ok(());
    };
    let violations = schema_violations(validator, output);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ExecError::new(
            ErrorKind::OutputInvalid,
            format!("output does not match output_schema: {violations}"),
        ))
    }
}

/// Every violation, each with its JSON pointer and the keyword that failed.
fn schema_violations(validator: &jsonschema::Validator, instance: &Value) -> String {
    validator
        .iter_errors(instance)
        .map(|e| {
            let pointer = e.instance_path().as_str().to_string();
            let at = if pointer.is_empty() {
                "/".to_string()
            } else {
                pointer
            };
            format!("{at}: {e} ({})", e.kind().keyword())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `{ input: {…, rawRequest, orgId, integrationId}, credentials }`.
fn request_context(input: &Value, context: &ExecContext) -> Value {
    let mut input_object = input.as_object().cloned().unwrap_or_default();
    input_object.insert("rawRequest".to_string(), Value::String(input.to_string()));
    input_object.insert("orgId".to_string(), Value::String(context.org_id.clone()));
    input_object.insert(
        "integrationId".to_string(),
        Value::String(context.integration_id.clone()),
    );
    json!({ "input": input_object, "credentials": context.credentials })
}

fn unexecutable(problem: &compile::Unexecutable, otherwise: ErrorKind) -> ExecError {
    let kind = if problem.unsupported {
        ErrorKind::TemplateUnsupported
    } else {
        otherwise
    };
    ExecError::new(kind, problem.message.clone())
}

/// Renders a request template; with `probe` (the context with every secret replaced by a probe,
/// redact.rs) it renders it again, and what differs between the two depends on a secret: it is
/// recorded in `derived` as `(what, value)`, to be redacted wherever it shows.
async fn render_tracked(
    template: &compile::Compiled<vtl::Template>,
    context: &Value,
    probe: Option<&Value>,
    what: impl FnOnce() -> String,
    derived: &mut Vec<(String, String)>,
) -> Result<String, ExecError> {
    let rendered = render_request(template, context).await?;
    if let Some(probe) = probe
        && let Ok(probed) = render_request(template, probe).await
        && let Some(span) = redact::derived_span(&rendered, &probed)
    {
        derived.push((what(), span.to_string()));
    }
    Ok(rendered)
}

async fn render_request(
    template: &compile::Compiled<vtl::Template>,
    context: &Value,
) -> Result<String, ExecError> {
    let template = template
        .as_ref()
        .map_err(|p| unexecutable(p, ErrorKind::TemplateRequest))?;
    render_template(template, context, vtl::Mode::Request)
        .await
        .map_err(|e| ExecError::new(ErrorKind::TemplateRequest, e.to_string()))
}

/// How many costly renders and path evaluations run at once (one per core): each is bounded by
/// the vtl and jsonpath budgets, and this bounds how many of them share the machine.
fn costly_work_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(cores)
    })
}

/// Runs CPU-bound `work` on tokio's blocking pool, behind [`costly_work_permits`], so that the
/// async workers go on answering other requests (serve's and the emulator's token endpoint,
/// listings) meanwhile. Outside a tokio runtime it runs right here. `None` if the work was lost
/// (the runtime shutting down).
async fn offload<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Some(work());
    }
    let _permit = costly_work_permits().acquire().await.ok();
    tokio::task::spawn_blocking(work).await.ok()
}

/// Renders inline while the template stays within the quick budgets (what every ordinary
/// template does); a costly one is rendered again with the full budgets off the async workers.
async fn render_template(
    template: &vtl::Template,
    context: &Value,
    mode: vtl::Mode,
) -> Result<String, vtl::RenderError> {
    if let Some(done) = vtl::render_quick(template, context, mode) {
        return done;
    }
    let (template, context) = (template.clone(), context.clone());
    offload(move || vtl::render(&template, &context, mode))
        .await
        .unwrap_or_else(|| {
            Err(vtl::RenderError {
                line: 1,
                column: 1,
                message: "the render was abandoned (the server is shutting down)".to_string(),
            })
        })
}

/// Evaluates inline within the quick budget; a costly path is evaluated again with the full
/// budget off the async workers.
async fn evaluate_path(
    path: &JsonPath,
    document: &Arc<Value>,
) -> Result<Resolution, BudgetExceeded> {
    match path.evaluate_within(document, jsonpath::QUICK_EVAL_STEPS) {
        Err(BudgetExceeded) => {
            let (path, document) = (path.clone(), Arc::clone(document));
            offload(move || path.evaluate(&document))
                .await
                .unwrap_or(Err(BudgetExceeded))
        }
        done => done,
    }
}

/// An absolute http(s) URL as is; a `/…` URL against the env's API base.
/// Step 2's URL as the integration type says (docs/runtime.md, step 2): Web Services and Genesys
/// Cloud Data Actions as written or against the env's API base; the types only Genesys executes
/// live against their `.invalid` dry-run origin, over a replaying transport only.
fn resolve_url(
    url: String,
    integration_type: &IntegrationType,
    context: &ExecContext,
    replays: bool,
) -> Result<String, ExecError> {
    let trimmed = url.trim();
    if let Some(origin) = integration_type.dry_run_origin() {
        if !replays {
            let reason = integration_type.live_obstacle().unwrap_or_default();
            return Err(ExecError::new(
                ErrorKind::TemplateUnsupported,
                format!("cannot run live: {reason}; `nodectl test` dry-runs it over its fixtures"),
            ));
        }
        return Ok(
            if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
                trimmed.to_string()
            } else if trimmed.starts_with('/') {
                format!("{origin}{trimmed}")
            } else {
                // A Lambda's ARN, a function's empty URL: the invocation, named under the origin.
                format!("{origin}/{trimmed}")
            },
        );
    }
    if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
        return Ok(trimmed.to_string());
    }
    if trimmed.starts_with('/') && *integration_type == IntegrationType::WebServices {
        return Err(ExecError::new(
            ErrorKind::TemplateRequest,
            format!(
                "request URL `{trimmed}` is a path, but a Web Services action calls its URL as written (only Genesys Cloud Data Actions resolve a path against the org's API)"
            ),
        ));
    }
    if trimmed.starts_with('/') {
        return match &context.api_base {
            Some(base) => Ok(format!("{}{trimmed}", base.trim_end_matches('/'))),
            None => Err(ExecError::new(
                ErrorKind::TemplateRequest,
                format!(
                    "request URL `{trimmed}` is relative, but this env has no API base to resolve it against"
                ),
            )),
        };
    }
    Err(ExecError::new(
        ErrorKind::TemplateRequest,
        format!(
            "request URL `{trimmed}` is neither an absolute http(s) URL nor a path starting with `/`"
        ),
    ))
}

/// A body sent as `application/json` must be JSON: say where it is not.
fn check_json_body(body: &str) -> Result<(), ExecError> {
    if body.trim().is_empty() {
        return Ok(());
    }
    serde_json::from_str::<serde::de::IgnoredAny>(body)
        .map(|_| ())
        .map_err(|e| {
            ExecError::new(
                ErrorKind::TemplateRequest,
                format!(
                    "request body is not JSON (sent as application/json): {}",
                    json_error_excerpt(body, &e)
                ),
            )
        })
}

/// `line L, column C: message` and the offending line with a caret.
fn json_error_excerpt(text: &str, error: &serde_json::Error) -> String {
    let line_text = text
        .lines()
        .nth(error.line().saturating_sub(1))
        .unwrap_or("");
    let caret: String = " ".repeat(error.column().saturating_sub(1));
    format!("{error}\n  {line_text}\n  {caret}^")
}

fn failure_of(
    outcome: &Result<HttpResponse, TransportError>,
    request: &HttpRequest,
    timeout: Duration,
) -> ExecError {
    let target = format!("{} {}", request.method, request.url);
    match outcome {
        Ok(response) => ExecError::new(
            ErrorKind::RemoteStatus,
            format!(
                "{target} -> {}: {}",
                response.status,
                excerpt(&response.body)
            ),
        )
        .with_backend_message(format!(
            "Request to backend service failed.  Response from web service: {}",
            excerpt(&response.body)
        )),
        Err(TransportError::Timeout(_)) => ExecError::new(
            ErrorKind::RemoteTimeout,
            format!(
                "{target}: no answer within the node's timeout of {} s",
                timeout.as_secs()
            ),
        ),
        Err(TransportError::Connect(why)) => ExecError::new(
            ErrorKind::RemoteConnect,
            format!("{target}: connection failed: {why}"),
        )
        .with_backend_message(why.clone()),
        Err(TransportError::Invalid(why)) => {
            ExecError::new(ErrorKind::TemplateRequest, format!("{target}: {why}"))
        }
        Err(TransportError::TooLarge { limit }) => ExecError::new(
            ErrorKind::RemoteInvalid,
            format!("{target}: the response body exceeds the limit of {limit} bytes"),
        )
        .with_backend_message(format!(
            "Request to backend service failed.  The response from the web service exceeds the maximum size of {limit} bytes."
        )),
    }
}

/// Step 8's last check: Genesys processes JSON answers only; a 2xx answer whose body is not JSON
/// fails the execution at the remote endpoint ("Data action returns a 400 error"). An empty body
/// passes (the output is then `{}`).
fn json_response(
    response: HttpResponse,
    node: &crate::model::Node,
) -> Result<HttpResponse, ExecError> {
    // Genesys limits data-action JSON to 50 levels of nesting, checked before any parse.
    const MAX_DEPTH: usize = nesting::MAX_JSON_DEPTH;
    let too_deep = nesting::nesting_exceeds(response.body.as_bytes(), MAX_DEPTH);
    if too_deep {
        return Err(ExecError::new(
            ErrorKind::RemoteInvalid,
            format!(
                "{} answered {} with JSON nested more than {MAX_DEPTH} levels deep (Genesys's limit)",
                node.key.name, response.status
            ),
        )
        .with_backend_message(format!(
            "Request to backend service failed.  The response from the web service nests JSON more than {MAX_DEPTH} levels deep."
        )));
    }
    if response.body.trim().is_empty()
        || serde_json::from_str::<serde::de::IgnoredAny>(&response.body).is_ok()
    {
        return Ok(response);
    }
    let target = format!("{} answered {}", node.key.name, response.status);
    Err(ExecError::new(
        ErrorKind::RemoteInvalid,
        format!(
            "{target} with a body that is not JSON: {}",
            excerpt(&response.body)
        ),
    )
    .with_backend_message(format!(
        "Request to backend service failed.  Response from web service: {}",
        excerpt(&response.body)
    )))
}

/// At most 512 bytes of a body, cut at a character boundary.
fn excerpt(body: &str) -> String {
    if body.len() <= BODY_EXCERPT_BYTES {
        return body.to_string();
    }
    let mut end = BODY_EXCERPT_BYTES;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", body.get(..end).unwrap_or(""))
}

/// Step 6: each translation-map variable as JSON text (docs/runtime.md, "JSONPath (translation map)").
async fn translate(node: &CompiledNode, body: &str) -> Result<Vec<(String, String)>, ExecError> {
    if node.translation.is_empty() {
        return Ok(Vec::new());
    }
    let document: Value = serde_json::from_str(body).map_err(|e| {
        ExecError::new(
            ErrorKind::Translation,
            format!(
                "the response body is not JSON, so the translation map cannot apply: {e}; body: {}",
                excerpt(body)
            ),
        )
    })?;
    let document = Arc::new(document);
    let mut variables = Vec::with_capacity(node.translation.len());
    for (name, path) in &node.translation {
        let path = path
            .as_ref()
            .map_err(|p| ExecError::new(ErrorKind::Translation, p.message.clone()))?;
        let resolution = evaluate_path(path, &document).await.map_err(|budget| {
            ExecError::new(
                ErrorKind::Translation,
                format!("translation_map.{name}: `{path}`: {budget}"),
            )
        })?;
        let variable = match resolution {
            Resolution::Value(value) => (name.clone(), value.to_string()),
            Resolution::NotFound => match node.defaults.get(name) {
                Some(default) => (name.clone(), default.clone()),
                None => {
                    return Err(ExecError::new(
                        ErrorKind::Translation,
                        format!(
                            "translation_map.{name}: `{path}` matched nothing in the response and there is no default"
                        ),
                    ));
                }
            },
        };
        variables.push(variable);
    }
    Ok(variables)
}

/// Step 7: the success template over the translation variables, parsed as JSON.
async fn success_output(
    node: &CompiledNode,
    body: &str,
    variables: Vec<(String, String)>,
    input: &Value,
    context: &ExecContext,
) -> Result<Value, ExecError> {
    if node.default_success && node.translation.is_empty() {
        if body.trim().is_empty() {
            return Ok(Value::Object(Map::new()));
        }
        return serde_json::from_str(body).map_err(|e| {
            ExecError::new(ErrorKind::TemplateSuccess, format!("the response body is not JSON (the default success template returns it as the output): {}", json_error_excerpt(body, &e)))
        });
    }
    let template = node
        .success
        .as_ref()
        .map_err(|p| unexecutable(p, ErrorKind::TemplateSuccess))?;
    let mut scope = Map::new();
    for (name, text) in variables {
        scope.insert(name, Value::String(text));
    }
    scope.insert("rawResult".to_string(), Value::String(body.to_string()));
    if let Value::Object(base) = request_context(input, context) {
        for (key, value) in base {
            scope.entry(key).or_insert(value);
        }
    }
    let rendered = render_template(template, &Value::Object(scope), vtl::Mode::Success)
        .await
        .map_err(|e| transform_failed(&e.message, &node.node.response.success_template))?;
    if rendered.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_str(&rendered).map_err(|e| {
        transform_failed(
            &format!(
                "the rendered result is not JSON: {}",
                json_error_excerpt(&rendered, &e)
            ),
            &node.node.response.success_template,
        )
    })
}

/// Genesys's words for a success template that fails, verbatim from its DataActionsWorkshop
/// (docs/genesys-evidence.md B.2): the Velocity error, then the template.
fn transform_failed(error: &str, template: &str) -> ExecError {
    ExecError::new(
        ErrorKind::TemplateSuccess,
        format!(
            "Transform failed to process result using 'successTemplate' template due to error:'{error}'\n Template:'{template}'."
        ),
    )
}

fn redact_request(redactor: &Redactor, request: &mut HttpRequest) {
    if redactor.is_empty() {
        return;
    }
    request.url = redactor.text(&request.url);
    for (_, value) in &mut request.headers {
        *value = redactor.text(value);
    }
    if let Some(body) = &mut request.body {
        *body = redactor.text(body);
    }
}

/// A UUID-shaped id for one execution (Genesys's `contextId`): unique per process by a sequence
/// number, across processes by the pid (read once: it is a system call) and the start time.
fn context_id(now_ms: u64, salt: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    static PROCESS: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let mut hasher = Sha256::new();
    hasher.update(now_ms.to_le_bytes());
    hasher.update(SEQUENCE.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hasher.update(PROCESS.get_or_init(std::process::id).to_le_bytes());
    hasher.update(salt.as_bytes());
    let digest = hasher.finalize();
    let mut id = String::with_capacity(36);
    for (index, byte) in digest.iter().take(16).enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        for nibble in [byte >> 4, byte & 0x0f] {
            id.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    id
}

#[cfg(test)]
mod auth_tests {
    use super::*;

    #[test]
    fn an_auth_response_lives_until_expires_in_less_the_margin() {
        assert_eq!(auth_ttl_ms(&json!({ "expires_in": 3600 })), 3_540_000);
        assert_eq!(auth_ttl_ms(&json!({ "expires_in": "120" })), 60_000);
        // The margin takes at most half a short lifetime.
        assert_eq!(auth_ttl_ms(&json!({ "expires_in": 30 })), 15_000);
        assert_eq!(auth_ttl_ms(&json!({ "expires_in": 0 })), 0);
        // No numeric expires_in: the default.
        assert_eq!(
            auth_ttl_ms(&json!({ "access_token": "x", "expires_in": "soon" })),
            AUTH_RESPONSE_DEFAULT_TTL_SECONDS * 1000
        );
    }

    #[test]
    fn every_string_of_an_auth_response_is_a_secret() {
        let secrets = redact::auth_response_secrets(
            &json!({ "access_token": "abc", "nested": { "id": "xyz" }, "expires_in": 60 }),
        );
        assert_eq!(
            secrets,
            vec![
                ("authResponse.access_token".to_string(), "abc".to_string()),
                ("authResponse.nested.id".to_string(), "xyz".to_string()),
            ]
        );
    }
}

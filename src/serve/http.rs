//! serve's HTTP server on hyper 1 + tokio: one task per connection (HTTP/1.1, keep-alive), a
//! header read timeout and a body read timeout against slow clients, the bearer-token check, the
//! 512000-byte body limit (413), the routes, the execution limits of `/test` and `/execute` (429
//! with `Retry-After`, as the emulator's), and graceful shutdown. One `Runtime` (one cache per
//! node definition, single flight) over one `LiveTransport` (one connection pool) serves every
//! request; the node set is swapped whole by `--watch` reloads.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::metrics::{Metrics, Observation, UNKNOWN_NODE};
use super::set::NodeSet;
use super::{Loader, MAX_BODY_BYTES, ServeError, ServeOptions};
use crate::emulator::exec::{self, ExecGate, ExecLimits, Mode};
use crate::emulator::rng::SplitMix64;
use crate::emulator::route::Route;
use crate::emulator::state::{ApiError, Body, Executable, Reply};
use crate::fixture::replay::ReplayTransport;
use crate::http::server::{BodyError, read_body_within};
use crate::http::url::percent_decode_strict;
use crate::model::ErrorKind;
use crate::runtime::{
    AttemptOutcome, CompiledNode, ExecContext, ExecError, Execution, Runtime, SystemClock,
    VirtualClock,
};
use crate::transport::live::LiveTransport;
use crate::transport::token::{DryRunTokens, TokenSource};

/// How long shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
const JSON: &str = "application/json";

/// A running server. Dropping the handle does not stop it; `shutdown()` does.
pub struct ServeHandle {
    base_url: String,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    watcher: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ServeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeHandle")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ServeHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The env served and how many nodes.
    pub fn served(&self) -> (String, usize) {
        let set = self.shared.set();
        (set.env.clone(), set.len())
    }

    /// Successful and failed `--watch` reloads so far.
    pub fn reloads(&self) -> (u64, u64) {
        (
            self.shared.reloads.load(Ordering::Relaxed),
            self.shared.reload_failures.load(Ordering::Relaxed),
        )
    }

    /// Stops accepting and lets in-flight requests finish (up to 10 s).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        if let Some(watcher) = self.watcher {
            let _ = watcher.await;
        }
    }
}

/// Everything the request handlers share.
pub(super) struct Shared {
    options: ServeOptions,
    set: RwLock<Arc<NodeSet>>,
    runtime: Runtime<LiveTransport, SystemClock>,
    /// The execution limits of `/test` and `/execute`.
    exec_gate: ExecGate,
    metrics: Metrics,
    loader: Loader,
    ids: Mutex<SplitMix64>,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
}

impl Shared {
    fn set(&self) -> Arc<NodeSet> {
        self.set
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn context_id(&self) -> String {
        self.ids
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .uuid()
    }

    /// Loads the project again; a set that fails validation leaves the old one in place.
    pub(super) async fn reload(&self) {
        let loader = self.loader.clone();
        let loaded = tokio::task::spawn_blocking(move || loader())
            .await
            .unwrap_or_else(|e| Err(format!("the reload task failed: {e}")));
        match loaded {
            Ok(snapshot) => {
                let (set, warnings) = NodeSet::build(snapshot);
                for warning in warnings {
                    tracing::warn!(target: "nodectl::serve", "{warning}");
                }
                let count = set.len();
                *self
                    .set
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(set);
                self.reloads.fetch_add(1, Ordering::Relaxed);
                tracing::info!(target: "nodectl::serve", nodes = count, "manifests reloaded");
            }
            Err(diagnostics) => {
                self.reload_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "nodectl::serve", "reload refused, still serving the previous nodes:\n{diagnostics}");
            }
        }
    }
}

/// Loads the project, compiles its nodes, binds and serves.
pub async fn start(options: ServeOptions, loader: Loader) -> Result<ServeHandle, ServeError> {
    options.check()?;
    // The files as they are *before* the first load: a change made while or after it loads is
    // then seen by the first poll (a fingerprint taken later could already include it, and the
    // change would never be reloaded).
    let fingerprint = match &options.watch {
        Some(dir) => Some(super::watch::scan(dir.clone()).await),
        None => None,
    };
    let first = loader.clone();
    let snapshot = tokio::task::spawn_blocking(move || first())
        .await
        .map_err(|e| ServeError::Start(e.to_string()))?
        .map_err(ServeError::Load)?;
    let (set, warnings) = NodeSet::build(snapshot);
    for warning in warnings {
        tracing::warn!(target: "nodectl::serve", "{warning}");
    }
    let listener = TcpListener::bind(options.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: options.addr,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: options.addr,
        source,
    })?;
    let base_url = format!("http://{local_addr}");
    let transport = LiveTransport::new().map_err(|e| ServeError::Start(e.to_string()))?;
    let shared = Arc::new(Shared {
        set: RwLock::new(Arc::new(set)),
        runtime: Runtime::new(transport, SystemClock),
        exec_gate: ExecGate::new(ExecLimits {
            concurrency: options.exec_concurrency,
            per_minute: options.exec_rate_limit,
        }),
        metrics: Metrics::default(),
        loader,
        ids: Mutex::new(SplitMix64::new(SplitMix64::entropy())),
        reloads: AtomicU64::new(0),
        reload_failures: AtomicU64::new(0),
        options,
    });
    let (stop, stopped) = watch::channel(false);
    let watcher = shared
        .options
        .watch
        .clone()
        .zip(fingerprint)
        .map(|(dir, fingerprint)| {
            let reloading = shared.clone();
            let reload = move || {
                let shared = reloading.clone();
                async move { shared.reload().await }
            };
            tokio::spawn(super::watch::run(
                reload,
                dir,
                fingerprint,
                shared.options.watch_interval,
                stopped.clone(),
            ))
        });
    let server = tokio::spawn(serve(listener, shared.clone(), stopped));
    tracing::info!(target: "nodectl::serve", %base_url, "serving");
    Ok(ServeHandle {
        base_url,
        local_addr,
        shared,
        stop,
        server,
        watcher,
    })
}

/// The accept loop; on stop, graceful shutdown.
async fn serve(listener: TcpListener, shared: Arc<Shared>, stopped: watch::Receiver<bool>) {
    let options = crate::http::server::ConnectionOptions {
        name: "serve",
        header_read_timeout: shared.options.read_timeout,
        nodelay: true,
        shutdown_grace: SHUTDOWN_GRACE,
    };
    let answer = move |request| answer(shared.clone(), request);
    crate::http::server::accept_until_stopped(listener, options, answer, stopped).await;
}

/// An answer before it becomes a hyper response.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    close: bool,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn json(status: u16, value: &Value) -> Answer {
        Answer {
            status,
            content_type: JSON,
            body: value.to_string().into_bytes(),
            close: false,
            headers: Vec::new(),
        }
    }

    fn reply(reply: Reply, context_id: &str) -> Answer {
        match reply.body {
            Body::Json(value) => Answer::json(reply.status, &value),
            Body::Error(error) => Answer::json(reply.status, &error.body(Some(context_id))),
            Body::Text(text) => Answer {
                status: reply.status,
                content_type: "text/plain; charset=UTF-8",
                body: text.into_bytes(),
                close: false,
                headers: Vec::new(),
            },
            Body::Empty => Answer {
                status: reply.status,
                content_type: JSON,
                body: Vec::new(),
                close: false,
                headers: Vec::new(),
            },
        }
    }

    /// `{ "message": … }` with a status.
    fn message(status: u16, message: impl Into<String>) -> Answer {
        Answer::json(
            status,
            &json!({ "status": status, "message": message.into() }),
        )
    }
}

async fn answer(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let answer = handle(&shared, request).await;
    Ok(response(answer))
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Answer {
    if let Some(token) = &shared.options.token
        && !authorized(request.headers(), token)
    {
        return Answer::message(
            401,
            "this server needs `Authorization: Bearer <token>` (the --token it was started with)",
        );
    }
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let trace = request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .any(|pair| pair == "trace=true" || pair == "trace=1");
    let get = |answer: fn(&Shared) -> Answer| {
        if method == Method::GET {
            answer(shared)
        } else {
            Answer::message(405, format!("{path} takes GET"))
        }
    };
    match path.as_str() {
        "/healthz" => return get(healthz),
        "/nodes" => return get(nodes),
        "/metrics" => return get(metrics),
        _ => {}
    }
    if let Some(name) = path.strip_prefix("/simulate/node/") {
        if method != Method::POST {
            return Answer::message(405, format!("{path} takes POST"));
        }
        let name = match percent_decode_strict(name) {
            Ok(name) => name,
            Err(problem) => {
                return Answer::message(
                    400,
                    format!("the node name in {path} is not percent-encoded UTF-8: {problem}"),
                );
            }
        };
        let body = match read(shared, request).await {
            Ok(body) => body,
            Err(answer) => return answer,
        };
        return simulate(shared, &name, &body, trace).await;
    }
    if path.starts_with("/api/") {
        let route = Route::parse(method.as_str(), &path);
        let context_id = shared.context_id();
        let query = crate::emulator::route::Query::parse(request.uri().query().unwrap_or(""));
        let (id, mode) = match route {
            Route::TestAction(id) => (id, Mode::with_query(false, &query)),
            Route::ExecuteAction(id) => (id, Mode::with_query(true, &query)),
            _ => {
                return Answer::reply(
                    ApiError::not_found(
                        "serve answers only POST /api/v2/integrations/actions/{name-or-id}/test and /execute",
                    )
                    .into(),
                    &context_id,
                );
            }
        };
        let body = match read(shared, request).await {
            Ok(body) => body,
            Err(answer) => return answer,
        };
        let mut answer = genesys(shared, &id, mode, &body, &context_id).await;
        answer
            .headers
            .push(("ININ-Correlation-Id", context_id.clone()));
        return answer;
    }
    Answer::message(
        404,
        format!(
            "no route {method} {path}: serve answers POST /simulate/node/{{name}}, POST /api/v2/integrations/actions/{{name-or-id}}/test and /execute, GET /nodes, /healthz and /metrics"
        ),
    )
}

/// `Authorization: Bearer T`: the scheme in any case (RFC 9110 makes it case-insensitive), the
/// token compared in constant time.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some((scheme, given)) = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
    else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && constant_time_eq(given.trim().as_bytes(), token.as_bytes())
}

/// Whether `a == b`, taking the same time whatever the position of the first difference (the
/// length of the expected token is not a secret worth hiding: it only makes the loop's length).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = u8::from(a.len() != b.len());
    for (index, expected) in b.iter().enumerate() {
        // A shorter `a` is compared against zeros, so every byte of `b` is visited.
        let given = a.get(index).copied().unwrap_or(0);
        difference |= std::hint::black_box(given ^ expected);
    }
    difference == 0
}

fn healthz(shared: &Shared) -> Answer {
    let set = shared.set();
    Answer::json(
        200,
        &json!({
            "status": "ok",
            "env": set.env,
            "nodes": set.len(),
            "replay": shared.options.replay,
            "reloads": shared.reloads.load(Ordering::Relaxed),
            "reloadFailures": shared.reload_failures.load(Ordering::Relaxed),
        }),
    )
}

fn nodes(shared: &Shared) -> Answer {
    let set = shared.set();
    let nodes: Vec<Value> = set
        .nodes()
        .map(|compiled| {
            let node = &compiled.node;
            json!({
                "name": node.key.name,
                "integration": node.key.integration.to_string(),
                "category": node.category,
                "method": node.request.method.as_str(),
                "url": node.request.url,
                "secure": node.secure,
                "cacheTtlSeconds": node.local.cache.as_ref().map(|c| c.ttl_seconds),
                "fixtures": set.fixtures(&node.key.name).iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Answer::json(200, &json!({ "env": set.env, "nodes": nodes }))
}

fn metrics(shared: &Shared) -> Answer {
    Answer {
        status: 200,
        content_type: "text/plain; version=0.0.4; charset=utf-8",
        body: shared.metrics.render().into_bytes(),
        close: false,
        headers: Vec::new(),
    }
}

/// The request body within the size limit and the read timeout, or the answer that refuses it.
async fn read(shared: &Shared, request: Request<Incoming>) -> Result<Vec<u8>, Answer> {
    let (parts, body) = request.into_parts();
    match read_body_within(
        shared.options.read_timeout,
        body,
        &parts.headers,
        MAX_BODY_BYTES,
    )
    .await
    {
        Ok(body) => Ok(body),
        Err(BodyError::TooLarge) => Err(Answer {
            close: true,
            ..Answer::message(
                413,
                format!("the request body exceeds the maximum of {MAX_BODY_BYTES} bytes"),
            )
        }),
        Err(BodyError::Broken(reason)) => Err(Answer {
            close: true,
            ..Answer::message(400, format!("the request body could not be read: {reason}"))
        }),
        Err(BodyError::TimedOut) => Err(Answer {
            close: true,
            ..Answer::message(
                408,
                format!(
                    "the request body did not arrive within {} s",
                    shared.options.read_timeout.as_secs()
                ),
            )
        }),
    }
}

/// What went wrong before or during an execution, as `/simulate` answers it.
fn outcome_of(error: &ExecError) -> (u16, &'static str) {
    match error.kind {
        ErrorKind::InputInvalid => (400, "bad_input"),
        ErrorKind::RemoteStatus
        | ErrorKind::RemoteTimeout
        | ErrorKind::RemoteConnect
        | ErrorKind::RemoteInvalid
        | ErrorKind::AuthenticationFailed => (502, "upstream_error"),
        ErrorKind::DefinitionInvalid
        | ErrorKind::TemplateRequest
        | ErrorKind::TemplateUnsupported
        | ErrorKind::Translation
        | ErrorKind::TemplateSuccess
        | ErrorKind::OutputInvalid => (500, "processing_error"),
    }
}

/// `POST /simulate/node/{name}`.
async fn simulate(shared: &Shared, name: &str, body: &[u8], trace: bool) -> Answer {
    let started = Instant::now();
    let set = shared.set();
    let Some(node) = set.node(name) else {
        let hint = crate::manifest::shape::did_you_mean(name, &set.names())
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        let message = format!("no node named `{name}` in env `{}`{hint}", set.env);
        shared.metrics.record(
            UNKNOWN_NODE,
            "unknown_node",
            Observation::default(),
            started.elapsed(),
        );
        return refusal(404, &message, &shared.context_id(), "not.found");
    };
    let node_name = node.node.key.name.as_str();
    // Cached nodes answer a repeated request from the set's answers, before any parsing or rendering.
    let ttl = node
        .node
        .local
        .cache
        .as_ref()
        .map(|c| Duration::from_secs(c.ttl_seconds));
    let memoizable = ttl.is_some() && !trace && !shared.options.replay;
    if let Some(output) = memoizable
        .then(|| set.answers.get(node_name, body))
        .flatten()
    {
        let elapsed = started.elapsed();
        shared.metrics.record(
            node_name,
            "success",
            Observation {
                cache: Some(true),
                attempts: 0,
            },
            elapsed,
        );
        let millis = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let text = format!(
            r#"{{"success":true,"status":200,"data":{output},"attempts":0,"retries":0,"cached":true,"durationMs":{millis}}}"#
        );
        return Answer {
            status: 200,
            content_type: JSON,
            body: text.into_bytes(),
            close: false,
            headers: Vec::new(),
        };
    }
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        Err("the request body is empty: send the node's input object".to_string())
    } else {
        serde_json::from_slice(body).map_err(|e| format!("the request body is not JSON: {e}"))
    };
    let input: Value = match parsed {
        Ok(input) => input,
        Err(message) => {
            shared.metrics.record(
                node_name,
                "bad_input",
                Observation::default(),
                started.elapsed(),
            );
            let error = ExecError::new(ErrorKind::InputInvalid, message);
            return failure(
                400,
                &error,
                error.genesys_body(&shared.context_id()),
                0,
                0,
                None,
            );
        }
    };
    let execution = if shared.options.replay {
        let mut context = set.context.clone();
        context.tokens = Some(Arc::new(DryRunTokens));
        context.api_base = Some(crate::fixture::dry_run_api_base(
            context.api_base.as_deref(),
        ));
        let fixtures = set.fixtures(node_name);
        match fixtures.iter().find(|f| f.input == input) {
            Some(fixture) => {
                context.credentials = fixture.credentials.clone();
                context.auth_response = fixture.auth_response.clone();
                replay(node, &fixture.exchanges, &input, &context).await
            }
            // Input a live run would refuse (steps 1 to 3) gets the same answer with or without a
            // fixture: the runtime refuses it before it needs any exchange.
            None if crate::runtime::check_input(node, &input).is_err() => {
                replay(node, &[], &input, &context).await
            }
            None => {
                shared.metrics.record(
                    node_name,
                    "no_fixture",
                    Observation::default(),
                    started.elapsed(),
                );
                return no_fixture(node_name, fixtures, &shared.context_id());
            }
        }
    } else {
        shared.runtime.execute(node, &input, &set.context).await
    };
    let mut execution = execution;
    // The output goes to whoever called: it must not hand them a credential an upstream echoed
    // (they never had it) or, for a secure node, the input — as `nodectl run` prints it.
    if let Ok(output) = &mut execution.result {
        execution.redactor.value(output);
    }
    let elapsed = started.elapsed();
    let attempts = execution.attempts.len() as u64;
    let observation = Observation {
        cache: node.node.local.cache.as_ref().and_then(|_| {
            if execution.cached {
                Some(true)
            } else {
                execution
                    .operations
                    .iter()
                    .any(|o| o.step == crate::runtime::Step::Execute.number())
                    .then_some(false)
            }
        }),
        attempts,
    };
    let upstream_status = execution
        .attempts
        .last()
        .and_then(|a| match &a.outcome {
            AttemptOutcome::Response(response) => Some(response.status),
            AttemptOutcome::Failed(_) => None,
        })
        .unwrap_or(0);
    let trace = trace.then(|| json!(execution.operations));
    let (status, outcome) = match &execution.result {
        Ok(_) => (200, "success"),
        Err(error) => outcome_of(error),
    };
    shared
        .metrics
        .record(node_name, outcome, observation, elapsed);
    tracing::debug!(target: "nodectl::serve", node = node_name, outcome, attempts, cached = execution.cached, "simulate");
    if let (Ok(output), Some(ttl), true, false) =
        (&execution.result, ttl, memoizable, execution.cached)
    {
        set.answers.put(node_name, body, output, ttl);
    }
    match execution.result {
        Ok(output) => {
            let mut body = json!({
                "success": true,
                "status": if upstream_status == 0 { 200 } else { upstream_status },
                "data": output,
                "attempts": attempts,
                "retries": attempts.saturating_sub(1),
                "cached": execution.cached,
                "durationMs": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            });
            if let (Some(trace), Value::Object(map)) = (trace, &mut body) {
                map.insert("trace".to_string(), trace);
            }
            Answer::json(200, &body)
        }
        Err(error) => {
            let error_body = error.genesys_body(&execution.context_id);
            failure(status, &error, error_body, upstream_status, attempts, trace)
        }
    }
}

/// The runtime over the fixture's exchanges, on a virtual clock (nothing sleeps).
async fn replay(
    node: &CompiledNode,
    exchanges: &[crate::model::Exchange],
    input: &Value,
    context: &ExecContext,
) -> Execution {
    let clock = Arc::new(VirtualClock::new(0));
    let transport = ReplayTransport::new(exchanges.to_vec(), clock.clone());
    Runtime::new(transport, clock)
        .execute(node, input, context)
        .await
}

/// A failed `/simulate`: `status` is the HTTP status of this answer (also in the body), and
/// `upstreamStatus` what the upstream last answered, when it answered.
fn failure(
    status: u16,
    error: &ExecError,
    error_body: Value,
    upstream_status: u16,
    attempts: u64,
    trace: Option<Value>,
) -> Answer {
    let mut body = json!({
        "success": false,
        "status": status,
        "error": error.to_string(),
        "errorBody": error_body,
        "attempts": attempts,
        "retries": attempts.saturating_sub(1),
    });
    if let Value::Object(map) = &mut body {
        // What the upstream last answered, when it answered at all.
        if upstream_status != 0 {
            map.insert("upstreamStatus".to_string(), json!(upstream_status));
        }
        if let Some(trace) = trace {
            map.insert("trace".to_string(), trace);
        }
    }
    Answer::json(status, &body)
}

/// A refusal before any execution, in the failure shape.
fn refusal(status: u16, message: &str, context_id: &str, code: &str) -> Answer {
    Answer::json(
        status,
        &json!({
            "success": false,
            "status": status,
            "error": message,
            "errorBody": {
                "message": message,
                "code": code,
                "status": status,
                "contextId": context_id,
                "details": [],
                "errors": [],
            },
            "attempts": 0,
            "retries": 0,
        }),
    )
}

/// `--replay` without a fixture for this input: 404 listing the node's fixtures.
fn no_fixture(node: &str, fixtures: &[crate::model::Fixture], context_id: &str) -> Answer {
    let names: Vec<&str> = fixtures.iter().map(|f| f.name.as_str()).collect();
    let message = if names.is_empty() {
        format!("--replay: node `{node}` has no fixtures")
    } else {
        format!(
            "--replay: no fixture of node `{node}` has this [input]; its fixtures: {}",
            names.join(", ")
        )
    };
    let mut answer = refusal(404, &message, context_id, "not.found");
    if let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&answer.body) {
        map.insert("fixtures".to_string(), json!(names));
        answer.body = Value::Object(map).to_string().into_bytes();
    }
    answer
}

/// `POST /api/v2/integrations/actions/{name-or-id}/test` and `/execute`: the emulator's handler
/// over the org built from the manifests (with `--replay`, over the matching fixture).
async fn genesys(shared: &Shared, id: &str, mode: Mode, body: &[u8], context_id: &str) -> Answer {
    let started = Instant::now();
    let set = shared.set();
    let found = set
        .org
        .find(id)
        .map(|action| action.id.clone())
        .ok_or_else(|| ApiError::not_found(format!("Action {id} was not found.")))
        .and_then(|id| set.org.executable(&id, false));
    let mut executable: Executable = match found {
        Ok(executable) => executable,
        Err(error) => {
            shared.metrics.record(
                UNKNOWN_NODE,
                "unknown_node",
                Observation::default(),
                started.elapsed(),
            );
            return Answer::reply(error.into(), context_id);
        }
    };
    let name = executable.action.name.clone();
    // Held until the execution ends (or the request is dropped).
    let _permit = match shared.exec_gate.enter(now_ms()) {
        Ok(permit) => permit,
        Err(refusal) => {
            shared.metrics.record(
                &name,
                "rate_limited",
                Observation::default(),
                started.elapsed(),
            );
            let mut answer = Answer::reply(refusal.error().into(), context_id);
            answer
                .headers
                .push(("Retry-After", refusal.retry_after_seconds().to_string()));
            return answer;
        }
    };
    let dry_run_base = crate::fixture::dry_run_api_base(set.context.api_base.as_deref());
    let api_base = set.context.api_base.as_deref();
    let live_tokens = set.context.tokens.as_ref();
    let dry_run_tokens: Arc<dyn TokenSource> = Arc::new(DryRunTokens);
    let compiled = set.action(&executable.action.id).cloned();
    let replayed = if shared.options.replay {
        let input = serde_json::from_slice::<Value>(body).ok();
        let fixtures = set.fixtures(&name);
        match fixtures.iter().find(|f| Some(&f.input) == input.as_ref()) {
            Some(fixture) => {
                executable.integration.credentials = fixture.credentials.clone();
                Some(fixture)
            }
            None if input.is_some() => {
                shared.metrics.record(
                    &name,
                    "no_fixture",
                    Observation::default(),
                    started.elapsed(),
                );
                return no_fixture(&name, fixtures, context_id);
            }
            None => None,
        }
    } else {
        None
    };
    let reply = match (replayed, &compiled) {
        (Some(fixture), Some(compiled)) => {
            let clock = Arc::new(VirtualClock::new(0));
            let transport = ReplayTransport::new(fixture.exchanges.clone(), clock.clone());
            let runtime = Runtime::new(transport, clock);
            exec::run_compiled(
                &runtime,
                &executable,
                compiled,
                body,
                mode,
                exec::Upstream {
                    api_base: Some(&dry_run_base),
                    tokens: Some(&dry_run_tokens),
                },
                context_id,
            )
            .await
        }
        (None, Some(compiled)) => {
            exec::run_compiled(
                &shared.runtime,
                &executable,
                compiled,
                body,
                mode,
                exec::Upstream {
                    api_base,
                    tokens: live_tokens,
                },
                context_id,
            )
            .await
        }
        // An action `to_node` refuses: `exec::run` answers why.
        (_, None) => {
            exec::run(
                &shared.runtime,
                &executable,
                body,
                mode,
                exec::Upstream {
                    api_base,
                    tokens: live_tokens,
                },
                context_id,
            )
            .await
        }
    };
    let (mut reply, redactor) = reply;
    // As in `simulate`: no echoed credential, value derived from one, or secure input in what the
    // caller gets back.
    if let Body::Json(value) = &mut reply.body {
        redactor.value(value);
    }
    let outcome = match (&reply.body, reply.status) {
        (Body::Json(value), 200)
            if !mode.is_execute() && value.get("success") != Some(&Value::Bool(true)) =>
        {
            "failure"
        }
        (_, 200) => "success",
        (_, 400) => "bad_input",
        _ => "failure",
    };
    shared
        .metrics
        .record(&name, outcome, Observation::default(), started.elapsed());
    Answer::reply(reply, context_id)
}

fn response(answer: Answer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    if answer.status == 401 {
        headers.insert(
            hyper::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer"),
        );
    }
    if answer.close {
        headers.insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    }
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(hyper::header::AUTHORIZATION, value);
        }
        headers
    }

    #[test]
    fn bearer_scheme_in_any_case_and_exact_token() {
        for value in [
            "Bearer s3cret",
            "bearer s3cret",
            "BEARER  s3cret ",
            " bEaReR s3cret",
        ] {
            assert!(authorized(&with_authorization(value), "s3cret"), "{value}");
        }
        for value in [
            "Bearer s3cre",
            "Bearer s3cret2",
            "Bearer S3cret",
            "Basic s3cret",
            "Bearers3cret",
            "s3cret",
            "",
        ] {
            assert!(!authorized(&with_authorization(value), "s3cret"), "{value}");
        }
        assert!(!authorized(&HeaderMap::new(), "s3cret"));
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abc\0", b"abc"));
        assert!(!constant_time_eq(b"\0\0\0", b""));
    }
}

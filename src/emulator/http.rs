//! The emulator's HTTP server on hyper 1 + tokio: one task per connection (HTTP/1.1, keep-alive),
//! graceful shutdown, and the order every request goes through — latency, body limit (413) and
//! read timeouts (`--read-timeout` for the head, then for the body: 408, as `serve`),
//! injected faults (before or, with `--fault-after-commit`, after a write is stored), OAuth or
//! bearer check (401) and rate limit (429), the state machine or the runtime (its executions within
//! the org's execution limits: 429 with `Retry-After`), persistence, slow
//! answers — with `ININ-Correlation-Id` echoed and every request counted for `/_emulator/stats`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Request, Response, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::auth::{ClientCredentials, Tokens};
use super::exec::{self, Mode};
use super::limits::{
    Admission, ExecGate, ExecLimits, FaultPlan, FaultRates, Faults, RateLimiter, Stats,
    injected_error,
};
use super::persist::{self, Persister};
use super::rng::SplitMix64;
use super::route::{Query, Route};
use super::state::{ApiError, Body, Org, OrgSettings, Reply};
use super::{EmulatorError, EmulatorOptions, MAX_BODY_BYTES, StateSync};
use crate::http::server::{BodyError, read_body_within};
use crate::runtime::{Runtime, SystemClock};
use crate::transport::live::LiveTransport;
use crate::transport::token::{BoxFuture, CachedTokens, Fresh, GrantError, Grantor, TokenSource};

/// State writes are coalesced to at most one per this interval.
const COALESCE: Duration = Duration::from_millis(200);
/// How long shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A running emulator. Dropping the handle also shuts it down (without waiting for it).
#[derive(Debug)]
pub struct EmulatorHandle {
    base_url: String,
    local_addr: SocketAddr,
    client: ClientCredentials,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: JoinHandle<Result<(), EmulatorError>>,
    writer: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`: the API base and the login host at once.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn client_id(&self) -> &str {
        &self.client.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.client.client_secret
    }

    /// The org's integrations as `(name, id, type)`, in order.
    pub fn integrations(&self) -> Vec<(String, String, String)> {
        lock(&self.shared.org)
            .integrations
            .iter()
            .map(|i| (i.name.clone(), i.id.clone(), i.integration_type.clone()))
            .collect()
    }

    /// The state file, when there is one.
    pub fn state_file(&self) -> Option<&std::path::Path> {
        self.shared.persister.as_ref().map(|p| p.path())
    }

    /// What `GET /_emulator/stats` answers.
    pub fn stats(&self) -> Value {
        lock(&self.shared.stats).to_json()
    }

    /// Stops accepting, lets in-flight requests finish (up to 10 s) and writes the state.
    pub async fn shutdown(self) -> Result<(), EmulatorError> {
        let _ = self.stop.send(true);
        let result = match self.server.await {
            Ok(result) => result,
            Err(error) => Err(EmulatorError::Start(format!(
                "the server task failed: {error}"
            ))),
        };
        if let Some(writer) = self.writer {
            let _ = writer.await;
        }
        result
    }

    /// Stops at once, like a crash: open connections are cut and the state is not written
    /// (with `--state-sync always` every change is already on disk).
    pub fn abort(self) {
        self.server.abort();
        if let Some(writer) = &self.writer {
            writer.abort();
        }
    }
}

/// Everything the request handlers share.
struct Shared {
    options: EmulatorOptions,
    base_url: String,
    client: ClientCredentials,
    org: Mutex<Org>,
    tokens: Arc<Mutex<Tokens>>,
    /// The tokens its own `/test` and `/execute` send to its API (Genesys Cloud Data Actions).
    own_tokens: Arc<dyn TokenSource>,
    limiter: Mutex<RateLimiter>,
    /// The org's data-action execution limits (`/test`, `/draft/test`, `/execute`).
    exec_gate: ExecGate,
    faults: Mutex<Faults>,
    stats: Mutex<Stats>,
    /// The step `/test` answers perturb (`--perturb-step`, `POST /_emulator/perturb`).
    perturb_step: Mutex<Option<u8>>,
    ids: Mutex<SplitMix64>,
    runtime: Runtime<LiveTransport, SystemClock>,
    persister: Option<Persister>,
    /// A change waits to be written (coalesced mode).
    dirty: Notify,
    /// Writes made to the Platform API (for `stop_after_writes`).
    writes: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Writes the org's current snapshot (no-op without a state file).
    async fn save(&self) -> Result<(), EmulatorError> {
        let Some(persister) = &self.persister else {
            return Ok(());
        };
        let (generation, text) = {
            let org = lock(&self.org);
            (org.generation(), org.to_json())
        };
        let text = text.map_err(|message| EmulatorError::State {
            path: persister.path().to_path_buf(),
            message,
        })?;
        persister.write(generation, text).await
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Starts an emulator: loads the state, creates the named integrations, binds and serves.
pub async fn start(options: EmulatorOptions) -> Result<EmulatorHandle, EmulatorError> {
    options.check()?;
    let seed = options.seed.unwrap_or_else(SplitMix64::entropy);
    let loaded = match &options.state {
        Some(path) => persist::load(path)?,
        None => None,
    };
    let mut org = loaded.unwrap_or_else(|| Org::new(seed));
    org.configure(OrgSettings {
        page_size_max: options.page_size_max,
        reject_contract_change: options.reject_contract_change,
    });
    for (name, integration_type) in options.seeded_integrations() {
        org.ensure_integration(&name, &integration_type);
    }
    let flows = match &options.flows {
        Some(path) => read_flows(path)?,
        None => Vec::new(),
    };
    org.start_tracking(flows, now_ms());

    let listener = TcpListener::bind(options.addr)
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: options.addr,
            source,
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            addr: options.addr,
            source,
        })?;
    let base_url = format!("http://{local_addr}");
    let transport = LiveTransport::new().map_err(|e| EmulatorError::Start(e.to_string()))?;
    let client = ClientCredentials {
        client_id: options.client_id.clone(),
        client_secret: options.client_secret.clone(),
    };
    let rates = FaultRates {
        drop_rate: options.drop_rate,
        fail_rate: options.fail_rate,
        fail_status: options.fail_status,
        slow_rate: options.slow_rate,
        slow_ms: options.slow_ms,
    };
    // Tokens are credentials: never predictable from --seed.
    let tokens = Arc::new(Mutex::new(Tokens::new(
        options.token_ttl,
        SplitMix64::entropy(),
    )));
    let shared = Arc::new(Shared {
        base_url: base_url.clone(),
        client: client.clone(),
        org: Mutex::new(org),
        own_tokens: Arc::new(CachedTokens::new(MintedTokens {
            tokens: tokens.clone(),
            token_url: format!("{base_url}/oauth/token"),
        })),
        tokens,
        limiter: Mutex::new(RateLimiter::new(options.rate_limit)),
        exec_gate: ExecGate::new(ExecLimits {
            concurrency: options.exec_concurrency,
            per_minute: options.exec_rate_limit,
        }),
        faults: Mutex::new(Faults::new(rates, seed)),
        stats: Mutex::new(Stats::default()),
        perturb_step: Mutex::new(options.perturb_step),
        ids: Mutex::new(SplitMix64::new(seed ^ 0x636F_6E74_6578_7401)),
        runtime: Runtime::new(transport, SystemClock),
        persister: options.state.clone().map(Persister::new),
        dirty: Notify::new(),
        writes: std::sync::atomic::AtomicU64::new(0),
        options,
    });
    // The file exists from the start, with the integrations just created.
    shared.save().await?;

    let (stop, stopped) = watch::channel(false);
    let writer = (shared.persister.is_some() && shared.options.state_sync == StateSync::Coalesced)
        .then(|| tokio::spawn(write_coalesced(shared.clone(), stopped.clone())));
    let server = tokio::spawn(serve(listener, shared.clone(), stopped));
    tracing::info!(target: "nodectl::emulator", %base_url, "emulator listening");
    Ok(EmulatorHandle {
        base_url,
        local_addr,
        client,
        shared,
        stop,
        server,
        writer,
    })
}

/// `--flows FILE`: the declared flows (`flows::parse_flows`), within the body limit.
fn read_flows(path: &std::path::Path) -> Result<Vec<super::flows::Flow>, EmulatorError> {
    let problem = |message: String| EmulatorError::Flows {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read(path).map_err(|e| problem(e.to_string()))?;
    if text.len() > MAX_BODY_BYTES {
        return Err(problem(format!(
            "larger than {MAX_BODY_BYTES} bytes, the limit of PUT /_emulator/flows"
        )));
    }
    super::flows::parse_flows(&text).map_err(problem)
}

/// The accept loop; on stop, graceful shutdown and the final state write.
async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
) -> Result<(), EmulatorError> {
    let options = crate::http::server::ConnectionOptions {
        name: "emulator",
        header_read_timeout: Duration::from_secs(shared.options.read_timeout),
        nodelay: false,
        shutdown_grace: SHUTDOWN_GRACE,
    };
    let answering = shared.clone();
    let answer = move |request| answer(answering.clone(), request);
    crate::http::server::accept_until_stopped(listener, options, answer, stopped).await;
    shared.save().await
}

/// Coalesced persistence: after a change, write, then wait 200 ms before the next write.
async fn write_coalesced(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = shared.dirty.notified() => {}
            _ = stopped.changed() => return,
        }
        if let Err(error) = shared.save().await {
            tracing::error!(target: "nodectl::emulator", %error, "state not saved");
        }
        tokio::select! {
            _ = tokio::time::sleep(COALESCE) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// The connection is closed without an answer (`--drop-rate`).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped (--drop-rate)")
    }
}

impl std::error::Error for Dropped {}

/// What the handler decided for one request.
enum Outcome {
    Answer(Answer),
    Drop,
}

/// An answer before it becomes a hyper response.
struct Answer {
    status: u16,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn from_reply(reply: Reply, context_id: &str) -> Answer {
        let (content_type, body) = match reply.body {
            Body::Json(value) => (Some(JSON), value.to_string().into_bytes()),
            Body::Text(text) => (Some("text/plain; charset=UTF-8"), text.into_bytes()),
            Body::Empty => (None, Vec::new()),
            Body::Error(error) => (
                Some(JSON),
                error.body(Some(context_id)).to_string().into_bytes(),
            ),
        };
        Answer {
            status: reply.status,
            content_type,
            body,
            headers: Vec::new(),
        }
    }

    fn error(error: ApiError, context_id: &str) -> Answer {
        Answer::from_reply(error.into(), context_id)
    }
}

const JSON: &str = "application/json";

async fn answer(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let route = Route::parse(&method, &path);
    if route == Route::Stats {
        let stats = lock(&shared.stats).to_json();
        return Ok(response(Answer {
            status: 200,
            content_type: Some(JSON),
            body: stats.to_string().into_bytes(),
            headers: Vec::new(),
        }));
    }
    let context_id = correlation_id(request.headers()).unwrap_or_else(|| lock(&shared.ids).uuid());
    let stat_key = format!("{method} {}", route.template());
    let outcome = handle(&shared, route, &path, request, &context_id).await;
    let recorded = match &outcome {
        Outcome::Answer(answer) => answer.status.to_string(),
        Outcome::Drop => "dropped".to_string(),
    };
    tracing::debug!(target: "nodectl::emulator", %method, %path, outcome = %recorded, "request");
    lock(&shared.stats).record(stat_key, recorded);
    match outcome {
        Outcome::Answer(mut answer) => {
            answer
                .headers
                .push(("ININ-Correlation-Id", context_id.clone()));
            Ok(response(answer))
        }
        Outcome::Drop => Err(Dropped),
    }
}

/// A client-chosen correlation id (visible ASCII, at most 128 characters).
fn correlation_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("inin-correlation-id")?.to_str().ok()?.trim();
    (!value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| value.to_string())
}

async fn handle(
    shared: &Shared,
    route: Route,
    path: &str,
    request: Request<Incoming>,
    context_id: &str,
) -> Outcome {
    let options = &shared.options;
    if options.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(options.latency_ms)).await;
    }
    let plan = lock(&shared.faults).draw();
    let query = Query::parse(request.uri().query().unwrap_or(""));
    let headers = request.headers().clone();
    let read_timeout = Duration::from_secs(options.read_timeout);
    let body =
        match read_body_within(read_timeout, request.into_body(), &headers, MAX_BODY_BYTES).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                let error = ApiError::new(
                    413,
                    "request.entity.too.large",
                    format!("The request body exceeds the maximum of {MAX_BODY_BYTES} bytes."),
                );
                return Outcome::Answer(Answer::error(error, context_id));
            }
            Err(BodyError::Broken(reason)) => {
                let error = ApiError::new(
                    400,
                    "bad.request",
                    format!("The request body could not be read: {reason}."),
                );
                return Outcome::Answer(Answer::error(error, context_id));
            }
            Err(BodyError::TimedOut) => {
                let error = ApiError::new(
                    408,
                    "request.timeout",
                    format!(
                        "The request body did not arrive within {} s.",
                        options.read_timeout
                    ),
                );
                // The rest of the body may still come: close rather than read it as the next request.
                let mut answer = Answer::error(error, context_id);
                answer.headers.push(("connection", "close".to_string()));
                return Outcome::Answer(answer);
            }
        };
    let after_commit = options.fault_after_commit && route.is_write();
    if !after_commit && let Some(outcome) = injected(&plan, context_id).await {
        return outcome;
    }

    let mut extra: Vec<(&'static str, String)> = Vec::new();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut answer = if route == Route::Token {
        let granted =
            lock(&shared.tokens).grant(&shared.client, authorization.as_deref(), &body, now_ms());
        Answer {
            status: granted.status,
            content_type: Some(JSON),
            body: granted.body.to_string().into_bytes(),
            headers: Vec::new(),
        }
    } else if route == Route::Perturb {
        set_perturbation(shared, &body, context_id)
    } else if !path.starts_with("/api/") {
        // Not the Platform API (an unknown path, or a wrong method on /oauth/token): no token needed.
        // (Also the emulator's own `PUT /_emulator/flows` and `/_emulator/dependencytracking`.)
        let reply = lock(&shared.org).handle_at(&route, &query, &body, now_ms());
        Answer::from_reply(reply, context_id)
    } else {
        match admit(shared, authorization.as_deref()) {
            Err(error) => Answer::error(error, context_id),
            Ok(admission) => {
                if let Some(admission) = admission {
                    extra.extend(admission.headers());
                }
                let stop = match &admission {
                    Some(admission) if !admission.allowed => Stop::Go,
                    _ => stopped(shared, &route),
                };
                match admission {
                    Some(admission) if !admission.allowed => {
                        extra.push(("Retry-After", admission.reset_seconds.to_string()));
                        Answer::error(admission.error(), context_id)
                    }
                    _ if stop == Stop::Refuse => Answer::error(stopped_error(), context_id),
                    _ => {
                        let last = stop == Stop::LastWrite;
                        let (reply, headers) =
                            dispatch(shared, &route, &query, &body, context_id).await;
                        extra.extend(headers);
                        let changed = reply.changed;
                        let mut answer = Answer::from_reply(reply, context_id);
                        if last {
                            answer = Answer::error(stopped_error(), context_id);
                        }
                        if changed && let Err(error) = persist_change(shared).await {
                            tracing::error!(target: "nodectl::emulator", %error, "state not saved");
                            answer = Answer::error(
                                ApiError::new(500, "internal.server.error", error.to_string()),
                                context_id,
                            );
                        }
                        answer
                    }
                }
            }
        }
    };
    if after_commit && let Some(outcome) = injected(&plan, context_id).await {
        return outcome;
    }
    if plan.slow_ms > 0 {
        tokio::time::sleep(Duration::from_millis(plan.slow_ms)).await;
    }
    answer.headers.extend(extra);
    Outcome::Answer(answer)
}

/// Where a request stands against `stop_after_writes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Go,
    /// The write that reaches the limit: stored, then answered as refused.
    LastWrite,
    Refuse,
}

/// Counts a write against `stop_after_writes` (reads only look).
fn stopped(shared: &Shared, route: &Route) -> Stop {
    use std::sync::atomic::Ordering;
    let Some(limit) = shared.options.stop_after_writes else {
        return Stop::Go;
    };
    if !route.is_write() {
        return if shared.writes.load(Ordering::SeqCst) >= limit {
            Stop::Refuse
        } else {
            Stop::Go
        };
    }
    match shared.writes.fetch_add(1, Ordering::SeqCst) + 1 {
        n if n < limit => Stop::Go,
        n if n == limit => Stop::LastWrite,
        _ => Stop::Refuse,
    }
}

fn stopped_error() -> ApiError {
    ApiError::new(
        403,
        "emulator.stopped",
        "The emulator stopped after --stop-after-writes writes: this is where the apply was cut off.".to_string(),
    )
}

/// The bearer check and the rate limit of an API request.
fn admit(shared: &Shared, authorization: Option<&str>) -> Result<Option<Admission>, ApiError> {
    let now = now_ms();
    let token = lock(&shared.tokens).check(authorization, now)?;
    Ok(lock(&shared.limiter).admit(&token, now))
}

/// An injected drop or failure, if the plan has one (a slow answer waits first).
async fn injected(plan: &FaultPlan, context_id: &str) -> Option<Outcome> {
    if !plan.drop && plan.fail.is_none() {
        return None;
    }
    if plan.slow_ms > 0 {
        tokio::time::sleep(Duration::from_millis(plan.slow_ms)).await;
    }
    if plan.drop {
        return Some(Outcome::Drop);
    }
    let status = plan.fail?;
    let mut answer = Answer::error(injected_error(status), context_id);
    if matches!(status, 429 | 503) {
        answer.headers.push(("Retry-After", "1".to_string()));
    }
    Some(Outcome::Answer(answer))
}

/// The state machine, or the runtime for `/test` and `/execute` within the execution limits; with
/// the headers the answer adds (`Retry-After` of a refused execution).
async fn dispatch(
    shared: &Shared,
    route: &Route,
    query: &Query,
    body: &[u8],
    context_id: &str,
) -> (Reply, Vec<(&'static str, String)>) {
    let (id, draft, mode) = match route {
        Route::TestAction(id) => (id, false, Mode::with_query(false, query)),
        Route::TestDraft(id) => (id, true, Mode::with_query(false, query)),
        Route::ExecuteAction(id) => (id, false, Mode::with_query(true, query)),
        _ => {
            let reply = lock(&shared.org).handle_at(route, query, body, now_ms());
            return (reply, Vec::new());
        }
    };
    let (executable, custom_auth) = {
        let org = lock(&shared.org);
        let executable = org.runnable(id, draft, mode.is_execute());
        // The integration's custom authentication action, for an action reading `authResponse`.
        let custom_auth = executable.as_ref().ok().and_then(|e| {
            org.actions
                .get(&format!(
                    "{}{}",
                    crate::model::CUSTOM_AUTH_PREFIX,
                    e.action.integration_id
                ))
                .cloned()
        });
        (executable, custom_auth)
    };
    match executable {
        Ok(executable) => {
            // Held until the execution ends (or the request is dropped).
            let _permit = match shared.exec_gate.enter(now_ms()) {
                Ok(permit) => permit,
                Err(refusal) => {
                    let retry_after = refusal.retry_after_seconds().to_string();
                    return (refusal.error().into(), vec![("Retry-After", retry_after)]);
                }
            };
            // The emulator stands in for Genesys: its answers are not redacted.
            let (mut reply, _) = exec::run_authenticated(
                &shared.runtime,
                &executable,
                custom_auth.as_ref(),
                body,
                mode,
                exec::Upstream {
                    api_base: Some(&shared.base_url),
                    tokens: Some(&shared.own_tokens),
                },
                context_id,
            )
            .await;
            if let (false, Some(step), Body::Json(result)) = (
                mode.is_execute(),
                *lock(&shared.perturb_step),
                &mut reply.body,
            ) {
                exec::perturb(result, step);
            }
            (reply, Vec::new())
        }
        Err(error) => (error.into(), Vec::new()),
    }
}

/// `POST /_emulator/perturb` with `{"step": N}` (1-10) or `{"step": null}`: 204, or 400.
fn set_perturbation(shared: &Shared, body: &[u8], context_id: &str) -> Answer {
    let step = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("step").cloned());
    let chosen = match step {
        Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .filter(|n| crate::runtime::Step::from_number(*n).is_some())
            .map(Some)
            .ok_or(()),
        None => Err(()),
    };
    match chosen {
        Ok(step) => {
            *lock(&shared.perturb_step) = step;
            Answer {
                status: 204,
                content_type: None,
                body: Vec::new(),
                headers: Vec::new(),
            }
        }
        Err(()) => Answer::error(
            ApiError::bad_request(
                "The body must be {\"step\": N} with N from 1 to 10, or {\"step\": null}.",
            ),
            context_id,
        ),
    }
}

/// The emulator's own grants, for Genesys Cloud Data Actions actions run by its `/test` and
/// `/execute`: tokens its API accepts, minted without a round trip to `/oauth/token`.
struct MintedTokens {
    tokens: Arc<Mutex<Tokens>>,
    token_url: String,
}

impl std::fmt::Debug for MintedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedTokens")
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

impl Grantor for MintedTokens {
    fn grant(&self) -> BoxFuture<'_, Result<Fresh, GrantError>> {
        let (token, expires_in_s) = lock(&self.tokens).mint(now_ms());
        Box::pin(async move {
            Ok(Fresh {
                token,
                expires_in_s,
            })
        })
    }

    fn describe(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        // No client-credentials round trip: the emulator issues the token itself.
        map.insert("grant".into(), "emulator".into());
        map.insert("tokenUrl".into(), self.token_url.clone().into());
        map
    }
}

/// After a change: write now (`--state-sync always`) or wake the coalescing writer.
async fn persist_change(shared: &Shared) -> Result<(), EmulatorError> {
    if shared.persister.is_none() {
        return Ok(());
    }
    match shared.options.state_sync {
        StateSync::Always => shared.save().await,
        StateSync::Coalesced => {
            shared.dirty.notify_one();
            Ok(())
        }
    }
}

fn response(answer: Answer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Some(content_type) = answer.content_type
        && let Ok(value) = HeaderValue::from_str(content_type)
    {
        headers.insert(hyper::header::CONTENT_TYPE, value);
    }
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

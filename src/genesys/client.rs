//! The one HTTP client for every Genesys Cloud call (docs/http-api.md, docs/plan-apply.md "Snapshot and the content cache"):
//! OAuth client credentials (or a given access token) with reuse and refresh ahead of expiry and one
//! re-auth on a 401; a token bucket (`max_rps`, capacity 15 × `max_rps`) and bounded concurrency; a
//! 30 s timeout; two retry classes — 429 for every method, other 5xx / timeouts / connection errors
//! only for idempotent methods — honouring `Retry-After` up to 180 s; and full pagination (the pages
//! after the first read concurrently, within the same bounds) that fails when a listing does not add
//! up.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::dto::{EntityListing, OAuthError, TokenResponse};
use super::error::{ApiError, ApiErrorKind};

/// How nodectl authenticates.
#[derive(Clone)]
pub enum Credentials {
    /// OAuth client credentials grant.
    ClientCredentials {
        client_id: String,
        client_secret: String,
    },
    /// A token obtained elsewhere (`GENESYSCLOUD_ACCESS_TOKEN`); never refreshed.
    AccessToken(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret, not even in debug output.
        match self {
            Credentials::ClientCredentials { client_id, .. } => write!(
                f,
                "ClientCredentials {{ client_id: {client_id:?}, client_secret: <redacted> }}"
            ),
            Credentials::AccessToken(_) => write!(f, "AccessToken(<redacted>)"),
        }
    }
}

/// Options of a client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `https://api.<domain>` (or an emulator's base).
    pub api_base: String,
    /// Where `/oauth/token` is: the API base with `//api.` → `//login.`, else the same base.
    pub login_base: String,
    pub credentials: Credentials,
    /// Requests per second (token bucket rate); the bucket holds 15 × this.
    pub max_rps: f64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
}

/// The `Retry-After` beyond which nodectl stops waiting (as the official SDKs do).
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(180);
/// Genesys's page size limit is undocumented; 100 is accepted everywhere.
pub const PAGE_SIZE: usize = 100;

impl ClientOptions {
    pub fn new(api_base: &str, credentials: Credentials) -> ClientOptions {
        let api_base = api_base.trim_end_matches('/').to_string();
        ClientOptions {
            login_base: login_base_for(&api_base),
            api_base,
            credentials,
            max_rps: 4.0,
            concurrency: 4,
            timeout: Duration::from_secs(30),
            max_attempts: 8,
        }
    }
}

/// The login base of an API base: `//api.` → `//login.`, or the same base when the host has no
/// `api.` prefix (an emulator, a gateway), as the official SDKs do.
pub fn login_base_for(api_base: &str) -> String {
    if api_base.contains("//api.") {
        api_base.replacen("//api.", "//login.", 1)
    } else {
        api_base.to_string()
    }
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

/// A token bucket: `rate` tokens per second, at most `capacity` (15 s worth) saved up while idle.
struct TokenBucket {
    rate: f64,
    capacity: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    fn new(rate: f64) -> TokenBucket {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            4.0
        };
        let capacity = (rate * 15.0).max(1.0);
        TokenBucket {
            rate,
            capacity,
            // Empty at start: then no 60 s window from the first request on holds more than
            // 60 × rate requests (a full bucket would add a burst of 15 × rate on top, and a
            // client at 10/s would overrun an org limited to 600 per minute).
            state: Mutex::new((0.0, Instant::now())),
        }
    }

    /// Waits for a token.
    async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let refilled = (state.0 + now.duration_since(state.1).as_secs_f64() * self.rate)
                    .min(self.capacity);
                *state = (refilled, now);
                if refilled >= 1.0 {
                    state.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - refilled) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub body: String,
    pub correlation_id: Option<String>,
}

/// The Genesys Cloud client. Share one per org (it holds the token, the bucket and the pool).
pub struct Client {
    http: reqwest::Client,
    options: ClientOptions,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    bucket: TokenBucket,
    permits: Semaphore,
    requests: AtomicU64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The methods nodectl calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }

    /// Retried after 5xx, timeouts and connection errors: a repeated POST could create twice (the
    /// one POST that may be repeated, publish, says so with `Retry::Idempotent`); every PATCH nodectl
    /// sends carries a version, so a repeat cannot overwrite anything.
    fn idempotent(self) -> bool {
        !matches!(self, Verb::Post)
    }

    fn reqwest(self) -> reqwest::Method {
        match self {
            Verb::Get => reqwest::Method::GET,
            Verb::Post => reqwest::Method::POST,
            Verb::Patch => reqwest::Method::PATCH,
            Verb::Put => reqwest::Method::PUT,
            Verb::Delete => reqwest::Method::DELETE,
        }
    }
}

enum Attempt {
    Answer(Answered),
    Failed(ApiErrorKind),
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, ApiError> {
        let http = crate::http::client::http_client()
            .map_err(|e| ApiError::new("-", "-", ApiErrorKind::Config(e)))?;
        Ok(Client {
            http,
            bucket: TokenBucket::new(options.max_rps),
            permits: Semaphore::new(options.concurrency.max(1)),
            options,
            token: tokio::sync::Mutex::new(None),
            requests: AtomicU64::new(0),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Requests sent so far (every attempt, the token grant included).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// A valid access token: the cached one, or a new grant when it is near expiry or is the
    /// `refused` one (an API answered 401 to it). Calls refused with the same token at once make
    /// one grant: the first renews, the others find the new token already cached.
    async fn access_token(&self, refused: Option<&str>) -> Result<String, ApiError> {
        let (client_id, client_secret) = match &self.options.credentials {
            Credentials::AccessToken(token) => return Ok(token.clone()),
            Credentials::ClientCredentials {
                client_id,
                client_secret,
            } => (client_id, client_secret),
        };
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.refresh_at
            && refused != Some(token.value.as_str())
        {
            return Ok(token.value.clone());
        }
        let path = "/oauth/token";
        let url = format!("{}{path}", self.options.login_base);
        let mut attempt = 0;
        let body = loop {
            attempt += 1;
            self.bucket.acquire().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .http
                .post(&url)
                .basic_auth(client_id, Some(client_secret))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials")
                .timeout(self.options.timeout)
                .send()
                .await;
            // The grant is idempotent: transient failures (5xx, 429, timeouts, connections) are
            // retried like any GET; a 400/401 is a wrong client and is not.
            let transient = match sent {
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    match answer.text().await {
                        Ok(body) if status == 200 => break body,
                        Ok(body) if status == 429 || status >= 500 => ApiError::new(
                            "POST",
                            path,
                            ApiErrorKind::Status {
                                status,
                                code: String::new(),
                                message: body,
                            },
                        ),
                        Ok(body) => {
                            let why = serde_json::from_str::<OAuthError>(&body)
                                .ok()
                                .map(|e| {
                                    format!(
                                        "{status} {}: {}",
                                        e.error,
                                        e.error_description.or(e.description).unwrap_or_default()
                                    )
                                })
                                .unwrap_or_else(|| format!("{status}"));
                            return Err(ApiError::new(
                                "POST",
                                path,
                                ApiErrorKind::Auth(format!(
                                    "the client credentials grant was refused ({why}); check the OAuth client id and secret"
                                )),
                            ));
                        }
                        Err(error) => ApiError::new("POST", path, transport_kind(&error))
                            .at_host(&self.options.login_base),
                    }
                }
                Err(error) => ApiError::new("POST", path, transport_kind(&error))
                    .at_host(&self.options.login_base),
            };
            if attempt >= self.options.max_attempts {
                let mut error = transient;
                error.attempts = attempt;
                return Err(error);
            }
            let wait = backoff(attempt);
            announce_retry(&transient, attempt, self.options.max_attempts, wait);
            tokio::time::sleep(wait).await;
        };
        let granted: TokenResponse = serde_json::from_str(&body).map_err(|e| {
            ApiError::new(
                "POST",
                path,
                ApiErrorKind::Decode(format!("token answer is not JSON: {e}")),
            )
        })?;
        // Refresh ahead of expiry: at expires_in − min(60, expires_in / 5), at least 1 s early (a
        // token is also used after the time it spends in flight).
        let lead = 60.min(granted.expires_in / 5).max(1);
        let refresh_at =
            Instant::now() + Duration::from_secs(granted.expires_in.saturating_sub(lead));
        tracing::debug!(expires_in = granted.expires_in, "access token granted");
        *cached = Some(CachedToken {
            value: granted.access_token.clone(),
            refresh_at,
        });
        Ok(granted.access_token)
    }

    /// One call with the retry classes, rate limit and re-auth; error answers become `ApiError`.
    pub async fn call<B: Serialize + ?Sized>(
        &self,
        verb: Verb,
        path_and_query: &str,
        body: Option<&B>,
    ) -> Result<ApiResponse, ApiError> {
        self.call_with(verb, path_and_query, body, verb.idempotent())
            .await
    }

    /// `call`, saying whether the request may be repeated after a 5xx, a timeout or a connection
    /// error (429, and 503 with `Retry-After`, are always repeated: the request was not processed).
    pub async fn call_with<B: Serialize + ?Sized>(
        &self,
        verb: Verb,
        path_and_query: &str,
        body: Option<&B>,
        idempotent: bool,
    ) -> Result<ApiResponse, ApiError> {
        let method = verb.as_str();
        let body_text = match body {
            Some(body) => Some(serde_json::to_string(body).map_err(|e| {
                ApiError::new(method, path_and_query, ApiErrorKind::Config(e.to_string()))
            })?),
            None => None,
        };
        let mut reauthorized = false;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let (outcome, token) = self
                .send(verb, path_and_query, body_text.as_deref())
                .await?;
            let (wait, error) = match outcome {
                Attempt::Answer(answer) if (200..300).contains(&answer.response.status) => {
                    return Ok(answer.response);
                }
                Attempt::Answer(answer)
                    if answer.response.status == 401
                        && !reauthorized
                        && matches!(
                            self.options.credentials,
                            Credentials::ClientCredentials { .. }
                        ) =>
                {
                    // The token expired or was revoked: one new grant, one retry.
                    reauthorized = true;
                    self.access_token(Some(&token)).await?;
                    attempt -= 1;
                    continue;
                }
                Attempt::Answer(answer) => {
                    let retry_after = answer.retry_after;
                    let mut error = ApiError::from_answer(
                        method,
                        path_and_query,
                        answer.response.status,
                        &answer.response.body,
                        answer.response.correlation_id.clone(),
                    );
                    error.attempts = attempt;
                    let status = answer.response.status;
                    let not_processed = status == 429 || (status == 503 && retry_after.is_some());
                    let retryable = not_processed || (idempotent && status >= 500 && status != 501);
                    if !retryable || attempt >= self.options.max_attempts {
                        return Err(error);
                    }
                    if let Some(after) = retry_after
                        && after > RETRY_AFTER_CAP
                    {
                        let mut capped = ApiError::new(
                            method,
                            path_and_query,
                            ApiErrorKind::RetryAfterTooLong {
                                seconds: after.as_secs(),
                            },
                        );
                        capped.context_id = error.context_id.clone();
                        capped.attempts = attempt;
                        return Err(capped);
                    }
                    (retry_after.unwrap_or_else(|| backoff(attempt)), error)
                }
                Attempt::Failed(kind) => {
                    let mut error =
                        ApiError::new(method, path_and_query, kind).at_host(&self.options.api_base);
                    error.attempts = attempt;
                    if !idempotent || attempt >= self.options.max_attempts {
                        return Err(error);
                    }
                    (backoff(attempt), error)
                }
            };
            announce_retry(&error, attempt, self.options.max_attempts, wait);
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt, and the token it carried. The token is taken after the wait for a slot and the
    /// rate limit: one taken before could expire in that queue.
    async fn send(
        &self,
        verb: Verb,
        path_and_query: &str,
        body: Option<&str>,
    ) -> Result<(Attempt, String), ApiError> {
        let _permit = self.permits.acquire().await;
        self.bucket.acquire().await;
        let token = self.access_token(None).await?;
        let attempt = self.send_with(verb, path_and_query, body, &token).await;
        Ok((attempt, token))
    }

    async fn send_with(
        &self,
        verb: Verb,
        path_and_query: &str,
        body: Option<&str>,
        token: &str,
    ) -> Attempt {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{path_and_query}", self.options.api_base);
        let mut request = self
            .http
            .request(verb.reqwest(), &url)
            .bearer_auth(token)
            .timeout(self.options.timeout)
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let answer = match request.send().await {
            Ok(answer) => answer,
            Err(error) => return Attempt::Failed(transport_kind(&error)),
        };
        let status = answer.status().as_u16();
        let header = |name: &str| {
            answer
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let correlation_id = header("inin-correlation-id");
        let retry_after = header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        match answer.text().await {
            Ok(body) => Attempt::Answer(Answered {
                response: ApiResponse {
                    status,
                    body,
                    correlation_id,
                },
                retry_after,
            }),
            Err(error) => Attempt::Failed(transport_kind(&error)),
        }
    }

    /// GET and decode JSON.
    pub async fn get<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T, ApiError> {
        let answer = self.call::<()>(Verb::Get, path_and_query, None).await?;
        decode(Verb::Get, path_and_query, &answer)
    }

    /// GET a text resource (templates).
    pub async fn get_text(&self, path_and_query: &str) -> Result<String, ApiError> {
        Ok(self.call::<()>(Verb::Get, path_and_query, None).await?.body)
    }

    /// A write with a JSON body whose answer is decoded.
    pub async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        verb: Verb,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let answer = self.call(verb, path, Some(body)).await?;
        decode(verb, path, &answer)
    }

    /// A POST that may safely be repeated (publish, which names the version it publishes).
    pub async fn post_idempotent<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let answer = self.call_with(Verb::Post, path, Some(body), true).await?;
        decode(Verb::Post, path, &answer)
    }

    /// DELETE (204).
    pub async fn delete(&self, path: &str) -> Result<(), ApiError> {
        self.call::<()>(Verb::Delete, path, None).await.map(|_| ())
    }

    /// Every entity of a paged listing (`path` may carry its own query). The collected count must
    /// equal `total` and no id may repeat; otherwise the listing is read once more from page 1, and a
    /// second inconsistency fails: a prune planned from a short or shifted listing would delete what it
    /// failed to see.
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        id_of: impl Fn(&T) -> &str,
    ) -> Result<Vec<T>, ApiError> {
        let mut last_problem = String::new();
        for _ in 0..2 {
            match self.list_once(path, &id_of).await? {
                Ok(entities) => return Ok(entities),
                Err(problem) => {
                    tracing::debug!(%problem, "listing inconsistent; reading it again");
                    last_problem = problem;
                }
            }
        }
        Err(ApiError::new(
            "GET",
            path,
            ApiErrorKind::Pagination(last_problem),
        ))
    }

    /// One reading of a listing. Page 1 says how many pages there are; the others are then asked for
    /// at once, at most `concurrency` in flight (the client's semaphore and token bucket bound what
    /// really runs), and taken in page order: an empty page ends the listing as in a sequential read,
    /// and the pages not yet asked for are not sent.
    async fn list_once<T: DeserializeOwned>(
        &self,
        path: &str,
        id_of: &impl Fn(&T) -> &str,
    ) -> Result<Result<Vec<T>, String>, ApiError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let page_path =
            |page: i64| format!("{path}{separator}pageSize={PAGE_SIZE}&pageNumber={page}");
        let first: EntityListing<T> = self.get(&page_path(1)).await?;
        let total = first.total;
        let page_count = if first.page_count > 0 {
            first.page_count
        } else {
            (total + PAGE_SIZE as i64 - 1) / PAGE_SIZE as i64
        };
        let more = !first.entities.is_empty() && page_count > 1;
        let mut entities: Vec<T> = first.entities;
        if more {
            let pages = stream::iter(2..=page_count)
                .map(|page| {
                    let page_path = page_path(page);
                    async move { self.get::<EntityListing<T>>(&page_path).await }
                })
                .buffered(self.options.concurrency.max(1));
            let mut pages = std::pin::pin!(pages);
            while let Some(listing) = pages.next().await {
                let listing = listing?;
                if listing.total != total {
                    return Ok(Err(format!(
                        "total changed from {total} to {} while paging",
                        listing.total
                    )));
                }
                if listing.entities.is_empty() {
                    break;
                }
                entities.extend(listing.entities);
            }
        }
        let expected = total;
        if entities.len() as i64 != expected {
            return Ok(Err(format!(
                "collected {} entities but the listing's total is {expected}",
                entities.len()
            )));
        }
        let mut seen = HashSet::new();
        if let Some(repeated) = entities
            .iter()
            .map(id_of)
            .find(|id| !seen.insert(id.to_string()))
        {
            return Ok(Err(format!("id {repeated} appears twice")));
        }
        Ok(Ok(entities))
    }
}

struct Answered {
    response: ApiResponse,
    retry_after: Option<Duration>,
}

fn decode<T: DeserializeOwned>(
    verb: Verb,
    path: &str,
    answer: &ApiResponse,
) -> Result<T, ApiError> {
    serde_json::from_str(&answer.body).map_err(|e| {
        let mut error = ApiError::new(
            verb.as_str(),
            path,
            ApiErrorKind::Decode(format!("not the JSON expected: {e}")),
        );
        error.context_id = answer.correlation_id.clone();
        error
    })
}

/// Says that a call is retried. A host that cannot be reached (a wrong region, a proxy) is a
/// warning, shown without `-v`: the retries take long, and silence would hide why; a throttled or
/// failing call is a debug line (`-v`).
fn announce_retry(error: &ApiError, attempt: u32, max_attempts: u32, wait: Duration) {
    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    if matches!(error.kind, ApiErrorKind::Connect(_) | ApiErrorKind::Timeout) {
        // This attempt's failure alone: the count is said after it.
        let mut this_attempt = error.clone();
        this_attempt.attempts = 1;
        tracing::warn!(
            "{this_attempt}; attempt {attempt} of {max_attempts}, retrying in {wait_ms} ms"
        );
    } else {
        tracing::debug!(%error, attempt, max_attempts, wait_ms, "retrying");
    }
}

/// 0.5 s, 1 s, 2 s, … capped at 10 s.
fn backoff(attempt: u32) -> Duration {
    let millis = 500u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(10));
    Duration::from_millis(millis.min(10_000))
}

fn transport_kind(error: &reqwest::Error) -> ApiErrorKind {
    if error.is_timeout() {
        ApiErrorKind::Timeout
    } else {
        ApiErrorKind::Connect(crate::http::client::error_text(error))
    }
}

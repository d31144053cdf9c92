//! Bearer tokens for Genesys Cloud Data Actions (docs/runtime.md, "Genesys Cloud Data Actions"):
//! Genesys calls its own Platform API for such an action with a token granted to the
//! integration's OAuth client. [`TokenSource`] is what the runtime asks for that token (and tells
//! when the API refused it); [`CachedTokens`] keeps one token until shortly before it expires,
//! with one grant in flight at a time, over a [`Grantor`]: [`ClientCredentialsGrant`] (the
//! client-credentials grant at the env's login host, for `run`, `record` and `serve`) or the
//! emulator's own minting. [`DryRunTokens`] is the dry-run's: no grant, a placeholder bearer that
//! is not a secret.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::model::ErrorKind;

/// The bearer a dry-run sends: visible to fixture request expectations, and not a secret.
pub const DRY_RUN_TOKEN: &str = "<dry-run-token>";
/// How long a token grant may take.
const GRANT_TIMEOUT: Duration = Duration::from_secs(30);

/// A boxed future, as the object-safe trait methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A token for one execution.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    /// The bearer token.
    pub token: String,
    /// A real token (redacted wherever it could show); `false` for the dry-run's placeholder.
    pub secret: bool,
    /// Where it came from, for the trace: never the token.
    pub description: Value,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("secret", &self.secret)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// Why no token could be had; `kind` is the execution error it becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantError {
    pub kind: ErrorKind,
    pub message: String,
}

impl GrantError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> GrantError {
        GrantError {
            kind,
            message: message.into(),
        }
    }
}

/// Hands the runtime a bearer token for a Genesys Cloud data action.
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A valid token: a cached one or a new grant.
    fn token(&self) -> BoxFuture<'_, Result<Grant, GrantError>>;
    /// The API answered 401 to `token`: forget it, so that the next `token()` grants anew.
    fn invalidate(&self, token: &str);
}

/// A fresh token and its lifetime.
#[derive(Clone)]
pub struct Fresh {
    pub token: String,
    pub expires_in_s: u64,
}

/// Obtains new tokens (no caching of its own).
pub trait Grantor: Send + Sync + fmt::Debug {
    fn grant(&self) -> BoxFuture<'_, Result<Fresh, GrantError>>;
    /// What the trace says about the grant, e.g. `{grant, tokenUrl}`.
    fn describe(&self) -> Map<String, Value>;
}

struct Cached {
    token: String,
    refresh_at: Instant,
}

/// One token at a time from a [`Grantor`], renewed ahead of its expiry (at `expires_in −
/// min(60 s, expires_in / 5)`, at least 1 s early, as the Genesys client does) or after a 401;
/// concurrent executions that need a new token wait for one grant.
pub struct CachedTokens<G> {
    grantor: G,
    slot: Mutex<Option<Cached>>,
    flight: tokio::sync::Mutex<()>,
}

impl<G> fmt::Debug for CachedTokens<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedTokens").finish_non_exhaustive()
    }
}

impl<G: Grantor> CachedTokens<G> {
    pub fn new(grantor: G) -> CachedTokens<G> {
        CachedTokens {
            grantor,
            slot: Mutex::new(None),
            flight: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self) -> Option<String> {
        let slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
            .map(|c| c.token.clone())
    }

    fn grant_of(&self, token: String, cached: bool) -> Grant {
        let mut description = self.grantor.describe();
        description.insert("cached".to_string(), Value::Bool(cached));
        Grant {
            token,
            secret: true,
            description: Value::Object(description),
        }
    }

    async fn token_async(&self) -> Result<Grant, GrantError> {
        if let Some(token) = self.cached() {
            return Ok(self.grant_of(token, true));
        }
        let _flight = self.flight.lock().await;
        // Another execution may have granted while this one waited.
        if let Some(token) = self.cached() {
            return Ok(self.grant_of(token, true));
        }
        let fresh = self.grantor.grant().await?;
        tracing::debug!(
            target: "nodectl::transport",
            expires_in = fresh.expires_in_s,
            "integration access token granted"
        );
        let lead = 60.min(fresh.expires_in_s / 5).max(1);
        let refresh_at =
            Instant::now() + Duration::from_secs(fresh.expires_in_s.saturating_sub(lead));
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
            token: fresh.token.clone(),
            refresh_at,
        });
        Ok(self.grant_of(fresh.token, false))
    }
}

impl<G: Grantor> TokenSource for CachedTokens<G> {
    fn token(&self) -> BoxFuture<'_, Result<Grant, GrantError>> {
        Box::pin(self.token_async())
    }

    fn invalidate(&self, token: &str) {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_some_and(|c| c.token == token) {
            *slot = None;
        }
    }
}

/// The dry-run's token source: no grant, the placeholder [`DRY_RUN_TOKEN`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DryRunTokens;

impl TokenSource for DryRunTokens {
    fn token(&self) -> BoxFuture<'_, Result<Grant, GrantError>> {
        Box::pin(async {
            Ok(Grant {
                token: DRY_RUN_TOKEN.to_string(),
                secret: false,
                description: json!("dry run: no token requested"),
            })
        })
    }

    fn invalidate(&self, _token: &str) {}
}

/// The OAuth client of a Genesys Cloud Data Actions integration, from the env's credentials.
#[derive(Clone)]
struct OAuthClient {
    id: String,
    secret: String,
}

/// The client-credentials grant at `token_url` (the env's login host + `/oauth/token`) with the
/// integration's `clientId` and `clientSecret`.
pub struct ClientCredentialsGrant {
    http: Option<reqwest::Client>,
    token_url: String,
    client: Result<OAuthClient, String>,
}

impl fmt::Debug for ClientCredentialsGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsGrant")
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

/// The credential field names of Genesys's `pureCloudOAuthClient` credential type.
pub const CLIENT_ID_FIELD: &str = "clientId";
pub const CLIENT_SECRET_FIELD: &str = "clientSecret";

/// `clientId` and `clientSecret` from `credentials`, or the message naming what is missing and
/// where the credentials came from (`origin`).
fn oauth_client(credentials: &Map<String, Value>, origin: &str) -> Result<OAuthClient, String> {
    let field = |name: &str| {
        credentials
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    match (field(CLIENT_ID_FIELD), field(CLIENT_SECRET_FIELD)) {
        (Some(id), Some(secret)) => Ok(OAuthClient { id, secret }),
        (id, secret) => {
            let missing: Vec<&str> = [
                (id.is_none(), CLIENT_ID_FIELD),
                (secret.is_none(), CLIENT_SECRET_FIELD),
            ]
            .into_iter()
            .filter_map(|(absent, name)| absent.then_some(name))
            .collect();
            Err(format!(
                "a Genesys Cloud Data Actions node needs the integration's OAuth client (credentials `{CLIENT_ID_FIELD}` and `{CLIENT_SECRET_FIELD}`); {origin} has no `{}`",
                missing.join("` or `")
            ))
        }
    }
}

impl ClientCredentialsGrant {
    /// The grant of the OAuth client in `credentials` (read from `origin`, named in errors) at
    /// `token_url`. Missing `clientId`/`clientSecret` is an error here (see [`Self::check`]) and
    /// again at each grant, never a request without them.
    pub fn new(
        credentials: &Map<String, Value>,
        origin: &str,
        token_url: String,
    ) -> ClientCredentialsGrant {
        let client = oauth_client(credentials, origin);
        let http = crate::http::client::http_client().ok();
        ClientCredentialsGrant {
            http,
            token_url,
            client,
        }
    }

    /// Whether the credentials hold the OAuth client: the message naming their source if not.
    pub fn check(&self) -> Result<(), String> {
        self.client.as_ref().map(|_| ()).map_err(String::clone)
    }

    async fn grant_async(&self) -> Result<Fresh, GrantError> {
        let client = self
            .client
            .as_ref()
            .map_err(|m| GrantError::new(ErrorKind::TemplateRequest, m.clone()))?;
        let http = self.http.as_ref().ok_or_else(|| {
            GrantError::new(ErrorKind::RemoteConnect, "cannot build the HTTP client")
        })?;
        let target = format!("POST {}", self.token_url);
        let answer = http
            .post(&self.token_url)
            .basic_auth(&client.id, Some(&client.secret))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .timeout(GRANT_TIMEOUT)
            .send()
            .await
            .map_err(|e| grant_transport_error(&target, &e))?;
        let status = answer.status().as_u16();
        let body = answer
            .text()
            .await
            .map_err(|e| grant_transport_error(&target, &e))?;
        let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if status != 200 {
            // Only the OAuth error fields: nothing else of the answer is quoted.
            let why = ["error", "error_description"]
                .iter()
                .filter_map(|k| parsed.get(k).and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(": ");
            return Err(GrantError::new(
                ErrorKind::RemoteStatus,
                format!(
                    "{target} -> {status}: the client credentials grant of the integration's OAuth client was refused{}",
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(" ({why})")
                    }
                ),
            ));
        }
        let token = parsed
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                GrantError::new(
                    ErrorKind::RemoteStatus,
                    format!("{target} -> 200: the answer has no access_token"),
                )
            })?;
        let expires_in_s = parsed
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        Ok(Fresh {
            token: token.to_string(),
            expires_in_s,
        })
    }
}

fn grant_transport_error(target: &str, error: &reqwest::Error) -> GrantError {
    let text = crate::http::client::error_text(error);
    if error.is_timeout() {
        GrantError::new(
            ErrorKind::RemoteTimeout,
            format!("{target}: no answer within {} s", GRANT_TIMEOUT.as_secs()),
        )
    } else {
        GrantError::new(
            ErrorKind::RemoteConnect,
            format!("{target}: connection failed: {text}"),
        )
    }
}

impl Grantor for ClientCredentialsGrant {
    fn grant(&self) -> BoxFuture<'_, Result<Fresh, GrantError>> {
        Box::pin(self.grant_async())
    }

    fn describe(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert(
            "grant".to_string(),
            Value::String("client_credentials".to_string()),
        );
        map.insert(
            "tokenUrl".to_string(),
            Value::String(self.token_url.clone()),
        );
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Grants `t1`, `t2`, … slowly, counting.
    #[derive(Debug, Default)]
    struct Counting(AtomicU32);

    impl Grantor for Counting {
        fn grant(&self) -> BoxFuture<'_, Result<Fresh, GrantError>> {
            Box::pin(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(Fresh {
                    token: format!("t{n}"),
                    expires_in_s: 3600,
                })
            })
        }

        fn describe(&self) -> Map<String, Value> {
            Map::new()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_executions_share_one_grant_and_a_refused_token_is_granted_anew() {
        let tokens = std::sync::Arc::new(CachedTokens::new(Counting::default()));
        let waiting: Vec<_> = (0..8)
            .map(|_| {
                let tokens = tokens.clone();
                tokio::spawn(async move { tokens.token().await.map(|g| g.token) })
            })
            .collect();
        for task in waiting {
            assert_eq!(task.await.ok().and_then(Result::ok).as_deref(), Some("t1"));
        }
        assert_eq!(tokens.grantor.0.load(Ordering::SeqCst), 1);
        // A 401 to an older token does not drop the current one.
        tokens.invalidate("t0");
        let again = tokens.token().await.ok();
        assert_eq!(again.as_ref().map(|g| g.token.as_str()), Some("t1"));
        assert_eq!(
            again.map(|g| g.description["cached"].clone()),
            Some(json!(true))
        );
        tokens.invalidate("t1");
        let fresh = tokens.token().await.ok();
        assert_eq!(fresh.as_ref().map(|g| g.token.as_str()), Some("t2"));
        assert_eq!(
            fresh.map(|g| g.description["cached"].clone()),
            Some(json!(false))
        );
    }

    #[test]
    fn missing_client_fields_are_named_with_their_source() {
        let mut credentials = Map::new();
        credentials.insert("clientId".to_string(), json!("id"));
        let grant = ClientCredentialsGrant::new(
            &credentials,
            "$NODECTL_CREDENTIALS_DEV",
            "http://127.0.0.1:1/oauth/token".to_string(),
        );
        let message = grant.check().err().unwrap_or_default();
        assert!(
            message.contains("$NODECTL_CREDENTIALS_DEV has no `clientSecret`"),
            "{message}"
        );
    }
}

//! The `Transport` trait — how the runtime sends one HTTP request — and its exchange types. The live
//! implementation (`live`) uses reqwest with rustls; the dry-run's replay of fixtures
//! (`fixture::replay`) implements the same trait, so the runtime never knows which one it talks to
//! (one code path). `token` holds the bearer tokens of Genesys Cloud Data Actions.

pub mod live;
pub mod token;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::model::Method;

/// A fully resolved request (docs/runtime.md steps 2–4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    /// In template order; names as written.
    pub headers: Vec<(String, String)>,
    /// Sent for POST, PUT and PATCH only.
    pub body: Option<String>,
}

impl HttpRequest {
    /// The first header of that name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// An answer from upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The first header of that name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The first value of a header, names compared case-insensitively.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The connection could not be made or broke before an answer (retried like a 5xx).
    Connect(String),
    /// No complete answer within the node's timeout.
    Timeout(Duration),
    /// The request could not even be built (a malformed URL or header); never retried.
    Invalid(String),
    /// The answer's body is larger than the transport accepts (`live::MAX_RESPONSE_BYTES`); never
    /// retried.
    TooLarge { limit: usize },
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Connect(why) => write!(f, "connection failed: {why}"),
            TransportError::Timeout(after) => {
                write!(f, "no answer within {} s", after.as_secs_f64())
            }
            TransportError::Invalid(why) => write!(f, "invalid request: {why}"),
            TransportError::TooLarge { limit } => {
                write!(f, "the response body exceeds the limit of {limit} bytes")
            }
        }
    }
}

/// Sends one request and waits for its whole answer, or fails, within `timeout`.
pub trait Transport: Send + Sync {
    fn send(
        &self,
        request: &HttpRequest,
        timeout: Duration,
    ) -> impl Future<Output = Result<HttpResponse, TransportError>> + Send;

    /// Whether answers come from recordings (the dry-run) rather than the network: actions that
    /// only Genesys executes live (a third party's session, a Lambda, a function's code) run over
    /// a replaying transport only.
    fn replays(&self) -> bool {
        false
    }
}

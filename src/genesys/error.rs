//! Errors of calls to Genesys Cloud: every one names the call (`METHOD path -> status: message`) and
//! carries the `contextId` (from `ININ-Correlation-Id` or the error body) that Genesys support asks for.

use std::fmt;

use super::dto::ErrorBody;

/// What went wrong with one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// Genesys answered with an error status.
    Status {
        status: u16,
        code: String,
        message: String,
    },
    /// No answer within the request timeout (after retries, for idempotent calls).
    Timeout,
    /// The connection failed (after retries, for idempotent calls).
    Connect(String),
    /// The OAuth grant failed, or a fresh token was refused.
    Auth(String),
    /// Genesys's `Retry-After` exceeded the 180 s cap.
    RetryAfterTooLong { seconds: u64 },
    /// The answer was not what the API promises (e.g. not JSON).
    Decode(String),
    /// A listing did not add up (count differs from `total`, a repeated id): never plan from it.
    Pagination(String),
    /// The client cannot be built or the request cannot be formed.
    Config(String),
}

/// One failed call (boxed: errors travel far and should stay small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(Box<ApiErrorDetail>);

/// The parts of an `ApiError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiErrorDetail {
    pub method: String,
    /// The path (without the query, which may be long).
    pub path: String,
    pub kind: ApiErrorKind,
    pub context_id: Option<String>,
    /// How many attempts were made.
    pub attempts: u32,
    /// The host called, named when it could not be reached (a wrong region's shows here).
    pub host: Option<String>,
}

impl std::ops::Deref for ApiError {
    type Target = ApiErrorDetail;

    fn deref(&self) -> &ApiErrorDetail {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorDetail {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(method: &str, path: &str, kind: ApiErrorKind) -> ApiError {
        ApiError(Box::new(ApiErrorDetail {
            method: method.to_string(),
            path: path.split('?').next().unwrap_or(path).to_string(),
            kind,
            context_id: None,
            attempts: 1,
            host: None,
        }))
    }

    /// The same error naming the host of `base` (`https://api.mypurecloud.ie` → `api.mypurecloud.ie`).
    pub fn at_host(mut self, base: &str) -> ApiError {
        let host = base
            .split("//")
            .nth(1)
            .unwrap_or(base)
            .split('/')
            .next()
            .unwrap_or_default();
        self.host = (!host.is_empty()).then(|| host.to_string());
        self
    }

    /// The HTTP status, when Genesys answered.
    pub fn status(&self) -> Option<u16> {
        match &self.kind {
            ApiErrorKind::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A version conflict: 409, or a 400 whose message says the version does not match
    /// (docs/plan-apply.md, "Apply": treat both the same).
    pub fn is_version_conflict(&self) -> bool {
        match &self.kind {
            ApiErrorKind::Status { status: 409, .. } => true,
            ApiErrorKind::Status {
                status: 400,
                message,
                ..
            } => message
                .to_lowercase()
                .contains("does not match the current version"),
            _ => false,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// A failure after which a write may or may not have been stored (timeout, dropped connection,
    /// 5xx): an idempotent create must look before posting again.
    pub fn is_ambiguous(&self) -> bool {
        match &self.kind {
            ApiErrorKind::Timeout | ApiErrorKind::Connect(_) => true,
            ApiErrorKind::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Builds the error of an error answer from its status and body.
    pub fn from_answer(
        method: &str,
        path: &str,
        status: u16,
        body: &str,
        correlation: Option<String>,
    ) -> ApiError {
        let parsed: Option<ErrorBody> = serde_json::from_str(body).ok();
        let (code, message) = match &parsed {
            Some(error) if !error.message.is_empty() || !error.code.is_empty() => {
                (error.code.clone(), error.message.clone())
            }
            _ => (String::new(), excerpt(body)),
        };
        let mut error = ApiError::new(
            method,
            path,
            ApiErrorKind::Status {
                status,
                code,
                message,
            },
        );
        error.context_id = correlation.or_else(|| parsed.and_then(|p| p.context_id));
        error
    }
}

fn excerpt(body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.len() <= 300 {
        return trimmed.to_string();
    }
    let mut end = 300;
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", trimmed.get(..end).unwrap_or(""))
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> ", self.method, self.path)?;
        match &self.kind {
            ApiErrorKind::Status {
                status,
                code,
                message,
            } => {
                write!(f, "{status}")?;
                if !code.is_empty() {
                    write!(f, " {code}")?;
                }
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
            }
            ApiErrorKind::Timeout => match &self.host {
                Some(host) => write!(f, "timed out waiting for {host}")?,
                None => write!(f, "timed out")?,
            },
            ApiErrorKind::Connect(why) => match &self.host {
                Some(host) => write!(f, "cannot reach {host}: {why}")?,
                None => write!(f, "connection failed: {why}")?,
            },
            ApiErrorKind::Auth(why) => write!(f, "authentication failed: {why}")?,
            ApiErrorKind::RetryAfterTooLong { seconds } => {
                write!(f, "429: Retry-After of {seconds} s exceeds the 180 s cap")?
            }
            ApiErrorKind::Decode(why) => write!(f, "unexpected answer: {why}")?,
            ApiErrorKind::Pagination(why) => write!(f, "inconsistent listing: {why}")?,
            ApiErrorKind::Config(why) => write!(f, "{why}")?,
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        if let Some(context) = &self.context_id {
            write!(f, " (contextId {context})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_that_cannot_be_reached_is_named() {
        let error = ApiError::new(
            "GET",
            "/api/v2/integrations?pageSize=100",
            ApiErrorKind::Connect("dns error: failed to lookup address".to_string()),
        )
        .at_host("https://api.mypurecloud.jp");
        assert_eq!(
            error.to_string(),
            "GET /api/v2/integrations -> cannot reach api.mypurecloud.jp: dns error: failed to lookup address"
        );
        let timeout = ApiError::new("POST", "/oauth/token", ApiErrorKind::Timeout)
            .at_host("http://127.0.0.1:9781/");
        assert_eq!(
            timeout.to_string(),
            "POST /oauth/token -> timed out waiting for 127.0.0.1:9781"
        );
    }
}

//! The live transport: reqwest over rustls (ring provider), one shared connection pool, no redirects
//! followed (as Genesys), no retries of its own (the runtime's retry policy counts attempts exactly),
//! and the body read as it streams in, up to `MAX_RESPONSE_BYTES` (beyond it the answer is refused
//! as `TransportError::TooLarge`, never buffered whole).

use std::time::Duration;

use super::{HttpRequest, HttpResponse, Transport, TransportError};

pub use crate::http::client::install_crypto_provider;

/// The largest upstream answer body an execution reads: 5 MiB. Genesys documents 750,000 bytes
/// for a function data action's response (`actions.function.response.bytes.max`); its cap for web
/// services actions is in no source found, so this figure is nodectl's choice, unverified
/// (docs/genesys-evidence.md, B.6).
pub const MAX_RESPONSE_BYTES: usize = 5 * 1024 * 1024;

/// A cloneable handle on one connection pool.
#[derive(Debug, Clone)]
pub struct LiveTransport {
    client: reqwest::Client,
    max_response_bytes: usize,
}

impl LiveTransport {
    pub fn new() -> Result<LiveTransport, TransportError> {
        let client = crate::http::client::http_client().map_err(TransportError::Invalid)?;
        Ok(LiveTransport {
            client,
            max_response_bytes: MAX_RESPONSE_BYTES,
        })
    }
}

impl Transport for LiveTransport {
    async fn send(
        &self,
        request: &HttpRequest,
        timeout: Duration,
    ) -> Result<HttpResponse, TransportError> {
        let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes())
            .map_err(|e| TransportError::Invalid(e.to_string()))?;
        let mut builder = self.client.request(method, &request.url).timeout(timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let built = builder
            .build()
            .map_err(|e| TransportError::Invalid(crate::http::client::error_text(&e)))?;
        let mut response = self
            .client
            .execute(built)
            .await
            .map_err(|e| classify(&e, timeout))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let limit = self.max_response_bytes;
        // A declared length over the cap fails before any of the body is read.
        if response
            .content_length()
            .is_some_and(|length| usize::try_from(length).map_or(true, |l| l > limit))
        {
            return Err(TransportError::TooLarge { limit });
        }
        let mut bytes: Vec<u8> = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e, timeout))? {
            if bytes.len().saturating_add(chunk.len()) > limit {
                return Err(TransportError::TooLarge { limit });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

fn classify(error: &reqwest::Error, timeout: Duration) -> TransportError {
    if error.is_timeout() {
        TransportError::Timeout(timeout)
    } else if error.is_builder() {
        TransportError::Invalid(crate::http::client::error_text(error))
    } else {
        TransportError::Connect(crate::http::client::error_text(error))
    }
}

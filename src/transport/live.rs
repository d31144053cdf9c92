//! The live transport: reqwest over rustls (ring provider), one shared connection pool, no redirects
//! followed (as Genesys), no retries of its own (the runtime's retry policy counts attempts exactly).

use std::time::Duration;

use super::{HttpRequest, HttpResponse, Transport, TransportError};

pub use crate::http::client::install_crypto_provider;

/// A cloneable handle on one connection pool.
#[derive(Debug, Clone)]
pub struct LiveTransport {
    client: reqwest::Client,
}

impl LiveTransport {
    pub fn new() -> Result<LiveTransport, TransportError> {
        let client = crate::http::client::http_client().map_err(TransportError::Invalid)?;
        Ok(LiveTransport { client })
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
        let response = self
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
        let bytes = response.bytes().await.map_err(|e| classify(&e, timeout))?;
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

//! The accept loop both HTTP servers share (the emulator and `serve`): hyper HTTP/1 connections with
//! a header-read timeout, and on stop a graceful shutdown that lets in-flight requests finish for up
//! to a grace period before the rest are closed; and reading a request body within a size limit
//! and a read timeout, so that a client sending its body slowly cannot hold a request open.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::HeaderMap;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How one server treats its connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionOptions {
    /// `server` field of the log lines.
    pub name: &'static str,
    pub header_read_timeout: Duration,
    /// Disable Nagle's algorithm (small answers go out at once).
    pub nodelay: bool,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

/// Serves connections until `stopped` changes, then shuts down gracefully.
/// `answer` may fail a request (the emulator drops connections that way); hyper then closes the
/// connection.
pub async fn accept_until_stopped<F, Fut, E>(
    listener: TcpListener,
    options: ConnectionOptions,
    answer: F,
    mut stopped: watch::Receiver<bool>,
) where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<Response<Full<Bytes>>, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let server = options.name;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    if options.nodelay {
                        let _ = stream.set_nodelay(true);
                    }
                    let answer = answer.clone();
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(options.header_read_timeout)
                        .serve_connection(TokioIo::new(stream), service_fn(answer));
                    let connection = graceful.watch(connection);
                    connections.spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(target: "nodectl::http", server, %error, "connection ended");
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(target: "nodectl::http", server, %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stopped.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    if tokio::time::timeout(options.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(target: "nodectl::http", server, "connections still open after the grace period; closing them");
    }
    connections.shutdown().await;
}

/// A body over the limit is drained up to this size (so the client reads the 413), then cut.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// Why a request body was not read.
pub(crate) enum BodyError {
    /// Longer than the limit.
    TooLarge,
    /// The connection failed mid-body (malformed chunking, a body shorter than its length): why.
    Broken(String),
    /// The body did not arrive within the read timeout.
    TimedOut,
}

/// A body read error with its cause (hyper's own text is only "error reading a body").
fn broken(error: &hyper::Error) -> BodyError {
    BodyError::Broken(format!("{error}{}", crate::http::client::causes(error)))
}

/// The whole body within `timeout`, or why not: `TooLarge` beyond `max_bytes` (drained so the
/// client reads the 413; a declared length beyond the drain limit is refused at once), `TimedOut`
/// when it is still incomplete after `timeout` (the caller answers 408 and closes).
pub(crate) async fn read_body_within(
    timeout: Duration,
    body: Incoming,
    headers: &HeaderMap,
    max_bytes: usize,
) -> Result<Vec<u8>, BodyError> {
    tokio::time::timeout(timeout, read_body(body, headers, max_bytes))
        .await
        .unwrap_or(Err(BodyError::TimedOut))
}

async fn read_body(
    mut body: Incoming,
    headers: &HeaderMap,
    max_bytes: usize,
) -> Result<Vec<u8>, BodyError> {
    let declared = headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut too_large = declared.is_some_and(|n| n > max_bytes);
    if declared.is_some_and(|n| n > DRAIN_LIMIT) {
        return Err(BodyError::TooLarge);
    }
    let mut collected = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| broken(&e))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > max_bytes {
            too_large = true;
            collected = Vec::new();
        }
        if too_large {
            if seen > DRAIN_LIMIT {
                break;
            }
        } else {
            collected.extend_from_slice(&data);
        }
    }
    if too_large {
        Err(BodyError::TooLarge)
    } else {
        Ok(collected)
    }
}

//! The accept loop both HTTP servers share (the emulator and `serve`): hyper HTTP/1 connections with
//! a header-read timeout, and on stop a graceful shutdown that lets in-flight requests finish for up
//! to a grace period before the rest are closed.

use std::time::Duration;

use http_body_util::Full;
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

//! `nodectl serve`, the simulator for flow testing (docs/http-api.md): nodes executed over HTTP
//! with nodectl's runtime — live against their upstreams with the env's credentials, or with
//! `--replay` over the fixture whose `[input]` equals the request's input.
//!
//! - `set`: the loaded node set — each node compiled once (`CompiledNode`), its fixtures, the
//!   execution context, and the in-memory Genesys org (built with `emulator::convert::post_input`)
//!   that the Genesys-compatible `/test` and `/execute` run through `emulator::exec`.
//! - `metrics`: Prometheus counters and the latency histogram (node names, never inputs).
//! - `http`: the hyper server — token check, body limit, read timeouts, routes, graceful shutdown.
//! - `watch`: `--watch`, polling the project's files and swapping in a new set when it validates.
//!
//! Embedding: `start(ServeOptions, Loader)` binds (port 0 picks a free one) and returns a
//! `ServeHandle`; `shutdown()` stops accepting and lets in-flight requests finish.

mod http;
pub mod metrics;
pub mod set;
mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use http::{ServeHandle, start};
pub use set::{NodeSet, Snapshot};

/// Genesys's request body limit; beyond it serve answers 413.
pub const MAX_BODY_BYTES: usize = crate::genesys::MAX_BODY_BYTES;

/// Loads the node set (at start and on every `--watch` reload): the snapshot, or the diagnostics
/// that make it unusable, one per line.
pub type Loader = Arc<dyn Fn() -> Result<Snapshot, String> + Send + Sync>;

/// The options of `nodectl serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// Required (as `Authorization: Bearer T`) on every request; mandatory off loopback.
    pub token: Option<String>,
    /// Answer from fixtures instead of the live upstreams.
    pub replay: bool,
    /// Poll the files under this directory every `watch_interval` and reload when they change.
    pub watch: Option<PathBuf>,
    pub watch_interval: std::time::Duration,
    /// How long a client may take to send its request head, and then its body.
    pub read_timeout: std::time::Duration,
    /// Executions of `/test` and `/execute` in flight at once (Genesys's
    /// `actions.concurrent.executions.max`); 0 turns the limit off.
    pub exec_concurrency: u32,
    /// Executions of `/test` and `/execute` started per minute over a sliding 60 s window
    /// (Genesys's `requests.volume.max`); 0 turns the limit off.
    pub exec_rate_limit: u32,
}

impl ServeOptions {
    /// Options for an in-process server on a free port of 127.0.0.1.
    pub fn ephemeral() -> ServeOptions {
        ServeOptions {
            addr: SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0),
            token: None,
            replay: false,
            watch: None,
            watch_interval: std::time::Duration::from_secs(1),
            read_timeout: std::time::Duration::from_secs(10),
            exec_concurrency: crate::emulator::exec::ExecLimits::default().concurrency,
            exec_rate_limit: crate::emulator::exec::ExecLimits::default().per_minute,
        }
    }

    /// The token rule: a non-loopback address needs a token.
    pub fn check(&self) -> Result<(), ServeError> {
        if !self.addr.ip().is_loopback() && self.token.is_none() {
            return Err(ServeError::Options(format!(
                "--addr {} is reachable from other machines: pass --token T (then every request needs `Authorization: Bearer T`)",
                self.addr
            )));
        }
        if self.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(ServeError::Options("--token must not be empty".to_string()));
        }
        Ok(())
    }
}

/// Why serve could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("invalid serve options: {0}")]
    Options(String),
    #[error("the project cannot be served:\n{0}")]
    Load(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the server: {0}")]
    Start(String),
}

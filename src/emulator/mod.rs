//! The Genesys Cloud data-action API emulator (docs/http-api.md): a small, strict, local org that
//! answers docs/http-api.md's endpoints over real HTTP, so that nodectl's client, a user's CI and the
//! official SDKs can run without a Genesys org.
//!
//! - `state`: the org, sans IO — integrations, actions, drafts, versions, one pure method per
//!   endpoint returning Genesys-shaped answers; `route` parses method + path + query.
//! - `auth`: the client-credentials grant and bearer tokens; `limits`: rate limit, seeded fault
//!   plans and request stats — all sans IO, the time passed in.
//! - `convert`: stored action ↔ `model::Node`; `exec`: `/test` and `/execute` through the runtime.
//! - `flows`: Architect's dependency tracking, sans IO — declared flows, their consumed actions
//!   and the build status (memory only, not in the state file).
//! - `persist`: the state file, written atomically; `http`: the hyper server that ties it all
//!   together (faults are its job; the state machine stays pure).
//!
//! Embedding: `start(EmulatorOptions)` binds (port 0 picks a free one) and returns an
//! `EmulatorHandle` with the base URL and the client credentials; `shutdown()` stops it gracefully
//! and writes the state. Tests start it in-process on `127.0.0.1:0`.

pub mod auth;
pub mod convert;
pub mod exec;
pub mod flows;
mod http;
pub mod limits;
pub mod persist;
pub mod rng;
pub mod route;
pub mod state;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::Deserialize;

pub use http::{EmulatorHandle, start};

/// The default address of `nodectl emulator`.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 9781);
/// The client id the emulator accepts unless told otherwise.
pub const DEFAULT_CLIENT_ID: &str = "nodectl-emulator";
/// The client secret the emulator accepts unless told otherwise (a well-known value, not a secret).
pub const DEFAULT_CLIENT_SECRET: &str = "nodectl-emulator-secret";
/// Seconds the emulator waits for a request's head, then for its body (as `serve` does).
pub const DEFAULT_READ_TIMEOUT_S: u64 = 10;
/// Genesys's request body limit; beyond it the emulator answers 413.
pub const MAX_BODY_BYTES: usize = crate::genesys::MAX_BODY_BYTES;

/// When the state file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateSync {
    /// At most every 200 ms after changes, and at shutdown.
    #[default]
    Coalesced,
    /// After every change, before the answer (for crash tests).
    Always,
}

/// Every option of `nodectl emulator` (docs/http-api.md). Deserializable with the command line's
/// names (`token-ttl = 1`), which is how the tests' case files set them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct EmulatorOptions {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The state file: loaded at start, written as `state_sync` says. In memory only without one.
    pub state: Option<PathBuf>,
    pub state_sync: StateSync,
    pub client_id: String,
    pub client_secret: String,
    /// Integrations (type `custom-rest-actions`) created when no integration has the name.
    pub integration: Vec<String>,
    /// Integrations of another type, as `TYPE=NAME` (`purecloud-data-actions=Genesys Cloud`),
    /// created when no integration has the name.
    pub typed_integration: Vec<String>,
    /// Lifetime of issued tokens, seconds.
    pub token_ttl: u64,
    /// Requests per minute per token over a sliding 60 s window; 0 turns the limit off.
    pub rate_limit: u32,
    /// Data-action executions (`/test`, `/draft/test`, `/execute`) in flight at once in the org
    /// (Genesys's `actions.concurrent.executions.max`); 0 turns the limit off.
    pub exec_concurrency: u32,
    /// Data-action executions started per minute in the org over a sliding 60 s window (Genesys's
    /// `requests.volume.max`); 0 turns the limit off.
    pub exec_rate_limit: u32,
    /// Share of requests answered with `fail_status` instead.
    pub fail_rate: f64,
    pub fail_status: u16,
    /// Share of requests whose connection is closed without an answer.
    pub drop_rate: f64,
    /// Share of answers sent `slow_ms` late.
    pub slow_rate: f64,
    pub slow_ms: u64,
    /// For writes, the injected fault happens after the change is stored (the ambiguous case).
    pub fault_after_commit: bool,
    /// Added to every answer, milliseconds.
    pub latency_ms: u64,
    /// Seeds ids, tokens and faults (deterministic faults); random without one.
    pub seed: Option<u64>,
    /// Listings serve at most this many entities per page.
    pub page_size_max: u64,
    /// Publish refuses a draft whose contract differs from the published action's.
    pub reject_contract_change: bool,
    /// Seconds a client has to send its request head, and then its body, before a 408 (as
    /// `serve`): a client trickling its body cannot hold a request open.
    pub read_timeout: u64,
    /// After this many writes to the Platform API, the org refuses every request (403
    /// `emulator.stopped`), the last write's answer included although it was stored: an apply cut
    /// off at exactly that point, for the tests of convergence after an interruption.
    pub stop_after_writes: Option<u64>,
    /// `/test` answers disagree with nodectl on this step (1-10) on purpose (`exec::perturb`), for
    /// the tests of `nodectl parity`; `POST /_emulator/perturb` changes it at run time.
    pub perturb_step: Option<u8>,
    /// A flows declaration (JSON, `flows::parse_flows`) read at start: which flows consume which
    /// actions, for Architect's dependency tracking; `PUT /_emulator/flows` replaces it.
    pub flows: Option<PathBuf>,
}

impl Default for EmulatorOptions {
    fn default() -> EmulatorOptions {
        EmulatorOptions {
            addr: DEFAULT_ADDR,
            state: None,
            state_sync: StateSync::Coalesced,
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: DEFAULT_CLIENT_SECRET.to_string(),
            integration: Vec::new(),
            typed_integration: Vec::new(),
            token_ttl: 86_400,
            rate_limit: 300,
            exec_concurrency: limits::DEFAULT_EXEC_CONCURRENCY,
            exec_rate_limit: limits::DEFAULT_EXEC_RATE_LIMIT,
            fail_rate: 0.0,
            fail_status: 503,
            drop_rate: 0.0,
            slow_rate: 0.0,
            slow_ms: 2_000,
            fault_after_commit: false,
            latency_ms: 0,
            seed: None,
            page_size_max: 100,
            reject_contract_change: false,
            stop_after_writes: None,
            read_timeout: DEFAULT_READ_TIMEOUT_S,
            perturb_step: None,
            flows: None,
        }
    }
}

impl EmulatorOptions {
    /// Options for an in-process emulator on a free port of 127.0.0.1.
    pub fn ephemeral() -> EmulatorOptions {
        EmulatorOptions {
            addr: SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            ..EmulatorOptions::default()
        }
    }

    /// Every problem with the options, as one message.
    pub fn check(&self) -> Result<(), EmulatorError> {
        let mut problems = Vec::new();
        for (name, rate) in [
            ("fail-rate", self.fail_rate),
            ("drop-rate", self.drop_rate),
            ("slow-rate", self.slow_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                problems.push(format!("--{name} must be between 0 and 1; got {rate}"));
            }
        }
        if !(400..=599).contains(&self.fail_status) {
            problems.push(format!(
                "--fail-status must be an error status (400-599); got {}",
                self.fail_status
            ));
        }
        if self.token_ttl == 0 {
            problems.push("--token-ttl must be at least 1 second".to_string());
        }
        if self.read_timeout == 0 {
            problems.push("--read-timeout must be at least 1 second".to_string());
        }
        // The default secret is printed and documented: anyone who can reach a non-loopback
        // address could take tokens and change the org.
        if !self.addr.ip().is_loopback() && self.client_secret == DEFAULT_CLIENT_SECRET {
            problems.push(format!(
                "--addr {} is not a loopback address: listening there needs an explicit client secret (--client-secret or NODECTL_EMULATOR_CLIENT_SECRET), because the default one is public",
                self.addr
            ));
        }
        if let Some(step) = self.perturb_step
            && crate::runtime::Step::from_number(step).is_none()
        {
            problems.push(format!(
                "--perturb-step must be a step from 1 to 10; got {step}"
            ));
        }
        if self.page_size_max == 0 {
            problems.push("--page-size-max must be at least 1".to_string());
        }
        if self.client_id.is_empty() || self.client_id.contains(':') {
            problems.push("--client-id must be non-empty and without ':'".to_string());
        }
        if self.client_secret.is_empty() {
            problems.push("--client-secret must not be empty".to_string());
        }
        if self.integration.iter().any(|n| n.trim().is_empty()) {
            problems.push("--integration names must not be empty".to_string());
        }
        for entry in &self.typed_integration {
            if split_typed(entry).is_none() {
                problems.push(format!("--typed-integration `{entry}` is not TYPE=NAME with a type of lower-case letters, digits and `-` and a non-empty name"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(EmulatorError::Options(problems.join("; ")))
        }
    }
}

impl EmulatorOptions {
    /// Every integration to create when absent, as `(name, type)`.
    pub fn seeded_integrations(&self) -> Vec<(String, String)> {
        let plain = self.integration.iter().map(|name| {
            (
                name.trim().to_string(),
                state::CUSTOM_REST_ACTIONS.to_string(),
            )
        });
        let typed = self.typed_integration.iter().filter_map(|e| split_typed(e));
        plain.chain(typed).collect()
    }
}

/// `TYPE=NAME` → `(NAME, TYPE)`; the type is lower-case letters, digits and `-`.
fn split_typed(entry: &str) -> Option<(String, String)> {
    let (kind, name) = entry.split_once('=')?;
    let plausible = !kind.is_empty()
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (plausible && !name.trim().is_empty()).then(|| (name.trim().to_string(), kind.to_string()))
}

/// Why the emulator could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("invalid emulator options: {0}")]
    Options(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("state file {}: {message}", path.display())]
    State { path: PathBuf, message: String },
    #[error("flows file {}: {message}", path.display())]
    Flows { path: PathBuf, message: String },
    #[error("cannot start the emulator: {0}")]
    Start(String),
}

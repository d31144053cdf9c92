//! `nodectl emulator`: run the local Genesys Cloud data-action API (docs/http-api.md) until SIGINT
//! or SIGTERM. Thin: the options become `EmulatorOptions`, `emulator::start` does the work, and
//! this prints the base URL and the client credentials to use (the secret only when it is the
//! well-known default).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Exit, Output};
use crate::emulator::{
    self, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorError, EmulatorOptions, StateSync,
};

#[derive(Debug, Args)]
#[command(
    about = "Run a local emulator of the Genesys Cloud data-action API",
    after_help = "The same address serves the login host (POST /oauth/token, client credentials) and the API (/api/v2/integrations…); GET /_emulator/stats counts requests per route and status. Stops cleanly on Ctrl-C or SIGTERM, writing the state file.\n\nExamples:\n  nodectl emulator --integration \"Web Services\" --state .nodectl/emulator/dev.json\n  nodectl emulator --addr :0 --seed 7 --fail-rate 0.1 --fail-status 503 --fault-after-commit"
)]
pub struct EmulatorArgs {
    /// Address to listen on; `:0` (or port 0) picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9781", value_parser = parse_addr)]
    addr: SocketAddr,
    /// State file (JSON): loaded at start, written atomically after changes and at shutdown.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// When the state file is written: at most every 200 ms (coalesced) or after every change.
    #[arg(long, value_enum, default_value_t = SyncArg::Coalesced, value_name = "WHEN")]
    state_sync: SyncArg,
    /// OAuth client id the emulator accepts.
    #[arg(long, value_name = "ID", env = "NODECTL_EMULATOR_CLIENT_ID")]
    client_id: Option<String>,
    /// OAuth client secret the emulator accepts.
    #[arg(
        long,
        value_name = "SECRET",
        env = "NODECTL_EMULATOR_CLIENT_SECRET",
        hide_env_values = true
    )]
    client_secret: Option<String>,
    /// Integration (type custom-rest-actions) to create when none has this name; repeatable.
    #[arg(long = "integration", value_name = "NAME")]
    integrations: Vec<String>,
    /// Integration of another type to create when none has this name, as TYPE=NAME
    /// (e.g. `purecloud-data-actions=Genesys Cloud Data Actions`); repeatable.
    #[arg(long = "typed-integration", value_name = "TYPE=NAME")]
    typed_integrations: Vec<String>,
    /// Lifetime of issued access tokens, seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400)]
    token_ttl: u64,
    /// Requests per minute per token (sliding 60 s window); 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = 300)]
    rate_limit: u32,
    /// Data-action executions (/test, /draft/test, /execute) in flight at once in the org, as
    /// Genesys's actions.concurrent.executions.max (429 beyond it); 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = emulator::limits::DEFAULT_EXEC_CONCURRENCY)]
    exec_concurrency: u32,
    /// Data-action executions started per minute in the org (sliding 60 s window), as Genesys's
    /// requests.volume.max (429 beyond it); 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = emulator::limits::DEFAULT_EXEC_RATE_LIMIT)]
    exec_rate_limit: u32,
    /// Share of requests answered with --fail-status (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    fail_rate: f64,
    /// Status of injected failures.
    #[arg(long, value_name = "STATUS", default_value_t = 503)]
    fail_status: u16,
    /// Share of requests whose connection is closed without an answer (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    drop_rate: f64,
    /// Share of answers sent --slow-ms late (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    slow_rate: f64,
    /// Delay of slow answers, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2_000)]
    slow_ms: u64,
    /// For writes, injected faults happen after the change is stored.
    #[arg(long)]
    fault_after_commit: bool,
    /// Latency added to every answer, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Seed of ids, tokens and faults (the same seed gives the same faults).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Largest page a listing serves (a larger pageSize is clamped).
    #[arg(long, value_name = "N", default_value_t = 100)]
    page_size_max: u64,
    /// Publish refuses a draft whose contract differs from the published action's.
    #[arg(long)]
    reject_contract_change: bool,
    /// Refuse every request (403) once this many writes were made, the last one's answer included
    /// although it was stored: an apply cut off at that point (for convergence tests).
    #[arg(long, value_name = "N")]
    stop_after_writes: Option<u64>,
    /// Seconds a client has to send a request's head, then its body, before a 408.
    #[arg(long, value_name = "SECONDS", default_value_t = emulator::DEFAULT_READ_TIMEOUT_S)]
    read_timeout: u64,
    /// Make `/test` answers disagree with nodectl on this step (1-10), on purpose: how a
    /// disagreement reported by `nodectl parity` is tested (also `POST /_emulator/perturb`).
    #[arg(long, value_name = "STEP")]
    perturb_step: Option<u8>,
    /// Flows declaration (JSON: {"flows": [{"name", "type", "published": {"version", "actions"},
    /// "checkedIn": …}]}) that Architect's dependency tracking answers from; read at start, replaced
    /// by PUT /_emulator/flows, never written to the state file.
    #[arg(long, value_name = "FILE")]
    flows: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SyncArg {
    Coalesced,
    Always,
}

/// `127.0.0.1:9781`, `[::1]:0`, or `:PORT` for 127.0.0.1.
fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let full = match text.strip_prefix(':') {
        Some(port) => format!("127.0.0.1:{port}"),
        None => text.to_string(),
    };
    full.parse()
        .map_err(|_| format!("`{text}` is not an address like 127.0.0.1:9781 or :0"))
}

impl EmulatorArgs {
    fn options(self) -> EmulatorOptions {
        EmulatorOptions {
            addr: self.addr,
            state: self.state,
            state_sync: match self.state_sync {
                SyncArg::Coalesced => StateSync::Coalesced,
                SyncArg::Always => StateSync::Always,
            },
            client_id: self
                .client_id
                .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_string()),
            client_secret: self
                .client_secret
                .unwrap_or_else(|| DEFAULT_CLIENT_SECRET.to_string()),
            integration: self.integrations,
            typed_integration: self.typed_integrations,
            token_ttl: self.token_ttl,
            rate_limit: self.rate_limit,
            exec_concurrency: self.exec_concurrency,
            exec_rate_limit: self.exec_rate_limit,
            fail_rate: self.fail_rate,
            fail_status: self.fail_status,
            drop_rate: self.drop_rate,
            slow_rate: self.slow_rate,
            slow_ms: self.slow_ms,
            fault_after_commit: self.fault_after_commit,
            latency_ms: self.latency_ms,
            seed: self.seed,
            page_size_max: self.page_size_max,
            reject_contract_change: self.reject_contract_change,
            stop_after_writes: self.stop_after_writes,
            read_timeout: self.read_timeout,
            perturb_step: self.perturb_step,
            flows: self.flows,
        }
    }
}

pub fn run(args: EmulatorArgs, output: &mut Output) -> Exit {
    let options = args.options();
    if let Err(error) = options.check() {
        output.error(error.to_string());
        return Exit::Usage;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            output.error(format!("cannot start the async runtime: {error}"));
            return Exit::Failure;
        }
    };
    let default_secret = options.client_secret == DEFAULT_CLIENT_SECRET;
    let result: Result<(), EmulatorError> = runtime.block_on(async {
        let handle = emulator::start(options).await?;
        output.line(format!("emulator listening on {}", handle.base_url()));
        output.line(format!(
            "  login and API base: {} (POST /oauth/token, /api/v2/integrations…)",
            handle.base_url()
        ));
        output.line(format!("  client id:          {}", handle.client_id()));
        if default_secret {
            output.line(format!(
                "  client secret:      {} (the default)",
                handle.client_secret()
            ));
        } else {
            output.line("  client secret:      (as given)");
        }
        for (name, id, kind) in handle.integrations() {
            output.line(format!("  integration:        {name} ({kind}, id {id})"));
        }
        match handle.state_file() {
            Some(path) => output.line(format!("  state:              {}", path.display())),
            None => output.line("  state:              in memory only (--state FILE keeps it)"),
        }
        output.line("Ctrl-C or SIGTERM stops it.");
        wait_for_signal().await;
        let state = handle.state_file().map(|p| p.display().to_string());
        handle.shutdown().await?;
        match state {
            Some(path) => output.line(format!("emulator stopped; state saved to {path}")),
            None => output.line("emulator stopped"),
        }
        Ok(())
    });
    match result {
        Ok(()) => Exit::Success,
        Err(error) => {
            output.error(error.to_string());
            match error {
                EmulatorError::Options(_) => Exit::Usage,
                _ => Exit::Failure,
            }
        }
    }
}

/// SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub(super) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

//! `nodectl serve`: the simulator for flow testing (docs/http-api.md) until SIGINT or SIGTERM.
//! Thin: the arguments become `ServeOptions` and a loader of the project, `serve::start` does the
//! work, and this prints the bound address.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{Exit, Output};
use crate::serve::{self, ServeError, ServeOptions};

#[derive(Debug, Args)]
#[command(
    about = "Serve the project's nodes over HTTP for flow testing",
    after_help = "Endpoints: POST /simulate/node/{name} (body: the input object; ?trace=true adds the step trace), POST /api/v2/integrations/actions/{name-or-id}/test and /execute (Genesys-compatible), GET /nodes, /healthz, /metrics (Prometheus). Nodes run against their live upstreams with the env's credentials ($NODECTL_CREDENTIALS_<ENV> or the env's credentials_file), or with --replay against the fixture whose [input] equals the request's. A non-loopback --addr needs --token. Stops cleanly on Ctrl-C or SIGTERM.\n\nExamples:\n  nodectl serve --addr 127.0.0.1:8080 --watch\n  curl -s localhost:8080/simulate/node/Lookup%20Customer -d '{\"customerId\": \"c-42\"}'\n  nodectl serve --addr 0.0.0.0:8080 --token \"$SERVE_TOKEN\" --env staging --replay"
)]
pub struct ServeArgs {
    /// Address to listen on; `:0` (or port 0) picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = parse_addr)]
    addr: SocketAddr,
    /// Environment from nodectl.toml (default: default_env).
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// Answer from fixtures (the first whose [input] equals the request's) instead of live upstreams.
    #[arg(long)]
    replay: bool,
    /// Reload the manifests when files change (a reload that fails validation keeps the old set).
    #[arg(long)]
    watch: bool,
    /// Require `Authorization: Bearer T` on every request (mandatory for a non-loopback --addr).
    #[arg(
        long,
        value_name = "T",
        env = "NODECTL_SERVE_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// Project directory (default: the nearest directory upwards holding nodectl.toml).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Executions of /test and /execute in flight at once, as Genesys's
    /// actions.concurrent.executions.max (429 beyond it); 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = crate::emulator::limits::DEFAULT_EXEC_CONCURRENCY)]
    exec_concurrency: u32,
    /// Executions of /test and /execute started per minute (sliding 60 s window), as Genesys's
    /// requests.volume.max (429 beyond it); 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = crate::emulator::limits::DEFAULT_EXEC_RATE_LIMIT)]
    exec_rate_limit: u32,
}

/// `127.0.0.1:8080`, `[::1]:0`, or `:PORT` for 127.0.0.1.
fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let full = match text.strip_prefix(':') {
        Some(port) => format!("127.0.0.1:{port}"),
        None => text.to_string(),
    };
    full.parse()
        .map_err(|_| format!("`{text}` is not an address like 127.0.0.1:8080 or :0"))
}

pub fn run(args: ServeArgs, output: &mut Output) -> Exit {
    let watch_dir = if args.watch {
        match project_dir(args.dir.clone()) {
            Ok(dir) => Some(dir),
            Err(message) => {
                output.error(message);
                return Exit::Invalid;
            }
        }
    } else {
        None
    };
    let options = ServeOptions {
        addr: args.addr,
        token: args.token,
        replay: args.replay,
        watch: watch_dir,
        watch_interval: Duration::from_secs(1),
        read_timeout: Duration::from_secs(10),
        exec_concurrency: args.exec_concurrency,
        exec_rate_limit: args.exec_rate_limit,
    };
    if let Err(error) = options.check() {
        output.error(error.to_string());
        return Exit::Usage;
    }
    let (dir, env) = (args.dir, args.env);
    let loader: serve::Loader =
        Arc::new(move || serve::set::load_project(dir.clone(), env.clone()));
    let Some(runtime) = super::runtime(output) else {
        return Exit::Failure;
    };
    let result: Result<(), ServeError> = runtime.block_on(async {
        let handle = serve::start(options, loader).await?;
        let (env, count) = handle.served();
        output.line(format!("serving on {}", handle.base_url()));
        output.line(format!(
            "  env {env}: {count} node(s); GET /nodes lists them"
        ));
        output.line("Ctrl-C or SIGTERM stops it.");
        super::emulator::wait_for_signal().await;
        handle.shutdown().await;
        output.line("serve stopped");
        Ok(())
    });
    match result {
        Ok(()) => Exit::Success,
        Err(error) => {
            output.error(error.to_string());
            match error {
                ServeError::Options(_) => Exit::Usage,
                ServeError::Load(_) => Exit::Invalid,
                _ => Exit::Failure,
            }
        }
    }
}

/// The directory `--watch` polls: `--dir`, or the nearest upwards holding nodectl.toml.
fn project_dir(dir: Option<PathBuf>) -> Result<PathBuf, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    if let Some(dir) = dir {
        return Ok(cwd.join(dir));
    }
    cwd.ancestors()
        .find(|d| d.join("nodectl.toml").is_file())
        .map(std::path::Path::to_path_buf)
        .ok_or_else(|| "no nodectl.toml here or in any parent directory".to_string())
}

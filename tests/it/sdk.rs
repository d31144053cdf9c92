//! Conformance of `nodectl emulator` with a client nobody here wrote: Genesys's official Python SDK
//! (`PureCloudPlatformClientV2`, installed by `scripts/test.sh`). The test starts the emulator
//! binary on a free port with one custom-rest-actions integration and known client credentials,
//! runs `tests/sdk/conformance.py` against its base URL — authenticate, list, create, get with
//! expand/includeConfig, templates, patch, a stale-version conflict, the draft/publish cycle,
//! Architect's dependency tracking of the action (flows declared through `PUT /_emulator/flows`,
//! consuming resources per flowFilter, the build status, the missing permission's 403), delete, then the integrations API: credential types, an integration, a credential, its
//! configuration, enabling it, its custom authentication action, deletes — and requires every step's `ok` line and exit 0. The script checks each response
//! strictly against the SDK model it deserialises into (see its module doc). A machine without the
//! SDK fails this test with instructions; it never skips.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::expect::root;

const INTEGRATION: &str = "SDK Conformance";
const CLIENT_ID: &str = "sdk-conformance-client";
const CLIENT_SECRET: &str = "sdk-conformance-secret";
/// How long the script may take (it makes about 25 requests; the SDK's import takes ~2 s).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// The steps of `conformance.py`, in order; each must print `ok <step>`.
const STEPS: &[&str] = &[
    "authenticate",
    "list-integrations",
    "list-actions",
    "create-action",
    "get-action",
    "get-templates",
    "patch-action",
    "stale-patch-conflict",
    "create-draft",
    "get-draft",
    "patch-draft",
    "validate-draft",
    "publish-draft",
    "get-published",
    "test-action",
    "list-drafts",
    "list-actions-again",
    "declare-flows",
    "list-consuming-resources",
    "get-dependency-build",
    "dependency-tracking-forbidden",
    "delete-action",
    "get-deleted",
    "list-credential-types",
    "create-integration",
    "get-config",
    "create-credential",
    "get-credential",
    "list-credentials",
    "put-config",
    "stale-config-conflict",
    "enable-integration",
    "list-integrations-expanded",
    "put-credential",
    "list-auth-actions",
    "delete-integration",
    "delete-credential",
];

/// A running `nodectl emulator`, killed when dropped (also when the test panics).
struct Emulator {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    fn start() -> Emulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nodectl"))
            .args([
                "emulator",
                "--addr",
                "127.0.0.1:0",
                "--integration",
                INTEGRATION,
                "--client-id",
                CLIENT_ID,
                "--client-secret",
                CLIENT_SECRET,
            ])
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("NODECTL_EMULATOR_CLIENT_ID")
            .env_remove("NODECTL_EMULATOR_CLIENT_SECRET")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `nodectl emulator`: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = BufReader::new(pipe).read_to_string(&mut text);
                if let Ok(mut shared) = sink.lock() {
                    shared.push_str(&text);
                }
            });
        }
        let stdout = child
            .stdout
            .take()
            .unwrap_or_else(|| panic!("the emulator's stdout is not piped"));
        let mut lines = BufReader::new(stdout).lines();
        // src/cli/emulator.rs: the first line is `emulator listening on http://127.0.0.1:PORT`.
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let mut emulator = Emulator {
            child,
            base: String::new(),
            stderr,
        };
        match first.strip_prefix("emulator listening on ") {
            Some(base) if base.starts_with("http://127.0.0.1:") => {
                emulator.base = base.trim().to_string();
            }
            _ => {
                let _ = emulator.child.kill();
                let _ = emulator.child.wait();
                panic!(
                    "unexpected first line from `nodectl emulator`: {first:?}\nstderr:\n{}",
                    emulator.stderr_text()
                );
            }
        }
        // Keep draining stdout so the emulator never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        emulator
    }

    fn stderr_text(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Reads a pipe to the end on its own thread.
fn collect(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// Fails (never skips) when python3 or the SDK is missing, saying how to install it.
fn require_sdk() {
    let probe = Command::new("python3")
        .args(["-c", "import PureCloudPlatformClientV2"])
        .stdin(Stdio::null())
        .output();
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "the Genesys Cloud Python SDK (PureCloudPlatformClientV2) is not installed: run scripts/test.sh, \
             which installs it, or `python3 -m pip install PureCloudPlatformClientV2==269.0.0`\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => panic!(
            "cannot run python3 ({error}); the SDK conformance test needs CPython 3 and the Genesys Cloud \
             Python SDK: run scripts/test.sh"
        ),
    }
}

#[test]
fn official_python_sdk_drives_the_emulator() {
    require_sdk();
    let emulator = Emulator::start();
    let script = root().join("tests/sdk/conformance.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(&emulator.base)
        .arg(INTEGRATION)
        .current_dir(root())
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", CLIENT_SECRET)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", script.display()));
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let report = format!(
        "--- conformance.py stdout\n{stdout}--- conformance.py stderr\n{stderr}--- emulator stderr\n{}",
        emulator.stderr_text()
    );
    let Some(status) = status else {
        panic!(
            "conformance.py did not finish within {} s\n{report}",
            SCRIPT_TIMEOUT.as_secs()
        );
    };
    assert!(
        status.success(),
        "conformance.py failed ({status}) against {}\n{report}",
        emulator.base
    );
    let oks: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("ok "))
        .collect();
    assert_eq!(oks, STEPS, "the steps that printed `ok`\n{report}");
}

//! The untrusted-input suite (docs/security.md): each case in
//! `tests/cases/untrusted/<class>/<case>/` is a small hostile project — what the author of a pull
//! request controls — and the exact refusal expected, in its `expected` file (`UPDATE_EXPECT=1`
//! rewrites them). Nothing here reaches outside loopback: hostile hosts use the reserved `.invalid`
//! and `.example` names, and a loopback listener stands in for "a host of the author's choosing".
//!
//! Every command case runs in a temporary copy of `tests/cases/untrusted/project` (unless
//! `project = false`) overlaid with the case folder, in a job environment that holds secrets of its
//! own (`JOB_SECRETS`: the OAuth client, a checkout token, a cloud key), next to files outside the
//! project (`outside/secret.txt`) and inside `.git/` that hold markers. Whatever the case does:
//!
//! - no marker (job secret, outside file, `.git/` file, or the case's own `forbidden`) may appear in
//!   stdout, stderr, any file nodectl wrote in the project, or the bytes the listener received;
//! - nodectl must finish within `timeout_s` (default 20) under a 4 GiB address-space limit — a hang
//!   or an abort on memory is a failure — and must not crash (`bad_input::crash_signs`, exit 101).
//!
//! `case.toml` keys: `args`, `setup` (command lines run first; they must succeed), `stdin`,
//! `project`, `env` (extra environment variables), `files` (path in the project → text), `outside`
//! (path under the work directory → text), `dirs`, `symlinks` (path → target, may leave the
//! project), `write` (generated big files, as in bad_input), `edit` (of a file `setup` wrote, as in
//! bad_input), `listener` (start the loopback listener; `@LISTENER@` in the project's text files is
//! its `127.0.0.1:port`), `forbidden` (more markers), `timeout_s`. HTTP classes (`http-*`) are
//! bad_input's raw-request cases against a server started by the class's test.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bad_input::{Edit, crash_signs, edit_file, normalize, os_arg};
use crate::expect::{Failures, Run, cases, copy_project, root};

/// The secrets a CI job holds besides nodectl's own: none may ever leave through nodectl.
pub(crate) const JOB_SECRETS: [(&str, &str); 5] = [
    ("GENESYSCLOUD_OAUTHCLIENT_ID", "job-client-id-0f4e"),
    (
        "GENESYSCLOUD_OAUTHCLIENT_SECRET",
        "JOB_CLIENT_SECRET_7d1c9a",
    ),
    ("GITHUB_TOKEN", "ghs_JOB_CHECKOUT_TOKEN_51b2"),
    ("AWS_SECRET_ACCESS_KEY", "AWS_JOB_KEY_e83f07"),
    (
        "NODECTL_CREDENTIALS_PROD",
        r#"{"apiKey": "JOB_NODE_CREDENTIAL_90ad"}"#,
    ),
];

/// The marker in files outside the project and inside `.git/`.
const OUTSIDE_MARKER: &str = "OUTSIDE_FILE_MARKER_3c5e";
const GIT_MARKER: &str = "GIT_DIR_MARKER_a91f";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    setup: Vec<Vec<String>>,
    #[serde(default)]
    stdin: Option<String>,
    #[serde(default = "yes")]
    project: bool,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    outside: BTreeMap<String, String>,
    #[serde(default)]
    dirs: Vec<String>,
    #[serde(default)]
    symlinks: BTreeMap<String, String>,
    #[serde(default)]
    write: Vec<Generated>,
    #[serde(default)]
    edit: Option<Edit>,
    #[serde(default)]
    listener: bool,
    #[serde(default)]
    forbidden: Vec<String>,
    #[serde(default)]
    timeout_s: Option<u64>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Generated {
    path: String,
    parts: Vec<(String, usize)>,
}

fn yes() -> bool {
    true
}

/// A loopback listener that keeps every byte it is sent and answers each connection with a 500.
struct Listener {
    addr: String,
    received: Arc<Mutex<Vec<u8>>>,
}

impl Listener {
    fn start() -> Listener {
        let socket = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = socket
            .local_addr()
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        std::thread::spawn(move || {
            for mut stream in socket.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
                let mut buffer = [0u8; 65536];
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut all) = sink.lock() {
                        all.extend_from_slice(buffer.get(..n).unwrap_or_default());
                    }
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Listener { addr, received }
    }

    fn received(&self) -> String {
        self.received
            .lock()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }
}

/// Every regular file under `dir` (not following symlinks), with its text.
fn files_under(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let bytes = std::fs::read(&path).unwrap_or_default();
                found.insert(path, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    found
}

/// Runs nodectl with a deadline and an address-space limit; `None` when it had to be killed.
fn run_bounded(
    dir: &Path,
    args: &[String],
    env: &[(String, String)],
    stdin: Option<&str>,
    timeout: Duration,
) -> Option<Run> {
    let mut command = Command::new("prlimit");
    command
        .arg("--as=4294967296")
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_nodectl"))
        .args(args.iter().map(|a| os_arg(a)))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "1")
        .env_remove("RUST_LOG")
        .env_remove("NODECTL_API_BASE")
        .env_remove("NODECTL_CACHE_DIR")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run nodectl under prlimit: {e}"));
    if let Some(mut pipe) = child.stdin.take() {
        let _ = pipe.write_all(stdin.unwrap_or_default().as_bytes());
    }
    let mut stdout_pipe = child.stdout.take();
    let mut stderr_pipe = child.stderr.take();
    let stdout_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(pipe) = stdout_pipe.as_mut() {
            let _ = pipe.read_to_end(&mut text);
        }
        text
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(pipe) = stderr_pipe.as_mut() {
            let _ = pipe.read_to_end(&mut text);
        }
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("{e}"),
        }
    };
    let stdout = stdout_reader.join().unwrap_or_default();
    let stderr = stderr_reader.join().unwrap_or_default();
    status.map(|status| Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

fn check(case_dir: &Path, failures: &mut Failures) {
    let case_path = case_dir.join("case.toml");
    let case: Case = toml::from_str(&std::fs::read_to_string(&case_path).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{}: {e}", case_path.display()));
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = work.path().join("project");
    if case.project {
        copy_project(&root().join("tests/cases/untrusted/project"), &dir, "");
    }
    copy_project(case_dir, &dir, "");
    for name in ["case.toml", "expected"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let listener = case.listener.then(Listener::start);
    let put = |path: PathBuf, text: &str| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    };
    put(
        work.path().join("outside/secret.txt"),
        &format!("{OUTSIDE_MARKER}\n"),
    );
    put(
        dir.join(".git/config"),
        &format!("[http]\n\textraheader = AUTHORIZATION: basic {GIT_MARKER}\n"),
    );
    for (path, text) in &case.outside {
        put(work.path().join(path), text);
    }
    for (path, text) in &case.files {
        put(dir.join(path), text);
    }
    for generated in &case.write {
        let text: String = generated
            .parts
            .iter()
            .map(|(part, times)| part.repeat(*times))
            .collect();
        put(dir.join(&generated.path), &text);
    }
    for made in &case.dirs {
        std::fs::create_dir_all(dir.join(made)).unwrap_or_else(|e| panic!("{e}"));
    }
    for (link, target) in &case.symlinks {
        if let Some(parent) = dir.join(link).parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::os::unix::fs::symlink(target, dir.join(link)).unwrap_or_else(|e| panic!("{e}"));
    }
    if let Some(listener) = &listener {
        for (path, text) in files_under(&dir) {
            if text.contains("@LISTENER@") {
                std::fs::write(&path, text.replace("@LISTENER@", &listener.addr))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }

    let mut env: Vec<(String, String)> = JOB_SECRETS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.extend(case.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let timeout = Duration::from_secs(case.timeout_s.unwrap_or(20));
    for setup in &case.setup {
        match run_bounded(&dir, setup, &env, None, timeout) {
            Some(run) if run.code == 0 => {}
            Some(run) => failures.add(
                case_dir,
                format!("setup {setup:?} failed\n{}", run.transcript()),
            ),
            None => failures.add(
                case_dir,
                format!("setup {setup:?} did not finish in {timeout:?}"),
            ),
        }
    }
    if let Some(edit) = &case.edit {
        edit_file(&dir.join(&edit.file), edit);
    }

    let mut forbidden: Vec<String> = JOB_SECRETS
        .iter()
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.starts_with('{'))
        .collect();
    forbidden.push("JOB_NODE_CREDENTIAL_90ad".to_string());
    forbidden.push(OUTSIDE_MARKER.to_string());
    forbidden.push(GIT_MARKER.to_string());
    forbidden.extend(case.forbidden.iter().cloned());
    // Files that held a marker before the run (the case's own bait) are not nodectl's doing.
    let before = files_under(work.path());
    let bait: Vec<&PathBuf> = before
        .iter()
        .filter(|(_, text)| forbidden.iter().any(|m| text.contains(m.as_str())))
        .map(|(path, _)| path)
        .collect();

    let started = Instant::now();
    let Some(run) = run_bounded(&dir, &case.args, &env, case.stdin.as_deref(), timeout) else {
        failures.add(
            case_dir,
            format!(
                "nodectl {:?} did not finish within {timeout:?} (a hang)",
                case.args
            ),
        );
        return;
    };
    let elapsed = started.elapsed();
    let all = format!("{}{}", run.stdout, run.stderr);
    for sign in crash_signs(&all) {
        failures.add(
            case_dir,
            format!("output contains `{sign}`\n{}", run.transcript()),
        );
    }
    if run.code == 101 || run.code == -1 {
        failures.add(
            case_dir,
            format!("exit {} (a panic, or killed by a signal: an abort on memory?) after {elapsed:?}\n{}", run.code, run.transcript()),
        );
    }
    for marker in &forbidden {
        if all.contains(marker.as_str()) {
            failures.add(
                case_dir,
                format!(
                    "the output shows the secret `{marker}`\n{}",
                    run.transcript()
                ),
            );
        }
        for (path, text) in files_under(work.path()) {
            if !bait.contains(&&path) && text.contains(marker.as_str()) {
                failures.add(
                    case_dir,
                    format!(
                        "{} holds the secret `{marker}` after the run",
                        path.display()
                    ),
                );
            }
        }
        if let Some(listener) = &listener
            && listener.received().contains(marker.as_str())
        {
            failures.add(
                case_dir,
                format!("the listener received the secret `{marker}`"),
            );
        }
    }
    let mut transcript = Run {
        code: run.code,
        stdout: normalize(&run.stdout, work.path()),
        stderr: normalize(&run.stderr, work.path()),
    }
    .transcript();
    if let Some(listener) = &listener {
        let received = listener.received();
        let first_line = received.lines().next().unwrap_or("nothing");
        transcript.push_str(&format!(
            "--- listener\n{}\n",
            normalize(first_line, work.path())
        ));
    }
    failures.expect_file(case_dir, &case_dir.join("expected"), &transcript);
}

/// Runs every case of `tests/cases/untrusted/<class>`.
fn class(name: &str) {
    let group = format!("untrusted/{name}");
    let mut failures = Failures::default();
    let all = cases(&group);
    for case in &all {
        check(case, &mut failures);
    }
    failures.finish(&group, all.len());
}

#[test]
fn untrusted_credentials() {
    class("credentials");
}

/// Hostile templates and paths (nested loops, doubling strings, huge output, deep scans, tera
/// loops, `set` and amplifying filters) through `validate`, `test` and `plan`: each stops at a
/// budget with a clear error at the file, line and node, well within the deadline.
#[test]
fn untrusted_budgets() {
    class("budgets");
}

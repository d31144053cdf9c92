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
//! its `127.0.0.1:port`), `forbidden` (more markers), `timeout_s`, `unchanged` (paths relative to
//! the project, which may lead outside it: each must hold the same bytes after the run as before,
//! or still be absent; the transcript ends with one `--- unchanged` line each), `list` (a folder of
//! the project whose file names end the transcript). HTTP classes (`http-*`) are bad_input's
//! raw-request cases against a server started by the class's test.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bad_input::{Edit, Server, crash_signs, edit_file, http_cases, normalize, os_arg};
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
    /// A folder of the project whose file names (and byte lengths) end the transcript.
    #[serde(default)]
    list: Option<String>,
    #[serde(default)]
    unchanged: Vec<String>,
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

    let kept: Vec<Option<Vec<u8>>> = case
        .unchanged
        .iter()
        .map(|path| std::fs::read(dir.join(path)).ok())
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
    if let Some(folder) = &case.list {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(folder))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        transcript.push_str(&format!("--- files in {folder}\n"));
        for name in names {
            transcript.push_str(&format!("{name} ({} bytes)\n", name.len()));
        }
    }
    for (path, before) in case.unchanged.iter().zip(&kept) {
        let after = std::fs::read(dir.join(path)).ok();
        if &after != before {
            failures.add(case_dir, format!("nodectl changed `{path}`"));
        }
        let state = if before.is_some() {
            "same bytes"
        } else {
            "still absent"
        };
        transcript.push_str(&format!("--- unchanged: {path} ({state})\n"));
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

/// Every cache entry under `dir`, rewritten so that its action claims another name — with a
/// checksum that holds, as an attacker who can write the cache would make it.
fn poison_cache_entries(dir: &Path) -> usize {
    let mut poisoned = 0;
    for (path, text) in files_under(dir) {
        let Ok(mut entry) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let name = entry["action"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        entry["action"]["name"] = serde_json::Value::String(format!("Retired {name}"));
        let digest = {
            use sha2::Digest;
            sha2::Sha256::digest(nodectl::canonical::to_string(&entry["action"]).as_bytes())
        };
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        entry["checksum"] = serde_json::Value::String(format!("sha256:{hex}"));
        std::fs::write(&path, entry.to_string()).unwrap_or_else(|e| panic!("{e}"));
        poisoned += 1;
    }
    poisoned
}

/// The review's attack on the content cache: entries that rename the org's actions make `plan
/// --prune` believe the protected `Lookup Customer` is an unmanaged leftover, and apply delete it.
/// Committed under `.nodectl/cache/`, the files are not even read (the default cache lives outside
/// the checkout); in a cache the pipeline chose, they disagree with the live listing and are read
/// again from the org. Either way: no change, nothing deleted.
#[test]
fn poisoned_content_cache_changes_nothing() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = work.path().join("project");
    copy_project(&root().join("tests/cases/untrusted/project"), &dir, "");
    let project_file = dir.join("nodectl.toml");
    let text = std::fs::read_to_string(&project_file).unwrap_or_default();
    std::fs::write(
        &project_file,
        format!("{text}\n[safety]\nprotect = [\"Lookup Customer\"]\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let home = work.path().join("home");
    let run = |args: &[&str], cache: Option<&Path>| {
        let mut env = vec![("HOME".to_string(), home.display().to_string())];
        if let Some(cache) = cache {
            env.push(("NODECTL_CACHE_DIR".to_string(), cache.display().to_string()));
        }
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        run_bounded(&dir, &args, &env, None, Duration::from_secs(60))
            .unwrap_or_else(|| panic!("nodectl {args:?} hung"))
    };
    let applied = run(&["apply", "--auto-approve"], None);
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let warm = run(&["plan"], None);
    assert_eq!(warm.code, 0, "{}", warm.transcript());

    // The default cache is outside the checkout: nothing was written under .nodectl/cache.
    assert!(
        !dir.join(".nodectl/cache").exists(),
        "the cache was written inside the checkout"
    );
    let default_cache = home.join(".cache/nodectl");
    assert_eq!(
        poison_cache_entries(&default_cache),
        4,
        "expected 4 cache entries"
    );

    // 1. Poisoned entries in the default cache; 2. the same files committed in the checkout and
    // named by the pipeline as its cache.
    let committed = dir.join(".nodectl/cache");
    copy_project(&default_cache, &committed, "");
    for cache in [None, Some(committed.as_path())] {
        let plan = run(&["plan", "--prune"], cache);
        assert_eq!(plan.code, 0, "{}", plan.transcript());
        assert!(
            plan.stdout.contains("No changes") && !plan.stdout.contains("Retired"),
            "the poisoned cache changed the plan:\n{}",
            plan.transcript()
        );
        let apply = run(&["apply", "--prune", "--auto-approve"], cache);
        assert_eq!(apply.code, 0, "{}", apply.transcript());
        assert!(
            !apply.stdout.contains("applied   delete"),
            "{}",
            apply.transcript()
        );
    }
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(".nodectl/emulator/local.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = state["actions"]
        .as_object()
        .into_iter()
        .flat_map(|actions| actions.values())
        .filter_map(|action| action["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Lookup Customer"),
        "the protected action is gone: {names:?}"
    );
    // The four managed actions and the emulator's two built-in `static…` actions.
    assert_eq!(names.len(), 6, "{names:?}");
}

#[test]
fn untrusted_holes() {
    class("holes");
}

#[test]
fn untrusted_files() {
    class("files");
}

/// Hostile templates and paths (nested loops, doubling strings, huge output, deep scans, tera
/// loops, `set` and amplifying filters) through `validate`, `test` and `plan`: each stops at a
/// budget with a clear error at the file, line and node, well within the deadline.
#[test]
fn untrusted_budgets() {
    class("budgets");
}

/// The emulator's command line and state file: no listening off loopback with the public default
/// secret, no state file whose keys disagree with its records.
#[test]
fn untrusted_emulator() {
    class("emulator");
}

/// Raw requests to `nodectl serve` from a hostile client (bad_input's HTTP cases): the bearer
/// scheme in any case, tokens that are nearly right.
#[test]
fn untrusted_http_serve() {
    http_cases(
        "untrusted/http-serve",
        Server::serve(),
        &["GET /healthz HTTP/1.1"],
    );
}

/// Raw requests to `nodectl emulator` from a hostile client.
#[test]
fn untrusted_http_emulator() {
    http_cases(
        "untrusted/http-emulator",
        Server::emulator(),
        &[
            "GET /api/v2/integrations HTTP/1.1",
            "Authorization: Bearer @TOKEN@",
        ],
    );
}

/// One request on its own connection: the status line and the body.
fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[String],
    body: &str,
) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        text.push_str(header);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.push_str(body);
    let _ = stream.write_all(text.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.lines().next().unwrap_or_default().to_string();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A runaway template in `/test` burns its whole budget off the async workers: meanwhile the
/// emulator's token endpoint and a listing answer at once (the budgets bound each run; the
/// blocking pool keeps the workers free).
#[test]
fn a_runaway_template_does_not_starve_the_emulator() {
    let server = Server::emulator();
    let addr = server.addr().to_string();
    let bearer = vec![format!("Authorization: Bearer {}", server.var("@TOKEN@"))];
    let action = serde_json::json!({
        "name": "Runaway", "category": "Budgets", "integrationId": server.var("@INTEGRATION@"),
        "config": {
            "request": {
                "requestUrlTemplate": "http://127.0.0.1:9/runaway",
                "requestType": "POST",
                "requestTemplate": "#foreach($a in [1..999999])#foreach($b in [1..999999])$a#end#end"
            },
            "response": {}
        },
        "contract": { "input": { "inputSchema": { "type": "object" } },
                      "output": { "successSchema": { "type": "object" } } }
    });
    let (status, body) = request(
        &addr,
        "POST",
        "/api/v2/integrations/actions",
        &bearer,
        &action.to_string(),
    );
    assert!(status.contains(" 200 "), "{status}\n{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no id in {body}"));

    // More hostile runs than the machine has cores, so that the workers would all be taken.
    let hostile: Vec<_> = (0..4)
        .map(|_| {
            let (addr, bearer, id) = (addr.clone(), bearer.clone(), id.clone());
            std::thread::spawn(move || {
                let answer = request(
                    &addr,
                    "POST",
                    &format!("/api/v2/integrations/actions/{id}/test"),
                    &bearer,
                    "{}",
                );
                (answer, Instant::now())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    let credentials =
        nodectl::emulator::auth::basic_header("nodectl-emulator", "nodectl-emulator-secret");
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        let (status, body) = request(
            &addr,
            "POST",
            "/oauth/token",
            &[
                format!("Authorization: {credentials}"),
                "Content-Type: application/x-www-form-urlencoded".to_string(),
            ],
            "grant_type=client_credentials",
        );
        assert!(status.contains(" 200 "), "token: {status}\n{body}");
        slowest = slowest.max(started.elapsed());
        let started = Instant::now();
        let (status, body) = request(
            &addr,
            "GET",
            "/api/v2/integrations/actions?pageSize=1",
            &bearer,
            "",
        );
        assert!(status.contains(" 200 "), "listing: {status}\n{body}");
        slowest = slowest.max(started.elapsed());
    }
    let probes_done = Instant::now();
    let mut still_running = 0;
    for run in hostile {
        let ((status, body), ended) = run.join().unwrap_or_else(|_| panic!("hostile thread"));
        assert!(status.contains(" 200 "), "{status}\n{body}");
        assert!(
            body.contains("template budget exceeded: more than 5000000 evaluation steps"),
            "{body}"
        );
        if ended > probes_done {
            still_running += 1;
        }
    }
    // Without a hostile run outlasting the probes this test would prove nothing.
    assert!(
        still_running > 0,
        "every hostile run finished before the probes did"
    );
    assert!(
        slowest < Duration::from_millis(500),
        "the token endpoint or a listing took {slowest:?} while runaway templates ran"
    );
}

/// A client that announces a body and never sends it gets a 408 after the emulator's read
/// timeout (shared with serve), instead of holding the request open.
#[test]
fn the_emulator_times_out_a_slow_body() {
    let server = Server::start(
        &["emulator", "--addr", "127.0.0.1:0", "--read-timeout", "1"],
        "emulator listening on ",
    );
    let started = Instant::now();
    let mut slow = TcpStream::connect(server.addr()).unwrap_or_else(|e| panic!("{e}"));
    let _ = slow.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = slow.write_all(
        b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\ngrant_type=",
    );
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
    assert!(
        answer.contains("The request body did not arrive within 1 s."),
        "{answer:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered after {:?}",
        started.elapsed()
    );
}

//! The bad-input corpus: malformed manifests, fixtures, saved plans, command lines and raw HTTP
//! requests, each in `tests/cases/bad_input/<category>/<case>/`, and what a user sees for each in the
//! case's `expected` file (`UPDATE_EXPECT=1` rewrites them). Whatever the input, nodectl must answer
//! with a clear error: every case runs with `RUST_BACKTRACE=1` and `RUST_LIB_BACKTRACE=1`, and fails
//! on `panicked`, `stack backtrace`, `RUST_BACKTRACE` in its output or an exit code of 101. The HTTP
//! servers must also stay up: after its category, the `nodectl serve` still answers `GET /healthz`
//! and the `nodectl emulator` a listing of its integrations.
//!
//! A case folder holds `case.toml`, its input files and `expected`. In `case.toml`:
//!
//! - Command categories (`manifests`, `fixtures`, `plans`, `cli`): `args` (nodectl's arguments; one
//!   written `hex:…` is those bytes, for arguments that are not UTF-8). The command runs in a
//!   temporary copy of the case folder, on top of a copy of `tests/cases/bad_input/project` when
//!   `project = true`. Optional: `stdin`; `setup` (nodectl command lines run first, which must
//!   succeed, e.g. `plan --out plan.json`); then `[edit]` of a JSON file they wrote (`file`, `set` =
//!   JSON pointer → value, `remove` = pointers, `truncate` = keep that many bytes, `text` = replace
//!   the whole file); `[[write]]` files made at run time from `parts` = `[[text, times], …]` (too big
//!   to commit); `dirs` to create; `symlinks` = path → target. `expected` is `Run::transcript`.
//! - HTTP categories (`serve`, `emulator`): one server per category, started from the binary
//!   (`nodectl serve --token bad-input-token` over a copy of the shared project; `nodectl emulator`
//!   with one integration). `head` lists the request line and headers, sent with CRLF; `Host`,
//!   `Connection: close`, `Content-Length` (when no head line sets it or `Transfer-Encoding`) and
//!   the bearer token (serve: unless a head line sets `Authorization`) are added unless
//!   `raw = true`. `@TOKEN@` in a head line is the emulator's access token, `@INTEGRATION@` its
//!   integration's id. The body is `body`, or the bytes of `body_file`, or `body_size` bytes of `x`;
//!   `header_size` adds an `X-Padding` header of that many bytes; `half_close` shuts the write side
//!   after sending. `expected` holds the status line, the
//!   `content-type` (and `allow`, `www-authenticate`, `retry-after`) header, and the body, JSON
//!   pretty-printed; ports, context ids and the temporary directory are normalised.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::expect::{
    Failures, Run, cases, copy_project, nodectl_with, normalize_context_ids, root,
};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct Case {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    project: bool,
    #[serde(default)]
    stdin: Option<String>,
    #[serde(default)]
    setup: Vec<Vec<String>>,
    #[serde(default)]
    edit: Option<Edit>,
    #[serde(default)]
    write: Vec<Generated>,
    #[serde(default)]
    dirs: Vec<String>,
    #[serde(default)]
    symlinks: BTreeMap<String, String>,
    #[serde(default)]
    head: Vec<String>,
    #[serde(default)]
    raw: bool,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_file: Option<String>,
    #[serde(default)]
    body_size: Option<usize>,
    #[serde(default)]
    half_close: bool,
    #[serde(default)]
    header_size: Option<usize>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Edit {
    pub(crate) file: String,
    #[serde(default)]
    set: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    remove: Vec<String>,
    #[serde(default)]
    truncate: Option<usize>,
    #[serde(default)]
    text: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Generated {
    path: String,
    parts: Vec<(String, usize)>,
}

const BACKTRACE_ENV: [(&str, &str); 2] = [("RUST_BACKTRACE", "1"), ("RUST_LIB_BACKTRACE", "1")];
const SERVE_TOKEN: &str = "bad-input-token";

fn backtrace_env() -> Vec<(String, String)> {
    BACKTRACE_ENV
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn read_case(dir: &Path) -> Case {
    let path = dir.join("case.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What must never show in a user's output, whatever the input.
pub(crate) fn crash_signs(text: &str) -> Vec<&'static str> {
    ["panicked", "stack backtrace", "RUST_BACKTRACE"]
        .into_iter()
        .filter(|sign| text.contains(sign))
        .collect()
}

/// What the case is run against.
enum Target<'a> {
    Command,
    Http(&'a Server),
}

/// Runs one case against its target, checks it did not crash, and compares its transcript.
fn check(case_dir: &Path, target: &Target<'_>, failures: &mut Failures) {
    let case = read_case(case_dir);
    let transcript = match target {
        Target::Command => run_command(case_dir, &case, failures),
        Target::Http(server) => send_request(case_dir, &case, server, failures),
    };
    failures.expect_file(case_dir, &case_dir.join("expected"), &transcript);
}

fn run_command(case_dir: &Path, case: &Case, failures: &mut Failures) -> String {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = work.path().join("project");
    if case.project {
        copy_project(&root().join("tests/cases/bad_input/project"), &dir, "");
    }
    copy_project(case_dir, &dir, "");
    for name in ["case.toml", "expected"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    for generated in &case.write {
        let mut text = String::new();
        for (part, times) in &generated.parts {
            text.push_str(&part.repeat(*times));
        }
        std::fs::write(dir.join(&generated.path), text).unwrap_or_else(|e| panic!("{e}"));
    }
    for made in &case.dirs {
        std::fs::create_dir_all(dir.join(made)).unwrap_or_else(|e| panic!("{e}"));
    }
    for (link, target) in &case.symlinks {
        std::os::unix::fs::symlink(target, dir.join(link)).unwrap_or_else(|e| panic!("{e}"));
    }
    let env = backtrace_env();
    for setup in &case.setup {
        let run = nodectl_with(&dir, setup, &env, None);
        if run.code != 0 {
            failures.add(
                case_dir,
                format!("setup {setup:?} failed\n{}", run.transcript()),
            );
        }
    }
    if let Some(edit) = &case.edit {
        edit_file(&dir.join(&edit.file), edit);
    }
    let args: Vec<OsString> = case.args.iter().map(|a| os_arg(a)).collect();
    let run = nodectl_with(&dir, &args, &env, case.stdin.as_deref());
    let all = format!("{}{}", run.stdout, run.stderr);
    for sign in crash_signs(&all) {
        failures.add(
            case_dir,
            format!("output contains `{sign}`\n{}", run.transcript()),
        );
    }
    if run.code == 101 {
        failures.add(
            case_dir,
            format!("exit 101 (a panic)\n{}", run.transcript()),
        );
    }
    let run = Run {
        code: run.code,
        stdout: normalize(&run.stdout, work.path()),
        stderr: normalize(&run.stderr, work.path()),
    };
    run.transcript()
}

/// `hex:666f` is the bytes 0x66 0x6f (an argument that need not be UTF-8); anything else as is.
pub(crate) fn os_arg(arg: &str) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    match arg.strip_prefix("hex:") {
        Some(hex) => OsString::from_vec(
            (0..hex.len())
                .step_by(2)
                .filter_map(|i| hex.get(i..i + 2))
                .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
                .collect(),
        ),
        None => OsString::from(arg),
    }
}

pub(crate) fn edit_file(path: &Path, edit: &Edit) {
    let mut text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot edit {}: {e}", path.display()));
    if !edit.set.is_empty() || !edit.remove.is_empty() {
        let mut value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (pointer, new) in &edit.set {
            *value
                .pointer_mut(pointer)
                .unwrap_or_else(|| panic!("{}: no {pointer}", path.display())) = new.clone();
        }
        for pointer in &edit.remove {
            let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
            match value.pointer_mut(parent) {
                Some(serde_json::Value::Object(map)) => {
                    map.remove(key);
                }
                Some(serde_json::Value::Array(items)) => {
                    if let Ok(index) = key.parse::<usize>()
                        && index < items.len()
                    {
                        items.remove(index);
                    }
                }
                _ => panic!("{}: no {pointer}", path.display()),
            }
        }
        text = serde_json::to_string_pretty(&value).unwrap_or_default();
    }
    if let Some(keep) = edit.truncate {
        text = text.chars().take(keep).collect();
    }
    if let Some(replacement) = &edit.text {
        text = replacement.clone();
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

/// Stable text: the temporary directory, ports, context ids and (as plans name the emulator's
/// random integration ids) plan checksums vary from run to run; a zero checksum is a case's own.
pub(crate) fn normalize(text: &str, work: &Path) -> String {
    let text = text.replace(&work.display().to_string(), "<tmp>");
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap_or_else(|e| panic!("{e}"));
    let checksum = regex::Regex::new(r"sha256:[0-9a-f]{64}").unwrap_or_else(|e| panic!("{e}"));
    let text = normalize_context_ids(&text);
    let text = checksum.replace_all(&text, |c: &regex::Captures<'_>| {
        if c[0].ends_with(&"0".repeat(64)) {
            c[0].to_string()
        } else {
            "sha256:<checksum>".to_string()
        }
    });
    port.replace_all(&text, "127.0.0.1:<port>").into_owned()
}

/// A `nodectl serve` or `nodectl emulator` process, its address and what it wrote to stderr.
pub(crate) struct Server {
    child: Child,
    addr: String,
    work: tempfile::TempDir,
    stderr: Arc<Mutex<String>>,
    /// `@TOKEN@` and `@INTEGRATION@` for the emulator.
    vars: BTreeMap<&'static str, String>,
    /// Serve wants its token on every request.
    bearer: Option<String>,
}

impl Server {
    /// Starts `nodectl <args>` in a temporary directory (holding a copy of the shared project),
    /// and reads the base URL from the first stdout line starting with `prefix`.
    pub(crate) fn start(args: &[&str], prefix: &str) -> Server {
        let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        copy_project(
            &root().join("tests/cases/bad_input/project"),
            work.path(),
            "",
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_nodectl"))
            .args(args)
            .current_dir(work.path())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("NODECTL_EMULATOR_CLIENT_ID")
            .env_remove("NODECTL_EMULATOR_CLIENT_SECRET")
            .env_remove("NODECTL_SERVE_TOKEN")
            .envs(BACKTRACE_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nodectl {args:?}: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut lines = BufReader::new(stdout).lines();
        let mut addr = String::new();
        let mut vars = BTreeMap::new();
        for line in lines.by_ref() {
            let line = line.unwrap_or_default();
            if let Some(url) = line.strip_prefix(prefix) {
                addr = url.trim_start_matches("http://").to_string();
            }
            if line.contains("integration:")
                && line.contains("Web Services")
                && let Some((_, id)) = line.trim().rsplit_once(", id ")
            {
                vars.insert("@INTEGRATION@", id.trim_end_matches(')').to_string());
            }
            if line.starts_with("Ctrl-C") {
                break;
            }
        }
        assert!(!addr.is_empty(), "nodectl {args:?} printed no address");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Ok(mut text) = sink.lock() {
                        text.push_str(&line);
                        text.push('\n');
                    }
                }
            });
        }
        Server {
            child,
            addr,
            work,
            stderr,
            vars,
            bearer: None,
        }
    }

    pub(crate) fn serve() -> Server {
        let mut server = Server::start(
            &[
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--token",
                SERVE_TOKEN,
                "--dir",
                ".",
            ],
            "serving on ",
        );
        server.bearer = Some(format!("Bearer {SERVE_TOKEN}"));
        server
    }

    pub(crate) fn emulator() -> Server {
        let mut server = Server::start(
            &[
                "emulator",
                "--addr",
                "127.0.0.1:0",
                "--seed",
                "7",
                "--integration",
                "Web Services",
            ],
            "emulator listening on ",
        );
        let credentials =
            nodectl::emulator::auth::basic_header("nodectl-emulator", "nodectl-emulator-secret");
        let body = "grant_type=client_credentials";
        let request = format!(
            "POST /oauth/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {credentials}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let answer = exchange(&server.addr, request.as_bytes(), false);
        let token = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no token from the emulator: {}", answer.head));
        server.vars.insert("@TOKEN@", token);
        server
    }

    fn substitute(&self, text: &str) -> String {
        self.vars
            .iter()
            .fold(text.to_string(), |text, (name, value)| {
                text.replace(name, value)
            })
    }

    /// `host:port` of the server.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// A substitution the server provides (`@TOKEN@`, `@INTEGRATION@` for the emulator).
    pub(crate) fn var(&self, name: &str) -> &str {
        self.vars.get(name).map_or("", String::as_str)
    }

    /// What the server wrote to stderr since the last call.
    fn take_stderr(&self) -> String {
        self.stderr
            .lock()
            .map(|mut text| std::mem::take(&mut *text))
            .unwrap_or_default()
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// An HTTP answer: its head (status line and headers) and its body, de-chunked.
struct Answer {
    head: String,
    body: Vec<u8>,
}

/// Sends `request` as is and reads until the server closes the connection.
fn exchange(addr: &str, request: &[u8], half_close: bool) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(request);
    if half_close {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut bytes = Vec::new();
    if let Err(error) = stream.read_to_end(&mut bytes)
        && bytes.is_empty()
    {
        return Answer {
            head: format!("no answer: {}", error.kind()),
            body: Vec::new(),
        };
    }
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(bytes.len());
    let head = String::from_utf8_lossy(bytes.get(..split).unwrap_or_default()).into_owned();
    let rest = bytes.get(split + 4..).unwrap_or_default();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    if head.is_empty() {
        return Answer {
            head: "no answer: the connection was closed".to_string(),
            body,
        };
    }
    Answer { head, body }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(rest.get(..end).unwrap_or_default())
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        body.extend_from_slice(rest.get(end + 2..end + 2 + size).unwrap_or_default());
        rest = rest.get(end + 4 + size..).unwrap_or_default();
    }
    body
}

fn send_request(case_dir: &Path, case: &Case, server: &Server, failures: &mut Failures) -> String {
    let body: Vec<u8> = match (&case.body, &case.body_file, case.body_size) {
        (Some(text), _, _) => server.substitute(text).into_bytes(),
        (None, Some(file), _) => {
            std::fs::read(case_dir.join(file)).unwrap_or_else(|e| panic!("{e}"))
        }
        (None, None, Some(size)) => vec![b'x'; size],
        (None, None, None) => Vec::new(),
    };
    let mut head: Vec<String> = case.head.iter().map(|h| server.substitute(h)).collect();
    if let Some(size) = case.header_size {
        head.push(format!("X-Padding: {}", "a".repeat(size)));
    }
    let has = |name: &str| {
        head.iter().skip(1).any(|h| {
            h.split(':')
                .next()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
        })
    };
    let mut request = head.join("\r\n");
    request.push_str("\r\n");
    if !case.raw {
        request.push_str("Host: 127.0.0.1\r\nConnection: close\r\n");
        if !has("content-length") && !has("transfer-encoding") {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        if let Some(bearer) = &server.bearer
            && !has("authorization")
        {
            request.push_str(&format!("Authorization: {bearer}\r\n"));
        }
        request.push_str("\r\n");
    }
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(&body);
    let answer = exchange(&server.addr, &bytes, case.half_close);
    let stderr = server.take_stderr();
    for sign in crash_signs(&stderr) {
        failures.add(
            case_dir,
            format!("the server's stderr contains `{sign}`:\n{stderr}"),
        );
    }
    let body_text = String::from_utf8_lossy(&answer.body).into_owned();
    for sign in crash_signs(&body_text) {
        failures.add(case_dir, format!("the answer contains `{sign}`"));
    }
    let mut transcript = String::new();
    let mut lines = answer.head.lines();
    transcript.push_str(lines.next().unwrap_or_default());
    transcript.push('\n');
    for line in lines {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if ["content-type", "allow", "www-authenticate", "retry-after"].contains(&name.as_str()) {
            let value = line
                .split_once(':')
                .map(|(_, v)| v.trim())
                .unwrap_or_default();
            transcript.push_str(&format!("{name}: {value}\n"));
        }
    }
    transcript.push_str("---\n");
    match serde_json::from_slice::<serde_json::Value>(&answer.body) {
        Ok(value) => {
            transcript.push_str(&serde_json::to_string_pretty(&value).unwrap_or_default());
            transcript.push('\n');
        }
        Err(_) if !body_text.is_empty() => {
            transcript.push_str(&body_text);
            if !body_text.ends_with('\n') {
                transcript.push('\n');
            }
        }
        Err(_) => {}
    }
    let mut text = normalize(&transcript, server.work.path());
    for (name, value) in &server.vars {
        text = text.replace(value.as_str(), name);
    }
    text
}

fn command_category(category: &str) {
    let mut failures = Failures::default();
    let all = cases(&format!("bad_input/{category}"));
    for case in &all {
        check(case, &Target::Command, &mut failures);
    }
    failures.finish(&format!("bad_input/{category}"), all.len());
}

/// Every case of an HTTP category against one server, which must still answer afterwards.
fn http_category(category: &str, server: Server, health: &[&str]) {
    http_cases(&format!("bad_input/{category}"), server, health);
}

/// Every case of `tests/cases/<group>` against one server, which must still answer afterwards.
pub(crate) fn http_cases(group: &str, mut server: Server, health: &[&str]) {
    let mut failures = Failures::default();
    let all = cases(group);
    for case in &all {
        check(case, &Target::Http(&server), &mut failures);
    }
    let probe = Case {
        head: health.iter().map(|h| h.to_string()).collect(),
        ..Case::default()
    };
    let category_dir = root().join("tests/cases").join(group);
    let answer = send_request(&category_dir, &probe, &server, &mut failures);
    if !server.alive() || !answer.starts_with("HTTP/1.1 200") {
        failures.add(
            &category_dir,
            format!("the server did not stay up after the cases:\n{answer}"),
        );
    }
    failures.finish(group, all.len());
}

#[test]
fn bad_manifests() {
    command_category("manifests");
}

#[test]
fn bad_fixtures() {
    command_category("fixtures");
}

#[test]
fn bad_plans() {
    command_category("plans");
}

#[test]
fn bad_command_lines() {
    command_category("cli");
}

#[test]
fn bad_requests_to_serve() {
    http_category("serve", Server::serve(), &["GET /healthz HTTP/1.1"]);
}

#[test]
fn bad_requests_to_the_emulator() {
    http_category(
        "emulator",
        Server::emulator(),
        &[
            "GET /api/v2/integrations HTTP/1.1",
            "Authorization: Bearer @TOKEN@",
        ],
    );
}

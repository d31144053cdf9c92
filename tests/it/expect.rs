//! The expect-file helper: compares actual output with a file, or rewrites the file when
//! `UPDATE_EXPECT=1`. Mismatches are collected so that one run reports every failing case.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What running nodectl produced, in the form stored in expected files.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// `exit: N`, then stdout and stderr under their own headings.
    pub fn transcript(&self) -> String {
        let mut text = format!("exit: {}\n--- stdout\n{}", self.code, self.stdout);
        if !self.stderr.is_empty() {
            text.push_str("--- stderr\n");
            text.push_str(&self.stderr);
        }
        text
    }
}

/// Runs the nodectl binary in `cwd` with `args`, colour off, no inherited project variables.
pub fn nodectl(cwd: &Path, args: &[&str]) -> Run {
    nodectl_with(cwd, args, &[], None)
}

/// Like `nodectl`, with extra environment variables and text on standard input.
pub fn nodectl_with<A: AsRef<std::ffi::OsStr>>(
    cwd: &Path,
    args: &[A],
    envs: &[(String, String)],
    stdin: Option<&str>,
) -> Run {
    use std::io::Write;
    let mut command = Command::new(env!("CARGO_BIN_EXE_nodectl"));
    command
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("NODECTL_API_BASE")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run nodectl: {e}"));
    if let Some(mut pipe) = child.stdin.take() {
        let _ = pipe.write_all(stdin.unwrap_or_default().as_bytes());
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("nodectl did not finish: {e}"));
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The case directories directly under `tests/cases/<group>`, sorted.
pub fn cases(group: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/cases").join(group);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    found.sort();
    found
}

/// Copies a case project into a temporary directory, replacing `@UPSTREAM@` by `upstream` (the
/// address of a scripted upstream) in every text file; other files are copied byte for byte.
pub fn copy_project(from: &Path, to: &Path, upstream: &str) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_project(&entry.path(), &target, upstream);
        } else {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            let bytes = match String::from_utf8(bytes) {
                Ok(text) => text.replace("@UPSTREAM@", upstream).into_bytes(),
                Err(error) => error.into_bytes(),
            };
            std::fs::write(&target, bytes).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Per-execution context ids vary from run to run (the zero UUID of `orgId` does not).
pub fn normalize_context_ids(text: &str) -> String {
    let uuid = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .unwrap_or_else(|e| panic!("{e}"));
    uuid.replace_all(text, |c: &regex::Captures<'_>| {
        if &c[0] == "00000000-0000-0000-0000-000000000000" {
            c[0].to_string()
        } else {
            "<context-id>".to_string()
        }
    })
    .into_owned()
}

/// The case files (`*.toml`) directly under `tests/cases/<group>`, sorted.
pub fn case_files(group: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/cases").join(group);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    found.sort();
    found
}

/// Collects mismatches across cases and fails once at the end with all of them.
#[derive(Default)]
pub struct Failures(Vec<String>);

impl Failures {
    pub fn add(&mut self, case: &Path, message: impl Into<String>) {
        self.0
            .push(format!("{}: {}", case.display(), message.into()));
    }

    /// Compares `actual` with the file at `expected_path` (or rewrites it under `UPDATE_EXPECT=1`).
    pub fn expect_file(&mut self, case: &Path, expected_path: &Path, actual: &str) {
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(expected_path, actual)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", expected_path.display()));
            return;
        }
        let expected = std::fs::read_to_string(expected_path).unwrap_or_default();
        if expected != actual {
            let diff = similar::TextDiff::from_lines(&expected, actual)
                .unified_diff()
                .header("expected", "actual")
                .to_string();
            self.add(
                case,
                format!(
                    "output differs from {} (UPDATE_EXPECT=1 to accept):\n{diff}",
                    expected_path.display()
                ),
            );
        }
    }

    pub fn finish(self, what: &str, count: usize) {
        assert!(count > 0, "no {what} cases found");
        assert!(
            self.0.is_empty(),
            "{} of {count} {what} cases failed:\n\n{}",
            self.0.len(),
            self.0.join("\n\n")
        );
    }
}

/// One HTTP/1.1 request over a plain TCP stream (`Connection: close`, `Content-Length` always
/// sent): the status and the body as it came (a chunked body is not decoded).
pub fn http_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> (u16, String) {
    let mut stream =
        std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    let body = body.unwrap_or("");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    use std::io::{Read, Write};
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Starts nodectl in `cwd` in the background, its output discarded (for runs a test kills or races).
pub fn spawn_nodectl<S: AsRef<std::ffi::OsStr>>(
    cwd: &Path,
    args: &[S],
    envs: &[(String, String)],
) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_nodectl"))
        .args(args)
        .current_dir(cwd)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start nodectl: {e}"))
}

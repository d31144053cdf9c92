//! The emulator through real HTTP: each `tests/cases/emulator/*.toml` starts an in-process
//! emulator on 127.0.0.1:0 with its `[options]` (the command line's names), a scripted upstream
//! with its `[[reply]]`s, and runs its `[[step]]`s in order — a request (method, path, auth,
//! headers, body), then what to show of the answer — or a restart, a crash, a pause. `*.expected`
//! holds the transcript: status, chosen headers, the body (or chosen parts of it), state-file
//! excerpts and what the upstream received.
//!
//! Steps may save values of an answer (`save = { ACTION = "/id" }`) and use them as `@ACTION@` in
//! later paths, headers and bodies; `@INTEGRATION@` (`@INTEGRATION_2@`, …) are the ids of the
//! `--integration`s, `@TYPED_1@` (`@TYPED_2@`, …) those of the `--typed-integration`s, `@BUILTIN@`
//! the built-in integration's, `@UPSTREAM@` the upstream's base.
//! Bodies are inline (`body`), or a file of `tests/cases/emulator/bodies/` (`body_file`) with
//! JSON-pointer overrides (`set = { "/name" = "B" }`). Requests to `/api/` carry a token the
//! harness fetched (`auth = "token"`, the default) and `ININ-Correlation-Id: step-N`, so context
//! ids are stable; ids, tokens and ports are normalized, and `Retry-After` / `inin-ratelimit-reset`
//! values between 50 and 60 show as `~60` (the window's remaining seconds depend on timing).
//! `concurrent = N` sends a step's request N times at once (the execution limits' cases): the
//! statuses sorted on one line, then the answer with the highest status.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nodectl::emulator::{self, EmulatorHandle, EmulatorOptions, auth::basic_header};
use serde_json::Value;

use crate::expect::{Failures, root};
use crate::upstream::{Reply, Upstream};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    options: Option<EmulatorOptions>,
    /// Give the emulator a state file in a temporary directory.
    #[serde(default)]
    state_file: bool,
    #[serde(default)]
    reply: Vec<Reply>,
    #[serde(default)]
    step: Vec<Step>,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Step {
    /// A heading for the transcript.
    #[serde(default)]
    note: Option<String>,
    /// `METHOD /path?query`.
    #[serde(default)]
    request: Option<String>,
    /// `token` (default for /api/), `none`, `basic` (the emulator's client), `basic:ID:SECRET`,
    /// `bearer:TOKEN`.
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_file: Option<String>,
    #[serde(default)]
    set: BTreeMap<String, Value>,
    /// JSON pointers to remove from the body.
    #[serde(default)]
    remove: Vec<String>,
    /// A body of this many bytes (`x` repeated).
    #[serde(default)]
    body_size: Option<usize>,
    /// Leave out the `ININ-Correlation-Id` header.
    #[serde(default)]
    no_correlation: bool,
    /// What to show: `/json/pointer`, `header:NAME`; the whole body when absent.
    #[serde(default)]
    show: Option<Vec<String>>,
    #[serde(default)]
    save: BTreeMap<String, String>,
    /// Fails the case unless the answer took at least this long.
    #[serde(default)]
    min_ms: Option<u64>,
    #[serde(default)]
    sleep_ms: Option<u64>,
    /// `graceful` (shutdown, then start again on the same state file) or `crash` (abort, then start).
    #[serde(default)]
    restart: Option<String>,
    /// Changes to the state file while a restart has the emulator stopped (JSON pointer → value).
    #[serde(default)]
    edit_state: BTreeMap<String, Value>,
    /// Parts of the state file on disk to show (JSON pointers).
    #[serde(default)]
    state: Option<Vec<String>>,
    /// Repeat the request this many times, showing each answer's status on one line.
    #[serde(default)]
    repeat: Option<u32>,
    /// Send the request this many times at once: the statuses sorted on one line, then the answer
    /// with the highest status as `show` says.
    #[serde(default)]
    concurrent: Option<u32>,
}

struct Run<'a> {
    options: EmulatorOptions,
    handle: Option<EmulatorHandle>,
    client: reqwest::Client,
    token: Option<String>,
    vars: BTreeMap<String, String>,
    bases: Vec<String>,
    transcript: String,
    failures: &'a mut Failures,
    case: PathBuf,
}

fn check(case_file: &Path, failures: &mut Failures) {
    let text = std::fs::read_to_string(case_file).unwrap_or_default();
    let case: Case =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", case_file.display()));
    let upstream = Upstream::start(case.reply.clone());
    let state_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut options = case.options.clone().unwrap_or_default();
    options.addr = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
    if case.state_file {
        options.state = Some(state_dir.path().join("org.json"));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    nodectl::transport::live::install_crypto_provider();
    let client = reqwest::Client::builder()
        .retry(reqwest::retry::never())
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut run = Run {
        options,
        handle: None,
        client,
        token: None,
        vars: BTreeMap::new(),
        bases: vec![],
        transcript: String::new(),
        failures,
        case: case_file.to_path_buf(),
    };
    run.vars
        .insert("UPSTREAM".to_string(), upstream.base.clone());
    runtime.block_on(async {
        run.start().await;
        for (index, step) in case.step.iter().enumerate() {
            run.step(index + 1, step).await;
        }
        if let Some(handle) = run.handle.take()
            && let Err(error) = handle.shutdown().await
        {
            run.failures
                .add(&run.case, format!("shutdown failed: {error}"));
        }
    });
    let received = upstream.received();
    if !received.is_empty() {
        run.transcript.push_str("=== upstream received\n");
        for request in received {
            run.transcript
                .push_str(&format!("{} {}\n", request.method, request.target));
            for (name, value) in &request.headers {
                if !["host", "content-length", "user-agent"]
                    .contains(&name.to_ascii_lowercase().as_str())
                {
                    run.transcript.push_str(&format!("  {name}: {value}\n"));
                }
            }
            if !request.body.is_empty() {
                run.transcript
                    .push_str(&format!("  body: {}\n", request.body));
            }
        }
    }
    let mut transcript = std::mem::take(&mut run.transcript);
    for base in &run.bases {
        transcript = transcript.replace(base.as_str(), "@EMULATOR@");
    }
    transcript = transcript.replace(&upstream.base, "@UPSTREAM@");
    let transcript = normalize(&transcript);
    run.failures.expect_file(
        case_file,
        &case_file.with_extension("expected"),
        &transcript,
    );
}

impl Run<'_> {
    async fn start(&mut self) {
        let handle = emulator::start(self.options.clone())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.case.display()));
        self.bases.push(handle.base_url().to_string());
        let integrations = handle.integrations();
        let mut custom = 0;
        for (name, id, _) in &integrations {
            if id == emulator::state::BUILT_IN_INTEGRATION_ID {
                self.vars.insert("BUILTIN".to_string(), id.clone());
            } else if self.options.integration.contains(name) {
                custom += 1;
                if custom == 1 {
                    self.vars.insert("INTEGRATION".to_string(), id.clone());
                }
                self.vars
                    .insert(format!("INTEGRATION_{custom}"), id.clone());
            }
        }
        for (index, entry) in self.options.typed_integration.iter().enumerate() {
            let name = entry.split_once('=').map_or("", |(_, name)| name);
            if let Some((_, id, _)) = integrations.iter().find(|(n, _, _)| n == name) {
                self.vars.insert(format!("TYPED_{}", index + 1), id.clone());
            }
        }
        self.token = None;
        self.handle = Some(handle);
    }

    fn base(&self) -> String {
        self.handle
            .as_ref()
            .map(|h| h.base_url().to_string())
            .unwrap_or_default()
    }

    fn substitute(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (name, value) in &self.vars {
            text = text.replace(&format!("@{name}@"), value);
        }
        text
    }

    /// A token from the emulator's own client, retried through injected faults.
    async fn token(&mut self) -> String {
        if let Some(token) = &self.token {
            return token.clone();
        }
        let options = &self.options;
        for _ in 0..50 {
            let answer = self
                .client
                .post(format!("{}/oauth/token", self.base()))
                .header(
                    "Authorization",
                    basic_header(&options.client_id, &options.client_secret),
                )
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials")
                .send()
                .await;
            if let Ok(answer) = answer
                && answer.status() == 200
                && let Ok(body) = answer.json_value().await
                && let Some(token) = body.get("access_token").and_then(Value::as_str)
            {
                self.token = Some(token.to_string());
                return token.to_string();
            }
        }
        panic!("{}: no token after 50 attempts", self.case.display());
    }

    async fn step(&mut self, number: usize, step: &Step) {
        if let Some(note) = &step.note {
            self.transcript.push_str(&format!("### {note}\n"));
        }
        if let Some(ms) = step.sleep_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            self.transcript.push_str(&format!("(slept {ms} ms)\n"));
        }
        if let Some(kind) = &step.restart {
            let handle = self.handle.take();
            match (kind.as_str(), handle) {
                ("graceful", Some(handle)) => {
                    if let Err(error) = handle.shutdown().await {
                        self.failures
                            .add(&self.case, format!("shutdown failed: {error}"));
                    }
                }
                ("crash", Some(handle)) => handle.abort(),
                (other, _) => panic!("{}: restart = {other:?}", self.case.display()),
            }
            self.transcript.push_str(&format!("=== restart ({kind})\n"));
            if !step.edit_state.is_empty() {
                self.edit_state(&step.edit_state);
            }
            self.start().await;
        }
        if let Some(request) = &step.request {
            self.request(number, step, request).await;
        }
        if let Some(pointers) = &step.state {
            self.show_state(pointers);
        }
    }

    /// Changes the state file on disk (the emulator is stopped).
    fn edit_state(&mut self, edits: &BTreeMap<String, Value>) {
        let path = self.options.state.clone().unwrap_or_default();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut state: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: state file: {e}", self.case.display()));
        for (pointer, value) in edits {
            set_pointer(&mut state, &self.substitute(pointer), value.clone());
            self.transcript
                .push_str(&format!("edited state {pointer}\n"));
        }
        std::fs::write(&path, state.to_string()).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Parts of the state file on disk.
    fn show_state(&mut self, pointers: &[String]) {
        let path = self.options.state.clone().unwrap_or_default();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let state: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        for pointer in pointers {
            let part = state
                .pointer(&self.substitute(pointer))
                .cloned()
                .unwrap_or(Value::Null);
            self.transcript.push_str(&format!(
                "state {pointer}: {}\n",
                serde_json::to_string_pretty(&part).unwrap_or_default()
            ));
        }
    }

    async fn request(&mut self, number: usize, step: &Step, request: &str) {
        let request = self.substitute(request);
        let (method, target) = request
            .split_once(' ')
            .unwrap_or_else(|| panic!("{}: bad request line {request}", self.case.display()));
        self.transcript.push_str(&format!("=== {request}\n"));
        if let Some(count) = step.concurrent {
            self.concurrently(number, step, method, target, count).await;
            return;
        }
        let repeat = step.repeat.unwrap_or(1);
        let mut statuses = Vec::new();
        for _ in 0..repeat {
            let started = Instant::now();
            let answer = self.send(number, step, method, target).await;
            if let Some(min) = step.min_ms {
                let took = started.elapsed().as_millis();
                if took < u128::from(min) {
                    self.failures.add(
                        &self.case,
                        format!("step {number} took {took} ms, expected at least {min} ms"),
                    );
                }
            }
            if repeat > 1 {
                statuses.push(match &answer {
                    Ok((status, _, _)) => status.to_string(),
                    Err(_) => "dropped".to_string(),
                });
                continue;
            }
            self.show(step, answer, number);
        }
        if repeat > 1 {
            self.transcript
                .push_str(&format!("--> {}\n", statuses.join(" ")));
        }
        if let Some(min) = step.min_ms {
            self.transcript
                .push_str(&format!("(took at least {min} ms)\n"));
        }
    }

    /// `count` copies of the request in flight at once.
    async fn concurrently(
        &mut self,
        number: usize,
        step: &Step,
        method: &str,
        target: &str,
        count: u32,
    ) {
        let mut builders = Vec::new();
        for _ in 0..count {
            builders.push(self.build(number, step, method, target).await);
        }
        let sent: Vec<_> = builders
            .into_iter()
            .map(|builder| {
                tokio::spawn(async move {
                    let answer = builder.send().await.map_err(|e| e.to_string())?;
                    let status = answer.status().as_u16();
                    let headers = answer.headers().clone();
                    let text = answer.text().await.map_err(|e| e.to_string())?;
                    Ok::<_, String>((status, headers, text))
                })
            })
            .collect();
        let mut answers = Vec::new();
        for handle in sent {
            answers.push(handle.await.unwrap_or_else(|e| Err(e.to_string())));
        }
        answers.sort_by_key(|answer| answer.as_ref().map_or(u16::MAX, |(status, _, _)| *status));
        let statuses: Vec<String> = answers
            .iter()
            .map(|answer| match answer {
                Ok((status, _, _)) => status.to_string(),
                Err(_) => "dropped".to_string(),
            })
            .collect();
        self.transcript
            .push_str(&format!("--> {} (at once)\n", statuses.join(" ")));
        if let Some(last) = answers.pop() {
            self.show(step, last, number);
        }
    }

    async fn send(
        &mut self,
        number: usize,
        step: &Step,
        method: &str,
        target: &str,
    ) -> Result<(u16, reqwest::header::HeaderMap, String), String> {
        let builder = self.build(number, step, method, target).await;
        let answer = builder.send().await.map_err(|e| e.to_string())?;
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let text = answer.text().await.map_err(|e| e.to_string())?;
        Ok((status, headers, text))
    }

    /// The request of a step, ready to send.
    async fn build(
        &mut self,
        number: usize,
        step: &Step,
        method: &str,
        target: &str,
    ) -> reqwest::RequestBuilder {
        let url = format!("{}{target}", self.base());
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", self.case.display()));
        let mut builder = self.client.request(method, &url);
        let auth = step.auth.clone().unwrap_or_else(|| {
            if target.starts_with("/api/") {
                "token".to_string()
            } else if target.starts_with("/oauth/") {
                "basic".to_string()
            } else {
                "none".to_string()
            }
        });
        let auth = self.substitute(&auth);
        let header = match auth.as_str() {
            "none" => None,
            "token" => Some(format!("Bearer {}", self.token().await)),
            "basic" => Some(basic_header(
                &self.options.client_id,
                &self.options.client_secret,
            )),
            other => match (other.strip_prefix("basic:"), other.strip_prefix("bearer:")) {
                (Some(pair), _) => {
                    let (id, secret) = pair.split_once(':').unwrap_or((pair, ""));
                    Some(basic_header(id, secret))
                }
                (_, Some(token)) => Some(format!("Bearer {token}")),
                _ => Some(other.to_string()),
            },
        };
        if let Some(header) = header {
            builder = builder.header("Authorization", header);
        }
        if !step.no_correlation {
            builder = builder.header("ININ-Correlation-Id", format!("step-{number}"));
        }
        for (name, value) in &step.headers {
            builder = builder.header(name.as_str(), self.substitute(value));
        }
        if let Some(body) = self.body(step) {
            if !step
                .headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"))
            {
                let content_type = if target.starts_with("/oauth/") {
                    "application/x-www-form-urlencoded"
                } else {
                    "application/json"
                };
                builder = builder.header("Content-Type", content_type);
            }
            builder = builder.body(body);
        }
        builder
    }

    fn body(&self, step: &Step) -> Option<String> {
        if let Some(size) = step.body_size {
            return Some("x".repeat(size));
        }
        let text = match (&step.body, &step.body_file) {
            (Some(body), _) => body.clone(),
            (None, Some(file)) => {
                let path = root().join("tests/cases/emulator/bodies").join(file);
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            }
            (None, None) => return None,
        };
        let text = self.substitute(&text);
        if step.set.is_empty() && step.remove.is_empty() {
            return Some(text);
        }
        let mut value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: body is not JSON: {e}", self.case.display()));
        for (pointer, replacement) in &step.set {
            let replacement = match replacement {
                Value::String(s) => Value::String(self.substitute(s)),
                other => other.clone(),
            };
            set_pointer(&mut value, pointer, replacement);
        }
        for pointer in &step.remove {
            let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
            if let Some(Value::Object(map)) = value.pointer_mut(parent) {
                map.shift_remove(key);
            }
        }
        Some(value.to_string())
    }

    fn show(
        &mut self,
        step: &Step,
        answer: Result<(u16, reqwest::header::HeaderMap, String), String>,
        number: usize,
    ) {
        let (status, headers, text) = match answer {
            Ok(answer) => answer,
            Err(_) => {
                self.transcript
                    .push_str("--> connection closed without an answer\n");
                return;
            }
        };
        self.transcript.push_str(&format!("--> {status}\n"));
        let json: Option<Value> = serde_json::from_str(&text).ok();
        match &step.show {
            None => {
                if let Some(json) = &json {
                    self.transcript
                        .push_str(&serde_json::to_string_pretty(json).unwrap_or_default());
                    self.transcript.push('\n');
                } else if !text.is_empty() {
                    self.transcript.push_str(&text);
                    if !text.ends_with('\n') {
                        self.transcript.push('\n');
                    }
                    self.transcript.push_str("(end of text)\n");
                }
            }
            Some(parts) => {
                for part in parts {
                    if let Some(name) = part.strip_prefix("header:") {
                        let value = headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map_or("(absent)".to_string(), |v| approximate(name, v));
                        self.transcript.push_str(&format!("{name}: {value}\n"));
                    } else {
                        let value = json
                            .as_ref()
                            .and_then(|j| j.pointer(part))
                            .map_or("(absent)".to_string(), |v| v.to_string());
                        self.transcript.push_str(&format!("{part}: {value}\n"));
                    }
                }
            }
        }
        for (name, pointer) in &step.save {
            match json.as_ref().and_then(|j| j.pointer(pointer)) {
                Some(Value::String(s)) => {
                    self.vars.insert(name.clone(), s.clone());
                }
                Some(other) => {
                    self.vars.insert(name.clone(), other.to_string());
                }
                None => self.failures.add(
                    &self.case,
                    format!("step {number}: nothing at {pointer} to save as {name}"),
                ),
            }
        }
    }
}

/// The seconds left in the rate-limit window depend on timing: 50 to 60 shows as `~60`.
fn approximate(name: &str, value: &str) -> String {
    let timed =
        ["retry-after", "inin-ratelimit-reset"].contains(&name.to_ascii_lowercase().as_str());
    match value.parse::<u64>() {
        Ok(n) if timed && (50..=60).contains(&n) => "~60".to_string(),
        _ => value.to_string(),
    }
}

fn set_pointer(value: &mut Value, pointer: &str, replacement: Value) {
    if let Some(target) = value.pointer_mut(pointer) {
        *target = replacement;
        return;
    }
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    match value.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(key.to_string(), replacement);
        }
        _ => panic!("cannot set {pointer}: no object at {parent}"),
    }
}

/// Tokens, then UUIDs (numbered by first appearance, the zero UUID kept).
fn normalize(text: &str) -> String {
    let token = regex::Regex::new(r"\b[0-9a-f]{64}\b").unwrap_or_else(|e| panic!("{e}"));
    let text = token.replace_all(text, "<token>");
    let uuid = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut seen: Vec<String> = Vec::new();
    uuid.replace_all(&text, |c: &regex::Captures<'_>| {
        let id = c[0].to_string();
        if id == "00000000-0000-0000-0000-000000000000" {
            return id;
        }
        let index = match seen.iter().position(|s| *s == id) {
            Some(index) => index,
            None => {
                seen.push(id);
                seen.len() - 1
            }
        };
        format!("<uuid-{}>", index + 1)
    })
    .into_owned()
}

trait JsonValue {
    async fn json_value(self) -> Result<Value, String>;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Result<Value, String> {
        let text = self.text().await.map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }
}

#[test]
fn emulator_answers_the_genesys_api() {
    let mut failures = Failures::default();
    let cases = crate::expect::case_files("emulator");
    for case in &cases {
        check(case, &mut failures);
    }
    failures.finish("emulator", cases.len());
}

/// `nodectl emulator` as a user runs it: prints the bound URL and the client, serves, stops on
/// SIGTERM with exit 0 and the state written; bad options are usage errors.
#[cfg(unix)]
#[test]
fn the_emulator_command_serves_until_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = dir.path().join("org.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nodectl"))
        .args(["emulator", "--addr", ":0", "--integration", "Web Services"])
        .arg("--state")
        .arg(&state)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run nodectl: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let first = lines
        .next()
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("no output"));
    let base = first
        .strip_prefix("emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_string();
    let mut banner = vec![first.replace(&base, "@EMULATOR@")];
    for line in lines.by_ref() {
        let line = line.unwrap_or_default();
        let done = line.starts_with("Ctrl-C");
        banner.push(line.replace(&base, "@EMULATOR@"));
        if done {
            break;
        }
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    nodectl::transport::live::install_crypto_provider();
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/oauth/token"))
            .header(
                "Authorization",
                basic_header(emulator::DEFAULT_CLIENT_ID, emulator::DEFAULT_CLIENT_SECRET),
            )
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    });
    assert_eq!(status, 200);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(killed.success());
    let rest: Vec<String> = lines.map(|l| l.unwrap_or_default()).collect();
    let exit = child.wait().unwrap_or_else(|e| panic!("{e}"));
    let state_text = std::fs::read_to_string(&state).unwrap_or_default();
    let transcript = format!(
        "exit: {:?}\n{}\n{}\n",
        exit.code(),
        banner.join("\n"),
        rest.join("\n")
    )
    .replace(&dir.path().display().to_string(), "@DIR@");
    let transcript = normalize(&transcript);
    let mut failures = Failures::default();
    let case = root().join("tests/cases/emulator/command");
    failures.expect_file(&case, &case.with_extension("expected"), &transcript);
    if !state_text.contains("\"Web Services\"") {
        failures.add(
            &case,
            format!("state file lacks the integration:\n{state_text}"),
        );
    }

    let usage = crate::expect::nodectl(&root(), &["emulator", "--fail-rate", "2", "--addr", ":0"]);
    failures.expect_file(
        &case,
        &root().join("tests/cases/emulator/command-usage.expected"),
        &usage.transcript(),
    );
    failures.finish("emulator command", 1);
}

/// `nodectl emulator --flows FILE` with a file that is not a flows declaration: a start error naming
/// the file and every problem.
#[test]
fn a_bad_flows_file_is_a_start_error() {
    let run = crate::expect::nodectl(
        &root(),
        &[
            "emulator",
            "--addr",
            ":0",
            "--flows",
            "tests/cases/emulator/bodies/flows-bad.json",
        ],
    );
    let mut failures = Failures::default();
    let case = root().join("tests/cases/emulator/flows-bad-file");
    failures.expect_file(&case, &case.with_extension("expected"), &run.transcript());
    failures.finish("emulator --flows", 1);
}

/// `exec::run_authenticated` (what the emulator's `/test` and `/execute` and serve's org run an
/// action with): an action reading `${authResponse.access_token}` runs its integration's
/// `customAuth_-_<integrationId>` action first, over the same transport, and `/test`'s trace shows
/// the authenticate step. Over the replay of the `test` case's fixture `orders/replayed`.
#[test]
fn an_action_reading_the_auth_response_runs_the_custom_authentication_action_first() {
    use nodectl::emulator::convert::post_input;
    use nodectl::emulator::exec::{self, Mode, Upstream as ExecUpstream};
    use nodectl::emulator::state::{Body, Org};
    use nodectl::fixture::replay::ReplayTransport;
    use nodectl::manifest::{EnvScope, LoadOptions};
    use nodectl::runtime::{Runtime, VirtualClock};
    use std::sync::Arc;

    let dir = root().join("tests/cases/test/custom-auth");
    let loaded = nodectl::lint::load(&LoadOptions {
        dir: Some(dir.clone()),
        cwd: dir,
        envs: EnvScope::One(None),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let project = loaded
        .project
        .unwrap_or_else(|| panic!("the case project does not load"));
    let nodes = project
        .nodes
        .get("local")
        .unwrap_or_else(|| panic!("no env"));
    let node = |name: &str| {
        nodes
            .iter()
            .find(|n| n.key.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    };
    let fixture = project
        .fixtures
        .iter()
        .find(|f| f.name == "orders/replayed")
        .unwrap_or_else(|| panic!("no fixture"));

    let mut org = Org::new(7);
    let integration = org.ensure_integration("Orders API", "custom-rest-actions");
    if let Some(stored) = org.integrations.iter_mut().find(|i| i.id == integration) {
        stored.credentials = fixture.credentials.clone();
    }
    let action = org
        .create(post_input(node("Get Order"), &integration))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let auth_id = org
        .create(post_input(node("Orders API Auth"), &integration))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut auth = org.actions[&auth_id].clone();
    auth.id = format!("customAuth_-_{integration}");
    let executable = org
        .runnable(&action, false, false)
        .unwrap_or_else(|e| panic!("{e:?}"));

    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let run = |custom_auth: Option<&nodectl::emulator::state::StoredAction>| {
        let clock = Arc::new(VirtualClock::new(VirtualClock::DEFAULT_START_MS));
        let runtime = Runtime::new(
            ReplayTransport::new(fixture.exchanges.clone(), clock.clone()),
            clock,
        );
        let (reply, _) = tokio.block_on(exec::run_authenticated(
            &runtime,
            &executable,
            custom_auth,
            br#"{"orderId": "o-1"}"#,
            Mode::Test { flatten: false },
            ExecUpstream::default(),
            "ctx",
        ));
        let problems = runtime.transport().finish();
        match reply.body {
            Body::Json(value) => (value, problems),
            _ => panic!("not JSON"),
        }
    };

    let (result, problems) = run(Some(&auth));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(result["success"], Value::Bool(true), "{result:#}");
    assert_eq!(result["finalResult"]["status"], "shipped", "{result:#}");
    let operations = result["operations"].as_array().cloned().unwrap_or_default();
    assert!(
        operations
            .iter()
            .any(|o| o["name"] == "Perform authentication"
                && o["result"]["source"] == "ran the custom authentication action"),
        "{result:#}"
    );
    assert!(!result.to_string().contains("fake-token-1"), "{result:#}");

    // Without the org's custom authentication action, the authenticate step fails.
    let (result, _) = run(None);
    assert_eq!(result["success"], Value::Bool(false), "{result:#}");
    assert!(
        result
            .to_string()
            .contains("has no custom authentication action"),
        "{result:#}"
    );
}

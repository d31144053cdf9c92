//! Plan / apply scenarios through the CLI against a `nodectl emulator` process, each in
//! `tests/cases/scenarios/<name>/`: a `project/` to start from and `steps.toml` — nodectl commands,
//! file edits, and calls to the org as "someone else" would make them (`http`), or a listing of the
//! org (`list`). `expected.txt` is the whole transcript; every scenario ends with "plan again is
//! empty" (checked here, not only in the transcript).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::expect::{Failures, cases, http_request, nodectl_with, spawn_nodectl};

pub(crate) const CLIENT_ID: &str = "scenario-client";
pub(crate) const CLIENT_SECRET: &str = "scenario-secret";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Steps {
    /// Extra options for `nodectl emulator`.
    #[serde(default)]
    emulator: Vec<String>,
    /// Integrations the org has (the first is the managed one by default).
    #[serde(default = "default_integrations")]
    integrations: Vec<String>,
    /// Extra environment of every nodectl run (the pipeline's secrets, `NODECTL_SECRET_…`).
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
    step: Vec<Step>,
}

fn default_integrations() -> Vec<String> {
    vec!["Local Web Services".to_string(), "Other Team".to_string()]
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    /// Runs nodectl with these arguments (in the project directory).
    run: Option<Vec<String>>,
    /// With `run`: kill the process (SIGKILL) after this many milliseconds.
    kill_after_ms: Option<u64>,
    /// With `run`: leave the output out of the transcript (it depends on which requests injected
    /// faults hit); the steps after it show the result.
    quiet: Option<bool>,
    /// Runs these nodectl commands at the same time (racing applies); records their exit codes.
    race: Option<Vec<Vec<String>>>,
    /// Replaces `replace[0]` by `replace[1]` in this file.
    edit: Option<String>,
    replace: Option<[String; 2]>,
    /// Writes `text` to this file.
    write: Option<String>,
    text: Option<String>,
    /// Removes this file.
    remove: Option<String>,
    /// A call to the org: `["PATCH", "/api/v2/integrations/actions/{id:Name}", "{\"version\": {version:Name}}"]`
    /// (also `{integration:Name}`, `{credential:Name}`).
    http: Option<Vec<String>>,
    /// Lists the org's actions.
    list: Option<bool>,
    /// Lists the org's integrations (name, type, state, notes, bound credential) and credentials.
    list_integrations: Option<bool>,
    /// Changes the environment of the runs after this step (a rotated secret).
    set_env: Option<std::collections::BTreeMap<String, String>>,
}

/// A `nodectl emulator` process, killed when dropped.
pub(crate) struct Emulator {
    child: Child,
    pub(crate) base: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `nodectl emulator` on a free port with the scenario client, these integrations and
/// extra options.
pub(crate) fn start_emulator(integrations: &[String], extra: &[String]) -> Emulator {
    let mut args = vec![
        "emulator".to_string(),
        "--addr".into(),
        "127.0.0.1:0".into(),
        "--client-id".into(),
        CLIENT_ID.into(),
        "--client-secret".into(),
        CLIENT_SECRET.into(),
    ];
    for integration in integrations {
        args.push("--integration".into());
        args.push(integration.clone());
    }
    args.extend(extra.iter().cloned());
    let mut child = Command::new(env!("CARGO_BIN_EXE_nodectl"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the emulator: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let base = first.rsplit(' ').next().unwrap_or_default().to_string();
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "unexpected emulator output: {first}"
    );
    // Keep draining stdout so the emulator never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Emulator { child, base }
}

/// The environment of a nodectl run against the emulator at `base`: its API base and the
/// scenario client's credentials.
pub(crate) fn emulator_env(base: &str) -> Vec<(String, String)> {
    vec![
        ("NODECTL_API_BASE".to_string(), base.to_string()),
        (
            "GENESYSCLOUD_OAUTHCLIENT_ID".to_string(),
            CLIENT_ID.to_string(),
        ),
        (
            "GENESYSCLOUD_OAUTHCLIENT_SECRET".to_string(),
            CLIENT_SECRET.to_string(),
        ),
    ]
}

/// A scenario's `[env]`: the pipeline's secrets its runs get (other tests reuse a scenario's
/// project with them).
pub(crate) fn scenario_env(case: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(case.join("steps.toml")).unwrap_or_default();
    let steps: Steps = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
    steps.env.into_iter().collect()
}

/// A minimal client for "someone else": token, then JSON calls.
struct Org {
    base: String,
    token: String,
}

impl Org {
    fn connect(base: &str) -> Org {
        let mut answer = (0, String::new());
        for _ in 0..20 {
            answer = ureq_like(
                "POST",
                &format!("{base}/oauth/token"),
                None,
                Some((
                    "application/x-www-form-urlencoded",
                    "grant_type=client_credentials",
                )),
                true,
            );
            if answer.0 == 200 {
                break;
            }
        }
        let token = serde_json::from_str::<Value>(&answer.1)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_string))
            .unwrap_or_default();
        Org {
            base: base.to_string(),
            token,
        }
    }

    /// One call; GETs are repeated through injected faults (5xx, dropped connections).
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let mut answer = (0, String::new());
        for _ in 0..20 {
            answer = ureq_like(
                method,
                &format!("{}{path}", self.base),
                Some(&self.token),
                body.map(|b| ("application/json", b)),
                false,
            );
            if method != "GET" || (answer.0 != 0 && answer.0 < 500) {
                break;
            }
        }
        answer
    }

    /// The first page of a listing's entities (the scenarios' orgs are small).
    fn entities(&self, path: &str) -> Vec<Value> {
        let (_, body) = self.call("GET", &format!("{path}?pageSize=100&pageNumber=1"), None);
        serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["entities"].as_array().cloned())
            .unwrap_or_default()
    }

    fn actions(&self) -> Vec<Value> {
        self.entities("/api/v2/integrations/actions")
    }

    /// The org's integrations with their configuration, and its credentials (never values: the
    /// API has none to give), as the transcript shows them.
    fn integrations_listing(&self) -> String {
        let (_, body) = self.call(
            "GET",
            "/api/v2/integrations?pageSize=100&pageNumber=1&expand=config.current",
            None,
        );
        let integrations: Vec<Value> = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["entities"].as_array().cloned())
            .unwrap_or_default();
        let mut lines: Vec<String> = integrations
            .iter()
            .map(|i| {
                let config = &i["config"]["current"];
                let bound: Vec<String> = config["credentials"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(key, c)| format!("{key} = {}", c["name"].as_str().unwrap_or("?")))
                    .collect();
                format!(
                    "  {} ({}) {} notes {:?} credentials [{}]",
                    i["name"].as_str().unwrap_or_default(),
                    i["integrationType"]["id"].as_str().unwrap_or_default(),
                    i["intendedState"].as_str().unwrap_or_default(),
                    config["notes"].as_str().unwrap_or_default(),
                    bound.join(", ")
                )
            })
            .collect();
        lines.sort();
        let mut credentials: Vec<String> = self
            .entities("/api/v2/integrations/credentials")
            .iter()
            .map(|c| {
                format!(
                    "  {} ({})",
                    c["name"].as_str().unwrap_or_default(),
                    c["type"]["name"].as_str().unwrap_or_default()
                )
            })
            .collect();
        // Sorted as the transcript shows them: with the varying ids already normalized.
        let uuid =
            regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
                .unwrap_or_else(|e| panic!("{e}"));
        for line in lines.iter_mut().chain(credentials.iter_mut()) {
            *line = uuid.replace_all(line, "<uuid>").into_owned();
        }
        lines.sort();
        credentials.sort();
        format!(
            "=== the org's integrations ({})\n{}\n=== the org's credentials ({})\n{}\n",
            lines.len(),
            lines.join("\n"),
            credentials.len(),
            credentials.join("\n")
        )
    }

    fn integration_name(&self, id: &str) -> String {
        self.entities("/api/v2/integrations")
            .iter()
            .find(|i| i["id"] == id)
            .and_then(|i| i["name"].as_str().map(str::to_string))
            .unwrap_or_else(|| id.to_string())
    }

    /// `{id:Name}`, `{version:Name}`, `{integration:Name}` and `{credential:Name}` resolved
    /// against the org.
    fn substitute(&self, text: &str) -> String {
        let pattern = regex::Regex::new(r"\{(id|version|integration|credential):([^}]+)\}")
            .unwrap_or_else(|e| panic!("{e}"));
        let actions = self.actions();
        let integrations = self.entities("/api/v2/integrations");
        let credentials = self.entities("/api/v2/integrations/credentials");
        pattern
            .replace_all(text, |c: &regex::Captures<'_>| {
                let name = &c[2];
                match &c[1] {
                    "integration" => integrations
                        .iter()
                        .find(|i| i["name"] == name)
                        .and_then(|i| i["id"].as_str().map(str::to_string))
                        .unwrap_or_default(),
                    "credential" => credentials
                        .iter()
                        .find(|c| c["name"] == name)
                        .and_then(|c| c["id"].as_str().map(str::to_string))
                        .unwrap_or_default(),
                    kind => actions
                        .iter()
                        .find(|a| a["name"] == name)
                        .map(|a| {
                            if kind == "id" {
                                a["id"].as_str().unwrap_or_default().to_string()
                            } else {
                                a["version"].to_string()
                            }
                        })
                        .unwrap_or_default(),
                }
            })
            .into_owned()
    }
}

/// One HTTP/1.1 request over std's TcpStream (the tests need no client library of their own).
pub(crate) fn ureq_like(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<(&str, &str)>,
    basic: bool,
) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    if basic {
        let credentials =
            nodectl::vtl::tools::base64(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes());
        headers.push(("Authorization".to_string(), format!("Basic {credentials}")));
    }
    if let Some(token) = token {
        headers.push(("Authorization".to_string(), format!("Bearer {token}")));
    }
    if let Some((content_type, _)) = body {
        headers.push(("Content-Type".to_string(), content_type.to_string()));
    }
    let (status, answer) = http_request(host, method, &path, &headers, body.map(|(_, text)| text));
    (status, dechunk(&answer))
}

/// Undoes chunked transfer encoding when the server used it.
fn dechunk(body: &str) -> String {
    let mut rest = body;
    let mut out = String::new();
    loop {
        let Some((size_line, after)) = rest.split_once("\r\n") else {
            return body.to_string();
        };
        let Ok(size) = usize::from_str_radix(size_line.trim(), 16) else {
            return body.to_string();
        };
        if size == 0 {
            return out;
        }
        let Some(chunk) = after.get(..size) else {
            return body.to_string();
        };
        out.push_str(chunk);
        rest = after.get(size + 2..).unwrap_or("");
    }
}

/// The progress lines of apply come in completion order, which varies; the outcome table after them
/// is sorted and says the same.
fn without_progress(text: &str) -> String {
    let progress =
        regex::Regex::new(r"^(ok  |FAIL|STOP|skip) (create|update|rename|replace|delete) ")
            .unwrap_or_else(|e| panic!("{e}"));
    // The warnings of retried unreachable calls depend on which request a fault hit first.
    let retry_warning =
        regex::Regex::new(r"WARN nodectl::genesys::client: .*; attempt \d+ of \d+, retrying in")
            .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !progress.is_match(l) && !retry_warning.is_match(l))
        .collect();
    let kept: String = in_a_stable_order(&lines)
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    kept.strip_suffix("--- stderr\n")
        .map_or_else(|| kept.clone(), str::to_string)
}

/// Without a terminal, apply reports each change as it finishes (`  applied   create X [id v1]`,
/// an error on the lines after it): in completion order, which varies. Each run of such entries is
/// sorted.
fn in_a_stable_order<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let outcome = regex::Regex::new(r"^  \S*(applied|unchanged|FAILED|REFUSED|skipped)\S* +\S")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::with_capacity(lines.len());
    let mut entries: Vec<Vec<&str>> = Vec::new();
    let flush = |entries: &mut Vec<Vec<&'a str>>, out: &mut Vec<&'a str>| {
        entries.sort();
        out.extend(entries.drain(..).flatten());
    };
    for line in lines {
        if outcome.is_match(line) {
            entries.push(vec![line]);
        } else if line.starts_with("      ") && !entries.is_empty() {
            if let Some(entry) = entries.last_mut() {
                entry.push(line);
            }
        } else {
            flush(&mut entries, &mut out);
            out.push(line);
        }
    }
    flush(&mut entries, &mut out);
    out
}

/// Ids, checksums, context ids and ports vary from run to run.
fn normalize(text: &str, base: &str) -> String {
    let text = text.replace(base, "@EMULATOR@");
    let rules = [
        (r"custom_-_[0-9a-f-]{36}", "<action-id>"),
        (r"sha256:[0-9a-f]{64}", "sha256:<checksum>"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "<uuid>",
        ),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:<port>"),
    ];
    rules.iter().fold(text, |text, (pattern, with)| {
        regex::Regex::new(pattern)
            .map(|re| re.replace_all(&text, *with).into_owned())
            .unwrap_or(text)
    })
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

fn check(case: &Path, failures: &mut Failures) {
    let text = std::fs::read_to_string(case.join("steps.toml")).unwrap_or_default();
    let steps: Steps = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
    let emulator = start_emulator(&steps.integrations, &steps.emulator);
    let org = Org::connect(&emulator.base);
    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = project.path();
    copy_dir(&case.join("project"), dir);
    let mut envs = emulator_env(&emulator.base);
    envs.extend(steps.env.clone());
    // Every secret value the scenario ever gives nodectl: none may reach its output.
    let mut secrets: Vec<String> = steps
        .env
        .iter()
        .filter(|(name, _)| name.starts_with("NODECTL_SECRET_"))
        .map(|(_, value)| value.clone())
        .collect();
    let mut transcript = String::new();
    for step in &steps.step {
        if let Some(changed) = &step.set_env {
            for (name, value) in changed {
                envs.retain(|(n, _)| n != name);
                envs.push((name.clone(), value.clone()));
                if name.starts_with("NODECTL_SECRET_") {
                    secrets.push(value.clone());
                }
                transcript.push_str(&format!("=== the pipeline sets {name}\n"));
            }
        }
        if let Some(args) = &step.run {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            transcript.push_str(&format!("=== nodectl {}\n", args.join(" ")));
            match step.kill_after_ms {
                Some(ms) => {
                    let mut child = spawn_nodectl(dir, &args, &envs);
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                    let _ = child.kill();
                    let _ = child.wait();
                    transcript.push_str("(killed)\n");
                }
                None => {
                    let run = nodectl_with(dir, &args, &envs, None);
                    if run.stderr.contains("internal error") {
                        failures.add(case, format!("nodectl crashed on {args:?}"));
                    }
                    if step.quiet == Some(true) {
                        transcript.push_str(
                            "(output not recorded: it depends on which requests the faults hit)\n",
                        );
                    } else {
                        transcript.push_str(&without_progress(&run.transcript()));
                    }
                }
            }
        }
        if let Some(commands) = &step.race {
            let children: Vec<Child> = commands
                .iter()
                .map(|args| spawn_nodectl(dir, args, &envs))
                .collect();
            let mut codes: Vec<i32> = children
                .into_iter()
                .map(|c| {
                    c.wait_with_output()
                        .map(|o| o.status.code().unwrap_or(-1))
                        .unwrap_or(-1)
                })
                .collect();
            codes.sort();
            transcript.push_str(&format!(
                "=== race of {} commands: exit codes {codes:?}\n",
                commands.len()
            ));
        }
        if let (Some(file), Some([old, new])) = (&step.edit, &step.replace) {
            let path = dir.join(file);
            let content = std::fs::read_to_string(&path).unwrap_or_default();
            if !content.contains(old.as_str()) {
                failures.add(case, format!("edit of {file}: `{old}` not found"));
            }
            std::fs::write(&path, content.replacen(old.as_str(), new, 1))
                .unwrap_or_else(|e| panic!("{e}"));
            transcript.push_str(&format!("=== edit {file}: {old:?} -> {new:?}\n"));
        }
        if let (Some(file), Some(text)) = (&step.write, &step.text) {
            let path = dir.join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
            }
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
            transcript.push_str(&format!("=== write {file}\n"));
        }
        if let Some(file) = &step.remove {
            std::fs::remove_file(dir.join(file)).unwrap_or_else(|e| panic!("remove {file}: {e}"));
            transcript.push_str(&format!("=== remove {file}\n"));
        }
        if let Some(call) = &step.http {
            let method = call.first().map(String::as_str).unwrap_or("GET");
            let path = org.substitute(call.get(1).map(String::as_str).unwrap_or("/"));
            let body = call.get(2).map(|b| org.substitute(b));
            let (status, answer) = org.call(method, &path, body.as_deref());
            transcript.push_str(&format!("=== someone else: {method} {path} -> {status}\n"));
            if !(200..300).contains(&status) {
                transcript.push_str(&format!("{answer}\n"));
            }
        }
        if step.list_integrations == Some(true) {
            transcript.push_str(&org.integrations_listing());
        }
        if step.list == Some(true) {
            let mut lines: Vec<String> = org
                .actions()
                .iter()
                .filter(|a| !a["id"].as_str().unwrap_or_default().starts_with("static"))
                .map(|a| {
                    format!(
                        "  {} ({}) v{}",
                        a["name"].as_str().unwrap_or_default(),
                        org.integration_name(a["integrationId"].as_str().unwrap_or_default()),
                        a["version"]
                    )
                })
                .collect();
            lines.sort();
            transcript.push_str(&format!(
                "=== the org's actions ({})\n{}\n",
                lines.len(),
                lines.join("\n")
            ));
        }
    }
    // Every scenario ends with the plan again empty.
    let last = nodectl_with(dir, &["plan", "--detailed-exitcode"], &envs, None);
    if last.code != 0 {
        failures.add(
            case,
            format!("the final plan is not empty:\n{}", last.transcript()),
        );
    }
    transcript.push_str(&format!(
        "=== final nodectl plan --detailed-exitcode\n{}",
        without_progress(&last.transcript())
    ));
    for secret in &secrets {
        if transcript.contains(secret.as_str()) {
            failures.add(
                case,
                format!("a secret value reached nodectl's output: {secret}"),
            );
        }
    }
    failures.expect_file(
        case,
        &case.join("expected.txt"),
        &normalize(&transcript, &emulator.base),
    );
}

#[test]
fn plan_apply_scenarios_converge() {
    let mut failures = Failures::default();
    let all = cases("scenarios");
    for case in &all {
        check(case, &mut failures);
    }
    failures.finish("scenarios", all.len());
}

/// The README's main job: against the embedded emulator env of `manifests/`, the first apply creates
/// every node and the second reports no changes; the org lives in `.nodectl/emulator/local.json`,
/// which `.gitignore` keeps out of git.
#[test]
fn readme_main_job_creates_everything_then_nothing() {
    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_dir(&crate::expect::root().join("manifests"), project.path());
    let _ = std::fs::remove_dir_all(project.path().join(".nodectl"));
    let nodes = std::fs::read_dir(project.path().join("nodes"))
        .map(|d| d.count())
        .unwrap_or(0);
    let first = nodectl_with(project.path(), &["apply", "--auto-approve"], &[], None);
    assert_eq!(first.code, 0, "{}", first.transcript());
    assert!(
        first
            .stdout
            .contains(&format!("Apply: {nodes} applied, 0 unchanged, 0 failed")),
        "{}",
        first.transcript()
    );
    assert!(
        project
            .path()
            .join(".nodectl/emulator/local.json")
            .is_file()
    );
    let second = nodectl_with(project.path(), &["apply", "--auto-approve"], &[], None);
    assert_eq!(second.code, 0, "{}", second.transcript());
    assert!(
        second.stdout.contains("No changes."),
        "{}",
        second.transcript()
    );
    let plan = nodectl_with(project.path(), &["plan", "--detailed-exitcode"], &[], None);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    let ignored = std::fs::read_to_string(project.path().join(".gitignore")).unwrap_or_default();
    assert!(
        ignored.lines().any(|l| l.trim() == ".nodectl/"),
        "{ignored}"
    );
}

/// Flow impact's cost: a plan with nothing to ask about sends no dependency-tracking request at all,
/// and a second plan of the same deletes under the same build answers from the cache (one build
/// status read, no listing again). Counted by the emulator (`GET /_emulator/stats`).
#[test]
fn flow_impact_asks_only_when_needed_and_caches_per_build() {
    let emulator = start_emulator(&default_integrations(), &[]);
    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_dir(
        &crate::expect::root().join("tests/cases/scenarios/flow-impact/project"),
        project.path(),
    );
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut envs = emulator_env(&emulator.base);
    envs.push((
        "NODECTL_CACHE_DIR".to_string(),
        cache.path().to_string_lossy().into_owned(),
    ));
    let dependency_requests = || {
        let (status, text) = ureq_like(
            "GET",
            &format!("{}/_emulator/stats", emulator.base),
            None,
            None,
            false,
        );
        assert_eq!(status, 200, "{text}");
        let stats: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let count = |route: &str| -> u64 {
            stats["routes"][route].as_object().map_or(0, |by_status| {
                by_status.values().filter_map(Value::as_u64).sum()
            })
        };
        (
            count("GET /api/v2/architect/dependencytracking/build"),
            count("GET /api/v2/architect/dependencytracking/consumingresources"),
        )
    };
    let run = |args: &[&str]| {
        let run = nodectl_with(project.path(), args, &envs, None);
        assert!(run.code == 0 || run.code == 2, "{}", run.transcript());
        run
    };
    run(&["apply", "--auto-approve"]);
    run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        dependency_requests(),
        (0, 0),
        "creates and an unchanged plan ask nothing"
    );
    std::fs::remove_file(project.path().join("nodes/unused.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let first = run(&["plan", "--prune"]);
    assert!(
        first.stdout.contains("no flow uses it"),
        "{}",
        first.transcript()
    );
    // One build read, one listing per flow filter (published, checked-in) for the one delete.
    assert_eq!(dependency_requests(), (1, 2));
    let second = run(&["plan", "--prune"]);
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(
        dependency_requests(),
        (2, 2),
        "the same build's answer comes from the cache"
    );
}

/// A newcomer with an org and no project: `export --out DIR --api-base URL --integration NAME` in an
/// empty folder starts the project from those flags and adopts the org's actions; the next plan of
/// that project is empty.
#[test]
fn export_into_an_empty_folder_starts_the_project() {
    let emulator = start_emulator(&default_integrations(), &[]);
    let envs = emulator_env(&emulator.base);
    // Someone's org: two actions, applied from an existing project.
    let theirs = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_dir(
        &crate::expect::root().join("tests/cases/scenarios/breaking-change-needs-force/project"),
        theirs.path(),
    );
    let applied = nodectl_with(theirs.path(), &["apply", "--auto-approve"], &envs, None);
    assert_eq!(applied.code, 0, "{}", applied.transcript());

    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let refused = nodectl_with(empty.path(), &["export", "--out", "adopted"], &envs, None);
    assert_eq!(refused.code, 64, "{}", refused.transcript());
    assert!(
        refused.stderr.contains("--region (or --api-base)"),
        "{}",
        refused.stderr
    );
    let export = nodectl_with(
        empty.path(),
        &[
            "export",
            "--out",
            "adopted",
            "--api-base",
            &emulator.base,
            "--integration",
            "Local Web Services",
        ],
        &envs,
        None,
    );
    assert_eq!(export.code, 0, "{}", export.transcript());
    assert!(
        export
            .stderr
            .contains("started a project in adopted (env `prod`)"),
        "{}",
        export.stderr
    );
    let project = empty.path().join("adopted");
    assert!(
        project.join("nodes/lookup-customer.toml").is_file(),
        "{}",
        export.transcript()
    );
    let plan = nodectl_with(&project, &["plan", "--detailed-exitcode"], &envs, None);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

/// The CI building block (`ci/nodectl-ci.sh`, which `action.yml` and the GitLab template run) run
/// locally against an emulator process: `check` validates and writes the JUnit report (its folder
/// made), `plan` writes the Markdown plan and takes "changes" for success, `apply` applies, and the
/// plan after it has no changes; a refused plan fails the step.
#[test]
fn ci_building_block_runs_against_the_emulator() {
    let emulator = start_emulator(&default_integrations(), &[]);
    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_dir(
        &crate::expect::root().join("tests/cases/scenarios/breaking-change-needs-force/project"),
        project.path(),
    );
    let script = crate::expect::root().join("ci/nodectl-ci.sh");
    let step = |args: &[&str]| {
        let mut command = Command::new("bash");
        command
            .arg(&script)
            .args(args)
            .current_dir(project.path())
            .env("NODECTL", env!("CARGO_BIN_EXE_nodectl"))
            .env("NODECTL_JUNIT", "reports/ci/junit.xml");
        for (name, value) in emulator_env(&emulator.base) {
            command.env(name, value);
        }
        let out = command.output().unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = step(&["check"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let junit =
        std::fs::read_to_string(project.path().join("reports/ci/junit.xml")).unwrap_or_default();
    assert!(junit.contains("<testsuites"), "{junit}");

    let (code, stdout, stderr) = step(&["plan", "local", "plan.md"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("plan written to plan.md (changes)"),
        "{stdout}"
    );
    let plan = std::fs::read_to_string(project.path().join("plan.md")).unwrap_or_default();
    assert!(
        plan.starts_with("### nodectl plan for `local`") && plan.contains("| create |"),
        "{plan}"
    );

    let (code, stdout, stderr) = step(&["apply", "local"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Apply: 2 applied"), "{stdout}");
    let (code, stdout, _) = step(&["plan", "local", "plan.md"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("(no changes)"), "{stdout}");

    // A breaking change is refused (exit 5): the plan step fails and shows the plan on stderr.
    let node = project.path().join("nodes/lookup.toml");
    let text = std::fs::read_to_string(&node).unwrap_or_default();
    std::fs::write(
        &node,
        text.replace(
            "properties.name = { type = \"string\" }",
            "properties.name = { type = \"integer\" }",
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, _, stderr) = step(&["plan", "local", "plan.md"]);
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    let (code, _, stderr) = step(&["apply"]);
    assert_eq!(code, 64, "{stderr}");
}

//! `nodectl serve` through real HTTP: the server runs in-process (`nodectl::serve::start` on
//! 127.0.0.1:0, a plain HTTP/1.1 client over std's TcpStream talks to it) against the scripted
//! upstream of `upstream.rs`. Each `tests/cases/serve/cases/*.toml` names the upstream's replies
//! (or `upstream = "refused"`), the server's options (`replay`, `token`, `project = "manifests"` for
//! the example project) and the requests to send; `*.expected` holds the answers and the requests
//! the upstream received, and `secrets` must appear in no answer. The tests below the cases cover
//! what a transcript cannot: single flight under 50 concurrent requests, cache expiry, the token rule
//! at start, slow clients, `--watch` reloads, and the binary (bound address, SIGTERM draining).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nodectl::serve::{self, ServeHandle, ServeOptions};

use crate::expect::{Failures, http_request, root};
use crate::upstream::{Reply, Upstream, refused_base};

/// An in-process server and the tokio runtime it runs on.
struct Server {
    runtime: tokio::runtime::Runtime,
    handle: Option<ServeHandle>,
    addr: String,
}

impl Server {
    fn start(dir: &Path, options: ServeOptions) -> Result<Server, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let dir = dir.to_path_buf();
        let loader: serve::Loader =
            Arc::new(move || serve::set::load_project(Some(dir.clone()), None));
        let handle = runtime
            .block_on(serve::start(options, loader))
            .map_err(|e| e.to_string())?;
        let addr = handle.local_addr().to_string();
        Ok(Server {
            runtime,
            handle: Some(handle),
            addr,
        })
    }

    fn serving(dir: &Path, options: ServeOptions) -> Server {
        Server::start(dir, options).unwrap_or_else(|e| panic!("serve did not start: {e}"))
    }

    fn request(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        http_request(&self.addr, method, path, &[], body)
    }

    fn reloads(&self) -> (u64, u64) {
        self.handle.as_ref().map_or((0, 0), ServeHandle::reloads)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.runtime.block_on(handle.shutdown());
        }
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    replay: bool,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    upstream: Option<String>,
    #[serde(default)]
    reply: Vec<Reply>,
    #[serde(default)]
    secrets: Vec<String>,
    request: Vec<CaseRequest>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseRequest {
    #[serde(default = "post")]
    method: String,
    path: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
}

fn post() -> String {
    "POST".to_string()
}

/// The serve project with `@UPSTREAM@` replaced, in a temporary directory.
fn project_with(base: &str) -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    crate::expect::copy_project(
        &root().join("tests/cases/serve/project"),
        project.path(),
        base,
    );
    project
}

fn check(case_file: &Path, failures: &mut Failures) {
    let text = std::fs::read_to_string(case_file).unwrap_or_default();
    let case: Case =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", case_file.display()));
    let upstream = Upstream::start(case.reply.clone());
    let base = if case.upstream.as_deref() == Some("refused") {
        refused_base()
    } else {
        upstream.base.clone()
    };
    let project = project_with(&base);
    let dir: PathBuf = match case.project.as_deref() {
        Some(relative) => root().join(relative),
        None => project.path().to_path_buf(),
    };
    let options = ServeOptions {
        replay: case.replay,
        token: case.token.clone(),
        ..ServeOptions::ephemeral()
    };
    let server = Server::serving(&dir, options);
    let mut transcript = String::new();
    let mut answers = String::new();
    for sent in &case.request {
        let (status, body) = http_request(
            &server.addr,
            &sent.method,
            &sent.path,
            &sent.headers,
            sent.body.as_deref(),
        );
        transcript.push_str(&format!("=== {} {}\n", sent.method, sent.path));
        if let Some(body) = &sent.body
            && body.len() < 200
        {
            transcript.push_str(&format!("body: {body}\n"));
        }
        transcript.push_str(&format!("--- {status}\n"));
        answers.push_str(&body);
        match serde_json::from_str::<serde_json::Value>(&body) {
            Ok(value) => {
                transcript.push_str(&serde_json::to_string_pretty(&value).unwrap_or_default());
                transcript.push('\n');
            }
            Err(_) => {
                for line in body.lines().filter(|l| {
                    !l.starts_with("nodectl_serve_request_duration_seconds_bucket")
                        && !l.starts_with("nodectl_serve_request_duration_seconds_sum")
                }) {
                    transcript.push_str(line);
                    transcript.push('\n');
                }
            }
        }
    }
    drop(server);
    for secret in &case.secrets {
        if answers.contains(secret.as_str()) {
            failures.add(
                case_file,
                format!("secret {secret:?} leaked into an answer"),
            );
        }
    }
    transcript.push_str("--- upstream received\n");
    for received in upstream.received() {
        transcript.push_str(&format!("{} {}\n", received.method, received.target));
        if !received.body.is_empty() {
            transcript.push_str(&format!("  body: {}\n", received.body));
        }
    }
    let transcript = normalize(&transcript, &base);
    failures.expect_file(
        case_file,
        &case_file.with_extension("expected"),
        &transcript,
    );
}

/// Stable text: ports, context ids and durations vary from run to run.
fn normalize(text: &str, base: &str) -> String {
    let text = text.replace(base, "@UPSTREAM@");
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap_or_else(|e| panic!("{e}"));
    let duration = regex::Regex::new(r#""durationMs": \d+"#).unwrap_or_else(|e| panic!("{e}"));
    let text = crate::expect::normalize_context_ids(&text);
    let text = duration.replace_all(&text, r#""durationMs": "<ms>""#);
    port.replace_all(&text, "127.0.0.1:<port>").into_owned()
}

#[test]
fn serve_answers_every_endpoint_and_error_path() {
    let mut failures = Failures::default();
    let cases = crate::expect::case_files("serve/cases");
    for case in &cases {
        check(case, &mut failures);
    }
    failures.finish("serve", cases.len());
}

fn ok_customer(delay_ms: u64) -> Reply {
    Reply {
        status: 200,
        headers: vec![("Content-Type".to_string(), "application/json".to_string())],
        body: r#"{"customer": {"name": "Ada", "tier": "gold"}}"#.to_string(),
        delay_ms,
        ..Reply::default()
    }
}

fn metric(text: &str, line_start: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn fifty_concurrent_identical_requests_make_one_upstream_call() {
    let upstream = Upstream::start(vec![ok_customer(300)]);
    let project = project_with(&upstream.base);
    let server = Arc::new(Server::serving(project.path(), ServeOptions::ephemeral()));
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let addr = server.addr.clone();
            std::thread::spawn(move || {
                http_request(
                    &addr,
                    "POST",
                    "/simulate/node/Lookup%20Customer",
                    &[],
                    Some(r#"{"customerId": "c-1"}"#),
                )
            })
        })
        .collect();
    let mut cached = 0;
    for thread in threads {
        let (status, body) = thread.join().unwrap_or_else(|_| panic!("client thread"));
        assert_eq!(status, 200, "{body}");
        let body = json(&body);
        assert_eq!(
            body["data"],
            serde_json::json!({"name": "Ada", "tier": "gold"})
        );
        if body["cached"] == true {
            cached += 1;
        }
    }
    assert_eq!(
        upstream.received().len(),
        1,
        "one upstream call for 50 requests"
    );
    assert_eq!(cached, 49);
    let (status, text) = server.request("GET", "/metrics", None);
    assert_eq!(status, 200);
    let node = "{node=\"Lookup Customer\"}";
    assert_eq!(
        metric(
            &text,
            "nodectl_serve_requests_total{node=\"Lookup Customer\",outcome=\"success\"}"
        ),
        50,
        "{text}"
    );
    assert_eq!(
        metric(&text, &format!("nodectl_serve_cache_hits_total{node}")),
        49
    );
    assert_eq!(
        metric(&text, &format!("nodectl_serve_cache_misses_total{node}")),
        1
    );
    assert_eq!(
        metric(
            &text,
            &format!("nodectl_serve_upstream_attempts_total{node}")
        ),
        1
    );
    assert_eq!(
        metric(&text, "nodectl_serve_request_duration_seconds_count"),
        50
    );
    assert_eq!(
        metric(
            &text,
            "nodectl_serve_request_duration_seconds_bucket{le=\"+Inf\"}"
        ),
        50
    );
}

#[test]
fn cached_results_expire_after_their_ttl() {
    let upstream = Upstream::start(vec![ok_customer(0), ok_customer(0)]);
    let project = project_with(&upstream.base);
    let server = Server::serving(project.path(), ServeOptions::ephemeral());
    let call = || {
        let (status, body) = server.request(
            "POST",
            "/simulate/node/Lookup%20Customer",
            Some(r#"{"customerId": "c-2"}"#),
        );
        assert_eq!(status, 200, "{body}");
        json(&body)["cached"].clone()
    };
    assert_eq!(call(), false);
    assert_eq!(call(), true);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(call(), false, "the 1 s TTL has passed");
    assert_eq!(upstream.received().len(), 2);
}

#[test]
fn a_non_loopback_address_needs_a_token_and_every_request_carries_it() {
    let project = project_with(&refused_base());
    let open = ServeOptions {
        addr: "0.0.0.0:0".parse().unwrap_or_else(|e| panic!("{e}")),
        ..ServeOptions::ephemeral()
    };
    let refused = Server::start(project.path(), open.clone()).err();
    assert!(
        refused.as_deref().is_some_and(|e| e.contains("--token")),
        "{refused:?}"
    );
    let server = Server::serving(
        project.path(),
        ServeOptions {
            token: Some("t0ken".to_string()),
            ..open
        },
    );
    let port = server
        .addr
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let addr = format!("127.0.0.1:{port}");
    let bearer = |t: &str| vec![("Authorization".to_string(), format!("Bearer {t}"))];
    assert_eq!(http_request(&addr, "GET", "/healthz", &[], None).0, 401);
    assert_eq!(
        http_request(&addr, "GET", "/healthz", &bearer("wrong"), None).0,
        401
    );
    assert_eq!(
        http_request(&addr, "GET", "/metrics", &bearer("t0ken"), None).0,
        200
    );
    let (status, body) = http_request(&addr, "GET", "/healthz", &bearer("t0ken"), None);
    assert_eq!(status, 200, "{body}");

    let run = crate::expect::nodectl(
        project.path(),
        &["serve", "--addr", "0.0.0.0:0", "--dir", "."],
    );
    assert_eq!(run.code, 64, "{}", run.transcript());
    assert!(run.stderr.contains("--token"), "{}", run.transcript());
}

#[test]
fn oversized_bodies_and_slow_clients_are_refused_and_the_server_stays_up() {
    let upstream = Upstream::start(vec![ok_customer(0)]);
    let project = project_with(&upstream.base);
    let server = Server::serving(
        project.path(),
        ServeOptions {
            read_timeout: Duration::from_millis(300),
            ..ServeOptions::ephemeral()
        },
    );
    let big = format!(
        r#"{{"customerId": "{}"}}"#,
        "x".repeat(serve::MAX_BODY_BYTES)
    );
    let (status, body) = server.request("POST", "/simulate/node/Lookup%20Customer", Some(&big));
    assert_eq!(status, 413, "{body}");

    // A client that never finishes its request head is cut off by the header read timeout.
    let mut slow = TcpStream::connect(&server.addr).unwrap_or_else(|e| panic!("{e}"));
    let _ = slow.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = slow.write_all(b"POST /simulate/node/Lookup%20Customer HTTP/1.1\r\nHost: x\r\n");
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the slow client was not cut off"
    );

    // A client that sends its head but not the body it announced gets a 408.
    let mut slow = TcpStream::connect(&server.addr).unwrap_or_else(|e| panic!("{e}"));
    let _ = slow.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = slow.write_all(
        b"POST /simulate/node/Lookup%20Customer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
    );
    let mut answer = String::new();
    let _ = BufReader::new(&slow).read_line(&mut answer);
    assert!(answer.contains(" 408 "), "{answer:?}");

    let (status, body) = server.request(
        "POST",
        "/simulate/node/Lookup%20Customer",
        Some(r#"{"customerId": "c-3"}"#),
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn watch_reloads_changed_manifests_and_keeps_the_old_set_when_they_break() {
    let upstream = Upstream::start(Vec::new());
    let project = project_with(&upstream.base);
    let options = ServeOptions {
        watch: Some(project.path().to_path_buf()),
        watch_interval: Duration::from_millis(100),
        ..ServeOptions::ephemeral()
    };
    let server = Server::serving(project.path(), options);
    let names = || {
        let (_, body) = server.request("GET", "/nodes", None);
        json(&body)["nodes"]
            .as_array()
            .map(|nodes| {
                nodes
                    .iter()
                    .filter_map(|n| n["name"].as_str().map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert_eq!(names().len(), 4);
    let order = project.path().join("nodes/order.toml");
    let text = std::fs::read_to_string(&order).unwrap_or_default();
    // Written the way editors save (a new file renamed over the old one): a plain write truncates
    // first, and a poll landing in between would see a half-written manifest.
    let save = |text: &str| {
        let temporary = order.with_extension("toml.tmp");
        std::fs::write(&temporary, text).unwrap_or_else(|e| panic!("{e}"));
        std::fs::rename(&temporary, &order).unwrap_or_else(|e| panic!("{e}"));
    };
    save(&text.replace("name = \"Get Order\"", "name = \"Fetch Order\""));
    // Up to 15 s: the suite runs beside CPU-heavy tests (the fault matrix), and a poll may be late.
    let wait_for = |what: &dyn Fn() -> bool| {
        for _ in 0..150 {
            if what() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    };
    assert!(
        wait_for(&|| names().contains(&"Fetch Order".to_string())),
        "{:?}",
        names()
    );
    assert_eq!(server.reloads().1, 0);
    save("name = \"Broken\"\n[request]\nmethod = \"FETCH\"\n");
    assert!(
        wait_for(&|| server.reloads().1 == 1),
        "{:?}",
        server.reloads()
    );
    assert!(
        names().contains(&"Fetch Order".to_string()),
        "the old set still serves"
    );
}

#[test]
fn the_binary_prints_its_address_and_drains_requests_on_sigterm() {
    let upstream = Upstream::start(vec![ok_customer(700)]);
    let project = project_with(&upstream.base);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_nodectl"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .current_dir(project.path())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let addr = first
        .strip_prefix("serving on http://")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_string();
    let in_flight = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            http_request(
                &addr,
                "POST",
                "/simulate/node/Lookup%20Customer",
                &[],
                Some(r#"{"customerId": "c-4"}"#),
            )
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(killed.success());
    let (status, body) = in_flight.join().unwrap_or_else(|_| panic!("client"));
    assert_eq!(status, 200, "the in-flight request finished: {body}");
    let exit = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(exit.code(), Some(0));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l == "serve stopped"), "{rest:?}");
}

/// One request, answered as (status, lower-cased headers, body).
fn request_with_headers(
    addr: &str,
    path: &str,
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `--exec-concurrency` and `--exec-rate-limit` on serve's `/test` and `/execute`: 429
/// `too.many.requests.retry.after` with `Retry-After`, as the emulator answers; `/simulate` is not
/// limited.
#[test]
fn executions_beyond_the_limits_are_refused_with_429() {
    let upstream = Upstream::start(vec![
        ok_customer(1000),
        ok_customer(1000),
        ok_customer(0),
        ok_customer(0),
        ok_customer(0),
    ]);
    let project = project_with(&upstream.base);
    let server = Arc::new(Server::serving(
        project.path(),
        ServeOptions {
            exec_concurrency: 2,
            exec_rate_limit: 4,
            ..ServeOptions::ephemeral()
        },
    ));
    let execute = "/api/v2/integrations/actions/Lookup%20Customer/execute";
    let threads: Vec<_> = (1..=3)
        .map(|n| {
            let addr = server.addr.clone();
            std::thread::spawn(move || {
                request_with_headers(&addr, execute, &format!(r#"{{"customerId": "c-{n}"}}"#))
            })
        })
        .collect();
    let mut answers: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().unwrap_or_else(|_| panic!("client thread")))
        .collect();
    answers.sort_by_key(|(status, _, _)| *status);
    let statuses: Vec<u16> = answers.iter().map(|(s, _, _)| *s).collect();
    assert_eq!(statuses, [200, 200, 429], "{answers:?}");
    let (_, headers, body) = &answers[2];
    let body = json(body);
    let context_id = body["contextId"].as_str().unwrap_or_default().to_string();
    assert!(!context_id.is_empty(), "{body}");
    assert_eq!(
        body,
        serde_json::json!({
            "message": "Rate limit exceeded the maximum of 2 concurrent data action executions (actions.concurrent.executions.max). Retry the request in [1] seconds.",
            "code": "too.many.requests.retry.after",
            "status": 429,
            "messageWithParams": "Rate limit exceeded the maximum of 2 concurrent data action executions (actions.concurrent.executions.max). Retry the request in [1] seconds.",
            "messageParams": {"retryAfter": 1, "limit": 2},
            "contextId": context_id,
            "details": [],
            "errors": []
        })
    );
    assert_eq!(header(headers, "retry-after"), Some("1"));
    assert_eq!(
        header(headers, "inin-correlation-id"),
        Some(context_id.as_str())
    );

    // The third and fourth executions of the minute, then the fifth is refused.
    let test = "/api/v2/integrations/actions/Lookup%20Customer/test";
    let (status, _, body) = request_with_headers(&server.addr, test, r#"{"customerId": "c-4"}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["success"], true, "{body}");
    let (status, _, body) = request_with_headers(&server.addr, execute, r#"{"customerId": "c-5"}"#);
    assert_eq!(status, 200, "{body}");
    let (status, headers, body) =
        request_with_headers(&server.addr, execute, r#"{"customerId": "c-6"}"#);
    assert_eq!(status, 429, "{body}");
    let body = json(&body);
    assert_eq!(body["code"], "too.many.requests.retry.after");
    assert_eq!(body["messageParams"]["limit"], 4);
    let retry_after: u64 = header(&headers, "retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        (50..=60).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert_eq!(
        body["message"],
        format!(
            "Rate limit exceeded the maximum of 4 data action executions per minute (requests.volume.max). Retry the request in [{retry_after}] seconds."
        )
    );
    assert_eq!(
        upstream.received().len(),
        4,
        "refused executions never reach the upstream"
    );

    // /simulate is nodectl's own endpoint, not a data-action execution.
    let (status, body) = server.request(
        "POST",
        "/simulate/node/Lookup%20Customer",
        Some(r#"{"customerId": "c-7"}"#),
    );
    assert_eq!(status, 200, "{body}");
    let (_, text) = server.request("GET", "/metrics", None);
    assert_eq!(
        metric(
            &text,
            "nodectl_serve_requests_total{node=\"Lookup Customer\",outcome=\"rate_limited\"}"
        ),
        2,
        "{text}"
    );
}

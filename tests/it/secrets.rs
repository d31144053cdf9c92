//! Secret hygiene (design README, invariant 6): a project whose OAuth client secret, credential value
//! and secure input are unique marker strings is driven through `run`, `record`, `test` (with
//! `--junit`), `validate`, `plan --out`, `apply --output json`, `export --fixtures` and a `serve`
//! session (`/simulate` with a trace, the Genesys-compatible `/test`, `/metrics`) at `-vv` with JSON
//! logs, against a `nodectl emulator` process and a scripted upstream that echo the secrets back. No
//! marker may appear in any stdout, stderr, plan file, JUnit file, recorded fixture, exported
//! manifest, serve answer or log, or the emulator's own output.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::expect::{http_request, nodectl_with, root};
use crate::upstream::{Reply, Upstream};

const CLIENT_SECRET: &str = "MARKER-client-secret-7f3a";
const CREDENTIAL: &str = "MARKER-credential-91c2";
const SECURE_INPUT: &str = "MARKER-secure-input-5d8e";

#[test]
fn no_secret_reaches_any_output_or_file() {
    let echo = format!(r#"{{"status": "current", "echo": "{CREDENTIAL} {SECURE_INPUT}"}}"#);
    let upstream = Upstream::start(
        (0..8)
            .map(|_| Reply {
                status: 200,
                body: echo.clone(),
                ..Reply::default()
            })
            .collect(),
    );

    // The org: an emulator process whose client secret is a marker.
    let mut emulator = Command::new(env!("CARGO_BIN_EXE_nodectl"))
        .args([
            "-vv",
            "--log-format",
            "json",
            "emulator",
            "--addr",
            "127.0.0.1:0",
            "--integration",
            "Local Web Services",
            "--client-id",
            "hygiene",
            "--client-secret",
            CLIENT_SECRET,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut emulator_out = emulator
        .stdout
        .take()
        .unwrap_or_else(|| panic!("no stdout"));
    let mut first_line = Vec::new();
    let mut byte = [0u8; 1];
    while emulator_out
        .read(&mut byte)
        .map(|n| n == 1)
        .unwrap_or(false)
        && byte[0] != b'\n'
    {
        first_line.push(byte[0]);
    }
    let first_line = String::from_utf8_lossy(&first_line).into_owned();
    let base = first_line
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first_line}");

    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = project.path();
    std::fs::create_dir_all(dir.join("nodes")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("nodectl.toml"),
        format!("[project]\nname = \"hygiene\"\n\n[env.local]\nemulator = true\nintegration = \"Local Web Services\"\nmax_rps = 500\ncredentials_file = \"creds.json\"\nvars = {{ upstream = \"{}\" }}\n", upstream.base),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        root().join("tests/cases/run/project/nodes/payment.toml"),
        dir.join("nodes/payment.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("creds.json"),
        format!(r#"{{"apiToken": "{CREDENTIAL}"}}"#),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let envs = vec![
        ("NODECTL_API_BASE".to_string(), base.clone()),
        (
            "GENESYSCLOUD_OAUTHCLIENT_ID".to_string(),
            "hygiene".to_string(),
        ),
        (
            "GENESYSCLOUD_OAUTHCLIENT_SECRET".to_string(),
            CLIENT_SECRET.to_string(),
        ),
    ];
    let input = format!(r#"{{"accountNumber": "{SECURE_INPUT}"}}"#);
    let verbose = |args: &[&str]| -> Vec<String> {
        ["-vv", "--log-format", "json"]
            .iter()
            .chain(args)
            .map(|s| s.to_string())
            .collect()
    };
    let commands: Vec<Vec<String>> = vec![
        verbose(&["run", "Payment Status", "--input", &input, "--trace"]),
        verbose(&["run", "Payment Status", "--input", &input]),
        verbose(&[
            "record",
            "Payment Status",
            "--input",
            &input,
            "--out",
            "fixtures/payment/recorded.toml",
        ]),
        verbose(&["test", "--junit", "junit.xml", "--output", "json"]),
        verbose(&["validate"]),
        verbose(&["plan", "--out", "plan.json", "--output", "json"]),
        verbose(&["apply", "--auto-approve", "--output", "json"]),
        verbose(&["plan", "--output", "markdown"]),
        verbose(&["export", "--out", "exported", "--fixtures"]),
    ];
    let mut seen = String::new();
    for (number, args) in commands.iter().enumerate() {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = nodectl_with(dir, &args, &envs, None);
        assert!(
            !run.stderr.contains("internal error"),
            "nodectl {args:?} crashed:\n{}",
            run.transcript()
        );
        // The command line itself is the user's (it holds the input they typed); only what nodectl
        // writes is checked.
        seen.push_str(&format!(
            "=== command {} ({})\n{}",
            number + 1,
            args.get(3).copied().unwrap_or_default(),
            run.transcript()
        ));
    }
    seen.push_str(&serve_session(dir, &envs, "Payment Status", &input));
    for file in [
        "fixtures/payment/recorded.toml",
        "junit.xml",
        "plan.json",
        "exported/nodes/payment-status.toml",
        "exported/fixtures/payment-status/example.toml",
        "exported/nodectl.toml",
    ] {
        let text = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("{file} was not written: {e}"));
        seen.push_str(&format!("=== {file}\n{text}"));
    }
    let _ = emulator.kill();
    let _ = emulator.wait();
    let mut emulator_log = String::new();
    let _ = emulator_out.read_to_string(&mut emulator_log);
    if let Some(mut err) = emulator.stderr.take() {
        let _ = err.read_to_string(&mut emulator_log);
    }
    seen.push_str(&format!(
        "=== the emulator's output\n{first_line}\n{emulator_log}"
    ));

    // The upstream did receive the secrets (so the test exercised them)…
    let received: String = upstream
        .received()
        .iter()
        .map(|r| format!("{} {:?} {}", r.target, r.headers, r.body))
        .collect();
    assert!(
        received.contains(CREDENTIAL) && received.contains(SECURE_INPUT),
        "the upstream never saw the secrets: {received}"
    );
    // …and nothing a user or a file sees holds them, in any encoding.
    for marker in [CLIENT_SECRET, CREDENTIAL, SECURE_INPUT] {
        for form in [
            marker.to_string(),
            nodectl::vtl::tools::base64(marker.as_bytes()),
        ] {
            assert!(
                !seen.contains(&form),
                "`{form}` leaked:\n{}",
                excerpt_around(&seen, &form)
            );
        }
    }
    assert!(
        seen.contains("<redacted:credentials.apiToken>"),
        "the redaction placeholders are missing:\n{seen}"
    );
}

/// A `nodectl serve -vv --log-format json` process on a free loopback port, whose every answer
/// and log line the secret-hygiene tests search.
struct LoggedServe {
    child: std::process::Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    /// Its first line (`serving on http://ADDR`).
    first: String,
    /// `127.0.0.1:PORT`.
    address: String,
}

impl LoggedServe {
    fn start(dir: &std::path::Path, envs: &[(String, String)]) -> LoggedServe {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_nodectl"))
            .args([
                "-vv",
                "--log-format",
                "json",
                "serve",
                "--addr",
                "127.0.0.1:0",
            ])
            .current_dir(dir)
            .envs(envs.iter().cloned())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut stdout =
            std::io::BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("no stdout")));
        let mut first = String::new();
        let _ = stdout.read_line(&mut first);
        let base = first.trim().rsplit(' ').next().unwrap_or_default();
        assert!(
            base.starts_with("http://127.0.0.1:"),
            "serve printed {first}"
        );
        let address = base.trim_start_matches("http://").to_string();
        LoggedServe {
            child,
            stdout,
            first,
            address,
        }
    }

    /// SIGTERM (a graceful stop), then everything it wrote after its first line.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut rest);
        }
        rest
    }
}

/// `nodectl serve` at `-vv` over the project: the node simulated with a trace, run through the
/// Genesys-compatible `/test`, and the metrics; then SIGTERM. Everything it answered and logged.
fn serve_session(
    dir: &std::path::Path,
    envs: &[(String, String)],
    node: &str,
    input: &str,
) -> String {
    let serve = LoggedServe::start(dir, envs);
    let address = serve.address.clone();
    let mut seen = format!("=== serve\n{}", serve.first);
    let node = node.replace(' ', "%20");
    for (method, path, body) in [
        ("POST", format!("/simulate/node/{node}?trace=true"), input),
        ("POST", format!("/simulate/node/{node}"), input),
        (
            "POST",
            format!("/api/v2/integrations/actions/{node}/test"),
            input,
        ),
        (
            "POST",
            format!("/api/v2/integrations/actions/{node}/execute"),
            input,
        ),
        ("GET", "/metrics".to_string(), ""),
    ] {
        let path = path.as_str();
        let json = [("Content-Type".to_string(), "application/json".to_string())];
        let (status, answer) = http_request(&address, method, path, &json, Some(body));
        assert_eq!(
            status, 200,
            "serve answered {method} {path} with {status}:\n{answer}"
        );
        seen.push_str(&format!("--- {method} {path}\n{answer}\n"));
    }
    seen.push_str(&serve.stop());
    assert!(
        seen.contains("\"success\":true"),
        "serve did not run the node:\n{seen}"
    );
    seen
}

fn excerpt_around(text: &str, needle: &str) -> String {
    let at = text.find(needle).unwrap_or(0);
    let mut start = at.saturating_sub(1200);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + 400).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    text.get(start..end).unwrap_or_default().to_string()
}

/// Redaction follows the data (docs/security.md): a header the template builds from a credential
/// through `$encoding`, string methods and concatenation with other text holds no form the plain
/// redactor knows, yet neither it nor an upstream's echo of it may show in `run --trace`, a
/// recorded fixture or a `serve` answer.
#[test]
fn a_value_derived_from_a_credential_is_redacted_as_a_whole() {
    const TOKEN: &str = "tok-3e91-derived";
    // What the template sends: "v1=" + base64(upper-cased token with `-` → `_` + ":ts").
    let derived = nodectl::vtl::tools::base64("TOK_3E91_DERIVED:ts".as_bytes());
    let upstream = Upstream::start(
        (0..12)
            .map(|_| Reply {
                status: 200,
                body: format!(r#"{{"status": "ok", "seen": "v1={derived}"}}"#),
                ..Reply::default()
            })
            .collect(),
    );
    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = project.path();
    std::fs::create_dir_all(dir.join("nodes")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("nodectl.toml"),
        "[project]\nname = \"derived\"\n\n[env.local]\nemulator = true\nintegration = \"Local Web Services\"\ncredentials_file = \"creds.json\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("nodes/signed.toml"),
        format!(
            r#"name = "Signed Lookup"
category = "Derived"

[request]
method = "GET"
url = "{}/signed"
headers = {{ X-Signature = '#set($t = $credentials.apiToken.toUpperCase().replace("-", "_"))v1=$encoding.base64("${{t}}:ts")' }}

[response]
translation_map = {{ seen = "$.seen" }}
success_template = '{{"seen": ${{seen}}}}'

[input_schema]
type = "object"
properties = {{}}

[output_schema]
type = "object"
properties.seen = {{ type = "string" }}
"#,
            upstream.base
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("creds.json"),
        format!(r#"{{"apiToken": "{TOKEN}"}}"#),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut seen = String::new();
    for args in [
        vec!["run", "Signed Lookup", "--input", "{}", "--trace"],
        vec![
            "record",
            "Signed Lookup",
            "--input",
            "{}",
            "--out",
            "fixtures/signed.toml",
        ],
    ] {
        let run = nodectl_with(dir, &args, &[], None);
        assert_eq!(run.code, 0, "{args:?}\n{}", run.transcript());
        seen.push_str(&run.transcript());
    }
    seen.push_str(&std::fs::read_to_string(dir.join("fixtures/signed.toml")).unwrap_or_default());
    seen.push_str(&serve_session(dir, &[], "Signed Lookup", "{}"));
    let received: String = upstream
        .received()
        .iter()
        .map(|r| format!("{:?}", r.headers))
        .collect();
    assert!(
        received.contains(&derived),
        "the upstream never saw the header: {received}"
    );
    assert!(
        !seen.contains(&derived),
        "`{derived}` leaked:\n{}",
        excerpt_around(&seen, &derived)
    );
    assert!(!seen.contains(TOKEN), "the token leaked:\n{seen}");
    assert!(
        seen.contains("<redacted:credentials-derived.header.X-Signature>"),
        "no placeholder for the derived value:\n{seen}"
    );
}

/// A Genesys Cloud Data Actions node (docs/runtime.md) run against the emulator: `run -vv` and a
/// `serve -vv` session (`/simulate` with a trace, the Genesys-compatible `/test`) get a token
/// granted to the integration's OAuth client and call the emulator's own API with it; after the
/// emulator restarts on the same address (its tokens are gone) serve's cached token gets a 401, is
/// granted once more and the request succeeds. The client secret and the tokens (the emulator's
/// are 32 hex digits) appear in no output, trace or log.
#[test]
fn a_genesys_cloud_data_action_token_shows_nowhere() {
    use nodectl::emulator::{self, EmulatorOptions};
    const SECRET: &str = "MARKER-gc-secret-0b4d";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let options = EmulatorOptions {
        client_id: "gc-client".to_string(),
        client_secret: SECRET.to_string(),
        rate_limit: 0,
        ..EmulatorOptions::ephemeral()
    };
    let org = runtime
        .block_on(emulator::start(options.clone()))
        .unwrap_or_else(|e| panic!("{e}"));
    let base = org.base_url().to_string();

    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = project.path();
    std::fs::create_dir_all(dir.join("nodes")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("nodectl.toml"),
        format!("[project]\nname = \"gc\"\n\n[env.org]\napi_base = \"{base}\"\nintegrations = [{{ name = \"Genesys Cloud Data Actions\", type = \"purecloud-data-actions\" }}]\ncredentials_file = \"creds.json\"\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("nodes/list.toml"),
        "name = \"List Actions\"\ncategory = \"Platform\"\n\n[request]\nmethod = \"GET\"\nurl = \"/api/v2/integrations/actions?pageSize=1\"\n\n[response]\ntranslation_map = { total = \"$.total\" }\nsuccess_template = '{\"total\": ${total}}'\n\n[input_schema]\ntype = \"object\"\n\n[output_schema]\ntype = \"object\"\nrequired = [\"total\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("creds.json"),
        format!(r#"{{"clientId": "gc-client", "clientSecret": "{SECRET}"}}"#),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let run = nodectl_with(
        dir,
        &[
            "-vv",
            "--log-format",
            "json",
            "run",
            "List Actions",
            "--input",
            "{}",
            "--trace",
        ],
        &[] as &[(String, String)],
        None,
    );
    let mut seen = format!("=== run\n{}", run.transcript());
    assert!(
        run.stdout.contains("\"name\": \"Perform authentication\"")
            && run.stdout.contains("\"success\": true"),
        "run did not authenticate:\n{seen}"
    );

    let serve = LoggedServe::start(dir, &[]);
    let address = serve.address.clone();
    seen.push_str(&format!("=== serve\n{}", serve.first));
    let json = [("Content-Type".to_string(), "application/json".to_string())];
    let ask = |path: &str, seen: &mut String| -> String {
        let (status, answer) = http_request(&address, "POST", path, &json, Some("{}"));
        assert_eq!(
            status, 200,
            "serve answered {path} with {status}:\n{answer}"
        );
        seen.push_str(&format!("--- POST {path}\n{answer}\n"));
        answer
    };
    let simulate = "/simulate/node/List%20Actions?trace=true";
    let granted = ask(simulate, &mut seen);
    assert!(granted.contains(r#""cached":false"#), "{granted}");
    let cached = ask(
        "/api/v2/integrations/actions/List%20Actions/test",
        &mut seen,
    );
    assert!(cached.contains(r#""cached":true"#), "{cached}");

    // The org restarts on the same address: serve's cached token is refused once, then re-granted.
    let addr = org.local_addr();
    runtime
        .block_on(org.shutdown())
        .unwrap_or_else(|e| panic!("{e}"));
    let org = runtime
        .block_on(emulator::start(EmulatorOptions { addr, ..options }))
        .unwrap_or_else(|e| panic!("{e}"));
    let regranted = ask(simulate, &mut seen);
    assert!(
        regranted.contains("the previous token was refused (401)")
            && regranted.contains(r#""status":401"#)
            && regranted.contains(r#""total":"#),
        "no re-grant after the 401:\n{regranted}"
    );

    seen.push_str(&serve.stop());
    runtime
        .block_on(org.shutdown())
        .unwrap_or_else(|e| panic!("{e}"));

    assert!(
        !seen.contains(SECRET),
        "the client secret leaked:\n{}",
        excerpt_around(&seen, SECRET)
    );
    let token = regex::Regex::new(r"[0-9a-f]{32}").unwrap_or_else(|e| panic!("{e}"));
    if let Some(found) = token.find(&seen) {
        panic!("a token leaked:\n{}", excerpt_around(&seen, found.as_str()));
    }
    assert!(
        seen.contains("integration access token granted"),
        "the -vv logs do not show the grant:\n{seen}"
    );
}

/// Custom authentication (docs/runtime.md): a node reading `${authResponse.access_token}` runs the
/// integration's custom authentication action first. Neither the client secret nor any value of
/// the authentication response (the token, echoed back by the upstream too, and the refresh
/// token) shows in `run --trace -vv` (JSON logs) or in a `serve` session, whose second execution
/// reuses the cached authentication response (one authorization request for two executions).
#[test]
fn a_custom_authentication_response_shows_nowhere() {
    const SECRET: &str = "MARKER-auth-secret-6e1f";
    const TOKEN: &str = "MARKER-auth-token-93ab";
    const REFRESH: &str = "MARKER-auth-refresh-2c7d";
    let token_reply = Reply {
        status: 200,
        body: format!(
            r#"{{"access_token": "{TOKEN}", "refresh_token": "{REFRESH}", "expires_in": 3600}}"#
        ),
        ..Reply::default()
    };
    let api_reply = Reply {
        status: 200,
        body: format!(r#"{{"status": "open", "echo": "{TOKEN} {REFRESH}"}}"#),
        ..Reply::default()
    };
    // run: token, API; serve: token, API, API (the second execution reuses the response).
    let upstream = Upstream::start(vec![
        token_reply.clone(),
        api_reply.clone(),
        token_reply,
        api_reply.clone(),
        api_reply,
    ]);
    let base = upstream.base.clone();

    let project = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = project.path();
    std::fs::create_dir_all(dir.join("nodes")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("nodectl.toml"),
        "[project]\nname = \"auth\"\n\n[env.local]\nemulator = true\nintegration = \"Orders API\"\ncredentials_file = \"creds.json\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("nodes/auth.toml"),
        "name = \"Orders Auth\"\ncategory = \"Auth\"\ncustom_auth = true\n\n[request]\nmethod = \"POST\"\nurl = \"${credentials.loginUrl}\"\nheaders = { Authorization = 'Basic $encoding.base64(\"${credentials.clientId}:${credentials.clientSecret}\")', Content-Type = \"application/x-www-form-urlencoded\" }\nbody = \"grant_type=client_credentials\"\n\n[input_schema]\ntype = \"object\"\nproperties = {}\n\n[output_schema]\ntype = \"object\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("nodes/orders.toml"),
        format!("name = \"Get Order\"\ncategory = \"Orders\"\n\n[request]\nmethod = \"GET\"\nurl = \"{base}/v1/orders/1?t=$esc.url(${{authResponse.refresh_token}})\"\nheaders = {{ Authorization = \"Bearer ${{authResponse.access_token}}\" }}\n\n[input_schema]\ntype = \"object\"\n\n[output_schema]\ntype = \"object\"\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("creds.json"),
        format!(
            r#"{{"loginUrl": "{base}/oauth/token", "clientId": "orders-client", "clientSecret": "{SECRET}"}}"#
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let run = nodectl_with(
        dir,
        &[
            "-vv",
            "--log-format",
            "json",
            "run",
            "Get Order",
            "--input",
            "{}",
            "--trace",
        ],
        &[] as &[(String, String)],
        None,
    );
    let mut seen = format!("=== run\n{}", run.transcript());
    assert_eq!(run.code, 0, "{seen}");
    assert!(
        seen.contains("ran the custom authentication action"),
        "run did not authenticate:\n{seen}"
    );

    let serve = LoggedServe::start(dir, &[]);
    let address = serve.address.clone();
    seen.push_str(&format!("=== serve\n{}", serve.first));
    let json = [("Content-Type".to_string(), "application/json".to_string())];
    let mut answers = Vec::new();
    for _ in 0..2 {
        let path = "/simulate/node/Get%20Order?trace=true";
        let (status, answer) = http_request(&address, "POST", path, &json, Some("{}"));
        assert_eq!(status, 200, "serve answered {status}:\n{answer}");
        seen.push_str(&format!("--- POST {path}\n{answer}\n"));
        answers.push(answer);
    }
    seen.push_str(&serve.stop());
    assert!(
        answers[0].contains("ran the custom authentication action")
            && answers[1].contains("reused cached authentication response"),
        "serve did not reuse the authentication response:\n{seen}"
    );
    let authorizations = upstream
        .received()
        .iter()
        .filter(|r| r.target == "/oauth/token")
        .count();
    assert_eq!(authorizations, 2, "one per process:\n{seen}");
    for marker in [SECRET, TOKEN, REFRESH] {
        assert!(
            !seen.contains(marker),
            "{marker} leaked:\n{}",
            excerpt_around(&seen, marker)
        );
    }
}

/// Managed credentials (issue 16): their values, read from the pipeline's `NODECTL_SECRET_…`
/// variables, reach the org's credentials API and nothing else — not `plan -vv` or `apply -vv`
/// (stdout, stderr with debug logs), not the JSON plan, not the saved plan file, not the Markdown
/// comment; the fingerprint key neither. The emulator's state file (standing in for Genesys) must
/// hold them, which proves they were sent at all.
#[test]
fn managed_credential_values_show_nowhere() {
    let case = root().join("tests/cases/scenarios/integrations-as-code");
    let secrets = crate::scenarios::scenario_env(&case);
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = work.path().join("project");
    crate::scenarios::copy_dir(&case.join("project"), &dir);
    let state_file = work.path().join("org.json");
    let emulator = crate::scenarios::start_emulator(
        &["Other Team".to_string()],
        &[
            "--state".to_string(),
            state_file.display().to_string(),
            "--state-sync".to_string(),
            "always".to_string(),
        ],
    );
    let mut envs = secrets.clone();
    envs.extend(crate::scenarios::emulator_env(&emulator.base));
    let mut seen = String::new();
    for args in [
        vec!["plan", "-vv", "--out", "plan.json"],
        vec!["plan", "--output", "json"],
        vec!["plan", "--output", "markdown"],
        vec!["apply", "plan.json", "-vv"],
    ] {
        let run = nodectl_with(&dir, &args, &envs, None);
        assert!(
            run.code == 0 || run.code == 2,
            "{args:?} failed:\n{}",
            run.transcript()
        );
        seen.push_str(&run.stdout);
        seen.push_str(&run.stderr);
    }
    seen.push_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap_or_default());
    assert!(
        seen.contains("update credential") || seen.contains("create its credential"),
        "the runs did manage credentials:\n{seen}"
    );
    let org = std::fs::read_to_string(&state_file).unwrap_or_default();
    for (name, value) in &secrets {
        assert!(
            !seen.contains(value.as_str()),
            "{name}'s value reached nodectl's output or plan file"
        );
        if name.starts_with("NODECTL_SECRET_") {
            assert!(
                org.contains(value.as_str()),
                "{name}'s value never reached the org"
            );
        }
    }
}

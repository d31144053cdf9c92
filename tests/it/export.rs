//! `nodectl export` round trip against the emulator: a varied corpus of 260 actions (every method,
//! headers, translation defaults, secure actions, array-rooted output schemas, schemas holding `null`,
//! unicode names, literal tera markers, Velocity outside nodectl's subset, timeouts, duplicate-slug
//! names; enough to cross listing pages) is exported through the CLI, and then `plan` finds nothing to
//! change and `validate` finds no error.

use nodectl::emulator::{self, EmulatorOptions};
use nodectl::genesys::{Client, ClientOptions, Credentials};
use nodectl::model::ActionContent;
use nodectl::remote::Remote;
use nodectl::remote::convert::post_input;
use serde_json::json;

use crate::expect::nodectl_with;

const INTEGRATION: &str = "Legacy Web Services";

fn corpus_action(i: usize) -> ActionContent {
    let methods = ["GET", "PUT", "POST", "PATCH", "DELETE"];
    let names = [
        "Lookup Customer",
        "Créer un ticket ✓",
        "注文を探す",
        "Lookup  Customer",
        "{{ not tera }} action",
        "Status/Check",
    ];
    let mut content = ActionContent {
        custom_auth: false,
        name: format!("{} {i:03}", names[i % names.len()]),
        category: if i.is_multiple_of(7) {
            "Billing & Payments".into()
        } else {
            "CRM".into()
        },
        secure: i.is_multiple_of(5),
        timeout_seconds: (i.is_multiple_of(4)).then_some(10 + (i % 50) as i64),
        method: methods[i % methods.len()].to_string(),
        url: format!(
            "https://api.example.test/v{}/items/$esc.url(${{input.id}})?q={{{{raw}}}}",
            i % 3
        ),
        headers: if i.is_multiple_of(2) {
            vec![
                ("Authorization".into(), "Bearer ${credentials.token}".into()),
                ("X-Trace".into(), format!("n{i}")),
            ]
        } else {
            Vec::new()
        },
        request_template: if i % 5 == 2 {
            "{\"id\": \"$esc.jsonString(${input.id})\",\n \"n\": 1}\r\n".into()
        } else {
            "${input.rawRequest}".into()
        },
        translation_map: Default::default(),
        translation_map_defaults: Default::default(),
        success_template: "${rawResult}".into(),
        input_schema: json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "description": "the {{ id }}"}}}),
        output_schema: json!({"type": "object", "properties": {"name": {"type": "string"}}}),
    };
    if i % 3 == 1 {
        content
            .translation_map
            .insert("name".into(), "$.customer.name".into());
        content
            .translation_map
            .insert("ids".into(), "$.orders[*].id".into());
        content
            .translation_map_defaults
            .insert("name".into(), "\"unknown\"".into());
        content.success_template = "{\"name\": ${name}, \"ids\": ${ids}}".into();
    }
    if i.is_multiple_of(11) {
        content.output_schema = json!({"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}}}});
    }
    if i.is_multiple_of(13) {
        content.output_schema = json!({"type": "object", "properties": {"tier": {"type": ["string", "null"], "default": null}}});
    }
    if i.is_multiple_of(17) {
        content.success_template = "#macro(m)x#end\n${rawResult}".into();
    }
    content.normalized()
}

#[test]
fn export_then_plan_is_empty() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let handle = runtime
        .block_on(emulator::start(EmulatorOptions {
            integration: vec![INTEGRATION.into()],
            rate_limit: 0,
            ..EmulatorOptions::ephemeral()
        }))
        .unwrap_or_else(|e| panic!("{e}"));
    let integration = handle
        .integrations()
        .into_iter()
        .find(|(n, _, _)| n == INTEGRATION)
        .map(|(_, id, _)| id)
        .unwrap_or_default();
    let mut options = ClientOptions::new(
        handle.base_url(),
        Credentials::ClientCredentials {
            client_id: handle.client_id().into(),
            client_secret: handle.client_secret().into(),
        },
    );
    options.max_rps = 1000.0;
    let remote = Remote::new(Client::new(options).unwrap_or_else(|e| panic!("{e}")), None);
    runtime.block_on(async {
        for i in 0..260 {
            remote
                .create(&post_input(&corpus_action(i), &integration))
                .await
                .unwrap_or_else(|e| panic!("create {i}: {e}"));
        }
    });

    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let source = work.path().join("source");
    std::fs::create_dir_all(&source).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(source.join("nodectl.toml"), format!("[project]\nname = \"adopt\"\n\n[env.legacy]\nemulator = true\nintegration = \"{INTEGRATION}\"\nmax_rps = 1000\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let envs = vec![
        (
            "NODECTL_API_BASE".to_string(),
            handle.base_url().to_string(),
        ),
        (
            "GENESYSCLOUD_OAUTHCLIENT_ID".to_string(),
            handle.client_id().to_string(),
        ),
        (
            "GENESYSCLOUD_OAUTHCLIENT_SECRET".to_string(),
            handle.client_secret().to_string(),
        ),
    ];
    let out = work.path().join("adopted");
    let out_arg = out.to_string_lossy().into_owned();
    let export = nodectl_with(
        &source,
        &["export", "--out", &out_arg, "--fixtures"],
        &envs,
        None,
    );
    assert_eq!(export.code, 0, "{}", export.transcript());
    assert!(
        export.stdout.contains("exported 260 action(s)"),
        "{}",
        export.transcript()
    );
    let manifests = std::fs::read_dir(out.join("nodes"))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
            })
            .count()
        })
        .unwrap_or(0);
    assert_eq!(manifests, 260, "one manifest per action");
    assert!(
        out.join("nodes/schemas").is_dir(),
        "schemas holding null go to JSON files"
    );

    let again = nodectl_with(&source, &["export", "--out", &out_arg], &envs, None);
    assert_eq!(
        again.code,
        5,
        "export must refuse to overwrite:\n{}",
        again.transcript()
    );

    let validate = nodectl_with(&out, &["validate"], &envs, None);
    assert_eq!(validate.code, 0, "{}", validate.transcript());
    assert!(
        validate.stdout.contains("not dry-runnable"),
        "Velocity outside the subset is flagged:\n{}",
        validate.stdout
    );

    let plan = nodectl_with(
        &out,
        &["plan", "--detailed-exitcode", "--skip-dry-run"],
        &envs,
        None,
    );
    assert_eq!(
        plan.code,
        0,
        "the plan after export is not empty:\n{}",
        plan.transcript()
    );
    assert!(
        plan.stdout.contains("260 unchanged"),
        "{}",
        plan.transcript()
    );
    runtime.block_on(async { handle.shutdown().await.unwrap_or_else(|e| panic!("{e}")) });
}

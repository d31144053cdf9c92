//! Throughput of the runtime's hot paths on one core (issue 3's figures), run by `scripts/bench.sh`
//! through `cargo bench --bench runtime`:
//! - rendering a typical request template set (URL + 3 headers + a 10-field JSON body);
//! - a full execution against an in-memory transport (input validation, templates, translation of a
//!   ~2 KB response, success template, output validation).

use std::hint::black_box;
use std::time::{Duration, Instant};

use nodectl::model::{
    IntegrationRef, IntegrationType, LocalPolicy, Method, Node, NodeKey, RequestSpec, ResponseSpec,
};
use nodectl::runtime::{CompiledNode, ExecContext, Runtime, VirtualClock};
use nodectl::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use serde_json::{Value, json};

/// Answers every request with the same response, without I/O.
struct Canned(HttpResponse);

impl Transport for Canned {
    async fn send(
        &self,
        _request: &HttpRequest,
        _timeout: Duration,
    ) -> Result<HttpResponse, TransportError> {
        Ok(self.0.clone())
    }
}

const URL: &str = "https://crm.example.test/v1/customers/$esc.url(${input.customerId})/orders?limit=${input.limit}";
const BODY: &str = r#"{
  "customerId": "$esc.jsonString(${input.customerId})",
  "name": "$esc.jsonString(${input.name})",
  "email": "$esc.jsonString(${input.email})",
  "phone": "${input.phone}",
  "limit": ${input.limit},
  "vip": ${input.vip},
  "channel": "${input.channel}",
  "locale": "${input.locale}",
  "note": "$esc.jsonString(${input.note})",
  "source": "nodectl"
}"#;

fn node() -> Node {
    let properties: serde_json::Map<String, Value> = [
        ("customerId", json!({"type": "string", "minLength": 1})),
        ("name", json!({"type": "string"})),
        ("email", json!({"type": "string"})),
        ("phone", json!({"type": "string"})),
        ("limit", json!({"type": "integer", "minimum": 1})),
        ("vip", json!({"type": "boolean"})),
        (
            "channel",
            json!({"type": "string", "enum": ["voice", "chat"]}),
        ),
        ("locale", json!({"type": "string"})),
        ("note", json!({"type": "string"})),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Node {
        integration_type: IntegrationType::WebServices,
        key: NodeKey {
            integration: IntegrationRef::Name("Bench".into()),
            name: "Bench Lookup".into(),
        },
        category: "Bench".into(),
        secure: false,
        timeout_seconds: Some(10),
        protect: false,
        custom_auth: false,
        previous_names: vec![],
        request: RequestSpec {
            method: Method::Post,
            url: URL.into(),
            body: BODY.into(),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Authorization".into(), "Bearer ${credentials.apiToken}".into()),
                ("X-Correlation".into(), "nodectl-${input.customerId}".into()),
            ],
        },
        response: ResponseSpec {
            success_template: r#"{"name": ${name}, "tier": ${tier}, "orderIds": ${orderIds}, "total": ${total}, "latest": $successTemplateUtils.firstFromArray("${orderIds}", "null")}"#.into(),
            translation_map: vec![
                ("name".into(), "$.customer.name".into()),
                ("tier".into(), "$.customer.tier".into()),
                ("orderIds".into(), "$.orders[*].id".into()),
                ("total".into(), "$.orders.length()".into()),
            ],
            translation_map_defaults: vec![("tier".into(), "\"standard\"".into())],
        },
        input_schema: json!({"type": "object", "required": ["customerId"], "properties": properties}),
        output_schema: json!({"type": "object", "properties": {
            "name": {"type": "string"}, "tier": {"type": "string"},
            "orderIds": {"type": "array", "items": {"type": "string"}}, "total": {"type": "integer"},
            "latest": {"type": ["string", "null"]}}}),
        local: LocalPolicy::default(),
        source: "bench.toml".into(),
        not_dry_runnable: vec![],
    }
}

fn input() -> Value {
    json!({"customerId": "UK/42 B", "name": "Ada \"The\" Lovelace", "email": "ada@example.test", "phone": "+44 20 7946 0000",
           "limit": 20, "vip": true, "channel": "voice", "locale": "en-GB", "note": "line1\nline2"})
}

/// A ~2 KB response body.
fn response_body() -> String {
    let orders: Vec<Value> = (0..20)
        .map(|i| json!({"id": format!("ord-{i:04}"), "status": "shipped", "total": 19.99 + f64::from(i), "items": i % 4 + 1}))
        .collect();
    json!({"customer": {"name": "Ada Lovelace", "tier": "gold", "since": "2019-04-01"}, "orders": orders}).to_string()
}

fn measure(label: &str, minimum: Duration, mut f: impl FnMut()) {
    // Warm up, then count iterations in `minimum`.
    for _ in 0..1000 {
        f();
    }
    let start = Instant::now();
    let mut iterations: u64 = 0;
    while start.elapsed() < minimum {
        for _ in 0..256 {
            f();
        }
        iterations += 256;
    }
    let per_second = iterations as f64 / start.elapsed().as_secs_f64();
    println!("{label}: {per_second:.0}");
}

fn main() {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let duration = Duration::from_secs(seconds);

    let url = nodectl::vtl::parse(URL).unwrap_or_else(|e| panic!("{e}"));
    let body = nodectl::vtl::parse(BODY).unwrap_or_else(|e| panic!("{e}"));
    let headers: Vec<_> = [
        "application/json",
        "Bearer ${credentials.apiToken}",
        "nodectl-${input.customerId}",
    ]
    .iter()
    .map(|h| nodectl::vtl::parse(h).unwrap_or_else(|e| panic!("{e}")))
    .collect();
    let mut input_object = input();
    if let Value::Object(map) = &mut input_object {
        map.insert("rawRequest".into(), Value::String(input().to_string()));
    }
    let context = json!({"input": input_object, "credentials": {"apiToken": "t0k3n"}});
    measure("request_template_renders_per_second", duration, || {
        let mut total = 0;
        total += nodectl::vtl::render(&url, &context, nodectl::vtl::Mode::Request)
            .map_or(0, |s| s.len());
        for header in &headers {
            total += nodectl::vtl::render(header, &context, nodectl::vtl::Mode::Request)
                .map_or(0, |s| s.len());
        }
        total += nodectl::vtl::render(&body, &context, nodectl::vtl::Mode::Request)
            .map_or(0, |s| s.len());
        black_box(total);
    });

    let compiled = CompiledNode::new(node());
    let transport = Canned(HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: response_body(),
    });
    let runtime = Runtime::new(transport, VirtualClock::default());
    let mut credentials = serde_json::Map::new();
    credentials.insert("apiToken".into(), Value::String("t0k3n".into()));
    let exec_context = ExecContext::new(None, credentials);
    let input = input();
    let executor = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let check = executor.block_on(runtime.execute(&compiled, &input, &exec_context));
    assert!(check.success(), "benchmark node fails: {:?}", check.result);
    measure("full_executions_per_second", duration, || {
        let execution = executor.block_on(runtime.execute(&compiled, &input, &exec_context));
        black_box(execution.success());
    });
}

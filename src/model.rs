//! The domain vocabulary shared by every layer: a project's environments, a resolved node (one data
//! action as nodectl will create it and execute it), and a fixture (one recorded execution).
//!
//! These are *resolved* values: tera variables are rendered, defaults are not yet applied where the
//! runtime owns them (e.g. `timeout_seconds`), and file-format details (spans, `*_file` indirections,
//! `input_json`) are gone. `manifest` builds them; everything else only reads them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A node's identity: `(integration, name)` (docs/plan-apply.md, "Matching and renames").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct NodeKey {
    pub integration: IntegrationRef,
    pub name: String,
}

/// An integration named by its display name or by its id (`id:<uuid>` in the files).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "lowercase")]
pub enum IntegrationRef {
    Name(String),
    Id(String),
}

impl IntegrationRef {
    /// Parses the file syntax: `id:<uuid>` or a plain name. A malformed id is reported by `manifest`.
    pub fn parse(text: &str) -> IntegrationRef {
        match text.strip_prefix("id:") {
            Some(id) => IntegrationRef::Id(id.trim().to_string()),
            None => IntegrationRef::Name(text.to_string()),
        }
    }
}

impl fmt::Display for IntegrationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntegrationRef::Name(name) => f.write_str(name),
            IntegrationRef::Id(id) => write!(f, "id:{id}"),
        }
    }
}

/// The Genesys integration type an action lives in: it decides how Genesys executes the action
/// (docs/formats.md, "Integration types").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub enum IntegrationType {
    /// `custom-rest-actions`: Web Services data actions, an absolute URL called as is.
    WebServices,
    /// `purecloud-data-actions`: Genesys Cloud Data Actions, a path of the org's own Platform API
    /// called with a token granted to the integration's OAuth client.
    GenesysCloud,
    /// Any other type (`function-data-actions`, `aws-lambda-data-actions`, `salesforce-datadip`, …):
    /// managed as configuration; dry-run over fixtures, never executed live by nodectl.
    Other(String),
}

impl IntegrationType {
    pub const WEB_SERVICES: &'static str = "custom-rest-actions";
    pub const GENESYS_CLOUD: &'static str = "purecloud-data-actions";
    pub const FUNCTION: &'static str = "function-data-actions";

    /// Reads a type name; `None` when it is not a plausible type (lower-case letters, digits, `-`).
    pub fn parse(text: &str) -> Option<IntegrationType> {
        let plausible = !text.is_empty()
            && !text.starts_with('-')
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        match text {
            Self::WEB_SERVICES => Some(IntegrationType::WebServices),
            Self::GENESYS_CLOUD => Some(IntegrationType::GenesysCloud),
            _ if plausible => Some(IntegrationType::Other(text.to_string())),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            IntegrationType::WebServices => Self::WEB_SERVICES,
            IntegrationType::GenesysCloud => Self::GENESYS_CLOUD,
            IntegrationType::Other(name) => name,
        }
    }

    /// Whether actions of this type have no request URL (a function data action runs code).
    pub fn has_no_url(&self) -> bool {
        self.as_str() == Self::FUNCTION
    }

    /// Where a dry-run sends the requests of a type only Genesys executes live (a third party's
    /// instance, a Lambda, a function's code): an origin on the reserved `.invalid` domain that
    /// fixtures answer for, so that its templates, translation map and schemas are tested offline.
    /// `None` for Web Services and Genesys Cloud Data Actions, whose URLs are real.
    pub fn dry_run_origin(&self) -> Option<String> {
        match self {
            IntegrationType::WebServices | IntegrationType::GenesysCloud => None,
            IntegrationType::Other(name) => Some(format!("https://{name}.invalid")),
        }
    }

    /// Why nodectl cannot execute actions of this type live (`run`, `record`, `serve`, the
    /// emulator's `/test`); `None` when it can. Such actions still dry-run over fixtures.
    pub fn live_obstacle(&self) -> Option<String> {
        let why = match self.as_str() {
            Self::WEB_SERVICES | Self::GENESYS_CLOUD => return None,
            Self::FUNCTION => {
                "Genesys runs a function data action's code package (AWS Lambda, managed by Genesys)"
            }
            "aws-lambda-data-actions" => {
                "Genesys invokes the AWS Lambda function its URL names with the integration's IAM role"
            }
            "salesforce-datadip" => {
                "Genesys calls Salesforce through the integration's Salesforce session (instance and OAuth)"
            }
            "zendesk-data-actions" => {
                "Genesys calls Zendesk through the integration's Zendesk account"
            }
            "microsoft-dynamics-data-actions" => {
                "Genesys calls Dynamics 365 through the integration's Azure AD application"
            }
            other => {
                return Some(format!(
                    "integration type `{other}` is executed by Genesys only; nodectl does not know how"
                ));
            }
        };
        Some(format!("integration type `{}`: {why}", self.as_str()))
    }
}

impl From<IntegrationType> for String {
    fn from(kind: IntegrationType) -> String {
        kind.as_str().to_string()
    }
}

impl fmt::Display for IntegrationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// HTTP method of a data action (`config.request.requestType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Method {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "PUT")]
    Put,
    #[serde(rename = "POST")]
    Post,
    #[serde(rename = "PATCH")]
    Patch,
    #[serde(rename = "DELETE")]
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Whether Genesys sends the rendered request body (docs/runtime.md step 4).
    pub fn sends_body(self) -> bool {
        matches!(self, Method::Post | Method::Put | Method::Patch)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an environment's Genesys Cloud API lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The embedded emulator; state in `.nodectl/emulator/<env>.json`.
    Emulator,
    /// A Genesys region, resolved to its API base (`https://api.<domain>`).
    Region { name: String, api_base: String },
    /// An explicit API base URL.
    ApiBase(String),
}

impl Target {
    /// The API base of a region or explicit base; `None` for the emulator (its address is known
    /// only once it runs).
    pub fn api_base(&self) -> Option<&str> {
        match self {
            Target::Region { api_base, .. } | Target::ApiBase(api_base) => Some(api_base),
            Target::Emulator => None,
        }
    }
}

/// One `[env.NAME]` of `nodectl.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Env {
    pub name: String,
    pub target: Target,
    /// The integrations whose actions this env manages (ownership, docs/plan-apply.md).
    pub integrations: Vec<IntegrationRef>,
    /// The types the project declares for them (`integrations` entries with `type`); the others are
    /// Web Services integrations (`custom-rest-actions`).
    pub integration_types: BTreeMap<IntegrationRef, IntegrationType>,
    pub vars: Map<String, Value>,
    pub client_id_env: String,
    pub client_secret_env: String,
    pub max_rps: f64,
    pub org_id: Option<String>,
    pub credentials_file: Option<PathBuf>,
    /// The integrations nodectl manages as resources (created, configured, given their credential,
    /// enabled, pruned), in the order declared: the entries with `manage` or `credential`.
    pub managed_integrations: Vec<IntegrationSpec>,
}

/// An integration nodectl manages itself (docs/plan-apply.md, "Integrations as code").
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationSpec {
    /// Its name (a managed integration is always named: nodectl may have to create it).
    pub name: String,
    pub integration_type: IntegrationType,
    pub enabled: bool,
    pub credential: Option<CredentialSpec>,
}

/// A managed integration's credential: the Genesys credential type and each field's source.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialSpec {
    pub credential_type: String,
    pub fields: BTreeMap<String, SecretSource>,
}

impl CredentialSpec {
    /// `userDefinedOAuth`: the credential type that gives a Web Services integration its custom
    /// authentication action.
    pub const USER_DEFINED_OAUTH: &'static str = "userDefinedOAuth";

    pub fn makes_custom_auth(&self) -> bool {
        self.credential_type == Self::USER_DEFINED_OAUTH
    }
}

/// An integration as the org holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationState {
    pub id: String,
    pub name: String,
    pub integration_type: String,
    pub enabled: bool,
    /// `config.current.notes`: where nodectl's marker is.
    pub notes: String,
    /// The credentials its configuration binds, by key.
    pub bound: Vec<(String, CredentialState)>,
    /// Credentials nodectl wrote for it and did not get to bind (an apply interrupted between the
    /// two writes).
    pub unbound: Vec<CredentialState>,
    /// Its actions (not counting Genesys's static and custom authentication ones).
    pub actions: usize,
}

/// A credential, as the org shows it: never its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialState {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub credential_type: String,
}

/// The values of the managed credentials, by integration name then field: read from the
/// pipeline's secrets for one apply and handed to Genesys, never printed (its `Debug` shows only
/// the field names), never saved.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CredentialValues(pub BTreeMap<String, BTreeMap<String, String>>);

impl fmt::Debug for CredentialValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: BTreeMap<&str, Vec<&str>> = self
            .0
            .iter()
            .map(|(integration, fields)| {
                (
                    integration.as_str(),
                    fields.keys().map(String::as_str).collect(),
                )
            })
            .collect();
        write!(f, "CredentialValues(<redacted> {names:?})")
    }
}

/// Where a credential field's value comes from; never the value of a secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable `NODECTL_SECRET_…`.
    Env(String),
    /// A file name in `$NODECTL_SECRETS_DIR`.
    File(String),
    /// A value that is not secret, written in the project.
    Value(String),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(name) => write!(f, "${name}"),
            SecretSource::File(name) => write!(f, "$NODECTL_SECRETS_DIR/{name}"),
            SecretSource::Value(_) => f.write_str("a value in the project"),
        }
    }
}

impl Env {
    /// The type of a managed integration: as declared, else `custom-rest-actions`.
    pub fn integration_type(&self, integration: &IntegrationRef) -> IntegrationType {
        self.integration_types
            .get(integration)
            .cloned()
            .unwrap_or(IntegrationType::WebServices)
    }
}

/// The id prefix Genesys gives an integration's custom authentication action:
/// `customAuth_-_<integrationId>`.
pub const CUSTOM_AUTH_PREFIX: &str = "customAuth_-_";

/// Whether an action id is a custom authentication action's.
pub fn is_custom_auth_id(id: &str) -> bool {
    id.starts_with(CUSTOM_AUTH_PREFIX)
}

/// `[safety]` of `nodectl.toml`.
#[derive(Debug, Clone, Default)]
pub struct Safety {
    pub max_change_percent: Option<f64>,
    pub min_existing: Option<u64>,
    pub protect: Vec<String>,
}

/// `nodectl.toml`, resolved.
#[derive(Debug, Clone)]
pub struct ProjectConfig {
    pub name: String,
    /// The project directory (where `nodectl.toml` is).
    pub dir: PathBuf,
    pub nodes_dir: PathBuf,
    pub fixtures_dir: PathBuf,
    pub default_env: Option<String>,
    pub envs: BTreeMap<String, Env>,
    pub safety: Safety,
}

/// `requestTemplate` when a manifest leaves it out: the whole input as JSON.
pub const DEFAULT_BODY: &str = "${input.rawRequest}";
/// `successTemplate` when a manifest leaves it out: the response body as is.
pub const DEFAULT_SUCCESS_TEMPLATE: &str = "${rawResult}";

/// `config.request` of a data action.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    pub method: Method,
    /// `requestUrlTemplate` (Velocity); empty for a function data action, which has none. A Genesys
    /// Cloud Data Action's is a path of the Platform API, resolved against the env's API base.
    pub url: String,
    /// `requestTemplate` (Velocity); `${input.rawRequest}` when the manifest leaves it out.
    pub body: String,
    /// Header name → Velocity template, in file order.
    pub headers: Vec<(String, String)>,
}

/// `config.response` of a data action.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseSpec {
    /// `successTemplate` (Velocity); `${rawResult}` when the manifest leaves it out.
    pub success_template: String,
    /// Variable → JSONPath, in file order.
    pub translation_map: Vec<(String, String)>,
    /// Variable → JSON text used when the path does not resolve.
    pub translation_map_defaults: Vec<(String, String)>,
}

/// Backoff shape of the local retry policy (docs/runtime.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    Constant,
    Linear,
    Exponential,
}

/// `[local].retry`, with docs/runtime.md's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub backoff: Backoff,
    pub initial_delay_ms: u64,
    pub max_delay_ms: u64,
    pub multiplier: f64,
    pub jitter: bool,
    pub retry_on: Vec<u16>,
}

impl RetryPolicy {
    pub const DEFAULT_RETRY_ON: [u16; 5] = [429, 500, 502, 503, 504];
}

/// `[local].cache`.
#[derive(Debug, Clone, PartialEq)]
pub struct CachePolicy {
    pub ttl_seconds: u64,
    pub max_entries: u64,
}

impl CachePolicy {
    pub const DEFAULT_MAX_ENTRIES: u64 = 1000;
}

/// nodectl's local execution policy (`[local]`); never sent to Genesys.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocalPolicy {
    pub retry: Option<RetryPolicy>,
    pub cache: Option<CachePolicy>,
    /// `[local] parity = true`: `nodectl parity` may have the org test this node with its
    /// fixtures' inputs (a test executes the real request, so it is opted into per node).
    pub parity: bool,
}

/// One node as the env resolves it: the data action nodectl manages.
#[derive(Debug, Clone)]
pub struct Node {
    pub key: NodeKey,
    /// The type of the node's integration, as the env declares it.
    pub integration_type: IntegrationType,
    pub category: String,
    pub secure: bool,
    /// `config.timeoutSeconds`; the runtime uses 60 when absent, as Genesys does.
    pub timeout_seconds: Option<u8>,
    pub protect: bool,
    /// The integration's custom authentication action (`customAuth_-_<integrationId>`): Genesys
    /// creates and deletes it with a User Defined OAuth credential; nodectl only updates it.
    pub custom_auth: bool,
    pub previous_names: Vec<String>,
    pub request: RequestSpec,
    pub response: ResponseSpec,
    pub input_schema: Value,
    pub output_schema: Value,
    pub local: LocalPolicy,
    /// The manifest this node came from, relative to the project directory.
    pub source: PathBuf,
    /// Why nodectl cannot execute this node (empty: it can). Genesys still accepts it.
    pub not_dry_runnable: Vec<String>,
}

/// The error kinds of docs/runtime.md; fixtures assert on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ErrorKind {
    #[serde(rename = "input.invalid")]
    InputInvalid,
    // The action's definition cannot run (a contract that does not compile): step 2.
    #[serde(rename = "definition.invalid")]
    DefinitionInvalid,
    // Step 4: the token grant or the custom authentication action failed.
    #[serde(rename = "authentication")]
    AuthenticationFailed,
    #[serde(rename = "template.request")]
    TemplateRequest,
    #[serde(rename = "template.unsupported")]
    TemplateUnsupported,
    #[serde(rename = "remote.status")]
    RemoteStatus,
    #[serde(rename = "remote.timeout")]
    RemoteTimeout,
    #[serde(rename = "remote.connect")]
    RemoteConnect,
    // Step 8: the upstream answered 2xx with a body that is not JSON.
    #[serde(rename = "remote.invalid")]
    RemoteInvalid,
    #[serde(rename = "translation")]
    Translation,
    #[serde(rename = "template.success")]
    TemplateSuccess,
    #[serde(rename = "output.invalid")]
    OutputInvalid,
}

/// A simulated transport failure instead of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransportFailure {
    Connect,
    Timeout,
}

/// What a fixture expects of one request; fields left out are not checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpectedRequest {
    pub method: Option<Method>,
    pub url: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// The recorded answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordedResponse {
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        delay_ms: u64,
    },
    Failure(TransportFailure),
}

/// One HTTP attempt of a fixture.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub request: ExpectedRequest,
    pub response: RecordedResponse,
}

/// `[expect]` of a fixture.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expectation {
    pub success: bool,
    pub attempts: Option<u32>,
    pub output: Option<Value>,
    pub error: Option<ErrorKind>,
    pub error_contains: Option<String>,
    pub waits_ms: Option<Vec<u64>>,
    pub cached: Option<Vec<bool>>,
    /// The output is compared in Architect's flattened form (`flatten=true`).
    pub flatten: bool,
}

/// One recorded execution of one node.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Path relative to the fixtures directory, without `.toml`.
    pub name: String,
    pub node: String,
    pub description: Option<String>,
    /// The env whose vars rendered this fixture and its node.
    pub env: String,
    pub repeat: u32,
    pub advance_ms: Vec<u64>,
    pub clock_start: Option<String>,
    pub input: Value,
    pub credentials: Map<String, Value>,
    /// `[auth_response]`: `${authResponse.X}` given directly, instead of running the integration's
    /// custom authentication action over the first exchanges.
    pub auth_response: Option<Map<String, Value>>,
    pub exchanges: Vec<Exchange>,
    pub expect: Expectation,
    /// The fixture file, relative to the project directory.
    pub source: PathBuf,
}

/// Genesys Cloud regions as the Terraform provider and the `gc` CLI name them, with their domains
/// (docs/formats.md, "[env.NAME]"). The API base is `https://api.<domain>`.
pub const REGIONS: [(&str, &str); 18] = [
    ("us-east-1", "mypurecloud.com"),
    ("us-east-2", "use2.us-gov-pure.cloud"),
    ("us-west-2", "usw2.pure.cloud"),
    ("ca-central-1", "cac1.pure.cloud"),
    ("sa-east-1", "sae1.pure.cloud"),
    ("mx-central-1", "mxc1.pure.cloud"),
    ("eu-west-1", "mypurecloud.ie"),
    ("eu-west-2", "euw2.pure.cloud"),
    ("eu-central-1", "mypurecloud.de"),
    ("eu-central-2", "euc2.pure.cloud"),
    ("me-central-1", "mec1.pure.cloud"),
    ("ap-south-1", "aps1.pure.cloud"),
    ("ap-southeast-1", "apse1.pure.cloud"),
    ("ap-southeast-2", "mypurecloud.com.au"),
    ("ap-northeast-1", "mypurecloud.jp"),
    ("ap-northeast-2", "apne2.pure.cloud"),
    ("ap-northeast-3", "apne3.pure.cloud"),
    ("eusc-de-east-1", "edee1.eusc-pure.cloud"),
];

/// The domain of a region: its name (`eu-west-1`) or its domain (`mypurecloud.ie`), both only from
/// the fixed table — a project file never chooses a host of its own (docs/security.md).
pub fn region_domain(region: &str) -> Option<&'static str> {
    REGIONS
        .iter()
        .find(|(name, domain)| *name == region || *domain == region)
        .map(|(_, domain)| *domain)
}

/// The host of an `http(s)://host[:port][/path]` URL, lower-cased, without brackets; `None` when
/// the text is not such a URL. Userinfo (`user@host`) is refused: it hides the real host.
pub fn url_host(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return None;
    }
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    (!host.is_empty()).then(|| (scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// `localhost`, `127.x.y.z` or `::1`: a host on this machine.
pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `host` is the API or login host of a Genesys region of the fixed table.
pub fn is_genesys_host(host: &str) -> bool {
    REGIONS.iter().any(|(_, domain)| {
        host.strip_prefix("api.")
            .or_else(|| host.strip_prefix("login."))
            == Some(domain)
    })
}

/// Whether `text` is a UUID in its canonical 8-4-4-4-12 hexadecimal form.
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A data action's content in the one form `plan` compares: what a manifest says and what the org
/// holds, both normalised (docs/plan-apply.md, "Diff") so that drift which only normalisation explains
/// never shows up as a change — templates with LF line ends, header names compared
/// case-insensitively, absent maps empty, absent templates at their defaults, `timeoutSeconds` only
/// when the manifest sets it, schemas as JSON values (key order never matters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionContent {
    /// The integration's custom authentication action (`customAuth_-_<integrationId>`); left out of
    /// the serialized form when false, so plan files and checksums of other actions are unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub custom_auth: bool,
    pub name: String,
    pub category: String,
    pub secure: bool,
    pub timeout_seconds: Option<i64>,
    pub method: String,
    pub url: String,
    /// Header name (as written) → value, ordered by lowercased name.
    pub headers: Vec<(String, String)>,
    pub request_template: String,
    pub translation_map: std::collections::BTreeMap<String, String>,
    pub translation_map_defaults: std::collections::BTreeMap<String, String>,
    pub success_template: String,
    pub input_schema: Value,
    pub output_schema: Value,
}

/// What kind of JSON value this is, for messages: `null`, `a boolean`, `a number`, `a string`,
/// `an array`, `an object`.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// CRLF → LF: templates edited on Windows or in the Genesys UI compare equal.
pub fn normalize_template(text: &str) -> String {
    text.replace("\r\n", "\n")
}

impl ActionContent {
    /// The same content, normalised; `headers` may come in any order and case.
    pub fn normalized(mut self) -> ActionContent {
        self.headers
            .sort_by_key(|(name, _)| name.to_ascii_lowercase());
        self.request_template = normalize_template(&self.request_template);
        self.success_template = normalize_template(&self.success_template);
        self.url = normalize_template(&self.url);
        if self.request_template.is_empty() {
            self.request_template = DEFAULT_BODY.to_string();
        }
        if self.success_template.is_empty() {
            self.success_template = DEFAULT_SUCCESS_TEMPLATE.to_string();
        }
        self
    }

    /// Header maps compared with names case-insensitive.
    pub fn same_headers(&self, other: &ActionContent) -> bool {
        self.headers.len() == other.headers.len()
            && self
                .headers
                .iter()
                .zip(&other.headers)
                .all(|((a, x), (b, y))| a.eq_ignore_ascii_case(b) && x == y)
    }
}

impl Node {
    /// The content this node asks for.
    pub fn content(&self) -> ActionContent {
        ActionContent {
            custom_auth: self.custom_auth,
            name: self.key.name.clone(),
            category: self.category.clone(),
            secure: self.secure,
            timeout_seconds: self.timeout_seconds.map(i64::from),
            method: self.request.method.as_str().to_string(),
            url: self.request.url.clone(),
            headers: self.request.headers.clone(),
            request_template: self.request.body.clone(),
            translation_map: self.response.translation_map.iter().cloned().collect(),
            translation_map_defaults: self
                .response
                .translation_map_defaults
                .iter()
                .cloned()
                .collect(),
            success_template: self.response.success_template.clone(),
            input_schema: self.input_schema.clone(),
            output_schema: self.output_schema.clone(),
        }
        .normalized()
    }
}

/// An Architect flow that consumes a data action (Architect's dependency tracking): its published
/// and / or its checked-in version does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumingFlow {
    pub id: String,
    pub name: String,
    /// Architect's type (`INBOUNDCALLFLOW`, …).
    #[serde(rename = "type")]
    pub flow_type: String,
    /// The published version that consumes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// The checked-in (saved, not yet published) version that consumes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_in: Option<String>,
}

impl ConsumingFlow {
    /// `Main IVR (INBOUNDCALLFLOW, published 3.0, checked in 4.0)`.
    pub fn describe(&self) -> String {
        let versions: Vec<String> = [
            self.published.as_ref().map(|v| format!("published {v}")),
            self.checked_in.as_ref().map(|v| format!("checked in {v}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        format!(
            "{} ({}, {})",
            self.name,
            self.flow_type,
            versions.join(", ")
        )
    }
}

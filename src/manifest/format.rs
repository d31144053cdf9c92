//! The three file formats (`nodectl.toml`, `nodes/*.toml`, `fixtures/**/*.toml`) as serde structs.
//!
//! These structs are the single source of truth for the shape of the files: `nodectl schema` derives
//! the published JSON Schema from them (schemars), the loader checks every file against that same
//! schema to report *all* shape problems at once (serde alone stops at the first), and only then
//! deserializes into these structs. Semantic rules (ranges that depend on other fields, references
//! between files, JSON Schema compilation, Genesys's contract rules) live in `rules`.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::model::{Backoff, ErrorKind, Method, TransportFailure};

/// An insertion-ordered table, so headers and translation maps keep the order they have in the file.
pub type OrderedMap<V> = IndexMap<String, V>;

/// `nodectl.toml`: the project file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "nodectl project file (nodectl.toml)")]
pub struct ProjectFile {
    pub project: ProjectSection,
    /// Environments (Genesys Cloud orgs or the embedded emulator), by name.
    #[serde(default)]
    pub env: BTreeMap<String, EnvSection>,
    #[serde(default)]
    pub safety: Option<SafetySection>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    /// Project name (tera: `project.name`).
    pub name: String,
    /// Directory of node manifests, relative to the project directory (default `nodes`).
    pub nodes: Option<String>,
    /// Directory of fixtures, relative to the project directory (default `fixtures`).
    pub fixtures: Option<String>,
    /// The env used when `--env` is not given; required when more than one env exists.
    pub default_env: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvSection {
    /// Use the embedded emulator (state in `.nodectl/emulator/<env>.json`); excludes `region` and `api_base`.
    pub emulator: Option<bool>,
    /// Genesys region name (us-east-1, eu-west-1, …) or a domain (mypurecloud.ie).
    pub region: Option<String>,
    /// API base URL, e.g. `https://api.mypurecloud.com` (`http://` only for a loopback host).
    pub api_base: Option<String>,
    /// The integration whose actions this env manages: its name, `id:<uuid>`, or a table
    /// `{ name = "…", type = "purecloud-data-actions" }` (type `custom-rest-actions` when left out).
    pub integration: Option<IntegrationEntry>,
    /// Several managed integrations; each node then names its own with `integration = …`.
    pub integrations: Option<Vec<IntegrationEntry>>,
    /// Tera variables for manifests and fixtures (`{{ vars.NAME }}`).
    pub vars: Option<OrderedMap<Value>>,
    /// Name of the variable holding the OAuth client id (default `GENESYSCLOUD_OAUTHCLIENT_ID`).
    pub client_id_env: Option<String>,
    /// Name of the variable holding the OAuth client secret (default `GENESYSCLOUD_OAUTHCLIENT_SECRET`).
    pub client_secret_env: Option<String>,
    /// Request rate towards this org, per second (default 4; the platform allows 300 per minute).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub max_rps: Option<f64>,
    /// Org id for `${input.orgId}` (default the zero UUID).
    pub org_id: Option<String>,
    /// JSON file of credential values for live runs (default `.nodectl/credentials/<env>.json`).
    pub credentials_file: Option<String>,
}

/// One managed integration: a name (or `id:<uuid>`) of a Web Services integration, or a table that
/// also gives its type.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IntegrationEntry {
    Name(String),
    Declared(DeclaredIntegration),
}

impl IntegrationEntry {
    /// The name or `id:<uuid>` as written.
    pub fn reference(&self) -> &str {
        match self {
            IntegrationEntry::Name(name) => name,
            IntegrationEntry::Declared(declared) => &declared.name,
        }
    }

    /// The declared integration type, if the entry gives one.
    pub fn declared_type(&self) -> Option<&str> {
        match self {
            IntegrationEntry::Name(_) => None,
            IntegrationEntry::Declared(declared) => declared.integration_type.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclaredIntegration {
    /// The integration's name, or `id:<uuid>`.
    pub name: String,
    /// Its Genesys integration type: `custom-rest-actions` (Web Services, the default),
    /// `purecloud-data-actions` (Genesys Cloud Data Actions), `function-data-actions`,
    /// `aws-lambda-data-actions`, `salesforce-datadip`, `zendesk-data-actions`,
    /// `microsoft-dynamics-data-actions`, …
    #[serde(rename = "type")]
    pub integration_type: Option<String>,
    /// nodectl manages the integration itself, not only its actions: creates it when the org lacks
    /// it, keeps its configuration, credential and state as declared, and deletes it with `--prune`
    /// once the project no longer declares it (docs/plan-apply.md, "Integrations as code").
    /// Default: true when `credential` is given.
    pub manage: Option<bool>,
    /// Whether the managed integration is enabled (`intendedState`); default true.
    pub enabled: Option<bool>,
    /// The managed integration's credential, its values read from the pipeline's secrets.
    pub credential: Option<CredentialSection>,
}

/// A managed integration's credential: its Genesys credential type and where each field's value
/// comes from. Values never live in the project: a field names an environment variable
/// (`NODECTL_SECRET_…`) or a file in the pipeline's secrets folder (`$NODECTL_SECRETS_DIR`); only
/// a value that is not secret (a login URL) may be written as is.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialSection {
    /// `basicAuth`, `userDefined`, `userDefinedOAuth` (Web Services), `pureCloudOAuthClient`
    /// (Genesys Cloud Data Actions), or another type the integration type accepts.
    #[serde(rename = "type")]
    pub credential_type: String,
    /// Field name → source of its value.
    pub fields: OrderedMap<SecretSourceSection>,
}

/// Where one credential field's value comes from: exactly one of `env`, `file`, `value`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretSourceSection {
    /// An environment variable of the pipeline, named `NODECTL_SECRET_<NAME>`.
    pub env: Option<String>,
    /// A file name inside the folder `$NODECTL_SECRETS_DIR` (one trailing newline is dropped).
    pub file: Option<String>,
    /// A value that is not a secret (it is in git), e.g. an OAuth login URL.
    pub value: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SafetySection {
    /// Changes above this share of existing actions need `--force`.
    #[schemars(range(min = 0, max = 100))]
    pub max_change_percent: Option<f64>,
    /// The change brake applies only when at least this many actions exist.
    #[schemars(range(min = 0))]
    pub min_existing: Option<u64>,
    /// Action names that are never deleted or replaced.
    #[serde(default)]
    pub protect: Vec<String>,
}

/// `nodes/*.toml`: one data action.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "nodectl node manifest (nodes/*.toml)")]
pub struct NodeFile {
    /// Action name; unique per integration; the node's identity.
    pub name: String,
    /// Action category (required by Genesys).
    pub category: String,
    /// Inputs are sensitive: never logged or recorded.
    pub secure: Option<bool>,
    /// `config.timeoutSeconds`, 1..=60 (60 when absent at run time).
    #[schemars(range(min = 1, max = 60))]
    pub timeout_seconds: Option<i64>,
    /// Never delete or replace this action.
    pub protect: Option<bool>,
    /// This is the integration's custom authentication action (`customAuth_-_<integrationId>`,
    /// which Genesys creates with a User Defined OAuth credential): matched by its integration, only
    /// ever updated.
    pub custom_auth: Option<bool>,
    /// Earlier names, so a rename keeps the action id.
    #[serde(default)]
    pub previous_names: Vec<String>,
    /// The integration (name or `id:<uuid>`); needed when the env manages several.
    pub integration: Option<String>,
    pub request: RequestSection,
    pub response: Option<ResponseSection>,
    /// `contract.input.inputSchema`, a JSON Schema written as TOML.
    pub input_schema: Option<OrderedMap<Value>>,
    /// The input schema as a JSON file, relative to the manifest.
    pub input_schema_file: Option<String>,
    /// `contract.output.successSchema`, a JSON Schema written as TOML.
    pub output_schema: Option<OrderedMap<Value>>,
    /// The output schema as a JSON file, relative to the manifest.
    pub output_schema_file: Option<String>,
    /// nodectl's local policy for run / serve / test; never sent to Genesys.
    pub local: Option<LocalSection>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSection {
    /// `requestType`.
    pub method: Method,
    /// `requestUrlTemplate` (Velocity): absolute for Web Services, a path (`/api/v2/…`) for Genesys
    /// Cloud Data Actions; function data actions have none.
    pub url: Option<String>,
    /// `requestTemplate` (Velocity); default `${input.rawRequest}`.
    pub body: Option<String>,
    /// Header name → value (Velocity).
    #[serde(default)]
    pub headers: OrderedMap<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseSection {
    /// `successTemplate` (Velocity); default `${rawResult}`.
    pub success_template: Option<String>,
    /// Variable → JSONPath into the response body.
    #[serde(default)]
    pub translation_map: OrderedMap<String>,
    /// Variable → JSON text used when a path does not resolve.
    #[serde(default)]
    pub translation_map_defaults: OrderedMap<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalSection {
    pub retry: Option<RetrySection>,
    pub cache: Option<CacheSection>,
    /// `nodectl parity` may send this node's fixtures' inputs to the org's test endpoint, which
    /// executes the real request (default false).
    pub parity: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySection {
    /// Retries after the first attempt (attempts = 1 + max_retries).
    #[schemars(range(min = 0, max = 100))]
    pub max_retries: Option<i64>,
    /// Default `exponential`.
    pub backoff: Option<Backoff>,
    /// Default 500.
    #[schemars(range(min = 0))]
    pub initial_delay_ms: Option<i64>,
    /// Default 10000.
    #[schemars(range(min = 0))]
    pub max_delay_ms: Option<i64>,
    /// Default 2.0.
    #[schemars(range(min = 1))]
    pub multiplier: Option<f64>,
    /// Default true: a live run waits a random time in [wait/2, wait].
    pub jitter: Option<bool>,
    /// Statuses retried (default 429, 500, 502, 503, 504); connection failures and timeouts always are.
    pub retry_on: Option<Vec<StatusCode>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    /// How long a successful execution is reused.
    #[schemars(range(min = 1))]
    pub ttl_seconds: i64,
    /// Least recently used entries are evicted beyond this (default 1000).
    #[schemars(range(min = 1))]
    pub max_entries: Option<i64>,
}

/// An HTTP status code.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct StatusCode(#[schemars(range(min = 100, max = 599))] pub i64);

/// `fixtures/**/*.toml`: one recorded execution of one node.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "nodectl fixture (fixtures/**/*.toml)")]
pub struct FixtureFile {
    /// The node's name.
    pub node: String,
    pub description: Option<String>,
    /// Whose vars render the node (default: the selected env).
    pub env: Option<String>,
    /// Run the node this many times with the same input (cache tests).
    #[schemars(range(min = 1, max = 1000))]
    pub repeat: Option<i64>,
    /// Virtual-clock advances between repeated executions.
    #[serde(default)]
    pub advance_ms: Vec<NonNegative>,
    /// Virtual clock start (RFC 3339).
    pub clock_start: Option<String>,
    /// The flow's input variables.
    pub input: Option<OrderedMap<Value>>,
    /// The input as JSON text (when it needs `null`).
    pub input_json: Option<String>,
    /// Values for `${credentials.X}`; use fake values — fixtures are committed.
    pub credentials: Option<OrderedMap<String>>,
    /// Values for `${authResponse.X}`, given directly: the integration's custom authentication
    /// action is not run and its exchange is not in `exchange`. Use fake values.
    pub auth_response: Option<OrderedMap<Value>>,
    /// The HTTP exchanges, one per attempt, in order (a node reading `${authResponse.X}` without
    /// `auth_response`: the custom authentication action's first).
    #[serde(default)]
    pub exchange: Vec<ExchangeSection>,
    pub expect: ExpectSection,
}

/// A non-negative integer (milliseconds).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct NonNegative(#[schemars(range(min = 0))] pub i64);

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSection {
    /// Expectations on the request; keys left out are not checked.
    #[serde(default)]
    pub request: Option<RequestExpectSection>,
    /// The recorded answer.
    pub response: ResponseRecordSection,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestExpectSection {
    pub method: Option<Method>,
    /// Exact URL, or path and query when it starts with `/`.
    pub url: Option<String>,
    /// Subset of the request headers; names case-insensitive.
    #[serde(default)]
    pub headers: OrderedMap<String>,
    /// Compared as JSON when both sides parse as JSON, else as text.
    pub body: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseRecordSection {
    pub status: Option<StatusCode>,
    #[serde(default)]
    pub headers: OrderedMap<String>,
    pub body: Option<String>,
    /// The body in a file, relative to the fixture.
    pub body_file: Option<String>,
    /// Simulated latency; beyond the node's timeout it is a timeout.
    #[schemars(range(min = 0))]
    pub delay_ms: Option<i64>,
    /// A transport failure instead of a response.
    pub error: Option<TransportFailure>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectSection {
    pub success: bool,
    /// Number of HTTP attempts made (all executions together).
    #[schemars(range(min = 0))]
    pub attempts: Option<i64>,
    /// The exact final output.
    pub output: Option<Value>,
    /// The final output as JSON text (when it needs `null`).
    pub output_json: Option<String>,
    /// The error kind of a failure.
    pub error: Option<ErrorKind>,
    /// A substring of the error message.
    pub error_contains: Option<String>,
    /// The backoff waits decided, in order.
    pub waits_ms: Option<Vec<NonNegative>>,
    /// With `repeat`: which executions were served from cache.
    pub cached: Option<Vec<bool>>,
    /// Compare Architect's flattened form of the output (Genesys's `flatten=true`): `output` is
    /// written flattened, and an output that cannot be flattened fails the fixture.
    pub flatten: Option<bool>,
}

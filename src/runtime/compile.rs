//! A node prepared for execution: its templates parsed, its JSONPaths parsed, its schemas compiled
//! into validators and its definition hashed for the cache — once, then executed many times.
//! Nothing here fails: a part nodectl cannot execute is kept as its problem and fails the execution
//! at its step (`template.unsupported`, `translation`), as validate warned.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::jsonpath::{self, JsonPath, JsonPathErrorKind};
use crate::model::Node;
use crate::vtl;

/// Why a template or path cannot be executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unexecutable {
    /// Outside nodectl's subset (Genesys accepts it) rather than plainly malformed.
    pub unsupported: bool,
    pub message: String,
}

pub type Compiled<T> = Result<T, Unexecutable>;

/// A node ready to run.
pub struct CompiledNode {
    pub node: Node,
    pub(super) url: Compiled<vtl::Template>,
    pub(super) headers: Vec<(String, Compiled<vtl::Template>)>,
    pub(super) body: Compiled<vtl::Template>,
    pub(super) success: Compiled<vtl::Template>,
    pub(super) translation: Vec<(String, Compiled<JsonPath>)>,
    pub(super) defaults: HashMap<String, String>,
    pub(super) input_validator: Result<jsonschema::Validator, String>,
    pub(super) output_validator: Result<jsonschema::Validator, String>,
    /// SHA-256 of the node's canonical definition (part of every cache key).
    pub(super) definition_hash: [u8; 32],
    /// Whether the success template is the default `${rawResult}` (then the body is the output).
    pub(super) default_success: bool,
    /// Which request templates read a secret (`$credentials`, `$authResponse`, or `$input` of a
    /// secure node): only those are rendered a second time with probes to find derived values
    /// (redact.rs).
    pub(super) reads_secrets: ReadsSecrets,
    /// Whether a request template (URL, a header, the body) reads `$authResponse`: then the
    /// execution obtains the integration's authentication response first (docs/runtime.md).
    pub(super) uses_auth_response: bool,
    /// The custom authentication action of the node's integration (a node with
    /// `custom_auth = true`), linked by whoever compiles the env's nodes ([`custom_auth_for`]).
    pub(super) custom_auth: Option<Arc<CompiledNode>>,
}

/// The parts of a node's resolved request (and, for a secure node, everything) that may hold a
/// secret ([`CompiledNode::secret_parts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretParts {
    /// A secure node: its inputs, and so every value derived from them, are secret.
    pub secure: bool,
    pub url: bool,
    pub body: bool,
    /// Header names, lower case.
    pub headers: std::collections::BTreeSet<String>,
}

impl SecretParts {
    /// Whether header `name` may hold a secret (a credential header always may).
    pub fn header(&self, name: &str) -> bool {
        self.secure
            || self.headers.contains(&name.to_ascii_lowercase())
            || super::redact::is_credential_header(name)
    }
}

/// Per request template, whether it reads a secret.
#[derive(Debug, Clone, Default)]
pub(super) struct ReadsSecrets {
    pub url: bool,
    pub headers: Vec<bool>,
    pub body: bool,
}

impl ReadsSecrets {
    pub fn any(&self) -> bool {
        self.url || self.body || self.headers.iter().any(|&h| h)
    }
}

/// Whether a template reads `$credentials` or `$authResponse` (or, for a secure node, `$input`);
/// a template nodectl cannot parse reads nothing (it fails its step instead).
fn reads_secrets(template: &Compiled<vtl::Template>, secure: bool) -> bool {
    template.as_ref().is_ok_and(|t| {
        t.references().iter().any(|r| {
            r.root == "credentials" || r.root == AUTH_RESPONSE || (secure && r.root == "input")
        })
    })
}

/// The Velocity context of the custom authentication action's answer (`${authResponse.X}`).
pub const AUTH_RESPONSE: &str = "authResponse";

/// Whether a parsed template reads `$authResponse`.
fn reads_auth_response(template: &Compiled<vtl::Template>) -> bool {
    template
        .as_ref()
        .is_ok_and(|t| t.references().iter().any(|r| r.root == AUTH_RESPONSE))
}

/// The custom authentication action of `node`'s integration among `nodes` (one env's): the node
/// with `custom_auth = true` in the same integration. A custom authentication action has none
/// (it does not authenticate itself).
pub fn custom_auth_for<'a>(nodes: &'a [Node], node: &Node) -> Option<&'a Node> {
    if node.custom_auth {
        return None;
    }
    nodes
        .iter()
        .find(|n| n.custom_auth && n.key.integration == node.key.integration)
}

impl CompiledNode {
    pub fn new(node: Node) -> CompiledNode {
        let template = |what: &str, source: &str| -> Compiled<vtl::Template> {
            vtl::parse(source).map_err(|e| Unexecutable {
                unsupported: e.is_unsupported(),
                message: format!("{what}: {e}"),
            })
        };
        let url = template("request.url", &node.request.url);
        let headers: Vec<(String, Compiled<vtl::Template>)> = node
            .request
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), template(&format!("header {name}"), value)))
            .collect();
        let body = template("request.body", &node.request.body);
        let success = template("success_template", &node.response.success_template);
        let translation = node
            .response
            .translation_map
            .iter()
            .map(|(name, path)| {
                let parsed = jsonpath::parse(path).map_err(|e| Unexecutable {
                    unsupported: e.kind() == JsonPathErrorKind::Unsupported,
                    message: format!("translation_map.{name} `{path}`: {e}"),
                });
                (name.clone(), parsed)
            })
            .collect();
        let defaults = node
            .response
            .translation_map_defaults
            .iter()
            .cloned()
            .collect();
        let input_validator =
            crate::schema::compile_contract(&node.input_schema).map_err(|p| p.message);
        let output_validator =
            crate::schema::compile_contract(&node.output_schema).map_err(|p| p.message);
        let definition_hash = definition_hash(&node);
        let default_success =
            node.response.success_template.trim() == crate::model::DEFAULT_SUCCESS_TEMPLATE;
        let reads_secrets = ReadsSecrets {
            url: reads_secrets(&url, node.secure),
            // An Authorization-type header is redacted whole anyway: no probe needed.
            headers: headers
                .iter()
                .map(|(name, t)| {
                    reads_secrets(t, node.secure) && !super::redact::is_credential_header(name)
                })
                .collect(),
            body: reads_secrets(&body, node.secure),
        };
        let uses_auth_response = reads_auth_response(&url)
            || reads_auth_response(&body)
            || headers.iter().any(|(_, t)| reads_auth_response(t));
        CompiledNode {
            node,
            url,
            headers,
            body,
            success,
            translation,
            defaults,
            input_validator,
            output_validator,
            definition_hash,
            default_success,
            reads_secrets,
            uses_auth_response,
            custom_auth: None,
        }
    }

    /// This node with its integration's custom authentication action linked (`None`: the
    /// integration has none in the project). Only a node that reads `$authResponse` runs it.
    pub fn with_custom_auth(mut self, custom_auth: Option<Arc<CompiledNode>>) -> CompiledNode {
        self.custom_auth = custom_auth.filter(|_| !self.node.custom_auth);
        self
    }

    /// Compiles `node` and links the custom authentication action of its integration among
    /// `nodes` (its env's), compiled too.
    /// Only a node that reads `$authResponse` gets (and compiles) it.
    pub fn linked(node: Node, nodes: &[Node]) -> CompiledNode {
        let compiled = CompiledNode::new(node);
        if !compiled.uses_auth_response {
            return compiled;
        }
        let custom_auth = custom_auth_for(nodes, &compiled.node)
            .map(|auth| Arc::new(CompiledNode::new(auth.clone())));
        compiled.with_custom_auth(custom_auth)
    }

    /// Which parts of the resolved request may hold a secret (a template reading `$credentials`,
    /// `$authResponse`, or a secure node's `$input`; a credential header whatever it reads): what
    /// a comparison with another execution of the node must not show (`nodectl parity`).
    pub fn secret_parts(&self) -> SecretParts {
        let secure = self.node.secure;
        SecretParts {
            secure,
            url: secure || self.reads_secrets.url,
            body: secure || self.reads_secrets.body,
            headers: self
                .headers
                .iter()
                .zip(&self.reads_secrets.headers)
                .filter(|((name, _), reads)| {
                    secure || **reads || super::redact::is_credential_header(name)
                })
                .map(|((name, _), _)| name.to_ascii_lowercase())
                .collect(),
        }
    }

    /// Why this node cannot be dry-run, if it cannot (validate's "not dry-runnable").
    pub fn unexecutable(&self) -> Vec<&Unexecutable> {
        let mut problems: Vec<&Unexecutable> = Vec::new();
        problems.extend(self.url.as_ref().err());
        problems.extend(self.headers.iter().filter_map(|(_, t)| t.as_ref().err()));
        problems.extend(self.body.as_ref().err());
        problems.extend(self.success.as_ref().err());
        problems.extend(
            self.translation
                .iter()
                .filter_map(|(_, p)| p.as_ref().err()),
        );
        problems
    }
}

/// The node's definition as Genesys would run it, hashed: a change to any part that affects the
/// result invalidates cached results.
fn definition_hash(node: &Node) -> [u8; 32] {
    let canonical = json!({
        "integration": node.key.integration.to_string(),
        "name": node.key.name,
        "secure": node.secure,
        "timeout": node.timeout_seconds,
        "method": node.request.method.as_str(),
        "url": node.request.url,
        "headers": node.request.headers,
        "body": node.request.body,
        "successTemplate": node.response.success_template,
        "translationMap": node.response.translation_map,
        "translationMapDefaults": node.response.translation_map_defaults,
        "inputSchema": node.input_schema,
        "outputSchema": node.output_schema,
    });
    Sha256::digest(crate::canonical::to_string(&canonical).as_bytes()).into()
}

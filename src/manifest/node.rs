//! Node manifests (`nodes/*.toml`) → `model::Node` for one environment, with the node-level rules of
//! docs/formats.md: schema files, contract compilation and Genesys's contract rules, the integration the
//! env manages, translation-map defaults, and the local retry / cache policy with its defaults.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::contract::{self, SchemaProblem, Side};
use super::diag::{Diagnostics, Position};
use super::format::{LocalSection, NodeFile};
use super::paths::{self, Area, ContainmentError};
use super::source::{Seg, SourceFile, Target};
use crate::model::{
    Backoff, CachePolicy, DEFAULT_BODY, DEFAULT_SUCCESS_TEMPLATE, Env, IntegrationRef,
    IntegrationType, LocalPolicy, Node, NodeKey, RequestSpec, ResponseSpec, RetryPolicy,
};
use crate::seg_path;

/// Contract checks are pure functions of the schema text; a project of many similar nodes (and every
/// env of it) compiles each distinct schema once.
#[derive(Default)]
pub struct ContractCache {
    checked: HashMap<(bool, String), Vec<SchemaProblem>>,
}

impl ContractCache {
    fn check(&mut self, side: Side, schema: &Value) -> &[SchemaProblem] {
        let key = (side == Side::Input, schema.to_string());
        self.checked
            .entry(key)
            .or_insert_with(|| contract::check(side, schema))
    }
}

/// Resolves one parsed (and, for this env, rendered) node file. `None` when an error makes the node
/// unusable; every problem found is reported either way.
pub fn resolve(
    project_dir: &Path,
    file: &SourceFile,
    parsed: &NodeFile,
    env: &Env,
    contracts: &mut ContractCache,
    diags: &mut Diagnostics,
) -> Option<Node> {
    let before = diags.error_count();
    let at_value = |path: &[Seg]| file.locate(path, Target::Value);

    if parsed.name.trim().is_empty() {
        diags.error(
            &file.display,
            at_value(&seg_path!["name"]),
            "node name cannot be empty",
        );
    }
    // A control character (a newline, an ANSI escape, a NUL) in a name would forge lines in the
    // plan, the PR comment and the terminal: names are shown everywhere, so they must be plain text.
    let names = std::iter::once((seg_path!["name"].to_vec(), &parsed.name)).chain(
        parsed
            .previous_names
            .iter()
            .enumerate()
            .map(|(index, name)| (seg_path!["previous_names", index].to_vec(), name)),
    );
    for (path, name) in names.chain(std::iter::once((
        seg_path!["category"].to_vec(),
        &parsed.category,
    ))) {
        if let Some(control) = name.chars().find(|c| c.is_control()) {
            diags.error(
                &file.display,
                at_value(&path),
                format!(
                    "`{}` contains the control character U+{:04X}: names and categories must be plain text",
                    name.escape_debug(),
                    u32::from(control)
                ),
            );
        }
    }
    if parsed.category.trim().is_empty() {
        diags.error(
            &file.display,
            at_value(&seg_path!["category"]),
            "category cannot be empty (Genesys requires one)",
        );
    }
    for (index, previous) in parsed.previous_names.iter().enumerate() {
        if previous == &parsed.name {
            diags.error(
                &file.display,
                at_value(&seg_path!["previous_names", index]),
                format!("previous_names lists the node's own name `{previous}`"),
            );
        }
    }

    let integration = resolve_integration(file, parsed, env, diags);
    let input_schema = load_schema(project_dir, file, parsed, Side::Input, contracts, diags);
    let output_schema = load_schema(project_dir, file, parsed, Side::Output, contracts, diags);
    let response = resolve_response(file, parsed, diags);

    if diags.error_count() > before {
        return None;
    }
    let integration = integration?;
    let integration_type = env.integration_type(&integration);
    let url = resolve_url(file, parsed, &integration_type, diags)?;
    let custom_auth = resolve_custom_auth(file, parsed, &integration_type, diags)?;
    Some(Node {
        integration_type,
        key: NodeKey {
            integration,
            name: parsed.name.clone(),
        },
        category: parsed.category.clone(),
        secure: parsed.secure.unwrap_or(false),
        timeout_seconds: parsed.timeout_seconds.and_then(|t| u8::try_from(t).ok()),
        protect: parsed.protect.unwrap_or(false),
        custom_auth,
        previous_names: parsed.previous_names.clone(),
        request: RequestSpec {
            method: parsed.request.method,
            url,
            body: parsed
                .request
                .body
                .clone()
                .unwrap_or_else(|| DEFAULT_BODY.to_string()),
            headers: parsed
                .request
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        },
        response,
        input_schema: input_schema?,
        output_schema: output_schema?,
        local: resolve_local(parsed.local.as_ref()),
        source: file.relative.clone(),
        not_dry_runnable: Vec::new(),
    })
}

/// `custom_auth = true`: only in a Web Services integration (Genesys makes custom authentication
/// for those), and without `timeout_seconds` (Genesys refuses it for a custom-auth action: the SDK's
/// `ActionConfig.timeoutSeconds` "is invalid for Custom Authentication Actions").
fn resolve_custom_auth(
    file: &SourceFile,
    parsed: &NodeFile,
    integration_type: &IntegrationType,
    diags: &mut Diagnostics,
) -> Option<bool> {
    let custom_auth = parsed.custom_auth.unwrap_or(false);
    if !custom_auth {
        return Some(false);
    }
    let before = diags.error_count();
    let at = file.locate(&seg_path!["custom_auth"], Target::Value);
    if *integration_type != IntegrationType::WebServices {
        diags.error(
            &file.display,
            at,
            format!("custom_auth: only a Web Services integration (custom-rest-actions) has a custom authentication action; this one is `{integration_type}`"),
        );
    }
    if parsed.timeout_seconds.is_some() {
        diags.error(
            &file.display,
            file.locate(&seg_path!["timeout_seconds"], Target::Key),
            "timeout_seconds is invalid for a custom authentication action (Genesys refuses it)",
        );
    }
    if !parsed.previous_names.is_empty() {
        diags.warning(
            &file.display,
            file.locate(&seg_path!["previous_names"], Target::Key),
            "previous_names has no use in a custom authentication action: it is matched by its integration, whatever its name",
        );
    }
    (diags.error_count() == before).then_some(true)
}

/// `request.url`: required, except in a function data action, which has none (Genesys runs its
/// code package instead of calling a URL).
fn resolve_url(
    file: &SourceFile,
    parsed: &NodeFile,
    integration_type: &IntegrationType,
    diags: &mut Diagnostics,
) -> Option<String> {
    match (&parsed.request.url, integration_type.has_no_url()) {
        (Some(url), _) => {
            let at = file.locate(&seg_path!["request", "url"], Target::Value);
            let literal = url.trim_start();
            let absolute = literal.starts_with("http://") || literal.starts_with("https://");
            match integration_type {
                IntegrationType::WebServices if literal.starts_with('/') => diags.warning(
                    &file.display,
                    at,
                    "a Web Services action calls the URL as written: a path without scheme and host fails at run time (only Genesys Cloud Data Actions resolve `/api/v2/…` against the org's API)",
                ),
                IntegrationType::GenesysCloud if absolute => diags.warning(
                    &file.display,
                    at,
                    "a Genesys Cloud Data Action calls the org's own Platform API: give the path (`/api/v2/…`): nodectl sends the integration's token only to the env's API base, so a full URL to any other host fails at run time",
                ),
                _ => {}
            }
            Some(url.clone())
        }
        (None, true) => Some(String::new()),
        (None, false) => {
            diags.error(
                &file.display,
                file.locate(&seg_path!["request"], Target::Key),
                format!("[request] needs `url`: actions of a `{integration_type}` integration call a URL (only function data actions have none)"),
            );
            None
        }
    }
}

fn resolve_integration(
    file: &SourceFile,
    parsed: &NodeFile,
    env: &Env,
    diags: &mut Diagnostics,
) -> Option<IntegrationRef> {
    match (&parsed.integration, env.integrations.as_slice()) {
        (None, [only]) => Some(only.clone()),
        (None, managed) => {
            let names: Vec<String> = managed.iter().map(ToString::to_string).collect();
            diags.error(
                &file.display,
                file.locate(&[], Target::Key),
                format!(
                    "env `{}` manages several integrations ({}): the node must name one with `integration = \"…\"`",
                    env.name,
                    names.join(", ")
                ),
            );
            None
        }
        (Some(text), managed) => {
            let at = file.locate(&seg_path!["integration"], Target::Value);
            if let Some(problem) = super::project::integration_problem(text) {
                diags.error(&file.display, at, problem);
                return None;
            }
            let wanted = IntegrationRef::parse(text);
            if managed.contains(&wanted) {
                Some(wanted)
            } else {
                let names: Vec<String> = managed.iter().map(ToString::to_string).collect();
                diags.error(
                    &file.display,
                    at,
                    format!(
                        "integration `{wanted}` is not managed by env `{}` (it manages: {})",
                        env.name,
                        names.join(", ")
                    ),
                );
                None
            }
        }
    }
}

fn load_schema(
    project_dir: &Path,
    file: &SourceFile,
    parsed: &NodeFile,
    side: Side,
    contracts: &mut ContractCache,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let (inline, path_key, from_file) = match side {
        Side::Input => (
            &parsed.input_schema,
            "input_schema_file",
            &parsed.input_schema_file,
        ),
        Side::Output => (
            &parsed.output_schema,
            "output_schema_file",
            &parsed.output_schema_file,
        ),
    };
    match (inline, from_file) {
        (Some(_), Some(_)) => {
            diags.error(
                &file.display,
                file.locate(&seg_path![path_key], Target::Key),
                format!("give either [{}] or `{path_key}`, not both", side.key()),
            );
            None
        }
        (None, None) => {
            diags.error(
                &file.display,
                Position::START,
                format!("missing [{}] (or `{path_key}`): Genesys needs a contract; the least is `type = \"object\"`", side.key()),
            );
            None
        }
        (Some(table), None) => {
            let schema = Value::Object(table.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
            for problem in contracts.check(side, &schema) {
                let mut path = vec![Seg::Key(side.key().to_string())];
                path.extend(problem.path.iter().cloned());
                let target = if problem.path.is_empty() {
                    Target::Key
                } else {
                    Target::Value
                };
                let at = file.locate(&path, target);
                let message = format!("{}: {}", side.key(), problem.message);
                if problem.warning {
                    diags.warning(&file.display, at, message);
                } else {
                    diags.error(&file.display, at, message);
                }
            }
            Some(schema)
        }
        (None, Some(relative)) => {
            let manifest_dir = file
                .relative
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let schema_relative = manifest_dir.join(relative);
            let at = file.locate(&seg_path![path_key], Target::Value);
            let cannot_read = |error: std::io::Error| {
                format!(
                    "cannot read {} `{}`: {error}",
                    side.key(),
                    schema_relative.display()
                )
            };
            // A refused path is never opened: the message says why, and nothing of the file.
            let read = match paths::contain(project_dir, &schema_relative, Area::Project) {
                Ok(real) => std::fs::read_to_string(real).map_err(cannot_read),
                Err(ContainmentError::Io(error)) => Err(cannot_read(error)),
                Err(refused) => Err(format!("{path_key} `{relative}` {refused}; not read")),
            };
            let text = match read {
                Ok(text) => text,
                Err(message) => {
                    diags.error(&file.display, at, message);
                    return None;
                }
            };
            let schema_display = sibling_display(file, &schema_relative);
            let schema: Value = match serde_json::from_str(&text) {
                Ok(schema) => schema,
                Err(error) => {
                    let at = Position {
                        line: error.line().max(1),
                        column: error.column().max(1),
                    };
                    diags.error(
                        &schema_display,
                        at,
                        format!("{} is not valid JSON: {error}", side.key()),
                    );
                    return None;
                }
            };
            for problem in contracts.check(side, &schema) {
                let pointer = pointer_of(&problem.path);
                let message = format!(
                    "{} in {} at {pointer}: {}",
                    side.key(),
                    schema_relative.display(),
                    problem.message
                );
                if problem.warning {
                    diags.warning(&file.display, at, message);
                } else {
                    diags.error(&file.display, at, message);
                }
            }
            Some(schema)
        }
    }
}

/// The display path of another file of the project, built like the manifest's own.
fn sibling_display(file: &SourceFile, relative: &Path) -> PathBuf {
    let root = strip_suffix(&file.display, &file.relative);
    super::display_path(&root, relative)
}

fn strip_suffix(display: &Path, relative: &Path) -> PathBuf {
    let mut root = display.to_path_buf();
    for _ in relative.components() {
        root.pop();
    }
    root
}

/// A JSON pointer (`/properties/a`) for a path inside a schema.
pub fn pointer_of(path: &[Seg]) -> String {
    if path.is_empty() {
        return "the root".to_string();
    }
    path.iter()
        .map(|seg| match seg {
            Seg::Key(key) => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            Seg::Index(index) => format!("/{index}"),
        })
        .collect()
}

fn resolve_response(file: &SourceFile, parsed: &NodeFile, diags: &mut Diagnostics) -> ResponseSpec {
    let Some(response) = &parsed.response else {
        return ResponseSpec {
            success_template: DEFAULT_SUCCESS_TEMPLATE.to_string(),
            translation_map: Vec::new(),
            translation_map_defaults: Vec::new(),
        };
    };
    let success_template = response
        .success_template
        .clone()
        .unwrap_or_else(|| DEFAULT_SUCCESS_TEMPLATE.to_string());
    for name in response.translation_map_defaults.keys() {
        let at = file.locate(
            &seg_path!["response", "translation_map_defaults", name.as_str()],
            Target::Key,
        );
        if !response.translation_map.contains_key(name) {
            diags.warning(&file.display, at, format!("translation_map_defaults has `{name}` but translation_map has no such variable; the default is never used"));
        }
    }
    ResponseSpec {
        success_template,
        translation_map: response
            .translation_map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        translation_map_defaults: response
            .translation_map_defaults
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

fn resolve_local(local: Option<&LocalSection>) -> LocalPolicy {
    let Some(local) = local else {
        return LocalPolicy::default();
    };
    let non_negative =
        |v: Option<i64>, default: u64| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(default);
    LocalPolicy {
        retry: local.retry.as_ref().map(|r| RetryPolicy {
            max_retries: r
                .max_retries
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            backoff: r.backoff.unwrap_or(Backoff::Exponential),
            initial_delay_ms: non_negative(r.initial_delay_ms, 500),
            max_delay_ms: non_negative(r.max_delay_ms, 10_000),
            multiplier: r.multiplier.unwrap_or(2.0),
            jitter: r.jitter.unwrap_or(true),
            retry_on: r.retry_on.as_ref().map_or_else(
                || RetryPolicy::DEFAULT_RETRY_ON.to_vec(),
                |codes| {
                    codes
                        .iter()
                        .filter_map(|c| u16::try_from(c.0).ok())
                        .collect()
                },
            ),
        }),
        cache: local.cache.as_ref().map(|c| CachePolicy {
            ttl_seconds: u64::try_from(c.ttl_seconds).unwrap_or(0),
            max_entries: non_negative(c.max_entries, CachePolicy::DEFAULT_MAX_ENTRIES),
        }),
        parity: local.parity.unwrap_or(false),
    }
}

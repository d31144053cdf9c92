//! `export`: an org's existing data actions as manifests, so that a team adopting nodectl starts
//! from what it has and the very next `plan` is empty. Pure: a `RemoteAction` becomes the text of a
//! node manifest (templates verbatim; schemas as TOML tables, or as JSON files when they hold `null`
//! or anything else TOML cannot say; every literal `{{`, `{%`, `{#` wrapped in `{% raw %}` because
//! tera renders manifest strings), with a stable, unique, readable file name.

use std::collections::BTreeSet;

pub mod genesys;

use sha2::Digest;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{ActionContent, DEFAULT_BODY, DEFAULT_SUCCESS_TEMPLATE};
use crate::remote::RemoteAction;

/// One exported action: its manifest and the schema files it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub slug: String,
    /// `nodes/<slug>.toml`.
    pub manifest: String,
    /// `(path relative to nodes/, JSON text)`: `schemas/<slug>.input.json` / `.output.json`.
    pub schema_files: Vec<(String, String)>,
    /// `fixtures/<slug>/example.toml`, when asked for.
    pub fixture: Option<String>,
}

/// A readable file name: lowercase letters and digits (any script), `-` between words.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-').to_string();
    if trimmed.is_empty() {
        return "action".to_string();
    }
    if trimmed.len() <= MAX_SLUG_BYTES {
        return trimmed;
    }
    // A long name (Genesys allows 256 characters, non-ASCII ones take up to 4 bytes each) would
    // make a file name over the 255-byte limit of common file systems once `.input.json` is added:
    // keep a readable head and a hash of the whole name, so that the slug stays stable and unique.
    let mut cut = MAX_SLUG_BYTES - 9;
    while !trimmed.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = sha2::Sha256::digest(name.as_bytes());
    let hash = crate::canonical::hex(digest.get(..4).unwrap_or_default());
    let head = trimmed.get(..cut).unwrap_or_default();
    format!("{}-{hash}", head.trim_end_matches('-'))
}

/// The longest slug, in bytes (file names are `<slug>.toml`, `<slug>.input.json`, …).
pub const MAX_SLUG_BYTES: usize = 80;

/// Slugs for every action, unique (`-2`, `-3` … in name then id order) and stable for a given org.
pub fn unique_slugs(actions: &[&RemoteAction]) -> Vec<String> {
    let keys: Vec<(&str, &str)> = actions
        .iter()
        .map(|a| (a.name.as_str(), a.id.as_str()))
        .collect();
    unique_slugs_of(&keys)
}

/// Slugs for `(name, tie-breaker)` pairs, unique (`-2`, `-3` … in name then tie-breaker order).
pub fn unique_slugs_of(keys: &[(&str, &str)]) -> Vec<String> {
    let mut order: Vec<(usize, &(&str, &str))> = keys.iter().enumerate().collect();
    order.sort_by_key(|(_, key)| **key);
    let mut taken = BTreeSet::new();
    let mut slugs: Vec<(usize, String)> = Vec::with_capacity(keys.len());
    for (index, (name, _)) in order {
        let base = slug(name);
        let mut candidate = base.clone();
        let mut n = 2;
        while !taken.insert(candidate.clone()) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        slugs.push((index, candidate));
    }
    slugs.sort();
    slugs.into_iter().map(|(_, slug)| slug).collect()
}

/// A literal tera marker, kept literal.
fn tera_safe(text: &str) -> String {
    if crate::manifest::render::needs_render(text) {
        format!("{{% raw %}}{text}{{% endraw %}}")
    } else {
        text.to_string()
    }
}

/// Every string of a value made tera-safe (schemas are manifest strings too).
fn tera_safe_value(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(tera_safe(s)),
        Value::Array(items) => Value::Array(items.iter().map(tera_safe_value).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), tera_safe_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether TOML can hold the value as a table (no `null` anywhere, keys any string).
fn toml_can_say(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Array(items) => items.iter().all(toml_can_say),
        Value::Object(map) => map.values().all(toml_can_say),
        _ => true,
    }
}

#[derive(Serialize)]
struct NodeOut {
    name: String,
    category: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    secure: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    custom_auth: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    integration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_schema_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_schema_file: Option<String>,
    request: RequestOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<ResponseOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_schema: Option<Value>,
}

#[derive(Serialize)]
struct RequestOut {
    method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    headers: Map<String, Value>,
}

#[derive(Serialize)]
struct ResponseOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    success_template: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    translation_map: Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    translation_map_defaults: Map<String, Value>,
}

fn string_map(pairs: impl IntoIterator<Item = (String, String)>) -> Map<String, Value> {
    pairs
        .into_iter()
        .map(|(k, v)| (k, Value::String(tera_safe(&v))))
        .collect()
}

/// The manifest of one action. `integration` is written when the env manages several.
pub fn export_action(
    action: &RemoteAction,
    slug: &str,
    integration: Option<&str>,
    fixtures: bool,
) -> Result<Exported, String> {
    let header = format!(
        "# Exported by `nodectl export` from action {} (version {}).",
        action.id, action.version
    );
    manifest_of(&action.content(), &header, slug, integration, fixtures)
}

/// The manifest of an action's content, under a `# …` `header` line saying where it comes from
/// (`export` names the action, `import` the file). A content without URL (a function data action)
/// has no `url`.
pub fn manifest_of(
    content: &ActionContent,
    header: &str,
    slug: &str,
    integration: Option<&str>,
    fixtures: bool,
) -> Result<Exported, String> {
    let mut schema_files = Vec::new();
    let mut schema = |side: &str, value: &Value| -> (Option<Value>, Option<String>) {
        if toml_can_say(value) && value.is_object() {
            (Some(tera_safe_value(value)), None)
        } else {
            let path = format!("schemas/{slug}.{side}.json");
            schema_files.push((
                path.clone(),
                serde_json::to_string_pretty(value).unwrap_or_default() + "\n",
            ));
            (None, Some(path))
        }
    };
    let (input_schema, input_schema_file) = schema("input", &content.input_schema);
    let (output_schema, output_schema_file) = schema("output", &content.output_schema);
    let response = ResponseOut {
        success_template: (content.success_template != DEFAULT_SUCCESS_TEMPLATE)
            .then(|| tera_safe(&content.success_template)),
        translation_map: string_map(content.translation_map.clone()),
        translation_map_defaults: string_map(content.translation_map_defaults.clone()),
    };
    let has_response = response.success_template.is_some()
        || !response.translation_map.is_empty()
        || !response.translation_map_defaults.is_empty();
    let node = NodeOut {
        name: tera_safe(&content.name),
        category: tera_safe(&content.category),
        secure: content.secure,
        custom_auth: content.custom_auth,
        timeout_seconds: content.timeout_seconds,
        integration: integration.map(tera_safe),
        input_schema_file,
        output_schema_file,
        request: RequestOut {
            method: content.method.clone(),
            url: (!content.url.is_empty()).then(|| tera_safe(&content.url)),
            body: (content.request_template != DEFAULT_BODY)
                .then(|| tera_safe(&content.request_template)),
            headers: string_map(content.headers.clone()),
        },
        response: has_response.then_some(response),
        input_schema,
        output_schema,
    };
    let body = toml::to_string(&node)
        .map_err(|e| format!("`{}` cannot be written as TOML: {e}", content.name))?;
    let header = header.replace(['\n', '\r'], " ");
    let manifest = format!("{header}\n{body}");
    let fixture = fixtures.then(|| fixture_skeleton(&content.name, &content.input_schema));
    Ok(Exported {
        slug: slug.to_string(),
        manifest,
        schema_files,
        fixture,
    })
}

/// A fixture to fill in: inputs for the schema's required properties, `[expect]` left to the user.
fn fixture_skeleton(name: &str, input_schema: &Value) -> String {
    let required: Vec<&str> = input_schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut inputs = String::new();
    for property in required {
        let kind = input_schema
            .get("properties")
            .and_then(|p| p.get(property))
            .and_then(|p| p.get("type"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or("string");
        let example = match kind {
            "integer" | "number" => "1".to_string(),
            "boolean" => "true".to_string(),
            _ => "\"example\"".to_string(),
        };
        let key = if property
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            property.to_string()
        } else {
            format!("{property:?}")
        };
        inputs.push_str(&format!("{key} = {example}\n"));
    }
    let node = toml::Value::String(name.to_string()).to_string();
    format!(
        "# A fixture skeleton written by `nodectl export --fixtures`: record a real one with `nodectl record`,\n# or add the [[exchange]]s and fill in [expect].\nnode = {node}\n\n[input]\n{inputs}\n[expect]\nsuccess = true\n"
    )
}

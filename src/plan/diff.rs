//! Field-by-field differences between two normalised action contents, and which contract changes
//! break the flows that call the action (an output property removed or retyped, a required input
//! added).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::ActionContent;

/// One field that differs, with both values (strings for text fields, JSON for maps and schemas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The Genesys field: `name`, `config.request.requestTemplate`, `contract.input.inputSchema`…
    pub field: String,
    /// The manifest key a user edits for it: `name`, `request.body`, `input_schema`… (empty in
    /// plan files written before it existed).
    #[serde(default)]
    pub key: String,
    pub before: Value,
    pub after: Value,
}

impl FieldChange {
    /// Templates, schemas and every JSON value (headers, translation maps) print as unified line
    /// diffs of their pretty text; the rest as `- old` / `+ new`.
    pub fn is_long(&self) -> bool {
        let structured = |v: &Value| {
            v.is_object() || v.is_array() || v.as_str().is_some_and(|s| s.contains('\n'))
        };
        self.field.ends_with("Template")
            || self.field.starts_with("contract")
            || self.field.contains("translationMap")
            || structured(&self.before)
            || structured(&self.after)
    }

    /// What a person reads: the manifest key, or the Genesys field when there is none.
    pub fn label(&self) -> &str {
        if self.key.is_empty() {
            &self.field
        } else {
            &self.key
        }
    }
}

/// The fields of `after` that differ from `before`, in a fixed order.
pub fn fields(before: &ActionContent, after: &ActionContent) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut compare = |field: &str, a: Value, b: Value| {
        if a != b {
            out.push(FieldChange {
                field: field.to_string(),
                key: manifest_key(field).to_string(),
                before: a,
                after: b,
            });
        }
    };
    compare("name", json!(before.name), json!(after.name));
    compare("category", json!(before.category), json!(after.category));
    compare("secure", json!(before.secure), json!(after.secure));
    compare(
        "config.timeoutSeconds",
        json!(before.timeout_seconds),
        json!(after.timeout_seconds),
    );
    compare(
        "config.request.requestType",
        json!(before.method),
        json!(after.method),
    );
    compare(
        "config.request.requestUrlTemplate",
        json!(before.url),
        json!(after.url),
    );
    if !before.same_headers(after) {
        compare("config.request.headers", headers(before), headers(after));
    }
    compare(
        "config.request.requestTemplate",
        json!(before.request_template),
        json!(after.request_template),
    );
    compare(
        "config.response.translationMap",
        json!(before.translation_map),
        json!(after.translation_map),
    );
    compare(
        "config.response.translationMapDefaults",
        json!(before.translation_map_defaults),
        json!(after.translation_map_defaults),
    );
    compare(
        "config.response.successTemplate",
        json!(before.success_template),
        json!(after.success_template),
    );
    compare(
        "contract.input.inputSchema",
        before.input_schema.clone(),
        after.input_schema.clone(),
    );
    compare(
        "contract.output.successSchema",
        before.output_schema.clone(),
        after.output_schema.clone(),
    );
    out
}

/// The node manifest's key for a Genesys field (docs/formats.md, "Node manifests").
fn manifest_key(field: &str) -> &'static str {
    match field {
        "name" => "name",
        "category" => "category",
        "secure" => "secure",
        "config.timeoutSeconds" => "timeout_seconds",
        "config.request.requestType" => "request.method",
        "config.request.requestUrlTemplate" => "request.url",
        "config.request.headers" => "request.headers",
        "config.request.requestTemplate" => "request.body",
        "config.response.translationMap" => "response.translation_map",
        "config.response.translationMapDefaults" => "response.translation_map_defaults",
        "config.response.successTemplate" => "response.success_template",
        "contract.input.inputSchema" => "input_schema",
        "contract.output.successSchema" => "output_schema",
        _ => "",
    }
}

fn headers(content: &ActionContent) -> Value {
    Value::Object(
        content
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Why a contract change breaks callers (empty: it does not).
pub fn breaking(before: &ActionContent, after: &ActionContent) -> Vec<String> {
    let mut reasons = Vec::new();
    output_breaks(
        &before.output_schema,
        &after.output_schema,
        "",
        &mut reasons,
    );
    let required = |schema: &Value| -> Vec<String> {
        schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let old_required = required(&before.input_schema);
    for name in required(&after.input_schema) {
        if !old_required.contains(&name) {
            reasons.push(format!("input `{name}` becomes required"));
        }
    }
    reasons
}

fn output_breaks(before: &Value, after: &Value, prefix: &str, reasons: &mut Vec<String>) {
    let Some(old_properties) = before.get("properties").and_then(Value::as_object) else {
        return;
    };
    let new_properties = after.get("properties").and_then(Value::as_object);
    for (name, old) in old_properties {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match new_properties.and_then(|p| p.get(name)) {
            None => reasons.push(format!("output `{path}` is removed")),
            Some(new) => {
                if old.get("type") != new.get("type") {
                    reasons.push(format!(
                        "output `{path}` changes type from {} to {}",
                        old.get("type").unwrap_or(&Value::Null),
                        new.get("type").unwrap_or(&Value::Null)
                    ));
                } else {
                    output_breaks(old, new, &path, reasons);
                }
            }
        }
    }
}

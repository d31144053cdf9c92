//! Genesys's own files of a data action, both ways; pure. Reading: the UI's export format (the
//! `*.custom.json` files blueprints ship: `name`, `integrationType`, `actionType`, `config`,
//! `contract`, `secure`) and the API's action JSON (`name`, `category`, `integrationId`, `config`,
//! `contract`, `secure`, …, without `integrationType`), checked completely (every problem of a file
//! reported at once) into an action's content. Writing: an action's content in the UI's export
//! format, which the Genesys UI imports. Every file is hostile input: only JSON, only the fields
//! Genesys defines, each of the type Genesys gives it; a static action is refused, a custom-auth one
//! (`actionType: customAuth`) is read as the integration's custom authentication action.

use serde_json::{Map, Value};

use crate::model::{
    ActionContent, DEFAULT_BODY, DEFAULT_SUCCESS_TEMPLATE, IntegrationType, json_kind,
};

/// The largest file read (Genesys's own body limit is far below it for one action).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The longest action name Genesys accepts.
const MAX_NAME_CHARS: usize = 256;

/// Which of Genesys's two shapes a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The UI's export format (`integrationType`, `actionType`).
    Ui,
    /// The API's action JSON (no `integrationType`).
    Api,
}

/// One action read from a Genesys file.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionFile {
    pub shape: Shape,
    /// `integrationType`, when the file gives it.
    pub integration_type: Option<IntegrationType>,
    /// `category`, when the file gives one (the UI's format has none).
    pub category: Option<String>,
    /// The content; `category` is empty when the file gives none.
    pub content: ActionContent,
}

/// Reads one file's bytes; every problem found, each one line, when it is not a data action
/// nodectl can represent.
pub fn parse(bytes: &[u8]) -> Result<ActionFile, Vec<String>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        vec![format!(
            "not UTF-8 text ({e}); a Genesys action file is JSON"
        )]
    })?;
    let value: Value = serde_json::from_str(text).map_err(|e| vec![format!("not JSON: {e}")])?;
    let Value::Object(root) = value else {
        return Err(vec![format!(
            "the file's JSON is {}, not an action object",
            json_kind(&value)
        )]);
    };
    let mut problems = Vec::new();
    let mut p = Reader {
        problems: &mut problems,
    };
    let shape = if root.contains_key("integrationType") || root.contains_key("actionType") {
        Shape::Ui
    } else {
        Shape::Api
    };
    let name = p.string(&root, "name", true).unwrap_or_default();
    if name.trim().is_empty() && root.get("name").is_some_and(Value::is_string) {
        p.problem("`name` is empty");
    } else if name.chars().count() > MAX_NAME_CHARS {
        p.problem(format!("`name` is longer than {MAX_NAME_CHARS} characters"));
    } else if name.chars().any(char::is_control) {
        p.problem("`name` holds control characters");
    }
    let integration_type = match p.string(&root, "integrationType", false) {
        Some(text) => match IntegrationType::parse(&text) {
            Some(kind) => Some(kind),
            None => {
                p.problem(format!(
                    "`integrationType` {text:?} is not an integration type (lower-case letters, digits and `-`)"
                ));
                None
            }
        },
        None => None,
    };
    let mut custom_auth = false;
    if let Some(action_type) = p.string(&root, "actionType", false) {
        match action_type.as_str() {
            "custom" => {}
            "customAuth" => custom_auth = true,
            "static" => p.problem(
                "`actionType` is `static`: Genesys's built-in actions cannot be created or changed",
            ),
            other => p.problem(format!(
                "`actionType` {other:?} is not one of `custom`, `customAuth`, `static`"
            )),
        }
    }
    let category = p.string(&root, "category", false);
    let secure = match root.get("secure") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            p.problem(format!("`secure` is {}, not a boolean", json_kind(other)));
            false
        }
    };
    let empty = Map::new();
    let config = p.object(&root, "config", "config").unwrap_or(&empty);
    let request = p
        .object(config, "request", "config.request")
        .unwrap_or(&empty);
    let response = p
        .object(config, "response", "config.response")
        .unwrap_or(&empty);
    let timeout_seconds = match config.get("timeoutSeconds") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|t| (1..=60).contains(&t)) => n.as_i64(),
        Some(other) => {
            p.problem(format!(
                "`config.timeoutSeconds` is {other}, not a whole number of seconds from 1 to 60"
            ));
            None
        }
    };
    let method = match p.string(request, "requestType", true) {
        Some(m) if ["GET", "PUT", "POST", "PATCH", "DELETE"].contains(&m.as_str()) => m,
        Some(m) => {
            p.problem(format!(
                "`config.request.requestType` {m:?} is not one of GET, PUT, POST, PATCH, DELETE"
            ));
            String::new()
        }
        None => String::new(),
    };
    let url = p
        .string(request, "requestUrlTemplate", false)
        .unwrap_or_default();
    let function = integration_type
        .as_ref()
        .is_some_and(IntegrationType::has_no_url);
    if url.is_empty() && !function && request.get("requestUrlTemplate").is_none() {
        p.problem("`config.request.requestUrlTemplate` is missing (only a function data action, `integrationType` `function-data-actions`, has none)");
    }
    if request.contains_key("requestTemplateUri") && !request.contains_key("requestTemplate") {
        p.problem("`config.request` names a `requestTemplateUri` instead of holding the `requestTemplate`: export the action with its templates");
    }
    if response.contains_key("successTemplateUri") && !response.contains_key("successTemplate") {
        p.problem("`config.response` names a `successTemplateUri` instead of holding the `successTemplate`: export the action with its templates");
    }
    let request_template = p
        .string(request, "requestTemplate", false)
        .unwrap_or_else(|| DEFAULT_BODY.to_string());
    let success_template = p
        .string(response, "successTemplate", false)
        .unwrap_or_else(|| DEFAULT_SUCCESS_TEMPLATE.to_string());
    let headers = p.strings(request, "headers", "config.request.headers");
    let translation_map = p.strings(response, "translationMap", "config.response.translationMap");
    let translation_map_defaults = p.strings(
        response,
        "translationMapDefaults",
        "config.response.translationMapDefaults",
    );
    let contract = p.object(&root, "contract", "contract").unwrap_or(&empty);
    let input_schema = p
        .object(contract, "input", "contract.input")
        .and_then(|input| p.schema(input, "inputSchema", "contract.input.inputSchema"));
    let output_schema = p
        .object(contract, "output", "contract.output")
        .and_then(|output| p.schema(output, "successSchema", "contract.output.successSchema"));
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ActionFile {
        shape,
        integration_type,
        category: category.clone(),
        content: ActionContent {
            custom_auth,
            name,
            category: category.unwrap_or_default(),
            secure,
            timeout_seconds,
            method,
            url,
            headers,
            request_template,
            translation_map: translation_map.into_iter().collect(),
            translation_map_defaults: translation_map_defaults.into_iter().collect(),
            success_template,
            input_schema: input_schema.unwrap_or_default(),
            output_schema: output_schema.unwrap_or_default(),
        }
        .normalized(),
    })
}

/// Reads fields, collecting what is wrong.
struct Reader<'p> {
    problems: &'p mut Vec<String>,
}

impl Reader<'_> {
    fn problem(&mut self, text: impl Into<String>) {
        self.problems.push(text.into());
    }

    fn string(&mut self, map: &Map<String, Value>, key: &str, required: bool) -> Option<String> {
        match map.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            None | Some(Value::Null) => {
                if required {
                    self.problem(format!("`{key}` is missing"));
                }
                None
            }
            Some(other) => {
                self.problem(format!("`{key}` is {}, not a string", json_kind(other)));
                None
            }
        }
    }

    fn object<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Map<String, Value>> {
        match map.get(key) {
            Some(Value::Object(inner)) => Some(inner),
            None => {
                self.problem(format!("`{path}` is missing"));
                None
            }
            Some(other) => {
                self.problem(format!("`{path}` is {}, not an object", json_kind(other)));
                None
            }
        }
    }

    /// A map of strings (`headers`, `translationMap`, …): absent or `null` is empty.
    fn strings(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Vec<(String, String)> {
        match map.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(inner)) => inner
                .iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k.clone(), s.clone())),
                    other => {
                        self.problem(format!(
                            "`{path}.{k}` is {}, not a string",
                            json_kind(other)
                        ));
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.problem(format!("`{path}` is {}, not an object", json_kind(other)));
                Vec::new()
            }
        }
    }

    /// A schema: a JSON object (Genesys's contract is a JSON Schema document).
    fn schema(&mut self, map: &Map<String, Value>, key: &str, path: &str) -> Option<Value> {
        match map.get(key) {
            Some(value @ Value::Object(_)) => Some(value.clone()),
            None | Some(Value::Null) => {
                self.problem(format!("`{path}` is missing"));
                None
            }
            Some(other) => {
                self.problem(format!(
                    "`{path}` is {}, not a JSON Schema object",
                    json_kind(other)
                ));
                None
            }
        }
    }
}

/// The type an API file's URL implies: a path of the Platform API (`/api/…`) is a Genesys Cloud Data
/// Action, an absolute `http(s)` URL a Web Services one; `None` otherwise.
pub fn type_from_url(url: &str) -> Option<IntegrationType> {
    let lower = url.trim_start().to_ascii_lowercase();
    if lower.starts_with('/') {
        Some(IntegrationType::GenesysCloud)
    } else if lower.starts_with("https://") || lower.starts_with("http://") {
        Some(IntegrationType::WebServices)
    } else {
        None
    }
}

fn string_map(pairs: impl IntoIterator<Item = (String, String)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

/// An action's content in the UI's export format, as Genesys writes it (a function data action's
/// request has no `requestUrlTemplate`; `timeoutSeconds` only when set). The UI's format has no
/// `category`: Genesys's import files the action under the integration it is imported into.
pub fn to_ui_json(content: &ActionContent, integration_type: &IntegrationType) -> Value {
    let mut request = Map::new();
    if !(content.url.is_empty() && integration_type.has_no_url()) {
        request.insert(
            "requestUrlTemplate".into(),
            Value::String(content.url.clone()),
        );
    }
    request.insert("requestType".into(), Value::String(content.method.clone()));
    request.insert("headers".into(), string_map(content.headers.clone()));
    request.insert(
        "requestTemplate".into(),
        Value::String(content.request_template.clone()),
    );
    let mut config = Map::new();
    config.insert("request".into(), Value::Object(request));
    config.insert(
        "response".into(),
        serde_json::json!({
            "translationMap": string_map(content.translation_map.clone()),
            "translationMapDefaults": string_map(content.translation_map_defaults.clone()),
            "successTemplate": content.success_template,
        }),
    );
    if let Some(timeout) = content.timeout_seconds {
        config.insert("timeoutSeconds".into(), Value::from(timeout));
    }
    serde_json::json!({
        "name": content.name,
        "integrationType": integration_type.as_str(),
        "actionType": if content.custom_auth { "customAuth" } else { "custom" },
        "config": Value::Object(config),
        "contract": {
            "input": { "inputSchema": content.input_schema },
            "output": { "successSchema": content.output_schema },
        },
        "secure": content.secure,
    })
}

/// The file text of `to_ui_json`: pretty JSON (two spaces, as Genesys writes it) and a newline.
pub fn to_ui_text(content: &ActionContent, integration_type: &IntegrationType) -> String {
    serde_json::to_string_pretty(&to_ui_json(content, integration_type)).unwrap_or_default() + "\n"
}

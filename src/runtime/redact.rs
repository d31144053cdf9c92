//! Secret redaction (runtime.md, "Secrets"): every credential value and every string input of a
//! `secure` node is replaced by `<redacted:NAME>` in its raw, URL-encoded, JSON-escaped and base64
//! forms (including base64 of `user:pass` pairs, as Basic auth carries them) before a trace, log
//! line, report, error body or recorded fixture leaves the runtime.

use serde_json::Value;

/// Values shorter than this are not redacted: replacing every `a` or `1` in a response would destroy
/// it and protect nothing.
const MIN_SECRET_LEN: usize = 3;

/// The secrets of one execution and all the forms they can take.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// (form, placeholder), longest form first so that a longer match wins.
    forms: Vec<(String, String)>,
}

impl Redactor {
    /// `secrets` are (name, value) pairs, e.g. `("credentials.apiToken", "s3cr3t")`.
    pub fn new(secrets: &[(String, String)]) -> Redactor {
        let mut forms: Vec<(String, String)> = Vec::new();
        // A value that is already a placeholder (a recorded fixture's) is no secret: redacting its
        // encoded forms would make the trace show requests other than the ones sent.
        let usable: Vec<&(String, String)> = secrets
            .iter()
            .filter(|(_, v)| v.chars().count() >= MIN_SECRET_LEN && !is_placeholder(v))
            .collect();
        for (name, value) in &usable {
            let placeholder = format!("<redacted:{name}>");
            for form in [
                value.clone(),
                crate::vtl::tools::url_encode(value),
                crate::vtl::tools::uri_encode(value),
                crate::vtl::tools::json_string(value),
                crate::vtl::tools::base64(value.as_bytes()),
            ] {
                forms.push((form, placeholder.clone()));
            }
        }
        for (first_name, first) in &usable {
            for (second_name, second) in &usable {
                let pair = format!("{first}:{second}");
                forms.push((
                    crate::vtl::tools::base64(pair.as_bytes()),
                    format!("<redacted:{first_name}:{second_name}>"),
                ));
            }
        }
        forms.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        forms.dedup_by(|a, b| a.0 == b.0);
        Redactor { forms }
    }

    /// The secrets of an execution: every credential, and for a secure node every string input.
    pub fn for_execution(
        credentials: &serde_json::Map<String, Value>,
        secure_input: Option<&Value>,
    ) -> Redactor {
        let mut secrets: Vec<(String, String)> = credentials
            .iter()
            .filter_map(|(k, v)| scalar_text(v).map(|text| (format!("credentials.{k}"), text)))
            .collect();
        if let Some(Value::Object(input)) = secure_input {
            secrets.extend(
                input
                    .iter()
                    .filter_map(|(k, v)| scalar_text(v).map(|text| (format!("input.{k}"), text))),
            );
        }
        Redactor::new(&secrets)
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// The text with every secret form replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (form, placeholder) in &self.forms {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), placeholder);
            }
        }
        out
    }

    /// Every string (and object key) of a JSON value, redacted in place.
    pub fn value(&self, value: &mut Value) {
        if self.forms.is_empty() {
            return;
        }
        match value {
            Value::String(s) => {
                let redacted = self.text(s);
                if redacted != *s {
                    *s = redacted;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    self.value(&mut item);
                    map.insert(self.text(&key), item);
                }
            }
            _ => {}
        }
    }
}

/// `<redacted:NAME>`.
pub fn is_placeholder(text: &str) -> bool {
    text.starts_with("<redacted:") && text.ends_with('>')
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

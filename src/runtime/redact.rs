//! Secret redaction (docs/security.md, "Redaction that follows the data"): every credential value
//! and every string input of a `secure` node is replaced by `<redacted:NAME>` in its raw,
//! URL-encoded, JSON-escaped and base64 forms (including base64 of `user:pass` pairs, as Basic auth
//! carries them) before a trace, log line, report, error body or recorded fixture leaves the
//! runtime. Values the request templates *derived* from those secrets (a Basic header built by
//! `$encoding`, a signature, any concatenation) are found by rendering each template a second time
//! with every secret replaced by a probe ([`probe_text`]): what differs between the two renderings
//! depends on a secret, and is redacted as a whole ([`derived_span`]). The whole value of an
//! `Authorization`-type header ([`is_credential_header`]) is redacted too.

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

    /// This redactor plus values derived from the secrets during an execution, each `(name,
    /// value)`; they are redacted in all their forms like the secrets themselves.
    pub fn with_derived(mut self, derived: &[(String, String)]) -> Redactor {
        if derived.is_empty() {
            return self;
        }
        let extra = Redactor::new(derived);
        self.forms.extend(extra.forms);
        self.forms
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        self.forms.dedup_by(|a, b| a.0 == b.0);
        self
    }

    /// This redactor plus every form `other` redacts (the secrets of an execution this one ran
    /// first: the custom authentication action's).
    pub fn merged(mut self, other: &Redactor) -> Redactor {
        if other.forms.is_empty() {
            return self;
        }
        self.forms.extend(other.forms.iter().cloned());
        self.forms
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        self.forms.dedup_by(|a, b| a.0 == b.0);
        self
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

/// `<redacted:NAME>`, or [`url_placeholder`]'s form.
pub fn is_placeholder(text: &str) -> bool {
    (text.starts_with("<redacted:") && text.ends_with('>'))
        || text
            .strip_prefix(URL_PLACEHOLDER_ORIGIN)
            .is_some_and(|name| !name.is_empty() && !name.contains(['/', '?', '#']))
}

/// The origin of [`url_placeholder`]s (`.invalid`: nothing is ever sent there live).
pub const URL_PLACEHOLDER_ORIGIN: &str = "https://redacted.invalid/";

/// The placeholder of a secret that is a URL (a custom authentication action's
/// `${credentials.loginUrl}`): itself an absolute URL, `https://redacted.invalid/NAME`, so that a
/// request sent to it still resolves in a replay.
pub fn url_placeholder(name: &str) -> String {
    format!("{URL_PLACEHOLDER_ORIGIN}{name}")
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Headers whose whole value is a credential, whatever it was built from.
pub fn is_credential_header(name: &str) -> bool {
    const NAMES: [&str; 7] = [
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
    ];
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// A stand-in for a secret that differs from it at every character (case-insensitively) and in
/// length, so that anything a template computes from the secret — an encoding, a hash, a slice,
/// its length — renders differently with the probe.
pub fn probe_text(secret: &str) -> String {
    let mut probe: String = secret
        .chars()
        .map(|c| {
            ['Q', 'Z', 'X']
                .into_iter()
                .find(|p| !p.eq_ignore_ascii_case(&c))
                .unwrap_or('Q')
        })
        .collect();
    probe.push('Q');
    probe
}

/// The part of `real` that depends on the secrets: `real` without the longest prefix and suffix it
/// shares with `probed` (the same template rendered with probes). `None` when both are equal.
pub fn derived_span<'a>(real: &'a str, probed: &str) -> Option<&'a str> {
    if real == probed {
        return None;
    }
    let prefix: usize = real
        .chars()
        .zip(probed.chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum();
    let real_rest = real.get(prefix..).unwrap_or_default();
    let probed_rest = probed.get(prefix..).unwrap_or_default();
    let suffix: usize = real_rest
        .chars()
        .rev()
        .zip(probed_rest.chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum();
    real_rest.get(..real_rest.len() - suffix)
}

/// The secrets of an execution replaced by probes in a template context: `credentials.*`,
/// `authResponse.*` (top level), and every string input of a secure node (`input.*`,
/// `input.rawRequest`). `None` when there is no
/// real secret to protect (none, or only a recorded fixture's placeholders).
pub fn probe_context(context: &Value, secure: bool) -> Option<Value> {
    let mut probed = context.clone();
    let mut changed = false;
    let mut probe_scalars = |map: &mut serde_json::Map<String, Value>| {
        for value in map.values_mut() {
            if let Some(text) = scalar_text(value)
                && text.chars().count() >= MIN_SECRET_LEN
                && !is_placeholder(&text)
            {
                *value = Value::String(probe_text(&text));
                changed = true;
            }
        }
    };
    if let Some(Value::Object(credentials)) = probed.get_mut("credentials") {
        probe_scalars(credentials);
    }
    if let Some(Value::Object(auth_response)) = probed.get_mut("authResponse") {
        probe_scalars(auth_response);
    }
    if secure && let Some(Value::Object(input)) = probed.get_mut("input") {
        probe_scalars(input);
    }
    changed.then_some(probed)
}

/// Every string of an authentication response as `(authResponse.PATH, value)`: the secrets it
/// adds to an execution (nested objects by dotted path, arrays by index).
pub fn auth_response_secrets(value: &Value) -> Vec<(String, String)> {
    fn walk(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
        match value {
            Value::String(text) => out.push((path.to_string(), text.clone())),
            Value::Object(map) => {
                for (key, item) in map {
                    walk(item, &format!("{path}.{key}"), out);
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}.{index}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, "authResponse", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derived_span_is_what_differs_between_the_renderings() {
        assert_eq!(
            derived_span("Basic dXNlcjpwYXNz", "Basic UVpRWjpRWlFa"),
            Some("dXNlcjpwYXNz")
        );
        assert_eq!(derived_span("same", "same"), None);
        assert_eq!(derived_span("k=abc&x=1", "k=QQQQ&x=1"), Some("abc"));
    }

    #[test]
    fn a_probe_differs_everywhere() {
        let probe = probe_text("qQzZ9");
        assert_eq!(probe.chars().count(), 6);
        for (a, b) in "qQzZ9".chars().zip(probe.chars()) {
            assert!(!a.eq_ignore_ascii_case(&b), "{a} {b}");
        }
    }

    #[test]
    fn derived_values_are_redacted_in_every_form() {
        let redactor = Redactor::default().with_derived(&[(
            "credentials-derived".to_string(),
            "Basic dXNlcjpwYXNz".to_string(),
        )]);
        assert_eq!(
            redactor.text("echo: Basic dXNlcjpwYXNz"),
            "echo: <redacted:credentials-derived>"
        );
    }
}

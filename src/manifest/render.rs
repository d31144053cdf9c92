//! Tera rendering of manifest strings (docs/formats.md, "Variables (tera)"): only strings that contain `{{`, `{%`
//! or `{#` are rendered, with the context `{ vars, env: { name, region }, project: { name } }`.
//! Velocity (`$…`, `#…`) passes through untouched; `{% raw %}` keeps a literal `{{`.
//!
//! Manifests come from pull requests, and tera has no fuel: a loop inside a loop, a `set` that
//! doubles a string, or a filter that multiplies its input would render for ever or fill memory.
//! Manifests need none of that, so a static gate ([`gate`]) admits only `{{ … }}` expressions with
//! [`ALLOWED_FILTERS`], `{% if %}` / `{% elif %}` / `{% else %}` / `{% endif %}`, `{% raw %}` and
//! comments, and the output is written through a writer capped at [`MAX_RENDERED_BYTES`]. Without
//! loops, assignments and functions, rendering is linear in the template and its variables.

use std::io;

use regex::Regex;
use serde_json::{Value, json};
use tera::{Context, Tera};

use super::diag::{Diagnostics, Position};
use super::shape::did_you_mean;
use super::source::{Seg, SourceFile};
use crate::model::{Env, Target as EnvTarget};

/// Longest string one manifest string may render to (1 MiB): far above any URL, header or template
/// Genesys accepts.
pub const MAX_RENDERED_BYTES: usize = 1024 * 1024;

/// The tags a manifest string may use.
const ALLOWED_TAGS: [&str; 4] = ["if", "elif", "else", "endif"];

/// The filters a manifest string may use: those whose output is at most a small constant times
/// their input (no `replace`, `indent`, `join`, `split`, and no escaping, which compounds when
/// chained).
pub const ALLOWED_FILTERS: [&str; 23] = [
    "default",
    "upper",
    "lower",
    "trim",
    "trim_start",
    "trim_end",
    "capitalize",
    "title",
    "safe",
    "str",
    "int",
    "float",
    "length",
    "abs",
    "round",
    "first",
    "last",
    "nth",
    "get",
    "truncate",
    "reverse",
    "keys",
    "values",
];

/// Whether a string is a tera template at all.
pub fn needs_render(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// Whether any string in a tree needs rendering (so an env-independent file is resolved once).
pub fn tree_needs_render(value: &Value) -> bool {
    match value {
        Value::String(s) => needs_render(s),
        Value::Array(items) => items.iter().any(tree_needs_render),
        Value::Object(map) => map.values().any(tree_needs_render),
        _ => false,
    }
}

/// Renders manifest strings for one environment.
pub struct VarRenderer {
    tera: Tera,
    context: Context,
    env_name: String,
    var_names: Vec<String>,
}

impl VarRenderer {
    pub fn new(project_name: &str, env: &Env) -> VarRenderer {
        let region = match &env.target {
            EnvTarget::Region { name, .. } => Value::String(name.clone()),
            EnvTarget::ApiBase(base) => Value::String(base.clone()),
            EnvTarget::Emulator => Value::String("emulator".to_string()),
        };
        let mut context = Context::new();
        context.insert("vars", &Value::Object(env.vars.clone()));
        context.insert("env", &json!({ "name": env.name, "region": region }));
        context.insert("project", &json!({ "name": project_name }));
        VarRenderer {
            tera: Tera::default(),
            context,
            env_name: env.name.clone(),
            var_names: env.vars.keys().map(|k| format!("vars.{k}")).collect(),
        }
    }

    /// Renders every string of `value` for which `select(path)` holds, in place. Each failure is
    /// reported at the string's position in `file`, naming the variable and the env.
    pub fn render_tree(
        &self,
        file: &SourceFile,
        value: &mut Value,
        select: &dyn Fn(&[Seg]) -> bool,
        diags: &mut Diagnostics,
    ) {
        let mut path = Vec::new();
        self.walk(file, value, &mut path, select, diags);
    }

    fn walk(
        &self,
        file: &SourceFile,
        value: &mut Value,
        path: &mut Vec<Seg>,
        select: &dyn Fn(&[Seg]) -> bool,
        diags: &mut Diagnostics,
    ) {
        match value {
            Value::String(text) if needs_render(text) && select(path) => match self.render(text) {
                Ok(rendered) => *text = rendered,
                Err(failure) => {
                    let at = failure_position(file, path, &failure);
                    diags.error(&file.display, at, self.describe(text, &failure));
                }
            },
            Value::Array(items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    path.push(Seg::Index(index));
                    self.walk(file, item, path, select, diags);
                    path.pop();
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    path.push(Seg::Key(key.clone()));
                    self.walk(file, item, path, select, diags);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    fn render(&self, text: &str) -> Result<String, Failure> {
        gate(text)?;
        let mut out = CappedWriter {
            bytes: Vec::new(),
            overflowed: false,
        };
        let rendered = self
            .tera
            .render_str_to(text, &self.context, false, &mut out);
        if out.overflowed {
            return Err(Failure {
                message: format!(
                    "the string renders to more than {MAX_RENDERED_BYTES} bytes (the limit for a manifest string)"
                ),
                line: 1,
                column: 0,
            });
        }
        rendered
            .map_err(|error| match error.kind() {
                tera::ErrorKind::SyntaxError(report) | tera::ErrorKind::RenderingError(report) => {
                    Failure {
                        message: report.message().to_string(),
                        line: report.span().start_line,
                        column: report.span().start_col,
                    }
                }
                other => Failure {
                    message: other.to_string(),
                    line: 1,
                    column: 0,
                },
            })
            .and_then(|()| {
                String::from_utf8(out.bytes).map_err(|e| Failure {
                    message: e.to_string(),
                    line: 1,
                    column: 0,
                })
            })
    }

    fn describe(&self, template: &str, failure: &Failure) -> String {
        let undefined = Regex::new(r"^(?:Variable|Field) `([^`]+)` is not defined").ok();
        let name = undefined
            .as_ref()
            .and_then(|re| re.captures(&failure.message))
            .and_then(|c| c.get(1))
            .map(|m| full_variable_name(template, m.as_str()));
        match name {
            Some(name) => {
                let names: Vec<&str> = self.var_names.iter().map(String::as_str).collect();
                let hint = did_you_mean(&name, &names)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_else(|| {
                        if names.is_empty() {
                            format!("; env `{}` defines no vars", self.env_name)
                        } else {
                            format!("; env `{}` defines: {}", self.env_name, names.join(", "))
                        }
                    });
                format!(
                    "undefined tera variable `{name}` in env `{}`{hint}",
                    self.env_name
                )
            }
            None => {
                let message = failure.message.trim_end_matches('.').replace('\n', "; ");
                format!("tera template error in env `{}`: {message}", self.env_name)
            }
        }
    }
}

/// Tera's output, refused past [`MAX_RENDERED_BYTES`].
struct CappedWriter {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl io::Write for CappedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len().saturating_add(buf.len()) > MAX_RENDERED_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("rendered string too long"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Refuses what could make rendering unbounded: any tag but `if`/`elif`/`else`/`endif`/`raw`,
/// function calls, and filters outside [`ALLOWED_FILTERS`]. What the gate cannot follow (an
/// unterminated tag) it leaves to tera, which reports the syntax error.
fn gate(text: &str) -> Result<(), Failure> {
    let endraw = Regex::new(r"\{%-?\s*endraw\s*-?%\}").ok();
    let mut at = 0;
    while let Some(found) = text.get(at..).and_then(|rest| rest.find('{')) {
        let open = at + found;
        let rest = text.get(open..).unwrap_or("");
        if rest.starts_with("{#") {
            match rest.find("#}") {
                Some(end) => at = open + end + 2,
                None => return Ok(()),
            }
        } else if rest.starts_with("{{") || rest.starts_with("{%") {
            let body_start = open + 2;
            let closer = if rest.starts_with("{{") { "}}" } else { "%}" };
            let Some(body_len) = find_outside_strings(text.get(body_start..).unwrap_or(""), closer)
            else {
                return Ok(());
            };
            let body = text.get(body_start..body_start + body_len).unwrap_or("");
            at = body_start + body_len + 2;
            if closer == "}}" {
                check_expression(text, body, body_start)?;
                continue;
            }
            let trimmed = body.trim_start_matches('-').trim_start();
            let tag_start = body_start + (body.len() - trimmed.len());
            let name_len = trimmed
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(trimmed.len());
            let name = trimmed.get(..name_len).unwrap_or("");
            if name == "raw" {
                match endraw.as_ref().and_then(|re| re.find_at(text, at)) {
                    Some(m) => at = m.end(),
                    None => return Ok(()),
                }
            } else if ALLOWED_TAGS.contains(&name) {
                let condition = trimmed.get(name_len..).unwrap_or("");
                check_expression(text, condition, tag_start + name_len)?;
            } else {
                return Err(failure_at(
                    text,
                    tag_start,
                    format!(
                        "tera tag `{{% {name} %}}` is not allowed in a manifest: only `{{{{ … }}}}` expressions, `{{% if %}}` / `{{% elif %}}` / `{{% else %}}` / `{{% endif %}}`, `{{% raw %}}` and comments are (loops, `set`, macros and includes could make rendering unbounded)"
                    ),
                ));
            }
        } else {
            at = open + 1;
        }
    }
    Ok(())
}

/// Byte offset of `closer` in `text`, skipping string literals (`"…"`, `'…'`, `` `…` ``).
fn find_outside_strings(text: &str, closer: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' || c == '`' => quote = Some(c),
            None if text.get(i..).is_some_and(|r| r.starts_with(closer)) => return Some(i),
            None => {}
        }
    }
    None
}

/// Checks the filters and calls of one expression (`offset`: its byte offset in `text`).
fn check_expression(text: &str, expression: &str, offset: usize) -> Result<(), Failure> {
    let chars: Vec<(usize, char)> = expression.char_indices().collect();
    let mut i = 0;
    // The previous significant token: `|` makes the next name a filter, `is` a test.
    let mut after_pipe = false;
    let mut after_is = false;
    while let Some(&(start, c)) = chars.get(i) {
        if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while chars.get(i).is_some_and(|&(_, q)| q != c) {
                i += 1;
            }
            i += 1;
            after_pipe = false;
            after_is = false;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut end = i;
            while chars
                .get(end)
                .is_some_and(|&(_, x)| x.is_alphanumeric() || x == '_')
            {
                end += 1;
            }
            let name_end = chars.get(end).map_or(expression.len(), |&(b, _)| b);
            let name = expression.get(start..name_end).unwrap_or("");
            let mut next = end;
            while chars.get(next).is_some_and(|&(_, x)| x.is_whitespace()) {
                next += 1;
            }
            let called = chars.get(next).is_some_and(|&(_, x)| x == '(');
            if after_pipe && !ALLOWED_FILTERS.contains(&name) {
                return Err(failure_at(
                    text,
                    offset + start,
                    format!(
                        "tera filter `{name}` is not allowed in a manifest (it can multiply its input); allowed filters: {}",
                        ALLOWED_FILTERS.join(", ")
                    ),
                ));
            }
            if called && !after_pipe && !after_is {
                return Err(failure_at(
                    text,
                    offset + start,
                    format!("tera function call `{name}(…)` is not allowed in a manifest"),
                ));
            }
            // `is not defined`: the test's name follows `not`.
            after_is = name == "is" || (after_is && name == "not");
            after_pipe = false;
            i = end;
            continue;
        }
        if !c.is_whitespace() {
            after_pipe = c == '|';
            after_is = false;
        }
        i += 1;
    }
    Ok(())
}

/// A failure at byte `offset` of the template `text`.
fn failure_at(text: &str, offset: usize, message: String) -> Failure {
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    Failure {
        message,
        line,
        column: before.get(line_start..).map_or(0, |l| l.chars().count()),
    }
}

struct Failure {
    message: String,
    /// 1-based line inside the string.
    line: usize,
    /// 0-based character column inside the string's line.
    column: usize,
}

/// Tera names an undefined field by its last segment (`crm_bas`); find the dotted expression it ends
/// (`vars.crm_bas`) in the template text.
fn full_variable_name(template: &str, name: &str) -> String {
    if name.contains('.') {
        return name.to_string();
    }
    let pattern = format!(
        r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\.{}\b",
        regex::escape(name)
    );
    Regex::new(&pattern)
        .ok()
        .and_then(|re| re.find(template).map(|m| m.as_str().to_string()))
        .unwrap_or_else(|| name.to_string())
}

/// The position of the failure in the file.
fn failure_position(file: &SourceFile, path: &[Seg], failure: &Failure) -> Position {
    file.locate_in_string(path, failure.line, failure.column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_admits_what_manifests_use() {
        for text in [
            "{{ vars.base }}/v1",
            "{% if vars.x is defined %}a{% elif env.name == 'prod' %}b{% else %}c{% endif %}",
            "{%- if vars.x is not defined -%}a{%- endif -%}",
            "{{ vars.x | default(value='y') | upper }}",
            "{% raw %}{% for x in y %}{{ range(end=9) }}{% endraw %}",
            "{# {% for x in y %} #}{{ vars.a }}",
            "{{ \"}} {% for %}\" }}",
            "$input.x #foreach($i in $l)$i#end { not tera }",
        ] {
            assert!(gate(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn gate_refuses_at_the_construct() {
        let failure = gate("ok\n  {% for x in y %}{% endfor %}").unwrap_err();
        assert_eq!((failure.line, failure.column), (2, 5));
        assert!(failure.message.contains("tera tag `{% for %}`"));
        for (text, what) in [
            ("{% set s = 1 %}", "`{% set %}`"),
            ("{% macro m() %}{% endmacro %}", "`{% macro %}`"),
            ("{% include 'x' %}", "`{% include %}`"),
            (
                "{{ vars.a | replace(from='', to='xx') }}",
                "filter `replace`",
            ),
            ("{{ vars.a | upper | indent(width=9) }}", "filter `indent`"),
            ("{{ throw(message='x') }}", "function call `throw(…)`"),
            (
                "{% if range(end=5) | length %}{% endif %}",
                "function call `range(…)`",
            ),
        ] {
            let failure = gate(text).unwrap_err();
            assert!(
                failure.message.contains(what),
                "{text}: {}",
                failure.message
            );
        }
    }
}

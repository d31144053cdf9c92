//! Tera rendering of manifest strings (formats.md, "Variables"): only strings that contain `{{`, `{%`
//! or `{#` are rendered, with the context `{ vars, env: { name, region }, project: { name } }`.
//! Velocity (`$…`, `#…`) passes through untouched; `{% raw %}` keeps a literal `{{`.

use regex::Regex;
use serde_json::{Value, json};
use tera::{Context, Tera};

use super::diag::{Diagnostics, Position};
use super::shape::did_you_mean;
use super::source::{Seg, SourceFile};
use crate::model::{Env, Target as EnvTarget};

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
        self.tera
            .render_str(text, &self.context, false)
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

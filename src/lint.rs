//! The validation rules that need nodectl's Velocity and JSONPath parsers (docs/formats.md): every
//! template and translation path is parsed; malformed ones are errors, constructs outside nodectl's
//! subset are warnings that mark the node *not dry-runnable*, and the template references are
//! checked against the contract (`${input.X}` declared in `input_schema`, success-template variables
//! that exist, no list or map rendered straight into a request, translation-map defaults that the
//! success template would turn into something that is not JSON, `${authResponse.X}` only where the
//! integration's custom authentication action exists and can produce `X`).
//!
//! It runs after `manifest` has loaded the project (which knows nothing of these parsers) and adds
//! to the same diagnostics.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::jsonpath::{self, JsonPathErrorKind};
use crate::manifest::source::{Seg, SourceFile, Target};
use crate::manifest::{self, Diagnostics, LoadError, LoadOptions, Loaded, Project};
use crate::model::{IntegrationRef, IntegrationType, Node};
use crate::vtl;

/// The former name of `load_project`, kept for the callers not yet moved (`serve`, the tests).
pub fn load(options: &LoadOptions) -> Result<Loaded, LoadError> {
    load_project(options)
}

/// Variables every template may use besides its data: Velocity tools and `$foreach`.
const TOOLS: [&str; 7] = [
    "esc",
    "math",
    "encoding",
    "successTemplateUtils",
    "urlTool",
    "salesforce",
    "foreach",
];
/// Input names Genesys adds to every execution's `input`.
const IMPLICIT_INPUTS: [&str; 3] = ["rawRequest", "orgId", "integrationId"];

/// The project loader every command uses: loads the project (`manifest::load`) and applies the
/// parser-dependent rules to it. Also at `ops::load_project`.
pub fn load_project(options: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut loaded = manifest::load(options)?;
    if let Some(project) = &mut loaded.project {
        check(project, &mut loaded.diagnostics);
        loaded.diagnostics.normalize();
    }
    Ok(loaded)
}

/// Checks every resolved node of every env, marking the ones nodectl cannot execute.
pub fn check(project: &mut Project, diags: &mut Diagnostics) {
    let mut files = Files {
        project_dir: project.config.dir.clone(),
        display_root: project.display_root.clone(),
        loaded: HashMap::new(),
    };
    for nodes in project.nodes.values_mut() {
        let auth_actions = custom_auth_actions(nodes);
        for node in nodes.iter_mut() {
            let auth = AuthContext {
                action: auth_actions.get(&node.key.integration),
            };
            let reasons = check_node(node, &auth, &mut files, diags);
            for reason in reasons {
                if !node.not_dry_runnable.contains(&reason) {
                    node.not_dry_runnable.push(reason);
                }
            }
        }
    }
}

/// An env's custom authentication action of an integration: its name and the fields its output
/// can have (`None`: not statically knowable, e.g. a `${rawResult}` success template).
struct AuthAction {
    name: String,
    fields: Option<BTreeSet<String>>,
}

/// What `${authResponse.X}` references of a node are checked against.
struct AuthContext<'a> {
    /// The custom authentication action of the node's integration, if the env has one.
    action: Option<&'a AuthAction>,
}

/// The custom authentication actions of one env's nodes, by integration.
fn custom_auth_actions(nodes: &[Node]) -> HashMap<IntegrationRef, AuthAction> {
    nodes
        .iter()
        .filter(|n| n.custom_auth)
        .map(|n| {
            (
                n.key.integration.clone(),
                AuthAction {
                    name: n.key.name.clone(),
                    fields: output_fields(n),
                },
            )
        })
        .collect()
}

/// The top-level fields a node's output can have, when statically knowable: its output schema's
/// declared properties (unless it allows others), else the keys of a success template that is a
/// JSON object once its references are blanked (no directives). `${rawResult}` is unknowable.
fn output_fields(node: &Node) -> Option<BTreeSet<String>> {
    let schema = &node.output_schema;
    if let Some(properties) = schema.get("properties").and_then(|p| p.as_object())
        && !properties.is_empty()
        && schema.get("additionalProperties") != Some(&serde_json::Value::Bool(true))
    {
        return Some(properties.keys().cloned().collect());
    }
    let template = node.response.success_template.trim();
    if template == crate::model::DEFAULT_SUCCESS_TEMPLATE || template.contains('#') {
        return None;
    }
    let reference = regex::Regex::new(r"\$!?\{[^}]*\}|\$!?[A-Za-z][A-Za-z0-9_.\-]*").ok()?;
    let blanked = reference.replace_all(template, "0");
    match serde_json::from_str::<serde_json::Value>(&blanked).ok()? {
        serde_json::Value::Object(map) => Some(map.keys().cloned().collect()),
        _ => None,
    }
}

/// The warning for `${authResponse.NAME}` in a request template of `node`, if any.
fn auth_response_problem(
    node: &Node,
    auth: &AuthContext<'_>,
    label: &str,
    name: Option<&String>,
) -> Option<String> {
    let shown = name.map_or("authResponse".to_string(), |n| format!("authResponse.{n}"));
    if node.integration_type != IntegrationType::WebServices {
        return Some(format!(
            "{label}: `${{{shown}}}`: only a Web Services integration (custom-rest-actions) with a User Defined (OAuth) credential has an authentication response, and this one is `{}`; Genesys saves the template unchecked",
            node.integration_type
        ));
    }
    let Some(action) = auth.action else {
        return Some(format!(
            "{label}: `${{{shown}}}`: integration `{}` has no custom authentication action in this project (a node with custom_auth = true), so execution fails its authenticate step unless a fixture gives `[auth_response]`",
            node.key.integration
        ));
    };
    let (Some(name), Some(fields)) = (name, &action.fields) else {
        return None;
    };
    (!fields.contains(name)).then(|| {
        format!(
            "{label}: `${{{shown}}}`: the custom authentication action `{}` does not produce `{name}` (its output has: {})",
            action.name,
            fields.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
        )
    })
}

/// Node files, read again only when a problem needs a position.
struct Files {
    project_dir: PathBuf,
    display_root: PathBuf,
    loaded: HashMap<PathBuf, Option<SourceFile>>,
}

impl Files {
    fn get(&mut self, relative: &Path) -> Option<&SourceFile> {
        let project_dir = &self.project_dir;
        let display_root = &self.display_root;
        self.loaded
            .entry(relative.to_path_buf())
            .or_insert_with(|| {
                // The loader read this file through the same containment check; a refused path
                // (swapped since) is simply not shown.
                let real =
                    manifest::paths::contain(project_dir, relative, manifest::paths::Area::Project)
                        .ok()?;
                let text = std::fs::read_to_string(real).ok()?;
                Some(SourceFile::new(
                    manifest::display_path(display_root, relative),
                    relative.to_path_buf(),
                    text,
                ))
            })
            .as_ref()
    }
}

/// Where a place inside a template is in the manifest. A string that tera rendered has moved its
/// text around, so such a place is reported at the start of the string instead.
fn template_position(
    file: &SourceFile,
    path: &[Seg],
    line: u32,
    column: u32,
) -> crate::manifest::Position {
    let raw: Option<serde_json::Value> = toml::from_str(&file.text).ok();
    let rendered_by_tera = raw
        .as_ref()
        .and_then(|root| {
            path.iter().try_fold(root, |value, seg| match seg {
                Seg::Key(key) => value.get(key),
                Seg::Index(index) => value.get(index),
            })
        })
        .and_then(serde_json::Value::as_str)
        .is_none_or(manifest::render::needs_render);
    if rendered_by_tera {
        file.locate(path, Target::Value)
    } else {
        file.locate_in_string(path, line as usize, column.saturating_sub(1) as usize)
    }
}

/// Which template of a node, and where it sits in the manifest.
struct TemplateSite {
    label: String,
    path: Vec<Seg>,
    source: String,
    request: bool,
}

fn template_sites(node: &Node) -> Vec<TemplateSite> {
    let key = |k: &str| Seg::Key(k.to_string());
    let mut sites = vec![TemplateSite {
        label: "request.url".to_string(),
        path: vec![key("request"), key("url")],
        source: node.request.url.clone(),
        request: true,
    }];
    for (name, value) in &node.request.headers {
        sites.push(TemplateSite {
            label: format!("header {name}"),
            path: vec![key("request"), key("headers"), key(name)],
            source: value.clone(),
            request: true,
        });
    }
    if node.request.method.sends_body() {
        sites.push(TemplateSite {
            label: "request.body".to_string(),
            path: vec![key("request"), key("body")],
            source: node.request.body.clone(),
            request: true,
        });
    }
    sites.push(TemplateSite {
        label: "success_template".to_string(),
        path: vec![key("response"), key("success_template")],
        source: node.response.success_template.clone(),
        request: false,
    });
    sites
}

/// Checks one node; returns why it is not dry-runnable (empty: it is).
fn check_node(
    node: &Node,
    auth: &AuthContext<'_>,
    files: &mut Files,
    diags: &mut Diagnostics,
) -> Vec<String> {
    let mut not_dry_runnable = Vec::new();
    let declared: BTreeSet<String> = node
        .input_schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let translation_keys: BTreeSet<&str> = node
        .response
        .translation_map
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();

    for site in template_sites(node) {
        let template = match vtl::parse(&site.source) {
            Ok(template) => template,
            Err(error) => {
                let Some(file) = files.get(&node.source) else {
                    continue;
                };
                let at = template_position(file, &site.path, error.line, error.column);
                if error.is_unsupported() {
                    let reason = format!("{}: {}", site.label, error.message);
                    diags.warning(&file.display, at, format!("{reason}; Genesys accepts it but nodectl cannot execute it, so the node is not dry-runnable"));
                    not_dry_runnable.push(reason);
                } else {
                    diags.error(
                        &file.display,
                        at,
                        format!("{}: Velocity syntax error: {}", site.label, error.message),
                    );
                }
                continue;
            }
        };
        if !site.request {
            check_defaults(node, &template, files, diags);
        }
        let set_targets: BTreeSet<String> = template
            .set_targets()
            .into_iter()
            .chain(template.loop_variables())
            .collect();
        for reference in template.references() {
            let problem = if site.request {
                match (reference.root.as_str(), reference.path.first()) {
                    ("input", Some(name))
                        if !declared.contains(name)
                            && !IMPLICIT_INPUTS.contains(&name.as_str()) =>
                    {
                        Some(format!(
                            "{}: `${{input.{name}}}` is not declared in input_schema (it would render as its own text when absent)",
                            site.label
                        ))
                    }
                    ("authResponse", name) if !node.custom_auth => {
                        auth_response_problem(node, auth, &site.label, name)
                    }
                    _ => None,
                }
            } else {
                let root = reference.root.as_str();
                let known = translation_keys.contains(root)
                    || root == "rawResult"
                    || root == "input"
                    || root == "credentials"
                    || TOOLS.contains(&root)
                    || set_targets.contains(root);
                (!known).then(|| {
                    format!(
                        "success_template: `${root}` is neither a translation_map key, rawResult nor set by #set; Genesys fails the execution (`Variable ${root} has not been set`)"
                    )
                })
            };
            if let Some(message) = problem
                && let Some(file) = files.get(&node.source)
            {
                let at = template_position(file, &site.path, reference.line, reference.column);
                diags.warning(&file.display, at, message);
            }
        }
        if site.request
            && template.renders_collection_literal()
            && let Some(file) = files.get(&node.source)
        {
            diags.warning(
                &file.display,
                file.locate(&site.path, Target::Value),
                format!("{}: a list or map is rendered directly (as Java's [a, b] / {{k=v}}); use #foreach or $esc.jsonString", site.label),
            );
        }
    }

    for (name, path) in &node.response.translation_map {
        let Err(error) = jsonpath::parse(path) else {
            continue;
        };
        let Some(file) = files.get(&node.source) else {
            continue;
        };
        let at = file.locate(
            &[
                Seg::Key("response".into()),
                Seg::Key("translation_map".into()),
                Seg::Key(name.clone()),
            ],
            Target::Value,
        );
        match error.kind() {
            JsonPathErrorKind::Syntax => {
                diags.error(
                    &file.display,
                    at,
                    format!("translation_map.{name}: `{path}` is not a JSONPath: {error}"),
                );
            }
            JsonPathErrorKind::Unsupported => {
                let reason = format!("translation_map.{name}: {error}");
                diags.warning(&file.display, at, format!("{reason}; Genesys accepts it but nodectl cannot execute it, so the node is not dry-runnable"));
                not_dry_runnable.push(reason);
            }
        }
    }
    not_dry_runnable
}

/// The translation-map defaults the success template would turn into something that is not JSON.
/// Genesys inserts a default's text as is when its path does not resolve (docs/runtime.md), so a
/// default that is not a JSON value is fine inside a JSON string (`"${x}"`) and is a broken output
/// where a JSON value is expected (`{"a": ${x}}`); Genesys saves both, so this is a warning.
fn check_defaults(
    node: &Node,
    template: &vtl::Template,
    files: &mut Files,
    diags: &mut Diagnostics,
) {
    let uses = template.output_references();
    for (name, default) in &node.response.translation_map_defaults {
        let Some((_, path)) = node
            .response
            .translation_map
            .iter()
            .find(|(k, _)| k == name)
        else {
            continue;
        };
        let bare_uses = || uses.iter().filter(|u| u.bare && u.root == *name);
        let as_value = bare_uses().any(|u| !u.in_json_string)
            && serde_json::from_str::<serde_json::Value>(default).is_err();
        let in_string = bare_uses().any(|u| u.in_json_string)
            && serde_json::from_str::<String>(&format!("\"{default}\"")).is_err();
        let consequence = if as_value {
            "where a JSON value is expected (write a string default as '\"text\"')"
        } else if in_string {
            "inside a JSON string, which it breaks (a `\"`, a `\\` or a control character)"
        } else {
            continue;
        };
        let Some(file) = files.get(&node.source) else {
            continue;
        };
        let at = file.locate(
            &[
                Seg::Key("response".into()),
                Seg::Key("translation_map_defaults".into()),
                Seg::Key(name.clone()),
            ],
            Target::Value,
        );
        let what = if default.is_empty() {
            "the empty default".to_owned()
        } else {
            format!("the default `{default}`")
        };
        diags.warning(
            &file.display,
            at,
            format!("translation_map_defaults.{name}: when `{path}` does not resolve, the output is not JSON: success_template inserts {what} as is {consequence}"),
        );
    }
}

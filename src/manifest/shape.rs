//! The shape check: each file is validated against the JSON Schema derived from its format struct
//! (`format`), so that every unknown key, wrong type, missing key and out-of-range value of a file is
//! reported at once, at its own line and column, with a "did you mean" hint for near-miss keys.
//! The same derived schemas are what `nodectl schema` publishes for editors.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use jsonschema::{Draft, Validator};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::diag::Diagnostics;
use super::format::{FixtureFile, NodeFile, ProjectFile};
use super::source::{Seg, SourceFile, Target};

/// The three file kinds of a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Project,
    Node,
    Fixture,
}

impl FileKind {
    pub const ALL: [FileKind; 3] = [FileKind::Project, FileKind::Node, FileKind::Fixture];

    /// The name used by `nodectl schema KIND` and in the schema file names.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Project => "project",
            FileKind::Node => "node",
            FileKind::Fixture => "fixture",
        }
    }

    /// The file `nodectl schema --out-dir` (and `init`) writes its schema to.
    pub fn schema_file_name(self) -> &'static str {
        match self {
            FileKind::Project => "nodectl.schema.json",
            FileKind::Node => "node.schema.json",
            FileKind::Fixture => "fixture.schema.json",
        }
    }
}

/// The published JSON Schema (draft 7, which taplo and Even Better TOML understand) of a file kind.
pub fn schema_for(kind: FileKind) -> &'static Value {
    &checker(kind).schema
}

fn generate<T: JsonSchema>() -> Value {
    let settings = SchemaSettings::draft07().with(|s| s.inline_subschemas = true);
    let mut schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    strip_null(&mut schema);
    schema
}

/// TOML has no `null`, so `Option<T>` fields are simply optional: remove the `null` alternative that
/// schemars adds for them, which would otherwise turn every type error into an unreadable `anyOf` one.
fn strip_null(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1
                    && let Some(single) = types.pop()
                {
                    map.insert("type".to_string(), single);
                }
            }
            if let Some(Value::Array(choices)) = map.get_mut("enum") {
                choices.retain(|c| !c.is_null());
            }
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(alternatives)) = map.get_mut(key) {
                    alternatives.retain(|alt| alt.get("type").is_none_or(|t| t != "null"));
                    if alternatives.len() == 1
                        && let Some(Value::Object(only)) = alternatives.pop()
                    {
                        map.remove(key);
                        for (k, v) in only {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
            }
            // `"default": null` is meaningless for TOML and confuses editors.
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            for value in map.values_mut() {
                strip_null(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

struct Checker {
    schema: Value,
    validator: Option<Validator>,
}

struct Checkers {
    project: Checker,
    node: Checker,
    fixture: Checker,
}

fn checker(kind: FileKind) -> &'static Checker {
    static CHECKERS: OnceLock<Checkers> = OnceLock::new();
    let checkers = CHECKERS.get_or_init(|| Checkers {
        project: Checker::new(generate::<ProjectFile>()),
        node: Checker::new(generate::<NodeFile>()),
        fixture: Checker::new(generate::<FixtureFile>()),
    });
    match kind {
        FileKind::Project => &checkers.project,
        FileKind::Node => &checkers.node,
        FileKind::Fixture => &checkers.fixture,
    }
}

impl Checker {
    fn new(schema: Value) -> Checker {
        // The derived schemas are tested to compile (`nodectl schema` test); a failure here would
        // only disable the shape check, and serde's own error still reports the first problem.
        let validator = jsonschema::options()
            .with_draft(Draft::Draft7)
            .build(&schema)
            .ok();
        Checker { schema, validator }
    }
}

/// Checks `value` (the parsed file) against the kind's schema, reporting every violation, then
/// deserializes it. `None` when the file has shape errors.
pub fn check<T: DeserializeOwned>(
    kind: FileKind,
    file: &SourceFile,
    value: &Value,
    diags: &mut Diagnostics,
) -> Option<T> {
    let checker = checker(kind);
    let mut found = false;
    if let Some(validator) = &checker.validator {
        for error in validator.iter_errors(value) {
            found = true;
            let instance_path: Vec<Seg> = error.instance_path().iter().map(to_seg).collect();
            let schema_path: Vec<String> =
                error.schema_path().iter().map(|s| s.to_string()).collect();
            let subschema = schema_at(
                &checker.schema,
                schema_path
                    .get(..schema_path.len().saturating_sub(1))
                    .unwrap_or(&[]),
            );
            report(
                file,
                &instance_path,
                subschema,
                error.instance(),
                error.kind(),
                &error.to_string(),
                diags,
            );
        }
    }
    if found {
        return None;
    }
    match serde_json::from_value::<T>(value.clone()) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            diags.error(
                &file.display,
                super::diag::Position::START,
                format!("{error}"),
            );
            None
        }
    }
}

fn to_seg(segment: LocationSegment<'_>) -> Seg {
    match segment {
        LocationSegment::Property(name) => Seg::Key(name.into_owned()),
        LocationSegment::Index(index) => Seg::Index(index),
    }
}

fn schema_at<'a>(schema: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(schema, |node, segment| match node {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// `request.headers`, `exchange[1].response.status`; `the file` for the root.
pub fn dotted(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    && !key.is_empty()
                {
                    out.push_str(key);
                } else {
                    out.push_str(&format!("{key:?}"));
                }
            }
            Seg::Index(index) => out.push_str(&format!("[{}]", index + 1)),
        }
    }
    out
}

fn table_name(path: &[Seg]) -> String {
    if path.is_empty() {
        "at the top level".to_string()
    } else {
        format!("in [{}]", dotted(path))
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "table",
    }
}

/// Names a JSON Schema type as a TOML user thinks of it.
fn toml_type(schema_type: &Value) -> String {
    let name = |t: &str| match t {
        "object" => "a table".to_string(),
        "array" => "an array".to_string(),
        "integer" => "an integer".to_string(),
        "number" => "a number".to_string(),
        "string" => "a string".to_string(),
        "boolean" => "a boolean (true or false)".to_string(),
        other => other.to_string(),
    };
    match schema_type {
        Value::String(t) => name(t),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .map(name)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "another type".to_string(),
    }
}

/// Turns one JSON Schema validation error into a diagnostic at its line and column, with the
/// message for its kind (unknown key with "did you mean", wrong type, missing key, range…): one
/// arm per kind, hence its length.
fn report(
    file: &SourceFile,
    path: &[Seg],
    subschema: Option<&Value>,
    instance: &Value,
    kind: &ValidationErrorKind,
    fallback_message: &str,
    diags: &mut Diagnostics,
) {
    let at_value = || file.locate(path, Target::Value);
    let field = dotted(path);
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let known: Vec<&str> = subschema
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|props| props.keys().map(String::as_str).collect())
                .unwrap_or_default();
            for key in unexpected {
                let mut key_path = path.to_vec();
                key_path.push(Seg::Key(key.clone()));
                let hint = did_you_mean(key, &known)
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_else(|| format!("; expected one of: {}", known.join(", ")));
                diags.error(
                    &file.display,
                    file.locate(&key_path, Target::Key),
                    format!("unknown key `{key}` {}{hint}", table_name(path)),
                );
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let at = if path.is_empty() {
                super::diag::Position::START
            } else {
                file.locate(path, Target::Key)
            };
            diags.error(
                &file.display,
                at,
                format!("missing required key `{name}` {}", table_name(path)),
            );
        }
        ValidationErrorKind::Type { .. } => {
            let expected = subschema
                .and_then(|s| s.get("type"))
                .map_or_else(|| "another type".to_string(), toml_type);
            diags.error(
                &file.display,
                at_value(),
                format!("`{field}` must be {expected}, found {}", describe(instance)),
            );
        }
        ValidationErrorKind::Enum { options } => {
            let choices: Vec<String> = options
                .as_array()
                .map(|o| {
                    o.iter()
                        .map(|v| {
                            v.as_str()
                                .map_or_else(|| v.to_string(), |s| format!("\"{s}\""))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let hint = instance
                .as_str()
                .and_then(|s| {
                    let names: Vec<&str> = options
                        .as_array()
                        .map(|o| o.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    did_you_mean(s, &names).map(|m| format!("; did you mean \"{m}\"?"))
                })
                .unwrap_or_default();
            diags.error(
                &file.display,
                at_value(),
                format!(
                    "`{field}` must be one of {}, found {}{hint}",
                    choices.join(", "),
                    describe(instance)
                ),
            );
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            let relation = if matches!(kind, ValidationErrorKind::Minimum { .. }) {
                "at least"
            } else {
                "greater than"
            };
            let range = subschema
                .and_then(|s| s.get("maximum"))
                .map(|max| format!("between {limit} and {max}"))
                .unwrap_or_else(|| format!("{relation} {limit}"));
            diags.error(
                &file.display,
                at_value(),
                format!("`{field}` must be {range}, found {instance}"),
            );
        }
        ValidationErrorKind::Maximum { limit } => {
            let range = subschema
                .and_then(|s| s.get("minimum"))
                .map(|min| format!("between {min} and {limit}"))
                .unwrap_or_else(|| format!("at most {limit}"));
            diags.error(
                &file.display,
                at_value(),
                format!("`{field}` must be {range}, found {instance}"),
            );
        }
        _ => {
            let target = if field.is_empty() {
                "the file".to_string()
            } else {
                format!("`{field}`")
            };
            diags.error(
                &file.display,
                at_value(),
                format!("{target}: {fallback_message}"),
            );
        }
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("string \"{s}\""),
        Value::Number(_) | Value::Bool(_) => format!("{} {value}", json_type(value)),
        other => json_type(other).to_string(),
    }
}

/// The known name closest to `given`, when it is close enough to be a typo, else the shortest known
/// name `given` begins (a name given in part).
pub fn did_you_mean<'a>(given: &str, known: &[&'a str]) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    known
        .iter()
        .map(|k| {
            (
                strsim::damerau_levenshtein(&given_lower, &k.to_lowercase()),
                *k,
            )
        })
        .filter(|(distance, k)| {
            *distance <= (k.chars().count() / 3).max(1) || k.to_lowercase() == given_lower
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
        .or_else(|| {
            // A name given in part (`Lookup Customer` for `Lookup Customer by Phone`): the shortest
            // known name it begins, when it is long enough to mean something.
            (given_lower.chars().count() >= 4)
                .then(|| {
                    known
                        .iter()
                        .filter(|k| k.to_lowercase().starts_with(&given_lower))
                        .min_by_key(|k| k.chars().count())
                        .copied()
                })
                .flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn typos_and_names_given_in_part_get_a_suggestion() {
        let known = ["Lookup Customer by Phone", "Get Order", "Create Ticket"];
        assert_eq!(did_you_mean("Get Ordr", &known), Some("Get Order"));
        assert_eq!(
            did_you_mean("lookup customer", &known),
            Some("Lookup Customer by Phone")
        );
        assert_eq!(
            did_you_mean("Look", &known),
            Some("Lookup Customer by Phone")
        );
        assert_eq!(did_you_mean("Loo", &known), None);
        assert_eq!(did_you_mean("Something else", &known), None);
    }
}

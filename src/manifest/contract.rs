//! Node contracts: compiling the input and output JSON Schemas (with the draft their `$schema`
//! selects, draft 7 by default, `format` validated) and Genesys's own contract rules (no `$ref`; a
//! flat input object of scalar properties with well-formed, unreserved names; no nested arrays in
//! the output).

use regex::Regex;
use serde_json::Value;

use super::source::Seg;
use crate::schema::SchemaSeg;

/// A problem inside a schema: where (a path inside the schema) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    pub path: Vec<Seg>,
    pub message: String,
}

impl SchemaProblem {
    fn new(path: Vec<Seg>, message: impl Into<String>) -> SchemaProblem {
        SchemaProblem {
            path,
            message: message.into(),
        }
    }
}

/// Which of the two contract schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Input,
    Output,
}

impl Side {
    pub fn key(self) -> &'static str {
        match self {
            Side::Input => "input_schema",
            Side::Output => "output_schema",
        }
    }
}

/// Input property names Genesys reserves for the template context (docs/runtime.md).
pub const RESERVED_INPUTS: [&str; 3] = ["orgId", "integrationId", "rawRequest"];
const INPUT_SCALARS: [&str; 5] = ["string", "integer", "number", "boolean", "null"];

/// Compiles a schema as JSON Schema with the options the runtime uses (`schema::compile_contract`).
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, SchemaProblem> {
    crate::schema::compile_contract(schema).map_err(|error| {
        let path = error
            .path
            .into_iter()
            .map(|segment| match segment {
                SchemaSeg::Key(name) => Seg::Key(name),
                SchemaSeg::Index(index) => Seg::Index(index),
            })
            .collect();
        SchemaProblem::new(path, error.message)
    })
}

/// Every problem of one contract schema: compilation, then Genesys's rules.
pub fn check(side: Side, schema: &Value) -> Vec<SchemaProblem> {
    let mut problems = Vec::new();
    if !schema.is_object() {
        problems.push(SchemaProblem::new(
            vec![],
            format!("{} must be a JSON object", side.key()),
        ));
        return problems;
    }
    if let Err(problem) = compile(schema) {
        problems.push(problem);
    }
    find_refs(schema, &mut Vec::new(), &mut problems);
    match side {
        Side::Input => check_input(schema, &mut problems),
        Side::Output => check_nested_arrays(schema, &mut Vec::new(), &mut problems),
    }
    problems
}

fn find_refs(schema: &Value, path: &mut Vec<Seg>, problems: &mut Vec<SchemaProblem>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                path.push(Seg::Key(key.clone()));
                if key == "$ref" {
                    problems.push(SchemaProblem::new(
                        path.clone(),
                        "Genesys contracts cannot use `$ref`: inline the referenced schema",
                    ));
                } else {
                    find_refs(value, path, problems);
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(Seg::Index(index));
                find_refs(item, path, problems);
                path.pop();
            }
        }
        _ => {}
    }
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn check_input(schema: &Value, problems: &mut Vec<SchemaProblem>) {
    if types_of(schema) != ["object"] {
        problems.push(SchemaProblem::new(
            vec![Seg::Key("type".into())],
            "the input schema must be a flat object: type = \"object\"",
        ));
    }
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let name_pattern = Regex::new(r"^[A-Za-z][A-Za-z0-9_-]*$").ok();
    for (name, property) in properties {
        let at = vec![Seg::Key("properties".into()), Seg::Key(name.clone())];
        if RESERVED_INPUTS.contains(&name.as_str()) {
            problems.push(SchemaProblem::new(
                at.clone(),
                format!(
                    "input name `{name}` is reserved by Genesys (orgId, integrationId, rawRequest)"
                ),
            ));
        } else if name_pattern.as_ref().is_some_and(|re| !re.is_match(name)) {
            problems.push(SchemaProblem::new(
                at.clone(),
                format!("input name `{name}` must match ^[A-Za-z][A-Za-z0-9_-]*$"),
            ));
        }
        let types = types_of(property);
        if types.is_empty() {
            problems.push(SchemaProblem::new(
                at,
                format!("input `{name}` needs a type: string, integer, number, boolean or null"),
            ));
        } else if let Some(bad) = types.iter().find(|t| !INPUT_SCALARS.contains(t)) {
            problems.push(SchemaProblem::new(
                at,
                format!("input `{name}` has type `{bad}`; Genesys input contracts are flat: string, integer, number, boolean or null"),
            ));
        }
    }
}

fn check_nested_arrays(schema: &Value, path: &mut Vec<Seg>, problems: &mut Vec<SchemaProblem>) {
    let Value::Object(map) = schema else { return };
    if types_of(schema).contains(&"array")
        && let Some(items) = map.get("items")
        && types_of(items).contains(&"array")
    {
        let mut at = path.clone();
        at.push(Seg::Key("items".into()));
        problems.push(SchemaProblem::new(
            at,
            "Genesys output contracts cannot nest arrays (an array of arrays)",
        ));
    }
    for (key, value) in map {
        path.push(Seg::Key(key.clone()));
        match value {
            Value::Object(_) => check_nested_arrays(value, path, problems),
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    path.push(Seg::Index(index));
                    check_nested_arrays(item, path, problems);
                    path.pop();
                }
            }
            _ => {}
        }
        path.pop();
    }
}

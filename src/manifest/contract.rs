//! Node contracts: compiling the input and output JSON Schemas (with the draft their `$schema`
//! selects, draft 7 by default, `format` validated) and Genesys's own contract rules. Errors are
//! what Genesys refuses to save: a flat input object of scalar properties with well-formed names
//! (`schema::input_rule_violations`, which the emulator applies too). Warnings are what Genesys
//! documents as unsupported or harmful but is not known to refuse: `$ref`, nested arrays in the
//! output, the reserved input names, an input property without a type.

use serde_json::Value;

use super::source::Seg;
use crate::schema::{InputRuleViolation, SchemaSeg};

/// A problem inside a schema: where (a path inside the schema) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    pub path: Vec<Seg>,
    pub message: String,
    /// Genesys saves the schema anyway: a warning naming the consequence, not an error.
    pub warning: bool,
}

impl SchemaProblem {
    fn new(path: Vec<Seg>, message: impl Into<String>) -> SchemaProblem {
        SchemaProblem {
            path,
            message: message.into(),
            warning: false,
        }
    }

    fn warning(path: Vec<Seg>, message: impl Into<String>) -> SchemaProblem {
        SchemaProblem {
            warning: true,
            ..SchemaProblem::new(path, message)
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
                    problems.push(SchemaProblem::warning(
                        path.clone(),
                        "Genesys's help says contracts do not support `$ref` (it is not known to refuse the save): inline the referenced schema",
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
    let at = |name: &str| vec![Seg::Key("properties".into()), Seg::Key(name.to_owned())];
    for violation in crate::schema::input_rule_violations(schema) {
        problems.push(match violation {
            InputRuleViolation::Name(name) => SchemaProblem::new(
                at(&name),
                format!(
                    "input name `{name}` must match {}; Genesys refuses to save it",
                    crate::schema::INPUT_NAME_PATTERN
                ),
            ),
            InputRuleViolation::Type(name, bad) => SchemaProblem::new(
                at(&name),
                format!("input `{name}` has type `{bad}`; Genesys refuses to save an input contract that is not flat: string, integer, number, boolean or null"),
            ),
        });
    }
    for (name, property) in properties {
        if RESERVED_INPUTS.contains(&name.as_str()) {
            problems.push(SchemaProblem::warning(
                at(name),
                format!(
                    "input name `{name}` is reserved by Genesys (orgId, integrationId, rawRequest): the flow's value overwrites Genesys's own and the action fails"
                ),
            ));
        }
        if types_of(property).is_empty() {
            problems.push(SchemaProblem::warning(
                at(name),
                format!("input `{name}` has no type: Genesys's input contracts type each property as string, integer, number, boolean or null"),
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
        problems.push(SchemaProblem::warning(
            at,
            "Genesys's help says output contracts do not support nested arrays (an array of arrays; it is not known to refuse the save): flatten it",
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

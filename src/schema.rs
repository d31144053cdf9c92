//! JSON Schema compilation as nodectl does it everywhere: the draft a schema's `$schema` selects
//! (draft 4, 6, 7, 2019-09 or 2020-12; draft 7 without one), with `format` validated. `manifest`
//! compiles contracts with it to report errors; `runtime` to validate inputs and outputs; the
//! emulator to check the contracts it is sent. `compile_contract` is the one compilation of a node's
//! contract schema, its failure located inside the schema, that `manifest` and `runtime` share.

use jsonschema::Draft;
use jsonschema::paths::LocationSegment;
use serde_json::Value;

/// The draft a schema's `$schema` selects; draft 7 without one.
pub fn draft_of(schema: &Value) -> Result<Draft, String> {
    let Some(declared) = schema.get("$schema") else {
        return Ok(Draft::Draft7);
    };
    let uri = declared.as_str().unwrap_or_default();
    let normalized = uri.trim_end_matches('#').replacen("https://", "http://", 1);
    match normalized.as_str() {
        "http://json-schema.org/draft-04/schema" => Ok(Draft::Draft4),
        "http://json-schema.org/draft-06/schema" => Ok(Draft::Draft6),
        "http://json-schema.org/draft-07/schema" => Ok(Draft::Draft7),
        "http://json-schema.org/draft/2019-09/schema" => Ok(Draft::Draft201909),
        "http://json-schema.org/draft/2020-12/schema" => Ok(Draft::Draft202012),
        _ => Err(format!(
            "unsupported $schema `{uri}`: use draft 4, 6, 7, 2019-09 or 2020-12 (or leave it out for draft 7)"
        )),
    }
}

/// Compiles a schema; the error names the draft problem or the failing part of the schema.
pub fn compile(
    schema: &Value,
) -> Result<jsonschema::Validator, jsonschema::ValidationError<'static>> {
    let draft = draft_of(schema).map_err(jsonschema::ValidationError::custom)?;
    jsonschema::options()
        .with_draft(draft)
        .should_validate_formats(true)
        .build(schema)
}

/// One step of a path inside a schema document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaSeg {
    Key(String),
    Index(usize),
}

/// Why a contract schema does not compile: where inside the schema, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError {
    pub path: Vec<SchemaSeg>,
    pub message: String,
}

/// Compiles a contract schema as the runtime uses it; an unsupported `$schema` is located at
/// `$schema`, any other failure at the part of the schema that fails.
pub fn compile_contract(schema: &Value) -> Result<jsonschema::Validator, ContractError> {
    if let Err(message) = draft_of(schema) {
        return Err(ContractError {
            path: vec![SchemaSeg::Key("$schema".into())],
            message,
        });
    }
    compile(schema).map_err(|error| {
        let path = error
            .instance_path()
            .iter()
            .map(|segment| match segment {
                LocationSegment::Property(name) => SchemaSeg::Key(name.into_owned()),
                LocationSegment::Index(index) => SchemaSeg::Index(index),
            })
            .collect();
        ContractError {
            path,
            message: format!("does not compile as JSON Schema: {error}"),
        }
    })
}

/// The names Genesys accepts for input-contract properties (help article "Add contracts to
/// custom actions for integrations"; the platform's own check of a saved input schema uses it as
/// its `patternProperties`).
pub const INPUT_NAME_PATTERN: &str = "^[A-Za-z][A-Za-z0-9_-]*$";

/// The types Genesys accepts for input-contract properties: the enum its save-time check
/// names ("instance value (\"object\") not found in enum (possible values:
/// [\"boolean\",\"integer\",\"null\",\"number\",\"string\"])").
pub const INPUT_SCALARS: [&str; 5] = ["boolean", "integer", "null", "number", "string"];

/// A property of an input contract that Genesys refuses to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputRuleViolation {
    /// The name does not match [`INPUT_NAME_PATTERN`].
    Name(String),
    /// A `type` outside [`INPUT_SCALARS`] (a nested object or an array): the property and the type.
    Type(String, String),
}

/// The properties of an input contract that break Genesys's save-time rule "a simple properties
/// schema: an object with properties and no sub-objects". A property without `type` is not one
/// of them (nothing shows Genesys refusing it).
pub fn input_rule_violations(schema: &Value) -> Vec<InputRuleViolation> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    let name_ok = |name: &str| {
        let mut chars = name.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let mut violations = Vec::new();
    for (name, property) in properties {
        if !name_ok(name) {
            violations.push(InputRuleViolation::Name(name.clone()));
        }
        let types: Vec<&str> = match property.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if let Some(bad) = types.iter().find(|t| !INPUT_SCALARS.contains(t)) {
            violations.push(InputRuleViolation::Type(name.clone(), (*bad).to_owned()));
        }
    }
    violations
}

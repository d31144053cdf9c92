//! Architect's flattened form of an output (`flatten=true` on Genesys's `/test` and `/execute`,
//! the Test tab's "Flatten output"): what a flow's data action block sees. Pure.
//!
//! The rule (docs/runtime.md, "Flattened output"; evidence in docs/genesys-evidence.md B.3, B.6):
//! the output must be an object (an anonymous top-level array cannot be flattened — verified,
//! Genesys developer forum); a nested object's properties become keys joined with `.`; an array of
//! primitives stays an array; an array of objects becomes one array per leaf property (`items.id`),
//! position by position, `null` where an element lacks it; an array inside an array cannot be
//! flattened ("Nested arrays will still break flattening" — verified, same thread). The dotted
//! names and the per-leaf arrays follow how Architect names a data action's outputs; their exact
//! spelling against a live org is unverified.

use serde_json::{Map, Value};

/// Why an output cannot be flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlattenError(pub String);

/// The flattened form of `output`.
pub fn flatten(output: &Value) -> Result<Value, FlattenError> {
    let Value::Object(object) = output else {
        return Err(FlattenError(format!(
            "the output is {}, and only an object can be flattened (an anonymous array cannot: name it inside an object)",
            crate::model::json_kind(output)
        )));
    };
    let mut flat = Map::new();
    flatten_object(object, "", &mut flat)?;
    Ok(Value::Object(flat))
}

fn joined(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn flatten_object(
    object: &Map<String, Value>,
    prefix: &str,
    flat: &mut Map<String, Value>,
) -> Result<(), FlattenError> {
    for (key, value) in object {
        let name = joined(prefix, key);
        match value {
            Value::Object(inner) => flatten_object(inner, &name, flat)?,
            Value::Array(items) => flatten_array(items, &name, flat)?,
            scalar => {
                flat.insert(name, scalar.clone());
            }
        }
    }
    Ok(())
}

/// An array under `name`: primitives as they are, objects as one array per leaf.
fn flatten_array(
    items: &[Value],
    name: &str,
    flat: &mut Map<String, Value>,
) -> Result<(), FlattenError> {
    if items.iter().any(Value::is_array) {
        return Err(nested_array(name));
    }
    if !items.iter().any(Value::is_object) {
        flat.insert(name.to_string(), Value::Array(items.to_vec()));
        return Ok(());
    }
    // Each element flattened on its own (nested objects inside it give dotted leaves); an array
    // inside an element is an array inside an array.
    let mut elements = Vec::with_capacity(items.len());
    for item in items {
        let mut leaves = Map::new();
        match item {
            Value::Object(object) => {
                for (key, value) in object {
                    if value.is_array() {
                        return Err(nested_array(&joined(name, key)));
                    }
                }
                flatten_object(object, "", &mut leaves)?;
            }
            scalar => {
                return Err(FlattenError(format!(
                    "`{name}` mixes objects with {} values, which cannot be flattened",
                    crate::model::json_kind(scalar)
                )));
            }
        }
        elements.push(leaves);
    }
    let mut leaf_names: Vec<&String> = Vec::new();
    for element in &elements {
        for key in element.keys() {
            if !leaf_names.contains(&key) {
                leaf_names.push(key);
            }
        }
    }
    for leaf in leaf_names {
        let column = elements
            .iter()
            .map(|element| element.get(leaf).cloned().unwrap_or(Value::Null))
            .collect();
        flat.insert(joined(name, leaf), Value::Array(column));
    }
    Ok(())
}

fn nested_array(name: &str) -> FlattenError {
    FlattenError(format!(
        "`{name}` is an array inside an array, which cannot be flattened (Architect has no collection of collections)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_objects_become_dotted_keys_and_primitive_arrays_stay() {
        let output = json!({"a": {"b": 1, "c": {"d": "x"}}, "tags": ["t1", "t2"], "n": null});
        assert_eq!(
            flatten(&output),
            Ok(json!({"a.b": 1, "a.c.d": "x", "tags": ["t1", "t2"], "n": null}))
        );
    }

    #[test]
    fn arrays_of_objects_become_one_array_per_leaf() {
        let output = json!({"items": [{"id": 1, "p": {"q": true}}, {"id": 2, "extra": "e"}]});
        assert_eq!(
            flatten(&output),
            Ok(json!({
                "items.id": [1, 2],
                "items.p.q": [true, null],
                "items.extra": [null, "e"],
            }))
        );
    }

    #[test]
    fn anonymous_and_nested_arrays_cannot_be_flattened() {
        assert!(flatten(&json!([{"id": 1}])).is_err());
        assert!(flatten(&json!({"m": [[1, 2]]})).is_err());
        assert!(flatten(&json!({"m": [{"ids": [1]}]})).is_err());
        assert!(flatten(&json!({"m": [{"id": 1}, 3]})).is_err());
    }
}

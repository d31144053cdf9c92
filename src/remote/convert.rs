//! Between the model and the wire: a node as Genesys's `PostActionInput` / config / contract.

use serde_json::{Map, Value};

use crate::genesys::dto::{
    ActionConfig, ActionContract, ContractInput, ContractOutput, PostActionInput, RequestConfig,
    ResponseConfig,
};
use crate::model::Node;

fn string_map(pairs: &[(String, String)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// `config` of a node.
pub fn config_of(node: &Node) -> ActionConfig {
    ActionConfig {
        timeout_seconds: node.timeout_seconds.map(i64::from),
        request: RequestConfig {
            request_url_template: node.request.url.clone(),
            request_type: node.request.method.as_str().to_string(),
            headers: string_map(&node.request.headers),
            request_template: Some(node.request.body.clone()),
            request_template_uri: None,
        },
        response: ResponseConfig {
            translation_map: string_map(&node.response.translation_map),
            translation_map_defaults: string_map(&node.response.translation_map_defaults),
            success_template: Some(node.response.success_template.clone()),
            success_template_uri: None,
        },
    }
}

/// `contract` of a node.
pub fn contract_of(node: &Node) -> ActionContract {
    ActionContract {
        input: ContractInput {
            input_schema: node.input_schema.clone(),
            input_schema_uri: None,
        },
        output: ContractOutput {
            success_schema: node.output_schema.clone(),
            success_schema_uri: None,
            error_schema: None,
            error_schema_uri: None,
        },
    }
}

/// The create request of a node in the integration `integration_id`.
pub fn post_input(node: &Node, integration_id: &str) -> PostActionInput {
    PostActionInput {
        category: node.category.clone(),
        name: node.key.name.clone(),
        integration_id: integration_id.to_string(),
        config: config_of(node),
        contract: contract_of(node),
        secure: node.secure,
    }
}

/// A wire map of strings (`headers`, `translationMap`…) as pairs; null members dropped, other
/// non-strings as their JSON text.
fn pairs(map: &Map<String, Value>) -> Vec<(String, String)> {
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            )
        })
        .collect()
}

/// Null-valued members of a schema are meaningful (`"default": null`); only a missing schema is
/// normalised, to an empty object.
fn schema(value: &Value) -> Value {
    if value.is_null() {
        Value::Object(Map::new())
    } else {
        value.clone()
    }
}

impl super::RemoteAction {
    /// The action's content in the form `plan` compares (server fields, URIs and nulls dropped).
    pub fn content(&self) -> crate::model::ActionContent {
        let request = &self.config.request;
        let response = &self.config.response;
        crate::model::ActionContent {
            name: self.name.clone(),
            category: self.category.clone(),
            secure: self.secure,
            timeout_seconds: self.config.timeout_seconds,
            method: request.request_type.clone(),
            url: request.request_url_template.clone(),
            headers: pairs(&request.headers),
            request_template: request.request_template.clone().unwrap_or_default(),
            translation_map: pairs(&response.translation_map).into_iter().collect(),
            translation_map_defaults: pairs(&response.translation_map_defaults)
                .into_iter()
                .collect(),
            success_template: response.success_template.clone().unwrap_or_default(),
            input_schema: schema(&self.contract.input.input_schema),
            output_schema: schema(&self.contract.output.success_schema),
        }
        .normalized()
    }
}

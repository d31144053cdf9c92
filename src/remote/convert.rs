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

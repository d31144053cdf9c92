//! Between the emulator's stored actions and the domain's `model::Node`: `to_node` is what `/test`
//! and `/execute` hand to the runtime (contract schemas, templates, translation map and defaults,
//! timeout, `secure`; no local retry or cache policy — Genesys has none), and `post_input` is the
//! `PostActionInput` that creates a node's action (how `serve` builds its in-memory org).

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::state::StoredAction;
use crate::genesys::dto::{
    ActionConfig, ActionContract, ContractInput, ContractOutput, PostActionInput, RequestConfig,
    ResponseConfig,
};
use crate::model::{
    IntegrationRef, IntegrationType, LocalPolicy, Method, Node, NodeKey, RequestSpec, ResponseSpec,
};

/// The node Genesys would run for this action. Fails only on what publish also refuses (an unknown
/// `requestType`, a timeout outside 1–60).
pub fn to_node(action: &StoredAction, integration_type: &str) -> Result<Node, String> {
    let request = &action.config.request;
    let method = method(&request.request_type)?;
    let timeout_seconds = match action.config.timeout_seconds {
        None => None,
        Some(seconds) => Some(
            u8::try_from(seconds)
                .ok()
                .filter(|s| (1..=60).contains(s))
                .ok_or_else(|| {
                    format!("config.timeoutSeconds must be between 1 and 60; got {seconds}")
                })?,
        ),
    };
    let integration_type = IntegrationType::parse(integration_type)
        .unwrap_or_else(|| IntegrationType::Other(integration_type.to_string()));
    Ok(Node {
        not_dry_runnable: Vec::new(),
        integration_type,
        key: NodeKey {
            integration: IntegrationRef::Id(action.integration_id.clone()),
            name: action.name.clone(),
        },
        category: action.category.clone(),
        secure: action.secure,
        timeout_seconds,
        protect: false,
        custom_auth: crate::model::is_custom_auth_id(&action.id),
        previous_names: Vec::new(),
        request: RequestSpec {
            method,
            url: request.request_url_template.clone(),
            body: action.request_template().to_string(),
            headers: pairs(&request.headers),
        },
        response: ResponseSpec {
            success_template: action.success_template().to_string(),
            translation_map: pairs(&action.config.response.translation_map),
            translation_map_defaults: pairs(&action.config.response.translation_map_defaults),
        },
        input_schema: action.contract.input.input_schema.clone(),
        output_schema: action.contract.output.success_schema.clone(),
        local: LocalPolicy::default(),
        source: PathBuf::from(format!("emulator:{}", action.id)),
    })
}

/// The `PostActionInput` that creates `node` in the integration `integration_id`.
pub fn post_input(node: &Node, integration_id: &str) -> PostActionInput {
    let strings = |pairs: &[(String, String)]| -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect()
    };
    PostActionInput {
        category: node.category.clone(),
        name: node.key.name.clone(),
        integration_id: integration_id.to_string(),
        config: ActionConfig {
            timeout_seconds: node.timeout_seconds.map(i64::from),
            request: RequestConfig {
                request_url_template: node.request.url.clone(),
                request_type: node.request.method.as_str().to_string(),
                headers: strings(&node.request.headers),
                request_template: Some(node.request.body.clone()),
                request_template_uri: None,
            },
            response: ResponseConfig {
                translation_map: strings(&node.response.translation_map),
                translation_map_defaults: strings(&node.response.translation_map_defaults),
                success_template: Some(node.response.success_template.clone()),
                success_template_uri: None,
            },
        },
        contract: ActionContract {
            input: ContractInput {
                input_schema: node.input_schema.clone(),
                input_schema_uri: None,
            },
            output: ContractOutput {
                success_schema: node.output_schema.clone(),
                ..ContractOutput::default()
            },
        },
        secure: node.secure,
    }
}

fn method(text: &str) -> Result<Method, String> {
    match text {
        "GET" => Ok(Method::Get),
        "PUT" => Ok(Method::Put),
        "POST" => Ok(Method::Post),
        "PATCH" => Ok(Method::Patch),
        "DELETE" => Ok(Method::Delete),
        other => Err(format!(
            "config.request.requestType must be one of GET, PUT, POST, PATCH, DELETE; got \"{other}\""
        )),
    }
}

/// A string map as ordered pairs; a non-string value (refused on write) as its JSON text.
fn pairs(map: &Map<String, Value>) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_node_round_trips_through_an_action() {
        let action = StoredAction {
            id: "custom_-_1".to_string(),
            name: "Lookup".to_string(),
            integration_id: "i-1".to_string(),
            category: "Tests".to_string(),
            secure: true,
            version: 3,
            config: ActionConfig {
                timeout_seconds: Some(20),
                request: RequestConfig {
                    request_url_template: "https://x/${input.id}".to_string(),
                    request_type: "POST".to_string(),
                    headers: [("A".to_string(), json!("b"))].into_iter().collect(),
                    request_template: Some("{}".to_string()),
                    request_template_uri: None,
                },
                response: ResponseConfig {
                    translation_map: [("n".to_string(), json!("$.n"))].into_iter().collect(),
                    translation_map_defaults: [("n".to_string(), json!("0"))].into_iter().collect(),
                    success_template: Some("{\"n\": ${n}}".to_string()),
                    success_template_uri: None,
                },
            },
            contract: ActionContract::default(),
        };
        let node = to_node(&action, "custom-rest-actions").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(node.request.method, Method::Post);
        assert_eq!(node.timeout_seconds, Some(20));
        let input = post_input(&node, "i-1");
        assert_eq!(input.config, action.config);
        assert!(input.secure);
    }
}

//! Between the model and the wire: an action's content as Genesys's `PostActionInput` / config /
//! contract, and a remote action back as content.

use serde_json::{Map, Value};

use crate::genesys::dto::{
    ActionConfig, ActionContract, ContractInput, ContractOutput, PostActionInput, RequestConfig,
    ResponseConfig,
};
use crate::model::ActionContent;

fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> Map<String, Value> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// `config` of an action's content: complete, templates included (a PATCH always carries it all);
/// `timeoutSeconds` only when set.
pub fn config_of(content: &ActionContent) -> ActionConfig {
    ActionConfig {
        timeout_seconds: content.timeout_seconds,
        request: RequestConfig {
            request_url_template: content.url.clone(),
            request_type: content.method.clone(),
            headers: string_map(content.headers.iter().map(|(k, v)| (k, v))),
            request_template: Some(content.request_template.clone()),
            request_template_uri: None,
        },
        response: ResponseConfig {
            translation_map: string_map(&content.translation_map),
            translation_map_defaults: string_map(&content.translation_map_defaults),
            success_template: Some(content.success_template.clone()),
            success_template_uri: None,
        },
    }
}

/// `contract` of an action's content.
pub fn contract_of(content: &ActionContent) -> ActionContract {
    ActionContract {
        input: ContractInput {
            input_schema: content.input_schema.clone(),
            input_schema_uri: None,
        },
        output: ContractOutput {
            success_schema: content.output_schema.clone(),
            success_schema_uri: None,
            error_schema: None,
            error_schema_uri: None,
        },
    }
}

/// The create request of an action's content in the integration `integration_id`.
pub fn post_input(content: &ActionContent, integration_id: &str) -> PostActionInput {
    PostActionInput {
        category: content.category.clone(),
        name: content.name.clone(),
        integration_id: integration_id.to_string(),
        config: config_of(content),
        contract: contract_of(content),
        secure: content.secure,
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
            custom_auth: crate::model::is_custom_auth_id(&self.id),
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

//! The built-in integration and its seeded `static…` actions (Genesys Cloud Data Actions calling
//! the Platform API itself): present in every org, read-only.

use crate::genesys::dto::{ActionConfig, ActionContract, ContractInput, ContractOutput};
use crate::model::IntegrationType;
use serde_json::{Value, json};

use super::actions::stored_config;
use super::{BUILT_IN_INTEGRATION_ID, Org, StoredAction, StoredIntegration, enabled};

pub(super) const BUILT_IN_INTEGRATION_NAME: &str = "Genesys Cloud Data Actions (built-in)";
pub(super) const BUILT_IN_INTEGRATION_TYPE: &str = IntegrationType::GENESYS_CLOUD;

impl Org {
    /// Adds the built-in integration and its two `static…` actions when they are missing.
    pub(super) fn seed_built_ins(&mut self) {
        if self.integration(BUILT_IN_INTEGRATION_ID).is_none() {
            self.integrations.insert(
                0,
                StoredIntegration::new(
                    BUILT_IN_INTEGRATION_ID.to_string(),
                    BUILT_IN_INTEGRATION_NAME.to_string(),
                    BUILT_IN_INTEGRATION_TYPE.to_string(),
                    &enabled(),
                ),
            );
        }
        for action in built_in_actions() {
            self.actions.entry(action.id.clone()).or_insert(action);
        }
    }
}

/// The seeded built-in actions (Genesys Cloud Data Actions calling the Platform API itself).
pub(super) fn built_in_actions() -> Vec<StoredAction> {
    let object = |properties: Value| json!({ "type": "object", "properties": properties });
    let action = |id: &str, name: &str, url: &str, input: Value, output: Value| StoredAction {
        id: id.to_string(),
        name: name.to_string(),
        integration_id: BUILT_IN_INTEGRATION_ID.to_string(),
        category: BUILT_IN_INTEGRATION_NAME.to_string(),
        secure: false,
        version: 1,
        config: stored_config(ActionConfig {
            timeout_seconds: None,
            request: crate::genesys::dto::RequestConfig {
                request_url_template: url.to_string(),
                request_type: "GET".to_string(),
                ..Default::default()
            },
            response: crate::genesys::dto::ResponseConfig::default(),
        }),
        contract: ActionContract {
            input: ContractInput {
                input_schema: input,
                input_schema_uri: None,
            },
            output: ContractOutput {
                success_schema: output,
                ..Default::default()
            },
        },
    };
    vec![
        action(
            "static_-_6f1d2c3b-8a4e-4f50-9b61-7c2d3e4f5a6b",
            "Get User Presence",
            "/api/v2/users/${input.userId}/presences/purecloud",
            object(json!({ "userId": { "type": "string" } })),
            object(json!({ "presenceDefinition": { "type": "object" } })),
        ),
        action(
            "static_-_9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "Get Queue Estimated Wait Time",
            "/api/v2/routing/queues/${input.queueId}/estimatedwaittime",
            object(json!({ "queueId": { "type": "string" } })),
            object(json!({ "results": { "type": "array" } })),
        ),
    ]
}

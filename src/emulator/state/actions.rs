//! The published actions' writes: create (published at version 1), patch (the version named),
//! delete, and a posted action's stored form (server URIs dropped, Genesys's default templates
//! filled in).

use crate::genesys::dto::{
    ActionConfig, ActionContract, ContractInput, ContractOutput, PostActionInput, UpdateActionInput,
};
use crate::model::{DEFAULT_BODY, DEFAULT_SUCCESS_TEMPLATE};

use super::integrations::is_custom_auth;
use super::replies::{ApiError, Reply, View, action_json};
use super::validation::{
    decode, json_object, next_version, post_input, refuse_integration_change, refuse_static,
    require,
};
use super::{Org, StoredAction};

impl Org {
    /// `POST /actions`: validated, published at version 1.
    pub(super) fn create_action(&mut self, body: &[u8]) -> Result<Reply, ApiError> {
        let input: PostActionInput = post_input(body)?;
        let id = self.create(input)?;
        let action = self.published(&id)?;
        Ok(Reply::json(200, action_json(action, View::FULL)).changed())
    }

    /// Creates and publishes an action (version 1) with the checks of `POST /actions`; its id.
    /// How an org is built without HTTP (e.g. `serve`'s org from the manifests).
    pub fn create(&mut self, input: PostActionInput) -> Result<String, ApiError> {
        let id = format!("custom_-_{}", self.new_uuid());
        let action = stored_from_post(id, input);
        self.check_integration(&action.integration_id)?;
        let mut problems = self.problems(&action);
        problems.extend(self.duplicate_name(&action));
        if let Some(error) = ApiError::combined(problems) {
            return Err(error);
        }
        let id = action.id.clone();
        self.actions.insert(id.clone(), action);
        self.touch();
        Ok(id)
    }

    /// The published action with this id, or else the only one with this name.
    pub fn find(&self, id_or_name: &str) -> Option<&StoredAction> {
        if let Some(action) = self.actions.get(id_or_name) {
            return Some(action);
        }
        let mut named = self.actions.values().filter(|a| a.name == id_or_name);
        match (named.next(), named.next()) {
            (Some(action), None) => Some(action),
            _ => None,
        }
    }

    /// `PATCH /actions/{id}` (`UpdateActionInput`): name, category, config; with the version.
    pub(super) fn patch_action(&mut self, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let value = json_object(body)?;
        for field in ["contract", "secure"] {
            if value.get(field).is_some() {
                return Err(ApiError::invalid(
                    field,
                    format!(
                        "{field} cannot be changed by PATCH on a published action (UpdateActionInput has no {field}); change it through a draft: POST …/{id}/draft, PATCH …/draft, POST …/draft/publish."
                    ),
                ));
            }
        }
        require(&value, &["version"])?;
        let update: UpdateActionInput = decode(value.clone())?;
        let current = self.published(id)?.clone();
        refuse_static(id)?;
        refuse_integration_change(&value, &current)?;
        if update.version != current.version {
            return Err(ApiError::version_conflict());
        }
        let mut next = current.clone();
        next.update_fields(update.name, update.category, update.config);
        next.version = next_version(current.version)?;
        let mut problems = self.problems(&next);
        problems.extend(self.duplicate_name(&next));
        if let Some(error) = ApiError::combined(problems) {
            return Err(error);
        }
        let reply = Reply::json(200, action_json(&next, View::FULL));
        self.actions.insert(id.to_string(), next);
        Ok(reply.changed())
    }

    pub(super) fn delete_action(&mut self, id: &str) -> Result<Reply, ApiError> {
        self.published(id)?;
        refuse_static(id)?;
        if is_custom_auth(id) {
            // *unverified*: Genesys's status and message ("It cannot be created or deleted by
            // API", Terraform's guide).
            return Err(ApiError::bad_request(format!(
                "Action {id} is a custom authentication action: it cannot be deleted; it goes with its integration, or when the integration's credential is no longer of type userDefinedOAuth."
            )));
        }
        self.actions.remove(id);
        // *unverified*: deleting an action also deletes its draft.
        self.drafts.remove(id);
        Ok(Reply::no_content())
    }
}

/// The config as stored: server URIs dropped, absent templates set to Genesys's defaults.
pub(super) fn stored_config(mut config: ActionConfig) -> ActionConfig {
    config.request.request_template_uri = None;
    config.response.success_template_uri = None;
    if config.request.request_template.is_none() {
        config.request.request_template = Some(DEFAULT_BODY.to_string());
    }
    if config.response.success_template.is_none() {
        config.response.success_template = Some(DEFAULT_SUCCESS_TEMPLATE.to_string());
    }
    config
}

/// The contract as stored: the two schemas (`ActionContractInput` has nothing else).
pub(super) fn stored_contract(contract: ActionContract) -> ActionContract {
    ActionContract {
        input: ContractInput {
            input_schema: contract.input.input_schema,
            input_schema_uri: None,
        },
        output: ContractOutput {
            success_schema: contract.output.success_schema,
            success_schema_uri: None,
            error_schema: None,
            error_schema_uri: None,
        },
    }
}

pub(super) fn stored_from_post(id: String, input: PostActionInput) -> StoredAction {
    StoredAction {
        id,
        name: input.name,
        integration_id: input.integration_id,
        category: input.category,
        secure: input.secure,
        version: 1,
        config: stored_config(input.config),
        contract: stored_contract(input.contract),
    }
}

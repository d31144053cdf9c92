//! The draft endpoints: create (new, or from a published action), patch (the version named),
//! delete, validate and publish.

use crate::genesys::dto::{PostActionInput, PublishDraftInput, UpdateDraftInput};
use serde_json::{Value, json};

use super::actions::{stored_contract, stored_from_post};
use super::replies::{ApiError, Reply, View, action_json};
use super::validation::{
    decode, json_object, next_version, post_input, refuse_integration_change, refuse_static,
    require,
};
use super::{Org, StoredAction};

impl Org {
    /// `POST /actions/drafts`: a new draft (new id, never published), version 1.
    pub(super) fn create_draft(&mut self, body: &[u8]) -> Result<Reply, ApiError> {
        let input: PostActionInput = post_input(body)?;
        let id = format!("custom_-_{}", self.new_uuid());
        let draft = stored_from_post(id, input);
        self.check_integration(&draft.integration_id)?;
        let reply = Reply::json(200, action_json(&draft, View::FULL_DRAFT));
        self.drafts.insert(draft.id.clone(), draft);
        Ok(reply.changed())
    }

    /// `POST /actions/{id}/draft`: a draft copied from the published action, version 1.
    pub(super) fn create_draft_from(&mut self, id: &str) -> Result<Reply, ApiError> {
        let published = self.published(id)?.clone();
        refuse_static(id)?;
        if self.drafts.contains_key(id) {
            // *unverified*: Genesys's answer when a draft already exists.
            return Err(ApiError::new(
                409,
                "conflict",
                format!(
                    "Action {id} already has a draft; update it (PATCH …/draft), publish it or delete it first."
                ),
            ));
        }
        let draft = StoredAction {
            version: 1,
            ..published
        };
        let reply = Reply::json(200, action_json(&draft, View::FULL_DRAFT));
        self.drafts.insert(id.to_string(), draft);
        Ok(reply.changed())
    }

    /// `PATCH /actions/{id}/draft` (`UpdateDraftInput`): anything, with the draft's version.
    pub(super) fn patch_draft(&mut self, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let value = json_object(body)?;
        require(&value, &["version"])?;
        let update: UpdateDraftInput = decode(value.clone())?;
        let current = self.draft_of(id)?.clone();
        refuse_static(id)?;
        if self.actions.contains_key(id) {
            refuse_integration_change(&value, &current)?;
        }
        if update.version != current.version {
            return Err(ApiError::version_conflict());
        }
        let mut next = current.clone();
        next.update_fields(update.name, update.category, update.config);
        if let Some(contract) = update.contract {
            next.contract = stored_contract(contract);
        }
        if let Some(secure) = update.secure {
            next.secure = secure;
        }
        if let Some(integration) = value.get("integrationId").and_then(Value::as_str) {
            self.check_integration(integration)?;
            next.integration_id = integration.to_string();
        }
        next.version = next_version(current.version)?;
        let reply = Reply::json(200, action_json(&next, View::FULL_DRAFT));
        self.drafts.insert(id.to_string(), next);
        Ok(reply.changed())
    }

    pub(super) fn delete_draft(&mut self, id: &str) -> Result<Reply, ApiError> {
        self.draft_of(id)?;
        self.drafts.remove(id);
        Ok(Reply::no_content())
    }

    /// `GET /actions/{id}/draft/validation`: `{valid, errors}`, what publish would refuse.
    pub(super) fn validate_draft(&self, id: &str) -> Result<Reply, ApiError> {
        let draft = self.draft_of(id)?;
        let errors = self.publish_problems(draft);
        let errors: Vec<Value> = errors.iter().map(|e| e.body(None)).collect();
        Ok(Reply::json(
            200,
            json!({ "valid": errors.is_empty(), "errors": errors }),
        ))
    }

    /// `POST /actions/{id}/draft/publish {version}`: the draft becomes the published action (same
    /// id; version one more than the published one, or 1) and the draft is gone.
    pub(super) fn publish(&mut self, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let value = json_object(body)?;
        require(&value, &["version"])?;
        let input: PublishDraftInput = decode(value)?;
        let draft = self.draft_of(id)?.clone();
        if input.version != draft.version {
            return Err(ApiError::version_conflict());
        }
        if let Some(error) = ApiError::combined(self.publish_problems(&draft)) {
            return Err(error);
        }
        let version = match self.actions.get(id) {
            Some(published) => next_version(published.version)?,
            None => 1,
        };
        let action = StoredAction { version, ..draft };
        let reply = Reply::json(200, action_json(&action, View::FULL));
        self.actions.insert(id.to_string(), action);
        self.drafts.remove(id);
        Ok(reply.changed())
    }
}

//! The credentials: create and replace (`Credential`, its fields checked against its type's
//! required ones), read without their values, list (`CredentialInfoListing`), delete (not while an
//! integration binds one), and the credential types Web Services and Genesys Cloud data actions use.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::emulator::route::Query;
use crate::genesys::dto::Credential;

use super::replies::{ApiError, Reply};
use super::validation::{decode, json_object, positive_param, require};
use super::{DEFAULT_PAGE_SIZE, Org, StoredCredential};
use crate::http::url::percent_encode;

/// The credential type whose binding gives a Web Services integration its custom authentication.
pub const USER_DEFINED_OAUTH: &str = "userDefinedOAuth";
const CREDENTIALS_PATH: &str = "/api/v2/integrations/credentials";
/// The largest page of the cursor listing ("Maximum of 200").
const MAX_CURSOR_PAGE: u64 = 200;

/// The credential types: name, fields in display order, required fields. `userDefined` and
/// `userDefinedOAuth` take any fields. *unverified*: basicAuth's password optional (Genesys's help:
/// "user name and password (optional)").
const TYPES: [(&str, &[&str], &[&str]); 4] = [
    ("basicAuth", &["userName", "password"], &["userName"]),
    ("userDefined", &[], &[]),
    (USER_DEFINED_OAUTH, &[], &[]),
    (
        "pureCloudOAuthClient",
        &["clientId", "clientSecret"],
        &["clientId", "clientSecret"],
    ),
];

/// `GET /credentials/types`: a bare JSON array of `CredentialType` (the SDK's
/// `list[CredentialType]`; *unverified* whether Genesys wraps it in `{entities}`).
pub(super) fn credential_types() -> Reply {
    let types: Vec<Value> = TYPES
        .iter()
        .map(|(name, fields, required)| {
            let properties: serde_json::Map<String, Value> = fields
                .iter()
                .map(|f| ((*f).to_string(), json!({ "type": "string", "title": f })))
                .collect();
            json!({
                "id": name,
                "name": name,
                "properties": properties,
                "displayOrder": fields,
                "required": required,
            })
        })
        .collect();
    Reply::json(200, Value::Array(types))
}

/// A `Credential` body checked: a name, a known type (`{name}`, or a bare name as some Genesys
/// samples send), string fields with every required one.
fn checked(body: &[u8]) -> Result<(String, String, BTreeMap<String, String>), ApiError> {
    let mut value = json_object(body)?;
    require(&value, &["name", "type"])?;
    if let Value::Object(map) = &mut value
        && let Some(Value::String(name)) = map.get("type")
    {
        let named = json!({ "name": name });
        map.insert("type".to_string(), named);
    }
    if let Some(Value::Object(fields)) = value.get("credentialFields")
        && let Some((key, _)) = fields.iter().find(|(_, v)| !v.is_string())
    {
        return Err(ApiError::invalid(
            "credentialFields",
            format!("credentialFields.{key} must be a string."),
        ));
    }
    let credential: Credential = decode(value)?;
    if credential.name.trim().is_empty() {
        return Err(ApiError::invalid("name", "name must not be empty."));
    }
    let kind = credential.r#type.name;
    let Some((_, _, required)) = TYPES.iter().find(|(name, _, _)| *name == kind) else {
        let names: Vec<&str> = TYPES.iter().map(|(n, _, _)| *n).collect();
        return Err(ApiError::invalid(
            "type.name",
            format!(
                "Credential type \"{kind}\" was not found; the types are {}.",
                names.join(", ")
            ),
        ));
    };
    let fields = credential.credential_fields.unwrap_or_default();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|f| fields.get(*f).is_none_or(|v| v.is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::invalid(
            "credentialFields",
            format!(
                "A credential of type {kind} requires the field{} {}.",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ),
        ));
    }
    Ok((credential.name, kind, fields))
}

impl Org {
    /// `CredentialInfo`: no values.
    pub(super) fn credential_info(&self, credential: &StoredCredential) -> Value {
        json!({
            "id": credential.id,
            "name": credential.name,
            "type": { "name": credential.type_name },
            "selfUri": format!("{CREDENTIALS_PATH}/{}", credential.id),
        })
    }

    fn credential_or_404(&self, id: &str) -> Result<&StoredCredential, ApiError> {
        self.credentials
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("Credential {id} was not found.")))
    }

    /// `POST /credentials`: answers `CredentialInfo`.
    pub(super) fn create_credential(&mut self, body: &[u8]) -> Result<Reply, ApiError> {
        let (name, type_name, fields) = checked(body)?;
        let id = self.new_uuid();
        let credential = StoredCredential {
            id: id.clone(),
            name,
            type_name,
            fields,
        };
        let reply = Reply::json(200, self.credential_info(&credential));
        self.credentials.insert(id, credential);
        Ok(reply.changed())
    }

    /// `GET /credentials`: `CredentialInfoListing`, sorted by name.
    pub(super) fn list_credentials(&self, query: &Query) -> Result<Reply, ApiError> {
        let mut entities: Vec<&StoredCredential> = self.credentials.values().collect();
        entities.sort_by_cached_key(|c| (c.name.to_lowercase(), c.id.clone()));
        let page = self.page(
            entities,
            |c| self.credential_info(c),
            query,
            CREDENTIALS_PATH,
        )?;
        Ok(Reply::json(200, page))
    }

    /// `GET /credentials/listing`: `CredentialInfoCursorListing` (`entities`, `selfUri`,
    /// `nextUri`, `previousUri`), sorted by name. The cursors (`after`, `before`) are credential
    /// ids (*unverified*: Genesys's are opaque); one that names no credential is 400. `pageSize`
    /// at most 200, default 25.
    pub(super) fn cursor_credentials(&self, query: &Query) -> Result<Reply, ApiError> {
        let size = positive_param(query, "pageSize")?.unwrap_or(DEFAULT_PAGE_SIZE);
        if size > MAX_CURSOR_PAGE {
            return Err(ApiError::invalid(
                "pageSize",
                format!("pageSize must be at most {MAX_CURSOR_PAGE}; got {size}."),
            ));
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let mut sorted: Vec<&StoredCredential> = self.credentials.values().collect();
        sorted.sort_by_cached_key(|c| (c.name.to_lowercase(), c.id.clone()));
        let position = |name: &str| -> Result<Option<usize>, ApiError> {
            let Some(cursor) = query.get(name) else {
                return Ok(None);
            };
            sorted
                .iter()
                .position(|c| c.id == cursor)
                .map(Some)
                .ok_or_else(|| {
                    ApiError::invalid(name, format!("The cursor {name}={cursor} is not valid."))
                })
        };
        let (start, end) = match (position("after")?, position("before")?) {
            (Some(after), _) => (after + 1, (after + 1).saturating_add(size)),
            (None, Some(before)) => (before.saturating_sub(size), before),
            (None, None) => (0, size),
        };
        let end = end.min(sorted.len());
        let start = start.min(end);
        let page = sorted.get(start..end).unwrap_or_default();
        let uri = |cursor: &str| format!("{CREDENTIALS_PATH}/listing?pageSize={size}{cursor}");
        let self_uri = match (query.get("after"), query.get("before")) {
            (Some(after), _) => uri(&format!("&after={}", percent_encode(after))),
            (None, Some(before)) => uri(&format!("&before={}", percent_encode(before))),
            (None, None) => uri(""),
        };
        let mut listing = serde_json::Map::new();
        listing.insert(
            "entities".to_string(),
            Value::Array(page.iter().map(|c| self.credential_info(c)).collect()),
        );
        listing.insert("selfUri".to_string(), Value::String(self_uri));
        if let (Some(last), true) = (page.last(), end < sorted.len()) {
            let next = uri(&format!("&after={}", percent_encode(&last.id)));
            listing.insert("nextUri".to_string(), Value::String(next));
        }
        if let (Some(first), true) = (page.first(), start > 0) {
            let previous = uri(&format!("&before={}", percent_encode(&first.id)));
            listing.insert("previousUri".to_string(), Value::String(previous));
        }
        Ok(Reply::json(200, Value::Object(listing)))
    }

    /// `GET /credentials/{id}`: `Credential` "with sensitive fields redacted" — the values are
    /// never answered (*unverified*: whether Genesys leaves `credentialFields` out, as here, or
    /// masks each value).
    pub(super) fn get_credential(&self, id: &str) -> Result<Reply, ApiError> {
        let credential = self.credential_or_404(id)?;
        Ok(Reply::json(200, self.credential_info(credential)))
    }

    /// `PUT /credentials/{id}`: the whole credential replaced; integrations binding it follow a
    /// change of its type (custom authentication appears or goes).
    pub(super) fn put_credential(&mut self, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
        self.credential_or_404(id)?;
        let (name, type_name, fields) = checked(body)?;
        let credential = StoredCredential {
            id: id.to_string(),
            name,
            type_name,
            fields,
        };
        let reply = Reply::json(200, self.credential_info(&credential));
        self.credentials.insert(id.to_string(), credential);
        let binding: Vec<String> = self
            .integrations
            .iter()
            .filter(|i| i.bound_credentials.values().any(|c| c == id))
            .map(|i| i.id.clone())
            .collect();
        for integration in binding {
            self.sync_custom_auth(&integration);
        }
        Ok(reply.changed())
    }

    /// `DELETE /credentials/{id}`: refused while an integration's configuration binds it
    /// (*unverified*: Genesys's status and message).
    pub(super) fn delete_credential(&mut self, id: &str) -> Result<Reply, ApiError> {
        self.credential_or_404(id)?;
        if let Some(integration) = self
            .integrations
            .iter()
            .find(|i| i.bound_credentials.values().any(|c| c == id))
        {
            return Err(ApiError::new(
                409,
                "conflict",
                format!(
                    "Credential {id} is used by integration {} ({}); bind another credential to it or delete it first.",
                    integration.id, integration.name
                ),
            ));
        }
        self.credentials.remove(id);
        Ok(Reply::no_content())
    }
}

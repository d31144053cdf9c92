//! The read endpoints: integrations, action and draft listings (paging, `ids`, filters, the
//! listing URIs), single actions and drafts with their `expand` views, and their template and
//! schema files.

use crate::emulator::route::Query;
use crate::http::url::percent_encode;
use serde_json::{Value, json};

use super::integrations::is_custom_auth;
use super::replies::{ApiError, Body, Reply, View, action_json};
use super::validation::{bool_param, positive_param};
use super::{
    ACTIONS_PATH, DEFAULT_PAGE_SIZE, INPUT_SCHEMA, MAX_IDS, Org, REQUEST_TEMPLATE, SUCCESS_SCHEMA,
    SUCCESS_TEMPLATE, StoredAction,
};

impl Org {
    pub(super) fn list_integrations(&self, query: &Query) -> Result<Reply, ApiError> {
        let entities: Vec<_> = self.integrations.iter().collect();
        let page = self.page(
            entities,
            |i| self.integration_json(i, query),
            query,
            "/api/v2/integrations",
        )?;
        Ok(Reply::json(200, page))
    }

    /// `GET /actions` and `GET /actions/drafts`: filtered, sorted by name, paged.
    pub(super) fn list(&self, query: &Query, drafts: bool) -> Result<Reply, ApiError> {
        let include_config = bool_param(query, "includeConfig")?.unwrap_or(false);
        let secure = bool_param(query, "secure")?;
        // Custom authentication actions only when asked for, as Genesys lists them.
        let include_auth = bool_param(query, "includeAuthActions")?.unwrap_or(false);
        let name = query.get("name").map(str::to_lowercase);
        let category = query.get("category");
        let ids: Option<Vec<&str>> = query.get("ids").map(|ids| {
            ids.split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .collect()
        });
        if let Some(ids) = &ids
            && ids.len() > MAX_IDS
        {
            return Err(ApiError::invalid(
                "ids",
                format!("At most {MAX_IDS} ids may be given; got {}.", ids.len()),
            ));
        }
        let source = if drafts { &self.drafts } else { &self.actions };
        let mut matching: Vec<&StoredAction> = source
            .values()
            .filter(|a| include_auth || !is_custom_auth(&a.id))
            .filter(|a| {
                name.as_ref()
                    .is_none_or(|n| a.name.to_lowercase().contains(n.as_str()))
            })
            .filter(|a| category.is_none_or(|c| a.category == c))
            .filter(|a| secure.is_none_or(|s| a.secure == s))
            .filter(|a| ids.as_ref().is_none_or(|ids| ids.contains(&a.id.as_str())))
            .collect();
        // The key computed once per action (a 10,000-action org lowercases 10,000 names, not
        // 2 × n log n of them).
        matching.sort_by_cached_key(|a| (a.name.to_lowercase(), a.id.clone()));
        let view = View {
            draft: drafts,
            contract: false,
            config: include_config,
        };
        let path = if drafts {
            format!("{ACTIONS_PATH}/drafts")
        } else {
            ACTIONS_PATH.to_string()
        };
        let page = self.page(matching, |a| action_json(a, view), query, &path)?;
        Ok(Reply::json(200, page))
    }

    /// One page of `entities` with Genesys's envelope and URIs; only the page's entities are turned
    /// into JSON (`view`), so that paging through n entities costs O(n), not O(n²).
    pub(super) fn page<T>(
        &self,
        entities: Vec<T>,
        view: impl Fn(T) -> Value,
        query: &Query,
        path: &str,
    ) -> Result<Value, ApiError> {
        let asked = positive_param(query, "pageSize")?.unwrap_or(DEFAULT_PAGE_SIZE);
        // *unverified*: Genesys's maximum is undocumented; a larger pageSize is clamped (the
        // envelope says which size was served), so clients must page by the envelope.
        let size = asked.min(self.settings.page_size_max.max(1));
        let number = positive_param(query, "pageNumber")?.unwrap_or(1);
        let total = entities.len() as u64;
        let page_count = total.div_ceil(size);
        let start = usize::try_from((number - 1).saturating_mul(size)).unwrap_or(usize::MAX);
        let page: Vec<Value> = entities
            .into_iter()
            .skip(start)
            .take(usize::try_from(size).unwrap_or(usize::MAX))
            .map(view)
            .collect();
        let others: String = query
            .0
            .iter()
            .filter(|(n, _)| n != "pageSize" && n != "pageNumber")
            .map(|(n, v)| format!("&{}={}", percent_encode(n), percent_encode(v)))
            .collect();
        let uri = |n: u64| format!("{path}?pageSize={size}&pageNumber={n}{others}");
        let mut listing = json!({
            "entities": page,
            "pageSize": size,
            "pageNumber": number,
            "total": total,
            "pageCount": page_count,
            "firstUri": uri(1),
            "selfUri": uri(number),
            "lastUri": uri(page_count.max(1)),
        });
        if let Value::Object(map) = &mut listing {
            if number < page_count {
                map.insert("nextUri".to_string(), Value::String(uri(number + 1)));
            }
            if number > 1 {
                map.insert("previousUri".to_string(), Value::String(uri(number - 1)));
            }
        }
        Ok(listing)
    }

    pub(super) fn get(&self, id: &str, query: &Query, draft: bool) -> Result<Reply, ApiError> {
        let include_config = bool_param(query, "includeConfig")?.unwrap_or(false);
        let contract = query
            .all("expand")
            .flat_map(|e| e.split(','))
            .any(|e| e.trim() == "contract");
        let action = if draft {
            self.draft_of(id)?
        } else {
            self.published(id)?
        };
        let view = View {
            draft,
            contract,
            config: include_config,
        };
        Ok(Reply::json(200, action_json(action, view)))
    }

    pub(super) fn template(&self, id: &str, file: &str, draft: bool) -> Result<Reply, ApiError> {
        let action = if draft {
            self.draft_of(id)?
        } else {
            self.published(id)?
        };
        let text = match file {
            REQUEST_TEMPLATE => action.request_template(),
            SUCCESS_TEMPLATE => action.success_template(),
            _ => {
                return Err(ApiError::not_found(format!(
                    "No template {file}; the templates are {REQUEST_TEMPLATE} and {SUCCESS_TEMPLATE}."
                )));
            }
        };
        Ok(Reply {
            status: 200,
            body: Body::Text(text.to_string()),
            changed: false,
        })
    }

    pub(super) fn schema(&self, id: &str, file: &str, draft: bool) -> Result<Reply, ApiError> {
        let action = if draft {
            self.draft_of(id)?
        } else {
            self.published(id)?
        };
        let schema = match file {
            INPUT_SCHEMA => &action.contract.input.input_schema,
            SUCCESS_SCHEMA => &action.contract.output.success_schema,
            _ => {
                return Err(ApiError::not_found(format!(
                    "No schema {file}; the schemas are {INPUT_SCHEMA} and {SUCCESS_SCHEMA}."
                )));
            }
        };
        Ok(Reply::json(200, schema.clone()))
    }
}

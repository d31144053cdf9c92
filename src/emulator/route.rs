//! Which endpoint a request is for: the method and path of docs/http-api.md's endpoint table (plus the two
//! `schemas/*.json` reads that the contract URIs point at, the OAuth token endpoint and the
//! emulator's own stats, flows and dependency-tracking switches, and Architect's dependency
//! tracking) parsed into a `Route`, and the query string into a `Query`. Pure.

use crate::http::url::{form_decode, percent_decode};

/// One endpoint, with the ids its path carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /oauth/token`.
    Token,
    /// `GET /_emulator/stats`.
    Stats,
    /// `POST /_emulator/perturb`: `{"step": N}` or `{"step": null}` (`exec::perturb`).
    Perturb,
    /// `PUT /_emulator/flows`: the declared flows (`flows::parse_flows`).
    PutFlows,
    /// `PUT /_emulator/dependencytracking`: the build's status, the missing permission.
    PutDependencyTracking,
    /// `GET /api/v2/architect/dependencytracking/consumingresources`.
    ConsumingResources,
    /// `GET /api/v2/architect/dependencytracking/build`.
    DependencyBuild,
    /// `POST /api/v2/architect/dependencytracking/build`.
    RebuildDependencies,
    /// `GET /api/v2/integrations`.
    ListIntegrations,
    /// `POST /api/v2/integrations`.
    CreateIntegration,
    /// `GET /api/v2/integrations/{integrationId}`.
    GetIntegration(String),
    /// `PATCH /api/v2/integrations/{integrationId}`.
    PatchIntegration(String),
    /// `DELETE /api/v2/integrations/{integrationId}`.
    DeleteIntegration(String),
    /// `GET /api/v2/integrations/{integrationId}/config/current`.
    GetConfig(String),
    /// `PUT /api/v2/integrations/{integrationId}/config/current`.
    PutConfig(String),
    /// `GET /api/v2/integrations/types`.
    ListIntegrationTypes,
    /// `GET /api/v2/integrations/types/{typeId}`.
    GetIntegrationType(String),
    /// `GET /api/v2/integrations/credentials`.
    ListCredentials,
    /// `POST /api/v2/integrations/credentials`.
    CreateCredential,
    /// `GET /api/v2/integrations/credentials/types`.
    CredentialTypes,
    /// `GET /api/v2/integrations/credentials/listing` (cursor paging).
    CredentialCursorListing,
    /// `GET /api/v2/integrations/credentials/{credentialId}`.
    GetCredential(String),
    /// `PUT /api/v2/integrations/credentials/{credentialId}`.
    PutCredential(String),
    /// `DELETE /api/v2/integrations/credentials/{credentialId}`.
    DeleteCredential(String),
    /// `GET /api/v2/integrations/actions`.
    ListActions,
    /// `POST /api/v2/integrations/actions`.
    CreateAction,
    /// `GET /api/v2/integrations/actions/{actionId}`.
    GetAction(String),
    /// `PATCH /api/v2/integrations/actions/{actionId}`.
    PatchAction(String),
    /// `DELETE /api/v2/integrations/actions/{actionId}`.
    DeleteAction(String),
    /// `GET /api/v2/integrations/actions/{actionId}/templates/{fileName}`.
    ActionTemplate(String, String),
    /// `GET /api/v2/integrations/actions/{actionId}/schemas/{fileName}`.
    ActionSchema(String, String),
    /// `GET /api/v2/integrations/actions/drafts`.
    ListDrafts,
    /// `POST /api/v2/integrations/actions/drafts`.
    CreateDraft,
    /// `POST /api/v2/integrations/actions/{actionId}/draft`.
    CreateDraftFrom(String),
    /// `GET /api/v2/integrations/actions/{actionId}/draft`.
    GetDraft(String),
    /// `PATCH /api/v2/integrations/actions/{actionId}/draft`.
    PatchDraft(String),
    /// `DELETE /api/v2/integrations/actions/{actionId}/draft`.
    DeleteDraft(String),
    /// `GET /api/v2/integrations/actions/{actionId}/draft/templates/{fileName}`.
    DraftTemplate(String, String),
    /// `GET /api/v2/integrations/actions/{actionId}/draft/schemas/{fileName}`.
    DraftSchema(String, String),
    /// `GET /api/v2/integrations/actions/{actionId}/draft/validation`.
    ValidateDraft(String),
    /// `POST /api/v2/integrations/actions/{actionId}/draft/publish`.
    PublishDraft(String),
    /// `POST /api/v2/integrations/actions/{actionId}/draft/test`.
    TestDraft(String),
    /// `POST /api/v2/integrations/actions/{actionId}/test`.
    TestAction(String),
    /// `POST /api/v2/integrations/actions/{actionId}/execute`.
    ExecuteAction(String),
    /// A known path with a method it does not take; the path's template.
    MethodNotAllowed(&'static str),
    /// No such endpoint.
    NotFound,
}

/// The path templates, as the stats name them.
const INTEGRATIONS: &str = "/api/v2/integrations";
const INTEGRATION: &str = "/api/v2/integrations/{integrationId}";
const CONFIG: &str = "/api/v2/integrations/{integrationId}/config/current";
const TYPES: &str = "/api/v2/integrations/types";
const TYPE: &str = "/api/v2/integrations/types/{typeId}";
const CREDENTIALS: &str = "/api/v2/integrations/credentials";
const CREDENTIAL_TYPES: &str = "/api/v2/integrations/credentials/types";
const CREDENTIAL_LISTING: &str = "/api/v2/integrations/credentials/listing";
const CREDENTIAL: &str = "/api/v2/integrations/credentials/{credentialId}";
const ACTIONS: &str = "/api/v2/integrations/actions";
const ACTION: &str = "/api/v2/integrations/actions/{actionId}";
const ACTION_TEMPLATE: &str = "/api/v2/integrations/actions/{actionId}/templates/{fileName}";
const ACTION_SCHEMA: &str = "/api/v2/integrations/actions/{actionId}/schemas/{fileName}";
const DRAFTS: &str = "/api/v2/integrations/actions/drafts";
const DRAFT: &str = "/api/v2/integrations/actions/{actionId}/draft";
const DRAFT_TEMPLATE: &str = "/api/v2/integrations/actions/{actionId}/draft/templates/{fileName}";
const DRAFT_SCHEMA: &str = "/api/v2/integrations/actions/{actionId}/draft/schemas/{fileName}";
const DRAFT_VALIDATION: &str = "/api/v2/integrations/actions/{actionId}/draft/validation";
const DRAFT_PUBLISH: &str = "/api/v2/integrations/actions/{actionId}/draft/publish";
const DRAFT_TEST: &str = "/api/v2/integrations/actions/{actionId}/draft/test";
const ACTION_TEST: &str = "/api/v2/integrations/actions/{actionId}/test";
const ACTION_EXECUTE: &str = "/api/v2/integrations/actions/{actionId}/execute";
const TOKEN: &str = "/oauth/token";
const STATS: &str = "/_emulator/stats";
const PERTURB: &str = "/_emulator/perturb";
const FLOWS: &str = "/_emulator/flows";
const TRACKING: &str = "/_emulator/dependencytracking";
const CONSUMING: &str = "/api/v2/architect/dependencytracking/consumingresources";
const BUILD: &str = "/api/v2/architect/dependencytracking/build";

impl Route {
    /// The route of `method` on `path` (the path without its query string).
    pub fn parse(method: &str, path: &str) -> Route {
        let trimmed = path.trim_end_matches('/');
        if trimmed == TOKEN {
            return only(method, "POST", Route::Token, TOKEN);
        }
        if trimmed == STATS {
            return only(method, "GET", Route::Stats, STATS);
        }
        if trimmed == PERTURB {
            return only(method, "POST", Route::Perturb, PERTURB);
        }
        if trimmed == FLOWS {
            return only(method, "PUT", Route::PutFlows, FLOWS);
        }
        if trimmed == TRACKING {
            return only(method, "PUT", Route::PutDependencyTracking, TRACKING);
        }
        if trimmed == CONSUMING {
            return only(method, "GET", Route::ConsumingResources, CONSUMING);
        }
        if trimmed == BUILD {
            return match method {
                "GET" => Route::DependencyBuild,
                "POST" => Route::RebuildDependencies,
                _ => Route::MethodNotAllowed(BUILD),
            };
        }
        let Some(rest) = trimmed.strip_prefix(INTEGRATIONS) else {
            return Route::NotFound;
        };
        let segments: Vec<String> = if rest.is_empty() {
            Vec::new()
        } else if let Some(rest) = rest.strip_prefix('/') {
            rest.split('/').map(percent_decode).collect()
        } else {
            return Route::NotFound;
        };
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let id = |s: &str| s.to_string();
        match segments.as_slice() {
            [] => match method {
                "GET" => Route::ListIntegrations,
                "POST" => Route::CreateIntegration,
                _ => Route::MethodNotAllowed(INTEGRATIONS),
            },
            ["types"] => only(method, "GET", Route::ListIntegrationTypes, TYPES),
            ["types", kind] => only(method, "GET", Route::GetIntegrationType(id(kind)), TYPE),
            ["credentials"] => match method {
                "GET" => Route::ListCredentials,
                "POST" => Route::CreateCredential,
                _ => Route::MethodNotAllowed(CREDENTIALS),
            },
            ["credentials", "types"] => {
                only(method, "GET", Route::CredentialTypes, CREDENTIAL_TYPES)
            }
            ["credentials", "listing"] => only(
                method,
                "GET",
                Route::CredentialCursorListing,
                CREDENTIAL_LISTING,
            ),
            ["credentials", credential] => match method {
                "GET" => Route::GetCredential(id(credential)),
                "PUT" => Route::PutCredential(id(credential)),
                "DELETE" => Route::DeleteCredential(id(credential)),
                _ => Route::MethodNotAllowed(CREDENTIAL),
            },
            ["actions"] => match method {
                "GET" => Route::ListActions,
                "POST" => Route::CreateAction,
                _ => Route::MethodNotAllowed(ACTIONS),
            },
            ["actions", "drafts"] => match method {
                "GET" => Route::ListDrafts,
                "POST" => Route::CreateDraft,
                _ => Route::MethodNotAllowed(DRAFTS),
            },
            ["actions", action] => match method {
                "GET" => Route::GetAction(id(action)),
                "PATCH" => Route::PatchAction(id(action)),
                "DELETE" => Route::DeleteAction(id(action)),
                _ => Route::MethodNotAllowed(ACTION),
            },
            ["actions", action, "templates", file] => only(
                method,
                "GET",
                Route::ActionTemplate(id(action), id(file)),
                ACTION_TEMPLATE,
            ),
            ["actions", action, "schemas", file] => only(
                method,
                "GET",
                Route::ActionSchema(id(action), id(file)),
                ACTION_SCHEMA,
            ),
            ["actions", action, "draft"] => match method {
                "GET" => Route::GetDraft(id(action)),
                "POST" => Route::CreateDraftFrom(id(action)),
                "PATCH" => Route::PatchDraft(id(action)),
                "DELETE" => Route::DeleteDraft(id(action)),
                _ => Route::MethodNotAllowed(DRAFT),
            },
            ["actions", action, "draft", "templates", file] => only(
                method,
                "GET",
                Route::DraftTemplate(id(action), id(file)),
                DRAFT_TEMPLATE,
            ),
            ["actions", action, "draft", "schemas", file] => only(
                method,
                "GET",
                Route::DraftSchema(id(action), id(file)),
                DRAFT_SCHEMA,
            ),
            ["actions", action, "draft", "validation"] => only(
                method,
                "GET",
                Route::ValidateDraft(id(action)),
                DRAFT_VALIDATION,
            ),
            ["actions", action, "draft", "publish"] => only(
                method,
                "POST",
                Route::PublishDraft(id(action)),
                DRAFT_PUBLISH,
            ),
            ["actions", action, "draft", "test"] => {
                only(method, "POST", Route::TestDraft(id(action)), DRAFT_TEST)
            }
            ["actions", action, "test"] => {
                only(method, "POST", Route::TestAction(id(action)), ACTION_TEST)
            }
            ["actions", action, "execute"] => only(
                method,
                "POST",
                Route::ExecuteAction(id(action)),
                ACTION_EXECUTE,
            ),
            [integration, "config", "current"] => match method {
                "GET" => Route::GetConfig(id(integration)),
                "PUT" => Route::PutConfig(id(integration)),
                _ => Route::MethodNotAllowed(CONFIG),
            },
            [integration] => match method {
                "GET" => Route::GetIntegration(id(integration)),
                "PATCH" => Route::PatchIntegration(id(integration)),
                "DELETE" => Route::DeleteIntegration(id(integration)),
                _ => Route::MethodNotAllowed(INTEGRATION),
            },
            _ => Route::NotFound,
        }
    }

    /// The path template, for the stats (`GET /api/v2/integrations/actions/{actionId}`).
    pub fn template(&self) -> &'static str {
        match self {
            Route::Token => TOKEN,
            Route::Stats => STATS,
            Route::Perturb => PERTURB,
            Route::PutFlows => FLOWS,
            Route::PutDependencyTracking => TRACKING,
            Route::ConsumingResources => CONSUMING,
            Route::DependencyBuild | Route::RebuildDependencies => BUILD,
            Route::ListIntegrations | Route::CreateIntegration => INTEGRATIONS,
            Route::GetIntegration(_) | Route::PatchIntegration(_) | Route::DeleteIntegration(_) => {
                INTEGRATION
            }
            Route::GetConfig(_) | Route::PutConfig(_) => CONFIG,
            Route::ListIntegrationTypes => TYPES,
            Route::GetIntegrationType(_) => TYPE,
            Route::ListCredentials | Route::CreateCredential => CREDENTIALS,
            Route::CredentialTypes => CREDENTIAL_TYPES,
            Route::CredentialCursorListing => CREDENTIAL_LISTING,
            Route::GetCredential(_) | Route::PutCredential(_) | Route::DeleteCredential(_) => {
                CREDENTIAL
            }
            Route::ListActions | Route::CreateAction => ACTIONS,
            Route::GetAction(_) | Route::PatchAction(_) | Route::DeleteAction(_) => ACTION,
            Route::ActionTemplate(..) => ACTION_TEMPLATE,
            Route::ActionSchema(..) => ACTION_SCHEMA,
            Route::ListDrafts | Route::CreateDraft => DRAFTS,
            Route::CreateDraftFrom(_)
            | Route::GetDraft(_)
            | Route::PatchDraft(_)
            | Route::DeleteDraft(_) => DRAFT,
            Route::DraftTemplate(..) => DRAFT_TEMPLATE,
            Route::DraftSchema(..) => DRAFT_SCHEMA,
            Route::ValidateDraft(_) => DRAFT_VALIDATION,
            Route::PublishDraft(_) => DRAFT_PUBLISH,
            Route::TestDraft(_) => DRAFT_TEST,
            Route::TestAction(_) => ACTION_TEST,
            Route::ExecuteAction(_) => ACTION_EXECUTE,
            Route::MethodNotAllowed(template) => template,
            Route::NotFound => "(unknown)",
        }
    }

    /// Whether the route changes the org when it succeeds (the writes `--fault-after-commit` is about).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Route::CreateIntegration
                | Route::PatchIntegration(_)
                | Route::DeleteIntegration(_)
                | Route::PutConfig(_)
                | Route::CreateCredential
                | Route::PutCredential(_)
                | Route::DeleteCredential(_)
                | Route::CreateAction
                | Route::PatchAction(_)
                | Route::DeleteAction(_)
                | Route::CreateDraft
                | Route::CreateDraftFrom(_)
                | Route::PatchDraft(_)
                | Route::DeleteDraft(_)
                | Route::PublishDraft(_)
        )
    }
}

fn only(method: &str, wanted: &str, route: Route, template: &'static str) -> Route {
    if method == wanted {
        route
    } else {
        Route::MethodNotAllowed(template)
    }
}

/// A parsed query string: `name=value` pairs in order, percent-decoded (`+` is a space).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    /// Parses `a=1&b=two` (without the `?`); also a form body (`application/x-www-form-urlencoded`).
    pub fn parse(text: &str) -> Query {
        Query(
            text.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (form_decode(name), form_decode(value))
                })
                .collect(),
        )
    }

    /// The first value of `name` (names are case-sensitive, as Genesys's).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_table() {
        assert_eq!(
            Route::parse("GET", "/api/v2/integrations/actions/drafts"),
            Route::ListDrafts
        );
        assert_eq!(
            Route::parse(
                "POST",
                "/api/v2/integrations/actions/custom_-_1/draft/publish"
            ),
            Route::PublishDraft("custom_-_1".to_string())
        );
        assert_eq!(
            Route::parse("PUT", "/api/v2/integrations/actions/x"),
            Route::MethodNotAllowed(ACTION)
        );
        assert_eq!(
            Route::parse("GET", "/api/v2/integrations/credentials/types"),
            Route::CredentialTypes
        );
        assert_eq!(
            Route::parse("PUT", "/api/v2/integrations/i-1/config/current"),
            Route::PutConfig("i-1".to_string())
        );
        assert_eq!(
            Route::parse("DELETE", "/api/v2/integrations/credentials/c-1"),
            Route::DeleteCredential("c-1".to_string())
        );
        assert_eq!(
            Route::parse(
                "GET",
                "/api/v2/architect/dependencytracking/consumingresources"
            ),
            Route::ConsumingResources
        );
        assert_eq!(
            Route::parse("POST", "/api/v2/architect/dependencytracking/build/"),
            Route::RebuildDependencies
        );
        assert_eq!(
            Route::parse("POST", "/_emulator/flows"),
            Route::MethodNotAllowed(FLOWS)
        );
        assert_eq!(Route::parse("GET", "/api/v2/users"), Route::NotFound);
        assert_eq!(
            Route::parse("GET", "/api/v2/integrationsx"),
            Route::NotFound
        );
    }

    #[test]
    fn decodes_queries() {
        let query = Query::parse("name=a+b%2Fc&pageSize=2&x");
        assert_eq!(query.get("name"), Some("a b/c"));
        assert_eq!(query.get("x"), Some(""));
    }
}

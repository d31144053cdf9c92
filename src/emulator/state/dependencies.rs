//! Architect's dependency tracking over the org's actions: `GET …/consumingresources` (which
//! declared flows consume an action, in the org's listing envelope), `GET`/`POST …/build`, and the
//! emulator's own `PUT /_emulator/flows` and `PUT /_emulator/dependencytracking`. The flows and
//! the build (`flows::Tracking`) live in memory only, never in the state file; the time of a
//! rebuild or a status change is passed in.

use crate::emulator::flows::{self, Consumed, FlowFilter, PERMISSION, Tracking};
use crate::emulator::route::Query;
use serde_json::Value;

use super::Org;
use super::replies::{ApiError, Body, Reply};

/// The object types an action is tracked as.
const DATA_ACTION: &str = "DATAACTION";
const SECURE_ACTION: &str = "SECUREACTION";

/// Genesys's 403 for a caller without `architect:dependencyTracking:view` (*unverified*: the code
/// and message are those of Genesys's "Requires ALL permissions" errors as client libraries
/// record them; the exact list formatting is not confirmed).
pub fn missing_permission() -> ApiError {
    ApiError::new(
        403,
        "missing.permissions",
        format!(
            "Unable to perform the requested action. You are missing the following permission(s): [{PERMISSION}]"
        ),
    )
}

impl Org {
    pub fn tracking(&self) -> &Tracking {
        &self.tracking
    }

    /// The dependency tracking as of the emulator's start (`now_ms`), with `flows` declared.
    pub fn start_tracking(&mut self, flows: Vec<flows::Flow>, now_ms: u64) {
        self.tracking = Tracking::new(now_ms);
        self.tracking.flows = flows;
    }

    fn permitted(&self) -> Result<(), ApiError> {
        if self.tracking.forbidden {
            Err(missing_permission())
        } else {
            Ok(())
        }
    }

    /// `GET /api/v2/architect/dependencytracking/consumingresources`.
    pub(super) fn consuming_resources(&self, query: &Query) -> Result<Reply, ApiError> {
        self.permitted()?;
        let required = |name: &str| {
            query
                .get(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    ApiError::bad_request(format!("The query parameter {name} is required."))
                })
        };
        let id = required("id")?;
        let object_type = required("objectType")?;
        let filter = match query.get("flowFilter") {
            None => None,
            Some(text) => Some(FlowFilter::parse(text).ok_or_else(|| {
                ApiError::invalid(
                    "flowFilter",
                    format!("flowFilter `{text}` is not one of checkedIn, published."),
                )
            })?),
        };
        let types: Vec<&str> = query
            .all("resourceType")
            .flat_map(|t| t.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        // An unknown or deleted action, or one asked about as the other object type, has no
        // consumers (*unverified*: Genesys may answer 404 or 400 for some of these).
        let entities = match self.actions.get(id) {
            Some(action)
                if object_type
                    == if action.secure {
                        SECURE_ACTION
                    } else {
                        DATA_ACTION
                    } =>
            {
                let consumed = Consumed {
                    id: &action.id,
                    name: &action.name,
                };
                flows::consumers(&self.tracking.flows, consumed, filter)
                    .into_iter()
                    .filter(|d| {
                        types.is_empty() || d.kind.as_deref().is_some_and(|k| types.contains(&k))
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let page = self.page(
            entities,
            |d| serde_json::to_value(d).unwrap_or(Value::Null),
            query,
            flows::CONSUMING_PATH,
        )?;
        Ok(Reply::json(200, page))
    }

    /// `GET /api/v2/architect/dependencytracking/build`.
    pub(super) fn dependency_build(&self) -> Result<Reply, ApiError> {
        self.permitted()?;
        let status = serde_json::to_value(self.tracking.status()).unwrap_or(Value::Null);
        Ok(Reply::json(200, status))
    }

    /// `POST /api/v2/architect/dependencytracking/build`: 202, a build that completes at once.
    pub(super) fn rebuild_dependencies(&mut self, now_ms: u64) -> Result<Reply, ApiError> {
        self.permitted()?;
        self.tracking.rebuild(now_ms);
        Ok(unchanged(202))
    }

    /// `PUT /_emulator/flows`: the declared flows, all replaced.
    pub(super) fn put_flows(&mut self, body: &[u8]) -> Result<Reply, ApiError> {
        let declared = flows::parse_flows(body).map_err(ApiError::bad_request)?;
        self.tracking.flows = declared;
        Ok(unchanged(204))
    }

    /// `PUT /_emulator/dependencytracking`: `{"status": …}` and/or `{"forbidden": …}`.
    pub(super) fn put_tracking(&mut self, body: &[u8], now_ms: u64) -> Result<Reply, ApiError> {
        let update = flows::parse_update(body).map_err(ApiError::bad_request)?;
        self.tracking.update(&update, now_ms);
        Ok(unchanged(204))
    }
}

/// An empty answer that changes nothing the state file holds.
fn unchanged(status: u16) -> Reply {
    Reply {
        status,
        body: Body::Empty,
        changed: false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::emulator::route::Route;
    use crate::emulator::state::CUSTOM_REST_ACTIONS;

    fn create(org: &mut Org, name: &str, secure: bool) -> String {
        let integration = org.ensure_integration("Web", CUSTOM_REST_ACTIONS);
        let body = json!({
            "name": name, "category": "Tests", "integrationId": integration, "secure": secure,
            "config": { "request": { "requestUrlTemplate": "https://x/y", "requestType": "GET" },
                        "response": {} },
            "contract": { "input": { "inputSchema": { "type": "object" } },
                          "output": { "successSchema": { "type": "object" } } }
        });
        let reply = org.handle(
            &Route::CreateAction,
            &Query::default(),
            body.to_string().as_bytes(),
        );
        let Body::Json(action) = reply.body else {
            panic!("not created: {reply:?}")
        };
        action["id"].as_str().unwrap_or_default().to_string()
    }

    fn listing(org: &mut Org, query: &str) -> (u16, Value) {
        let reply = org.handle(&Route::ConsumingResources, &Query::parse(query), b"");
        let body = match reply.body {
            Body::Json(value) => value,
            Body::Error(error) => error.body(None),
            _ => Value::Null,
        };
        (reply.status, body)
    }

    #[test]
    fn listings_follow_the_object_type_and_the_filter() {
        let mut org = Org::new(1);
        let plain = create(&mut org, "Lookup", false);
        let secure = create(&mut org, "Vault", true);
        let flows = json!({"flows": [
            {"name": "IVR", "published": {"version": "1.0", "actions": ["Lookup", "Vault"]},
             "checkedIn": {"version": "2.0", "actions": [plain.clone()]}}
        ]});
        let put = org.handle(
            &Route::PutFlows,
            &Query::default(),
            flows.to_string().as_bytes(),
        );
        assert_eq!((put.status, put.changed), (204, false));
        let (status, all) = listing(&mut org, &format!("id={plain}&objectType=DATAACTION"));
        assert_eq!((status, all["total"].clone()), (200, json!(2)));
        let (_, published) = listing(
            &mut org,
            &format!("id={plain}&objectType=DATAACTION&flowFilter=published"),
        );
        assert_eq!(published["entities"][0]["version"], "1.0");
        let (_, wrong) = listing(&mut org, &format!("id={secure}&objectType=DATAACTION"));
        assert_eq!(wrong["total"], 0);
        let (_, right) = listing(&mut org, &format!("id={secure}&objectType=SECUREACTION"));
        assert_eq!(right["total"], 1);
        let (status, missing) = listing(&mut org, "objectType=DATAACTION");
        assert_eq!(
            (status, missing["code"].clone()),
            (400, json!("bad.request"))
        );
        let (status, _) = listing(
            &mut org,
            &format!("id={plain}&objectType=DATAACTION&flowFilter=draft"),
        );
        assert_eq!(status, 400);
        let (_, typed) = listing(
            &mut org,
            &format!("id={plain}&objectType=DATAACTION&resourceType=INBOUNDCHATFLOW"),
        );
        assert_eq!(typed["total"], 0);
    }

    #[test]
    fn a_forbidden_caller_gets_403_on_both_endpoints() {
        let mut org = Org::new(2);
        let put = org.put_tracking(br#"{"forbidden": true}"#, 5);
        assert!(put.is_ok());
        let (status, body) = listing(&mut org, "id=x&objectType=DATAACTION");
        assert_eq!(
            (status, body["code"].clone()),
            (403, json!("missing.permissions"))
        );
        let build = org.handle(&Route::DependencyBuild, &Query::default(), b"");
        assert_eq!(build.status, 403);
        let rebuild = org.handle_at(&Route::RebuildDependencies, &Query::default(), b"", 9);
        assert_eq!(rebuild.status, 403);
        assert!(org.put_tracking(br#"{"forbidden": false}"#, 10).is_ok());
        let rebuild = org.handle_at(&Route::RebuildDependencies, &Query::default(), b"", 11);
        assert_eq!(rebuild.status, 202);
        assert_eq!(org.tracking().build.completed_ms, 11);
    }
}

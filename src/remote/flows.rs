//! Architect's dependency tracking, in model terms: the build's status, and the flows that consume
//! an action — its published and its checked-in versions, two paged listings
//! (`GET /api/v2/architect/dependencytracking/consumingresources?id=…&objectType=DATAACTION|SECUREACTION&flowFilter=published|checkedIn`).
//! The consumers of an action version are cached per dependency-tracking build (`cache.rs`): a
//! build's answers do not change, and a new build has a new key.

use std::collections::BTreeMap;

use super::{Remote, RemoteError};
use crate::genesys::dto::{Dependency, DependencyStatus};
use crate::model::ConsumingFlow;

const CONSUMING: &str = "/api/v2/architect/dependencytracking/consumingresources";
const BUILD: &str = "/api/v2/architect/dependencytracking/build";

/// Why dependency tracking cannot be asked: the OAuth client lacks
/// `architect:dependencyTracking:view` (a 403), as opposed to a failure of the org.
pub fn is_permission_refusal(error: &RemoteError) -> bool {
    matches!(error, RemoteError::Api(api) if api.status() == Some(403))
}

impl Remote {
    /// Dependency tracking's build status.
    pub async fn dependency_build(&self) -> Result<DependencyStatus, RemoteError> {
        Ok(self.client.get(BUILD).await?)
    }

    /// The flows consuming action `action_id` (a secure one is `SECUREACTION` to dependency
    /// tracking), with the version of each that does. `build` is the build's identity (its id and
    /// completion date) when it is up to date: the answer is then cached under it.
    pub async fn consuming_flows(
        &self,
        action_id: &str,
        version: i64,
        secure: bool,
        build: Option<&str>,
    ) -> Result<Vec<ConsumingFlow>, RemoteError> {
        let cached = build.and_then(|b| {
            self.cache
                .as_ref()
                .and_then(|c| c.get_consumers(action_id, version, b))
        });
        if let Some(flows) = cached {
            return Ok(flows);
        }
        let object_type = if secure { "SECUREACTION" } else { "DATAACTION" };
        let mut flows: BTreeMap<String, ConsumingFlow> = BTreeMap::new();
        for filter in ["published", "checkedIn"] {
            let path = format!(
                "{CONSUMING}?id={}&objectType={object_type}&flowFilter={filter}",
                super::encode_query(action_id)
            );
            let consumers: Vec<Dependency> = self
                .client
                .list_all(&path, |d: &Dependency| d.id.as_str())
                .await?;
            for consumer in consumers.into_iter().filter(|c| !c.deleted) {
                let flow = flows
                    .entry(consumer.id.clone())
                    .or_insert_with(|| ConsumingFlow {
                        id: consumer.id.clone(),
                        name: consumer.name.clone(),
                        flow_type: consumer.kind.clone().unwrap_or_default(),
                        published: None,
                        checked_in: None,
                    });
                let version = Some(consumer.version.unwrap_or_default());
                if filter == "published" {
                    flow.published = version;
                } else {
                    flow.checked_in = version;
                }
            }
        }
        let mut flows: Vec<ConsumingFlow> = flows.into_values().collect();
        flows.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        if let (Some(build), Some(cache)) = (build, &self.cache) {
            cache.put_consumers(action_id, version, build, &flows);
        }
        Ok(flows)
    }
}

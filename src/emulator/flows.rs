//! Architect's dependency tracking as the emulator plays it, sans IO: the flows a test declares
//! (`--flows FILE`, `PUT /_emulator/flows`: each flow's published and checked-in versions and the
//! data actions each consumes, by name or id), which of them consume an action (the entities of
//! `GET /api/v2/architect/dependencytracking/consumingresources`), and the build status
//! (`GET`/`POST …/dependencytracking/build`, `PUT /_emulator/dependencytracking`). Time is passed
//! in (milliseconds since the epoch) and written as ISO-8601; ids a declaration leaves out are
//! derived from the flow's name (SHA-256), so answers are stable. Kept in memory only: neither the
//! flows nor the build are part of the state file.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::genesys::dto::{Dependency, DependencyStatus};

/// The flow types a declaration may name: the flow types of the SDKs' `Dependency.type` enum.
pub const FLOW_TYPES: [&str; 20] = [
    "BOTFLOW",
    "BUSINESSPROCESSFLOW",
    "COMMONMODULEFLOW",
    "DIGITALBOTFLOW",
    "EMAILSENDFLOW",
    "INBOUNDCALLFLOW",
    "INBOUNDCHATFLOW",
    "INBOUNDEMAILFLOW",
    "INBOUNDSHORTMESSAGEFLOW",
    "INQUEUECALLFLOW",
    "INQUEUEEMAILFLOW",
    "INQUEUESHORTMESSAGEFLOW",
    "OUTBOUNDCALLFLOW",
    "SECURECALLFLOW",
    "SURVEYINVITEFLOW",
    "VOICEFLOW",
    "VOICEMAILFLOW",
    "VOICESURVEYFLOW",
    "WORKFLOW",
    "WORKITEMFLOW",
];
/// A flow's type when its declaration names none.
pub const DEFAULT_FLOW_TYPE: &str = "INBOUNDCALLFLOW";
/// The statuses of the SDKs' `DependencyStatus.status` enum.
pub const BUILD_STATUSES: [&str; 7] = [
    "OPERATIONAL",
    "OPERATIONALNEEDSREBUILD",
    "BUILDINPROGRESS",
    "BUILDQUEUED",
    "BUILDINITIALIZING",
    "BUILDINCOMPLETE",
    "NOTBUILT",
];
/// The permission both dependency-tracking endpoints require (the SDKs: "Requires ALL
/// permissions: architect:dependencyTracking:view").
pub const PERMISSION: &str = "architect:dependencyTracking:view";
/// `selfUri` of the build status.
pub const BUILD_PATH: &str = "/api/v2/architect/dependencytracking/build";
/// The path of the consuming-resources listing (its URIs).
pub const CONSUMING_PATH: &str = "/api/v2/architect/dependencytracking/consumingresources";
const BUILD_NAME: &str = "dependency tracking build";
const OPERATIONAL: &str = "OPERATIONAL";
const IN_PROGRESS: &str = "BUILDINPROGRESS";

/// One declared flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub id: String,
    pub name: String,
    /// `INBOUNDCALLFLOW`, …
    pub kind: String,
    pub published: Option<FlowVersion>,
    pub checked_in: Option<FlowVersion>,
}

/// A version of a flow and the data actions it consumes (names or ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowVersion {
    pub version: String,
    pub actions: Vec<String>,
}

/// Which versions a listing is about (`flowFilter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowFilter {
    Published,
    CheckedIn,
}

impl FlowFilter {
    /// `published` or `checkedIn` (Genesys's spelling).
    pub fn parse(text: &str) -> Option<FlowFilter> {
        match text {
            "published" => Some(FlowFilter::Published),
            "checkedIn" => Some(FlowFilter::CheckedIn),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Declaration {
    flows: Vec<FlowDeclaration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FlowDeclaration {
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    published: Option<VersionDeclaration>,
    #[serde(default)]
    checked_in: Option<VersionDeclaration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionDeclaration {
    version: String,
    #[serde(default)]
    actions: Vec<String>,
}

/// Reads a flows declaration (`{"flows": [...]}`), every problem in one message.
pub fn parse_flows(text: &[u8]) -> Result<Vec<Flow>, String> {
    let declaration: Declaration = serde_json::from_slice(text).map_err(|e| {
        format!("not a flows declaration ({{\"flows\": [{{\"name\", \"type\", \"published\", \"checkedIn\"}}]}}): {e}")
    })?;
    let mut problems = Vec::new();
    let mut flows: Vec<Flow> = Vec::new();
    for (index, flow) in declaration.flows.into_iter().enumerate() {
        let at = format!("flows[{index}]");
        let name = flow.name.trim().to_string();
        if name.is_empty() {
            problems.push(format!("{at}: `name` must not be empty"));
        }
        let kind = flow.kind.unwrap_or_else(|| DEFAULT_FLOW_TYPE.to_string());
        if !FLOW_TYPES.contains(&kind.as_str()) {
            problems.push(format!(
                "{at}: `type` `{kind}` is not a flow type (one of {})",
                FLOW_TYPES.join(", ")
            ));
        }
        let id = match flow.id {
            Some(id) if id.trim().is_empty() => {
                problems.push(format!("{at}: `id` must not be empty when given"));
                id
            }
            Some(id) => id,
            None => derived_uuid(&format!("flow:{name}")),
        };
        for (field, version) in [
            ("published", &flow.published),
            ("checkedIn", &flow.checked_in),
        ] {
            if let Some(version) = version {
                if version.version.trim().is_empty() {
                    problems.push(format!("{at}: `{field}.version` must not be empty"));
                }
                if version.actions.iter().any(|a| a.trim().is_empty()) {
                    problems.push(format!("{at}: `{field}.actions` holds an empty entry"));
                }
            }
        }
        if let Some(other) = flows.iter().find(|f| f.id == id) {
            problems.push(format!(
                "{at}: id `{id}` is also the id of `{}` (two flows of one name need ids of their own)",
                other.name
            ));
        }
        let version = |v: Option<VersionDeclaration>| {
            v.map(|v| FlowVersion {
                version: v.version,
                actions: v.actions,
            })
        };
        flows.push(Flow {
            id,
            name,
            kind,
            published: version(flow.published),
            checked_in: version(flow.checked_in),
        });
    }
    if problems.is_empty() {
        Ok(flows)
    } else {
        Err(problems.join("; "))
    }
}

/// The action whose consumers are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consumed<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// The flow versions that consume `action` (an `actions` entry naming its id or its name), as
/// `Dependency` entities sorted by name, then version, then id; `filter` keeps one side only.
pub fn consumers(
    flows: &[Flow],
    action: Consumed<'_>,
    filter: Option<FlowFilter>,
) -> Vec<Dependency> {
    let mut found: Vec<Dependency> = Vec::new();
    for flow in flows {
        let sides = [
            (FlowFilter::Published, &flow.published),
            (FlowFilter::CheckedIn, &flow.checked_in),
        ];
        for (side, version) in sides {
            let Some(version) = version else { continue };
            if filter.is_some_and(|f| f != side) {
                continue;
            }
            let consumes = version
                .actions
                .iter()
                .any(|a| a == action.id || a == action.name);
            // A flow whose published and checked-in versions are the same version shows once.
            let duplicate = found
                .iter()
                .any(|d| d.id == flow.id && d.version.as_deref() == Some(version.version.as_str()));
            if consumes && !duplicate {
                found.push(Dependency {
                    id: flow.id.clone(),
                    name: flow.name.clone(),
                    version: Some(version.version.clone()),
                    kind: Some(flow.kind.clone()),
                    deleted: false,
                    updated: false,
                    state_unknown: false,
                    self_uri: Some(format!("/api/v2/flows/{}", flow.id)),
                });
            }
        }
    }
    found.sort_by_cached_key(|d| {
        (
            d.name.clone(),
            version_key(d.version.as_deref().unwrap_or("")),
            d.id.clone(),
        )
    });
    found
}

/// `"10.0"` after `"9.0"`: numeric parts compare as numbers, others as text.
fn version_key(version: &str) -> Vec<(u64, String)> {
    version
        .split('.')
        .map(|part| match part.parse::<u64>() {
            Ok(n) => (n, String::new()),
            Err(_) => (u64::MAX, part.to_string()),
        })
        .collect()
}

/// The build of the org's dependency tracking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// Rebuilds so far (each build has an id of its own).
    pub number: u64,
    pub status: String,
    pub started_ms: u64,
    pub completed_ms: u64,
}

/// A change `PUT /_emulator/dependencytracking` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingUpdate {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub forbidden: Option<bool>,
}

/// Reads `{"status": "…"}` and/or `{"forbidden": true|false}`.
pub fn parse_update(body: &[u8]) -> Result<TrackingUpdate, String> {
    let update: TrackingUpdate = serde_json::from_slice(body).map_err(|e| {
        format!("the body must be {{\"status\": STATUS}} and/or {{\"forbidden\": BOOL}}: {e}")
    })?;
    if update.status.is_none() && update.forbidden.is_none() {
        return Err("the body names neither `status` nor `forbidden`".to_string());
    }
    if let Some(status) = &update.status
        && !BUILD_STATUSES.contains(&status.as_str())
    {
        return Err(format!(
            "`status` `{status}` is not one of {}",
            BUILD_STATUSES.join(", ")
        ));
    }
    Ok(update)
}

/// The org's dependency tracking: declared flows, the build, and whether the caller lacks
/// `architect:dependencyTracking:view`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    pub flows: Vec<Flow>,
    pub build: Build,
    pub forbidden: bool,
}

impl Default for Tracking {
    fn default() -> Tracking {
        Tracking::new(0)
    }
}

impl Tracking {
    /// No flows; an operational build started and completed at `now_ms` (the emulator's start).
    pub fn new(now_ms: u64) -> Tracking {
        Tracking {
            flows: Vec::new(),
            build: Build {
                number: 0,
                status: OPERATIONAL.to_string(),
                started_ms: now_ms,
                completed_ms: now_ms,
            },
            forbidden: false,
        }
    }

    /// `POST …/build`: a new build, completed at once.
    pub fn rebuild(&mut self, now_ms: u64) {
        self.build = Build {
            number: self.build.number + 1,
            status: OPERATIONAL.to_string(),
            started_ms: now_ms,
            completed_ms: now_ms,
        };
    }

    /// `PUT /_emulator/dependencytracking`: `BUILDINPROGRESS` starts a build now, `OPERATIONAL`
    /// completes it now, other statuses leave the dates as they were.
    pub fn update(&mut self, update: &TrackingUpdate, now_ms: u64) {
        if let Some(status) = &update.status {
            match status.as_str() {
                OPERATIONAL => self.build.completed_ms = now_ms,
                IN_PROGRESS => self.build.started_ms = now_ms,
                _ => {}
            }
            self.build.status = status.clone();
        }
        if let Some(forbidden) = update.forbidden {
            self.forbidden = forbidden;
        }
    }

    /// `GET …/build`'s answer.
    pub fn status(&self) -> DependencyStatus {
        DependencyStatus {
            id: Some(derived_uuid(&format!("build:{}", self.build.number))),
            name: Some(BUILD_NAME.to_string()),
            build_id: None,
            date_started: Some(iso8601(self.build.started_ms)),
            date_completed: Some(iso8601(self.build.completed_ms)),
            status: Some(self.build.status.clone()),
            self_uri: Some(BUILD_PATH.to_string()),
        }
    }
}

/// A UUID-shaped id (version 4 and variant bits set) from the SHA-256 of `seed`.
pub fn derived_uuid(seed: &str) -> String {
    let digest = Sha256::digest(format!("nodectl-emulator:{seed}").as_bytes());
    let mut bytes = [0u8; 16];
    for (byte, from) in bytes.iter_mut().zip(digest.iter()) {
        *byte = *from;
    }
    let n = u128::from_be_bytes(bytes);
    // Version 4, variant 10xx: shaped like the ids Genesys hands out.
    let n = (n & !(0xF_u128 << 76) | (0x4_u128 << 76)) & !(0x3_u128 << 62) | (0x2_u128 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        n >> 96,
        (n >> 80) & 0xFFFF,
        (n >> 64) & 0xFFFF,
        (n >> 48) & 0xFFFF,
        n & 0xFFFF_FFFF_FFFF
    )
}

/// Milliseconds since the epoch as `2026-12-04T15:10:31.123Z`.
pub fn iso8601(ms: u64) -> String {
    let seconds = ms / 1000;
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2);
    let of_day = seconds % 86_400;
    let (year, month, day) = crate::runtime::clock::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        (of_day / 60) % 60,
        of_day % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> Vec<Flow> {
        let text = br#"{"flows": [
            {"name": "Main IVR", "type": "INBOUNDCALLFLOW",
             "published": {"version": "3.0", "actions": ["Lookup Customer"]},
             "checkedIn": {"version": "4.0", "actions": ["Lookup Customer", "Get Orders"]}},
            {"name": "Chat", "type": "INBOUNDCHATFLOW",
             "checkedIn": {"version": "10.0", "actions": ["custom_-_1"]},
             "published": {"version": "9.0", "actions": ["custom_-_1"]}},
            {"id": "f-3", "name": "Module", "type": "COMMONMODULEFLOW",
             "published": {"version": "1.0", "actions": ["Other"]}}
        ]}"#;
        parse_flows(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn declarations_default_the_type_and_derive_stable_ids() {
        let flows = parse_flows(br#"{"flows": [{"name": "A"}]}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(flows[0].kind, DEFAULT_FLOW_TYPE);
        assert_eq!(flows[0].id, derived_uuid("flow:A"));
        assert_eq!(flows[0].id.len(), 36);
        assert_eq!(&flows[0].id[14..15], "4");
        assert_eq!(declared()[2].id, "f-3");
    }

    #[test]
    fn bad_declarations_name_every_problem() {
        let error = parse_flows(
            br#"{"flows": [{"name": "", "type": "CALLFLOW"}, {"name": "B", "published": {"version": ""}}, {"name": "B"}]}"#,
        )
        .unwrap_err();
        assert!(
            error.contains("flows[0]: `name` must not be empty"),
            "{error}"
        );
        assert!(
            error.contains("`type` `CALLFLOW` is not a flow type"),
            "{error}"
        );
        assert!(
            error.contains("flows[1]: `published.version` must not be empty"),
            "{error}"
        );
        assert!(error.contains("flows[2]: id `"), "{error}");
        assert!(parse_flows(b"{\"flow\": []}").is_err());
        assert!(parse_flows(b"[]").is_err());
    }

    #[test]
    fn consumers_match_names_and_ids_by_side() {
        let flows = declared();
        let lookup = Consumed {
            id: "custom_-_9",
            name: "Lookup Customer",
        };
        let both = consumers(&flows, lookup, None);
        let shown: Vec<_> = both
            .iter()
            .map(|d| (d.name.as_str(), d.version.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(shown, [("Main IVR", "3.0"), ("Main IVR", "4.0")]);
        assert_eq!(both[0].kind.as_deref(), Some("INBOUNDCALLFLOW"));
        assert_eq!(
            both[0].self_uri.as_deref(),
            Some(format!("/api/v2/flows/{}", flows[0].id).as_str())
        );
        let published = consumers(&flows, lookup, Some(FlowFilter::Published));
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].version.as_deref(), Some("3.0"));
        let orders = Consumed {
            id: "custom_-_8",
            name: "Get Orders",
        };
        assert!(consumers(&flows, orders, Some(FlowFilter::Published)).is_empty());
        let by_id = Consumed {
            id: "custom_-_1",
            name: "Something",
        };
        let versions: Vec<_> = consumers(&flows, by_id, None)
            .into_iter()
            .filter_map(|d| d.version)
            .collect();
        assert_eq!(versions, ["9.0", "10.0"]);
    }

    #[test]
    fn the_build_moves_through_its_statuses() {
        let mut tracking = Tracking::new(1_000);
        let first = tracking.status();
        assert_eq!(first.status.as_deref(), Some("OPERATIONAL"));
        assert_eq!(
            first.date_started.as_deref(),
            Some("1970-01-01T00:00:01.000Z")
        );
        let stale = parse_update(br#"{"status": "OPERATIONALNEEDSREBUILD"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        tracking.update(&stale, 5_000);
        assert_eq!(tracking.build.completed_ms, 1_000);
        let running =
            parse_update(br#"{"status": "BUILDINPROGRESS"}"#).unwrap_or_else(|e| panic!("{e}"));
        tracking.update(&running, 6_000);
        assert_eq!(
            (tracking.build.started_ms, tracking.build.completed_ms),
            (6_000, 1_000)
        );
        tracking.update(
            &parse_update(br#"{"forbidden": true}"#).unwrap_or_else(|e| panic!("{e}")),
            7_000,
        );
        assert!(tracking.forbidden);
        assert_eq!(tracking.build.status, "BUILDINPROGRESS");
        tracking.rebuild(8_000);
        let rebuilt = tracking.status();
        assert_eq!(rebuilt.status.as_deref(), Some("OPERATIONAL"));
        assert_ne!(rebuilt.id, first.id);
        assert_eq!(
            rebuilt.date_completed.as_deref(),
            Some("1970-01-01T00:00:08.000Z")
        );
        assert!(parse_update(br#"{"status": "DONE"}"#).is_err());
        assert!(parse_update(b"{}").is_err());
        assert!(parse_update(br#"{"forbidden": "yes"}"#).is_err());
    }

    #[test]
    fn dates_are_iso_8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso8601(1_796_396_431_000), "2026-12-04T15:00:31.000Z");
    }
}

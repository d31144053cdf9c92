//! The content cache: a managed action's complete content keyed by `(id, version)`, one JSON file
//! each. `version` increases on every change, so an entry never goes stale; it is only an
//! optimisation — delete the directory and the next snapshot is the same, at 3 requests per action.
//!
//! The cache is *not trusted* (docs/security.md, "What the org is believed to hold"): its files may
//! come from a pull request or a poisoned CI cache. So it lives outside the checkout by default
//! (`$NODECTL_CACHE_DIR`, else `$XDG_CACHE_HOME/nodectl`, else `~/.cache/nodectl`), one folder per
//! API host so that two orgs never share entries, and an entry is used only when its own checksum
//! holds and it agrees with the live listing on everything the listing shows (id, version, name,
//! integration, category, `secure`, and the configuration apart from the two template texts). A
//! broken or disagreeing entry is ignored (logged) and rewritten from the org.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::RemoteAction;
use crate::genesys::dto::{Action, ActionConfig};
use crate::model::ConsumingFlow;

/// The variable through which the pipeline chooses where the cache lives (e.g. a folder its CI
/// cache step restores).
pub const CACHE_DIR_VARIABLE: &str = "NODECTL_CACHE_DIR";

#[derive(Debug, Clone)]
pub struct ContentCache {
    dir: PathBuf,
}

/// One file of the cache: the action and the SHA-256 of its canonical JSON.
#[derive(Serialize, Deserialize)]
struct Entry {
    checksum: String,
    action: RemoteAction,
}

impl ContentCache {
    /// The cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> ContentCache {
        ContentCache { dir: dir.into() }
    }

    /// The cache of one org, named by `identity` (its API base URL, or the embedded emulator's state
    /// file): a folder under the cache root named by a hash of the identity. `None` when no cache
    /// root can be found (no `NODECTL_CACHE_DIR`, `XDG_CACHE_HOME` or `HOME`): plans then read the
    /// org completely.
    pub fn for_org(identity: &str) -> Option<ContentCache> {
        let root = cache_root()?;
        let digest = Sha256::digest(identity.as_bytes());
        let folder = crate::canonical::hex(digest.get(..8).unwrap_or_default());
        Some(ContentCache::new(root.join(folder)))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str, version: i64) -> Option<PathBuf> {
        // Ids are UUIDs; anything else must not escape the directory.
        let safe = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        safe.then(|| self.dir.join(format!("{id}@{version}.json")))
    }

    /// The cached content of `listed`, if an entry exists, its checksum holds, and it agrees with
    /// the listing.
    pub fn get(&self, listed: &Action) -> Option<RemoteAction> {
        let path = self.path(&listed.id, listed.version)?;
        // Entries are written by renaming, never as symlinks: a symlink was planted (a pull request
        // may commit one to a file of the runner) and is not followed.
        if !path.symlink_metadata().ok()?.file_type().is_file() {
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let entry: Entry = match serde_json::from_str(&text) {
            Ok(entry) => entry,
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "ignoring an unreadable cache entry");
                return None;
            }
        };
        if checksum(&entry.action).as_deref() != Some(entry.checksum.as_str()) {
            tracing::warn!(path = %path.display(), "ignoring a cache entry whose checksum does not hold");
            return None;
        }
        match disagreement(&entry.action, listed) {
            None => Some(entry.action),
            Some(field) => {
                tracing::warn!(path = %path.display(), field, "ignoring a cache entry that disagrees with the org's listing");
                None
            }
        }
    }

    /// Stores an entry atomically (`fsx::write_atomic`: never through a symlink). Failures only
    /// cost a re-read later.
    pub fn put(&self, action: &RemoteAction) {
        let Some(path) = self.path(&action.id, action.version) else {
            return;
        };
        let Some(checksum) = checksum(action) else {
            return;
        };
        let entry = Entry {
            checksum,
            action: action.clone(),
        };
        let Ok(text) = serde_json::to_string(&entry) else {
            return;
        };
        let _ = crate::fsx::write_atomic(&path, text.as_bytes());
    }
}

/// One file of the flow-impact cache: the flows consuming an action version, as dependency
/// tracking's build `build` answered, and the SHA-256 of their canonical JSON.
#[derive(Serialize, Deserialize)]
struct ConsumersEntry {
    checksum: String,
    action_id: String,
    version: i64,
    build: String,
    flows: Vec<ConsumingFlow>,
}

impl ContentCache {
    /// The file of the consumers of `id@version` under build `build` (hashed: a build key is the
    /// org's text).
    fn consumers_path(&self, id: &str, version: i64, build: &str) -> Option<PathBuf> {
        let action = self.path(id, version)?;
        let digest = Sha256::digest(build.as_bytes());
        let build = crate::canonical::hex(digest.get(..8).unwrap_or_default());
        let name = action.file_stem()?.to_string_lossy().into_owned();
        Some(self.dir.join(format!("{name}.flows-{build}.json")))
    }

    /// The flows consuming `id@version` as build `build` answered, if cached and intact. Like the
    /// content, an entry is an optimisation: nothing live can confirm it, so the folder must be the
    /// pipeline's own (docs/security.md).
    pub fn get_consumers(&self, id: &str, version: i64, build: &str) -> Option<Vec<ConsumingFlow>> {
        let path = self.consumers_path(id, version, build)?;
        if !path.symlink_metadata().ok()?.file_type().is_file() {
            return None;
        }
        let entry: ConsumersEntry =
            serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
        let intact = entry.action_id == id
            && entry.version == version
            && entry.build == build
            && consumers_checksum(&entry.flows).as_deref() == Some(entry.checksum.as_str());
        if !intact {
            tracing::warn!(path = %path.display(), "ignoring a flow-impact cache entry that does not hold");
            return None;
        }
        Some(entry.flows)
    }

    /// Stores the flows consuming `id@version` under build `build` (atomically, never through a
    /// symlink); failures only cost the queries again.
    pub fn put_consumers(&self, id: &str, version: i64, build: &str, flows: &[ConsumingFlow]) {
        let (Some(path), Some(checksum)) = (
            self.consumers_path(id, version, build),
            consumers_checksum(flows),
        ) else {
            return;
        };
        let entry = ConsumersEntry {
            checksum,
            action_id: id.to_string(),
            version,
            build: build.to_string(),
            flows: flows.to_vec(),
        };
        if let Ok(text) = serde_json::to_string(&entry) {
            let _ = crate::fsx::write_atomic(&path, text.as_bytes());
        }
    }
}

fn consumers_checksum(flows: &[ConsumingFlow]) -> Option<String> {
    let value = serde_json::to_value(flows).ok()?;
    Some(crate::canonical::checksum(&value))
}

/// `$NODECTL_CACHE_DIR`, else `$XDG_CACHE_HOME/nodectl`, else `$HOME/.cache/nodectl`.
fn cache_root() -> Option<PathBuf> {
    let from = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    from(CACHE_DIR_VARIABLE)
        .or_else(|| from("XDG_CACHE_HOME").map(|d| d.join("nodectl")))
        .or_else(|| from("HOME").map(|d| d.join(".cache").join("nodectl")))
}

/// `sha256:<hex>` of the action's canonical JSON.
fn checksum(action: &RemoteAction) -> Option<String> {
    let value = serde_json::to_value(action).ok()?;
    Some(crate::canonical::checksum(&value))
}

/// The first field on which a cached action and the live listing disagree.
fn disagreement(cached: &RemoteAction, listed: &Action) -> Option<&'static str> {
    if cached.id != listed.id {
        return Some("id");
    }
    if cached.version != listed.version {
        return Some("version");
    }
    if cached.name != listed.name {
        return Some("name");
    }
    if cached.integration_id != listed.integration_id {
        return Some("integrationId");
    }
    if cached.secure != listed.secure {
        return Some("secure");
    }
    if listed
        .category
        .as_ref()
        .is_some_and(|category| *category != cached.category)
    {
        return Some("category");
    }
    match &listed.config {
        Some(config) if !same_listed_config(&cached.config, config) => Some("config"),
        _ => None,
    }
}

/// The configuration as a listing shows it: the cached one has the template texts filled in where
/// the listing has only their URIs, so those are left out of the comparison.
fn same_listed_config(cached: &ActionConfig, listed: &ActionConfig) -> bool {
    let strip = |config: &ActionConfig| {
        let mut config = config.clone();
        config.request.request_template = None;
        config.request.request_template_uri = None;
        config.response.success_template = None;
        config.response.success_template_uri = None;
        config
    };
    strip(cached) == strip(listed)
}

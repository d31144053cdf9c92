//! The content cache: a managed action's complete content keyed by `(id, version)`, one JSON file
//! each under `NODECTL_CACHE_DIR` (default `.nodectl/cache/`). `version` increases on every change,
//! so an entry never goes stale; it is only an optimisation — delete the directory and the next
//! snapshot is the same, at 3 requests per action. A broken entry is ignored and rewritten.

use std::path::{Path, PathBuf};

use super::RemoteAction;

#[derive(Debug, Clone)]
pub struct ContentCache {
    dir: PathBuf,
}

impl ContentCache {
    /// The cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> ContentCache {
        ContentCache { dir: dir.into() }
    }

    /// `$NODECTL_CACHE_DIR`, else `<project>/.nodectl/cache`.
    pub fn for_project(project_dir: &Path) -> ContentCache {
        match std::env::var_os("NODECTL_CACHE_DIR") {
            Some(dir) => ContentCache::new(dir),
            None => ContentCache::new(project_dir.join(".nodectl").join("cache")),
        }
    }

    fn path(&self, id: &str, version: i64) -> Option<PathBuf> {
        // Ids are UUIDs; anything else must not escape the directory.
        let safe = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        safe.then(|| self.dir.join(format!("{id}@{version}.json")))
    }

    /// The directory the entries are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn get(&self, id: &str, version: i64) -> Option<RemoteAction> {
        let path = self.path(id, version)?;
        // Entries are written by renaming, never as symlinks: a symlink was planted (a pull request
        // may commit one to a file of the runner) and is not followed.
        if !path.symlink_metadata().ok()?.file_type().is_file() {
            return None;
        }
        let text = std::fs::read_to_string(path).ok()?;
        let action: RemoteAction = serde_json::from_str(&text).ok()?;
        (action.id == id && action.version == version).then_some(action)
    }

    /// Stores an entry atomically (`fsx::write_atomic`). Failures only cost a re-read later.
    pub fn put(&self, action: &RemoteAction) {
        let Some(path) = self.path(&action.id, action.version) else {
            return;
        };
        let Ok(text) = serde_json::to_string(action) else {
            return;
        };
        let _ = crate::fsx::write_atomic(&path, text.as_bytes());
    }
}

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

    pub fn get(&self, id: &str, version: i64) -> Option<RemoteAction> {
        let text = std::fs::read_to_string(self.path(id, version)?).ok()?;
        let action: RemoteAction = serde_json::from_str(&text).ok()?;
        (action.id == id && action.version == version).then_some(action)
    }

    /// Stores an entry atomically (temporary file, then rename). Failures only cost a re-read later.
    pub fn put(&self, action: &RemoteAction) {
        let Some(path) = self.path(&action.id, action.version) else {
            return;
        };
        let Ok(text) = serde_json::to_string(action) else {
            return;
        };
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let temporary = path.with_extension(format!("json.tmp{}", std::process::id()));
        if std::fs::write(&temporary, text).is_ok() && std::fs::rename(&temporary, &path).is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
    }
}

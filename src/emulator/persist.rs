//! The state file (`--state FILE`): the org as JSON, loaded at start and written atomically — a
//! temporary file beside it, fsync, rename, fsync of the directory — so that a crash leaves either
//! the old or the new state, never a torn one. Snapshots carry the org's generation and an older
//! one never overwrites a newer one, whichever task writes last.

use std::path::{Path, PathBuf};

use super::EmulatorError;
use super::state::Org;

/// Reads the state file; `None` when it does not exist yet.
pub fn load(path: &Path) -> Result<Option<Org>, EmulatorError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(EmulatorError::State {
                path: path.to_path_buf(),
                message: format!("cannot read it: {error}"),
            });
        }
    };
    Org::from_json(&text)
        .map(Some)
        .map_err(|message| EmulatorError::State {
            path: path.to_path_buf(),
            message: format!("not an emulator state file: {message}"),
        })
}

/// Writes snapshots of the org to one file, newest wins.
#[derive(Debug)]
pub struct Persister {
    path: PathBuf,
    /// The generation of the last snapshot written (`None` before the first write).
    written: tokio::sync::Mutex<Option<u64>>,
}

impl Persister {
    pub fn new(path: PathBuf) -> Persister {
        Persister {
            path,
            written: tokio::sync::Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the snapshot `text` of generation `generation` unless a newer one is on disk.
    pub async fn write(&self, generation: u64, text: String) -> Result<(), EmulatorError> {
        let mut written = self.written.lock().await;
        if written.is_some_and(|w| w >= generation) {
            return Ok(());
        }
        let path = self.path.clone();
        let result = tokio::task::spawn_blocking(move || write_atomically(&path, text.as_bytes()))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r);
        result.map_err(|error| EmulatorError::State {
            path: self.path.clone(),
            message: format!("cannot write it: {error}"),
        })?;
        *written = Some(generation);
        Ok(())
    }
}

/// The state text and a final newline through `fsx::write_atomic` (temporary file in the same
/// directory, fsync, rename over the target — never through a symlink —, fsync of the directory).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut text = Vec::with_capacity(bytes.len() + 1);
    text.extend_from_slice(bytes);
    text.push(b'\n');
    crate::fsx::write_atomic(path, &text)
}

//! The state file (`--state FILE`): the org as JSON, loaded at start and written atomically — a
//! temporary file beside it, fsync, rename, fsync of the directory — so that a crash leaves either
//! the old or the new state, never a torn one. Snapshots carry the org's generation and an older
//! one never overwrites a newer one, whichever task writes last.

use std::io::Write;
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

/// Temporary file in the same directory, fsync, rename over the target, fsync the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&directory)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state.json".to_string());
    let temporary = directory.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result?;
    // The rename is durable once the directory entry is: best effort where directories open.
    if let Ok(dir) = std::fs::File::open(&directory) {
        let _ = dir.sync_all();
    }
    Ok(())
}

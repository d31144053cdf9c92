//! `--watch`: every interval, the path, size and modification time of every file under the project
//! directory (hidden directories and `target/` skipped) are compared with the previous poll; on a
//! change that has settled (two polls agree) the project is reloaded, and a set that fails validation
//! keeps the old one serving. The reload itself is the caller's (`http` passes it in), so this
//! module knows nothing of the server.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

pub(super) type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// Polls until stopped, calling `reload` after each settled change; `last` is the fingerprint the
/// serving set was loaded from (or older).
pub(super) async fn run<R, F>(
    reload: R,
    dir: PathBuf,
    mut last: Fingerprint,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
) where
    R: Fn() -> F,
    F: Future<Output = ()>,
{
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stopped.changed() => return,
        }
        let mut now = scan(dir.clone()).await;
        if now != last {
            // Let a save in progress finish (editors write in steps): reload once two polls agree.
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stopped.changed() => return,
                }
                let again = scan(dir.clone()).await;
                if again == now {
                    break;
                }
                now = again;
            }
            last = now;
            tracing::info!(target: "nodectl::serve", dir = %dir.display(), "files changed; reloading");
            reload().await;
        }
    }
}

pub(super) async fn scan(dir: PathBuf) -> Fingerprint {
    tokio::task::spawn_blocking(move || {
        let mut found = Vec::new();
        walk(&dir, &mut found);
        found.sort();
        found
    })
    .await
    .unwrap_or_default()
}

fn walk(dir: &Path, found: &mut Fingerprint) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_dir() {
            walk(&entry.path(), found);
        } else {
            found.push((entry.path(), metadata.len(), metadata.modified().ok()));
        }
    }
}

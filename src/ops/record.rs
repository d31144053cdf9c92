//! `record`'s operation: check the fixture's place before the live run (an existing file only with
//! `--force`; no directory on the way that leads out of the project), run the node live and record
//! the fixture (`fixture::record`), write it, and say what the user should know: whether the replay
//! ends as the live run did, and whether `nodectl test` will find the fixture.

use std::path::{Path, PathBuf};

use super::OpsError;
use super::live::Prepared;
use crate::fixture::record;
use crate::manifest::paths;
use crate::model::ErrorKind;
use crate::runtime::Execution;
use crate::runtime::error::kind_name;

/// What a recording did.
#[derive(Debug, Clone)]
pub struct RecordReport {
    /// The fixture written, as `--out` named it (relative to the project).
    pub out: PathBuf,
    /// Attempts of the live run.
    pub attempts: usize,
    /// How the live run ended: `success` or the error kind.
    pub live: String,
    /// How the replay with placeholders ended.
    pub replay: String,
    /// The project's fixtures directory when the fixture is outside it (`test` will not run it).
    pub outside: Option<PathBuf>,
}

/// How an execution ended: `success`, or the error kind.
fn ending(execution: &Execution) -> String {
    match &execution.result {
        Ok(_) => "success".to_string(),
        Err(error) => kind_name(error.kind).to_string(),
    }
}

/// `nodectl record`: the fixture goes to `out` (relative to the project directory). A live run that
/// could not reach the upstream at all (connection, DNS, TLS, timeout) writes nothing and fails,
/// unless `allow_failure`: such a fixture records the network of the machine, not the upstream.
pub async fn run(
    prepared: Prepared,
    out: &Path,
    force: bool,
    allow_failure: bool,
) -> Result<RecordReport, OpsError> {
    let project = &prepared.project;
    let target = place(&project.config.dir, out, force)?;
    let recorded = record::record(
        &prepared.node,
        &prepared.input,
        &prepared.context,
        prepared.transport,
        &prepared.env_name,
    )
    .await
    .map_err(|error| OpsError::Io(error.to_string()))?;
    if let Err(error) = &recorded.live.result
        && matches!(
            error.kind,
            ErrorKind::RemoteConnect | ErrorKind::RemoteTimeout
        )
        && !allow_failure
    {
        return Err(OpsError::Io(format!(
            "the upstream could not be reached ({error}); nothing recorded. A fixture of this failure is written only with --allow-failure"
        )));
    }
    paths::write_inside(&project.config.dir, &target, recorded.toml.as_bytes())
        .map_err(|error| OpsError::Io(format!("cannot write `{}`: {error}", out.display())))?;
    let fixtures_dir = &project.config.fixtures_dir;
    Ok(RecordReport {
        out: out.to_path_buf(),
        attempts: recorded.live.attempts.len(),
        live: ending(&recorded.live),
        replay: ending(&recorded.replay),
        outside: (!out.starts_with(fixtures_dir)).then(|| fixtures_dir.clone()),
    })
}

/// Where the fixture goes, checked before the live run so that a bad `--out` does not throw a
/// recording away; a directory on the way that leads out of the project is refused (the fixture
/// belongs to the project), and the directory is made.
fn place(project_dir: &Path, out: &Path, force: bool) -> Result<PathBuf, OpsError> {
    let target = project_dir.join(out);
    if target.exists() && !force {
        return Err(OpsError::Refused(format!(
            "`{}` exists; refusing to overwrite it without --force",
            out.display()
        )));
    }
    let target = paths::check_write_target(project_dir, &target).map_err(|reason| {
        OpsError::Io(format!(
            "--out {}: it {reason}; nothing recorded",
            out.display()
        ))
    })?;
    if let Some(parent) = target.parent()
        && let Err(error) = std::fs::create_dir_all(parent)
    {
        let shown = out.parent().unwrap_or(out).display();
        let why = if parent.is_file() {
            "it is a file".to_string()
        } else {
            error.to_string()
        };
        return Err(OpsError::Io(format!(
            "--out {}: cannot create its directory `{shown}`: {why}",
            out.display()
        )));
    }
    Ok(target)
}

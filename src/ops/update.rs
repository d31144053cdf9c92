//! `test --update`'s operation: for every failing fixture of a test run, read its file, have
//! `fixture::update` rewrite its request expectations and expected output from the dry-run, and
//! (unless it is a dry run) write it back through `paths::write_inside`. A file rendered for more
//! than one env is updated from its first failing result only.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::OpsError;
use crate::fixture::update::{self, FixtureUpdate};
use crate::fixture::{Failure, TestRun};
use crate::manifest::{Project, paths};

/// One fixture file's update.
#[derive(Debug, Clone)]
pub struct Updated {
    /// The file, relative to the project directory.
    pub path: PathBuf,
    pub node: String,
    pub fixture: String,
    /// The text before.
    pub before: String,
    pub update: FixtureUpdate,
}

/// The updates of the run's failing fixtures (those whose node loaded), and the files that could
/// not be read or edited.
pub fn updates(project: &Project, run: &TestRun) -> (Vec<Updated>, Vec<(PathBuf, String)>) {
    let mut seen = BTreeSet::new();
    let mut done = Vec::new();
    let mut problems = Vec::new();
    for result in run.results.iter().filter(|r| !r.passed()) {
        if result.failures.contains(&Failure::NodeMissing)
            || !seen.insert(result.fixture.source.clone())
        {
            continue;
        }
        let path = result.fixture.source.clone();
        let before = match std::fs::read_to_string(project.config.dir.join(&path)) {
            Ok(text) => text,
            Err(error) => {
                problems.push((path, format!("cannot read it: {error}")));
                continue;
            }
        };
        match update::update(&before, result) {
            Ok(update) => done.push(Updated {
                path,
                node: result.fixture.node.clone(),
                fixture: result.fixture.name.clone(),
                before,
                update,
            }),
            Err(error) => problems.push((path, error.to_string())),
        }
    }
    (done, problems)
}

/// Writes the updated files; how many.
pub fn write(project: &Project, updates: &[Updated]) -> Result<usize, OpsError> {
    let mut written = 0;
    for updated in updates {
        let Some(text) = &updated.update.text else {
            continue;
        };
        let target = project.config.dir.join(&updated.path);
        paths::write_inside(&project.config.dir, &target, text.as_bytes()).map_err(|error| {
            OpsError::Io(format!(
                "cannot write `{}`: {error}",
                updated.path.display()
            ))
        })?;
        written += 1;
    }
    Ok(written)
}

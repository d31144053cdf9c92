//! Containment of the files a project names (docs/security.md): a pull request is hostile input, so
//! a path written in `nodectl.toml`, a manifest or a fixture — and a file found by walking the
//! project's directories — is read only when its real path (every symlink resolved) lies inside the
//! project's real path, outside `.git/` (where CI keeps its checkout token) and outside nodectl's
//! own state directory `.nodectl/`. The same rule, applied to the directory a write lands in, keeps
//! nodectl's writes inside the project when the place named is inside it.
//!
//! The lexical checks (absolute path, `..` above the root, a `.git` or `.nodectl` component) come
//! first and touch nothing on disk; only then is the path canonicalized, so that a refused path is
//! never opened and its content (or even its size) never shown.

use std::path::{Component, Path, PathBuf};

use thiserror::Error;

/// The directory nodectl keeps its local state in (emulator orgs, content cache, credentials).
pub const STATE_DIR: &str = ".nodectl";
/// git's directory: its config may hold the CI job's checkout token.
pub const GIT_DIR: &str = ".git";

/// Which part of the project a path may lead into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// The project's own files: not `.git/`, not `.nodectl/` (what manifests and fixtures name).
    Project,
    /// The project's files or nodectl's state under `.nodectl/` (credentials files, the emulator's
    /// state, the content cache); never `.git/`.
    ProjectOrState,
}

/// Why a path is not read (or written). Each message finishes the sentence "`path` …".
#[derive(Debug, Error)]
pub enum ContainmentError {
    #[error("is an absolute path; a project names its files relative to the file that names them")]
    Absolute,
    #[error("leaves the project through `..`")]
    ParentDir,
    #[error("leads through a symlink to outside the project")]
    SymlinkOutside,
    /// Only for writes: missing directories are created, but never through a symlink.
    #[error(
        "leads through a symlink to a directory that does not exist (nodectl creates no directory through a symlink)"
    )]
    DanglingSymlink,
    #[error(
        "is inside .git/, which is git's and not part of the project (CI keeps its token there)"
    )]
    GitDir,
    #[error("is inside .nodectl/, nodectl's own local state and not part of the project")]
    StateDir,
    /// The path could not be resolved (missing, a dangling symlink, a loop): the caller reports it
    /// as the read failure it would have been.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ContainmentError {
    /// Whether nothing is at the path (a missing file that some callers treat as "none given").
    pub fn is_not_found(&self) -> bool {
        matches!(self, ContainmentError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The real path of `relative` (relative to the project directory `project_dir`) when it may be
/// read: inside the project after every symlink is resolved, and outside `.git/` (and outside
/// `.nodectl/` unless `area` allows it). Read the returned path, not `project_dir.join(relative)`.
pub fn contain(
    project_dir: &Path,
    relative: &Path,
    area: Area,
) -> Result<PathBuf, ContainmentError> {
    if relative.has_root() || relative.is_absolute() {
        return Err(ContainmentError::Absolute);
    }
    let lexical = normalize(relative).ok_or(ContainmentError::ParentDir)?;
    check_components(&lexical, area)?;
    let real_root = project_dir.canonicalize()?;
    // The OS resolves `..` after a symlink, not before it: what is read is what is checked.
    let real = project_dir.join(relative).canonicalize()?;
    let inner = real
        .strip_prefix(&real_root)
        .map_err(|_| ContainmentError::SymlinkOutside)?;
    check_components(inner, area)?;
    Ok(real)
}

/// Checks the place a file is about to be written: when `path` (absolute, or relative to the
/// current directory) names a place inside the project, the directory it lands in — its nearest
/// existing ancestor, as missing directories are about to be created — must really be inside the
/// project and outside `.git/`. A path outside the project is the user's own choice and is allowed.
/// The file itself may be a symlink: `fsx::write_atomic` renames over it instead of following it.
///
/// Returns the path to write: for a place inside the project, the checked one (absolute, `..`
/// resolved lexically, as checked); else `path` as given.
pub fn check_write_target(project_dir: &Path, path: &Path) -> Result<PathBuf, ContainmentError> {
    let cwd = std::env::current_dir()?;
    let absolute_root = normalize_absolute(&cwd.join(project_dir));
    let real_root = project_dir.canonicalize()?;
    let target = normalize_absolute(&cwd.join(path));
    let inner = match (
        target.strip_prefix(&absolute_root),
        target.strip_prefix(&real_root),
    ) {
        (Ok(inner), _) | (_, Ok(inner)) => inner.to_path_buf(),
        (Err(_), Err(_)) => return Ok(path.to_path_buf()),
    };
    check_components(&inner, Area::ProjectOrState)?;
    let Some(mut directory) = target.parent().map(Path::to_path_buf) else {
        return Ok(target);
    };
    let real_directory = loop {
        match directory.canonicalize() {
            Ok(real) => break real,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                // `create_dir_all` would follow a dangling symlink among the missing directories
                // to wherever it points.
                if directory.symlink_metadata().is_ok() {
                    return Err(ContainmentError::DanglingSymlink);
                }
                if !directory.pop() {
                    return Err(error.into());
                }
            }
            Err(error) => return Err(error.into()),
        }
    };
    let inner = real_directory
        .strip_prefix(&real_root)
        .map_err(|_| ContainmentError::SymlinkOutside)?;
    check_components(inner, Area::ProjectOrState)?;
    Ok(target)
}

/// Why a file was not written.
#[derive(Debug, Error)]
pub enum WriteError {
    #[error("it {0}; nothing written")]
    Refused(ContainmentError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Writes `bytes` to `path` (absolute, or relative to the current directory) after
/// `check_write_target`, through `fsx::write_atomic`: the one way nodectl writes a file that may lie
/// inside a project. Returns the path written.
pub fn write_inside(project_dir: &Path, path: &Path, bytes: &[u8]) -> Result<PathBuf, WriteError> {
    let target = check_write_target(project_dir, path).map_err(|error| match error {
        ContainmentError::Io(io) => WriteError::Io(io),
        refused => WriteError::Refused(refused),
    })?;
    // An output's folders are made (`--junit target/report.xml` in a fresh clone): the check above
    // refused any symlink among the missing ones.
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    crate::fsx::write_atomic(&target, bytes)?;
    Ok(target)
}

/// Refuses a path inside the project whose components name `.git` (anywhere: a nested repository's
/// too) or, unless allowed, `.nodectl` at the top.
fn check_components(inner: &Path, area: Area) -> Result<(), ContainmentError> {
    for (index, component) in inner.components().enumerate() {
        let Component::Normal(name) = component else {
            continue;
        };
        let name = name.to_string_lossy();
        // Case-insensitive: on macOS and Windows `.GIT` is `.git`.
        if name.eq_ignore_ascii_case(GIT_DIR) {
            return Err(ContainmentError::GitDir);
        }
        if index == 0 && area == Area::Project && name.eq_ignore_ascii_case(STATE_DIR) {
            return Err(ContainmentError::StateDir);
        }
    }
    Ok(())
}

/// `relative` without `.` and `..` components, or `None` when `..` climbs above its start.
fn normalize(relative: &Path) -> Option<PathBuf> {
    let mut kept: Vec<&std::ffi::OsStr> = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(name) => kept.push(name),
            Component::CurDir => {}
            Component::ParentDir => {
                kept.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(kept.iter().collect())
}

/// An absolute path with `.` and `..` resolved lexically (`..` at the root stays at the root).
fn normalize_absolute(path: &Path) -> PathBuf {
    let mut result = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                result.pop();
            }
            Component::CurDir => {}
            other => result.push(other),
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `work/project` with a file, a subdirectory, `.git/config`, `.nodectl/state.json`, and
    /// `work/outside/secret.txt`.
    fn layout() -> (tempfile::TempDir, PathBuf) {
        let work = tempfile::tempdir().unwrap();
        let project = work.path().join("project");
        for dir in ["nodes", ".git", ".nodectl", "sub/.git"] {
            std::fs::create_dir_all(project.join(dir)).unwrap();
        }
        std::fs::create_dir_all(work.path().join("outside")).unwrap();
        for file in [
            "project/nodes/a.json",
            "project/.git/config",
            "project/.nodectl/state.json",
            "project/sub/.git/config",
            "outside/secret.txt",
        ] {
            std::fs::write(work.path().join(file), "x").unwrap();
        }
        (work, project)
    }

    fn link(target: &str, at: &Path) {
        std::os::unix::fs::symlink(target, at).unwrap();
    }

    fn refusal(project: &Path, relative: &str, area: Area) -> String {
        match contain(project, Path::new(relative), area) {
            Ok(real) => format!("ok {}", real.display()),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn a_file_inside_is_read_through_its_real_path() {
        let (_work, project) = layout();
        let real = contain(
            &project,
            Path::new("nodes/../nodes/./a.json"),
            Area::Project,
        )
        .unwrap();
        assert_eq!(real, project.canonicalize().unwrap().join("nodes/a.json"));
        link("a.json", &project.join("nodes/b.json"));
        assert!(contain(&project, Path::new("nodes/b.json"), Area::Project).is_ok());
    }

    #[test]
    fn absolute_paths_and_climbing_out_are_refused_before_any_lookup() {
        let (_work, project) = layout();
        let outside = project.join("../outside/secret.txt");
        let absolute = outside.to_string_lossy().into_owned();
        assert!(matches!(
            contain(&project, Path::new(&absolute), Area::Project),
            Err(ContainmentError::Absolute)
        ));
        assert!(matches!(
            contain(&project, Path::new("../outside/secret.txt"), Area::Project),
            Err(ContainmentError::ParentDir)
        ));
        // Climbing out does not depend on the file existing.
        assert!(matches!(
            contain(&project, Path::new("nodes/../../nowhere"), Area::Project),
            Err(ContainmentError::ParentDir)
        ));
    }

    #[test]
    fn symlinks_to_outside_are_refused_whether_file_or_directory() {
        let (_work, project) = layout();
        link("../../outside/secret.txt", &project.join("nodes/link.json"));
        link("../outside", &project.join("out"));
        for relative in ["nodes/link.json", "out/secret.txt", "out"] {
            assert!(
                matches!(
                    contain(&project, Path::new(relative), Area::ProjectOrState),
                    Err(ContainmentError::SymlinkOutside)
                ),
                "{relative}: {}",
                refusal(&project, relative, Area::Project)
            );
        }
    }

    #[test]
    fn git_is_refused_everywhere_and_state_unless_allowed() {
        let (_work, project) = layout();
        link("../.git/config", &project.join("nodes/config.json"));
        for relative in [".git/config", "sub/.git/config", "nodes/config.json"] {
            assert!(matches!(
                contain(&project, Path::new(relative), Area::ProjectOrState),
                Err(ContainmentError::GitDir)
            ));
        }
        assert!(matches!(
            contain(&project, Path::new(".nodectl/state.json"), Area::Project),
            Err(ContainmentError::StateDir)
        ));
        assert!(
            contain(
                &project,
                Path::new(".nodectl/state.json"),
                Area::ProjectOrState
            )
            .is_ok()
        );
    }

    #[test]
    fn missing_files_and_dangling_links_are_read_errors() {
        let (_work, project) = layout();
        link("gone.json", &project.join("nodes/dangling.json"));
        for relative in ["nodes/missing.json", "nodes/dangling.json"] {
            let error = contain(&project, Path::new(relative), Area::Project).unwrap_err();
            assert!(error.is_not_found(), "{relative}: {error}");
        }
    }

    #[test]
    fn writes_inside_the_project_must_land_inside_it() {
        let (work, project) = layout();
        link("../outside", &project.join("reports"));
        link("../outside/x.xml", &project.join("out.xml"));
        link("../outside/missing", &project.join("dangling"));
        let check = |path: PathBuf| check_write_target(&project, &path);
        assert!(
            check(project.join("out.xml")).is_ok(),
            "the link is replaced"
        );
        assert!(check(project.join("new/dir/file.toml")).is_ok());
        assert!(check(project.join(".nodectl/cache/x.json")).is_ok());
        assert!(check(work.path().join("elsewhere.xml")).is_ok());
        assert!(matches!(
            check(project.join("reports/out.xml")),
            Err(ContainmentError::SymlinkOutside)
        ));
        assert!(matches!(
            check(project.join("dangling/sub/out.xml")),
            Err(ContainmentError::DanglingSymlink)
        ));
        assert!(matches!(
            check(project.join(".git/hooks/pre-commit")),
            Err(ContainmentError::GitDir)
        ));
    }
}

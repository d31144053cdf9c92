//! Writing files so that a symlink planted at the target (by a pull request, docs/security.md) is
//! replaced rather than written through: every file nodectl writes goes to a new temporary file in
//! the target's directory and is renamed over the target. `rename` replaces a symlink itself, and the
//! temporary file is created exclusively (`O_EXCL`), which never follows a symlink either. A crash
//! leaves the old file or the new one, never a torn one. A leaf: no dependency on the rest of nodectl.

use std::io::Write;
use std::path::{Path, PathBuf};

/// How many temporary names to try when one is taken (by a planted file or a concurrent writer).
const TEMPORARY_ATTEMPTS: u32 = 16;

/// Writes `bytes` to `path` atomically: creates the missing parent directories, writes a temporary
/// file beside the target, fsyncs it, renames it over the target and fsyncs the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&directory)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path names no file (it ends in `..` or `/`)",
            )
        })?;
    let (temporary, mut file) = create_temporary(&directory, &name)?;
    let result = (|| {
        file.write_all(bytes)?;
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

/// A new file `.<name>.tmp-<pid>-<n>` in `directory`, created exclusively.
fn create_temporary(directory: &Path, name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut last_error = None;
    for attempt in 0..TEMPORARY_ATTEMPTS {
        let temporary = directory.join(format!(".{name}.tmp-{}-{attempt}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)
        {
            Ok(file) => return Ok((temporary, file)),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                last_error = Some(error);
            }
            Err(error) => return Err(error),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no temporary name was free")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_at_the_target_is_replaced_not_followed() {
        let work = tempfile::tempdir().unwrap();
        let outside = work.path().join("outside.txt");
        std::fs::write(&outside, "untouched").unwrap();
        let target = work.path().join("dir/report.xml");
        std::fs::create_dir_all(work.path().join("dir")).unwrap();
        std::os::unix::fs::symlink(&outside, &target).unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "untouched");
        assert!(!target.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }

    #[test]
    fn a_planted_temporary_name_is_not_followed() {
        let work = tempfile::tempdir().unwrap();
        let outside = work.path().join("outside.txt");
        std::fs::write(&outside, "untouched").unwrap();
        let planted = work
            .path()
            .join(format!(".out.json.tmp-{}-0", std::process::id()));
        std::os::unix::fs::symlink(&outside, &planted).unwrap();
        write_atomic(&work.path().join("out.json"), b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "untouched");
        assert_eq!(
            std::fs::read_to_string(work.path().join("out.json")).unwrap(),
            "{}"
        );
    }

    #[test]
    fn missing_directories_are_created_and_no_temporary_is_left() {
        let work = tempfile::tempdir().unwrap();
        write_atomic(&work.path().join("a/b/c.txt"), b"x").unwrap();
        let names: Vec<_> = std::fs::read_dir(work.path().join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("c.txt")]);
    }
}

//! The reference documentation in `docs/` kept true by tests: every property key of the JSON
//! Schemas that `nodectl schema project|node|fixture` prints is documented in `docs/formats.md`, and
//! every fenced TOML example marked as a complete file (info string `toml file=PATH`, optionally
//! `project=NAME`; the project defaults to the document's name) is assembled with the other files
//! of its project into a temporary directory that must pass `nodectl validate`. Each check also runs
//! once on a deliberately broken copy, to show that it can fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every key of every `properties` object anywhere in the schema (`$defs`, `items`, `anyOf`, …).
fn property_keys(value: &Value, keys: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                keys.extend(properties.keys().cloned());
            }
            map.values().for_each(|v| property_keys(v, keys));
        }
        Value::Array(items) => items.iter().for_each(|v| property_keys(v, keys)),
        _ => {}
    }
}

/// The property keys of `nodectl schema <kind>`, computed from the binary's output.
fn schema_keys(kind: &str) -> BTreeSet<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_nodectl"))
        .args(["schema", kind])
        .output()
        .unwrap_or_else(|e| panic!("nodectl schema {kind}: {e}"));
    assert!(output.status.success(), "nodectl schema {kind} failed");
    let schema: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("nodectl schema {kind}: not JSON: {e}"));
    let mut keys = BTreeSet::new();
    property_keys(&schema, &mut keys);
    keys
}

/// The schema keys of the three formats that `doc` never mentions as `key` (in backticks).
fn undocumented_keys(doc: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for kind in ["project", "node", "fixture"] {
        let keys = schema_keys(kind);
        assert!(keys.len() > 5, "schema {kind}: only {keys:?}");
        for key in keys {
            if !doc.contains(&format!("`{key}`")) {
                missing.push(format!("{kind}: `{key}`"));
            }
        }
    }
    missing
}

#[test]
fn every_schema_key_is_documented_in_formats_md() {
    let doc = read(&docs_dir().join("formats.md"));
    let missing = undocumented_keys(&doc);
    assert!(
        missing.is_empty(),
        "keys missing from docs/formats.md: {missing:?}"
    );
    // The check can fail: drop one key's every mention and it is reported.
    let broken = doc.replace("`translation_map_defaults`", "translation map defaults");
    assert_eq!(
        undocumented_keys(&broken),
        vec!["node: `translation_map_defaults`".to_string()]
    );
}

/// A complete file from a fenced block: its project, path and text.
#[derive(Debug, Clone)]
struct FileBlock {
    project: String,
    path: String,
    text: String,
}

/// The fenced blocks of `markdown` whose info string is `toml` with a `file=PATH` attribute.
fn file_blocks(markdown: &str, default_project: &str) -> Vec<FileBlock> {
    let mut blocks = Vec::new();
    let mut current: Option<FileBlock> = None;
    let mut in_other_fence = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some(block) = current.as_mut() {
            if trimmed.starts_with("```") {
                blocks.extend(current.take());
            } else {
                block.text.push_str(line);
                block.text.push('\n');
            }
            continue;
        }
        let Some(info) = trimmed.strip_prefix("```") else {
            continue;
        };
        if in_other_fence {
            in_other_fence = false;
            continue;
        }
        let mut words = info.split_whitespace();
        let language = words.next();
        let attributes: BTreeMap<&str, &str> =
            words.filter_map(|word| word.split_once('=')).collect();
        match (language, attributes.get("file")) {
            (Some("toml"), Some(path)) => {
                current = Some(FileBlock {
                    project: attributes
                        .get("project")
                        .unwrap_or(&default_project)
                        .to_string(),
                    path: path.to_string(),
                    text: String::new(),
                });
            }
            _ => in_other_fence = true,
        }
    }
    assert!(current.is_none(), "unterminated fenced block");
    blocks
}

/// Every marked block of every document in `docs/`, by project (`<doc>` or `<doc>/<project>`).
fn projects_of(docs: &[(String, String)]) -> BTreeMap<String, Vec<FileBlock>> {
    let mut projects: BTreeMap<String, Vec<FileBlock>> = BTreeMap::new();
    for (name, text) in docs {
        for block in file_blocks(text, name) {
            let key = if block.project == *name {
                name.clone()
            } else {
                format!("{name}/{}", block.project)
            };
            projects.entry(key).or_default().push(block);
        }
    }
    projects
}

/// Writes the project's files into a temporary directory and runs `nodectl validate` there;
/// `Err` with the output when it does not pass cleanly.
fn validate_project(name: &str, files: &[FileBlock]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut seen = BTreeSet::new();
    for file in files {
        assert!(
            seen.insert(file.path.clone()),
            "{name}: two blocks write {}",
            file.path
        );
        assert!(
            !file.path.starts_with('/') && !file.path.contains(".."),
            "{name}: file={} must be a relative path inside the project",
            file.path
        );
        let path = dir.path().join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(&path, &file.text).unwrap_or_else(|e| panic!("{e}"));
    }
    if !seen.contains("nodectl.toml") {
        return Err(format!(
            "{name}: no block is marked `toml file=nodectl.toml`"
        ));
    }
    let output = Command::new(env!("CARGO_BIN_EXE_nodectl"))
        .args(["validate", "--color", "never", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("nodectl validate: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{name}: nodectl validate failed:\n{text}"))
    }
}

fn all_docs() -> Vec<(String, String)> {
    let mut docs = Vec::new();
    for entry in std::fs::read_dir(docs_dir()).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension().is_some_and(|e| e == "md") {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            docs.push((stem, read(&path)));
        }
    }
    docs.sort();
    docs
}

#[test]
fn every_complete_toml_example_in_docs_validates() {
    let docs = all_docs();
    let projects = projects_of(&docs);
    // The documents that carry complete examples must keep carrying them.
    for expected in ["formats", "first-project"] {
        assert!(
            projects
                .keys()
                .any(|k| k.split('/').next() == Some(expected)),
            "docs/{expected}.md has no `toml file=…` block: {:?}",
            projects.keys()
        );
    }
    let failures: Vec<String> = projects
        .iter()
        .filter_map(|(name, files)| validate_project(name, files).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // The check can fail: an unknown key in formats.md's node example is reported.
    let (name, files) = projects
        .iter()
        .find(|(name, _)| name.as_str() == "formats")
        .unwrap_or_else(|| panic!("no formats project"));
    let mut broken = files.clone();
    for file in broken.iter_mut().filter(|f| f.path.starts_with("nodes/")) {
        file.text = file.text.replacen("category = ", "categroy = ", 1);
    }
    assert!(
        validate_project(name, &broken).is_err(),
        "a misspelt key in a documented node still validates"
    );
}

//! Loading a project: `nodectl.toml`, `nodes/*.toml` and `fixtures/**/*.toml` → model values, with
//! every problem reported at once as a diagnostic at `path:line:col` (docs/formats.md).
//!
//! Pipeline per file: read → TOML parse (all syntax errors) → tera rendering of the strings docs/formats.md
//! names, per env → shape check against the schema derived from `format` (all shape errors) → serde →
//! semantic rules (`project`, `node`, `contract`, `fixture`) → cross-file rules (unique names per
//! integration, fixture → existing node, nodes without fixtures).

pub mod contract;
pub mod credentials;
pub mod diag;
pub mod fixture;
pub mod format;
pub mod node;
pub mod paths;
pub mod project;
pub mod render;
pub mod secrets;
pub mod shape;
pub mod source;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;
use thiserror::Error;

pub use diag::{Diagnostic, Diagnostics, Position, Severity};
use format::{FixtureFile, NodeFile};
use node::ContractCache;
use paths::{Area, ContainmentError};
use render::VarRenderer;
use shape::FileKind;
use source::{Seg, SourceFile, Target};

use crate::model::{Env, Fixture, IntegrationType, Node, ProjectConfig};
use crate::seg_path;

/// Which environments to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvScope {
    /// Every env of the project (`validate` without `--env`).
    All,
    /// One env: the named one, or the project's `default_env`.
    One(Option<String>),
}

/// Where the project is and what to check.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `--dir`; `None` discovers the project upwards from `cwd`.
    pub dir: Option<PathBuf>,
    pub cwd: PathBuf,
    pub envs: EnvScope,
}

/// Problems that prevent loading before any file can be read.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("`{0}` is not a directory")]
    DirNotFound(PathBuf),
    #[error("no {file} in `{0}` or any parent directory; run nodectl inside a project or pass --dir", file = project::PROJECT_FILE)]
    NoProject(PathBuf),
}

/// A loaded project: what every command works from.
#[derive(Debug, Clone)]
pub struct Project {
    pub config: ProjectConfig,
    /// The resolved nodes of every env that was loaded.
    pub nodes: BTreeMap<String, Vec<Node>>,
    /// Every fixture, once per env it was resolved for.
    pub fixtures: Vec<Fixture>,
    /// The envs checked, in order.
    pub checked_envs: Vec<String>,
    /// How the user names the project directory (`--dir` as given), for diagnostics.
    pub display_root: PathBuf,
    pub node_files: usize,
    pub fixture_files: usize,
}

/// The result of loading: the project (absent when `nodectl.toml` is unusable) and every problem.
#[derive(Debug)]
pub struct Loaded {
    pub project: Option<Project>,
    pub diagnostics: Diagnostics,
}

/// The display form of a project file: `--dir` joined with its relative path.
pub fn display_path(root: &Path, relative: &Path) -> PathBuf {
    if root.as_os_str().is_empty() || root == Path::new(".") {
        relative.to_path_buf()
    } else {
        root.join(relative)
    }
}

/// Finds and loads the project.
///
/// Long on purpose: it is the loader's pipeline (project file, file discovery, parse, per-env
/// resolution of nodes, fixtures against them, cross-file rules), read top to bottom; its stages
/// share the diagnostics, the raw files and the per-env results, and each stage's own work is in
/// the functions it calls.
pub fn load(options: &LoadOptions) -> Result<Loaded, LoadError> {
    let (dir, display_root) = match &options.dir {
        Some(dir) => {
            let full = options.cwd.join(dir);
            if !full.is_dir() {
                return Err(LoadError::DirNotFound(dir.clone()));
            }
            (full, dir.clone())
        }
        None => {
            let found = project::discover(&options.cwd)
                .ok_or_else(|| LoadError::NoProject(options.cwd.clone()))?;
            let display = relative_display(&options.cwd, &found);
            (found, display)
        }
    };
    let mut diags = Diagnostics::default();
    let Some((config, project_file)) = project::load(&dir, &display_root, &mut diags) else {
        check_without_project(&dir, &display_root, &mut diags);
        diags.normalize();
        return Ok(Loaded {
            project: None,
            diagnostics: diags,
        });
    };

    let scope = scope_envs(&config, &project_file, &options.envs, &mut diags);
    // A refused nodes directory leaves no names to check fixtures against (see `known_nodes`).
    let node_sources = read_dir_files(
        &dir,
        &display_root,
        &config.nodes_dir,
        false,
        Some((&project_file, "nodes")),
        &mut diags,
    );
    let nodes_dir_refused = node_sources.is_none();
    let node_sources = node_sources.unwrap_or_default();
    let fixture_sources = read_dir_files(
        &dir,
        &display_root,
        &config.fixtures_dir,
        true,
        Some((&project_file, "fixtures")),
        &mut diags,
    )
    .unwrap_or_default();

    let node_file_count = node_sources.len();
    let nodes_raw: Vec<RawFile> = node_sources
        .into_iter()
        .filter_map(|f| RawFile::parse(f, &mut diags))
        .collect();
    let fixture_file_count = fixture_sources.len();
    let fixtures_raw: Vec<RawFile> = fixture_sources
        .into_iter()
        .filter_map(|f| RawFile::parse(f, &mut diags))
        .collect();

    // A fixture that names its env is resolved with that env, in or out of scope.
    let mut fixture_envs: Vec<Vec<String>> = Vec::with_capacity(fixtures_raw.len());
    for raw in &fixtures_raw {
        fixture_envs.push(match raw.value.get("env").and_then(Value::as_str) {
            Some(env) if config.envs.contains_key(env) => vec![env.to_string()],
            Some(env) => {
                let names: Vec<&str> = config.envs.keys().map(String::as_str).collect();
                diags.error(
                    &raw.file.display,
                    raw.file.locate(&[Seg::Key("env".into())], Target::Value),
                    format!(
                        "fixture env `{env}` is not defined in nodectl.toml{}",
                        project::env_hint(env, &names)
                    ),
                );
                Vec::new()
            }
            None => scope.clone(),
        });
    }
    let mut resolve_envs: BTreeSet<String> = scope.iter().cloned().collect();
    resolve_envs.extend(fixture_envs.iter().flatten().cloned());

    // Fixtures are checked against every node *file*'s name, so that a node with errors of its own
    // does not also make its fixtures "unknown".
    let mut contracts = ContractCache::default();
    let mut nodes: BTreeMap<String, Vec<Node>> = BTreeMap::new();
    let mut shape_once: HashMap<usize, Option<NodeFile>> = HashMap::new();
    let mut node_names: Vec<Option<String>> = vec![None; nodes_raw.len()];
    for env_name in &resolve_envs {
        let Some(env) = config.envs.get(env_name) else {
            continue;
        };
        let renderer = VarRenderer::new(&config.name, env);
        let mut env_nodes = Vec::with_capacity(nodes_raw.len());
        for (index, raw) in nodes_raw.iter().enumerate() {
            let parsed = if raw.needs_render {
                let mut value = raw.value.clone();
                renderer.render_tree(&raw.file, &mut value, &|_| true, &mut diags);
                shape::check::<NodeFile>(FileKind::Node, &raw.file, &value, &mut diags)
            } else {
                shape_once
                    .entry(index)
                    .or_insert_with(|| {
                        shape::check::<NodeFile>(FileKind::Node, &raw.file, &raw.value, &mut diags)
                    })
                    .clone()
            };
            let Some(parsed) = parsed else { continue };
            if let Some(slot) = node_names.get_mut(index) {
                slot.get_or_insert_with(|| parsed.name.clone());
            }
            if let Some(node) =
                node::resolve(&dir, &raw.file, &parsed, env, &mut contracts, &mut diags)
            {
                env_nodes.push((index, node));
            }
        }
        check_unique_names(env, &nodes_raw, &env_nodes, &mut diags);
        nodes.insert(
            env_name.clone(),
            env_nodes.into_iter().map(|(_, n)| n).collect(),
        );
    }

    // Fixtures are checked against every node *file*'s (rendered) name, so that a node with errors of
    // its own does not also make its fixtures "unknown"; when a node file has no readable name at
    // all, "unknown node" cannot be told apart and is not reported.
    let known_nodes: Option<BTreeSet<String>> =
        if !nodes_dir_refused && nodes_raw.len() == node_file_count {
            node_names.iter().cloned().collect()
        } else {
            None
        };
    let known_nodes = known_nodes.as_ref();
    // A node's earlier names, so that a fixture still naming one is pointed at the node's name now.
    let renamed: BTreeMap<String, String> = nodes
        .values()
        .flatten()
        .flat_map(|n| {
            n.previous_names
                .iter()
                .map(|old| (old.clone(), n.key.name.clone()))
        })
        .collect();
    let mut fixtures = Vec::new();
    let mut fixture_nodes: BTreeSet<String> = BTreeSet::new();
    for (raw, envs) in fixtures_raw.iter().zip(&fixture_envs) {
        if let Some(node) = raw.value.get("node").and_then(Value::as_str) {
            fixture_nodes.insert(node.to_string());
        }
        let relative_to_fixtures = raw
            .file
            .relative
            .strip_prefix(&config.fixtures_dir)
            .unwrap_or(&raw.file.relative);
        let name = fixture::fixture_name(relative_to_fixtures);
        for env_name in envs {
            let Some(env) = config.envs.get(env_name) else {
                continue;
            };
            let mut value = raw.value.clone();
            if raw.needs_render {
                VarRenderer::new(&config.name, env).render_tree(
                    &raw.file,
                    &mut value,
                    &fixture::renders,
                    &mut diags,
                );
            }
            let Some(parsed) =
                shape::check::<FixtureFile>(FileKind::Fixture, &raw.file, &value, &mut diags)
            else {
                continue;
            };
            if let Some(resolved) = fixture::resolve(
                &dir,
                &raw.file,
                name.clone(),
                &parsed,
                env,
                known_nodes.map(|names| fixture::KnownNodes {
                    names,
                    renamed: &renamed,
                }),
                &mut diags,
            ) {
                fixtures.push(resolved);
            }
        }
    }

    // The manifests of nodes of a type only Genesys executes live, found once (not per file).
    let cannot_run_live: HashMap<&Path, &IntegrationType> = nodes
        .values()
        .flatten()
        .filter(|n| n.integration_type.live_obstacle().is_some())
        .map(|n| (n.source.as_path(), &n.integration_type))
        .collect();
    for (raw, name) in nodes_raw.iter().zip(&node_names) {
        let Some(name) = name else { continue };
        // A node of a type only Genesys executes live: say so, and what still tests it.
        let live_obstacle = cannot_run_live
            .get(raw.file.relative.as_path())
            .and_then(|kind| Some((kind.live_obstacle()?, kind.dry_run_origin()?)));
        let untested = !fixture_nodes.contains(name);
        if live_obstacle.is_none() && !untested {
            continue;
        }
        // Positions cost a re-parse of the file: only for a warning.
        let at = raw.file.locate(&[Seg::Key("name".into())], Target::Value);
        if let Some((reason, origin)) = live_obstacle {
            diags.warning(
                &raw.file.display,
                at,
                format!(
                    "node `{}` cannot run live ({reason}): `run`, `record` and `serve` refuse it; `nodectl test` dry-runs it over fixtures whose requests go to `{origin}`",
                    name.escape_debug()
                ),
            );
        }
        if untested {
            diags.warning(
                &raw.file.display,
                at,
                format!(
                    "node `{}` has no fixture: `nodectl test` cannot check it (add one under {}/)",
                    name.escape_debug(),
                    config.fixtures_dir.display()
                ),
            );
        }
    }

    diags.normalize();
    tracing::debug!(
        dir = %dir.display(),
        node_files = node_file_count,
        fixture_files = fixture_file_count,
        envs = ?resolve_envs,
        errors = diags.error_count(),
        warnings = diags.warning_count(),
        "project loaded"
    );
    Ok(Loaded {
        project: Some(Project {
            checked_envs: scope,
            display_root,
            node_files: node_file_count,
            fixture_files: fixture_file_count,
            config,
            nodes,
            fixtures,
        }),
        diagnostics: diags,
    })
}

/// When `nodectl.toml` is unusable there are no envs to render with, but the node and fixture files
/// in the default directories can still be checked for syntax and shape, so that one run reports
/// as much as it can.
fn check_without_project(dir: &Path, display_root: &Path, diags: &mut Diagnostics) {
    for (sub, recursive, kind) in [
        ("nodes", false, FileKind::Node),
        ("fixtures", true, FileKind::Fixture),
    ] {
        let files = read_dir_files(dir, display_root, Path::new(sub), recursive, None, diags);
        for file in files.into_iter().flatten() {
            // Unrendered tera strings are still strings, so the shape check holds for them too.
            let Some(raw) = RawFile::parse(file, diags) else {
                continue;
            };
            match kind {
                FileKind::Node => {
                    shape::check::<NodeFile>(kind, &raw.file, &raw.value, diags);
                }
                _ => {
                    shape::check::<FixtureFile>(kind, &raw.file, &raw.value, diags);
                }
            }
        }
    }
}

/// A parsed file whose strings are not yet rendered.
struct RawFile {
    file: SourceFile,
    value: Value,
    needs_render: bool,
}

impl RawFile {
    fn parse(file: SourceFile, diags: &mut Diagnostics) -> Option<RawFile> {
        tracing::trace!(file = %file.display.display(), "parsing");
        let value = file.parse_toml(diags)?;
        let needs_render = render::tree_needs_render(&value);
        Some(RawFile {
            file,
            value,
            needs_render,
        })
    }
}

/// Whether `nodectl.toml` has an `[env.NAME]` table, valid or not.
fn env_declared(project_file: &SourceFile, name: &str) -> bool {
    toml::from_str::<toml::Table>(&project_file.text)
        .ok()
        .and_then(|table| table.get("env")?.as_table()?.get(name).cloned())
        .is_some()
}

fn scope_envs(
    config: &ProjectConfig,
    project_file: &SourceFile,
    scope: &EnvScope,
    diags: &mut Diagnostics,
) -> Vec<String> {
    let names: Vec<&str> = config.envs.keys().map(String::as_str).collect();
    match scope {
        EnvScope::All => names.iter().map(|n| n.to_string()).collect(),
        EnvScope::One(Some(name)) if config.envs.contains_key(name) => vec![name.clone()],
        // Declared but refused: its own errors say why; "not defined" would mislead.
        EnvScope::One(Some(name)) if env_declared(project_file, name) => Vec::new(),
        EnvScope::One(Some(name)) => {
            diags.error(
                &project_file.display,
                Position::START,
                format!(
                    "env `{name}` (from --env) is not defined in nodectl.toml{}",
                    project::env_hint(name, &names)
                ),
            );
            Vec::new()
        }
        EnvScope::One(None) => config
            .default_env
            .iter()
            .filter(|d| config.envs.contains_key(*d))
            .cloned()
            .collect(),
    }
}

/// The `.toml` files of a project directory, sorted (recursively for fixtures). The directory and
/// each file must really be inside the project (`paths::contain`): a refused one is reported — at
/// `named_at`, the key of nodectl.toml that names the directory, or at the file — and not read.
/// `None` when the directory itself is refused.
fn read_dir_files(
    project_dir: &Path,
    display_root: &Path,
    sub: &Path,
    recursive: bool,
    named_at: Option<(&SourceFile, &str)>,
    diags: &mut Diagnostics,
) -> Option<Vec<SourceFile>> {
    let real_dir = match paths::contain(project_dir, sub, Area::Project) {
        Ok(real) => real,
        // A missing directory holds no files (a project without fixtures yet).
        Err(ContainmentError::Io(_)) => return Some(Vec::new()),
        Err(refused) => {
            let message = format!(
                "the directory `{}` {refused}; its files are not read",
                sub.display()
            );
            match named_at {
                Some((file, key)) => diags.error(
                    &file.display,
                    file.locate(&seg_path!["project", key], Target::Value),
                    message,
                ),
                None => diags.error(&display_path(display_root, sub), Position::START, message),
            }
            return None;
        }
    };
    let mut relative_paths = Vec::new();
    collect_toml(&real_dir, Path::new(""), recursive, &mut relative_paths);
    relative_paths.sort();
    let files = relative_paths
        .into_iter()
        .filter_map(|inside| {
            let relative = sub.join(inside);
            let display = display_path(display_root, &relative);
            match paths::contain(project_dir, &relative, Area::Project) {
                Ok(real) => source::read(display, relative, &real, diags),
                Err(ContainmentError::Io(error)) => {
                    diags.error(
                        &display,
                        Position::START,
                        format!("cannot read file: {error}"),
                    );
                    None
                }
                Err(refused) => {
                    diags.error(
                        &display,
                        Position::START,
                        format!("`{}` {refused}; not read", relative.display()),
                    );
                    None
                }
            }
        })
        .collect();
    Some(files)
}

fn collect_toml(project_dir: &Path, relative_dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(project_dir.join(relative_dir)) else {
        return;
    };
    for entry in entries.flatten() {
        let relative = relative_dir.join(entry.file_name());
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let toml = relative.extension().is_some_and(|e| e == "toml");
        if kind.is_dir() && recursive {
            collect_toml(project_dir, &relative, recursive, out);
        } else if kind.is_file() && toml {
            out.push(relative);
        } else if kind.is_symlink() && toml {
            // A link to a manifest is read through; a dangling or looping one is reported by the
            // read, not skipped (links to directories are not followed: they may loop).
            let target_is_dir =
                std::fs::metadata(project_dir.join(&relative)).is_ok_and(|m| m.is_dir());
            if !target_is_dir {
                out.push(relative);
            }
        }
    }
}

/// A path as the user would type it from `cwd` (`.`, `..`, `../..`, or absolute when unrelated).
fn relative_display(cwd: &Path, dir: &Path) -> PathBuf {
    if dir == cwd {
        return PathBuf::from(".");
    }
    match cwd.strip_prefix(dir) {
        Ok(below) => below.components().map(|_| "..").collect(),
        Err(_) => dir.to_path_buf(),
    }
}

/// Names are unique per integration, across current and previous names (docs/plan-apply.md, "Matching and renames").
fn check_unique_names(
    env: &Env,
    raws: &[RawFile],
    nodes: &[(usize, Node)],
    diags: &mut Diagnostics,
) {
    let mut claimed: HashMap<(String, String), (usize, bool)> = HashMap::new();
    for (index, node) in nodes {
        let integration = node.key.integration.to_string();
        let names = std::iter::once((node.key.name.clone(), None)).chain(
            node.previous_names
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, n)| (n, Some(i))),
        );
        for (name, previous_index) in names {
            let key = (integration.clone(), name.clone());
            match claimed.get(&key) {
                Some((other, other_is_previous)) => {
                    let (Some(raw), Some(other_raw)) = (raws.get(*index), raws.get(*other)) else {
                        continue;
                    };
                    let path = match previous_index {
                        Some(i) => vec![Seg::Key("previous_names".into()), Seg::Index(i)],
                        None => vec![Seg::Key("name".into())],
                    };
                    let what = if previous_index.is_some() {
                        "previous name"
                    } else {
                        "name"
                    };
                    let other_what = if *other_is_previous {
                        "a previous name"
                    } else {
                        "the name"
                    };
                    let scope = if env.integrations.len() > 1 {
                        format!(" in integration `{integration}`")
                    } else {
                        String::new()
                    };
                    diags.error(
                        &raw.file.display,
                        raw.file.locate(&path, Target::Value),
                        format!("duplicate node {what} `{name}`{scope}: it is already {other_what} of {}", other_raw.file.display.display()),
                    );
                }
                None => {
                    claimed.insert(key, (*index, previous_index.is_some()));
                }
            }
        }
    }
}

//! `import`'s operation: Genesys's own action files (the UI's export format, the API's action JSON)
//! become node manifests of the project. Each file is read within a size limit and checked completely
//! (`crate::export::genesys`); its integration is chosen in the env (by the file's `integrationType`,
//! the type its URL implies, or `--integration`); the manifests are `crate::export`'s. Nothing is
//! written when any file has a problem — every problem is reported at once, with its file — or when
//! a manifest would overwrite a file without `--force`; writes stay inside the project.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::OpsError;
use super::export::{refuse_overwrites, write_all};
use crate::export;
use crate::export::genesys::{self, ActionFile, MAX_FILE_BYTES, Shape};
use crate::manifest::Project;
use crate::model::{Env, IntegrationRef, IntegrationType};

/// What `import` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// The files to import.
    pub files: Vec<PathBuf>,
    /// The integration every file goes into (instead of choosing by type).
    pub integration: Option<IntegrationRef>,
    /// Overwrite existing manifests.
    pub force: bool,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// Decisions made for the user (one line each): types inferred, categories chosen.
    pub notes: Vec<String>,
    /// The manifests written (and schema files), relative to the project.
    pub written: Vec<PathBuf>,
    /// Actions imported.
    pub imported: usize,
}

/// The problems that stopped an import: `file: problem` lines.
#[derive(Debug, Clone)]
pub struct ImportProblems(pub Vec<String>);

/// Why an import wrote nothing.
#[derive(Debug)]
pub enum ImportError {
    /// Some input files are not importable (every problem, with its file).
    Invalid(ImportProblems),
    /// The request or the files cannot be written (usage, overwrite, containment).
    Ops(OpsError),
}

impl From<OpsError> for ImportError {
    fn from(error: OpsError) -> Self {
        ImportError::Ops(error)
    }
}

/// One file, read and placed.
struct Placed {
    display: String,
    file: ActionFile,
    integration: IntegrationRef,
}

/// `nodectl import FILE…`.
pub fn run(
    project: &Project,
    env: &Env,
    request: &ImportRequest,
) -> Result<ImportReport, ImportError> {
    if let Some(integration) = &request.integration
        && !env.integrations.contains(integration)
    {
        return Err(OpsError::Usage(format!(
            "env `{}` does not manage integration `{integration}`: add it to the env's integrations in nodectl.toml first",
            env.name
        ))
        .into());
    }
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut placed = Vec::new();
    for path in &request.files {
        let display = path.display().to_string();
        let file = match read_file(path).and_then(|bytes| genesys::parse(&bytes)) {
            Ok(file) => file,
            Err(found) => {
                problems.extend(found.into_iter().map(|p| format!("{display}: {p}")));
                continue;
            }
        };
        match choose_integration(env, &file, request.integration.as_ref()) {
            Ok((integration, note)) => {
                notes.extend(note.map(|n| format!("{display}: {n}")));
                placed.push(Placed {
                    display,
                    file,
                    integration,
                });
            }
            Err(problem) => problems.push(format!("{display}: {problem}")),
        }
    }
    problems.extend(duplicates(project, env, &placed));
    if !problems.is_empty() {
        return Err(ImportError::Invalid(ImportProblems(problems)));
    }

    let several = env.integrations.len() > 1;
    let keys: Vec<(&str, &str)> = placed
        .iter()
        .map(|p| (p.file.content.name.as_str(), p.display.as_str()))
        .collect();
    let slugs = export::unique_slugs_of(&keys);
    let nodes_dir = project.config.dir.join(&project.config.nodes_dir);
    let mut files = Vec::new();
    for (one, slug) in placed.iter().zip(&slugs) {
        let mut content = one.file.content.clone();
        if one.file.category.as_deref().is_none_or(is_placeholder) {
            let chosen = one.integration.to_string();
            let why = match (&one.file.category, one.file.shape) {
                (Some(placeholder), _) => format!("its category {placeholder:?} is a placeholder"),
                (None, Shape::Ui) => "Genesys's export format has no category".to_string(),
                (None, Shape::Api) => "the file has no category".to_string(),
            };
            notes.push(format!(
                "{}: {why}; using the integration's name {chosen:?} (edit `category` to change it)",
                one.display
            ));
            content.category = chosen;
        }
        let header = format!(
            "# Imported by `nodectl import` from {}.",
            Path::new(&one.display)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let integration = several.then(|| one.integration.to_string());
        let exported = export::manifest_of(&content, &header, slug, integration.as_deref(), false)
            .map_err(|e| OpsError::Io(format!("{}: {e}", one.display)))?;
        files.push((
            nodes_dir.join(format!("{}.toml", exported.slug)),
            exported.manifest,
        ));
        for (path, text) in exported.schema_files {
            files.push((nodes_dir.join(path), text));
        }
    }
    refuse_overwrites(&files, request.force)?;
    write_all(&project.config.dir, &files)?;
    Ok(ImportReport {
        notes,
        written: files
            .iter()
            .map(|(path, _)| {
                path.strip_prefix(&project.config.dir)
                    .unwrap_or(path)
                    .to_path_buf()
            })
            .collect(),
        imported: placed.len(),
    })
}

/// `<integrationName>` and the like: a blueprint's stand-in, not a category.
fn is_placeholder(category: &str) -> bool {
    let trimmed = category.trim();
    trimmed.is_empty() || (trimmed.starts_with('<') && trimmed.ends_with('>'))
}

/// A file's bytes: a regular file of at most `MAX_FILE_BYTES`.
fn read_file(path: &Path) -> Result<Vec<u8>, Vec<String>> {
    let fail = |e: std::io::Error| vec![format!("cannot read: {e}")];
    let file = std::fs::File::open(path).map_err(fail)?;
    let metadata = file.metadata().map_err(fail)?;
    if !metadata.is_file() {
        return Err(vec!["not a regular file".to_string()]);
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(vec![format!(
            "{} bytes, over the {MAX_FILE_BYTES}-byte limit for one action file",
            metadata.len()
        )]);
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(vec![format!(
            "over the {MAX_FILE_BYTES}-byte limit for one action file"
        )]);
    }
    Ok(bytes)
}

/// The integration a file goes into, and a note when its type was inferred.
fn choose_integration(
    env: &Env,
    file: &ActionFile,
    given: Option<&IntegrationRef>,
) -> Result<(IntegrationRef, Option<String>), String> {
    if let Some(integration) = given {
        let declared = env.integration_type(integration);
        return match &file.integration_type {
            Some(kind) if *kind != declared => Err(format!(
                "its integrationType is `{kind}`, but integration `{integration}` is declared as `{declared}` in env `{}`",
                env.name
            )),
            _ => Ok((integration.clone(), None)),
        };
    }
    let (kind, note) = match &file.integration_type {
        Some(kind) => (kind.clone(), None),
        None => match genesys::type_from_url(&file.content.url) {
            Some(kind) => {
                let why = if kind == IntegrationType::GenesysCloud {
                    "a Platform API path"
                } else {
                    "an absolute URL"
                };
                let note = format!(
                    "no integrationType (the API's format); its URL is {why}, so it is taken as `{kind}` (pass --integration NAME to choose)"
                );
                (kind, Some(note))
            }
            None => {
                return Err(
                    "no integrationType, and its URL is neither a path (`/api/…`) nor absolute: pass --integration NAME".to_string(),
                );
            }
        },
    };
    let candidates: Vec<&IntegrationRef> = env
        .integrations
        .iter()
        .filter(|i| env.integration_type(i) == kind)
        .collect();
    match candidates.as_slice() {
        [one] => Ok(((*one).clone(), note)),
        [] => Err(format!(
            "env `{}` manages no `{kind}` integration: declare one in nodectl.toml (integrations = [{{ name = \"…\", type = \"{kind}\" }}]{}) or pass --integration NAME",
            env.name,
            if kind == IntegrationType::WebServices {
                ", or a plain name for Web Services"
            } else {
                ""
            }
        )),
        many => Err(format!(
            "env `{}` manages {} `{kind}` integrations ({}): pass --integration NAME",
            env.name,
            many.len(),
            many.iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Two files with the same action name for one integration, or a name the project already has
/// there (in another file than the one it would write), are problems.
fn duplicates(project: &Project, env: &Env, placed: &[Placed]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: BTreeMap<(String, String), &str> = BTreeMap::new();
    for one in placed {
        let key = (
            one.integration.to_string(),
            one.file.content.name.to_lowercase(),
        );
        if let Some(first) = seen.get(&key) {
            problems.push(format!(
                "{}: action `{}` is also imported from {first} into integration `{}`",
                one.display, one.file.content.name, one.integration
            ));
        } else {
            seen.insert(key, &one.display);
        }
    }
    let slug_file = |name: &str| format!("{}.toml", export::slug(name));
    for node in project.nodes.get(&env.name).into_iter().flatten() {
        for one in placed {
            if node.key.integration == one.integration
                && node.key.name.eq_ignore_ascii_case(&one.file.content.name)
                && node
                    .source
                    .file_name()
                    .is_none_or(|f| f.to_string_lossy() != slug_file(&one.file.content.name))
            {
                problems.push(format!(
                    "{}: the project already has action `{}` in integration `{}` ({})",
                    one.display,
                    node.key.name,
                    one.integration,
                    node.source.display()
                ));
            }
        }
    }
    problems
}

//! `nodectl.toml`: project discovery and the project file's rules (environments, targets,
//! integrations, `default_env`, `[safety]`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::diag::{Diagnostics, Position};
use super::format::{CredentialSection, EnvSection, IntegrationEntry, ProjectFile};
use super::paths::{Area, ContainmentError};
use super::shape::{FileKind, did_you_mean};
use super::source::{Seg, SourceFile, Target};
use crate::model::{
    CredentialSpec, Env, IntegrationRef, IntegrationSpec, IntegrationType, ProjectConfig, REGIONS,
    Safety, SecretSource, Target as EnvTarget, is_genesys_host, is_loopback_host, is_uuid,
    region_domain, url_host,
};
use crate::seg_path;

pub const PROJECT_FILE: &str = "nodectl.toml";
const DEFAULT_CLIENT_ID_ENV: &str = "GENESYSCLOUD_OAUTHCLIENT_ID";
const DEFAULT_CLIENT_SECRET_ENV: &str = "GENESYSCLOUD_OAUTHCLIENT_SECRET";
const DEFAULT_MAX_RPS: f64 = 4.0;

/// Finds the project directory: the nearest of `start` and its parents holding `nodectl.toml`.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(PROJECT_FILE).exists())
        .map(Path::to_path_buf)
}

/// Reads and checks `nodectl.toml`. `None` when it cannot be used at all (missing, unparsable or
/// misshapen); the semantic problems of a usable file are reported and it is still returned.
pub fn load(
    dir: &Path,
    display_root: &Path,
    diags: &mut Diagnostics,
) -> Option<(ProjectConfig, SourceFile)> {
    let relative = PathBuf::from(PROJECT_FILE);
    let display = super::display_path(display_root, &relative);
    // The project file itself may be committed as a symlink to a file of the runner.
    let real = match super::paths::contain(dir, &relative, Area::Project) {
        Ok(real) => real,
        Err(ContainmentError::Io(error)) => {
            diags.error(
                &display,
                Position::START,
                format!("cannot read file: {error}"),
            );
            return None;
        }
        Err(refused) => {
            diags.error(
                &display,
                Position::START,
                format!("`{PROJECT_FILE}` {refused}; not read"),
            );
            return None;
        }
    };
    let file = super::source::read(display, relative, &real, diags)?;
    let value = file.parse_toml(diags)?;
    let parsed: ProjectFile = super::shape::check(FileKind::Project, &file, &value, diags)?;

    let mut envs = BTreeMap::new();
    for (name, section) in &parsed.env {
        if let Some(env) = resolve_env(dir, &file, name, section, diags) {
            envs.insert(name.clone(), env);
        }
    }
    let env_names: Vec<&str> = parsed.env.keys().map(String::as_str).collect();
    match (&parsed.project.default_env, env_names.len()) {
        (_, 0) => diags.error(
            &file.display,
            Position::START,
            "no environment defined: add an [env.NAME] table (e.g. [env.local] with emulator = true)",
        ),
        (Some(default), _) if !parsed.env.contains_key(default) => diags.error(
            &file.display,
            file.locate(&seg_path!["project", "default_env"], Target::Value),
            format!("default_env `{default}` is not defined{}", env_hint(default, &env_names)),
        ),
        (None, n) if n > 1 => diags.error(
            &file.display,
            file.locate(&seg_path!["project"], Target::Key),
            format!("`default_env` is required in [project] when several envs exist ({})", env_names.join(", ")),
        ),
        _ => {}
    }

    let safety = parsed.safety.map_or_else(Safety::default, |s| Safety {
        max_change_percent: s.max_change_percent,
        min_existing: s.min_existing,
        protect: s.protect,
    });
    let config = ProjectConfig {
        name: parsed.project.name,
        dir: dir.to_path_buf(),
        nodes_dir: PathBuf::from(parsed.project.nodes.unwrap_or_else(|| "nodes".to_string())),
        fixtures_dir: PathBuf::from(
            parsed
                .project
                .fixtures
                .unwrap_or_else(|| "fixtures".to_string()),
        ),
        default_env: parsed.project.default_env.or_else(|| {
            env_names
                .first()
                .filter(|_| env_names.len() == 1)
                .map(|n| n.to_string())
        }),
        envs,
        safety,
    };
    Some((config, file))
}

/// "; did you mean `x`?" or the list of envs.
pub fn env_hint(given: &str, env_names: &[&str]) -> String {
    match did_you_mean(given, env_names) {
        Some(name) => format!("; did you mean `{name}`?"),
        None if env_names.is_empty() => "; nodectl.toml defines no env".to_string(),
        None => format!("; envs: {}", env_names.join(", ")),
    }
}

fn resolve_env(
    dir: &Path,
    file: &SourceFile,
    name: &str,
    section: &EnvSection,
    diags: &mut Diagnostics,
) -> Option<Env> {
    let at_value = |key: &str| file.locate(&seg_path!["env", name, key], Target::Value);
    let at_env = file.locate(&seg_path!["env", name], Target::Key);
    let before = diags.error_count();

    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        diags.error(&file.display, at_env, format!("env name `{name}` may only use letters, digits, `_` and `-` (it names files under .nodectl/)"));
    }

    let target = resolve_target(file, name, section, diags);
    let integrations = resolve_integrations(file, name, section, diags);
    let managed_integrations = resolve_managed(file, name, section, diags);
    if let Some(org_id) = &section.org_id
        && !is_uuid(org_id)
    {
        diags.error(
            &file.display,
            at_value("org_id"),
            format!("env `{name}`: org_id `{org_id}` is not a UUID"),
        );
    }
    for (key, value, default) in [
        (
            "client_id_env",
            &section.client_id_env,
            DEFAULT_CLIENT_ID_ENV,
        ),
        (
            "client_secret_env",
            &section.client_secret_env,
            DEFAULT_CLIENT_SECRET_ENV,
        ),
    ] {
        if let Some(var) = value
            && !is_credential_variable(var, default)
        {
            diags.error(&file.display, at_value(key), format!("env `{name}`: `{key}` = `{var}` is not allowed: a project file may only choose among the variables `{default}` and `{default}_<SUFFIX>` (upper-case letters, digits, `_`), so that it cannot make nodectl read and send another secret of the job"));
        }
    }

    // The project names the file, so it must be the project's (or nodectl's own, under .nodectl/);
    // a missing one is only an empty set of credentials, as at run time.
    if let Some(named) = &section.credentials_file {
        match super::paths::contain(dir, Path::new(named), Area::ProjectOrState) {
            Ok(_) | Err(ContainmentError::Io(_)) => {}
            Err(refused) => diags.error(
                &file.display,
                at_value("credentials_file"),
                format!("env `{name}`: credentials_file `{named}` {refused}; not read"),
            ),
        }
    }

    if diags.error_count() > before {
        return None;
    }
    Some(Env {
        name: name.to_string(),
        target: target?,
        integration_types: integrations
            .iter()
            .filter_map(|(reference, kind)| Some((reference.clone(), kind.clone()?)))
            .collect(),
        integrations: integrations
            .into_iter()
            .map(|(reference, _)| reference)
            .collect(),
        vars: section
            .vars
            .clone()
            .map(|v| v.into_iter().collect())
            .unwrap_or_default(),
        client_id_env: section
            .client_id_env
            .clone()
            .unwrap_or_else(|| DEFAULT_CLIENT_ID_ENV.to_string()),
        client_secret_env: section
            .client_secret_env
            .clone()
            .unwrap_or_else(|| DEFAULT_CLIENT_SECRET_ENV.to_string()),
        max_rps: section.max_rps.unwrap_or(DEFAULT_MAX_RPS),
        org_id: section.org_id.clone(),
        managed_integrations,
        credentials_file: section.credentials_file.as_ref().map(PathBuf::from),
    })
}

/// An env's target: the embedded emulator, a region of the fixed table, or an allowed API base
/// (docs/security.md) — or why none, reported.
fn resolve_target(
    file: &SourceFile,
    name: &str,
    section: &EnvSection,
    diags: &mut Diagnostics,
) -> Option<EnvTarget> {
    let at_key = |key: &str| file.locate(&seg_path!["env", name, key], Target::Key);
    let at_value = |key: &str| file.locate(&seg_path!["env", name, key], Target::Value);
    let at_env = file.locate(&seg_path!["env", name], Target::Key);
    let emulator = section.emulator.unwrap_or(false);
    match (emulator, &section.region, &section.api_base) {
        (true, region, api_base) => {
            for (key, set) in [
                ("region", region.is_some()),
                ("api_base", api_base.is_some()),
            ] {
                if set {
                    diags.error(
                        &file.display,
                        at_key(key),
                        format!(
                            "env `{name}`: `emulator = true` and `{key}` are mutually exclusive"
                        ),
                    );
                }
            }
            Some(EnvTarget::Emulator)
        }
        (false, Some(_), Some(_)) => {
            diags.error(
                &file.display,
                at_key("api_base"),
                format!("env `{name}`: `region` and `api_base` are mutually exclusive"),
            );
            None
        }
        (false, Some(region), None) => match region_domain(region) {
            Some(domain) => Some(EnvTarget::Region {
                name: region.clone(),
                api_base: format!("https://api.{domain}"),
            }),
            None => {
                let names: Vec<&str> = REGIONS.iter().map(|(n, _)| *n).collect();
                let hint = did_you_mean(region, &names)
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            "known regions: {}; or one of their domains, such as mypurecloud.ie. A project file names only Genesys's own regions: another API host is the pipeline's choice (NODECTL_API_BASE)",
                            names.join(", ")
                        )
                    });
                diags.error(
                    &file.display,
                    at_value("region"),
                    format!("unknown Genesys region `{region}`; {hint}"),
                );
                None
            }
        },
        (false, None, Some(base)) => match check_api_base(base) {
            Ok(()) => Some(EnvTarget::ApiBase(base.trim_end_matches('/').to_string())),
            Err(problem) => {
                diags.error(
                    &file.display,
                    at_value("api_base"),
                    format!("env `{name}`: api_base {problem}"),
                );
                None
            }
        },
        (false, None, None) => {
            diags.error(
                &file.display,
                at_env,
                format!("env `{name}` needs `region`, `api_base` or `emulator = true`"),
            );
            None
        }
    }
}

/// The integrations an env manages (`integration` or `integrations`), each checked, none twice,
/// with the types the entries declare.
fn resolve_integrations(
    file: &SourceFile,
    name: &str,
    section: &EnvSection,
    diags: &mut Diagnostics,
) -> Vec<(IntegrationRef, Option<IntegrationType>)> {
    let at_key = |key: &str| file.locate(&seg_path!["env", name, key], Target::Key);
    let at_value = |key: &str| file.locate(&seg_path!["env", name, key], Target::Value);
    let at_env = file.locate(&seg_path!["env", name], Target::Key);
    let entries: Vec<IntegrationEntry> = match (&section.integration, &section.integrations) {
        (Some(_), Some(_)) => {
            diags.error(
                &file.display,
                at_key("integrations"),
                format!("env `{name}`: give either `integration` or `integrations`, not both"),
            );
            Vec::new()
        }
        (Some(one), None) => vec![one.clone()],
        (None, Some(list)) if list.is_empty() => {
            diags.error(
                &file.display,
                at_value("integrations"),
                format!("env `{name}`: `integrations` is empty"),
            );
            Vec::new()
        }
        (None, Some(list)) => list.clone(),
        (None, None) => {
            diags.error(&file.display, at_env, format!("env `{name}` manages no integration: add `integration = \"<integration name>\"`"));
            Vec::new()
        }
    };
    let key = if section.integrations.is_some() {
        "integrations"
    } else {
        "integration"
    };
    let mut resolved = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let mut path = if key == "integrations" {
            seg_path!["env", name, key, index].to_vec()
        } else {
            seg_path!["env", name, key].to_vec()
        };
        let reference = entry.reference();
        if matches!(entry, IntegrationEntry::Declared(_)) {
            path.push(Seg::Key("name".to_string()));
        }
        if let Some(problem) = integration_problem(reference) {
            diags.error(
                &file.display,
                file.locate(&path, Target::Value),
                format!("env `{name}`: {problem}"),
            );
        }
        if entries
            .iter()
            .take(index)
            .any(|earlier| earlier.reference() == reference)
        {
            diags.error(
                &file.display,
                file.locate(&path, Target::Value),
                format!("env `{name}`: integration `{reference}` is listed twice"),
            );
        }
        let declared = entry.declared_type().and_then(|text| {
            let parsed = IntegrationType::parse(text);
            if parsed.is_none() {
                path.pop();
                path.push(Seg::Key("type".to_string()));
                diags.error(
                    &file.display,
                    file.locate(&path, Target::Value),
                    format!("env `{name}`: `{text}` is not an integration type (lower-case letters, digits and `-`, e.g. `purecloud-data-actions`)"),
                );
            }
            parsed
        });
        resolved.push((IntegrationRef::parse(reference), declared));
    }
    resolved
}

/// The prefix every environment variable a credential reads must have: the pipeline owner decides
/// which secrets the project may use by giving them this prefix, so that a pull request cannot
/// route another secret of the job (`GENESYSCLOUD_OAUTHCLIENT_SECRET`, a cloud key) into a
/// credential whose actions send it elsewhere.
pub const SECRET_VARIABLE_PREFIX: &str = "NODECTL_SECRET_";

/// The integrations nodectl manages as resources: the entries with `manage = true`, or with a
/// `credential` and no `manage = false`. Each must be named (nodectl may create it), and each
/// credential field must have exactly one source, a variable `NODECTL_SECRET_…` or a plain file
/// name of the secrets folder.
fn resolve_managed(
    file: &SourceFile,
    name: &str,
    section: &EnvSection,
    diags: &mut Diagnostics,
) -> Vec<IntegrationSpec> {
    let (key, entries): (&str, Vec<(Option<usize>, &IntegrationEntry)>) =
        match (&section.integration, &section.integrations) {
            (Some(one), None) => ("integration", vec![(None, one)]),
            (None, Some(list)) => (
                "integrations",
                list.iter().enumerate().map(|(i, e)| (Some(i), e)).collect(),
            ),
            _ => return Vec::new(),
        };
    let mut managed = Vec::new();
    for (index, entry) in entries {
        let IntegrationEntry::Declared(declared) = entry else {
            continue;
        };
        if !declared.manage.unwrap_or(declared.credential.is_some()) {
            if declared.enabled.is_some() || declared.credential.is_some() {
                let mut path = seg_path!["env", name, key].to_vec();
                path.extend(index.map(Seg::Index));
                diags.error(&file.display, file.locate(&path, Target::Value), format!("env `{name}`: `enabled` and `credential` need a managed integration; remove `manage = false`"));
            }
            continue;
        }
        let at = |tail: &[Seg]| {
            let mut path = seg_path!["env", name, key].to_vec();
            path.extend(index.map(Seg::Index));
            path.extend(tail.iter().cloned());
            file.locate(&path, Target::Value)
        };
        if declared.name.starts_with("id:") {
            diags.error(&file.display, at(&[Seg::Key("name".to_string())]), format!("env `{name}`: a managed integration is named, not `id:…`: nodectl creates it by name when the org lacks it"));
            continue;
        }
        let integration_type = declared
            .integration_type
            .as_deref()
            .map_or(Some(IntegrationType::WebServices), IntegrationType::parse);
        let credential = declared
            .credential
            .as_ref()
            .and_then(|credential| resolve_credential(credential, name, &at, file, diags));
        let (Some(integration_type), true) = (
            integration_type,
            declared.credential.is_none() || credential.is_some(),
        ) else {
            continue;
        };
        managed.push(IntegrationSpec {
            name: declared.name.clone(),
            integration_type,
            enabled: declared.enabled.unwrap_or(true),
            credential,
        });
    }
    managed
}

/// One managed credential: its type and each field's single, allowed source.
fn resolve_credential(
    credential: &CredentialSection,
    env: &str,
    at: &dyn Fn(&[Seg]) -> Position,
    file: &SourceFile,
    diags: &mut Diagnostics,
) -> Option<CredentialSpec> {
    let before = diags.error_count();
    let kind = credential.credential_type.as_str();
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
        diags.error(&file.display, at(&[Seg::Key("credential".to_string()), Seg::Key("type".to_string())]), format!("env `{env}`: `{kind}` is not a credential type (letters and digits, e.g. `basicAuth`, `userDefinedOAuth`, `pureCloudOAuthClient`)"));
    }
    if credential.fields.is_empty() {
        diags.error(
            &file.display,
            at(&[
                Seg::Key("credential".to_string()),
                Seg::Key("fields".to_string()),
            ]),
            format!("env `{env}`: the credential has no fields"),
        );
    }
    let mut fields = BTreeMap::new();
    for (field, source) in &credential.fields {
        let at_field = || {
            at(&[
                Seg::Key("credential".to_string()),
                Seg::Key("fields".to_string()),
                Seg::Key(field.clone()),
            ])
        };
        let resolved = match (&source.env, &source.file, &source.value) {
            (Some(variable), None, None) => {
                if secret_variable_allowed(variable) {
                    Some(SecretSource::Env(variable.clone()))
                } else {
                    diags.error(&file.display, at_field(), format!("env `{env}`: credential field `{field}` reads `{variable}`, which is not allowed: a project may only read variables named `{SECRET_VARIABLE_PREFIX}<NAME>` (upper-case letters, digits, `_`), the secrets the pipeline owner gave it"));
                    None
                }
            }
            (None, Some(name), None) => {
                if secret_file_allowed(name) {
                    Some(SecretSource::File(name.clone()))
                } else {
                    diags.error(&file.display, at_field(), format!("env `{env}`: credential field `{field}` reads file `{name}`, which is not allowed: a plain file name (letters, digits, `.`, `_`, `-`, not starting with `.`) inside the pipeline's folder `$NODECTL_SECRETS_DIR`"));
                    None
                }
            }
            (None, None, Some(value)) => Some(SecretSource::Value(value.clone())),
            _ => {
                diags.error(&file.display, at_field(), format!("env `{env}`: credential field `{field}` needs exactly one of `env`, `file` or `value`"));
                None
            }
        };
        if let Some(resolved) = resolved {
            fields.insert(field.clone(), resolved);
        }
    }
    (diags.error_count() == before).then(|| CredentialSpec {
        credential_type: kind.to_string(),
        fields,
    })
}

/// `NODECTL_SECRET_<NAME>`, `<NAME>` of upper-case letters, digits and `_`.
pub fn secret_variable_allowed(variable: &str) -> bool {
    variable
        .strip_prefix(SECRET_VARIABLE_PREFIX)
        .is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
}

/// A plain file name: no folder, no `..`, no hidden file.
pub fn secret_file_allowed(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Why an integration reference is malformed, if it is.
pub fn integration_problem(text: &str) -> Option<String> {
    if text.trim().is_empty() {
        return Some("an integration name cannot be empty".to_string());
    }
    match text.strip_prefix("id:") {
        Some(id) if !is_uuid(id.trim()) => {
            Some(format!("`{text}`: an integration id must be `id:<uuid>`"))
        }
        _ => None,
    }
}

/// Whether a project may name `var` as the variable holding its OAuth client id or secret: the
/// default (`GENESYSCLOUD_OAUTHCLIENT_ID` / `_SECRET`) or the default plus `_<SUFFIX>`
/// (`GENESYSCLOUD_OAUTHCLIENT_ID_PROD`). The rule is narrow on purpose (docs/security.md): were any
/// name allowed, a pull request could have the job's checkout token or cloud key sent as the client
/// secret.
pub fn is_credential_variable(var: &str, default: &str) -> bool {
    match var.strip_prefix(default) {
        Some("") => true,
        Some(rest) => rest.strip_prefix('_').is_some_and(|suffix| {
            !suffix.is_empty()
                && suffix
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        }),
        None => false,
    }
}

/// An `api_base` a project file may name: a loopback emulator (`http://127.0.0.1:9781`), or the API
/// host of a Genesys region of the fixed table. Any other host would receive the job's OAuth client
/// credentials on the word of a pull request; the pipeline chooses it with `NODECTL_API_BASE`.
fn check_api_base(base: &str) -> Result<(), String> {
    let (scheme, host) = url_host(base).ok_or_else(|| {
        format!("`{base}` is not an absolute http(s) URL with a host (and no `user@`)")
    })?;
    match scheme.as_str() {
        "https" | "http" if is_loopback_host(&host) => Ok(()),
        "https" if is_genesys_host(&host) && host.starts_with("api.") => Ok(()),
        "http" if is_genesys_host(&host) => Err(format!("`{base}` uses http://; use https://")),
        "https" | "http" => Err(format!(
            "`{base}` is neither a loopback emulator nor a Genesys region's API host (https://api.<region domain>): a project file cannot send the job's credentials to another host; the pipeline chooses such an API base with NODECTL_API_BASE"
        )),
        other => Err(format!("`{base}` has scheme `{other}`; use https://")),
    }
}

/// The variable through which the pipeline — never a file of the project — points nodectl at
/// another API host (a gateway, a proxy, an emulator elsewhere).
pub const API_BASE_VARIABLE: &str = "NODECTL_API_BASE";

/// The pipeline's API base from `NODECTL_API_BASE`, if set: `https://…`, or `http://` for a
/// loopback host. Any host is allowed (the pipeline owner chose it), but not a URL that hides its
/// host behind `user@`.
pub fn pipeline_api_base() -> Result<Option<String>, String> {
    let Some(base) = std::env::var(API_BASE_VARIABLE)
        .ok()
        .filter(|b| !b.trim().is_empty())
    else {
        return Ok(None);
    };
    let base = base.trim().trim_end_matches('/').to_string();
    match url_host(&base) {
        Some((scheme, _)) if scheme == "https" => Ok(Some(base)),
        Some((scheme, host)) if scheme == "http" && is_loopback_host(&host) => Ok(Some(base)),
        Some(_) => Err(format!(
            "{API_BASE_VARIABLE}=`{base}`: use https:// (http:// only for a loopback host)"
        )),
        None => Err(format!(
            "{API_BASE_VARIABLE}=`{base}` is not an absolute http(s) URL with a host (and no `user@`)"
        )),
    }
}

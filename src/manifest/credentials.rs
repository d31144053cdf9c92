//! Credential values for live runs (docs/runtime.md): `--credentials @file|-`, else the variable
//! `NODECTL_CREDENTIALS_<ENV>` (JSON), else the env's `credentials_file` (default
//! `.nodectl/credentials/<env>.json`). Never from a command-line value: secrets in argv end up in
//! shell history and process listings.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use thiserror::Error;

use super::paths::{self, Area};
use crate::model::Env;

/// Where `--credentials` says to read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    File(PathBuf),
    Stdin,
}

impl CredentialSource {
    /// `@file` or `-`; anything else is refused (it would be a secret on the command line).
    pub fn parse(argument: &str) -> Result<CredentialSource, CredentialError> {
        match argument {
            "-" => Ok(CredentialSource::Stdin),
            other => match other.strip_prefix('@') {
                Some(path) if !path.is_empty() => Ok(CredentialSource::File(PathBuf::from(path))),
                _ => Err(CredentialError::OnCommandLine),
            },
        }
    }
}

#[derive(Debug, Error)]
pub enum CredentialError {
    #[error(
        "--credentials takes @FILE or - (standard input), never the secrets themselves: values on a command line end up in shell history and process listings"
    )]
    OnCommandLine,
    #[error("cannot read credentials from {origin}: {source}")]
    Read {
        origin: String,
        source: std::io::Error,
    },
    #[error("credentials file `{origin}` {reason}; not read")]
    Refused {
        origin: String,
        reason: super::paths::ContainmentError,
    },
    #[error("credentials from {origin} are not a JSON object of name → value: {message}")]
    NotAnObject { origin: String, message: String },
}

/// The name of the per-env variable: `NODECTL_CREDENTIALS_PROD` for env `prod` (`-` → `_`).
pub fn env_variable(env: &str) -> String {
    format!(
        "NODECTL_CREDENTIALS_{}",
        env.to_ascii_uppercase().replace('-', "_")
    )
}

/// Where [`load`] reads the credentials of `env` from, as error messages name it: `standard
/// input`, the `--credentials` file, `$NODECTL_CREDENTIALS_<ENV>`, or the env's credentials file.
pub fn origin(env: &Env, explicit: Option<&CredentialSource>) -> String {
    match explicit {
        Some(CredentialSource::Stdin) => "the credentials from standard input".to_string(),
        Some(CredentialSource::File(path)) => format!("credentials file `{}`", path.display()),
        None => {
            let variable = env_variable(&env.name);
            if std::env::var_os(&variable).is_some() {
                return format!("${variable}");
            }
            let file = env.credentials_file.clone().unwrap_or_else(|| {
                PathBuf::from(".nodectl/credentials").join(format!("{}.json", env.name))
            });
            format!("credentials file `{}`", file.display())
        }
    }
}

/// The credentials of a live run of `env` in the project at `project_dir`.
pub fn load(
    project_dir: &Path,
    env: &Env,
    explicit: Option<&CredentialSource>,
) -> Result<Map<String, Value>, CredentialError> {
    if let Some(source) = explicit {
        return match source {
            CredentialSource::Stdin => {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|source| CredentialError::Read {
                        origin: "standard input".to_string(),
                        source,
                    })?;
                parse(&text, "standard input")
            }
            CredentialSource::File(path) => read_file(path, &path.display().to_string()),
        };
    }
    let variable = env_variable(&env.name);
    if let Ok(text) = std::env::var(&variable) {
        return parse(&text, &format!("${variable}"));
    }
    let file = env.credentials_file.clone().unwrap_or_else(|| {
        PathBuf::from(".nodectl/credentials").join(format!("{}.json", env.name))
    });
    // The default file is nodectl's own, a named one the project's: either way it must really be
    // inside the project (a pull request may commit either as a symlink to a file of the runner).
    match paths::contain(project_dir, &file, Area::ProjectOrState) {
        Ok(real) if real.is_file() => read_file(&real, &file.display().to_string()),
        Ok(_) => Ok(Map::new()),
        Err(error) if error.is_not_found() => Ok(Map::new()),
        Err(paths::ContainmentError::Io(source)) => Err(CredentialError::Read {
            origin: file.display().to_string(),
            source,
        }),
        Err(reason) => Err(CredentialError::Refused {
            origin: file.display().to_string(),
            reason,
        }),
    }
}

fn read_file(path: &Path, origin: &str) -> Result<Map<String, Value>, CredentialError> {
    let origin = origin.to_string();
    let text = std::fs::read_to_string(path).map_err(|source| CredentialError::Read {
        origin: origin.clone(),
        source,
    })?;
    parse(&text, &origin)
}

fn parse(text: &str, origin: &str) -> Result<Map<String, Value>, CredentialError> {
    // serde_json's message never quotes the input, so no secret leaks through it.
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(CredentialError::NotAnObject {
            origin: origin.to_string(),
            message: "found another JSON value".to_string(),
        }),
        Err(e) => Err(CredentialError::NotAnObject {
            origin: origin.to_string(),
            message: format!(
                "line {}, column {}: {}",
                e.line(),
                e.column(),
                e.classify_name()
            ),
        }),
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "unexpected end of input",
        }
    }
}

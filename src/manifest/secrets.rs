//! The values of managed credentials and the fingerprint key, read from the pipeline's secrets
//! (docs/plan-apply.md, "Integrations as code"; docs/security.md): a field's variable must be
//! `NODECTL_SECRET_…` (checked when the project loads), a field's file a plain name inside the
//! folder `$NODECTL_SECRETS_DIR` that the pipeline owner chose — a symlink there (as Kubernetes
//! mounts secrets) may not lead out of it. Values are read only when a plan or an apply needs them,
//! and every problem of every field is reported at once, naming sources, never values.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::model::{CredentialSpec, Env, SecretSource, Target};

/// The folder a credential's `file = "…"` names a file in.
pub const SECRETS_DIR_VARIABLE: &str = "NODECTL_SECRETS_DIR";
/// The key of credential fingerprints (at least 16 bytes; `openssl rand -hex 32`).
pub const FINGERPRINT_KEY_VARIABLE: &str = "NODECTL_FINGERPRINT_KEY";
/// The largest secret file read.
const MAX_SECRET_BYTES: u64 = 64 * 1024;
/// The fingerprint key of an env on the embedded emulator when the variable is unset: the
/// emulator's org lives in `.nodectl/` and holds nothing secret, so a fixed, public key suffices.
const EMBEDDED_EMULATOR_KEY: &[u8] = b"nodectl embedded emulator: not a secret";

#[derive(Debug, Error)]
pub enum SecretError {
    #[error("integration `{integration}`, credential field `{field}`: ${variable} is not set")]
    MissingVariable {
        integration: String,
        field: String,
        variable: String,
    },
    #[error(
        "integration `{integration}`, credential field `{field}`: reads a file of the secrets folder, but ${SECRETS_DIR_VARIABLE} is not set"
    )]
    NoSecretsFolder { integration: String, field: String },
    #[error(
        "integration `{integration}`, credential field `{field}`: cannot read {path}: {reason}"
    )]
    Unreadable {
        integration: String,
        field: String,
        path: String,
        reason: String,
    },
    #[error(
        "{FINGERPRINT_KEY_VARIABLE} is not set: env `{env}` manages credentials, and nodectl needs the pipeline's key to tell whether the org holds their current values (docs/security.md, \"Credential fingerprints\")"
    )]
    NoFingerprintKey { env: String },
}

/// The values of one credential, field by field; every unreadable field is reported.
pub fn read_credential(
    integration: &str,
    credential: &CredentialSpec,
) -> Result<BTreeMap<String, String>, Vec<SecretError>> {
    let folder = std::env::var_os(SECRETS_DIR_VARIABLE).map(PathBuf::from);
    let mut values = BTreeMap::new();
    let mut problems = Vec::new();
    for (field, source) in &credential.fields {
        let read = match source {
            SecretSource::Value(value) => Ok(value.clone()),
            SecretSource::Env(variable) => {
                std::env::var(variable).map_err(|_| SecretError::MissingVariable {
                    integration: integration.to_string(),
                    field: field.clone(),
                    variable: variable.clone(),
                })
            }
            SecretSource::File(name) => match &folder {
                None => Err(SecretError::NoSecretsFolder {
                    integration: integration.to_string(),
                    field: field.clone(),
                }),
                Some(folder) => {
                    read_secret_file(folder, name).map_err(|reason| SecretError::Unreadable {
                        integration: integration.to_string(),
                        field: field.clone(),
                        path: format!("${SECRETS_DIR_VARIABLE}/{name}"),
                        reason,
                    })
                }
            },
        };
        match read {
            Ok(value) => {
                values.insert(field.clone(), value);
            }
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}

/// A secret file: inside the folder once every symlink is followed, at most 64 KiB of UTF-8, one
/// trailing newline dropped (`echo` and most secret stores write one).
fn read_secret_file(folder: &Path, name: &str) -> Result<String, String> {
    let folder = folder
        .canonicalize()
        .map_err(|e| format!("the secrets folder: {e}"))?;
    let path = folder
        .join(name)
        .canonicalize()
        .map_err(|e| e.to_string())?;
    if !path.starts_with(&folder) {
        return Err(format!("it leads out of ${SECRETS_DIR_VARIABLE}; not read"));
    }
    let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SECRET_BYTES {
        return Err(format!("larger than {} KiB", MAX_SECRET_BYTES / 1024));
    }
    let mut text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// The fingerprint key's bytes: `$NODECTL_FINGERPRINT_KEY`, or for an env on the embedded
/// emulator without it, a fixed public key.
pub fn fingerprint_key(env: &Env) -> Result<Vec<u8>, SecretError> {
    match std::env::var(FINGERPRINT_KEY_VARIABLE) {
        Ok(key) if !key.is_empty() => Ok(key.into_bytes()),
        _ if env.target == Target::Emulator => Ok(EMBEDDED_EMULATOR_KEY.to_vec()),
        _ => Err(SecretError::NoFingerprintKey {
            env: env.name.clone(),
        }),
    }
}

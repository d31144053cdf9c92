//! Connecting to an env's org: the embedded emulator for `emulator = true` (its state in
//! `.nodectl/emulator/<env>.json`, `.nodectl/` added to the project's `.gitignore`), else the
//! region or API base — or the pipeline's `NODECTL_API_BASE` — with OAuth credentials from the
//! environment; the request timeout from `NODECTL_HTTP_TIMEOUT`, and the content cache keyed by the
//! org's identity.

use std::path::{Path, PathBuf};

use crate::emulator::{self, EmulatorHandle, EmulatorOptions};
use crate::genesys::{Client, ClientOptions, Credentials};
use crate::manifest::Project;
use crate::manifest::paths::{self, Area};
use crate::model::{Env, IntegrationRef, IntegrationType, Target};
use crate::remote::{ContentCache, Remote};
use std::time::Duration;

use super::OpsError;

/// A connection to an env's org; holds the embedded emulator while it is needed.
pub struct Connection {
    pub remote: Remote,
    emulator: Option<EmulatorHandle>,
}

impl Connection {
    /// Stops the embedded emulator (writing its state).
    pub async fn close(self) -> Result<(), OpsError> {
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await?;
        }
        Ok(())
    }
}

/// Where the embedded emulator of an env keeps its org.
pub fn emulator_state_file(project_dir: &Path, env: &str) -> PathBuf {
    project_dir
        .join(".nodectl")
        .join("emulator")
        .join(format!("{env}.json"))
}

/// Checks a file of nodectl's own under the project (`relative` to it) before it is read or written:
/// the project may have committed it, or a directory on its way, as a symlink to elsewhere.
fn check_own_file(project_dir: &Path, relative: &Path) -> Result<PathBuf, OpsError> {
    let refused = |reason| OpsError::Contained {
        path: relative.to_path_buf(),
        reason,
    };
    match paths::contain(project_dir, relative, Area::ProjectOrState) {
        Ok(_) => {}
        Err(error) if error.is_not_found() => {}
        Err(reason) => return Err(refused(reason)),
    }
    paths::check_write_target(project_dir, &project_dir.join(relative)).map_err(refused)
}

/// Adds `.nodectl/` to the project's `.gitignore` (creating it) when it is not there yet. A
/// `.gitignore` that leads out of the project is left alone: neither read nor replaced.
fn ignore_local_data(project_dir: &Path) {
    let Ok(path) = check_own_file(project_dir, Path::new(".gitignore")) else {
        return;
    };
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    if existing.lines().any(|l| {
        matches!(
            l.trim(),
            ".nodectl" | ".nodectl/" | "/.nodectl" | "/.nodectl/"
        )
    }) {
        return;
    }
    let separator = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let _ = paths::write_inside(
        project_dir,
        &path,
        format!(
            "{existing}{separator}# nodectl's local working data (emulator state, content cache)\n.nodectl/\n"
        )
        .as_bytes(),
    );
}

/// Connects to the env's org. `parallelism` and `max_rps` override the env's settings.
pub async fn connect(
    project: &Project,
    env: &Env,
    parallelism: Option<usize>,
    max_rps: Option<f64>,
) -> Result<Connection, OpsError> {
    connect_dir(&project.config.dir, env, parallelism, max_rps).await
}

/// Whether connecting to the env starts the embedded emulator (`emulator = true` and no
/// `NODECTL_API_BASE`): it writes the project's `.nodectl/` and `.gitignore`, so nothing connects
/// to it before the project has loaded.
pub fn is_embedded(env: &Env) -> bool {
    env.target == Target::Emulator
        && !matches!(crate::manifest::project::pipeline_api_base(), Ok(Some(_)))
}

/// `connect` with only the project directory: what it needs of the project (its nodes are not).
pub async fn connect_dir(
    project_dir: &Path,
    env: &Env,
    parallelism: Option<usize>,
    max_rps: Option<f64>,
) -> Result<Connection, OpsError> {
    let override_base = crate::manifest::project::pipeline_api_base().map_err(OpsError::Setting)?;
    let (api_base, credentials, emulator) = match (&env.target, override_base) {
        (_, Some(base)) => (base, credentials_from_environment(env)?, None),
        (Target::Emulator, None) => {
            // The embedded org holds every integration the env names, with its declared type (but
            // the managed ones, which apply creates).
            let mut names = Vec::new();
            let mut typed = Vec::new();
            for integration in &env.integrations {
                // A managed integration is apply's to create, with its credential.
                if env
                    .managed_integrations
                    .iter()
                    .any(|spec| IntegrationRef::Name(spec.name.clone()) == *integration)
                {
                    continue;
                }
                let IntegrationRef::Name(name) = integration else {
                    continue;
                };
                match env.integration_type(integration) {
                    IntegrationType::WebServices => names.push(name.clone()),
                    other => typed.push(format!("{other}={name}")),
                }
            }
            let state_file = check_own_file(
                project_dir,
                &Path::new(".nodectl")
                    .join("emulator")
                    .join(format!("{}.json", env.name)),
            )?;
            if let Some(directory) = state_file.parent() {
                std::fs::create_dir_all(directory)
                    .map_err(|e| OpsError::Credentials(format!("cannot create .nodectl/: {e}")))?;
            }
            ignore_local_data(project_dir);
            let handle = emulator::start(EmulatorOptions {
                state: Some(state_file),
                integration: names,
                typed_integration: typed,
                // The embedded org is the user's own: no platform rate limit to imitate.
                rate_limit: 0,
                ..EmulatorOptions::ephemeral()
            })
            .await?;
            let credentials = Credentials::ClientCredentials {
                client_id: handle.client_id().to_string(),
                client_secret: handle.client_secret().to_string(),
            };
            (handle.base_url().to_string(), credentials, Some(handle))
        }
        (Target::Region { api_base, .. } | Target::ApiBase(api_base), None) => {
            (api_base.clone(), credentials_from_environment(env)?, None)
        }
    };
    let mut options = ClientOptions::new(&api_base, credentials);
    options.max_rps = max_rps.unwrap_or(if emulator.is_some() {
        1000.0
    } else {
        env.max_rps
    });
    if let Some(parallelism) = parallelism {
        options.concurrency = parallelism.max(1);
    }
    if let Some(timeout) = request_timeout_from_environment()? {
        options.timeout = timeout;
    }
    let client = Client::new(options)?;
    // The cache is keyed by the org's identity: the API base, or the embedded emulator's state file
    // (its address changes with every run).
    let identity = match (&emulator, &env.target) {
        (Some(_), _) => format!(
            "emulator:{}",
            emulator_state_file(project_dir, &env.name).display()
        ),
        _ => api_base.clone(),
    };
    let cache = ContentCache::for_org(&identity);
    if let Some(cache) = &cache
        && cache.dir().starts_with(project_dir)
    {
        // A cache the pipeline put inside the checkout (GitLab caches only there) must not lead
        // out of it through a committed symlink. The entry name stands for any file of the folder.
        let relative = cache.dir().strip_prefix(project_dir).unwrap_or(cache.dir());
        check_own_file(project_dir, &relative.join("entry.json"))?;
    }
    Ok(Connection {
        remote: Remote::new(client, cache),
        emulator,
    })
}

/// `NODECTL_HTTP_TIMEOUT`: seconds (a decimal, 0.1 to 300) each Genesys API request may take
/// instead of the 30 s of docs/plan-apply.md — for a gateway known to be slow, or a test that makes
/// answers late on purpose.
fn request_timeout_from_environment() -> Result<Option<Duration>, OpsError> {
    const VARIABLE: &str = "NODECTL_HTTP_TIMEOUT";
    let Some(text) = std::env::var(VARIABLE)
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    match text.trim().parse::<f64>() {
        Ok(seconds) if (0.1..=300.0).contains(&seconds) => {
            Ok(Some(Duration::from_secs_f64(seconds)))
        }
        _ => Err(OpsError::Setting(format!(
            "{VARIABLE}=`{text}` is not a number of seconds between 0.1 and 300"
        ))),
    }
}

/// OAuth client credentials from the env's variables, or `GENESYSCLOUD_ACCESS_TOKEN`.
fn credentials_from_environment(env: &Env) -> Result<Credentials, OpsError> {
    let id = std::env::var(&env.client_id_env)
        .ok()
        .filter(|v| !v.is_empty());
    let secret = std::env::var(&env.client_secret_env)
        .ok()
        .filter(|v| !v.is_empty());
    match (id, secret) {
        (Some(client_id), Some(client_secret)) => Ok(Credentials::ClientCredentials {
            client_id,
            client_secret,
        }),
        _ => match std::env::var("GENESYSCLOUD_ACCESS_TOKEN")
            .ok()
            .filter(|v| !v.is_empty())
        {
            Some(token) => Ok(Credentials::AccessToken(token)),
            None => Err(OpsError::Credentials(format!(
                "no credentials for env `{}`: set {} and {} (an OAuth client-credentials client), or GENESYSCLOUD_ACCESS_TOKEN",
                env.name, env.client_id_env, env.client_secret_env
            ))),
        },
    }
}

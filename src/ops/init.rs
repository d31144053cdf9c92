//! `init`'s operation: a working project in one command — `nodectl.toml` with an emulator env
//! (and a region env when a region or API base is given), one sample node with two fixtures that
//! pass, `.gitignore` for `.nodectl/`, the editor schemas wired through `.taplo.toml`, and
//! optionally a CI workflow (GitHub Actions or GitLab CI). The files are made here as text; they
//! are written only into a folder without a `nodectl.toml`, and never over an existing file.

use std::path::{Path, PathBuf};

use super::OpsError;
use crate::manifest::paths;
use crate::manifest::shape::{FileKind, schema_for};

/// The CI system to write a workflow for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ci {
    Github,
    Gitlab,
}

/// What the project is made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSettings {
    pub name: String,
    /// The integration the actions live in (the emulator creates it under this name too).
    pub integration: String,
    /// A Genesys region (`eu-west-1`) for the `prod` env.
    pub region: Option<String>,
    /// An API base for the `prod` env instead of a region.
    pub api_base: Option<String>,
    pub ci: Option<Ci>,
}

impl InitSettings {
    fn has_org(&self) -> bool {
        self.region.is_some() || self.api_base.is_some()
    }
}

/// A new project's default name: its folder's (`.` is the current folder's).
pub fn project_name_of(dir: &Path) -> String {
    std::path::absolute(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "data-actions".to_string())
}

/// The files of a new project, relative to its folder.
pub fn files(settings: &InitSettings) -> Vec<(PathBuf, String)> {
    let mut files = vec![
        (PathBuf::from("nodectl.toml"), project_file(settings)),
        (
            PathBuf::from("nodes/lookup-customer.toml"),
            SAMPLE_NODE.to_string(),
        ),
        (
            PathBuf::from("fixtures/lookup-customer/found.toml"),
            FIXTURE_FOUND.to_string(),
        ),
        (
            PathBuf::from("fixtures/lookup-customer/unknown.toml"),
            FIXTURE_UNKNOWN.to_string(),
        ),
        (
            PathBuf::from(".gitignore"),
            "# nodectl's local working data (emulator state, content cache)\n.nodectl/\n"
                .to_string(),
        ),
        (PathBuf::from(".taplo.toml"), TAPLO.to_string()),
    ];
    for kind in FileKind::ALL {
        let schema = serde_json::to_string_pretty(schema_for(kind)).unwrap_or_default() + "\n";
        files.push((
            PathBuf::from(".schemas").join(kind.schema_file_name()),
            schema,
        ));
    }
    match settings.ci {
        Some(Ci::Github) => files.push((
            PathBuf::from(".github/workflows/nodectl.yml"),
            github_workflow(settings),
        )),
        Some(Ci::Gitlab) => files.push((PathBuf::from(".gitlab-ci.yml"), gitlab_ci(settings))),
        None => {}
    }
    files
}

/// Writes the project into `dir` (made when missing): refused when `dir` already holds a
/// `nodectl.toml` or any of the files. Returns the files written, relative to `dir`.
pub fn write(dir: &Path, settings: &InitSettings) -> Result<Vec<PathBuf>, OpsError> {
    if dir.join("nodectl.toml").exists() {
        return Err(OpsError::Refused(format!(
            "`{}` already holds a nodectl.toml: nodectl init makes a new project",
            dir.display()
        )));
    }
    let files = files(settings);
    if let Some((existing, _)) = files.iter().find(|(path, _)| dir.join(path).exists()) {
        return Err(OpsError::Refused(format!(
            "`{}` exists; nodectl init writes nothing over an existing file",
            dir.join(existing).display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| OpsError::Io(format!("cannot create `{}`: {e}", dir.display())))?;
    let mut written = Vec::with_capacity(files.len());
    for (path, text) in files {
        paths::write_inside(dir, &dir.join(&path), text.as_bytes())
            .map_err(|e| OpsError::Io(format!("cannot write `{}`: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}

/// The `nodectl.toml` of a project `export` starts in an empty folder: one env `env` on the org
/// (`region` or `api_base`) managing `integrations`, its OAuth client from the default variables.
pub fn export_project_file(
    name: &str,
    env: &str,
    region: Option<&str>,
    api_base: Option<&str>,
    integrations: &[String],
) -> String {
    let target = target_line(region, api_base);
    let integrations: Vec<String> = integrations
        .iter()
        .map(|i| format!("\"{}\"", toml_text(i)))
        .collect();
    format!(
        r#"# {name}: the org's data actions, adopted by `nodectl export` (which wrote this file and nodes/).
# `nodectl plan --env {env}` is empty right after; edit the manifests and plan again.

[project]
name = "{name}"
default_env = "{env}"

[env.{env}]
{target}
integrations = [{integrations}]
# The OAuth client: GENESYSCLOUD_OAUTHCLIENT_ID / GENESYSCLOUD_OAUTHCLIENT_SECRET (or set client_id_env /
# client_secret_env to those names plus a suffix, e.g. GENESYSCLOUD_OAUTHCLIENT_ID_PROD).
"#,
        name = toml_text(name),
        integrations = integrations.join(", "),
    )
}

fn project_file(settings: &InitSettings) -> String {
    let mut text = format!(
        r#"# {name}: Genesys Cloud data actions managed with nodectl (made by `nodectl init`).
#
#   nodectl validate        # check every file, offline
#   nodectl test            # dry-run every node against its fixtures (no network)
#   nodectl apply           # apply to the default env: the embedded emulator, no org needed
#
# Each env is an org; its vars fill the `{{{{ vars.NAME }}}}` of the manifests (every env needs the same
# names). Every key is described in nodectl's docs/formats.md; `nodectl schema` gives the editors'.

[project]
name = "{name}"
default_env = "local"

# The embedded Genesys Cloud emulator (state in .nodectl/): plan and apply work with no org.
[env.local]
emulator = true
integration = "{integration}"

[env.local.vars]
api_base = "https://api.example.test"     # the upstream your actions call; fixtures answer for it
"#,
        name = toml_text(&settings.name),
        integration = toml_text(&settings.integration),
    );
    if settings.has_org() {
        let target = target_line(settings.region.as_deref(), settings.api_base.as_deref());
        text.push_str(&format!(
            r#"
# Your org. Its OAuth client comes from these environment variables (CI secrets), never from a file.
[env.prod]
{target}
integration = "{integration}"
client_id_env = "GENESYSCLOUD_OAUTHCLIENT_ID_PROD"
client_secret_env = "GENESYSCLOUD_OAUTHCLIENT_SECRET_PROD"

[env.prod.vars]
api_base = "https://api.example.test"     # TODO: your upstream's base URL in production
"#,
            integration = toml_text(&settings.integration),
        ));
    }
    text
}

/// An org env's target: `region = "…"`, else `api_base = "…"`.
fn target_line(region: Option<&str>, api_base: Option<&str>) -> String {
    match (region, api_base) {
        (Some(region), _) => format!("region = \"{}\"", toml_text(region)),
        (None, Some(base)) => format!("api_base = \"{}\"", toml_text(base)),
        (None, None) => String::new(),
    }
}

/// Text safe inside a TOML basic string.
fn toml_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

const SAMPLE_NODE: &str = r#"# A sample data action: look a customer up by id and give the flow their name and tier.
# Rename it, point it at your API, and record real fixtures with `nodectl record`.
name = "Lookup Customer"
category = "Customers"

[request]
method = "GET"
url = "{{ vars.api_base }}/customers/$esc.url(${input.customerId})"
headers = { Accept = "application/json" }

[response]
translation_map = { name = "$.name", tier = "$.tier" }
translation_map_defaults = { tier = '"standard"' }
success_template = '{"name": ${name}, "tier": ${tier}}'

[input_schema]
type = "object"
required = ["customerId"]
properties.customerId = { type = "string", description = "the customer's id" }

[output_schema]
type = "object"
properties.name = { type = "string" }
properties.tier = { type = "string" }
"#;

const FIXTURE_FOUND: &str = r#"# A customer the upstream knows: the flow gets their name and tier.
node = "Lookup Customer"

[input]
customerId = "c-42"

[[exchange]]
request.method = "GET"
request.url = "{{ vars.api_base }}/customers/c-42"
response.status = 200
response.body = '{"id": "c-42", "name": "Ada Lovelace", "tier": "gold"}'

[expect]
success = true
output = { name = "Ada Lovelace", tier = "gold" }
"#;

const FIXTURE_UNKNOWN: &str = r#"# A customer the upstream does not know: the action fails, and the flow takes its failure path.
node = "Lookup Customer"

[input]
customerId = "c-0"

[[exchange]]
request.url = "{{ vars.api_base }}/customers/c-0"
response.status = 404
response.body = '{"error": "no such customer"}'

[expect]
success = false
error = "remote.status"
"#;

const TAPLO: &str = r#"# Editor support (taplo / Even Better TOML): the JSON Schemas of nodectl's three file formats, as
# `nodectl schema --out-dir .schemas` writes them (run it again after upgrading nodectl).
[[rule]]
include = ["nodectl.toml"]
schema = { path = ".schemas/nodectl.schema.json" }

[[rule]]
include = ["nodes/*.toml"]
schema = { path = ".schemas/node.schema.json" }

[[rule]]
include = ["fixtures/**/*.toml"]
schema = { path = ".schemas/fixture.schema.json" }
"#;

fn github_workflow(settings: &InitSettings) -> String {
    let mut text = String::from(
        r#"# nodectl in GitHub Actions (made by `nodectl init --ci github`): validate and dry-run every pull
# request; plan against the org as a pull-request comment; apply on the default branch.
on:
  pull_request:
  push:
    branches: [main]
jobs:
  nodectl:
    runs-on: ubuntu-latest
    concurrency: nodectl-prod            # applies to one env never run at once
    env:
      GENESYSCLOUD_OAUTHCLIENT_ID_PROD: ${{ secrets.GC_CLIENT_ID }}
      GENESYSCLOUD_OAUTHCLIENT_SECRET_PROD: ${{ secrets.GC_CLIENT_SECRET }}
      NODECTL_CACHE_DIR: ${{ runner.temp }}/nodectl-cache   # outside the checkout
    steps:
      - uses: actions/checkout@v4
      - uses: actions/cache@v4
        with:
          path: ${{ runner.temp }}/nodectl-cache
          key: nodectl-prod-${{ github.run_id }}
          restore-keys: nodectl-prod-
      - run: cargo install --locked --profile dist nodectl   # or however your team installs nodectl
      - run: nodectl validate
      - run: nodectl test --junit target/nodectl-junit.xml
"#,
    );
    if settings.has_org() {
        text.push_str(
            r#"      - if: github.event_name == 'pull_request'
        run: nodectl plan --env prod --output markdown --detailed-exitcode > plan.md || [ $? -eq 2 ]
      - if: github.event_name == 'pull_request'
        uses: marocchino/sticky-pull-request-comment@v2
        with:
          path: plan.md
      - if: github.event_name == 'push'
        run: nodectl apply --env prod --auto-approve
"#,
        );
    } else {
        text.push_str(
            "      # Add an org env (`[env.prod]` with a region) to plan and apply from here.\n",
        );
    }
    text
}

fn gitlab_ci(settings: &InitSettings) -> String {
    let mut text = String::from(
        r#"# nodectl in GitLab CI (made by `nodectl init --ci gitlab`): validate and dry-run every merge request;
# plan against the org there; apply on the default branch.
variables:
  # GitLab caches only inside the project directory: a folder the repository ignores
  NODECTL_CACHE_DIR: $CI_PROJECT_DIR/.nodectl-cache
cache:
  key: nodectl-prod
  paths: [.nodectl-cache]
nodectl:test:
  script:
    - nodectl validate
    - nodectl test --junit target/nodectl-junit.xml
  artifacts:
    reports: { junit: target/nodectl-junit.xml }
"#,
    );
    if settings.has_org() {
        text.push_str(
            r#"nodectl:plan:
  rules: [{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]
  script:
    - nodectl plan --env prod --output markdown --detailed-exitcode > plan.md || [ $? -eq 2 ]
  artifacts:
    paths: [plan.md]
nodectl:apply:
  rules: [{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' }]
  resource_group: nodectl-prod          # applies to one env never run at once
  script:
    - nodectl apply --env prod --auto-approve
"#,
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_control_characters_cannot_break_the_project_file() {
        let settings = InitSettings {
            name: "a\"b\nc".to_string(),
            integration: "Web \\ Services".to_string(),
            region: None,
            api_base: None,
            ci: None,
        };
        let text = project_file(&settings);
        let parsed: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(parsed["project"]["name"].as_str(), Some("a\"bc"));
        assert_eq!(
            parsed["env"]["local"]["integration"].as_str(),
            Some("Web \\ Services")
        );
    }
}

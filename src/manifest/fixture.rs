//! Fixture files (`fixtures/**/*.toml`) → `model::Fixture`, with the fixture rules of docs/formats.md:
//! the node and env it names exist, `input` / `input_json` and `output` / `output_json` are
//! exclusive and well-formed, each exchange has a response or a transport failure, `body_file`
//! exists, and `repeat` agrees with `cached` and `advance_ms`.

use std::path::Path;

use regex::Regex;
use serde_json::{Map, Value};

use super::diag::Diagnostics;
use super::format::{ExchangeSection, FixtureFile};
use super::paths::{self, Area, ContainmentError};
use super::shape::did_you_mean;
use super::source::{Seg, SourceFile, Target};
use crate::model::{
    Env, Exchange, Expectation, ExpectedRequest, Fixture, RecordedResponse, json_kind,
};
use crate::seg_path;

/// Whether tera renders the string at `path` of a fixture: `[input]`, `[credentials]` and
/// `exchange[*].request.*` only — recorded responses are data, never templates.
pub fn renders(path: &[Seg]) -> bool {
    match path {
        [Seg::Key(first), ..] if first == "input" || first == "credentials" => true,
        [Seg::Key(first), Seg::Index(_), Seg::Key(second), ..] => {
            first == "exchange" && second == "request"
        }
        _ => false,
    }
}

/// The fixture's name: its path under the fixtures directory, without `.toml`, with `/` separators.
pub fn fixture_name(relative_to_fixtures: &Path) -> String {
    let without_ext = relative_to_fixtures.with_extension("");
    without_ext
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The node names a fixture may name: every node file's, and the earlier names of renamed nodes
/// (`previous_names` → the name now), for the hint.
#[derive(Debug, Clone, Copy)]
pub struct KnownNodes<'a> {
    pub names: &'a std::collections::BTreeSet<String>,
    pub renamed: &'a std::collections::BTreeMap<String, String>,
}

/// Resolves a parsed (and rendered) fixture against the nodes of its env.
///
/// Long because a fixture has many independent rules (node and env references, input forms,
/// credentials, the expectation's shape) that must all report at once; each is a short block on
/// the same diagnostics, in the order of formats.md's keys.
pub fn resolve(
    project_dir: &Path,
    file: &SourceFile,
    name: String,
    parsed: &FixtureFile,
    env: &Env,
    known_nodes: Option<KnownNodes<'_>>,
    diags: &mut Diagnostics,
) -> Option<Fixture> {
    let before = diags.error_count();
    let at_value = |path: &[Seg]| file.locate(path, Target::Value);
    let at_key = |path: &[Seg]| file.locate(path, Target::Key);

    // `None`: some node file has no readable name, so "unknown node" cannot be told apart from
    // "node with errors of its own"; that file's own errors are reported instead.
    if let Some(known_nodes) = known_nodes
        && !known_nodes.names.contains(&parsed.node)
    {
        let hint = match known_nodes.renamed.get(&parsed.node) {
            Some(now) => format!(
                "; node `{}` was renamed to `{now}` (its `previous_names`): write node = \"{now}\"",
                parsed.node
            ),
            None => {
                let names: Vec<&str> = known_nodes.names.iter().map(String::as_str).collect();
                did_you_mean(&parsed.node, &names)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default()
            }
        };
        diags.error(
            &file.display,
            at_value(&seg_path!["node"]),
            format!("fixture for unknown node `{}`{hint}", parsed.node),
        );
    }

    let input = match (&parsed.input, &parsed.input_json) {
        (Some(_), Some(_)) => {
            diags.error(
                &file.display,
                at_key(&seg_path!["input_json"]),
                "give either [input] or `input_json`, not both",
            );
            None
        }
        (Some(table), None) => Some(Value::Object(
            table.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        )),
        (None, Some(text)) => match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => Some(value),
            Ok(other) => {
                diags.error(
                    &file.display,
                    at_value(&seg_path!["input_json"]),
                    format!(
                        "input_json must be a JSON object, found {}",
                        json_kind(&other)
                    ),
                );
                None
            }
            Err(error) => {
                diags.error(
                    &file.display,
                    at_value(&seg_path!["input_json"]),
                    format!("input_json is not valid JSON: {error}"),
                );
                None
            }
        },
        (None, None) => Some(Value::Object(Map::new())),
    };

    let output = match (&parsed.expect.output, &parsed.expect.output_json) {
        (Some(_), Some(_)) => {
            diags.error(
                &file.display,
                at_key(&seg_path!["expect", "output_json"]),
                "give either `output` or `output_json` in [expect], not both",
            );
            None
        }
        (Some(value), None) => Some(value.clone()),
        (None, Some(text)) => match serde_json::from_str::<Value>(text) {
            Ok(value) => Some(value),
            Err(error) => {
                diags.error(
                    &file.display,
                    at_value(&seg_path!["expect", "output_json"]),
                    format!("output_json is not valid JSON: {error}"),
                );
                None
            }
        },
        (None, None) => None,
    };

    let expect = &parsed.expect;
    if expect.success {
        for (key, set) in [
            ("error", expect.error.is_some()),
            ("error_contains", expect.error_contains.is_some()),
        ] {
            if set {
                diags.error(
                    &file.display,
                    at_key(&seg_path!["expect", key]),
                    format!("`{key}` contradicts `success = true`"),
                );
            }
        }
    } else if output.is_some() {
        diags.error(
            &file.display,
            at_key(&seg_path!["expect"]),
            "an expected `output` contradicts `success = false`",
        );
    }

    let repeat = parsed
        .repeat
        .and_then(|r| u32::try_from(r).ok())
        .unwrap_or(1);
    if let Some(cached) = &expect.cached
        && cached.len() != repeat as usize
    {
        diags.error(
            &file.display,
            at_value(&seg_path!["expect", "cached"]),
            format!(
                "`cached` has {} entries but the fixture runs {repeat} time(s) (`repeat`)",
                cached.len()
            ),
        );
    }
    if parsed.advance_ms.len() > repeat.saturating_sub(1) as usize {
        diags.error(
            &file.display,
            at_value(&seg_path!["advance_ms"]),
            format!(
                "`advance_ms` has {} entries but there are only {} gap(s) between {repeat} execution(s)",
                parsed.advance_ms.len(),
                repeat.saturating_sub(1)
            ),
        );
    }
    if let Some(start) = &parsed.clock_start
        && !is_rfc3339(start)
    {
        diags.error(
            &file.display,
            at_value(&seg_path!["clock_start"]),
            format!(
                "clock_start `{start}` is not an RFC 3339 date-time (e.g. 2026-01-31T09:00:00Z)"
            ),
        );
    }

    let exchanges: Vec<Exchange> = parsed
        .exchange
        .iter()
        .enumerate()
        .filter_map(|(index, exchange)| resolve_exchange(project_dir, file, index, exchange, diags))
        .collect();

    if diags.error_count() > before {
        return None;
    }
    Some(Fixture {
        name,
        node: parsed.node.clone(),
        description: parsed.description.clone(),
        env: env.name.clone(),
        repeat,
        advance_ms: parsed
            .advance_ms
            .iter()
            .filter_map(|v| u64::try_from(v.0).ok())
            .collect(),
        clock_start: parsed.clock_start.clone(),
        input: input?,
        credentials: parsed
            .credentials
            .as_ref()
            .map(|c| {
                c.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect()
            })
            .unwrap_or_default(),
        auth_response: parsed
            .auth_response
            .as_ref()
            .map(|values| values.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        exchanges,
        expect: Expectation {
            success: expect.success,
            attempts: expect.attempts.and_then(|a| u32::try_from(a).ok()),
            output,
            error: expect.error,
            error_contains: expect.error_contains.clone(),
            waits_ms: expect
                .waits_ms
                .as_ref()
                .map(|w| w.iter().filter_map(|v| u64::try_from(v.0).ok()).collect()),
            cached: expect.cached.clone(),
            flatten: expect.flatten.unwrap_or(false),
        },
        source: file.relative.clone(),
    })
}

/// One `[[exchange]]`: its request expectations and its response (status, headers, body or
/// `body_file`, `repeat` / `cached` / `advance_ms`) — every rule reported at once, hence its length.
fn resolve_exchange(
    project_dir: &Path,
    file: &SourceFile,
    index: usize,
    exchange: &ExchangeSection,
    diags: &mut Diagnostics,
) -> Option<Exchange> {
    let response = &exchange.response;
    let at = |key: &str| file.locate(&seg_path!["exchange", index, "response", key], Target::Key);
    let number = index + 1;
    let request = exchange
        .request
        .as_ref()
        .map_or_else(ExpectedRequest::default, |r| ExpectedRequest {
            method: r.method,
            url: r.url.clone(),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body: r.body.clone(),
        });
    if let Some(url) = &request.url
        && !super::render::needs_render(url)
        && !(url.starts_with('/') || url.starts_with("http://") || url.starts_with("https://"))
    {
        diags.error(
            &file.display,
            file.locate(&seg_path!["exchange", index, "request", "url"], Target::Value),
            format!("exchange {number}: request.url `{url}` must be an absolute http(s) URL or start with `/` (path and query)"),
        );
    }
    match (response.error, response.status) {
        (Some(failure), None) => {
            for (key, set) in [
                ("body", response.body.is_some()),
                ("body_file", response.body_file.is_some()),
                ("headers", !response.headers.is_empty()),
            ] {
                if set {
                    diags.error(&file.display, at(key), format!("exchange {number}: `response.{key}` makes no sense with `response.error`"));
                }
            }
            Some(Exchange {
                request,
                response: RecordedResponse::Failure(failure),
            })
        }
        (Some(_), Some(_)) => {
            diags.error(
                &file.display,
                at("error"),
                format!(
                    "exchange {number}: give either `response.status` or `response.error`, not both"
                ),
            );
            None
        }
        (None, None) => {
            diags.error(
                &file.display,
                file.locate(&seg_path!["exchange", index], Target::Value),
                format!("exchange {number}: missing `response.status` (or `response.error = \"connect\" | \"timeout\"`)"),
            );
            None
        }
        (None, Some(status)) => {
            let body = match (&response.body, &response.body_file) {
                (Some(_), Some(_)) => {
                    diags.error(&file.display, at("body_file"), format!("exchange {number}: give either `response.body` or `response.body_file`, not both"));
                    return None;
                }
                (Some(body), None) => body.clone(),
                (None, Some(relative)) => {
                    let fixture_dir = file
                        .relative
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_default();
                    let joined = fixture_dir.join(relative);
                    // Only on an error: locating re-parses the file.
                    let body_file_at = || {
                        file.locate(
                            &seg_path!["exchange", index, "response", "body_file"],
                            Target::Value,
                        )
                    };
                    let cannot_read = |error: std::io::Error| {
                        format!("exchange {number}: cannot read body_file `{relative}`: {error}")
                    };
                    // A refused path is never opened: the message says why, and nothing of the file.
                    let read = match paths::contain(project_dir, &joined, Area::Project) {
                        Ok(real) => std::fs::read_to_string(real).map_err(cannot_read),
                        Err(ContainmentError::Io(error)) => Err(cannot_read(error)),
                        Err(refused) => Err(format!(
                            "exchange {number}: body_file `{relative}` {refused}; not read (keep response bodies beside the fixtures: they are committed with them)"
                        )),
                    };
                    match read {
                        Ok(text) => text,
                        Err(message) => {
                            diags.error(&file.display, body_file_at(), message);
                            return None;
                        }
                    }
                }
                (None, None) => String::new(),
            };
            Some(Exchange {
                request,
                response: RecordedResponse::Http {
                    status: u16::try_from(status.0).unwrap_or(0),
                    headers: response
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    body,
                    delay_ms: response
                        .delay_ms
                        .and_then(|d| u64::try_from(d).ok())
                        .unwrap_or(0),
                },
            })
        }
    }
}

fn is_rfc3339(text: &str) -> bool {
    Regex::new(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
        .map(|re| re.is_match(text))
        .unwrap_or(false)
}

//! Executes a `Plan` through `remote` (docs/plan-apply.md, "Apply"): creates, renames and updates
//! concurrently (bounded by `parallelism`), then deletes — only when nothing failed. Updates use the
//! plan's strategy: `patch`, or `draft` (which keeps the action id for contract and `secure`
//! changes, never discards someone else's draft without `--force`, and cleans up after itself). A
//! version conflict re-reads the action and never loses an update. Creates are idempotent.

pub mod integrations;

use std::borrow::Cow;
use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

pub use integrations::IntegrationContext;

use crate::model::ActionContent;
use crate::plan::{Change, ChangeKind, Plan, Strategy};
use crate::remote::{Remote, RemoteAction, RemoteError};

/// How many times a version conflict whose only cause is a moved version is retried.
const VERSION_RETRIES: u32 = 3;

/// What happened to one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Done as planned.
    Applied,
    /// Nothing to do after all (the org already had the desired content).
    Unchanged,
    Failed,
    /// Not done for safety (someone's draft in progress); exit 5.
    Refused,
    /// Not attempted (a delete after a failure).
    Skipped,
}

/// The outcome of one change: `{ node, change, status, id, version, attempts, error }`.
#[derive(Debug, Clone, Serialize)]
pub struct NodeOutcome {
    pub node: String,
    pub change: ChangeKind,
    pub status: Status,
    pub id: Option<String>,
    pub version: Option<i64>,
    pub attempts: u32,
    pub error: Option<String>,
}

/// Options of an apply run.
#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    pub parallelism: usize,
    /// Discard a draft someone else left.
    pub force: bool,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub nodes: Vec<NodeOutcome>,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        self.nodes.iter().any(|n| n.status == Status::Failed)
    }

    pub fn refused(&self) -> bool {
        self.nodes.iter().any(|n| n.status == Status::Refused)
    }
}

/// Applies the plan; `on_done` hears about each change as it finishes (progress).
/// `protected` are the names that must never be deleted (`[safety] protect` and nodes marked
/// `protect`), checked again against the org just before each delete.
pub async fn apply(
    remote: &Remote,
    plan: &Plan,
    options: ApplyOptions,
    protected: &[String],
    context: &IntegrationContext,
    on_done: &(dyn Fn(&NodeOutcome) + Sync),
) -> Outcome {
    // The managed integrations first, one after another: the actions of a new one need its id.
    let mut outcomes: Vec<NodeOutcome> = Vec::new();
    let mut created: BTreeMap<String, String> = BTreeMap::new();
    for change in plan
        .integration_changes
        .iter()
        .filter(|c| integrations::is_write(c))
    {
        let outcome = integrations::converge_one(remote, change, context).await;
        if let (None, Some(id)) = (&change.id, &outcome.id) {
            created.insert(
                crate::plan::integrations::pending_id(&change.name),
                id.clone(),
            );
        }
        on_done(&outcome);
        outcomes.push(outcome);
    }
    let integrations_failed = outcomes.iter().any(|o| o.status == Status::Failed);
    // The plan's placeholder ids of new integrations, now that they exist.
    let changes: Vec<Cow<'_, Change>> = plan
        .changes
        .iter()
        .map(|change| match created.get(&change.key.integration_id) {
            Some(id) => {
                let mut change = change.clone();
                change.key.integration_id = id.clone();
                Cow::Owned(change)
            }
            None => Cow::Borrowed(change),
        })
        .collect();
    let writes: Vec<&Change> = changes
        .iter()
        .map(|c| c.as_ref())
        .filter(|c| c.change.is_write())
        .collect();
    if integrations_failed {
        for change in writes {
            let outcome = NodeOutcome {
                error: Some("not applied: an integration change failed".to_string()),
                attempts: 0,
                ..done(
                    &change.key.name,
                    change.change,
                    Status::Skipped,
                    change.id.clone(),
                    None,
                )
            };
            on_done(&outcome);
            outcomes.push(outcome);
        }
    } else {
        let written: Vec<NodeOutcome> = stream::iter(writes)
            .map(|change| async move {
                let outcome = apply_write(remote, change, options).await;
                on_done(&outcome);
                outcome
            })
            .buffer_unordered(options.parallelism.max(1))
            .collect()
            .await;
        outcomes.extend(written);
    }

    // Deletes last, and never after a failure: a half-applied run must not also remove things.
    let blocked = outcomes
        .iter()
        .any(|o| matches!(o.status, Status::Failed | Status::Refused));
    let mut deletes: Vec<PlannedDelete> = plan
        .changes
        .iter()
        .filter(|c| c.change == ChangeKind::Delete)
        .filter_map(|c| {
            Some(PlannedDelete {
                node: c.key.name.clone(),
                id: c.id.clone()?,
                name: c.before.as_ref().map_or(&c.key.name, |b| &b.name).clone(),
                integration_id: c.key.integration_id.clone(),
                version: c.version,
            })
        })
        .collect();
    // The old action of a successful replace goes in the delete phase too.
    for change in plan
        .changes
        .iter()
        .filter(|c| c.change == ChangeKind::Replace)
    {
        let replaced_ok = outcomes.iter().any(|o| {
            o.node == change.key.name
                && o.change == ChangeKind::Replace
                && o.status == Status::Applied
        });
        if let (true, Some(old)) = (replaced_ok, &change.replaces) {
            deletes.push(PlannedDelete {
                node: format!("{} (old action)", change.key.name),
                id: old.id.clone(),
                name: change
                    .before
                    .as_ref()
                    .map_or(&change.key.name, |b| &b.name)
                    .clone(),
                integration_id: old.integration_id.clone(),
                version: Some(old.version),
            });
        }
    }
    let written: Vec<String> = outcomes.iter().filter_map(|o| o.id.clone()).collect();
    let written_ids: std::collections::BTreeSet<&str> =
        written.iter().map(String::as_str).collect();
    for planned in &deletes {
        let outcome = if blocked {
            NodeOutcome {
                node: planned.node.clone(),
                change: ChangeKind::Delete,
                status: Status::Skipped,
                id: Some(planned.id.clone()),
                version: None,
                attempts: 0,
                error: Some("not deleted: an earlier change failed".to_string()),
            }
        } else {
            guarded_delete(remote, planned, &written_ids, protected).await
        };
        on_done(&outcome);
        outcomes.push(outcome);
    }
    // The integrations no longer declared go last, with their actions.
    let blocked = outcomes
        .iter()
        .any(|o| matches!(o.status, Status::Failed | Status::Refused));
    for change in plan
        .integration_changes
        .iter()
        .filter(|c| c.change == ChangeKind::Delete)
    {
        let outcome = if blocked {
            NodeOutcome {
                error: Some("not deleted: an earlier change failed".to_string()),
                attempts: 0,
                ..done(
                    &integrations::outcome_name(&change.name),
                    ChangeKind::Delete,
                    Status::Skipped,
                    change.id.clone(),
                    None,
                )
            }
        } else {
            integrations::delete_one(remote, change, context, protected).await
        };
        on_done(&outcome);
        outcomes.push(outcome);
    }
    outcomes.sort_by(|a, b| a.node.cmp(&b.node));
    Outcome { nodes: outcomes }
}

fn done(
    node: &str,
    change: ChangeKind,
    status: Status,
    id: Option<String>,
    version: Option<i64>,
) -> NodeOutcome {
    NodeOutcome {
        node: node.to_string(),
        change,
        status,
        id,
        version,
        attempts: 1,
        error: None,
    }
}

fn failed(node: &str, change: ChangeKind, id: Option<String>, error: &RemoteError) -> NodeOutcome {
    NodeOutcome {
        node: node.to_string(),
        change,
        status: Status::Failed,
        id,
        version: None,
        attempts: match error {
            RemoteError::Api(api) => api.attempts,
            _ => 1,
        },
        error: Some(error.to_string()),
    }
}

async fn apply_write(remote: &Remote, change: &Change, options: ApplyOptions) -> NodeOutcome {
    let name = change.key.name.as_str();
    let Some(after) = &change.after else {
        return done(
            name,
            change.change,
            Status::Unchanged,
            change.id.clone(),
            change.version,
        );
    };
    match (change.change, &change.id, change.strategy) {
        (ChangeKind::Create | ChangeKind::Replace, _, _) => match remote
            .create_action(after, &change.key.integration_id)
            .await
        {
            Ok(created) if created.adopted => {
                adopt_or_report_overtaken(remote, change, created.action).await
            }
            Ok(created) => done(
                name,
                change.change,
                Status::Applied,
                Some(created.action.id),
                Some(created.action.version),
            ),
            Err(error) => failed(name, change.change, None, &error),
        },
        (_, Some(id), strategy) => match &change.before {
            Some(before) if strategy == Some(Strategy::Draft) => {
                update_by_draft(remote, change, id, (before, after), options).await
            }
            Some(before) => update_by_patch(remote, change, id, (before, after)).await,
            None => done(
                name,
                change.change,
                Status::Unchanged,
                Some(id.clone()),
                change.version,
            ),
        },
        (ChangeKind::Update, None, _) if after.custom_auth => {
            // Genesys makes it when this apply bound the User Defined OAuth credential.
            match remote.await_custom_auth(&change.key.integration_id).await {
                Ok(current) => {
                    let before = current.content();
                    let planned = Change {
                        id: Some(current.id.clone()),
                        version: Some(current.version),
                        before: Some(before.clone()),
                        ..change.clone()
                    };
                    if before == *after {
                        done(
                            name,
                            change.change,
                            Status::Unchanged,
                            Some(current.id),
                            Some(current.version),
                        )
                    } else {
                        update_by_patch(remote, &planned, &current.id, (&before, after)).await
                    }
                }
                Err(error) => failed(name, change.change, None, &error),
            }
        }
        (_, None, _) => done(name, change.change, Status::Unchanged, None, None),
    }
}

/// `PATCH` with the planned version; a version conflict re-reads the action: already as desired →
/// unchanged; only the version moved → retry with it (at most 3 times); changed by someone else →
/// stop with a conflict, so that no update is ever lost.
async fn update_by_patch(
    remote: &Remote,
    change: &Change,
    id: &str,
    (before, after): (&ActionContent, &ActionContent),
) -> NodeOutcome {
    let name = change.key.name.as_str();
    let mut version = change.version.unwrap_or(1);
    let mut attempts = 0;
    loop {
        attempts += 1;
        match remote.update_action(id, version, after).await {
            Ok(action) => {
                let mut outcome = done(
                    name,
                    change.change,
                    Status::Applied,
                    Some(action.id),
                    Some(action.version),
                );
                outcome.attempts = attempts;
                return outcome;
            }
            Err(RemoteError::Api(error)) if error.is_version_conflict() => {
                let current = match remote.read_fresh(id).await {
                    Ok(current) => current,
                    Err(read_error) => {
                        return failed(name, change.change, Some(id.to_string()), &read_error);
                    }
                };
                match resolve_conflict(&current, change) {
                    Conflict::AlreadyDone => {
                        let mut outcome = done(
                            name,
                            change.change,
                            Status::Unchanged,
                            Some(id.to_string()),
                            Some(current.version),
                        );
                        outcome.attempts = attempts;
                        return outcome;
                    }
                    Conflict::VersionMoved if attempts <= VERSION_RETRIES => {
                        version = current.version
                    }
                    _ => {
                        return NodeOutcome {
                            error: Some(format!(
                                "conflict: `{}` was changed by someone else (version {} → {}); run plan again to see the new diff",
                                before.name,
                                change.version.unwrap_or(0),
                                current.version
                            )),
                            attempts,
                            ..failed(
                                name,
                                change.change,
                                Some(id.to_string()),
                                &RemoteError::Api(error),
                            )
                        };
                    }
                }
            }
            Err(error) => return failed(name, change.change, Some(id.to_string()), &error),
        }
    }
}

/// A create found the name already taken: adopted when the org's action holds exactly the desired
/// content (our own earlier attempt whose answer was lost, or a racing apply of the same manifests);
/// otherwise another writer overtook this run, which says so and fails rather than report success
/// over content it did not write.
async fn adopt_or_report_overtaken(
    remote: &Remote,
    change: &Change,
    existing: crate::genesys::dto::Action,
) -> NodeOutcome {
    let name = change.key.name.as_str();
    let current = match remote.read_fresh(&existing.id).await {
        Ok(current) => current,
        Err(error) => return failed(name, change.change, Some(existing.id), &error),
    };
    match resolve_conflict(&current, change) {
        Conflict::AlreadyDone => done(
            name,
            change.change,
            Status::Applied,
            Some(current.id),
            Some(current.version),
        ),
        Conflict::VersionMoved | Conflict::ChangedElsewhere => NodeOutcome {
            error: Some(format!(
                "overtaken: another writer created `{}` (id {}, version {}) with other content while this apply ran; nothing was overwritten — run plan again to see the difference",
                current.name, current.id, current.version
            )),
            ..done(
                name,
                change.change,
                Status::Failed,
                Some(current.id),
                Some(current.version),
            )
        },
    }
}

/// One delete as the plan saw it, checked against the org just before it is sent.
struct PlannedDelete {
    node: String,
    id: String,
    name: String,
    integration_id: String,
    version: Option<i64>,
}

/// Deletes an action only if it is still what the plan said: the same name in the same
/// integration at the planned version, not protected, and not an action this very run created or
/// adopted. Anything else is refused (exit 5) and named — the plan was computed from a view of the
/// org that no longer holds (or, through a poisoned cache, never held).
async fn guarded_delete(
    remote: &Remote,
    planned: &PlannedDelete,
    written_ids: &std::collections::BTreeSet<&str>,
    protected: &[String],
) -> NodeOutcome {
    let refuse = |why: String| NodeOutcome {
        error: Some(format!("not deleted: {why}")),
        ..done(
            &planned.node,
            ChangeKind::Delete,
            Status::Refused,
            Some(planned.id.clone()),
            planned.version,
        )
    };
    if written_ids.contains(planned.id.as_str()) {
        return refuse(format!(
            "this apply created or adopted action {} a moment ago",
            planned.id
        ));
    }
    let current = match remote.action(&planned.id).await {
        Ok(Some(current)) => current,
        Ok(None) => {
            return done(
                &planned.node,
                ChangeKind::Delete,
                Status::Unchanged,
                Some(planned.id.clone()),
                None,
            );
        }
        Err(error) => {
            return failed(
                &planned.node,
                ChangeKind::Delete,
                Some(planned.id.clone()),
                &error,
            );
        }
    };
    if let Some(rule) = protected
        .iter()
        .find(|p| p.to_lowercase() == current.name.to_lowercase())
    {
        return refuse(format!("`{}` is protected (`{rule}`)", current.name));
    }
    if current.name != planned.name || current.integration_id != planned.integration_id {
        return refuse(format!(
            "action {} is now `{}` in integration {}, not `{}` in {} as planned; run plan again",
            planned.id, current.name, current.integration_id, planned.name, planned.integration_id
        ));
    }
    if let Some(version) = planned.version
        && current.version != version
    {
        return refuse(format!(
            "`{}` changed since the plan (version {version} → {}); run plan again",
            current.name, current.version
        ));
    }
    match remote.delete(&planned.id).await {
        Ok(()) => done(
            &planned.node,
            ChangeKind::Delete,
            Status::Applied,
            Some(planned.id.clone()),
            None,
        ),
        Err(error) => failed(
            &planned.node,
            ChangeKind::Delete,
            Some(planned.id.clone()),
            &error,
        ),
    }
}

enum Conflict {
    AlreadyDone,
    VersionMoved,
    ChangedElsewhere,
}

fn resolve_conflict(current: &RemoteAction, change: &Change) -> Conflict {
    let content = current.content();
    let mut desired = change.after.clone();
    if let Some(d) = desired.as_mut()
        && d.timeout_seconds.is_none()
    {
        d.timeout_seconds = content.timeout_seconds;
    }
    if desired
        .as_ref()
        .is_some_and(|d| crate::plan::diff::fields(&content, d).is_empty())
    {
        Conflict::AlreadyDone
    } else if change
        .before
        .as_ref()
        .is_some_and(|b| crate::plan::diff::fields(&content, b).is_empty())
    {
        Conflict::VersionMoved
    } else {
        Conflict::ChangedElsewhere
    }
}

/// The draft strategy: reuse or make a draft, patch it, validate, publish — the action keeps its id.
/// Each write can succeed with its answer lost (a timeout, a dropped connection, a 5xx after the
/// change was stored); a retry then meets a conflict or a missing draft. So after such a failure
/// the step looks at what the org holds and goes on when the write did happen.
async fn update_by_draft(
    remote: &Remote,
    change: &Change,
    id: &str,
    (before, after): (&ActionContent, &ActionContent),
    options: ApplyOptions,
) -> NodeOutcome {
    let name = change.key.name.as_str();
    let fail = |error: &RemoteError| failed(name, change.change, Some(id.to_string()), error);
    let existing = match remote.draft(id).await {
        Ok(existing) => existing,
        Err(error) => return fail(&error),
    };
    let draft = match existing {
        // A draft equal to the published action or to what we want is reusable (an earlier run may
        // have left it); anything else is someone's work in progress in the Genesys UI.
        Some(draft) if draft_matches(&draft, before) || draft_matches(&draft, after) => draft,
        Some(_) if options.force => {
            if let Err(error) = remote.draft_delete(id).await {
                return fail(&error);
            }
            match make_draft(remote, id, before).await {
                Ok(draft) => draft,
                Err(error) => return fail(&error),
            }
        }
        Some(_) => {
            return NodeOutcome {
                status: Status::Refused,
                error: Some(format!(
                    "draft in progress on `{}`; --force discards it",
                    before.name
                )),
                ..done(
                    name,
                    change.change,
                    Status::Refused,
                    Some(id.to_string()),
                    change.version,
                )
            };
        }
        None => match make_draft(remote, id, before).await {
            Ok(draft) => draft,
            Err(error) => return fail(&error),
        },
    };
    let patched = match remote.update_draft(id, draft.version, after).await {
        Ok(patched) => patched,
        Err(error) => match draft_if_written(remote, id, after, &error).await {
            Some(patched) => patched,
            None => {
                // Ours, holding the published content: safe to remove, and the next run starts over.
                let _ = remote.draft_delete(id).await;
                let refused = matches!(&error, RemoteError::Api(api) if api.status() == Some(400) && !api.is_version_conflict());
                let mut outcome = fail(&error);
                if refused {
                    outcome.error = Some(format!(
                        "Genesys refused the contract change; --allow-replace recreates the action (new id): {error}"
                    ));
                }
                return outcome;
            }
        },
    };
    match remote.draft_validate(id).await {
        Ok(validation) if !validation.valid => {
            let _ = remote.draft_delete(id).await;
            let reasons: Vec<String> = validation
                .errors
                .iter()
                .map(|e| e.message.clone())
                .collect();
            return NodeOutcome {
                error: Some(format!(
                    "the draft does not validate: {}",
                    reasons.join("; ")
                )),
                ..done(
                    name,
                    change.change,
                    Status::Failed,
                    Some(id.to_string()),
                    None,
                )
            };
        }
        Ok(_) => {}
        // The draft is left as it is (it holds what we want): the next run reuses it.
        Err(error) => return fail(&error),
    }
    match remote.draft_publish(id, patched.version).await {
        Ok(published) => done(
            name,
            change.change,
            Status::Applied,
            Some(published.id),
            Some(published.version),
        ),
        Err(error) => {
            // Published with the answer lost: the retry finds no draft (404) or a conflict, and
            // the published action already holds `after`.
            if (recoverable(&error) || is_not_found(&error))
                && let Ok(current) = remote.read_fresh(id).await
                && matches!(resolve_conflict(&current, change), Conflict::AlreadyDone)
            {
                return done(
                    name,
                    change.change,
                    Status::Applied,
                    Some(current.id),
                    Some(current.version),
                );
            }
            // The draft holds what we want: left for the next run to publish.
            fail(&error)
        }
    }
}

/// Whether a failed write may have happened anyway (its answer lost) or met the result of an
/// earlier attempt of the same write (a conflict).
fn recoverable(error: &RemoteError) -> bool {
    matches!(error, RemoteError::Api(api) if api.is_ambiguous() || api.is_version_conflict())
}

fn is_not_found(error: &RemoteError) -> bool {
    matches!(error, RemoteError::Api(api) if api.is_not_found())
}

/// `POST …/draft`; after a recoverable failure, the draft the org now holds when it is a copy of
/// the published action (made by this very request).
async fn make_draft(
    remote: &Remote,
    id: &str,
    published: &ActionContent,
) -> Result<crate::genesys::dto::Action, RemoteError> {
    match remote.draft_create(id).await {
        Ok(draft) => Ok(draft),
        Err(error) if recoverable(&error) => match remote.draft(id).await {
            Ok(Some(draft)) if draft_matches(&draft, published) => Ok(draft),
            _ => Err(error),
        },
        Err(error) => Err(error),
    }
}

/// After a recoverable failure of the draft's PATCH: the draft when it holds `wanted` already.
async fn draft_if_written(
    remote: &Remote,
    id: &str,
    wanted: &ActionContent,
    error: &RemoteError,
) -> Option<crate::genesys::dto::Action> {
    if !recoverable(error) {
        return None;
    }
    match remote.draft(id).await {
        Ok(Some(draft)) if draft_matches(&draft, wanted) => Some(draft),
        _ => None,
    }
}

/// Whether a draft holds `target`'s content. A draft read carries template URIs rather than the
/// template text, so its templates count as matching when absent.
fn draft_matches(
    draft: &crate::genesys::dto::Action,
    target: &crate::model::ActionContent,
) -> bool {
    let mut config = draft.config.clone().unwrap_or_default();
    config
        .request
        .request_template
        .get_or_insert_with(|| target.request_template.clone());
    config
        .response
        .success_template
        .get_or_insert_with(|| target.success_template.clone());
    let as_remote = RemoteAction {
        id: draft.id.clone(),
        version: draft.version,
        integration_id: draft.integration_id.clone(),
        name: draft.name.clone(),
        category: draft.category.clone().unwrap_or_default(),
        secure: draft.secure,
        config,
        contract: draft.contract.clone().unwrap_or_default(),
    };
    let mut content = as_remote.content();
    if target.timeout_seconds.is_none() {
        content.timeout_seconds = None;
    }
    crate::plan::diff::fields(&content, target).is_empty()
}

//! The Genesys client and `remote` over real HTTP against the emulator on 127.0.0.1 (never a mock):
//! every operation `apply` uses, the content cache's request counts, token expiry mid-run, the rate
//! limiter, a 429 storm and injected 503s, version conflicts, an unknown integration, and the error
//! messages a user sees. Each case is a function run by `check`, which reports every failure at once.

use std::time::{Duration, Instant};

use nodectl::emulator::{self, EmulatorHandle, EmulatorOptions};
use nodectl::genesys::dto::{Action, ActionContract, UpdateActionInput, UpdateDraftInput};
use nodectl::genesys::{Client, ClientOptions, Credentials};
use nodectl::model::{ActionContent, IntegrationRef};
use nodectl::remote::convert::{config_of, post_input};
use nodectl::remote::{ContentCache, Remote, RemoteError};
use serde_json::json;

const INTEGRATION: &str = "Web Services";

fn content(name: &str) -> ActionContent {
    ActionContent {
        custom_auth: false,
        name: name.to_string(),
        category: "Tests".to_string(),
        secure: false,
        timeout_seconds: None,
        method: "GET".to_string(),
        url: format!(
            "https://crm.example.test/{}/${{input.id}}",
            name.replace(' ', "-")
        ),
        headers: vec![("Accept".to_string(), "application/json".to_string())],
        request_template: "${input.rawRequest}".to_string(),
        translation_map: Default::default(),
        translation_map_defaults: Default::default(),
        success_template: "${rawResult}".to_string(),
        input_schema: json!({"type": "object", "properties": {"id": {"type": "string"}}}),
        output_schema: json!({"type": "object"}),
    }
    .normalized()
}

async fn emulator(options: EmulatorOptions) -> EmulatorHandle {
    emulator::start(EmulatorOptions {
        integration: vec![INTEGRATION.to_string()],
        ..options
    })
    .await
    .unwrap_or_else(|e| panic!("emulator: {e}"))
}

fn remote(
    handle: &EmulatorHandle,
    cache: Option<ContentCache>,
    tune: impl FnOnce(&mut ClientOptions),
) -> Remote {
    let mut options = ClientOptions::new(
        handle.base_url(),
        Credentials::ClientCredentials {
            client_id: handle.client_id().to_string(),
            client_secret: handle.client_secret().to_string(),
        },
    );
    options.max_rps = 1000.0;
    tune(&mut options);
    Remote::new(
        Client::new(options).unwrap_or_else(|e| panic!("{e}")),
        cache,
    )
}

fn integration_id(handle: &EmulatorHandle) -> String {
    handle
        .integrations()
        .into_iter()
        .find(|(name, _, _)| name == INTEGRATION)
        .map(|(_, id, _)| id)
        .unwrap_or_default()
}

fn count(handle: &EmulatorHandle, route: &str) -> u64 {
    handle.stats()["routes"][route]
        .as_object()
        .map(|statuses| statuses.values().filter_map(|v| v.as_u64()).sum())
        .unwrap_or(0)
}

type Case = fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>;

/// Creates, reads completely, patches, conflicts, drafts, publishes and deletes.
async fn every_write_operation() -> Result<(), String> {
    let handle = emulator(EmulatorOptions::ephemeral()).await;
    let remote = remote(&handle, None, |_| {});
    let integration = integration_id(&handle);
    let created = remote
        .create(&post_input(&content("Lookup"), &integration))
        .await
        .map_err(|e| e.to_string())?
        .action;
    if created.version != 1 {
        return Err(format!("created at version {}", created.version));
    }
    let read = remote
        .read_fresh(&created.id)
        .await
        .map_err(|e| e.to_string())?;
    if read.content() != content("Lookup") {
        return Err(format!("read back differs: {:?}", read.content()));
    }
    let mut changed = content("Lookup");
    changed.url = "https://crm.example.test/v2/${input.id}".to_string();
    let patch = |version| UpdateActionInput {
        category: None,
        name: None,
        config: Some(config_of(&changed)),
        version,
    };
    let patched = remote
        .patch(&created.id, &patch(1))
        .await
        .map_err(|e| e.to_string())?;
    match remote.patch(&created.id, &patch(1)).await {
        Err(RemoteError::Api(error)) if error.is_version_conflict() => {
            let text = error.to_string();
            if !text.starts_with(&format!(
                "PATCH /api/v2/integrations/actions/{} -> 409",
                created.id
            )) || !text.contains("contextId")
            {
                return Err(format!(
                    "conflict message lacks the call or the contextId: {text}"
                ));
            }
        }
        other => return Err(format!("a stale version was not a conflict: {other:?}")),
    }
    if remote
        .draft(&created.id)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err("a draft exists before one was made".into());
    }
    let draft = remote
        .draft_create(&created.id)
        .await
        .map_err(|e| e.to_string())?;
    let contract = ActionContract {
        output: nodectl::genesys::dto::ContractOutput {
            success_schema: json!({"type": "object", "properties": {"tier": {"type": "string"}}}),
            ..Default::default()
        },
        ..nodectl::remote::convert::contract_of(&changed)
    };
    let draft = remote
        .draft_patch(
            &created.id,
            &UpdateDraftInput {
                category: None,
                name: None,
                config: None,
                contract: Some(contract),
                secure: None,
                version: draft.version,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    let validation = remote
        .draft_validate(&created.id)
        .await
        .map_err(|e| e.to_string())?;
    if !validation.valid {
        return Err(format!("draft invalid: {:?}", validation.errors));
    }
    let published = remote
        .draft_publish(&created.id, draft.version)
        .await
        .map_err(|e| e.to_string())?;
    if published.id != created.id || published.version <= patched.version {
        return Err(format!(
            "publish gave {} v{}",
            published.id, published.version
        ));
    }
    let after = remote
        .read_fresh(&created.id)
        .await
        .map_err(|e| e.to_string())?;
    if after.contract.output.success_schema["properties"]["tier"].is_null() {
        return Err("the published contract is not the draft's".into());
    }
    remote
        .delete(&created.id)
        .await
        .map_err(|e| e.to_string())?;
    // A second delete (a retry after a lost answer) counts as done.
    remote
        .delete(&created.id)
        .await
        .map_err(|e| format!("deleting twice: {e}"))?;
    Ok(())
}

/// Snapshot across pages; the warm snapshot costs only the listings (`ceil(n / 100) + 2` at most).
async fn snapshot_pages_and_content_cache() -> Result<(), String> {
    let handle = emulator(EmulatorOptions {
        page_size_max: 7,
        ..EmulatorOptions::ephemeral()
    })
    .await;
    let writer = remote(&handle, None, |_| {});
    let integration = integration_id(&handle);
    for i in 0..23 {
        writer
            .create(&post_input(&content(&format!("Node {i:02}")), &integration))
            .await
            .map_err(|e| e.to_string())?;
    }
    let cache_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let wanted = [IntegrationRef::Name(INTEGRATION.to_string())];
    let cold = remote(&handle, Some(ContentCache::new(cache_dir.path())), |_| {})
        .snapshot(&wanted)
        .await
        .map_err(|e| e.to_string())?;
    if cold.actions.len() != 23
        || cold
            .actions
            .iter()
            .any(|a| a.config.request.request_template.is_none())
    {
        return Err(format!(
            "cold snapshot has {} complete actions",
            cold.actions.len()
        ));
    }
    let warm = remote(&handle, Some(ContentCache::new(cache_dir.path())), |_| {})
        .snapshot(&wanted)
        .await
        .map_err(|e| e.to_string())?;
    // token + integrations (1 page of 7) + actions (25 with the statics: 4 pages of 7).
    let listing_pages = 1 + 1 + 4;
    if warm.requests != listing_pages || cold.requests != listing_pages + 3 * 23 {
        return Err(format!(
            "requests: cold {} (want {}), warm {} (want {listing_pages})",
            cold.requests,
            listing_pages + 3 * 23,
            warm.requests
        ));
    }
    if warm.actions != cold.actions {
        return Err("the warm snapshot differs from the cold one".into());
    }
    Ok(())
}

/// Tokens that expire every second: the client renews them ahead of expiry; nothing fails.
async fn token_expiry_mid_run() -> Result<(), String> {
    let handle = emulator(EmulatorOptions {
        token_ttl: 1,
        ..EmulatorOptions::ephemeral()
    })
    .await;
    let remote = remote(&handle, None, |_| {});
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        remote
            .resolve_integrations(&[IntegrationRef::Name(INTEGRATION.to_string())])
            .await
            .map_err(|e| e.to_string())?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let grants = count(&handle, "POST /oauth/token");
    if grants < 3 {
        return Err(format!(
            "{grants} token grants in 2.5 s with a 1 s lifetime"
        ));
    }
    Ok(())
}

/// A token the org forgets (an emulator restart) gets one re-grant on the 401, then the call works.
async fn reauthenticates_once_on_401() -> Result<(), String> {
    let state = tempfile::tempdir().map_err(|e| e.to_string())?;
    let options = EmulatorOptions {
        state: Some(state.path().join("org.json")),
        ..EmulatorOptions::ephemeral()
    };
    let first = emulator(options.clone()).await;
    let addr = first.local_addr();
    let remote = remote(&first, None, |_| {});
    remote
        .resolve_integrations(&[IntegrationRef::Name(INTEGRATION.to_string())])
        .await
        .map_err(|e| e.to_string())?;
    first.shutdown().await.map_err(|e| e.to_string())?;
    let second = emulator(EmulatorOptions { addr, ..options }).await;
    remote
        .resolve_integrations(&[IntegrationRef::Name(INTEGRATION.to_string())])
        .await
        .map_err(|e| format!("after the restart: {e}"))?;
    if count(&second, "POST /oauth/token") != 1 {
        return Err(format!("stats after the restart: {}", second.stats()));
    }
    Ok(())
}

/// The limiter keeps the rate at the configured limit.
async fn rate_limiter_holds_the_rate() -> Result<(), String> {
    let handle = emulator(EmulatorOptions::ephemeral()).await;
    let remote = remote(&handle, None, |o| o.max_rps = 20.0);
    let started = Instant::now();
    for _ in 0..40 {
        remote
            .client()
            .get::<serde_json::Value>("/api/v2/integrations?pageSize=1&pageNumber=1")
            .await
            .map_err(|e| e.to_string())?;
    }
    // 41 requests (the grant too) at 20/s from an empty bucket: at least 2 s.
    let elapsed = started.elapsed();
    if elapsed < Duration::from_millis(1950) {
        return Err(format!("41 requests at 20/s took only {elapsed:?}"));
    }
    Ok(())
}

/// Injected 429s and 503s (with Retry-After) and dropped connections: every read and write still
/// succeeds, and no create makes a duplicate.
async fn storms_of_429_and_503() -> Result<(), String> {
    for status in [429, 503] {
        let handle = emulator(EmulatorOptions {
            fail_rate: 0.3,
            fail_status: status,
            seed: Some(11),
            ..EmulatorOptions::ephemeral()
        })
        .await;
        let remote = remote(&handle, None, |o| o.max_attempts = 10);
        let integration = integration_id(&handle);
        for i in 0..8 {
            remote
                .create(&post_input(&content(&format!("Storm {i}")), &integration))
                .await
                .map_err(|e| format!("{status}: create {i}: {e}"))?;
        }
        let snapshot = remote
            .snapshot(&[IntegrationRef::Name(INTEGRATION.to_string())])
            .await
            .map_err(|e| format!("{status}: {e}"))?;
        if snapshot.actions.len() != 8 {
            return Err(format!(
                "{status} storm: {} actions instead of 8",
                snapshot.actions.len()
            ));
        }
        if count(&handle, "POST /api/v2/integrations/actions") <= 8 && status == 429 {
            return Err(format!("no 429 was injected: {}", handle.stats()));
        }
    }
    Ok(())
}

/// Unknown and ambiguous integrations are errors that say what to do.
async fn unknown_integration() -> Result<(), String> {
    let handle = emulator(EmulatorOptions::ephemeral()).await;
    let remote = remote(&handle, None, |_| {});
    match remote
        .snapshot(&[IntegrationRef::Name("No Such Integration".into())])
        .await
    {
        Err(error @ RemoteError::IntegrationNotFound(_))
            if error.to_string().contains("No Such Integration") =>
        {
            Ok(())
        }
        other => Err(format!(
            "unknown integration: {:?}",
            other.map(|s| s.actions.len())
        )),
    }
}

/// An action of an integration the env does not manage is known by its integration's name (the
/// plan's "also exists in unmanaged integration `…`" warning shows it), not by the id.
async fn unmanaged_actions_name_their_integration() -> Result<(), String> {
    let handle = emulator::start(EmulatorOptions {
        integration: vec![INTEGRATION.to_string(), "Other Services".to_string()],
        ..EmulatorOptions::ephemeral()
    })
    .await
    .map_err(|e| e.to_string())?;
    let remote = remote(&handle, None, |_| {});
    let other = handle
        .integrations()
        .into_iter()
        .find(|(name, _, _)| name == "Other Services")
        .map(|(_, id, _)| id)
        .unwrap_or_default();
    remote
        .create_action(&content("Lookup"), &other)
        .await
        .map_err(|e| e.to_string())?;
    let snapshot = remote
        .snapshot(&[IntegrationRef::Name(INTEGRATION.into())])
        .await
        .map_err(|e| e.to_string())?;
    match snapshot.elsewhere.as_slice() {
        [one] if one.integration_name == "Other Services" && one.integration_id == other => Ok(()),
        other => Err(format!("unmanaged actions: {other:?}")),
    }
}

/// Wrong client credentials: an authentication error naming the grant, and no secret in it.
async fn wrong_secret() -> Result<(), String> {
    let handle = emulator(EmulatorOptions::ephemeral()).await;
    let mut options = ClientOptions::new(
        handle.base_url(),
        Credentials::ClientCredentials {
            client_id: handle.client_id().into(),
            client_secret: "s3cr3t-wrong".into(),
        },
    );
    options.max_rps = 1000.0;
    let remote = Remote::new(Client::new(options).map_err(|e| e.to_string())?, None);
    match remote
        .resolve_integrations(&[IntegrationRef::Name(INTEGRATION.into())])
        .await
    {
        Err(error)
            if error
                .to_string()
                .contains("client credentials grant was refused")
                && !error.to_string().contains("s3cr3t") =>
        {
            Ok(())
        }
        other => Err(format!("wrong secret: {other:?}")),
    }
}

/// A listing whose entities do not add up to its `total` is read again, then refused: a prune
/// planned from a short listing would delete what it failed to see. (A scripted server: the
/// emulator's listings are always consistent.)
async fn listing_that_does_not_add_up() -> Result<(), String> {
    let page = r#"{"entities": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}], "pageSize": 100, "pageNumber": 1, "total": 3, "pageCount": 1}"#;
    let repeated = r#"{"entities": [{"id": "a", "name": "A"}, {"id": "a", "name": "A"}], "pageSize": 100, "pageNumber": 1, "total": 2, "pageCount": 1}"#;
    let reply = |body: &str| crate::upstream::Reply {
        status: 200,
        body: body.to_string(),
        ..Default::default()
    };
    for (script, expected) in [
        (
            vec![reply(page), reply(page)],
            "collected 2 entities but the listing's total is 3",
        ),
        (vec![reply(repeated), reply(repeated)], "id a appears twice"),
    ] {
        let upstream = crate::upstream::Upstream::start(script);
        let mut options = ClientOptions::new(&upstream.base, Credentials::AccessToken("t".into()));
        options.max_rps = 1000.0;
        let client = Client::new(options).map_err(|e| e.to_string())?;
        match client
            .list_all(
                "/api/v2/integrations",
                |i: &nodectl::genesys::dto::Integration| i.id.as_str(),
            )
            .await
        {
            Err(error)
                if error.to_string().contains(expected)
                    && error.to_string().contains("inconsistent listing") => {}
            other => return Err(format!("expected `{expected}`, got {other:?}")),
        }
        if upstream.received().len() != 2 {
            return Err(format!(
                "the listing was read {} times, not twice",
                upstream.received().len()
            ));
        }
    }
    Ok(())
}

/// An org of `count` actions `Page NN` behind an emulator that answers every request `latency_ms`
/// late and serves 5 entities per page (the listing: `count` + 2 built-ins).
async fn slow_paged_org(count: usize, latency_ms: u64) -> Result<EmulatorHandle, String> {
    let handle = emulator(EmulatorOptions {
        page_size_max: 5,
        latency_ms,
        rate_limit: 0,
        ..EmulatorOptions::ephemeral()
    })
    .await;
    let writer = remote(&handle, None, |o| o.concurrency = 32);
    let integration = integration_id(&handle);
    let creates = (0..count).map(|i| {
        let input = post_input(&content(&format!("Page {i:02}")), &integration);
        let writer = &writer;
        async move { writer.create(&input).await.map_err(|e| e.to_string()) }
    });
    for created in futures_util::future::join_all(creates).await {
        created?;
    }
    Ok(handle)
}

/// A listing of several pages is read concurrently once page 1 gives the count (the client's
/// concurrency, 4, at once) and still comes back complete, without repeats and in the org's order
/// (by name, then id), faster than page after page could.
async fn concurrent_pages_complete_and_ordered() -> Result<(), String> {
    let latency = 150;
    let handle = slow_paged_org(23, latency).await?;
    let reader = remote(&handle, None, |_| {});
    let pages_before = count(&handle, "GET /api/v2/integrations/actions");
    let started = Instant::now();
    let listed = reader
        .client()
        .list_all("/api/v2/integrations/actions", |a: &Action| a.id.as_str())
        .await
        .map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    let pages = count(&handle, "GET /api/v2/integrations/actions") - pages_before;
    // 23 actions and the 2 built-ins: 5 pages of 5.
    if listed.len() != 25 || pages != 5 {
        return Err(format!("{} entities in {pages} pages", listed.len()));
    }
    let mut ordered = listed.clone();
    ordered.sort_by_cached_key(|a| (a.name.to_lowercase(), a.id.clone()));
    let ids = |actions: &[Action]| actions.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
    if ids(&listed) != ids(&ordered) {
        return Err(format!(
            "not in the org's order: {:?}",
            listed.iter().map(|a| &a.name).collect::<Vec<_>>()
        ));
    }
    let names: std::collections::BTreeSet<&str> = listed.iter().map(|a| a.name.as_str()).collect();
    if let Some(missing) = (0..23)
        .map(|i| format!("Page {i:02}"))
        .find(|n| !names.contains(n.as_str()))
    {
        return Err(format!("`{missing}` is missing"));
    }
    // Page after page: the grant and 5 pages, 6 × 150 ms. Concurrently: the grant, page 1, pages 2-5.
    let sequential = Duration::from_millis(6 * latency);
    if elapsed >= sequential - Duration::from_millis(latency) {
        return Err(format!(
            "5 pages took {elapsed:?}: not concurrent (page after page: at least {sequential:?})"
        ));
    }
    Ok(())
}

/// Pages read concurrently from an org that changes under them (three writers creating actions
/// all along): the listing's total differs between page 1 and a later page, the listing is read
/// again, changes again, and is refused — never returned short or shifted.
async fn concurrent_pages_of_a_changing_listing_fail() -> Result<(), String> {
    let latency = 100;
    let handle = slow_paged_org(13, latency).await?;
    let integration = integration_id(&handle);
    let reader = remote(&handle, None, |_| {});
    let writer = remote(&handle, None, |o| o.concurrency = 8);
    let done = std::sync::atomic::AtomicBool::new(false);
    let (done, writer, integration) = (&done, &writer, &integration);
    // Staggered by a third of the latency: a create lands every ~35 ms while the listing runs.
    let churn = |task: u64| async move {
        tokio::time::sleep(Duration::from_millis(task * latency / 3)).await;
        let mut i = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let input = post_input(&content(&format!("Churn {task} {i}")), integration);
            writer.create(&input).await.map_err(|e| e.to_string())?;
            i += 1;
        }
        Ok::<u64, String>(i)
    };
    let listing = async {
        // Let the writers start first.
        tokio::time::sleep(Duration::from_millis(latency)).await;
        let listed = reader
            .client()
            .list_all("/api/v2/integrations/actions", |a: &Action| a.id.as_str())
            .await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        listed
    };
    let (listed, a, b, c) = tokio::join!(listing, churn(0), churn(1), churn(2));
    let created = a? + b? + c?;
    match listed {
        Err(error) if error.to_string().contains("inconsistent listing") => Ok(()),
        Err(error) => Err(format!("another error: {error}")),
        Ok(listed) => Err(format!(
            "a listing of {} entities was accepted while {created} actions were created",
            listed.len()
        )),
    }
}

/// The plan of deleting every action of the org (`--prune`, no manifests), computed from a snapshot.
async fn prune_everything(remote: &Remote) -> Result<nodectl::plan::Plan, String> {
    let snapshot = remote
        .snapshot(&[IntegrationRef::Name(INTEGRATION.to_string())])
        .await
        .map_err(|e| e.to_string())?;
    let input = nodectl::plan::PlanInput {
        env: "test".to_string(),
        integrations: snapshot
            .integrations
            .iter()
            .map(|i| (i.id.clone(), i.name.clone()))
            .collect(),
        code_integrations: Default::default(),
        managed: Default::default(),
        desired: Vec::new(),
        remote: snapshot
            .actions
            .iter()
            .map(|a| nodectl::plan::RemoteState {
                id: a.id.clone(),
                version: a.version,
                integration_id: a.integration_id.clone(),
                content: a.content(),
            })
            .collect(),
        unmanaged: Vec::new(),
        safety: nodectl::model::Safety::default(),
        flags: nodectl::plan::Flags {
            prune: true,
            allow_replace: false,
            force: true,
        },
        only: Vec::new(),
    };
    Ok(nodectl::plan::compute(&input))
}

/// Applies `plan` as `nodectl apply` would (2 at a time, no --force), with these protected names.
async fn apply_plan(
    remote: &Remote,
    plan: &nodectl::plan::Plan,
    protected: &[String],
) -> nodectl::apply::Outcome {
    let options = nodectl::apply::ApplyOptions {
        parallelism: 2,
        force: false,
    };
    nodectl::apply::apply(
        remote,
        plan,
        options,
        protected,
        &Default::default(),
        &|_| {},
    )
    .await
}

/// Apply checks each delete against the org just before sending it: an action changed since the
/// plan, or protected (case-insensitively), is not deleted but refused and named; an unchanged one
/// is deleted.
async fn deletes_are_checked_against_the_org() -> Result<(), String> {
    let handle = emulator(EmulatorOptions::ephemeral()).await;
    let remote = remote(&handle, None, |_| {});
    let integration = integration_id(&handle);
    let mut ids = Vec::new();
    for name in ["Changed Meanwhile", "Protected One", "Plain Leftover"] {
        let created = remote
            .create(&post_input(&content(name), &integration))
            .await
            .map_err(|e| e.to_string())?;
        ids.push(created.action.id);
    }
    let plan = prune_everything(&remote).await?;
    // Someone changes the first action between plan and apply.
    let changed = content("Changed Meanwhile");
    remote
        .patch(
            &ids[0],
            &UpdateActionInput {
                category: Some("Moved".to_string()),
                name: Some(changed.name.clone()),
                config: Some(config_of(&changed)),
                version: 1,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    let outcome = apply_plan(&remote, &plan, &["protected ONE".to_string()]).await;
    let by_name = |name: &str| {
        outcome
            .nodes
            .iter()
            .find(|n| n.node == name)
            .map(|n| (n.status, n.error.clone().unwrap_or_default()))
    };
    use nodectl::apply::Status;
    match by_name("Changed Meanwhile") {
        Some((Status::Refused, why)) if why.contains("changed since the plan (version 1 → 2)") => {
        }
        other => return Err(format!("changed action: {other:?}")),
    }
    match by_name("Protected One") {
        Some((Status::Refused, why)) if why.contains("is protected") => {}
        other => return Err(format!("protected action: {other:?}")),
    }
    match by_name("Plain Leftover") {
        Some((Status::Applied, _)) => {}
        other => return Err(format!("plain leftover: {other:?}")),
    }
    for (id, should_exist) in [(&ids[0], true), (&ids[1], true), (&ids[2], false)] {
        let exists = remote
            .action(id)
            .await
            .map_err(|e| e.to_string())?
            .is_some();
        if exists != should_exist {
            return Err(format!("{id}: exists = {exists}"));
        }
    }
    Ok(())
}

/// A create that finds its name taken by an action with other content (another writer overtook
/// this apply) fails and says so; it adopts only an action that already holds the desired content.
async fn an_overtaken_create_fails() -> Result<(), String> {
    let handle = emulator(EmulatorOptions::ephemeral()).await;
    let remote = remote(&handle, None, |_| {});
    let integration = integration_id(&handle);
    // The plan: create `Contested` and `Identical` (the org is empty).
    let mut plan = prune_everything(&remote).await?;
    for name in ["Contested", "Identical"] {
        plan.changes.push(nodectl::plan::Change {
            key: nodectl::plan::ChangeKey {
                integration_id: integration.clone(),
                name: name.to_string(),
            },
            change: nodectl::plan::ChangeKind::Create,
            strategy: None,
            id: None,
            version: None,
            before: None,
            after: Some(content(name)),
            fields: Vec::new(),
            breaking: Vec::new(),
            replaces: None,
            note: None,
            secure: false,
            not_dry_runnable: Vec::new(),
        });
    }
    // Another writer creates both names first: `Contested` with other content.
    let mut other = content("Contested");
    other.url = "https://elsewhere.example.test/x".to_string();
    for input in [content("Identical"), other] {
        remote
            .create(&post_input(&input, &integration))
            .await
            .map_err(|e| e.to_string())?;
    }
    let outcome = apply_plan(&remote, &plan, &[]).await;
    use nodectl::apply::Status;
    for node in &outcome.nodes {
        let error = node.error.clone().unwrap_or_default();
        match (node.node.as_str(), node.status) {
            ("Contested", Status::Failed)
                if error.starts_with("overtaken: another writer created `Contested`") => {}
            ("Identical", Status::Applied) => {}
            _ => return Err(format!("{}: {:?} {error}", node.node, node.status)),
        }
    }
    if outcome.nodes.len() != 2 {
        return Err(format!("{} outcomes", outcome.nodes.len()));
    }
    Ok(())
}

fn check(name: &str, case: Case, failures: &mut Vec<String>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Err(why) = runtime.block_on(case()) {
        failures.push(format!("{name}: {why}"));
    }
}

#[test]
fn client_and_remote_against_the_emulator() {
    let cases: [(&str, Case); 14] = [
        ("concurrent pages complete and ordered", || {
            Box::pin(concurrent_pages_complete_and_ordered())
        }),
        ("concurrent pages of a changing listing fail", || {
            Box::pin(concurrent_pages_of_a_changing_listing_fail())
        }),
        ("unmanaged actions name their integration", || {
            Box::pin(unmanaged_actions_name_their_integration())
        }),
        ("deletes are checked against the org", || {
            Box::pin(deletes_are_checked_against_the_org())
        }),
        ("an overtaken create fails", || {
            Box::pin(an_overtaken_create_fails())
        }),
        ("listing that does not add up", || {
            Box::pin(listing_that_does_not_add_up())
        }),
        (
            "every write operation",
            || Box::pin(every_write_operation()),
        ),
        ("snapshot pages and content cache", || {
            Box::pin(snapshot_pages_and_content_cache())
        }),
        ("token expiry mid-run", || Box::pin(token_expiry_mid_run())),
        ("re-authenticates once on 401", || {
            Box::pin(reauthenticates_once_on_401())
        }),
        ("rate limiter holds the rate", || {
            Box::pin(rate_limiter_holds_the_rate())
        }),
        (
            "storms of 429 and 503",
            || Box::pin(storms_of_429_and_503()),
        ),
        ("unknown integration", || Box::pin(unknown_integration())),
        ("wrong secret", || Box::pin(wrong_secret())),
    ];
    let mut failures = Vec::new();
    for (name, case) in cases {
        check(name, case, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} of {} client cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

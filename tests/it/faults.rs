//! The fault matrix and the crash test (issue 9): a 200-node project is applied to a `nodectl
//! emulator` process that injects one kind of fault, then changed (updates in place, contract
//! changes through drafts, renames, deletes) and applied again. Each phase must converge within two
//! runs of `apply`, after which the org — read from the emulator's state file, not through nodectl —
//! holds exactly one action per node with the manifest's content (no duplicates, no lost updates)
//! and `plan` is empty. With `kills = N` the phases are first interrupted by SIGKILL at N seeded
//! random points (half while creating, half while updating), and the org is checked for duplicates
//! after every kill.
//!
//! Each profile is `tests/cases/faults/<name>.toml`:
//! - `emulator`: options of `nodectl emulator` (the faults, a seed);
//! - `env`: extra environment of every nodectl run (e.g. `NODECTL_HTTP_TIMEOUT`);
//! - `stats_show`: answers the emulator must have given (`/_emulator/stats` outcomes: a status or
//!   `dropped`) — proof that the faults really happened;
//! - `logs_show`: text nodectl's debug log (`-v`) must contain (e.g. `timed out`);
//! - `token_grants_at_least`: OAuth grants the emulator must have made;
//! - `kills`: SIGKILL points; `kill_window_ms = { create = MS, update = MS }`: how long after an
//!   apply starts they may fall, per phase (about the length of an uninterrupted apply).
//!
//! `<name>.expected` is the transcript of facts checked; `UPDATE_EXPECT=1` rewrites it. The profiles
//! run in parallel, one emulator each.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nodectl::emulator::rng::SplitMix64;
use serde_json::Value;

use crate::expect::{Failures, case_files, nodectl_with, spawn_nodectl};
use crate::scenarios::{emulator_env, scenario_env, start_emulator, ureq_like};

const NODES: usize = 200;
/// Nodes whose URL changes (a PATCH), whose contract changes (a draft, then publish), which are
/// renamed (previous_names), and which are removed (a delete with --prune): 55 changes of 200, under
/// the default 30 % safety brake.
const UPDATED: std::ops::Range<usize> = 0..30;
const CONTRACT_CHANGED: std::ops::Range<usize> = 30..40;
const RENAMED: std::ops::Range<usize> = 40..45;
const REMOVED: std::ops::Range<usize> = 190..200;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    emulator: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    stats_show: Vec<String>,
    logs_show: Option<String>,
    /// Tokens the emulator must have granted (renewals within the runs, not one per run).
    token_grants_at_least: Option<u64>,
    #[serde(default)]
    kills: usize,
    /// The kills fall between 100 ms and this many ms after the start of an apply, per phase.
    #[serde(default)]
    kill_window_ms: KillWindow,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KillWindow {
    create: u64,
    update: u64,
}

/// The name a node has in the given phase.
fn node_name(index: usize, updated: bool) -> String {
    if updated && RENAMED.contains(&index) {
        format!("Renamed Lookup {index:03}")
    } else {
        format!("Lookup {index:03}")
    }
}

fn node_url(index: usize, updated: bool) -> String {
    let version = if updated && UPDATED.contains(&index) {
        "v2"
    } else {
        "v1"
    };
    format!("https://crm.example.test/{version}/things/{index}/${{input.id}}")
}

/// The manifest of node `index`, before (`updated = false`) or after the change.
fn node_toml(index: usize, updated: bool) -> String {
    let name = node_name(index, updated);
    let previous = if updated && RENAMED.contains(&index) {
        format!("previous_names = [\"{}\"]\n", node_name(index, false))
    } else {
        String::new()
    };
    let extra_output = if updated && CONTRACT_CHANGED.contains(&index) {
        "properties.note = { type = \"string\" }\n"
    } else {
        ""
    };
    let method = ["GET", "POST", "PUT"][index % 3];
    format!(
        "name = \"{name}\"\n{previous}category = \"Faults\"\n\n[request]\nmethod = \"{method}\"\nurl = \"{}\"\n\n[input_schema]\ntype = \"object\"\nproperties.id = {{ type = \"string\" }}\n\n[output_schema]\ntype = \"object\"\nproperties.name = {{ type = \"string\" }}\n{extra_output}",
        node_url(index, updated)
    )
}

fn write_project(dir: &Path, updated: bool) {
    let nodes = dir.join("nodes");
    std::fs::create_dir_all(&nodes).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("nodectl.toml"),
        "[project]\nname = \"faults\"\ndefault_env = \"local\"\n\n[env.local]\nemulator = true\nintegration = \"Local Web Services\"\nmax_rps = 500\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for index in 0..NODES {
        let path = nodes.join(format!("node-{index:03}.toml"));
        if updated && REMOVED.contains(&index) {
            let _ = std::fs::remove_file(&path);
        } else {
            std::fs::write(&path, node_toml(index, updated)).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// What the org must hold: name → URL template.
fn expected_org(updated: bool) -> BTreeMap<String, String> {
    (0..NODES)
        .filter(|i| !(updated && REMOVED.contains(i)))
        .map(|i| (node_name(i, updated), node_url(i, updated)))
        .collect()
}

/// The org's managed actions as the emulator stored them: (id, name, URL template, output
/// property names).
fn stored_actions(state_file: &Path) -> Vec<(String, String, String, BTreeSet<String>)> {
    let text = std::fs::read_to_string(state_file).unwrap_or_default();
    let state: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    state["actions"]
        .as_object()
        .map(|actions| {
            actions
                .values()
                .filter(|a| a["category"] == "Faults")
                .map(|a| {
                    let outputs = a["contract"]["output"]["successSchema"]["properties"]
                        .as_object()
                        .map(|p| p.keys().cloned().collect())
                        .unwrap_or_default();
                    (
                        a["id"].as_str().unwrap_or_default().to_string(),
                        a["name"].as_str().unwrap_or_default().to_string(),
                        a["config"]["request"]["requestUrlTemplate"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        outputs,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Names held by more than one action.
fn duplicates(state_file: &Path) -> Vec<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, name, _, _) in stored_actions(state_file) {
        *counts.entry(name).or_default() += 1;
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(name, n)| format!("{name} ×{n}"))
        .collect()
}

/// The org against the manifests: a line per problem (missing, extra, duplicated, stale content).
fn org_problems(state_file: &Path, updated: bool) -> Vec<String> {
    let expected = expected_org(updated);
    let stored = stored_actions(state_file);
    let mut problems: Vec<String> = duplicates(state_file)
        .into_iter()
        .map(|d| format!("duplicate: {d}"))
        .collect();
    let by_name: BTreeMap<&str, (&str, &BTreeSet<String>)> = stored
        .iter()
        .map(|(_, name, url, outputs)| (name.as_str(), (url.as_str(), outputs)))
        .collect();
    for (name, url) in &expected {
        match by_name.get(name.as_str()) {
            None => problems.push(format!("missing: {name}")),
            Some((stored_url, _)) if stored_url != url => {
                problems.push(format!("lost update: {name} has {stored_url}, not {url}"))
            }
            Some(_) => {}
        }
    }
    for index in CONTRACT_CHANGED {
        let name = node_name(index, updated);
        let has_note = by_name
            .get(name.as_str())
            .is_some_and(|(_, outputs)| outputs.contains("note"));
        if has_note != updated {
            problems.push(format!("lost contract change: {name}"));
        }
    }
    for (_, name, _, _) in &stored {
        if !expected.contains_key(name) {
            problems.push(format!("not in the manifests: {name}"));
        }
    }
    problems
}

struct Phase<'a> {
    dir: &'a Path,
    envs: &'a [(String, String)],
    state_file: &'a Path,
}

impl Phase<'_> {
    /// `apply` killed after `delay`: whether it was still running (the kill cut it), and the names
    /// the org holds more than once afterwards.
    fn killed_apply(&self, delay: Duration, args: &[&str]) -> (bool, Vec<String>) {
        let mut child = spawn_nodectl(self.dir, args, self.envs);
        std::thread::sleep(delay);
        let running = matches!(child.try_wait(), Ok(None));
        let _ = child.kill();
        let _ = child.wait();
        let duplicated = duplicates(self.state_file)
            .into_iter()
            .map(|d| format!("{d} after a kill at {delay:?}"))
            .collect();
        (running, duplicated)
    }

    /// Applies until an apply succeeds, at most twice; returns the runs' debug logs, or the last
    /// failing transcript.
    fn converge(&self, args: &[&str]) -> Result<String, String> {
        let mut logs = String::new();
        for _ in 0..2 {
            let run = nodectl_with(self.dir, args, self.envs, None);
            if run.stderr.contains("internal error") || run.stderr.contains("panicked") {
                return Err(format!("nodectl crashed:\n{}", run.transcript()));
            }
            logs.push_str(&run.stderr);
            if run.code == 0 {
                return Ok(logs);
            }
            logs.push_str(&format!(
                "(apply exited {}; its output:)\n{}",
                run.code, run.stdout
            ));
        }
        Err(format!(
            "apply did not converge within two runs; their logs end:\n{}",
            logs.lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        ))
    }
}

fn check(case: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(case).unwrap_or_default();
    let profile: Profile = toml::from_str(&text).map_err(|e| format!("bad profile: {e}"))?;
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let state_file = work.path().join("org.json");
    let mut emulator_args = profile.emulator.clone();
    emulator_args.extend([
        "--state".to_string(),
        state_file.display().to_string(),
        "--state-sync".to_string(),
        "always".to_string(),
    ]);
    let emulator = start_emulator(&["Local Web Services".to_string()], &emulator_args);
    let dir = work.path().join("project");
    write_project(&dir, false);
    let mut envs = emulator_env(&emulator.base);
    envs.extend(profile.env.clone());
    let phase = Phase {
        dir: &dir,
        envs: &envs,
        state_file: &state_file,
    };
    // The emulator's own seeded generator picks the kill points.
    let mut rng = SplitMix64::new(8);
    let mut transcript = String::new();
    let mut logs = String::new();
    for (updated, args) in [
        (false, vec!["apply", "--auto-approve", "-v"]),
        (true, vec!["apply", "--auto-approve", "--prune", "-v"]),
    ] {
        if updated {
            write_project(&dir, true);
        }
        let what = if updated {
            format!(
                "update: {} URL changes, {} contract changes, {} renames, {} deletes",
                UPDATED.len(),
                CONTRACT_CHANGED.len(),
                RENAMED.len(),
                REMOVED.len()
            )
        } else {
            format!("create: {NODES} nodes")
        };
        transcript.push_str(&format!("=== {what}\n"));
        let kills = profile.kills / 2 + usize::from(updated) * (profile.kills % 2);
        let mut duplicated = Vec::new();
        let mut cut = 0;
        for _ in 0..kills {
            let window = if updated {
                profile.kill_window_ms.update
            } else {
                profile.kill_window_ms.create
            };
            let delay = Duration::from_millis(100 + rng.next_u64() % window.max(1));
            let (running, found) = phase.killed_apply(delay, &args);
            cut += usize::from(running);
            duplicated.extend(found);
        }
        if kills > 0 {
            let found = if duplicated.is_empty() {
                "none".to_string()
            } else {
                duplicated.join(", ")
            };
            transcript.push_str(&format!(
                "{kills} applies killed at random points; duplicates after them: {found}\n"
            ));
            // Kills after an apply had finished would prove nothing.
            transcript.push_str(&format!(
                "most kills cut an apply mid-run: {}\n",
                cut * 2 > kills
            ));
        }
        logs.push_str(&phase.converge(&args)?);
        transcript.push_str("apply converged within two runs\n");
        let problems = org_problems(&state_file, updated);
        if problems.is_empty() {
            transcript.push_str(&format!(
                "the org: {} actions, each once, with the manifests' content\n",
                expected_org(updated).len()
            ));
        } else {
            transcript.push_str(&format!("the org differs:\n  {}\n", problems.join("\n  ")));
        }
        let plan = nodectl_with(&dir, &["plan", "--detailed-exitcode"], &envs, None);
        transcript.push_str(&format!("plan again: exit {}\n", plan.code));
        if plan.code != 0 {
            transcript.push_str(&plan.transcript());
        }
    }
    let (_, stats) = ureq_like(
        "GET",
        &format!("{}/_emulator/stats", emulator.base),
        None,
        None,
        false,
    );
    let stats: Value = serde_json::from_str(&stats).unwrap_or(Value::Null);
    for outcome in &profile.stats_show {
        let count: u64 = stats["routes"]
            .as_object()
            .into_iter()
            .flat_map(|routes| routes.values())
            .filter_map(|outcomes| outcomes[outcome.as_str()].as_u64())
            .sum();
        transcript.push_str(&format!(
            "faults happened: the emulator answered `{outcome}` {}\n",
            if count > 0 { "at least once" } else { "never" }
        ));
    }
    if let Some(least) = profile.token_grants_at_least {
        let grants = stats["routes"]["POST /oauth/token"]["200"]
            .as_u64()
            .unwrap_or(0);
        transcript.push_str(&format!(
            "faults happened: at least {least} tokens granted: {}\n",
            grants >= least
        ));
    }
    if let Some(wanted) = &profile.logs_show {
        transcript.push_str(&format!(
            "faults happened: nodectl's log {} `{wanted}`\n",
            if logs.contains(wanted.as_str()) {
                "shows"
            } else {
                "never shows"
            }
        ));
    }
    drop(emulator);
    Ok(transcript)
}

#[test]
fn fault_matrix_converges_without_duplicates_or_lost_updates() {
    let profiles: Vec<PathBuf> = case_files("faults");
    let results: Vec<(PathBuf, Result<String, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = profiles
            .iter()
            .map(|case| scope.spawn(move || (case.clone(), check(case))))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("a profile's thread panicked"))
            })
            .collect()
    });
    let mut failures = Failures::default();
    for (case, result) in results {
        match result {
            Ok(transcript) => {
                failures.expect_file(&case, &case.with_extension("expected"), &transcript)
            }
            Err(message) => failures.add(&case, message),
        }
    }
    failures.finish("fault profile", profiles.len());
}

/// What the emulator's state file shows of duplicated integrations or credentials: integrations
/// sharing a name, and more than one credential nodectl named for one integration.
fn integration_duplicates(state_file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(state_file).unwrap_or_default();
    let state: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for integration in state["integrations"].as_array().into_iter().flatten() {
        *names
            .entry(integration["name"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    let mut credentials: BTreeMap<String, usize> = BTreeMap::new();
    for credential in state["credentials"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, c)| c)
    {
        let name = credential["name"].as_str().unwrap_or_default();
        if let Some((integration, _)) = nodectl::fingerprint::parse_credential_name(name) {
            *credentials.entry(integration.to_string()).or_default() += 1;
        }
    }
    names
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(name, n)| format!("integration `{name}` ×{n}"))
        .chain(
            credentials
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .map(|(id, n)| format!("nodectl credentials of integration {id} ×{n}")),
        )
        .collect()
}

/// What a cut-at-every-write run starts from and does: `prepare` brings a fresh org to the start
/// (uninterrupted applies), `edit` changes the project, then `args` is cut after each of its writes
/// in turn; `plan` must be empty afterwards and `org_check` lists what the org must not hold.
struct CutRun<'a> {
    case: &'a Path,
    prepare: &'a [&'a [&'a str]],
    edit: &'a dyn Fn(&Path),
    args: &'a [&'a str],
    plan: &'a [&'a str],
    org_check: &'a dyn Fn(&Path) -> Vec<String>,
}

/// Runs `run.args` cut after its 1st write, its 2nd, … until it fits (`nodectl emulator
/// --stop-after-writes N`: the N-th write is stored, then the org refuses all, its answer included —
/// the ambiguous case), each time against a fresh org. After each cut the org must hold no
/// duplicate, and one more run against the same org must converge, `plan` then empty. How many cut
/// points there were, and the problems.
fn cut_at_every_write(run: &CutRun<'_>) -> (u64, Vec<String>) {
    let secrets = scenario_env(run.case);
    assert!(
        !secrets.is_empty(),
        "the scenario's [env] gives the secrets"
    );
    let mut problems = Vec::new();
    let mut interrupted = 0;
    for cut_after in 1..=60u64 {
        let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let state_file = work.path().join("org.json");
        let dir = work.path().join("project");
        crate::scenarios::copy_dir(&run.case.join("project"), &dir);
        let state_args = |extra: &[String]| {
            let mut args = vec![
                "--state".to_string(),
                state_file.display().to_string(),
                "--state-sync".to_string(),
                "always".to_string(),
                "--rate-limit".to_string(),
                "0".to_string(),
            ];
            args.extend(extra.iter().cloned());
            args
        };
        let envs_for = |base: &str| {
            let mut envs = secrets.clone();
            envs.extend(emulator_env(base));
            envs
        };
        if !run.prepare.is_empty() {
            let emulator = start_emulator(&["Other Team".to_string()], &state_args(&[]));
            for args in run.prepare {
                let prepared = nodectl_with(&dir, args, &envs_for(&emulator.base), None);
                assert_eq!(prepared.code, 0, "{args:?}:\n{}", prepared.transcript());
            }
        }
        (run.edit)(&dir);
        let first = {
            let emulator = start_emulator(
                &["Other Team".to_string()],
                &state_args(&["--stop-after-writes".to_string(), cut_after.to_string()]),
            );
            nodectl_with(&dir, run.args, &envs_for(&emulator.base), None)
        };
        if first.code == 0 {
            // The whole run fits in fewer writes: every cut point has been tried.
            break;
        }
        interrupted += 1;
        for duplicate in integration_duplicates(&state_file) {
            problems.push(format!("cut after write {cut_after}: {duplicate}"));
        }
        let emulator = start_emulator(&["Other Team".to_string()], &state_args(&[]));
        let envs = envs_for(&emulator.base);
        let again = nodectl_with(&dir, run.args, &envs, None);
        if again.code != 0 {
            problems.push(format!(
                "cut after write {cut_after}: the next run failed:\n{}",
                again.transcript()
            ));
            continue;
        }
        let plan = nodectl_with(&dir, run.plan, &envs, None);
        if plan.code != 0 {
            problems.push(format!(
                "cut after write {cut_after}: the plan after it is not empty:\n{}",
                plan.transcript()
            ));
        }
        for problem in integration_duplicates(&state_file)
            .into_iter()
            .chain((run.org_check)(&state_file))
        {
            problems.push(format!(
                "cut after write {cut_after}, then converged: {problem}"
            ));
        }
    }
    (interrupted, problems)
}

/// nodectl's credentials whose integration is gone, and integrations named `gone`.
fn leftovers(state_file: &Path, gone: &str) -> Vec<String> {
    let text = std::fs::read_to_string(state_file).unwrap_or_default();
    let state: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let integrations: Vec<&Value> = state["integrations"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let mut found: Vec<String> = integrations
        .iter()
        .filter(|i| i["name"] == gone)
        .map(|_| format!("integration `{gone}` still exists"))
        .collect();
    for credential in state["credentials"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, c)| c)
    {
        let name = credential["name"].as_str().unwrap_or_default();
        if let Some((integration, _)) = nodectl::fingerprint::parse_credential_name(name)
            && !integrations.iter().any(|i| i["id"] == integration)
        {
            found.push(format!("credential `{name}` outlived its integration"));
        }
    }
    found
}

/// The fault-matrix profile of integrations as code (the scenario `integrations-as-code`): the
/// apply that builds three integrations, their credentials, the custom authentication action and
/// the actions is cut after every one of its writes; so is the `apply --prune` that deletes an
/// integration the project stopped declaring (its delete, then its credential's). Each converges
/// on the next run without duplicates or leftovers.
#[test]
fn integrations_converge_after_an_interruption_at_every_write() {
    let case =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/scenarios/integrations-as-code");
    let (built, mut problems) = cut_at_every_write(&CutRun {
        case: &case,
        prepare: &[],
        edit: &|_| {},
        args: &["apply", "--auto-approve"],
        plan: &["plan", "--detailed-exitcode"],
        org_check: &|_| Vec::new(),
    });
    // 3 integrations × (create, credential, configure, enable) + 3 actions + the custom
    // authentication action's patch: an apply of at least 16 writes, each one a cut point.
    assert!(
        built >= 16,
        "only {built} cut points: the apply did not make the writes expected"
    );
    let drop_crm = |dir: &Path| {
        let file = dir.join("nodectl.toml");
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let start = text
            .find("[[env.local.integrations]]\nname = \"CRM\"")
            .unwrap_or_else(|| panic!("no CRM entry"));
        let end = start
            + 1
            + text[start + 1..]
                .find("[[env.local.integrations]]")
                .unwrap_or_else(|| panic!("no next entry"));
        std::fs::write(&file, format!("{}{}", &text[..start], &text[end..]))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::remove_file(dir.join("nodes/crm-lookup.toml")).unwrap_or_else(|e| panic!("{e}"));
    };
    let (pruned, prune_problems) = cut_at_every_write(&CutRun {
        case: &case,
        prepare: &[&["apply", "--auto-approve"]],
        edit: &drop_crm,
        args: &["apply", "--auto-approve", "--prune"],
        plan: &["plan", "--prune", "--detailed-exitcode"],
        org_check: &|state_file| leftovers(state_file, "CRM"),
    });
    // The integration's delete, then its credential's.
    assert!(
        pruned >= 2,
        "only {pruned} cut points: the prune did not make the writes expected"
    );
    problems.extend(prune_problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

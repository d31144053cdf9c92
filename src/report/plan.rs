//! Plans for people and machines: concise text (every field with `--verbose`), JSON (the primary,
//! documented machine format: the `Plan` itself), and Markdown for pull-request comments (kept under
//! 65,000 characters by eliding long diffs). All read the same `Plan`.

use std::fmt::Write as _;

use serde_json::Value;

use crate::plan::diff::FieldChange;
use crate::plan::impact::FlowImpact;
use crate::plan::integrations::IntegrationChange;
use crate::plan::{Change, ChangeKind, Plan};

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";
/// GitHub's comment limit is 65,536 characters; stay clear of it.
pub const MARKDOWN_LIMIT: usize = 65_000;

/// What the dry-run said, for the summary line.
#[derive(Debug, Clone, Copy, Default)]
pub struct DryRunSummary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: bool,
}

fn symbol(kind: ChangeKind) -> (&'static str, &'static str) {
    match kind {
        ChangeKind::Create => ("+", GREEN),
        ChangeKind::Update | ChangeKind::Rename => ("~", YELLOW),
        ChangeKind::Replace => ("±", YELLOW),
        ChangeKind::Delete => ("-", RED),
        ChangeKind::NoOp => ("=", ""),
    }
}

fn headline(change: &Change) -> String {
    let mut line = match (change.change, &change.before) {
        (ChangeKind::Rename, Some(before)) => format!("{} -> {}", before.name, change.key.name),
        _ => change.key.name.clone(),
    };
    if let Some(strategy) = change.strategy {
        let _ = write!(
            line,
            " ({})",
            serde_json::to_value(strategy)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        );
    }
    if let Some(id) = &change.id {
        let _ = write!(line, " [{id}]");
    }
    if let Some(note) = &change.note {
        let _ = write!(line, " — {note}");
    }
    if !change.not_dry_runnable.is_empty() {
        line.push_str(" (not dry-runnable)");
    }
    line
}

/// Pretty text of a field value: strings as they are, the rest as pretty JSON; an absent or empty
/// value (no timeout set, no template) as `(unset)`.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) if s.is_empty() => "(unset)".to_string(),
        Value::String(s) => s.clone(),
        Value::Null => "(unset)".to_string(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// A unified diff (3 lines of context) of two texts.
pub fn unified(before: &str, after: &str) -> String {
    let mut before = before.to_string();
    let mut after = after.to_string();
    if !before.ends_with('\n') {
        before.push('\n');
    }
    if !after.ends_with('\n') {
        after.push('\n');
    }
    similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .diff_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .to_string()
}

fn field_lines(field: &FieldChange) -> Vec<String> {
    let mut lines = vec![format!("{}:", field.label())];
    if field.is_long() {
        for line in unified(&text_of(&field.before), &text_of(&field.after)).lines() {
            let styled = if line.starts_with('+') {
                format!("{GREEN}{line}{RESET}")
            } else if line.starts_with('-') {
                format!("{RED}{line}{RESET}")
            } else {
                line.to_string()
            };
            lines.push(format!("  {styled}"));
        }
    } else {
        lines.push(format!("  {RED}- {}{RESET}", text_of(&field.before)));
        lines.push(format!("  {GREEN}+ {}{RESET}", text_of(&field.after)));
    }
    lines
}

/// An integration change's line: name, type, id, and what happens to it.
fn integration_headline(change: &IntegrationChange) -> String {
    let mut line = format!("integration {}", change.name);
    if !change.integration_type.is_empty() {
        let _ = write!(line, " ({})", change.integration_type);
    }
    if let Some(id) = &change.id {
        let _ = write!(line, " [{id}]");
    }
    if change.change == ChangeKind::Delete && change.actions > 0 {
        let _ = write!(line, " with its {} action(s)", change.actions);
    }
    if let Some(note) = &change.note {
        let _ = write!(line, " — {note}");
    }
    line
}

/// The integrations shown: all but the unchanged ones without a note (unless verbose).
fn shown_integrations(plan: &Plan, verbose: bool) -> Vec<&IntegrationChange> {
    plan.integration_changes
        .iter()
        .filter(|c| verbose || c.change != ChangeKind::NoOp || c.note.is_some())
        .collect()
}

/// The integrations' part of the summary line, when the plan has any.
fn integration_summary(plan: &Plan) -> String {
    if plan.integration_changes.is_empty() {
        return String::new();
    }
    let count = |kind: ChangeKind| {
        plan.integration_changes
            .iter()
            .filter(|c| c.change == kind)
            .count()
    };
    format!(
        "; integrations: {} to create, {} to update, {} to delete, {} unchanged",
        count(ChangeKind::Create),
        count(ChangeKind::Update),
        count(ChangeKind::Delete),
        count(ChangeKind::NoOp)
    )
}

/// The summary line that always ends a plan.
pub fn summary(plan: &Plan, dry_run: Option<DryRunSummary>) -> String {
    let mut parts = vec![
        format!("{} to create", plan.count(ChangeKind::Create)),
        format!("{} to update", plan.count(ChangeKind::Update)),
    ];
    for (kind, word) in [
        (ChangeKind::Rename, "rename"),
        (ChangeKind::Replace, "replace"),
    ] {
        if plan.count(kind) > 0 {
            parts.push(format!("{} to {word}", plan.count(kind)));
        }
    }
    parts.push(format!("{} to delete", plan.count(ChangeKind::Delete)));
    parts.push(format!("{} unchanged", plan.count(ChangeKind::NoOp)));
    let dry = match dry_run {
        Some(d) if d.skipped => " (dry-run skipped)".to_string(),
        Some(d) if d.failed > 0 => format!(
            " (dry-run: {} fixtures passed, {} failed)",
            d.passed, d.failed
        ),
        Some(d) => format!(" (dry-run: {} fixtures passed)", d.passed),
        None => String::new(),
    };
    format!(
        "Plan: {}{}{dry} checksum {}",
        parts.join(", "),
        integration_summary(plan),
        plan.checksum
    )
}

/// The text plan; `verbose` shows unchanged actions and every field of creates.
pub fn text(plan: &Plan, verbose: bool, dry_run: Option<DryRunSummary>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{BOLD}Plan for env {}{RESET}", plan.env);
    for change in shown_integrations(plan, verbose) {
        let (sign, colour) = symbol(change.change);
        let _ = writeln!(
            out,
            "  {colour}{sign} {:<7}{RESET} {}",
            change.change.as_str(),
            integration_headline(change)
        );
        for step in &change.steps {
            let _ = writeln!(out, "      {}", step.describe());
        }
    }
    for change in &plan.changes {
        if change.change == ChangeKind::NoOp && change.note.is_none() && !verbose {
            continue;
        }
        let (sign, colour) = symbol(change.change);
        let _ = writeln!(
            out,
            "  {colour}{sign} {:<7}{RESET} {}",
            change.change.as_str(),
            headline(change)
        );
        let mut fields = change.fields.clone();
        if verbose
            && change.change == ChangeKind::Create
            && let Some(after) = &change.after
        {
            let empty = crate::model::ActionContent {
                custom_auth: false,
                name: String::new(),
                category: String::new(),
                secure: false,
                timeout_seconds: None,
                method: String::new(),
                url: String::new(),
                headers: Vec::new(),
                request_template: String::new(),
                translation_map: Default::default(),
                translation_map_defaults: Default::default(),
                success_template: String::new(),
                input_schema: Value::Null,
                output_schema: Value::Null,
            };
            fields = crate::plan::diff::fields(&empty, after);
        }
        for field in &fields {
            for line in field_lines(field) {
                let _ = writeln!(out, "      {line}");
            }
        }
        for reason in &change.breaking {
            let _ = writeln!(out, "      {RED}breaking:{RESET} {reason}");
        }
    }
    if !plan.has_changes() && plan.changes.iter().all(|c| c.note.is_none()) {
        let _ = writeln!(out, "  No changes. The org matches the manifests.");
    }
    if let Some(impact) = &plan.flow_impact {
        out.push_str(&flow_impact_text(impact));
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "{YELLOW}warning:{RESET} {warning}");
    }
    for error in &plan.errors {
        let _ = writeln!(out, "{RED}error:{RESET} {error}");
    }
    for refusal in &plan.refusals {
        let _ = writeln!(out, "{RED}refused:{RESET} {}", refusal.reason);
    }
    let _ = writeln!(out, "{}", summary(plan, dry_run));
    out
}

/// The Markdown plan for a pull-request comment, under `MARKDOWN_LIMIT` characters.
pub fn markdown(plan: &Plan, dry_run: Option<DryRunSummary>) -> String {
    let mut head = String::new();
    let _ = writeln!(head, "### nodectl plan for `{}`\n", plan.env);
    let integrations = shown_integrations(plan, false);
    if !integrations.is_empty() {
        head.push_str("| change | integration | type | steps |\n|---|---|---|---|\n");
        for change in integrations {
            let mut steps: Vec<String> = change.steps.iter().map(|s| s.describe()).collect();
            if change.change == ChangeKind::Delete && change.actions > 0 {
                steps.push(format!("{} action(s) go with it", change.actions));
            }
            steps.extend(change.note.clone());
            let _ = writeln!(
                head,
                "| {} | {} | {} | {} |",
                change.change.as_str(),
                escape_inline(&change.name),
                escape_inline(&change.integration_type),
                escape_message(&steps.join("; "))
            );
        }
        head.push('\n');
    }
    let changed: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.change != ChangeKind::NoOp || c.note.is_some())
        .collect();
    if changed.is_empty() {
        if !plan.has_changes() {
            head.push_str("No changes. The org matches the manifests.\n\n");
        }
    } else {
        head.push_str("| change | action | strategy | note |\n|---|---|---|---|\n");
        for change in &changed {
            let strategy = change
                .strategy
                .map(|s| format!("{s:?}").to_lowercase())
                .unwrap_or_default();
            let name = match (change.change, &change.before) {
                (ChangeKind::Rename, Some(before)) => {
                    format!("{} → {}", before.name, change.key.name)
                }
                _ => change.key.name.clone(),
            };
            let _ = writeln!(
                head,
                "| {} | {} | {} | {} |",
                change.change.as_str(),
                escape_inline(&name),
                strategy,
                escape_message(change.note.as_deref().unwrap_or(""))
            );
        }
        head.push('\n');
    }
    if let Some(impact) = &plan.flow_impact {
        head.push_str(&flow_impact_markdown(impact));
    }
    let mut tail = String::new();
    for warning in &plan.warnings {
        let _ = writeln!(tail, "> ⚠️ {}\n", escape_message(warning));
    }
    for error in &plan.errors {
        let _ = writeln!(tail, "> ❌ {}\n", escape_message(error));
    }
    for refusal in &plan.refusals {
        let _ = writeln!(
            tail,
            "> 🛑 **refused:** {}\n",
            escape_message(&refusal.reason)
        );
    }
    let _ = writeln!(tail, "`{}`", summary(plan, dry_run));

    let mut details = String::new();
    let mut elided = 0;
    for change in &changed {
        if change.fields.is_empty() {
            continue;
        }
        let mut block = format!(
            "<details><summary>{} <code>{}</code></summary>\n\n",
            change.change.as_str(),
            escape_code(&change.key.name)
        );
        for field in &change.fields {
            let body = if field.is_long() {
                unified(&text_of(&field.before), &text_of(&field.after))
            } else {
                format!(
                    "- {}\n+ {}\n",
                    text_of(&field.before),
                    text_of(&field.after)
                )
            };
            let _ = write!(
                block,
                "<code>{}</code>\n\n```diff\n{}```\n\n",
                escape_code(field.label()),
                body.replace("```", "ʼʼʼ")
            );
        }
        for reason in &change.breaking {
            let _ = writeln!(block, "**breaking:** {}\n", escape_message(reason));
        }
        block.push_str("</details>\n\n");
        if head.len() + details.len() + block.len() + tail.len() + 200 > MARKDOWN_LIMIT {
            elided += 1;
        } else {
            details.push_str(&block);
        }
    }
    if elided > 0 {
        let _ = writeln!(
            details,
            "_{elided} diff(s) elided to stay under GitHub's comment limit; run `nodectl plan` for the full text._\n"
        );
    }
    format!("{head}{details}{tail}")
}

/// `Flow impact:` and, per action asked about, the flows that consume it (or none), with the note
/// or staleness that qualifies the answer.
fn flow_impact_text(impact: &FlowImpact) -> String {
    let mut out = format!("{BOLD}Flow impact{RESET} (Architect's dependency tracking):\n");
    if let Some(note) = &impact.note {
        let _ = writeln!(out, "  {YELLOW}note:{RESET} {note}");
    }
    if let Some(stale) = &impact.stale {
        let _ = writeln!(out, "  {YELLOW}stale:{RESET} {stale}");
    }
    for action in &impact.actions {
        let flows = if !impact.checked {
            "not checked".to_string()
        } else if action.flows.is_empty() {
            "no flow uses it".to_string()
        } else {
            format!("{} flow(s)", action.flows.len())
        };
        let _ = writeln!(
            out,
            "  {} `{}` ({}): {flows}",
            action.change.as_str(),
            action.key.name,
            action.why
        );
        for flow in &action.flows {
            let colour = if flow.published.is_some() {
                RED
            } else {
                YELLOW
            };
            let _ = writeln!(out, "      {colour}{}{RESET}", flow.describe());
        }
    }
    out
}

/// The flow impact for a pull-request comment: a table of the flows each action loses.
fn flow_impact_markdown(impact: &FlowImpact) -> String {
    let mut out = String::from("**Flow impact** (Architect's dependency tracking)\n\n");
    if let Some(note) = &impact.note {
        let _ = writeln!(out, "> ℹ️ {}\n", escape_message(note));
    }
    if let Some(stale) = &impact.stale {
        let _ = writeln!(out, "> ⚠️ {}\n", escape_message(stale));
    }
    out.push_str("| change | action | why | flows |\n|---|---|---|---|\n");
    for action in &impact.actions {
        let flows = if !impact.checked {
            "not checked".to_string()
        } else if action.flows.is_empty() {
            "none".to_string()
        } else {
            action
                .flows
                .iter()
                .map(|f| escape_inline(&f.describe()))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            action.change.as_str(),
            escape_inline(&action.key.name),
            escape_message(&action.why),
            flows
        );
    }
    out.push('\n');
    out
}

/// Text from manifests or the org (names, notes) made inert for a pull-request comment: no HTML
/// (`<`, `>`, `&` as entities), no emphasis, links, images or code spans (their punctuation
/// backslash-escaped), no table breaks (`|`), no `@mentions` (`@` as an entity), no line breaks or
/// other control characters.
fn escape_inline(text: &str) -> String {
    escape(text, false)
}

/// Text shown as code (`<code>…</code>`): every character Markdown or HTML could act on is an
/// entity, so that nothing inside can end the span or format anything.
fn escape_code(text: &str) -> String {
    escape(text, true)
}

fn escape(text: &str, as_code: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => out.push_str("&#64;"),
            c if c.is_control() => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' if as_code => {
                out.push_str(&format!("&#{};", u32::from(c)));
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// One of nodectl's messages, whose `quoted` parts (names, values) become `<code>` spans and the rest
/// inert text: a name cannot inject anything, and the comment still reads as the terminal does.
fn escape_message(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    let paired = parts.len() % 2 == 1;
    let mut out = String::with_capacity(text.len() + 16);
    for (index, part) in parts.iter().enumerate() {
        let last = index + 1 == parts.len();
        if index % 2 == 1 && (paired || !last) {
            out.push_str("<code>");
            out.push_str(&escape_code(part));
            out.push_str("</code>");
        } else {
            if index % 2 == 1 {
                out.push_str("\\`");
            }
            out.push_str(&escape_inline(part));
        }
    }
    out
}

/// The outcome of an apply: a line per change (unless each was reported as it finished), then the
/// counts.
pub fn outcome_text(outcome: &crate::apply::Outcome, per_node: bool) -> String {
    use crate::apply::Status;
    let mut out = String::new();
    if per_node {
        for node in &outcome.nodes {
            out.push_str(&outcome_line(node));
        }
    }
    let count = |status: Status| outcome.nodes.iter().filter(|n| n.status == status).count();
    let _ = writeln!(
        out,
        "Apply: {} applied, {} unchanged, {} failed, {} refused, {} skipped",
        count(Status::Applied),
        count(Status::Unchanged),
        count(Status::Failed),
        count(Status::Refused),
        count(Status::Skipped)
    );
    out
}

/// One change's result: `  applied   create NAME [id vN]`, and its error on the next line.
pub fn outcome_line(node: &crate::apply::NodeOutcome) -> String {
    use crate::apply::Status;
    let (mark, colour) = match node.status {
        Status::Applied => ("applied", GREEN),
        Status::Unchanged => ("unchanged", ""),
        Status::Failed => ("FAILED", RED),
        Status::Refused => ("REFUSED", RED),
        Status::Skipped => ("skipped", YELLOW),
    };
    let mut out = format!(
        "  {colour}{mark:<9}{RESET} {} {}",
        node.change.as_str(),
        node.node
    );
    if let (Some(id), Some(version)) = (&node.id, node.version) {
        let _ = write!(out, " [{id} v{version}]");
    }
    out.push('\n');
    if let Some(error) = &node.error {
        let _ = writeln!(out, "      {error}");
    }
    out
}

/// The dry-run line of a plan's summary: skipped, or what the dry-run of the changing nodes said
/// (`None` when nothing was dry-run).
pub fn dry_run_summary(
    run: Option<&crate::fixture::TestRun>,
    skipped: bool,
) -> Option<DryRunSummary> {
    if skipped {
        return Some(DryRunSummary {
            skipped: true,
            ..DryRunSummary::default()
        });
    }
    run.map(|r| DryRunSummary {
        passed: r.passed(),
        failed: r.failed(),
        skipped: false,
    })
}

/// The plan as JSON: the machine format, and the file `plan --out` writes (with a final newline).
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_default()
}

/// `apply --output json`: `{"plan": …, "outcome": …}`, pretty; when nothing was applied because
/// nothing changes, on one line with an empty outcome.
pub fn apply_json(plan: &Plan, outcome: Option<&crate::apply::Outcome>) -> String {
    match outcome {
        Some(outcome) => {
            serde_json::to_string_pretty(&serde_json::json!({"plan": plan, "outcome": outcome}))
                .unwrap_or_default()
        }
        None => serde_json::json!({"plan": plan, "outcome": {"nodes": []}}).to_string(),
    }
}

/// One line per finished change while apply runs (the progress in CI logs).
pub fn progress_line(outcome: &crate::apply::NodeOutcome) -> String {
    use crate::apply::Status;
    let mark = match outcome.status {
        Status::Applied | Status::Unchanged => "ok  ",
        Status::Failed => "FAIL",
        Status::Refused => "STOP",
        Status::Skipped => "skip",
    };
    format!("{mark} {} {}", outcome.change.as_str(), outcome.node)
}

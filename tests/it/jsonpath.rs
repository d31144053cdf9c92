//! The JSONPath translation dialect (`src/jsonpath.rs`) over the corpus `tests/cases/jsonpath/cases.toml`;
//! every failing case is reported at once.
//!
//! A case has `name`, `path`, a document (`doc` = JSON text, or `doc_ref` = a key of the
//! top-level `[docs]` table) and exactly one expectation: `expect` (JSON text of the resolved
//! value, compared exactly, so `3.0` and `3` differ), `not_found = true`, `syntax_error` or
//! `unsupported` (a substring of the error message), or `budget_error` (a substring of the error
//! of an evaluation that ran out of steps). `definite = true|false` optionally checks
//! `JsonPath::is_definite`.

use nodectl::jsonpath::{JsonPathErrorKind, Resolution, parse};
use serde_json::Value;

const KEYS: [&str; 10] = [
    "name",
    "path",
    "doc",
    "doc_ref",
    "expect",
    "not_found",
    "syntax_error",
    "unsupported",
    "budget_error",
    "definite",
];

fn str_field<'a>(case: &'a toml::Table, key: &str) -> Option<&'a str> {
    case.get(key).and_then(toml::Value::as_str)
}

/// Checks one case; `Err` describes the failure.
fn check(case: &toml::Table, docs: Option<&toml::Table>) -> Result<(), String> {
    if let Some(unknown) = case.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("unknown key `{unknown}`"));
    }
    let path = str_field(case, "path").ok_or("missing `path`")?;
    let expectations = [
        "expect",
        "not_found",
        "syntax_error",
        "unsupported",
        "budget_error",
    ]
    .iter()
    .filter(|k| case.contains_key(**k))
    .count();
    if expectations != 1 {
        return Err(format!("needs exactly one expectation, has {expectations}"));
    }

    let parsed = parse(path);
    for (key, kind) in [
        ("syntax_error", JsonPathErrorKind::Syntax),
        ("unsupported", JsonPathErrorKind::Unsupported),
    ] {
        if let Some(want) = str_field(case, key) {
            return match parsed {
                Ok(_) => Err(format!(
                    "parsed, expected a {kind:?} error containing {want:?}"
                )),
                Err(err) if err.kind() != kind => Err(format!(
                    "expected a {kind:?} error, got {:?}: {err}",
                    err.kind()
                )),
                Err(err) if !err.to_string().contains(want) => Err(format!(
                    "error {:?} does not contain {want:?}",
                    err.to_string()
                )),
                Err(_) => Ok(()),
            };
        }
    }

    let parsed = parsed.map_err(|e| format!("parse failed: {e}"))?;
    if let Some(want) = case.get("definite").and_then(toml::Value::as_bool)
        && parsed.is_definite() != want
    {
        return Err(format!(
            "is_definite() = {}, expected {want}",
            parsed.is_definite()
        ));
    }
    let doc_text = match (str_field(case, "doc"), str_field(case, "doc_ref")) {
        (Some(text), None) => text,
        (None, Some(name)) => docs
            .and_then(|d| d.get(name))
            .and_then(toml::Value::as_str)
            .ok_or_else(|| format!("no document `{name}` in [docs]"))?,
        _ => return Err("needs exactly one of `doc` and `doc_ref`".to_owned()),
    };
    let doc: Value =
        serde_json::from_str(doc_text).map_err(|e| format!("`doc` is not JSON: {e}"))?;
    let got = match (parsed.evaluate(&doc), str_field(case, "budget_error")) {
        (Err(err), Some(want)) if err.to_string().contains(want) => return Ok(()),
        (Err(err), Some(want)) => {
            return Err(format!(
                "budget error {:?} does not contain {want:?}",
                err.to_string()
            ));
        }
        (Ok(got), Some(want)) => {
            return Err(format!(
                "expected a budget error containing {want:?}, got {got:?}"
            ));
        }
        (Err(err), None) => return Err(format!("unexpected budget error: {err}")),
        (Ok(got), None) => got,
    };

    if case.get("not_found").and_then(toml::Value::as_bool) == Some(true) {
        return match got {
            Resolution::NotFound => Ok(()),
            Resolution::Value(v) => Err(format!("expected NotFound, got {v}")),
        };
    }
    let want_text = str_field(case, "expect").ok_or("`expect` must be JSON text")?;
    let want: Value =
        serde_json::from_str(want_text).map_err(|e| format!("`expect` is not JSON: {e}"))?;
    match got {
        Resolution::Value(v) if v == want => Ok(()),
        Resolution::Value(v) => Err(format!("expected {want}, got {v}")),
        Resolution::NotFound => Err(format!("expected {want}, got NotFound")),
    }
}

#[test]
fn jsonpath_corpus() {
    let path = crate::expect::root().join("tests/cases/jsonpath/cases.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs = table.get("docs").and_then(toml::Value::as_table);
    let cases = table
        .get("case")
        .and_then(toml::Value::as_array)
        .unwrap_or_else(|| panic!("{} has no [[case]]", path.display()));

    let mut failures = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (i, case) in cases.iter().enumerate() {
        let Some(case) = case.as_table() else {
            failures.push(format!("case #{i}: not a table"));
            continue;
        };
        let name = str_field(case, "name").unwrap_or("<unnamed>");
        let path = str_field(case, "path").unwrap_or("");
        if !names.insert(name.to_owned()) {
            failures.push(format!("case #{i} `{name}`: duplicate name"));
        }
        if let Err(why) = check(case, docs) {
            failures.push(format!("case #{i} `{name}` ({path}): {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} JSONPath cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
    eprintln!("{} JSONPath cases passed", cases.len());
}

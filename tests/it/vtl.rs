//! The Velocity engine (`src/vtl`) over the corpus `tests/cases/vtl/*.toml`: template + context →
//! expected text, parse error or render error; every failing case is reported at once.

use std::path::Path;

use nodectl::vtl::{Mode, parse, render};

#[derive(Debug)]
struct Case {
    file: String,
    name: String,
    template: String,
    context: serde_json::Value,
    mode: Mode,
    expect: Option<String>,
    parse_error: Option<String>,
    render_error: Option<String>,
}

fn load_cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/vtl");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("cases dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read case file");
        let doc: toml::Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let file = f.file_name().unwrap().to_string_lossy().to_string();
        let list = doc
            .get("case")
            .and_then(|c| c.as_array())
            .unwrap_or_else(|| panic!("{file}: no [[case]]"));
        for c in list {
            let t = c.as_table().expect("case table");
            let s = |k: &str| t.get(k).map(|v| v.as_str().expect(k).to_string());
            let name = s("name").unwrap_or_else(|| panic!("{file}: case without name"));
            let context = match s("context") {
                Some(j) => serde_json::from_str(&j)
                    .unwrap_or_else(|e| panic!("{file}/{name}: bad context JSON: {e}")),
                None => serde_json::json!({}),
            };
            let mode = match s("mode").as_deref() {
                None | Some("request") => Mode::Request,
                Some("success") => Mode::Success,
                Some(m) => panic!("{file}/{name}: bad mode {m}"),
            };
            let case = Case {
                file: file.clone(),
                name: name.clone(),
                template: s("template").unwrap_or_else(|| panic!("{file}/{name}: no template")),
                context,
                mode,
                expect: s("expect"),
                parse_error: s("parse_error"),
                render_error: s("render_error"),
            };
            let n = [&case.expect, &case.parse_error, &case.render_error]
                .iter()
                .filter(|o| o.is_some())
                .count();
            assert_eq!(
                n, 1,
                "{file}/{name}: exactly one of expect/parse_error/render_error"
            );
            cases.push(case);
        }
    }
    cases
}

fn check(case: &Case) -> Result<(), String> {
    let parsed = parse(&case.template);
    if let Some(want) = &case.parse_error {
        return match parsed {
            Err(e) if e.to_string().contains(want.as_str()) => Ok(()),
            Err(e) => Err(format!(
                "parse error {:?} does not contain {want:?}",
                e.to_string()
            )),
            Ok(t) => Err(format!(
                "expected a parse error containing {want:?}, but it parsed; renders {:?}",
                render(&t, &case.context, case.mode)
            )),
        };
    }
    let t = parsed.map_err(|e| format!("unexpected parse error: {e}"))?;
    let out = render(&t, &case.context, case.mode);
    if let Some(want) = &case.render_error {
        return match out {
            Err(e) if e.to_string().contains(want.as_str()) => Ok(()),
            Err(e) => Err(format!(
                "render error {:?} does not contain {want:?}",
                e.to_string()
            )),
            Ok(s) => Err(format!(
                "expected a render error containing {want:?}, got output {s:?}"
            )),
        };
    }
    match out {
        Ok(s) if Some(&s) == case.expect.as_ref() => Ok(()),
        Ok(s) => Err(format!(
            "expected {:?}\n           got {s:?}",
            case.expect.as_deref().unwrap_or("")
        )),
        Err(e) => Err(format!("unexpected render error: {e}")),
    }
}

#[test]
fn vtl_corpus() {
    let cases = load_cases();
    let mut failures = Vec::new();
    for c in &cases {
        if let Err(msg) = check(c) {
            failures.push(format!("{}/{}: {msg}", c.file, c.name));
        }
    }
    eprintln!("corpus: {} cases, {} failed", cases.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

//! Property tests in the role of fuzzing (a nightly toolchain for `cargo fuzz` is not available
//! here): the Velocity parser and evaluator, the JSONPath parser and evaluator, and the manifest
//! loader take arbitrary and adversarial input — random text over their own alphabets, deep nesting,
//! huge inputs — and must answer with a value or an error: never panic, never hang, never overflow the
//! stack. `PROPTEST_CASES` raises the number of cases for a longer run.

use proptest::prelude::*;
use serde_json::json;

/// Text built from the characters that matter to each grammar, so that most inputs get deep into
/// the parser instead of failing on the first byte.
fn grammar_text(alphabet: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(alphabet), 0..max)
        .prop_map(|parts| parts.concat())
}

const VTL: &[&str] = &[
    "$",
    "!",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "#",
    "#if(",
    "#elseif(",
    "#else",
    "#end",
    "#foreach(",
    "#set(",
    "#break",
    " in ",
    "##",
    "#*",
    "*#",
    "#[[",
    "]]#",
    "\\",
    "\"",
    "'",
    ",",
    ".",
    "..",
    "=",
    "==",
    "!=",
    "<",
    ">",
    "&&",
    "||",
    "+",
    "-",
    "*",
    "/",
    "%",
    "input",
    "x",
    "a-b",
    "$esc.url(",
    "$esc.jsonString(",
    "$math.add(",
    "$foreach.hasNext",
    "size()",
    "get(0)",
    "1",
    "2.5",
    "true",
    "\n",
    " ",
    "null",
    "#macro(",
];

const JSONPATH: &[&str] = &[
    "$", ".", "..", "[", "]", "*", "'", "\"", "a", "b", "0", "-1", ":", ",", "?(", ")", "@", "==",
    "<", "=~", "/", "in", "nin", "empty", "&&", "||", "!", "length()", "sum()", "keys()", " ", "(",
    "true", "null", "1.5",
];

fn vtl_context() -> serde_json::Value {
    json!({"input": {"x": "a\"b", "a-b": 2, "list": [1, 2, 3], "map": {"k": "v"}, "n": 2.5}, "credentials": {"t": "s"}, "x": [1, "two"], "rawResult": "{}"})
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2000), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn vtl_never_panics(source in grammar_text(VTL, 40)) {
        if let Ok(template) = nodectl::vtl::parse(&source) {
            let context = vtl_context();
            let _ = nodectl::vtl::render(&template, &context, nodectl::vtl::Mode::Request);
            let _ = nodectl::vtl::render(&template, &context, nodectl::vtl::Mode::Success);
            let _ = template.references();
            let _ = template.renders_collection_literal();
        }
    }

    #[test]
    fn jsonpath_never_panics(path in grammar_text(JSONPATH, 30)) {
        if let Ok(parsed) = nodectl::jsonpath::parse(&path) {
            let document = json!({"a": [{"b": 1}, {"b": "x"}, null], "b": {"a": [1, 2, 3]}, "0": true});
            let _ = parsed.evaluate(&document).is_ok();
            let _ = parsed.is_definite();
        }
    }

    #[test]
    fn manifest_loader_never_panics(node in grammar_text(&["name", "=", "\"", "'", "[", "]", "{", "}", ".", "request", "method", "url", "GET", "input_schema", "type", "object", "\n", " ", ",", "1", "true", "{{", "}}", "vars.x", "{%", "%}", "#"], 60)) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.path().join("nodes")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("nodectl.toml"), "[project]\nname = \"f\"\n[env.e]\nemulator = true\nintegration = \"I\"\nvars = { x = 1 }\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("nodes/n.toml"), &node).unwrap_or_else(|e| panic!("{e}"));
        let options = nodectl::manifest::LoadOptions { dir: Some(dir.path().to_path_buf()), cwd: dir.path().to_path_buf(), envs: nodectl::manifest::EnvScope::All };
        let _ = nodectl::lint::load(&options);
    }
}

/// Deep nesting and huge inputs: errors, not stack overflows; and in bounded time.
#[test]
fn deep_nesting_and_huge_inputs_are_refused_or_handled() {
    let started = std::time::Instant::now();
    for depth in [100, 10_000, 100_000] {
        let parens = format!("#set($x = {}1{})", "(".repeat(depth), ")".repeat(depth));
        assert!(
            nodectl::vtl::parse(&parens).is_err() || depth <= 64,
            "VTL nesting of {depth} accepted"
        );
        let ifs = format!("{}x{}", "#if(true)".repeat(depth), "#end".repeat(depth));
        assert!(
            nodectl::vtl::parse(&ifs).is_err(),
            "#if nesting of {depth} accepted"
        );
        let filters = format!("$.a{}", "[?(@.a".repeat(depth));
        assert!(
            nodectl::jsonpath::parse(&filters).is_err(),
            "JSONPath nesting of {depth} accepted"
        );
        let lists = format!("#set($x = {}1{})", "[".repeat(depth), "]".repeat(depth));
        assert!(
            nodectl::vtl::parse(&lists).is_err() || depth <= 64,
            "list nesting of {depth} accepted"
        );
    }
    // A 1 MB template of plain text and references parses and renders.
    let big = "Hello ${input.x} and $!input.missing. ".repeat(30_000);
    let template = nodectl::vtl::parse(&big).unwrap_or_else(|e| panic!("{e}"));
    let rendered = nodectl::vtl::render(&template, &vtl_context(), nodectl::vtl::Mode::Request)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rendered, "Hello a\"b and . ".repeat(30_000));
    // A deeply nested JSON response to a translation map: evaluated without overflowing.
    let mut document = json!(1);
    for _ in 0..100 {
        document = json!({"a": document});
    }
    let path = nodectl::jsonpath::parse("$..a").unwrap_or_else(|e| panic!("{e}"));
    assert!(path.evaluate(&document).is_ok());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

//! Tidy checks in the spirit of rust-analyzer's: the layering ARCHITECTURE.md's code map states is
//! the layering the code has. The code map's table gives one row per module (`src/x.rs` or `src/x/`,
//! and submodules where useful) with the `crate::` paths it may depend on; every source file under
//! `src/` is read, every `crate::…` path in it (`use` items, grouped `use crate::{a, b::c}`, and
//! inline `crate::a::f(…)` expressions) is resolved to a module, and every violation is listed at
//! once: an import the table does not allow, a module without a row, a row without a module, and a
//! source file that does not open with a `//!` paragraph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One row of the code map: which files it covers and what they may depend on.
#[derive(Debug)]
struct Row {
    /// `src/x.rs`, `src/x/` or a deeper path, as written.
    path: String,
    /// The module path the row is for (`emulator`, `emulator::state`).
    module: Vec<String>,
    /// `None` when the row states nothing of its own (then the enclosing row's rule applies).
    allowed: Option<Allowed>,
}

#[derive(Debug, Clone)]
enum Allowed {
    /// The composition root: any module.
    Any,
    /// Path prefixes, each `a` or `a::b::C`.
    Paths(Vec<Vec<String>>),
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The module path of a row's `path` cell, or `None` when the row is not for a module under `src/`.
fn module_of_row(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix("src/")?;
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".rs").unwrap_or(rest);
    let rest = rest.strip_suffix("/mod").unwrap_or(rest);
    Some(rest.split('/').map(str::to_string).collect())
}

/// The module path of a source file (`src/a/b.rs` and `src/a/b/mod.rs` are `a::b`).
fn module_of_file(relative: &Path) -> Vec<String> {
    let text = relative.to_string_lossy().replace('\\', "/");
    module_of_row(&text).unwrap_or_default()
}

/// The backticked items of a cell.
fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.trim().to_string())
        .collect()
}

/// The rows of the table under `## Code map`.
fn parse_code_map(text: &str) -> Result<Vec<Row>, String> {
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with("Code map"))
        .ok_or("ARCHITECTURE.md has no `## Code map` section")?;
    let mut tables = 0;
    let mut in_table = false;
    let mut rows = Vec::new();
    for line in section.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        if !in_table {
            in_table = true;
            tables += 1;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [path, _purpose, deps] = cells.as_slice() else {
            return Err(format!("a code-map row without three cells: {line}"));
        };
        if path.starts_with("---") || *path == "module" {
            continue;
        }
        let path = path.trim_matches('`').to_string();
        let Some(module) = module_of_row(&path) else {
            return Err(format!(
                "a code-map row for `{path}`, which is not under src/"
            ));
        };
        let allowed = if deps.is_empty() {
            None
        } else if deps.contains("any module") {
            Some(Allowed::Any)
        } else {
            let paths = backticked(deps)
                .iter()
                .map(|p| p.split("::").map(str::to_string).collect())
                .collect();
            Some(Allowed::Paths(paths))
        };
        rows.push(Row {
            path,
            module,
            allowed,
        });
    }
    if tables != 1 {
        return Err(format!(
            "the code map has {tables} tables; it must have exactly one"
        ));
    }
    Ok(rows)
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The text without comments (line and block), so that prose mentioning `crate::x` does not count.
fn strip_comments(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == b'"' {
                in_string = false;
            }
            out.push(' ');
            i += 1;
            continue;
        }
        if c == b'"' && !(i > 0 && bytes[i - 1] == b'\'' && bytes.get(i + 1) == Some(&b'\'')) {
            in_string = true;
            out.push(' ');
            i += 1;
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < bytes.len() {
                if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        out.push(char::from(c));
        i += 1;
    }
    out
}

/// A tiny reader of Rust paths: identifiers, `::`, `{…}` groups, `*`, `self`, `as` renames.
struct PathReader<'a> {
    chars: &'a [u8],
    at: usize,
}

impl PathReader<'_> {
    fn skip_space(&mut self) {
        while self.chars.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.at;
        while self
            .chars
            .get(self.at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.at += 1;
        }
        (self.at > start).then(|| String::from_utf8_lossy(&self.chars[start..self.at]).into())
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.chars[self.at..].starts_with(token.as_bytes()) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    /// Reads the rest of a path after `prefix::`, pushing every full path it names.
    fn tree(&mut self, prefix: &[String], inside_group: bool, out: &mut Vec<Vec<String>>) {
        if inside_group {
            self.skip_space();
        }
        if self.eat("{") {
            loop {
                self.skip_space();
                if self.eat("}") {
                    break;
                }
                self.tree(prefix, true, out);
                self.skip_space();
                if !self.eat(",") {
                    self.skip_space();
                    self.eat("}");
                    break;
                }
            }
            return;
        }
        if self.eat("*") {
            out.push(prefix.to_vec());
            return;
        }
        let Some(name) = self.ident() else {
            out.push(prefix.to_vec());
            return;
        };
        let mut path = prefix.to_vec();
        if name != "self" {
            path.push(name);
        }
        if inside_group {
            self.skip_space();
        }
        if self.chars[self.at..].starts_with(b"::")
            && self.chars.get(self.at + 2).is_some_and(|c| *c != b'<')
        {
            self.at += 2;
            self.tree(&path, inside_group, out);
        } else {
            out.push(path);
            if inside_group {
                // `x as y`: the rename does not change what is imported.
                self.skip_space();
                if self.eat("as ") {
                    self.skip_space();
                    self.ident();
                }
            }
        }
    }
}

/// Every path `prefix::…` in the (comment-free) text names.
fn crate_paths(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let bytes = text.as_bytes();
    let needle = format!("{prefix}::");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find(&needle) {
        let start = from + found;
        from = start + needle.len();
        let before = start.checked_sub(1).and_then(|i| bytes.get(i));
        if before
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$' || *c == b':')
        {
            continue;
        }
        let mut reader = PathReader {
            chars: bytes,
            at: from,
        };
        reader.tree(&[], false, &mut out);
    }
    out
}

/// `#[macro_export]` macros live at the crate root: the module that defines each.
fn exported_macros(files: &[(Vec<String>, String)]) -> BTreeMap<String, String> {
    let mut macros = BTreeMap::new();
    for (module, text) in files {
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if line.trim() != "#[macro_export]" {
                continue;
            }
            for next in lines.by_ref() {
                if let Some(rest) = next.trim().strip_prefix("macro_rules!") {
                    let name: String = rest
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if let Some(top) = module.first() {
                        macros.insert(name, top.clone());
                    }
                    break;
                }
            }
        }
    }
    macros
}

/// Whether a source file opens with a `//!` paragraph (after blank lines at most).
fn has_leading_doc(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_start().starts_with("//!") && l.trim_start().len() > 4)
}

/// The violations of the layering rules, one line each.
fn violations(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md"))
        .unwrap_or_else(|e| panic!("cannot read ARCHITECTURE.md: {e}"));
    let rows = match parse_code_map(&architecture) {
        Ok(rows) => rows,
        Err(problem) => return vec![problem],
    };

    let src = root.join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let files: Vec<(PathBuf, Vec<String>, String)> = paths
        .iter()
        .map(|path| {
            let relative = path.strip_prefix(root).unwrap_or(path).to_path_buf();
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            (relative.clone(), module_of_file(&relative), text)
        })
        .collect();

    // Modules: `lib` and `main` are the two crate roots; every other top-level name is a module.
    let modules: BTreeSet<Vec<String>> = files
        .iter()
        .flat_map(|(_, module, _)| (1..=module.len()).map(|n| module[..n].to_vec()))
        .collect();
    let top_level: BTreeSet<String> = modules
        .iter()
        .filter(|m| m.len() == 1)
        .map(|m| m[0].clone())
        .collect();

    let mut seen = BTreeSet::new();
    for row in &rows {
        if !seen.insert(row.module.clone()) {
            problems.push(format!("ARCHITECTURE.md: two rows for `{}`", row.path));
        }
        if !modules.contains(&row.module) {
            problems.push(format!(
                "ARCHITECTURE.md: the row `{}` names no module under src/",
                row.path
            ));
        }
        if row.module.len() == 1 && row.allowed.is_none() {
            problems.push(format!(
                "ARCHITECTURE.md: the row `{}` does not say what it may depend on (`—` for nothing)",
                row.path
            ));
        }
    }
    for top in &top_level {
        if !rows.iter().any(|r| r.module == [top.clone()]) {
            problems.push(format!(
                "src/{top}: a module without a row in ARCHITECTURE.md's code map"
            ));
        }
    }

    let texts: Vec<(Vec<String>, String)> = files
        .iter()
        .map(|(_, module, text)| (module.clone(), text.clone()))
        .collect();
    let macros = exported_macros(&texts);

    for (relative, module, text) in &files {
        let shown = relative.display();
        if !has_leading_doc(text) {
            problems.push(format!("{shown}: does not open with a `//!` paragraph"));
        }
        // The most specific row with a rule of its own.
        let Some(rule) = rows
            .iter()
            .filter(|r| r.allowed.is_some() && module.starts_with(&r.module))
            .max_by_key(|r| r.module.len())
        else {
            continue;
        };
        let Some(allowed) = &rule.allowed else {
            continue;
        };
        let Some(own) = module.first() else {
            continue;
        };
        // `main.rs` is the binary's root: the library is `nodectl::` there.
        let prefix = if own == "main" { "nodectl" } else { "crate" };
        let code = strip_comments(text);
        let mut reported = BTreeSet::new();
        for mut path in crate_paths(&code, prefix) {
            let Some(first) = path.first().cloned() else {
                continue;
            };
            if !top_level.contains(&first) {
                match macros.get(&first) {
                    Some(home) => path.insert(0, home.clone()),
                    None => {
                        if reported.insert(path.clone()) {
                            problems.push(format!(
                                "{shown}: `{prefix}::{}` names no module",
                                path.join("::")
                            ));
                        }
                        continue;
                    }
                }
            }
            if path.first() == Some(own) {
                continue;
            }
            let ok = match allowed {
                Allowed::Any => true,
                Allowed::Paths(prefixes) => prefixes.iter().any(|p| path.starts_with(p)),
            };
            if !ok && reported.insert(path.clone()) {
                problems.push(format!(
                    "{shown}: uses `crate::{}`, which the row `{}` does not allow",
                    path.join("::"),
                    rule.path
                ));
            }
        }
    }
    problems
}

#[test]
fn the_code_obeys_the_code_map() {
    let problems = violations(&root());
    assert!(
        problems.is_empty(),
        "{} layering problem(s) (fix the code, or the code map in ARCHITECTURE.md with a reason):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn paths_are_read_whole() {
    let code = "use crate::a::{b, c::{d, e as f}, self};\nfn x() { crate::g::h(1); $crate::no; y::crate::no; crate::i::<T>::j }";
    let found: Vec<String> = crate_paths(code, "crate")
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(found, ["a::b", "a::c::d", "a::c::e", "a", "g::h", "i"]);
    let stripped = strip_comments("a // crate::x\n/* crate::y */ \"crate::z\" b");
    assert!(
        !stripped.contains("crate") && stripped.ends_with(" b"),
        "{stripped}"
    );
}

/// The check fails on a copy of the tree with each kind of violation in it.
#[test]
fn the_check_can_fail() {
    let dir = std::env::temp_dir().join(format!("nodectl-tidy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap_or(&dir)).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "ARCHITECTURE.md",
        "# A\n\n## Code map\n\n| module | what | may depend on |\n|---|---|---|\n\
         | `src/lib.rs` | root | — |\n| `src/model.rs` | leaf | — |\n\
         | `src/manifest.rs` | loads | — |\n| `src/runtime/` | runs | `model`, `vtl::parse` |\n| `src/gone.rs` | none | — |\n\n## Invariants\n",
    );
    write("src/lib.rs", "//! Root.\n\npub mod model;\n");
    write("src/model.rs", "//! Leaf.\n\nuse crate::runtime::X;\n");
    write(
        "src/runtime/mod.rs",
        "//! Runs.\n\nuse crate::{model::Node, vtl::{parse, render}};\n// crate::nothing::here\nfn f() { crate::manifest::load(); }\n",
    );
    write("src/manifest.rs", "//! Loads.\n");
    write("src/vtl.rs", "no paragraph\n");
    let problems = violations(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let text = problems.join("\n");
    for expected in [
        "src/model.rs: uses `crate::runtime::X`",
        "src/runtime/mod.rs: uses `crate::vtl::render`",
        "src/runtime/mod.rs: uses `crate::manifest::load`, which the row `src/runtime/` does not allow",
        "src/vtl: a module without a row",
        "the row `src/gone.rs` names no module",
        "src/vtl.rs: does not open with a `//!` paragraph",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert_eq!(problems.len(), 6, "{text}");
}

//! The house stays layered: no module of `src/` names a module of a layer above its own. Bottom
//! up: the model and the clock; the config (data only); the store; translation, validation,
//! the administrative units and signing; authentication, the registry, the audit log, the
//! once-only checks and the dry run; the relay; and at the top what serves users (the ingest
//! pipeline, the API, the server, the command line, the simulators and the demo). A module may
//! use its own layer and those below.
//!
//! The test reads the sources: every `crate::<module>` path outside comments, and the names of
//! a `use crate::{…}` group.

use std::collections::BTreeMap;
use std::path::Path;

/// The layers, bottom up, and the top-level modules of each.
const LAYERS: &[&[&str]] = &[
    &["lib", "main", "model", "clock", "metrics", "merkle", "http"],
    &["config"],
    &["store"],
    &["translate", "validate", "units", "signing"],
    &["auth", "registry", "audit", "onceonly", "check", "quality"],
    &["relay"],
    &["ingest", "api", "server", "cli", "sim", "demo"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level module a file of `src/` belongs to.
fn module_of(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without its comments (line comments, doc comments and block comments).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['/', '"']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with("//") {
            rest = rest.find('\n').map_or("", |n| &rest[n..]);
        } else if rest.starts_with("/*") {
            rest = rest.find("*/").map_or("", |n| &rest[n + 2..]);
        } else if rest.starts_with('"') {
            // A string literal: kept as an empty one (a path inside text is not an import).
            let mut end = 1;
            let bytes = rest.as_bytes();
            while end < bytes.len() && bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            rest = rest.get(end + 1..).unwrap_or("");
        } else {
            out.push('/');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The top-level modules a piece of code names through `crate::`.
fn named_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::b, c, d::{e, f}}`: the first name of each item of the group.
            let (mut depth, mut name, mut item_start) = (0usize, String::new(), true);
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth > 0 {
                    continue;
                }
                if c == ',' {
                    if !name.is_empty() {
                        found.push(std::mem::take(&mut name));
                    }
                    item_start = true;
                } else if item_start {
                    if c.is_alphanumeric() || c == '_' {
                        name.push(c);
                    } else if !(c.is_whitespace() && name.is_empty()) {
                        if !name.is_empty() {
                            found.push(std::mem::take(&mut name));
                        }
                        item_start = false;
                    }
                }
            }
            if !name.is_empty() {
                found.push(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ reads") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_uses_one_of_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut unplaced = Vec::new();
    let mut upward: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in &all {
        let rel = path.strip_prefix(&src).expect("under src/");
        let module = module_of(rel);
        let Some(own) = layer_of(&module) else {
            unplaced.push(module);
            continue;
        };
        let code = code_of(&std::fs::read_to_string(path).expect("a source reads"));
        for used in named_modules(&code) {
            // `crate::FastMap` and other items of the crate root are the root's.
            let Some(theirs) = layer_of(&used)
                .or_else(|| used.starts_with(|c: char| c.is_uppercase()).then_some(0))
            else {
                unplaced.push(format!("{used} (named in {})", rel.display()));
                continue;
            };
            if theirs > own {
                upward
                    .entry(format!("{} ({module}, layer {own})", rel.display()))
                    .or_default()
                    .push(format!("{used} (layer {theirs})"));
            }
        }
    }
    unplaced.sort();
    unplaced.dedup();
    assert!(
        unplaced.is_empty(),
        "modules in no layer (place them in LAYERS): {unplaced:?}"
    );
    assert!(
        upward.is_empty(),
        "modules that use a layer above their own:\n{}",
        upward
            .iter()
            .map(|(f, u)| format!("  {f} → {}", u.join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_reader_finds_paths_and_groups_and_skips_comments() {
    let code = code_of(
        "use crate::{store::Store, relay, audit::{a, b}};\n// crate::cli in a comment\n\
         let x = crate::api::f(\"crate::demo\");\n/* crate::sim */",
    );
    let mut names = named_modules(&code);
    names.sort();
    assert_eq!(names, ["api", "audit", "relay", "store"]);
}

//! The source tree's layers (docs/architecture.md), checked from the `crate::` paths each module
//! names: a module may use only the layers below it, and no two modules use each other, directly
//! or through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each layer and the layers it may use.
const LAYERS: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("error", &["model"]),
    ("output", &["error", "model"]),
    ("cli", &["error", "model"]),
    ("connect", &["cli", "error", "model"]),
    ("plan", &["cli", "error", "model"]),
    ("api", &["cli", "connect", "error", "model", "plan"]),
    (
        "session",
        &["api", "connect", "error", "model", "output", "plan"],
    ),
    (
        "run",
        &[
            "api", "cli", "connect", "error", "model", "output", "plan", "session",
        ],
    ),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file is, as a path: `src/plan/user.rs` is `plan::user`, `src/api/mod.rs` is
/// `api`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The `crate::…` module paths a file names outside its tests and comments, as the longest known
/// module prefix of each.
fn uses(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut found = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let path: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut best = None;
            let mut candidate = String::new();
            for part in path.split("::").filter(|p| !p.is_empty()) {
                if !candidate.is_empty() {
                    candidate.push_str("::");
                }
                candidate.push_str(part);
                if modules.contains(&candidate) {
                    best = Some(candidate.clone());
                }
            }
            // `use crate::plan::{a, b}`: every listed module.
            if let Some(group) = tail.strip_prefix(&format!("{}::{{", path.trim_end_matches(':'))) {
                let inner: String = group.chars().take_while(|c| *c != '}').collect();
                for item in inner.split(',') {
                    let name = item.split_whitespace().next().unwrap_or_default();
                    let full = format!("{}::{name}", path.trim_end_matches(':'));
                    if modules.contains(&full) {
                        found.insert(full);
                    }
                }
            }
            if let Some(b) = best {
                found.insert(b);
            }
            rest = &tail[path.len().min(tail.len())..];
        }
    }
    found
}

struct Tree {
    /// Module → the modules it uses.
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn tree() -> Tree {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges = BTreeMap::new();
    for f in &files {
        let m = module_of(&src, f);
        if m == "main" || m == "lib" || m.starts_with("bin") {
            continue;
        }
        let text = std::fs::read_to_string(f).expect("a source file");
        let mut used = uses(&text, &modules);
        used.remove(&m);
        // A module's own parent (its `mod.rs`) is its namespace, not a dependency.
        used.retain(|u| !m.starts_with(&format!("{u}::")));
        edges.insert(m, used);
    }
    Tree { edges }
}

fn layer(module: &str) -> &str {
    module.split("::").next().unwrap_or_default()
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let t = tree();
    let mut wrong = Vec::new();
    for (m, used) in &t.edges {
        let own = layer(m);
        let Some((_, allowed)) = LAYERS.iter().find(|(l, _)| *l == own) else {
            wrong.push(format!("{m}: in no layer of docs/architecture.md"));
            continue;
        };
        for u in used {
            let theirs = layer(u);
            if theirs != own && !allowed.contains(&theirs) {
                wrong.push(format!("{m} uses {u}: {own} may use only {allowed:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

/// Depth-first search for a cycle from `m`; the first found, as its path.
fn visit(
    m: &str,
    t: &Tree,
    state: &mut BTreeMap<String, u8>,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    match state.get(m) {
        Some(2) => return None,
        Some(1) => {
            let at = path.iter().position(|p| p == m).unwrap_or(0);
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        _ => {}
    }
    state.insert(m.to_owned(), 1);
    path.push(m.to_owned());
    for u in t.edges.get(m).into_iter().flatten() {
        if let Some(c) = visit(u, t, state, path) {
            return Some(c);
        }
    }
    path.pop();
    state.insert(m.to_owned(), 2);
    None
}

#[test]
fn no_two_modules_use_each_other() {
    let t = tree();
    let mut state = BTreeMap::new();
    for m in t.edges.keys() {
        if let Some(cycle) = visit(m, &t, &mut state, &mut Vec::new()) {
            panic!("an import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_check_sees_what_it_checks() {
    let t = tree();
    // A module known to use another: if the parser broke, this fails, not the suite's silence.
    assert!(
        t.edges["run::prepare"].contains("api::patch"),
        "{:?}",
        t.edges["run::prepare"]
    );
    assert!(t.edges["plan::container"].contains("plan::scripts"));
    assert!(t.edges.len() > 30, "{}", t.edges.len());
}

/// Every source file's code outside its tests and comments, by module.
fn code_by_module() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).expect("a source file");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: Vec<&str> = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            (module_of(&src, f), code.join("\n"))
        })
        .collect()
}

#[test]
fn planning_is_pure_no_async_and_no_io() {
    let mut wrong = Vec::new();
    for (m, code) in code_by_module() {
        if layer(&m) != "plan" && layer(&m) != "model" && layer(&m) != "cli" {
            continue;
        }
        for needle in [
            "async ",
            ".await",
            "tokio::",
            "std::fs",
            "std::io",
            "std::env",
            "rand::",
            "kube::Api",
        ] {
            if code.contains(needle) {
                wrong.push(format!("{m}: {needle}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "I/O in a pure layer:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_the_printer_writes_to_stdout_and_stderr() {
    // The panic hook restores the terminal and must write whatever the run's state; main
    // reads whether the streams are terminals and points `-v` logs at stderr.
    let allowed = ["output", "session::tty", "main"];
    let mut wrong = Vec::new();
    for (m, code) in code_by_module() {
        if allowed.contains(&m.as_str()) {
            continue;
        }
        for needle in [
            "io::stdout()",
            "io::stderr()",
            "io::stdout;",
            "io::stderr;",
            "println!",
            "eprintln!",
        ] {
            if code.contains(needle) {
                wrong.push(format!("{m}: {needle}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "writing around the printer:\n{}",
        wrong.join("\n")
    );
}

/// The file names under `src/` (relative, with `/`), directories' own names excluded.
fn source_files() -> BTreeSet<String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let rel = path.strip_prefix(root).expect("under src");
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeSet::new();
    walk(&src, &src, &mut out);
    out
}

#[test]
fn docs_architecture_names_every_source_file_and_layer() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
            .expect("docs/architecture.md");
    let tree = doc
        .split("## The tree")
        .nth(1)
        .and_then(|t| t.split("```").nth(1))
        .expect("a tree block under \"## The tree\"");
    // Files by the directory line they are listed under; top-level files on their own line.
    let mut named = BTreeSet::new();
    let mut dir = String::new();
    for line in tree.lines().skip(1) {
        let first = line.split_whitespace().next().unwrap_or_default();
        let indent = line.len() - line.trim_start().len();
        if indent == 2 && first.ends_with('/') {
            dir = first.to_owned();
        } else if indent == 2 {
            dir = String::new();
        }
        for word in line.split(|c: char| c.is_whitespace() || c == ',' || c == '(') {
            let ext = Path::new(word).extension().and_then(|e| e.to_str());
            if matches!(ext, Some("rs" | "sh")) {
                named.insert(format!("{dir}{word}"));
            }
        }
    }
    let files = source_files();
    let missing: Vec<&String> = files.difference(&named).collect();
    let extra: Vec<&String> = named.difference(&files).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "docs/architecture.md's tree and src/ differ: not named {missing:?}, not in src {extra:?}"
    );
    // Every layer of the check is a row of the page's table, with the same dependencies.
    for (layer, allowed) in LAYERS {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{layer}` |")))
            .unwrap_or_else(|| panic!("docs/architecture.md has no row for {layer}"));
        let cell = row
            .trim_end_matches('|')
            .rsplit('|')
            .next()
            .unwrap_or_default()
            .trim();
        let expected = if allowed.is_empty() {
            "nothing".to_owned()
        } else if *layer == "run" {
            "everything above".to_owned()
        } else {
            allowed.join(", ")
        };
        assert_eq!(cell, expected, "the {layer} row's dependencies");
    }
    // Every directory of src/ is a layer of the table (or the binaries).
    for file in source_files() {
        let top = file
            .split('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".rs");
        assert!(
            ["lib", "main", "bin"].contains(&top) || LAYERS.iter().any(|(l, _)| *l == top),
            "{file}: in no layer"
        );
    }
}

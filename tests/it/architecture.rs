//! The import graph's rules, checked on the source text (docs/ARCHITECTURE.md):
//!
//! - In the main crate, a top-level module may only use modules of a lower layer
//!   ([`LAYERS`]); two modules of one layer do not use each other.
//! - In every crate, at every level, the modules under one parent use each other without
//!   a cycle (`use crate::…`, `use super::…`, `self::…`, inline paths, brace groups).
//!
//! Paths are resolved by name, not by the compiler: an item a parent re-exports from a
//! child (`super::Source` in `source/file.rs`) counts as the parent's, which is how Rust
//! code in this repository names the trait a family of modules implements.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom first. `main.rs` (the binary) sits above them all and uses `pfm::…` only.
const LAYERS: &[&[&str]] = &[
    &["domain"],
    &["config", "telemetry", "breaker"],
    &["crypto"],
    &["policy", "store", "kafka", "llm"],
    &["journey"],
    &["stage", "source", "sink", "workflow", "mcp", "lineage"],
    &["app"],
];

/// The crates whose module graphs must be acyclic (the main crate also gets the layers).
const CRATES: &[&str] = &[
    "src",
    "crates/pii/src",
    "crates/risk/src",
    "crates/synth/src",
    "crates/domain/src",
    "crates/testkit/src",
];

#[derive(Debug, Default)]
struct Graph {
    /// Module paths that exist (a file, or an inline `mod name { … }`).
    modules: BTreeSet<Vec<String>>,
    /// (from module, referenced path, file:line).
    refs: Vec<(Vec<String>, Vec<String>, String)>,
}

fn module_path(root: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root).expect("file under its root");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    match last.as_str() {
        "mod.rs" | "lib.rs" | "main.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_owned()),
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Sep, // ::
    Open,
    Close,
    Comma,
    Other(char),
}

/// Tokens with their line numbers; comments, strings and char literals are dropped.
fn tokenize(src: &str) -> Vec<(Tok, usize)> {
    let b: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && {
            let mut j = i + 1;
            while b.get(j) == Some(&'#') {
                j += 1;
            }
            b.get(j) == Some(&'"')
        } {
            let mut hashes = 0;
            i += 1;
            while b[i] == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1;
            loop {
                if i >= b.len() {
                    break;
                }
                if b[i] == '"' && (0..hashes).all(|k| b.get(i + 1 + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                if b[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if b.get(i) == Some(&'\n') {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let s = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(b[s..i].iter().collect()), line));
        } else if c == ':' && next == Some(':') {
            out.push((Tok::Sep, line));
            i += 2;
        } else {
            out.push((
                match c {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    ',' => Tok::Comma,
                    _ => Tok::Other(c),
                },
                line,
            ));
            i += 1;
        }
    }
    out
}

/// Expands the use-tree or path that starts at `toks[*i]` (just after `base::`).
fn expand(toks: &[(Tok, usize)], i: &mut usize, base: Vec<String>, out: &mut Vec<Vec<String>>) {
    match toks.get(*i).map(|t| &t.0) {
        Some(Tok::Open) => {
            *i += 1;
            loop {
                match toks.get(*i).map(|t| &t.0) {
                    Some(Tok::Close) => {
                        *i += 1;
                        return;
                    }
                    Some(Tok::Ident(_) | Tok::Open | Tok::Other('*')) => {
                        expand(toks, i, base.clone(), out)
                    }
                    // `as`-renames' punctuation, generics: nothing to follow.
                    Some(_) => *i += 1,
                    None => return,
                }
            }
        }
        Some(Tok::Ident(name)) => {
            let mut path = base;
            if name == "self" {
                *i += 1;
                out.push(path);
                return;
            }
            path.push(name.clone());
            *i += 1;
            if toks.get(*i).map(|t| &t.0) == Some(&Tok::Sep) {
                *i += 1;
                expand(toks, i, path, out);
            } else {
                out.push(path);
            }
        }
        Some(Tok::Other('*')) => {
            *i += 1;
            out.push(base);
        }
        _ => out.push(base),
    }
}

fn scan_file(graph: &mut Graph, file_mod: Vec<String>, src: &str, label: &str) {
    let toks = tokenize(src);
    graph.modules.insert(file_mod.clone());
    // Inline modules: (path, brace depth at which they close).
    let mut stack: Vec<(Vec<String>, usize)> = vec![(file_mod.clone(), 0)];
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let current = stack.last().map(|s| s.0.clone()).unwrap_or_default();
        match &toks[i].0 {
            Tok::Open => {
                depth += 1;
                i += 1;
            }
            Tok::Close => {
                if stack.len() > 1 && stack.last().is_some_and(|s| s.1 == depth) {
                    stack.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some((Tok::Ident(name), _)), Some((Tok::Open, _))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    let mut path = current.clone();
                    path.push(name.clone());
                    graph.modules.insert(path.clone());
                    depth += 1;
                    stack.push((path, depth));
                    i += 3;
                } else {
                    if let Some((Tok::Ident(name), _)) = toks.get(i + 1) {
                        let mut path = current.clone();
                        path.push(name.clone());
                        graph.modules.insert(path);
                    }
                    i += 1;
                }
            }
            Tok::Ident(kw)
                if (kw == "crate" || kw == "super" || kw == "self")
                    && toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Sep)
                    && !(i > 0 && toks[i - 1].0 == Tok::Sep) =>
            {
                let line = toks[i].1;
                let mut base = match kw.as_str() {
                    "crate" => vec![],
                    "self" => current.clone(),
                    _ => current[..current.len().saturating_sub(1)].to_vec(),
                };
                i += 2;
                // `super::super::…`
                while let (Some((Tok::Ident(s), _)), Some((Tok::Sep, _))) =
                    (toks.get(i), toks.get(i + 1))
                {
                    if s != "super" {
                        break;
                    }
                    base.pop();
                    i += 2;
                }
                let mut paths = Vec::new();
                expand(&toks, &mut i, base, &mut paths);
                for p in paths {
                    graph
                        .refs
                        .push((current.clone(), p, format!("{label}:{line}")));
                }
            }
            _ => i += 1,
        }
    }
}

fn load(root: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    files.sort();
    let mut graph = Graph::default();
    for f in files {
        let src = std::fs::read_to_string(&f).expect("readable source");
        let label = f.display().to_string();
        scan_file(&mut graph, module_path(root, &f), &src, &label);
    }
    graph
}

/// For each parent module, the edges between its child modules: (parent, from, to, where).
fn sibling_edges(graph: &Graph) -> Vec<(Vec<String>, String, String, String)> {
    let mut edges = Vec::new();
    for (from, target, at) in &graph.refs {
        let common = from
            .iter()
            .zip(target.iter())
            .take_while(|(a, b)| a == b)
            .count();
        if common >= from.len() || common >= target.len() {
            continue; // an ancestor's item, or the module's own
        }
        let parent = from[..common].to_vec();
        let mut child = parent.clone();
        child.push(target[common].clone());
        if !graph.modules.contains(&child) {
            continue; // an item of the parent itself (often a re-export)
        }
        edges.push((
            parent,
            from[common].clone(),
            target[common].clone(),
            at.clone(),
        ));
    }
    edges
}

/// Every rule broken, as readable lines.
fn violations(graph: &Graph, layers: Option<&[&[&str]]>) -> Vec<String> {
    let edges = sibling_edges(graph);
    let mut out = Vec::new();
    if let Some(layers) = layers {
        let layer_of = |m: &str| layers.iter().position(|l| l.contains(&m));
        for (parent, from, to, at) in &edges {
            if !parent.is_empty() {
                continue;
            }
            match (layer_of(from), layer_of(to)) {
                (Some(a), Some(b)) if b < a => {}
                (Some(_), Some(_)) => out.push(format!(
                    "{at}: `{from}` uses `{to}`, which is not in a lower layer"
                )),
                (None, _) => out.push(format!("{at}: module `{from}` is in no layer")),
                (_, None) => out.push(format!("{at}: module `{to}` is in no layer")),
            }
        }
    }
    let mut by_parent: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut first_at: BTreeMap<(Vec<String>, String, String), String> = BTreeMap::new();
    for (parent, from, to, at) in edges {
        by_parent
            .entry(parent.clone())
            .or_default()
            .entry(from.clone())
            .or_default()
            .insert(to.clone());
        first_at.entry((parent, from, to)).or_insert(at);
    }
    for (parent, adj) in &by_parent {
        if let Some(cycle) = find_cycle(adj) {
            let hops: Vec<String> = cycle
                .windows(2)
                .map(|w| {
                    let at = &first_at[&(parent.clone(), w[0].clone(), w[1].clone())];
                    format!("{} -> {} ({at})", w[0], w[1])
                })
                .collect();
            out.push(format!(
                "cycle among the modules of `{}`: {}",
                if parent.is_empty() {
                    "crate".into()
                } else {
                    parent.join("::")
                },
                hops.join(", ")
            ));
        }
    }
    out
}

fn find_cycle(adj: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        adj: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for m in adj.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|s| s == m).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, adj, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in adj.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, adj, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn every_import_points_down_and_no_module_cycle() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    for krate in CRATES {
        let root = repo.join(krate);
        if !root.is_dir() {
            continue;
        }
        let graph = load(&root);
        assert!(graph.modules.len() > 1, "no modules found under {krate}");
        let layers = (*krate == "src").then_some(LAYERS);
        all.extend(violations(&graph, layers));
    }
    all.sort();
    all.dedup();
    assert!(
        all.is_empty(),
        "architecture rules broken:\n{}",
        all.join("\n")
    );
}

/// Issue 13's bound: a module over 600 lines is doing more than one job.
#[test]
fn no_file_under_src_is_over_600_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "no sources found under {}", src.display());
    let mut long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).ok()?.lines().count();
            (lines > 600).then(|| format!("{}: {lines} lines", f.display()))
        })
        .collect();
    long.sort();
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
}

#[test]
fn every_top_level_module_of_the_main_crate_has_a_layer() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let graph = load(&repo.join("src"));
    let missing: Vec<_> = graph
        .modules
        .iter()
        .filter(|m| m.len() == 1)
        .filter(|m| !LAYERS.iter().any(|l| l.contains(&m[0].as_str())))
        .collect();
    assert!(missing.is_empty(), "modules without a layer: {missing:?}");
}

/// The checker itself catches what it is for: a file set with an upward import and one
/// with a cycle.
#[test]
fn the_checker_reports_an_upward_import_and_a_cycle() {
    let mut g = Graph::default();
    scan_file(
        &mut g,
        vec![],
        "pub mod app; pub mod store; pub mod domain;",
        "lib.rs",
    );
    scan_file(
        &mut g,
        vec!["domain".into()],
        "pub struct Record;",
        "domain.rs",
    );
    scan_file(
        &mut g,
        vec!["app".into()],
        "use crate::{store::Db, domain::Record};",
        "app.rs",
    );
    scan_file(
        &mut g,
        vec!["store".into()],
        "// crate::app::Nope in a comment does not count\nfn f() { let _ = \"crate::app\"; crate::app::App::run(); }",
        "store.rs",
    );
    let v = violations(&g, Some(&[&["domain"], &["store"], &["app"]]));
    assert!(
        v.iter()
            .any(|l| l.contains("store.rs:2") && l.contains("`store` uses `app`")),
        "{v:?}"
    );
    assert!(v.iter().any(|l| l.contains("cycle")), "{v:?}");
    assert!(!v.iter().any(|l| l.contains("store.rs:1")), "{v:?}");

    let mut g = Graph::default();
    scan_file(&mut g, vec![], "mod a; mod b; mod c;", "lib.rs");
    scan_file(&mut g, vec!["a".into()], "use super::b::X;", "a.rs");
    scan_file(&mut g, vec!["b".into()], "use crate::c::{self, Y};", "b.rs");
    scan_file(
        &mut g,
        vec!["c".into()],
        "fn f() {} #[cfg(test)] mod tests { use super::f; }",
        "c.rs",
    );
    assert!(
        violations(&g, None).is_empty(),
        "{:?}",
        violations(&g, None)
    );
    scan_file(&mut g, vec!["c".into()], "use crate::a::Z;", "c2.rs");
    let v = violations(&g, None);
    assert!(
        v.iter()
            .any(|l| l.contains("cycle") && l.contains("c -> a")),
        "{v:?}"
    );
}

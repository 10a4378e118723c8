//! The layers hold: `config` → `db` → `domain` → `jobs` → `web`, each importing only from
//! the layers before it, and no two files of `config`, `db`, `domain` or `jobs` import
//! each other in a circle (a file using its own folder's `mod.rs` is not a circle: the
//! folder is one unit). Read from the source, so a new upward import fails here, with
//! the file and the path named, before review.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. Files at the crate's root (`startup`, `cli`, ...) wire the
/// layers together and may use any of them.
const LAYERS: [&str; 5] = ["config", "db", "domain", "jobs", "web"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `domain/case/intake.rs` → ["domain", "case", "intake"]; `domain/alert/mod.rs` →
/// ["domain", "alert"].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The file a `crate::` path lands in: its longest prefix that is a module file.
fn file_of(modules: &BTreeMap<Vec<String>, PathBuf>, path: &[String]) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| modules.contains_key(prefix))
}

/// Every `crate::a::b::c` a file names, in `use` lines and in code, and `super::` paths
/// made absolute (`use super::*` of a test module is its own file: skipped). Comments are
/// skipped.
fn imports(module: &[String], text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        if code.trim() == "use super::*;" {
            continue;
        }
        for (start, relative) in [("crate::", false), ("super::", true)] {
            let mut rest = code;
            while let Some(at) = rest.find(start) {
                let before = rest[..at].chars().last();
                rest = &rest[at + start.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let mut path = Vec::new();
                for segment in rest.split("::") {
                    let ident: String = segment
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    if ident.is_empty() {
                        break;
                    }
                    let whole = ident.len() == segment.len();
                    path.push(ident);
                    if !whole {
                        break;
                    }
                }
                if relative {
                    let mut base = module.to_vec();
                    base.pop();
                    base.extend(path);
                    path = base;
                }
                if !path.is_empty() {
                    found.push(path);
                }
            }
        }
    }
    found
}

struct Graph {
    modules: BTreeMap<Vec<String>, PathBuf>,
    edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let mut edges = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        let targets: BTreeSet<Vec<String>> = imports(module, &text)
            .iter()
            .filter_map(|path| file_of(&modules, path))
            // A file may lean on its own folder's `mod.rs` (`super::`): the folder is one unit
            // and `mod.rs` its face. Circles between folders, or between two files, count.
            .filter(|target| !module.starts_with(target))
            .collect();
        edges.insert(module.clone(), targets);
    }
    Graph { modules, edges }
}

fn layer(module: &[String]) -> Option<usize> {
    LAYERS
        .iter()
        .position(|l| module.first().is_some_and(|m| m == l))
}

#[test]
fn no_layer_imports_from_a_layer_above_it() {
    let g = graph();
    let mut wrong = Vec::new();
    for (from, targets) in &g.edges {
        let Some(own) = layer(from) else { continue };
        for to in targets {
            match layer(to) {
                Some(l) if l > own => {
                    wrong.push(format!("{} uses {}", from.join("::"), to.join("::")))
                }
                // The crate's root files (startup, cli) wire the layers; no layer uses them.
                None if !to.is_empty() => {
                    wrong.push(format!("{} uses {}", from.join("::"), to.join("::")))
                }
                _ => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

/// Domain files that still build their own queries. The list only shrinks: SQL belongs in
/// `db::queries`, where both backends' tests reach it.
const DOMAIN_FILES_WITH_SQL: &[&str] = &[
    "domain::demo::history",
    "domain::privacy::customer_data",
    "domain::privacy::retention",
];

#[test]
fn the_domain_leaves_queries_to_the_db_layer() {
    let g = graph();
    let mut found = Vec::new();
    for (module, targets) in &g.edges {
        if layer(module) != Some(2) {
            continue;
        }
        let name = module.join("::");
        let uses_schema = targets
            .iter()
            .any(|t| t.len() >= 2 && t[0] == "db" && t[1] == "schema");
        if uses_schema && !DOMAIN_FILES_WITH_SQL.contains(&name.as_str()) {
            found.push(name);
        } else if !uses_schema && DOMAIN_FILES_WITH_SQL.contains(&name.as_str()) {
            found.push(format!("{name} (no longer: take it off the list)"));
        }
    }
    assert!(
        found.is_empty(),
        "domain files building queries (move them to db::queries):\n{}",
        found.join("\n")
    );
}

#[test]
fn no_files_below_the_web_import_each_other_in_a_circle() {
    let g = graph();
    let inside = |m: &Vec<String>| layer(m).is_some_and(|l| l < 4);
    // Depth-first search for a back edge; the path to it is the circle.
    fn visit(
        g: &Graph,
        inside: &dyn Fn(&Vec<String>) -> bool,
        node: &Vec<String>,
        path: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
        circles: &mut Vec<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = path.iter().position(|n| n == node) {
            let circle: Vec<String> = path[at..]
                .iter()
                .chain([node])
                .map(|m| m.join("::"))
                .collect();
            circles.push(circle.join(" → "));
            return;
        }
        path.push(node.clone());
        for next in g
            .edges
            .get(node)
            .into_iter()
            .flatten()
            .filter(|n| inside(n))
        {
            visit(g, inside, next, path, done, circles);
        }
        path.pop();
        done.insert(node.clone());
    }
    let mut done = BTreeSet::new();
    let mut circles = Vec::new();
    for node in g.modules.keys().filter(|m| inside(m)) {
        visit(&g, &inside, node, &mut Vec::new(), &mut done, &mut circles);
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_reader_finds_the_imports_it_is_meant_to_catch() {
    let module = ["domain".to_string(), "case".into(), "intake".into()];
    let text = "use crate::jobs::outbox::OutboxWaker;\n// crate::web::x in a comment\n\
                let x = super::photo::store(&crate::db::queries::cases::find(c)?);";
    let names = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        imports(&module, text),
        [
            names(&["jobs", "outbox"]),
            names(&["db", "queries", "cases", "find"]),
            names(&["domain", "case", "photo", "store"]),
        ]
    );
}

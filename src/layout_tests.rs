//! The module map of `lib.rs` as a test: reads the `crate::` and `super::` paths of every
//! file under `src/` (outside its test module) and fails on an import cycle between files,
//! on a cycle between top-level modules, and on an import that points up the layers.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Layers from the top; a module may import from its own layer or any below it.
const LAYERS: &[&[&str]] = &[
    &["startup", "cli"],
    &["oauth"],
    &["web"],
    &["state"],
    &["domain", "housekeeping"],
    &["error"],
    &[
        "store",
        "keys",
        "directory",
        "throttle",
        "password",
        "metrics",
        "telemetry",
    ],
    &["config", "clock", "crypto"],
];

type Module = Vec<String>;

/// Every `.rs` file under `dir` (except `main.rs` and test-only files) with its module path.
fn modules(root: &Path, dir: &Path, out: &mut BTreeMap<Module, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            modules(root, &path, out);
            continue;
        }
        let Some(rel) = path.strip_prefix(root).ok().and_then(|p| p.to_str()) else {
            continue;
        };
        let Some(rel) = rel.strip_suffix(".rs") else {
            continue;
        };
        let mut module: Module = rel.split('/').map(str::to_string).collect();
        let last = module.last().cloned().unwrap_or_default();
        if rel == "main" || last == "tests" || last.ends_with("_tests") {
            continue;
        }
        if last == "mod" || last == "lib" {
            module.pop();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        out.insert(module, text);
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` part.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths named after `prefix` at `rest`: `a::b`, or every path of a `{…}` group.
fn paths_at(prefix: &[String], rest: &str, out: &mut Vec<Module>) {
    let mut path = prefix.to_vec();
    let mut rest = rest;
    loop {
        rest = rest.trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            // split the group at top-level commas
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        paths_at(&path, &group[start..i], out);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        paths_at(&path, &group[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            return;
        }
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        path.push(rest[..end].to_string());
        match rest[end..].strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    out.push(path);
}

/// The modules a file imports from (file-level module paths, never itself, its
/// ancestors or its descendants).
fn imports(module: &Module, text: &str, known: &BTreeSet<Module>) -> BTreeSet<Module> {
    let code = code(text);
    let mut paths = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        if i > 0 && code[..i].ends_with(|c: char| is_ident(c) || c == '$') {
            continue;
        }
        paths_at(&[], &code[i + "crate::".len()..], &mut paths);
    }
    for (i, _) in code.match_indices("super::") {
        if i > 0 && code[..i].ends_with(|c: char| is_ident(c) || c == ':') {
            continue;
        }
        let mut rest = &code[i..];
        let mut parent = module.clone();
        while let Some(r) = rest.strip_prefix("super::") {
            parent.pop();
            rest = r;
        }
        paths_at(&parent, rest, &mut paths);
    }
    let mut out = BTreeSet::new();
    for mut path in paths {
        while !path.is_empty() && !known.contains(&path) {
            path.pop();
        }
        let related = path.starts_with(module) || module.starts_with(&path);
        if !path.is_empty() && !related {
            out.insert(path);
        }
    }
    out
}

/// A cycle in `graph`, if there is one.
fn find_cycle<N: Ord + Clone>(graph: &BTreeMap<N, BTreeSet<N>>) -> Option<Vec<N>> {
    fn visit<N: Ord + Clone>(
        node: &N,
        graph: &BTreeMap<N, BTreeSet<N>>,
        done: &mut BTreeSet<N>,
        stack: &mut Vec<N>,
    ) -> Option<Vec<N>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut done, &mut Vec::new()))
}

fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    modules(&root, &root, &mut files);
    let known: BTreeSet<Module> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(m, text)| (m.clone(), imports(m, text, &known)))
        .collect()
}

fn name(m: &Module) -> String {
    m.join("::")
}

#[test]
fn no_two_files_of_src_import_each_other_even_through_others() {
    let graph = graph();
    assert!(graph.len() > 40, "the walk found {} files", graph.len());
    let cycle = find_cycle(&graph).map(|c| c.iter().map(name).collect::<Vec<_>>());
    assert_eq!(cycle, None, "import cycle between files");
}

#[test]
fn top_level_modules_import_only_from_their_layer_or_below_and_never_in_a_circle() {
    let layer = |m: &str| LAYERS.iter().position(|l| l.contains(&m));
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut upward = Vec::new();
    for (from, targets) in graph() {
        let Some(a) = from.first() else { continue };
        assert!(layer(a).is_some(), "{a} is in no layer of LAYERS");
        for to in targets {
            let b = &to[0];
            if a == b {
                continue;
            }
            top.entry(a.clone()).or_default().insert(b.clone());
            if layer(b) < layer(a) {
                upward.push(format!("{} -> {}", name(&from), name(&to)));
            }
        }
    }
    assert_eq!(
        upward,
        Vec::<String>::new(),
        "imports pointing up the layers"
    );
    assert_eq!(
        find_cycle(&top),
        None,
        "import cycle between top-level modules"
    );
}

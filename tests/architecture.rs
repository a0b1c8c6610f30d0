//! The architecture, kept by a test (rust-analyzer's "tidy" habit): every module imports only its own
//! layer or the layers below it, and no two files import each other through a chain.
//!
//! The layers, bottom to top, are documented at the top of `src/lib.rs`; [`LAYERS`] is the same list.
//! The checker reads `src/**/*.rs`, collects every `use` path (`crate::`, `super::`, `self::` and child
//! modules, braces expanded) and every inline `crate::…`/`super::…` path in code, resolves each to the
//! file that defines it (following `pub use` re-exports, so a facade `mod.rs` does not hide where an item
//! lives), and fails on an upward edge or a cycle. Test modules (`#[cfg(test)]` to the end of a file, and
//! files included only as tests) are left out: tests may reach anything.
//!
//! The house rules that are no layering — file length and typed errors — are in [`house`], on the same
//! reading of the sources.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[path = "architecture/house.rs"]
mod house;

/// Top-level modules by layer, bottom first. A module may import its own layer and those below.
const LAYERS: &[&[&str]] = &[
    &["document"],
    &["ports", "finding"],
    &["manifest", "policy", "facts"],
    &["fleet", "rules", "diagnose", "suggest"],
    &["check"],
    &["report", "fix"],
    &["cli", "commands", "fuzzing"],
];

/// A module path: `["facts", "firewall"]` for `src/facts/firewall/mod.rs`.
type ModPath = Vec<String>;

/// What the checker found wrong.
#[derive(Debug, PartialEq, Eq)]
enum Violation {
    /// `from` (a file) imports `to` (a file) of a higher layer.
    Upward { from: String, to: String },
    /// Files that import each other through a chain, first file repeated at the end.
    Cycle(Vec<String>),
    /// A top-level module that no layer lists.
    Unlayered(String),
}

/// One source file of the crate.
struct File {
    module: ModPath,
    /// The code, without test modules and comments.
    code: String,
}

/// The module path of a file below `src/` (`facts/firewall/mod.rs` → `facts::firewall`).
fn module_of(rel: &str) -> Option<ModPath> {
    let rel = rel.strip_suffix(".rs")?;
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    match parts.last().map(String::as_str) {
        Some("lib") if parts.len() == 1 => return Some(Vec::new()),
        Some("main") if parts.len() == 1 => return None,
        Some("mod") => {
            parts.pop();
        }
        Some(last) if last.ends_with("_tests") => return None,
        _ => {}
    }
    Some(parts)
}

/// The code of a file without its test module, comments and string contents.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("");
        // Drop string literals: a message may mention `crate::x` without depending on it.
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
                out.push('"');
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Splits `a::{b, c::{d, e as f}, self}` into full paths (`a::b`, `a::c::d`, `a::c::e`, `a`), each with
/// the name it is brought in as.
fn expand(tree: &str) -> Vec<(Vec<String>, String)> {
    fn go(prefix: &[String], tree: &str, out: &mut Vec<(Vec<String>, String)>) {
        let tree = tree.trim();
        if tree.is_empty() {
            return;
        }
        // Split at the first top-level `{`.
        if let Some(open) = tree.find('{') {
            let head: Vec<String> = tree[..open]
                .split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut base = prefix.to_vec();
            base.extend(head);
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        go(&base, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            go(&base, &inner[start..], out);
            return;
        }
        let (path, alias) = match tree.split_once(" as ") {
            Some((p, a)) => (p.trim(), Some(a.trim())),
            None => (tree, None),
        };
        let mut full = prefix.to_vec();
        for seg in path.split("::").map(str::trim) {
            match seg {
                "self" => {}
                "*" => {}
                s => full.push(s.to_owned()),
            }
        }
        let name = alias
            .map(str::to_owned)
            .or_else(|| full.last().cloned())
            .unwrap_or_default();
        out.push((full, name));
    }
    let mut out = Vec::new();
    go(&[], tree, &mut out);
    out
}

/// The `use` declarations of a file's code: (is it `pub`, the tree after `use`).
fn uses(code: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = find_use(rest) {
        let before = rest[..i].trim_end();
        let public = before.ends_with("pub") || before.ends_with(')') && before.contains("pub(");
        let after = &rest[i + 4..];
        let end = after.find(';').unwrap_or(after.len());
        out.push((
            public,
            after[..end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ));
        rest = &after[end..];
    }
    out
}

/// The offset of the next `use ` that starts a declaration.
fn find_use(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("use ") {
        let at = from + i;
        let prev = s[..at].chars().next_back();
        if prev.is_none_or(|c| c.is_whitespace() || c == ';' || c == '{' || c == '}' || c == ')') {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// Paths written inline in code: `crate::a::b` and `super::c`.
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            let prev = code[..at].chars().next_back();
            from = at + start.len();
            if prev.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segs: Vec<String> = path
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            out.push(segs);
        }
    }
    out
}

/// The crate's files and what each one imports.
struct Crate {
    files: BTreeMap<ModPath, File>,
}

impl Crate {
    fn new(sources: &BTreeMap<String, String>) -> Self {
        let files = sources
            .iter()
            .filter_map(|(rel, text)| {
                let module = module_of(rel)?;
                Some((
                    module.clone(),
                    File {
                        module,
                        code: code_of(text),
                    },
                ))
            })
            .collect();
        Crate { files }
    }

    /// Makes a written path absolute from the module it is written in; `None` for other crates.
    fn absolute(&self, from: &ModPath, path: &[String]) -> Option<ModPath> {
        let mut base = from.clone();
        let mut segs = path.iter().peekable();
        match segs.peek().map(|s| s.as_str()) {
            Some("crate") => {
                segs.next();
                base.clear();
            }
            Some("super") | Some("self") => {
                while let Some(s) = segs.peek() {
                    match s.as_str() {
                        "super" => {
                            base.pop();
                        }
                        "self" => {}
                        _ => break,
                    }
                    segs.next();
                }
            }
            Some(first) => {
                // A child module of this one, or another crate.
                let mut child = from.clone();
                child.push(first.to_owned());
                if !self.files.contains_key(&child) {
                    return None;
                }
            }
            None => return None,
        }
        base.extend(segs.cloned());
        Some(base)
    }

    /// The file that defines what `path` (absolute) names, following `pub use` re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> Option<ModPath> {
        let mut module: ModPath = Vec::new();
        for (i, seg) in path.iter().enumerate() {
            let mut child = module.clone();
            child.push(seg.clone());
            if self.files.contains_key(&child) {
                module = child;
                continue;
            }
            // Not a file: maybe an item re-exported by this module.
            if depth < 8
                && let Some(file) = self.files.get(&module)
            {
                for (public, tree) in uses(&file.code) {
                    if !public {
                        continue;
                    }
                    for (target, name) in expand(&tree) {
                        if name == *seg
                            && let Some(abs) = self.absolute(&module, &target)
                        {
                            let mut rest = abs;
                            rest.extend(path[i + 1..].iter().cloned());
                            return self.resolve(&rest, depth + 1);
                        }
                    }
                }
            }
            break;
        }
        Some(module)
    }

    /// Every edge between two files: importer → imported (re-exports count as edges of the facade only
    /// when code in it uses them, which `resolve` sees through).
    fn edges(&self) -> BTreeSet<(ModPath, ModPath)> {
        let mut edges = BTreeSet::new();
        for file in self.files.values() {
            let mut paths: Vec<Vec<String>> = Vec::new();
            for (public, tree) in uses(&file.code) {
                if public {
                    continue;
                }
                paths.extend(expand(&tree).into_iter().map(|(p, _)| p));
            }
            paths.extend(inline_paths(&file.code));
            for p in paths {
                let Some(abs) = self.absolute(&file.module, &p) else {
                    continue;
                };
                let Some(to) = self.resolve(&abs, 0) else {
                    continue;
                };
                // A module's own items, and the crate root's facade, are no edges.
                if to != file.module && !to.is_empty() {
                    edges.insert((file.module.clone(), to));
                }
            }
        }
        edges
    }
}

fn layer(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&top))
}

fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".to_owned()
    } else {
        m.join("::")
    }
}

/// Checks a crate given as `path below src/ → text`.
fn check(sources: &BTreeMap<String, String>) -> Vec<Violation> {
    let krate = Crate::new(sources);
    let edges = krate.edges();
    let mut found = Vec::new();
    let tops: BTreeSet<&str> = krate
        .files
        .keys()
        .filter_map(|m| m.first().map(String::as_str))
        .collect();
    for top in tops {
        if layer(top).is_none() {
            found.push(Violation::Unlayered(top.to_owned()));
        }
    }
    for (from, to) in &edges {
        let (Some(a), Some(b)) = (
            from.first().and_then(|t| layer(t)),
            to.first().and_then(|t| layer(t)),
        ) else {
            continue;
        };
        if b > a {
            found.push(Violation::Upward {
                from: name(from),
                to: name(to),
            });
        }
    }
    // Cycles: a depth-first search that reports each back edge's loop once.
    let mut graph: BTreeMap<&ModPath, Vec<&ModPath>> = BTreeMap::new();
    for (a, b) in &edges {
        graph.entry(a).or_default().push(b);
    }
    let mut state: BTreeMap<&ModPath, u8> = BTreeMap::new(); // 1 on the stack, 2 done
    let mut stack: Vec<&ModPath> = Vec::new();
    fn dfs<'a>(
        n: &'a ModPath,
        graph: &BTreeMap<&'a ModPath, Vec<&'a ModPath>>,
        state: &mut BTreeMap<&'a ModPath, u8>,
        stack: &mut Vec<&'a ModPath>,
        found: &mut Vec<Violation>,
    ) {
        state.insert(n, 1);
        stack.push(n);
        for &m in graph.get(n).map(Vec::as_slice).unwrap_or(&[]) {
            match state.get(m).copied() {
                Some(1) => {
                    let i = stack.iter().position(|x| *x == m).unwrap_or(0);
                    let mut cycle: Vec<String> = stack[i..].iter().map(|x| name(x)).collect();
                    cycle.push(name(m));
                    found.push(Violation::Cycle(cycle));
                }
                Some(_) => {}
                None => dfs(m, graph, state, stack, found),
            }
        }
        stack.pop();
        state.insert(n, 2);
    }
    let nodes: Vec<&ModPath> = graph.keys().copied().collect();
    for n in nodes {
        if !state.contains_key(n) {
            dfs(n, &graph, &mut state, &mut stack, &mut found);
        }
    }
    found
}

/// Every `.rs` file below `dir`, as `path relative to src/ → text`.
fn read_tree(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            read_tree(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn layers_only_point_down_and_files_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = BTreeMap::new();
    read_tree(&src, &src, &mut sources);
    let krate = Crate::new(&sources);
    // The checker sees the crate: a sanity floor, so an empty edge set can't pass silently.
    assert!(krate.edges().len() > 100, "{} edges", krate.edges().len());
    let found = check(&sources);
    assert!(found.is_empty(), "architecture violations:\n{found:#?}");
}

#[test]
fn files_keep_the_line_limit_and_errors_are_typed() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = BTreeMap::new();
    read_tree(&src, &src, &mut sources);
    assert!(sources.len() > 50, "{} files", sources.len());
    let found = house::check(&sources, house::LONG_FILES, house::STRING_ERRORS);
    assert!(
        found.is_empty(),
        "house rules broken (files over {} lines, `String` errors in library code, needless exceptions):\n{found:#?}",
        house::MAX_LINES
    );
}

#[test]
fn the_layer_list_in_lib_rs_is_this_one() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    for (i, layer) in LAYERS.iter().enumerate() {
        let line = format!(
            "//! {}. {}",
            i + 1,
            layer
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert!(
            lib.contains(&line),
            "src/lib.rs should document layer {}: {line}",
            i + 1
        );
    }
}

/// A tiny crate to plant violations in.
fn planted(files: &[(&str, &str)]) -> Vec<Violation> {
    let sources = files
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect();
    check(&sources)
}

#[test]
fn the_checker_finds_a_planted_upward_import() {
    let found = planted(&[
        ("lib.rs", "pub mod document;\npub mod check;\n"),
        (
            "document/mod.rs",
            "use crate::check::Outcome;\npub fn f() {}\n",
        ),
        ("check.rs", "pub struct Outcome;\n"),
    ]);
    assert_eq!(
        found,
        vec![Violation::Upward {
            from: "document".into(),
            to: "check".into()
        }]
    );
    // The same import written inline in code.
    let found = planted(&[
        ("lib.rs", "pub mod document;\npub mod check;\n"),
        (
            "document/mod.rs",
            "pub fn f() -> crate::check::Outcome { todo!() }\n",
        ),
        ("check.rs", "pub struct Outcome;\n"),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn the_checker_finds_a_planted_cycle_through_a_re_export() {
    let found = planted(&[
        ("lib.rs", "pub mod facts;\n"),
        (
            "facts/mod.rs",
            "pub mod parse;\npub mod firewall;\npub use firewall::Rules;\n",
        ),
        (
            "facts/parse.rs",
            "use super::Rules;\npub struct CaptureError;\n",
        ),
        (
            "facts/firewall.rs",
            "use super::{parse::{self, CaptureError}};\npub struct Rules;\n",
        ),
    ]);
    assert_eq!(
        found,
        vec![Violation::Cycle(vec![
            "facts::firewall".into(),
            "facts::parse".into(),
            "facts::firewall".into()
        ])]
    );
}

#[test]
fn the_checker_finds_an_unlayered_module_and_ignores_tests_comments_and_strings() {
    let found = planted(&[
        (
            "lib.rs",
            "pub mod document;\npub mod extra;\npub mod check;\n",
        ),
        (
            "document/mod.rs",
            "// see crate::check::Outcome\nconst S: &str = \"crate::check::x\";\n#[cfg(test)]\nmod tests { use crate::check::Outcome; }\n",
        ),
        ("extra.rs", "\n"),
        ("check.rs", "pub struct Outcome;\n"),
    ]);
    assert_eq!(found, vec![Violation::Unlayered("extra".into())]);
}

#[test]
fn use_trees_expand() {
    let got = expand("super::{parse::{self, CaptureError}, Facts as F, x::*}");
    let paths: Vec<String> = got
        .iter()
        .map(|(p, n)| format!("{}={n}", p.join("::")))
        .collect();
    assert_eq!(
        paths,
        [
            "super::parse=parse",
            "super::parse::CaptureError=CaptureError",
            "super::Facts=F",
            "super::x=x"
        ]
    );
}

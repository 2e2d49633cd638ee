//! The crate's modules depend on each other in one direction only.
//!
//! Reads `src/**/*.rs`, finds every `crate::...` and `super::...` path in the code (not in
//! comments, doc links or strings), and builds the graph of references between sibling
//! modules: the crate's top-level modules, and the modules inside each of them (a path
//! that names a root re-export counts as a reference to the module it comes from). The
//! test fails naming a circle when there is one; naming the reference when one storage
//! back end uses the other; and naming it when a top-level module uses one listed after it
//! in the order that `src/lib.rs` writes down (the comment lines after "a module uses only
//! those listed before it").

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Module paths (`["storage", "sqlite"]`) of the files under `src/`, with their text.
fn sources() -> Vec<(Vec<String>, PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&src).unwrap();
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            let last = parts.pop().unwrap();
            let stem = last.trim_end_matches(".rs");
            if !matches!(stem, "lib" | "mod") {
                parts.push(stem.to_owned());
            }
            let text = fs::read_to_string(&path).unwrap();
            (parts, path, text)
        })
        .collect()
}

/// The code of a file with comments, strings and character literals blanked out, so that
/// only paths written in code remain.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(b.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            let mut depth = 0;
            while i < b.len() {
                if text[i..].starts_with("/*") {
                    depth += 1;
                    i += 2;
                } else if text[i..].starts_with("*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if let Some(hashes) = raw_string_start(rest) {
            // r"...", r#"..."#, br#"..."#
            let open = rest.find('"').unwrap();
            let close = format!("\"{}", "#".repeat(hashes));
            let body = &rest[open + 1..];
            let end = body
                .find(&close)
                .map_or(b.len(), |n| i + open + 1 + n + close.len());
            out.push_str("\"\"");
            i = end;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime ('a), left as it is.
            let lit = if rest[1..].starts_with('\\') {
                rest[2..].find('\'').map(|n| n + 3)
            } else {
                rest[1..]
                    .chars()
                    .next()
                    .filter(|c| rest[1 + c.len_utf8()..].starts_with('\''))
                    .map(|c| c.len_utf8() + 2)
            };
            match lit {
                Some(len) => {
                    out.push_str("' '");
                    i += len;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// How many `#` a raw string starting here has, when one starts here.
fn raw_string_start(rest: &str) -> Option<usize> {
    let r = rest.strip_prefix('b').unwrap_or(rest).strip_prefix('r')?;
    let hashes = r.len() - r.trim_start_matches('#').len();
    r[hashes..].starts_with('"').then_some(hashes)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The tokens of code: identifiers, `::`, and single punctuation characters.
fn tokens(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if is_ident(c) || c == '$' {
            let start = i;
            i += 1;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".to_owned());
            i += 2;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

/// The first names of the paths a use-tree group `{a::b, c, d::{e}}` starts with.
fn group_heads(toks: &[String], open: usize) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect = true;
    for t in &toks[open..] {
        match t.as_str() {
            "{" => {
                depth += 1;
                if depth == 1 {
                    expect = true;
                }
            }
            "}" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            "," if depth == 1 => expect = true,
            name if depth == 1 && expect => {
                heads.push(name.to_owned());
                expect = false;
            }
            _ => {}
        }
    }
    heads
}

/// The crate: its top-level modules, what each root re-export names, and the order lib.rs
/// writes down.
struct Root {
    modules: BTreeSet<String>,
    reexports: BTreeMap<String, String>,
    order: Vec<String>,
}

fn root(lib: &str) -> Root {
    let toks = tokens(&code_only(lib));
    let mut modules = BTreeSet::new();
    let mut reexports = BTreeMap::new();
    for (i, t) in toks.iter().enumerate() {
        if t == "mod" && toks.get(i + 2).is_some_and(|n| n == ";") {
            modules.insert(toks[i + 1].clone());
        }
    }
    for (i, t) in toks.iter().enumerate() {
        if t != "use" || !modules.contains(&toks[i + 1]) {
            continue;
        }
        let module = toks[i + 1].clone();
        // Every name the statement brings into the root (the last one of each path, or
        // the name after `as`).
        let end = toks[i..].iter().position(|t| t == ";").unwrap() + i;
        for j in i + 1..end {
            let next = toks[j + 1].as_str();
            let name = toks[j].as_str();
            if name.chars().all(is_ident) && matches!(next, "," | "}" | ";") {
                reexports.insert(name.to_owned(), module.clone());
            }
        }
    }
    let marker = "a module uses only those listed before it";
    let line = lib
        .lines()
        .skip_while(|l| !l.contains(marker))
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join(" ");
    let order = line
        .replace("//", " ")
        .split(|c: char| !is_ident(c))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    Root {
        modules,
        reexports,
        order,
    }
}

/// A reference between two sibling modules: their parent (`crate`, `crate::storage`), the
/// one that uses and the one used.
type Edge = (String, String, String);

/// Every reference between sibling modules, with the file it is made in. A path through a
/// root re-export counts as a use of the module it comes from; a path to an item of a
/// module's parent (or through a re-export below the root) counts as a use of the parent,
/// which is no edge.
fn references(root: &Root) -> BTreeMap<Edge, String> {
    let files = sources();
    let known: BTreeSet<Vec<String>> = files.iter().map(|(m, _, _)| m.clone()).collect();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut edges = BTreeMap::new();
    for (module, path, text) in &files {
        if module.is_empty() {
            continue;
        }
        let toks = tokens(&code_only(text));
        // Inline modules (`mod tests { ... }`) change what `super` means inside them.
        let mut inline: Vec<(String, usize)> = Vec::new();
        let mut depth = 0usize;
        let mut i = 0;
        while i < toks.len() {
            match toks[i].as_str() {
                "mod" if toks.get(i + 2).is_some_and(|t| t == "{") => {
                    inline.push((toks[i + 1].clone(), depth + 1));
                }
                "{" => depth += 1,
                "}" => {
                    if inline.last().is_some_and(|(_, d)| *d == depth) {
                        inline.pop();
                    }
                    depth = depth.saturating_sub(1);
                }
                _ => {}
            }
            let start_of_path = (toks[i] == "crate" || toks[i] == "super")
                && toks.get(i + 1).is_some_and(|t| t == "::")
                && (i == 0 || (toks[i - 1] != "::" && toks[i - 1] != "$"));
            if !start_of_path {
                i += 1;
                continue;
            }
            let mut base: Vec<String> = module
                .iter()
                .cloned()
                .chain(inline.iter().map(|(n, _)| n.clone()))
                .collect();
            let mut j = i;
            if toks[j] == "crate" {
                base.clear();
                j += 2;
            } else {
                while toks.get(j).is_some_and(|t| t == "super")
                    && toks.get(j + 1).is_some_and(|t| t == "::")
                {
                    base.pop();
                    j += 2;
                }
            }
            // The rest of the path, and the heads of a group it ends in.
            while toks.get(j).is_some_and(|t| t.chars().all(is_ident)) {
                base.push(toks[j].clone());
                if toks.get(j + 1).is_some_and(|t| t == "::") {
                    j += 2;
                } else {
                    j += 1;
                    break;
                }
            }
            let targets: Vec<Vec<String>> = if toks.get(j).is_some_and(|t| t == "{") {
                group_heads(&toks, j)
                    .into_iter()
                    .map(|h| base.iter().cloned().chain([h]).collect())
                    .collect()
            } else {
                vec![base]
            };
            for mut target in targets {
                if let Some(first) = target.first()
                    && !root.modules.contains(first)
                {
                    match root.reexports.get(first) {
                        Some(m) => target = vec![m.clone()],
                        None => continue,
                    }
                }
                let shared = module
                    .iter()
                    .zip(&target)
                    .take_while(|(a, b)| a == b)
                    .count();
                if shared == module.len()
                    || shared == target.len()
                    || !known.contains(&target[..=shared])
                {
                    continue;
                }
                let parent = ["crate".to_owned()]
                    .into_iter()
                    .chain(module[..shared].iter().cloned())
                    .collect::<Vec<_>>()
                    .join("::");
                edges
                    .entry((parent, module[shared].clone(), target[shared].clone()))
                    .or_insert_with(|| {
                        path.strip_prefix(manifest)
                            .unwrap_or(path)
                            .display()
                            .to_string()
                    });
            }
            i = j.max(i + 1);
        }
    }
    edges
}

/// A circle in the graph, as the modules on it, the first repeated at the end.
fn circle(edges: &BTreeMap<(&str, &str), &str>) -> Option<Vec<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        graph.entry(*from).or_default().push(*to);
    }
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        done: &mut BTreeSet<&'a str>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| *n == node) {
            let mut c: Vec<String> = stack[at..].iter().map(|s| s.to_string()).collect();
            c.push(node.to_owned());
            return Some(c);
        }
        if !done.insert(node) {
            return None;
        }
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, done, stack) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, &graph, &mut done, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn modules_reference_each_other_in_one_direction() {
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("src/lib.rs");
    let root = root(&lib);
    let edges = references(&root);
    assert!(
        edges.keys().any(|(parent, _, _)| parent == "crate"),
        "no references between modules found: the test reads nothing"
    );
    let parents: BTreeSet<&str> = edges.keys().map(|(p, _, _)| p.as_str()).collect();
    for parent in parents {
        let graph: BTreeMap<(&str, &str), &str> = edges
            .iter()
            .filter(|((p, _, _), _)| p == parent)
            .map(|((_, f, t), file)| ((f.as_str(), t.as_str()), file.as_str()))
            .collect();
        if let Some(c) = circle(&graph) {
            let steps: Vec<String> = c
                .windows(2)
                .map(|w| format!("{} -> {} ({})", w[0], w[1], graph[&(&*w[0], &*w[1])]))
                .collect();
            panic!(
                "the modules {} of {parent} reference each other in a circle:\n  {}",
                c.join(" -> "),
                steps.join("\n  ")
            );
        }
    }
    let backends = ["sqlite", "postgres"];
    for ((parent, from, to), file) in &edges {
        assert!(
            !(parent == "crate::storage"
                && backends.contains(&&**from)
                && backends.contains(&&**to)),
            "the storage back end `{from}` uses the back end `{to}` ({file}); each stands alone"
        );
    }
    let position = |m: &str| root.order.iter().position(|o| o == m);
    for m in &root.modules {
        assert!(
            position(m).is_some(),
            "module `{m}` is missing from the order written in src/lib.rs ({:?})",
            root.order
        );
    }
    for ((parent, from, to), file) in &edges {
        assert!(
            parent != "crate" || position(to) < position(from),
            "`{from}` uses `{to}` ({file}), which src/lib.rs lists after it"
        );
    }
}

#[test]
fn the_reader_sees_code_and_resolves_paths() {
    let code = code_only(
        "use crate::a; // crate::b\n/* crate::c */ let s = \"crate::d\"; let r = r#\"crate::e\"#; \
         let c = '\"'; fn f<'a>(x: &'a str) { super::g(); }",
    );
    assert!(code.contains("crate::a"), "{code}");
    for gone in ["crate::b", "crate::c", "crate::d", "crate::e"] {
        assert!(!code.contains(gone), "{gone} in {code}");
    }
    assert!(code.contains("super::g"), "{code}");
    let toks = tokens("crate::{a::b, c, d::{e, f}}");
    assert_eq!(group_heads(&toks, 2), ["a", "c", "d"]);
    let r = root(
        "mod a;\nmod b;\npub use a::{X, y as Z};\npub use b::W;\n\
         // a module uses only those listed before it:\n//   a, b\n",
    );
    assert_eq!(r.order, ["a", "b"]);
    assert_eq!(r.reexports.get("Z").map(String::as_str), Some("a"));
    assert_eq!(r.reexports.get("W").map(String::as_str), Some("b"));
    assert!(!r.reexports.contains_key("y"));
}

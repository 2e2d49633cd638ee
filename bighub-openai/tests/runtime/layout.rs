//! The runtime's modules depend one way: the crate's error and event vocabulary, then
//! `tool`, `provider`, `config`, `run`, `agent`. A lower module naming a higher one (in
//! code; doc links are free) is a cycle in the making.
//!
//! Inside `run`, the files follow the order written in `run/mod.rs`: each uses only those
//! listed before it. A file uses another when it names it in a path (`super::x`,
//! `crate::run::x`), names a type or function defined there, or calls a method defined
//! there: `impl Runner` (or any type's `impl`) spread over several files is a dependency the
//! imports do not show, so `self.m(..)` / `runner.m(..)` calling a method defined in file A
//! from file B is an edge B -> A like any other.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The code lines of `file` that name any of `forbidden`, comments left out.
fn offending(file: &Path, forbidden: &[&str]) -> Vec<String> {
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter(|(_, line)| forbidden.iter().any(|name| line.contains(name)))
        .map(|(n, line)| format!("{}:{}: {}", file.display(), n + 1, line.trim()))
        .collect()
}

fn assert_layer(path: &str, forbidden: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let at = root.join(path);
    let files = if at.is_dir() { sources(&at) } else { vec![at] };
    assert!(!files.is_empty(), "{path} has no sources");
    let found: Vec<String> = files.iter().flat_map(|f| offending(f, forbidden)).collect();
    assert!(
        found.is_empty(),
        "{path} names a higher module:\n{}",
        found.join("\n")
    );
}

#[test]
fn each_module_uses_only_the_ones_below_it() {
    let higher_than_vocabulary = [
        "crate::tool",
        "crate::provider",
        "crate::config",
        "crate::run",
        "crate::agent",
        "crate::blocking",
    ];
    assert_layer("event.rs", &higher_than_vocabulary);
    assert_layer("error.rs", &higher_than_vocabulary);
    assert_layer(
        "tool",
        &[
            "crate::provider",
            "crate::config",
            "crate::run",
            "crate::agent",
            "crate::blocking",
            "crate::__private",
        ],
    );
    assert_layer(
        "mcp",
        &[
            "crate::provider",
            "crate::config",
            "crate::run",
            "crate::agent",
            "crate::blocking",
        ],
    );
    assert_layer(
        "provider",
        &[
            "crate::tool",
            "crate::config",
            "crate::run",
            "crate::agent",
            "crate::blocking",
        ],
    );
    assert_layer(
        "config.rs",
        &["crate::run", "crate::agent", "crate::blocking"],
    );
    assert_layer(
        "run",
        &[
            "crate::agent",
            "crate::blocking",
            "BighubOpenAI {",
            "BighubOpenAI,",
        ],
    );
    assert_layer("agent", &["crate::blocking"]);
}

#[test]
fn the_streamed_loop_and_the_loop_do_not_name_what_is_built_on_them() {
    // driver < stream < request, resume: the loop knows nothing of streaming or resuming.
    assert_layer(
        "run/driver.rs",
        &["super::stream", "super::resume", "super::request"],
    );
    assert_layer("run/stream.rs", &["super::resume", "super::request"]);
    assert_layer(
        "run/state.rs",
        &["super::driver", "super::resume", "super::stream"],
    );
    assert_layer(
        "run/round.rs",
        &["super::driver", "super::stream", "super::resume"],
    );
}

// ---- the graph of `run`'s files ----

/// One source file, reduced to its code: comments, string and char literals blanked (so
/// that braces and names inside them count for nothing), and its `#[cfg(test)]` tail cut.
struct Source {
    module: String,
    code: String,
}

fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && matches!(next, Some('#') | Some('"')) && !ident_char(prev(&chars, i))
        {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            // A char literal such as '{'.
            out.push_str("' '");
            i += 3;
        } else if c == '\'' && next == Some('\\') {
            // An escaped char literal such as '\n'.
            let mut j = i + 2;
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            out.push_str("' '");
            i = j + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev(chars: &[char], i: usize) -> char {
    if i == 0 { ' ' } else { chars[i - 1] }
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifiers of `code` with their byte offsets.
fn words(code: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let mut start = None;
    for (at, c) in code.char_indices() {
        match (ident_char(c), start) {
            (true, None) => start = Some(at),
            (false, Some(s)) => {
                found.push((s, &code[s..at]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        found.push((s, &code[s..]));
    }
    found
}

/// What a file defines and where its `impl` blocks are.
#[derive(Default)]
struct Defined {
    /// Types, aliases and traits at the top level.
    types: BTreeSet<String>,
    /// Free functions at the top level.
    functions: BTreeSet<String>,
    /// Inherent methods, by type.
    methods: BTreeMap<String, BTreeSet<String>>,
    /// Each top-level `impl` block: its type and its byte range.
    impls: Vec<(String, std::ops::Range<usize>)>,
    /// The variants of its enums: a variant named like a type elsewhere is not that type.
    variants: BTreeSet<String>,
}

/// The type an `impl` header is for: `impl<T> Name<T>` or `impl Trait for Name`.
fn impl_type(header: &str) -> (String, bool) {
    let header = header.trim_start_matches("impl").trim();
    let header = if header.starts_with('<') {
        let mut depth = 0;
        let mut cut = 0;
        for (at, c) in header.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => {
                    depth -= 1;
                    if depth == 0 {
                        cut = at + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        &header[cut..]
    } else {
        header
    };
    let (is_trait, target) = match header.find(" for ") {
        Some(at) => (true, &header[at + 5..]),
        None => (false, header),
    };
    let name: String = target
        .trim()
        .chars()
        .take_while(|c| ident_char(*c))
        .collect();
    (name, is_trait)
}

/// Whether the item whose keyword follows `before` is visible to other files.
fn is_public(before: &str) -> bool {
    let mut before = before.trim_end();
    while let Some(rest) = ["async", "const", "unsafe"]
        .iter()
        .find_map(|q| before.strip_suffix(q))
    {
        before = rest.trim_end();
    }
    ["pub", "pub(crate)", "pub(super)"]
        .iter()
        .any(|v| before.ends_with(v))
}

fn definitions(code: &str) -> Defined {
    let mut defined = Defined::default();
    let bytes = code.as_bytes();
    let mut depth = 0usize;
    // The impl block being read: its type, whether it is a trait impl, where it starts.
    let mut current: Option<(String, bool, usize)> = None;
    // Whether the top-level item being read is an enum.
    let mut in_enum = false;
    let all_words = words(code);
    let mut w = 0;
    let mut at = 0;
    while at < bytes.len() {
        // Look at the words that start here.
        while w < all_words.len() && all_words[w].0 < at {
            w += 1;
        }
        if w < all_words.len() && all_words[w].0 == at {
            let word = all_words[w].1;
            let next = all_words.get(w + 1).map(|(_, n)| *n).unwrap_or_default();
            if depth == 0 {
                match word {
                    "struct" | "enum" | "type" | "trait" | "union" => {
                        if is_public(&code[..at]) {
                            defined.types.insert(next.to_owned());
                        }
                        in_enum = word == "enum";
                    }
                    "fn" if is_public(&code[..at]) => {
                        defined.functions.insert(next.to_owned());
                    }
                    "impl" => {
                        let end = code[at..].find('{').map_or(code.len(), |e| at + e);
                        let (name, is_trait) = impl_type(&code[at..end]);
                        current = Some((name, is_trait, at));
                    }
                    _ => {}
                }
            } else if depth == 1 && in_enum && word.starts_with(char::is_uppercase) {
                let rest = code[at + word.len()..].trim_start();
                if rest.starts_with(['{', '(', ',', '}']) {
                    defined.variants.insert(word.to_owned());
                }
            } else if depth == 1
                && word == "fn"
                && let Some((name, false, _)) = &current
            {
                defined
                    .methods
                    .entry(name.clone())
                    .or_default()
                    .insert(next.to_owned());
            }
        }
        match bytes[at] {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    in_enum = false;
                    if let Some((name, _, start)) = current.take() {
                        defined.impls.push((name, start..at));
                    }
                }
            }
            _ => {}
        }
        at += 1;
    }
    defined
}

/// The names a `Runner` is held under outside its own `impl` blocks.
const RUNNER_NAMES: &[&str] = &["runner", "inner", "this", "agent"];

fn run_sources() -> Vec<Source> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/run");
    let mut files: Vec<Source> = sources(&dir)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "mod.rs"))
        .map(|p| Source {
            module: p.file_stem().unwrap().to_string_lossy().into_owned(),
            code: code_of(&fs::read_to_string(&p).unwrap()),
        })
        .collect();
    files.sort_by(|a, b| a.module.cmp(&b.module));
    files
}

/// Every edge `user -> used` between the files of `run`, each with one reason.
fn run_graph(files: &[Source]) -> BTreeMap<(String, String), String> {
    let modules: BTreeSet<&str> = files.iter().map(|f| f.module.as_str()).collect();
    let defs: Vec<Defined> = files.iter().map(|f| definitions(&f.code)).collect();
    // A name defined in exactly one file points there.
    let mut type_home: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut fn_home: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut method_home: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for (file, d) in files.iter().zip(&defs) {
        for t in &d.types {
            type_home.entry(t).or_default().push(&file.module);
        }
        for f in &d.functions {
            fn_home.entry(f).or_default().push(&file.module);
        }
        for (ty, methods) in &d.methods {
            for m in methods {
                method_home.entry((ty, m)).or_default().push(&file.module);
            }
        }
    }
    let mut edges = BTreeMap::new();
    let mut edge = |from: &str, to: &str, why: String| {
        if from != to {
            edges.entry((from.to_owned(), to.to_owned())).or_insert(why);
        }
    };
    for (file, d) in files.iter().zip(&defs) {
        let code = &file.code;
        let ws = words(code);
        for (i, &(at, word)) in ws.iter().enumerate() {
            let before = &code[..at];
            let after = &code[at + word.len()..];
            let path_prefix = before.ends_with("::");
            let crate_path = before.ends_with("crate::");
            // A module named in a path.
            if modules.contains(word)
                && after.starts_with("::")
                && (before.ends_with("super::") || before.ends_with("crate::run::"))
            {
                edge(&file.module, word, format!("names `{word}::`"));
            }
            let method_call = before.ends_with('.') && after.trim_start().starts_with('(');
            // A type defined in one file (a variant such as `Gate::Decided` is not one).
            if (!path_prefix || crate_path)
                && !method_call
                && !d.variants.contains(word)
                && let Some([home]) = type_home.get(word).map(Vec::as_slice)
            {
                edge(&file.module, home, format!("names the type `{word}`"));
            }
            // A free function defined in one file, called.
            if (!path_prefix || crate_path)
                && !before.ends_with('.')
                && !before.trim_end().ends_with("fn")
                && after.starts_with('(')
                && let Some([home]) = fn_home.get(word).map(Vec::as_slice)
            {
                edge(&file.module, home, format!("calls `{word}()`"));
            }
            // A method: `self.m(`, `Self::m(`, `Type::m(`, `runner.m(`.
            if !after.trim_start().starts_with('(') || i == 0 {
                continue;
            }
            let receiver = ws[i - 1].1;
            let joined = &code[ws[i - 1].0 + receiver.len()..at];
            let ty: Option<String> = match (receiver, joined.trim()) {
                ("self", ".") | ("Self", "::") => d
                    .impls
                    .iter()
                    .find(|(_, range)| range.contains(&at))
                    .map(|(ty, _)| ty.clone()),
                (r, ".") if RUNNER_NAMES.contains(&r) => Some("Runner".to_owned()),
                (r, "::") if r.starts_with(char::is_uppercase) => Some(r.to_owned()),
                _ => None,
            };
            if let Some(ty) = ty
                && let Some(homes) = method_home.get(&(ty.as_str(), word))
            {
                for home in homes {
                    edge(
                        &file.module,
                        home,
                        format!("calls `{ty}::{word}`, defined in `{home}`"),
                    );
                }
            }
        }
    }
    edges
}

/// A circle in `edges`, as the modules met on it (the first repeated at the end).
fn find_circle(edges: &BTreeMap<(String, String), String>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    fn visit<'a>(
        node: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| *n == node) {
            let mut circle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node);
        for to in next.get(node).into_iter().flatten() {
            if let Some(circle) = visit(to, next, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    for start in next.keys() {
        if let Some(circle) = visit(start, &next, &mut Vec::new(), &mut done) {
            return Some(circle);
        }
    }
    None
}

/// The order `run/mod.rs`'s layout comment gives: the module names it quotes, in order.
fn written_order(modules: &BTreeSet<String>) -> Vec<String> {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/run/mod.rs")).unwrap();
    let mut order = Vec::new();
    for line in text
        .lines()
        .skip_while(|l| !l.starts_with("// Layout"))
        .take_while(|l| l.starts_with("//"))
    {
        for (i, quoted) in line.split('`').enumerate() {
            if i % 2 == 1 && modules.contains(quoted) && !order.contains(&quoted.to_owned()) {
                order.push(quoted.to_owned());
            }
        }
    }
    order
}

#[test]
fn the_files_of_run_form_no_circle_and_follow_the_written_order() {
    let files = run_sources();
    let edges = run_graph(&files);
    // Every circle is named (up to a few): one edge of each found is set aside to find the next.
    let mut rest = edges.clone();
    let mut circles = Vec::new();
    while let Some(circle) = find_circle(&rest)
        && circles.len() < 8
    {
        let steps: Vec<String> = circle
            .windows(2)
            .map(|pair| {
                let why = &edges[&(pair[0].clone(), pair[1].clone())];
                format!("    {} -> {} ({why})", pair[0], pair[1])
            })
            .collect();
        circles.push(format!("  {}\n{}", circle.join(" -> "), steps.join("\n")));
        rest.remove(&(
            circle[circle.len() - 2].clone(),
            circle[circle.len() - 1].clone(),
        ));
    }
    assert!(
        circles.is_empty(),
        "the files of `run` form circles:\n{}",
        circles.join("\n")
    );
    let modules: BTreeSet<String> = files.iter().map(|f| f.module.clone()).collect();
    let order = written_order(&modules);
    let missing: Vec<&String> = modules.iter().filter(|m| !order.contains(m)).collect();
    assert!(
        missing.is_empty(),
        "run/mod.rs's layout comment does not list {missing:?}"
    );
    let position = |m: &str| order.iter().position(|o| o == m).unwrap();
    let wrong: Vec<String> = edges
        .iter()
        .filter(|((from, to), _)| position(from) < position(to))
        .map(|((from, to), why)| format!("  {from} -> {to} ({why})"))
        .collect();
    assert!(
        wrong.is_empty(),
        "these files of `run` use one listed after them in run/mod.rs:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn a_method_called_across_files_is_an_edge() {
    let file = |module: &str, code: &str| Source {
        module: module.to_owned(),
        code: code_of(code),
    };
    let files = [
        file(
            "a",
            "impl Runner {\n    fn first(&self) { self.second(); }\n}\n",
        ),
        file(
            "b",
            "impl Runner {\n    fn second(&self) { let s = \"}\"; }\n    fn third(&self) {}\n}\nfn free(runner: &Runner) { runner.first(); }\n",
        ),
    ];
    let edges = run_graph(&files);
    assert!(
        edges.contains_key(&("a".to_owned(), "b".to_owned())),
        "{edges:?}"
    );
    assert!(
        edges.contains_key(&("b".to_owned(), "a".to_owned())),
        "{edges:?}"
    );
    assert_eq!(
        find_circle(&edges),
        Some(vec!["a".to_owned(), "b".to_owned(), "a".to_owned()])
    );
}

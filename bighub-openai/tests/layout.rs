//! The runtime's modules depend one way: the crate's error and event vocabulary, then
//! `tool`, `provider`, `config`, `run`, `agent`. A lower module naming a higher one (in
//! code; doc links are free) is a cycle in the making.

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

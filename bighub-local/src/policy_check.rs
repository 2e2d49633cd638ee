//! The checks of a user's Rego at build that compiling does not make: that the policy set
//! reads each file's package, and that every mode written as a literal is a mode.
//!
//! Both read the syntax tree regorus keeps of the compiled policy
//! ([`regorus::CompiledPolicy::get_modules`]), so they hold for every input, where the
//! evaluation of the sample inputs (`policy.rs`) only finds what those inputs reach. They
//! skip the shipped default policy. regorus exports the tree's types as `unstable`: they may
//! change with its minor version, which the workspace pins.
//!
//! A package is read when it is the entry point's package, or when a package already read
//! imports it or refers to it, to something in it or to something above it
//! (`data.bighub.ext.findings` reads `bighub.ext`; `data.bighub.ext` reads `bighub.ext` and
//! every package under it). A reference whose path is computed (`data[name]`) reads
//! everything under the part that is written.

use std::collections::BTreeSet;

use regorus::unstable::{Expr, Literal, Module, Query, Rule, RuleHead};
use serde_json::Value;

use crate::answer::MODES;
use crate::error::LocalError;
use crate::policy_source::{EXTENSION_PACKAGE, Source};

/// A path in `data`, without the leading `data`: `["bighub", "ext", "findings"]`.
type DataPath = Vec<String>;

/// Checks the user's sources in `compiled`: the first file whose package is never read, or
/// the first literal mode that is not a mode, is a [`LocalError::Policy`] naming the file
/// (and the line).
pub(crate) fn check(
    compiled: &regorus::CompiledPolicy,
    sources: &[Source],
    entrypoint: &str,
    data: &Value,
) -> Result<(), LocalError> {
    let modules: Vec<ModuleFacts> = compiled
        .get_modules()
        .iter()
        .map(|m| ModuleFacts::of(m))
        .collect();
    let shipped = |file: &str| sources.iter().any(|s| s.shipped && s.name == file);
    if let Some(entry) = entry_path(entrypoint) {
        let read = read_modules(&modules, entry);
        if let Some(unread) = modules
            .iter()
            .zip(&read)
            .find(|(m, read)| !**read && !shipped(&m.file))
        {
            let (m, _) = unread;
            return Err(LocalError::Policy {
                file: m.file.clone(),
                message: format!(
                    "{}:{}:{}: package {} is never read: from its entry point {entrypoint} the \
                     policy set reads only {}",
                    m.file,
                    m.line,
                    m.col,
                    m.package.join("."),
                    what_is_read(&modules, &read, shipped, data),
                ),
            });
        }
    }
    if let Some((m, bad)) = modules
        .iter()
        .filter(|m| !shipped(&m.file))
        .find_map(|m| m.bad_modes.first().map(|b| (m, b)))
    {
        return Err(LocalError::Policy {
            file: m.file.clone(),
            message: format!(
                "{}:{}:{}: \"{}\" is not a mode: a finding, an override or an answer has one \
                 of the modes {}",
                m.file,
                bad.line,
                bad.col,
                bad.mode,
                MODES.join(", "),
            ),
        });
    }
    Ok(())
}

/// The path an entry point names (`data.bighub.policy.decision`), up to any bracket; `None`
/// when it is not a path in `data`.
fn entry_path(entrypoint: &str) -> Option<DataPath> {
    let rest = entrypoint.strip_prefix("data.")?;
    let written = rest.split('[').next().unwrap_or_default();
    Some(written.split('.').map(str::to_owned).collect())
}

/// Whether one path is in the other (equal, above or below it).
fn related(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Which modules the policy set reads, from the entry point on: a module whose package is
/// related to a path already read adds the paths it reads, until none is added.
fn read_modules(modules: &[ModuleFacts], entry: DataPath) -> Vec<bool> {
    let mut paths = vec![entry];
    let mut read = vec![false; modules.len()];
    loop {
        let mut grew = false;
        for (m, is_read) in modules.iter().zip(read.iter_mut()) {
            if !*is_read && paths.iter().any(|p| related(p, &m.package)) {
                *is_read = true;
                paths.extend(m.reads.iter().map(|r| r.path.clone()));
                grew = true;
            }
        }
        if !grew {
            return read;
        }
    }
}

/// What the policy set reads, for the error: the packages of the modules read (and the
/// extension package when the default policy is one of them), then the documents they
/// refer to outside those packages and outside the data document, each named once, by
/// its shortest path.
fn what_is_read(
    modules: &[ModuleFacts],
    read: &[bool],
    shipped: impl Fn(&str) -> bool,
    data: &Value,
) -> String {
    let read_modules = || {
        modules
            .iter()
            .zip(read)
            .filter(|(_, r)| **r)
            .map(|(m, _)| m)
    };
    let mut packages: BTreeSet<DataPath> = read_modules().map(|m| m.package.clone()).collect();
    if read_modules().any(|m| shipped(&m.file)) {
        packages.insert(EXTENSION_PACKAGE.split('.').map(str::to_owned).collect());
    }
    let mut documents: BTreeSet<&DataPath> = read_modules()
        .flat_map(|m| &m.reads)
        .filter(|r| r.from_data && !in_data(data, &r.path))
        .map(|r| &r.path)
        .filter(|p| !packages.iter().any(|pkg| p.starts_with(pkg)))
        .collect();
    let all = documents.clone();
    documents.retain(|p| !all.iter().any(|q| q.len() < p.len() && p.starts_with(q)));
    let packages: Vec<String> = packages.iter().map(|p| p.join(".")).collect();
    let mut text = format!(
        "the package{} {}",
        if packages.len() == 1 { "" } else { "s" },
        packages.join(", ")
    );
    if !documents.is_empty() {
        let documents: Vec<String> = documents
            .iter()
            .map(|p| format!("data.{}", p.join(".")))
            .collect();
        text.push_str(" and ");
        text.push_str(&documents.join(", "));
    }
    text
}

/// Whether the data document has a value at `path`.
fn in_data(data: &Value, path: &[String]) -> bool {
    let mut at = data;
    for key in path {
        match at.get(key.as_str()) {
            Some(inner) => at = inner,
            None => return false,
        }
    }
    true
}

/// A path one module reads.
struct Read {
    path: DataPath,
    /// Written from `data` (an import or a `data.` reference), rather than a name in the
    /// module's own package.
    from_data: bool,
}

/// A literal `"mode": "..."` that is not a mode.
struct BadMode {
    mode: String,
    line: u32,
    col: u32,
}

/// What the checks need of one module, gathered in one walk of its syntax tree.
struct ModuleFacts {
    file: String,
    package: DataPath,
    line: u32,
    col: u32,
    reads: Vec<Read>,
    bad_modes: Vec<BadMode>,
}

impl ModuleFacts {
    fn of(module: &Module) -> Self {
        let span = &module.package.span;
        let (root, mut package, _) = chain(&module.package.refr);
        if let Root::Name(name) = root {
            package.insert(0, name.to_owned());
        }
        let mut facts = Self {
            file: span.source.file().clone(),
            package,
            line: span.line,
            col: span.col,
            reads: Vec::new(),
            bad_modes: Vec::new(),
        };
        for import in &module.imports {
            if let (Root::Name("data"), path, _) = chain(&import.refr) {
                facts.reads.push(Read {
                    path,
                    from_data: true,
                });
            }
        }
        for rule in &module.policy {
            facts.rule(rule);
        }
        facts
    }

    fn rule(&mut self, rule: &Rule) {
        match rule {
            Rule::Spec { head, bodies, .. } => {
                match head {
                    RuleHead::Compr { assign, .. } => {
                        if let Some(a) = assign {
                            self.expr(&a.value);
                        }
                    }
                    RuleHead::Set { key, .. } => {
                        if let Some(k) = key {
                            self.expr(k);
                        }
                    }
                    RuleHead::Func { args, assign, .. } => {
                        args.iter().for_each(|a| self.expr(a));
                        if let Some(a) = assign {
                            self.expr(&a.value);
                        }
                    }
                }
                for body in bodies {
                    if let Some(a) = &body.assign {
                        self.expr(&a.value);
                    }
                    self.query(&body.query);
                }
            }
            Rule::Default { args, value, .. } => {
                args.iter().for_each(|a| self.expr(a));
                self.expr(value);
            }
        }
    }

    fn query(&mut self, query: &Query) {
        for stmt in &query.stmts {
            match &stmt.literal {
                Literal::SomeVars { .. } => {}
                Literal::SomeIn {
                    key,
                    value,
                    collection,
                    ..
                } => {
                    if let Some(k) = key {
                        self.expr(k);
                    }
                    self.expr(value);
                    self.expr(collection);
                }
                Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => self.expr(expr),
                Literal::Every { domain, query, .. } => {
                    self.expr(domain);
                    self.query(query);
                }
            }
            for with in &stmt.with_mods {
                self.expr(&with.refr);
                self.expr(&with.r#as);
            }
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::String { .. }
            | Expr::RawString { .. }
            | Expr::Number { .. }
            | Expr::Bool { .. }
            | Expr::Null { .. } => {}
            Expr::Var { .. } | Expr::RefDot { .. } | Expr::RefBrack { .. } => self.reference(expr),
            Expr::Array { items, .. } | Expr::Set { items, .. } => {
                items.iter().for_each(|i| self.expr(i));
            }
            Expr::Object { fields, .. } => {
                for (_, key, value) in fields {
                    self.mode_field(key, value);
                    self.expr(key);
                    self.expr(value);
                }
            }
            Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
                self.expr(term);
                self.query(query);
            }
            Expr::ObjectCompr {
                key, value, query, ..
            } => {
                self.expr(key);
                self.expr(value);
                self.query(query);
            }
            Expr::Call { fcn, params, .. } => {
                self.expr(fcn);
                params.iter().for_each(|p| self.expr(p));
            }
            Expr::UnaryExpr { expr, .. } => self.expr(expr),
            Expr::BinExpr { lhs, rhs, .. }
            | Expr::BoolExpr { lhs, rhs, .. }
            | Expr::ArithExpr { lhs, rhs, .. }
            | Expr::AssignExpr { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            Expr::Membership {
                key,
                value,
                collection,
                ..
            } => {
                if let Some(k) = key {
                    self.expr(k);
                }
                self.expr(value);
                self.expr(collection);
            }
            // Variants behind regorus features this crate does not enable (`rego-extensions`
            // adds `OrExpr`); a build that enables them reads them as referring to nothing.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    /// Records what a reference reads, and walks its computed indexes and whatever it is
    /// rooted at when that is not a name.
    fn reference(&mut self, expr: &Expr) {
        let (root, path, indexes) = chain(expr);
        match root {
            Root::Name("data") => self.reads.push(Read {
                path,
                from_data: true,
            }),
            Root::Name("input") => {}
            // A rule of this package, or a local variable (which names nothing read).
            Root::Name(name) => {
                let mut full = self.package.clone();
                full.push(name.to_owned());
                full.extend(path);
                self.reads.push(Read {
                    path: full,
                    from_data: false,
                });
            }
            Root::Expr(e) => self.expr(e),
        }
        for index in indexes {
            self.expr(index);
        }
    }

    /// Records `value` when `key` is the literal `"mode"` and `value` a literal string that
    /// is not a mode.
    fn mode_field(&mut self, key: &Expr, value: &Expr) {
        if literal_string(key) != Some("mode") {
            return;
        }
        if let Some(mode) = literal_string(value)
            && !MODES.contains(&mode)
        {
            let span = value.span();
            self.bad_modes.push(BadMode {
                mode: mode.to_owned(),
                line: span.line,
                col: span.col,
            });
        }
    }
}

/// A literal string's value.
fn literal_string(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::String { value, .. } | Expr::RawString { value, .. } => {
            value.as_string().ok().map(|s| s.as_ref())
        }
        _ => None,
    }
}

/// What a reference starts from.
enum Root<'a> {
    /// A name: `data`, `input`, a rule, a variable.
    Name(&'a str),
    /// Anything else (a call, a literal, a comprehension).
    Expr(&'a Expr),
}

/// Splits a reference (`data.bighub.ext["findings"][x].y`) into its root, the path written
/// after it up to the first computed index (`["bighub", "ext", "findings"]`), and the
/// computed indexes (`[x]`, and any index after it).
fn chain(expr: &Expr) -> (Root<'_>, DataPath, Vec<&Expr>) {
    // Segments from the outermost inwards.
    let mut segments: Vec<Result<String, &Expr>> = Vec::new();
    let mut at = expr;
    let root = loop {
        match at {
            Expr::RefDot { refr, field, .. } => {
                segments.push(Ok(field.0.text().to_owned()));
                at = refr;
            }
            Expr::RefBrack { refr, index, .. } => {
                segments.push(literal_string(index).map(str::to_owned).ok_or(&**index));
                at = refr;
            }
            Expr::Var { span, .. } => break Root::Name(span.text()),
            other => break Root::Expr(other),
        }
    };
    let mut path = Vec::new();
    let mut indexes = Vec::new();
    for segment in segments.into_iter().rev() {
        match segment {
            Ok(name) if indexes.is_empty() => path.push(name),
            Ok(_) => {}
            Err(index) => indexes.push(index),
        }
    }
    (root, path, indexes)
}

//! The context configuration file: the providers, their kinds and options, and where
//! security evidence is found, typed.
//!
//! This module owns reading that file (JSON, or TOML by its extension), checking every
//! key (an unknown one is an error naming it and the closest known one) and value, and
//! building the providers and the evidence lookup it names. The format is documented in [the module](super).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::{Map, Value};

use super::command::CommandProvider;
use super::evidence::EvidenceLookup;
use super::file::FileProvider;
use super::http::HttpProvider;
use super::provider::{ContextProvider, DEFAULT_TIMEOUT, DEFAULT_TTL, OnFailure, ProviderOptions};
use super::providers::ContextProviders;
use super::shape::Shape;
use super::template::ActionField;
use crate::config::closest;
use crate::duration::parse_duration;
use crate::error::LocalError;

const ROOT_KEYS: &[&str] = &["providers", "evidence"];
const EVIDENCE_KEYS: &[&str] = &["dir", "http", "command", "image_args", "max_age"];
const EVIDENCE_COMMAND_KEYS: &[&str] = &["argv", "timeout"];
const EVIDENCE_HTTP_KEYS: &[&str] = &["url", "headers", "timeout", "max_bytes"];
const COMMON_KEYS: &[&str] = &[
    "name",
    "kind",
    "shape",
    "timeout",
    "ttl",
    "key",
    "on_failure",
];
const FILE_KEYS: &[&str] = &["path", "max_bytes"];
const HTTP_KEYS: &[&str] = &["url", "headers", "max_bytes"];
const COMMAND_KEYS: &[&str] = &["argv", "max_bytes"];
const KINDS: &[&str] = &["file", "http", "command"];
const HEADER_KEYS: &[&str] = &["env", "prefix"];

/// A problem with one key: its path (`providers[1].url`) and what is wrong.
struct KeyError {
    key: String,
    message: String,
}

impl KeyError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }

    fn into_error(self, origin: &str) -> LocalError {
        LocalError::ContextConfig {
            origin: origin.to_owned(),
            key: self.key,
            message: self.message,
        }
    }
}

impl ContextProviders {
    /// Reads the providers configured in a file: JSON, or TOML when its name ends in
    /// `.toml`; relative file paths in it are read from its directory. See
    /// [the module](super) for the format; every mistake is [`LocalError::ContextConfig`],
    /// naming the file, the key and, for a misspelt key, the closest known one.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, LocalError> {
        load(path.as_ref())
    }

    /// Reads providers configured in JSON text; `origin` names it in errors, and relative
    /// file paths are read from the current directory.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, LocalError> {
        parse_json(text, origin, None)
    }
}

/// Reads the file at `path`; relative file paths in it are read from its directory.
fn load(path: &Path) -> Result<ContextProviders, LocalError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| KeyError::new("", format!("cannot read the file: {e}")).into_error(&origin))?;
    let value = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        let table: toml::Table = toml::from_str(&text).map_err(|e| {
            KeyError::new("", format!("not TOML: {}", e.message())).into_error(&origin)
        })?;
        serde_json::to_value(table)
            .map_err(|e| KeyError::new("", e.to_string()).into_error(&origin))?
    } else {
        serde_json::from_str(&text)
            .map_err(|e| KeyError::new("", format!("not JSON: {e}")).into_error(&origin))?
    };
    build(&value, &origin, path.parent())
}

/// Reads JSON text; `origin` names it in errors.
fn parse_json(
    text: &str,
    origin: &str,
    base: Option<&Path>,
) -> Result<ContextProviders, LocalError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| KeyError::new("", format!("not JSON: {e}")).into_error(origin))?;
    build(&value, origin, base)
}

#[derive(Deserialize)]
struct FileConfig {
    #[serde(default)]
    providers: Vec<ProviderConfig>,
    #[serde(default)]
    evidence: Option<EvidenceConfig>,
}

#[derive(Deserialize)]
struct EvidenceConfig {
    #[serde(default)]
    dir: Option<PathBuf>,
    #[serde(default)]
    http: Option<EvidenceHttpConfig>,
    #[serde(default)]
    command: Option<EvidenceCommandConfig>,
    #[serde(default)]
    image_args: Option<Vec<String>>,
    #[serde(default, deserialize_with = "duration")]
    max_age: Option<Duration>,
}

#[derive(Deserialize)]
struct EvidenceCommandConfig {
    argv: Vec<String>,
    #[serde(default, deserialize_with = "duration")]
    timeout: Option<Duration>,
}

#[derive(Deserialize)]
struct EvidenceHttpConfig {
    url: String,
    #[serde(default)]
    headers: Vec<(String, HeaderConfig)>,
    #[serde(default, deserialize_with = "duration")]
    timeout: Option<Duration>,
    #[serde(default)]
    max_bytes: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    File,
    Http,
    Command,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum HeaderConfig {
    Literal(String),
    Env {
        env: String,
        #[serde(default)]
        prefix: String,
    },
}

#[derive(Deserialize)]
struct ProviderConfig {
    name: String,
    kind: Kind,
    #[serde(default)]
    shape: Option<Shape>,
    #[serde(default, deserialize_with = "duration")]
    timeout: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    ttl: Option<Duration>,
    #[serde(default)]
    key: Vec<String>,
    #[serde(default)]
    on_failure: OnFailure,
    #[serde(default)]
    path: Option<PathBuf>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    headers: Vec<(String, HeaderConfig)>,
    #[serde(default)]
    argv: Option<Vec<String>>,
    #[serde(default)]
    max_bytes: Option<u64>,
}

/// A duration as text (`"2s"`, `"500ms"`, `"1m"`) or whole seconds.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .map(|s| Some(Duration::from_secs(s)))
            .ok_or_else(|| de::Error::custom("expected whole seconds, or text such as \"2s\"")),
        Value::String(s) => parse_millis(&s)
            .or_else(|| parse_duration(&s).ok())
            .map(Some)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "cannot read {s:?}: expected a duration such as \"2s\", \"500ms\" or \"1m\""
                ))
            }),
        _ => Err(de::Error::custom(
            "expected a duration such as \"2s\", \"500ms\" or \"1m\"",
        )),
    }
}

/// `"250ms"`: timeouts under a second are common here.
fn parse_millis(text: &str) -> Option<Duration> {
    let n = text.trim().strip_suffix("ms")?.trim();
    n.parse().ok().map(Duration::from_millis)
}

fn unknown_key(key: &str, known: &[&str]) -> String {
    match closest(key, known) {
        Some(k) => format!("unknown key; did you mean `{k}`?"),
        None => {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!("unknown key; the known keys here are {}", list.join(", "))
        }
    }
}

/// Checks every key against those its place allows, before types are read, so that a
/// misspelt key is named with the key it most likely meant.
fn check_keys(value: &Value) -> Result<(), KeyError> {
    let root = value
        .as_object()
        .ok_or_else(|| KeyError::new("", "expected an object {\"providers\": [...]}"))?;
    for key in root.keys() {
        if !ROOT_KEYS.contains(&key.as_str()) {
            return Err(KeyError::new(key.clone(), unknown_key(key, ROOT_KEYS)));
        }
    }
    if let Some(evidence) = root.get("evidence") {
        check_evidence_keys(evidence)?;
    }
    let Some(providers) = root.get("providers") else {
        return Ok(());
    };
    let providers = providers
        .as_array()
        .ok_or_else(|| KeyError::new("providers", "expected a list of providers"))?;
    for (i, p) in providers.iter().enumerate() {
        let at = format!("providers[{i}]");
        let p = p
            .as_object()
            .ok_or_else(|| KeyError::new(&at, "expected an object"))?;
        let kind = match p.get("kind") {
            Some(Value::String(k)) if KINDS.contains(&k.as_str()) => k.as_str(),
            Some(Value::String(k)) => {
                let hint = closest(k, KINDS)
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                return Err(KeyError::new(
                    format!("{at}.kind"),
                    format!("`{k}` is not a kind: use file, http or command{hint}"),
                ));
            }
            Some(_) => return Err(KeyError::new(format!("{at}.kind"), "expected text")),
            None => {
                return Err(KeyError::new(
                    format!("{at}.kind"),
                    "missing: file, http or command",
                ));
            }
        };
        let own = match kind {
            "file" => FILE_KEYS,
            "http" => HTTP_KEYS,
            _ => COMMAND_KEYS,
        };
        let known: Vec<&str> = COMMON_KEYS.iter().chain(own).copied().collect();
        for key in p.keys() {
            if !known.contains(&key.as_str()) {
                let message = if [FILE_KEYS, HTTP_KEYS, COMMAND_KEYS]
                    .iter()
                    .any(|keys| keys.contains(&key.as_str()))
                {
                    format!("not a key of a `{kind}` provider")
                } else {
                    unknown_key(key, &known)
                };
                return Err(KeyError::new(format!("{at}.{key}"), message));
            }
        }
        let required = match kind {
            "file" => "path",
            "http" => "url",
            _ => "argv",
        };
        for key in ["name", required] {
            if !p.contains_key(key) {
                return Err(KeyError::new(format!("{at}.{key}"), "missing"));
            }
        }
        if let Some(headers) = p.get("headers") {
            let headers = headers.as_object().ok_or_else(|| {
                KeyError::new(
                    format!("{at}.headers"),
                    "expected an object of header names",
                )
            })?;
            check_headers(headers, &format!("{at}.headers"))?;
        }
    }
    Ok(())
}

fn check_evidence_keys(evidence: &Value) -> Result<(), KeyError> {
    let evidence = evidence.as_object().ok_or_else(|| {
        KeyError::new(
            "evidence",
            "expected an object {\"dir\": ..., \"http\": {...}}",
        )
    })?;
    for key in evidence.keys() {
        if !EVIDENCE_KEYS.contains(&key.as_str()) {
            return Err(KeyError::new(
                format!("evidence.{key}"),
                unknown_key(key, EVIDENCE_KEYS),
            ));
        }
    }
    if !["dir", "http", "command"]
        .iter()
        .any(|k| evidence.contains_key(*k))
    {
        return Err(KeyError::new(
            "evidence",
            "names no source: give `dir`, `http`, `command`, or several",
        ));
    }
    if let Some(command) = evidence.get("command") {
        let command = command.as_object().ok_or_else(|| {
            KeyError::new("evidence.command", "expected an object {\"argv\": [...]}")
        })?;
        for key in command.keys() {
            if !EVIDENCE_COMMAND_KEYS.contains(&key.as_str()) {
                return Err(KeyError::new(
                    format!("evidence.command.{key}"),
                    unknown_key(key, EVIDENCE_COMMAND_KEYS),
                ));
            }
        }
        if !command.contains_key("argv") {
            return Err(KeyError::new("evidence.command.argv", "missing"));
        }
    }
    if let Some(http) = evidence.get("http") {
        let http = http
            .as_object()
            .ok_or_else(|| KeyError::new("evidence.http", "expected an object {\"url\": ...}"))?;
        for key in http.keys() {
            if !EVIDENCE_HTTP_KEYS.contains(&key.as_str()) {
                return Err(KeyError::new(
                    format!("evidence.http.{key}"),
                    unknown_key(key, EVIDENCE_HTTP_KEYS),
                ));
            }
        }
        if !http.contains_key("url") {
            return Err(KeyError::new("evidence.http.url", "missing"));
        }
        if let Some(headers) = http.get("headers") {
            let headers = headers.as_object().ok_or_else(|| {
                KeyError::new(
                    "evidence.http.headers",
                    "expected an object of header names",
                )
            })?;
            check_headers(headers, "evidence.http.headers")?;
        }
    }
    Ok(())
}

fn check_headers(headers: &Map<String, Value>, at: &str) -> Result<(), KeyError> {
    for (name, value) in headers {
        match value {
            Value::String(_) => {}
            Value::Object(o) => {
                for key in o.keys() {
                    if !HEADER_KEYS.contains(&key.as_str()) {
                        return Err(KeyError::new(
                            format!("{at}.{name}.{key}"),
                            unknown_key(key, HEADER_KEYS),
                        ));
                    }
                }
                if !o.get("env").is_some_and(Value::is_string) {
                    return Err(KeyError::new(
                        format!("{at}.{name}.env"),
                        "missing: the environment variable holding the value",
                    ));
                }
            }
            _ => {
                return Err(KeyError::new(
                    format!("{at}.{name}"),
                    "expected text, or {\"env\": \"VARIABLE\", \"prefix\"?: \"...\"}",
                ));
            }
        }
    }
    Ok(())
}

/// Headers keep their order: read as a list of pairs from the object.
fn with_header_pairs(value: &Value) -> Value {
    fn pairs(holder: &mut Value) {
        if let Some(Value::Object(h)) = holder.get("headers").cloned() {
            let pairs = h
                .into_iter()
                .map(|(k, v)| Value::Array(vec![Value::String(k), v]))
                .collect();
            holder["headers"] = Value::Array(pairs);
        }
    }
    let mut value = value.clone();
    if let Some(providers) = value.get_mut("providers").and_then(Value::as_array_mut) {
        providers.iter_mut().for_each(pairs);
    }
    if let Some(http) = value
        .get_mut("evidence")
        .and_then(|e| e.get_mut("http"))
        .filter(|h| h.is_object())
    {
        pairs(http);
    }
    value
}

fn build(value: &Value, origin: &str, base: Option<&Path>) -> Result<ContextProviders, LocalError> {
    check_keys(value).map_err(|e| e.into_error(origin))?;
    let config: FileConfig =
        serde_path_to_error::deserialize(with_header_pairs(value)).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            KeyError::new(path, e.into_inner().to_string()).into_error(origin)
        })?;
    let mut providers = ContextProviders::new();
    for (i, p) in config.providers.into_iter().enumerate() {
        let at = format!("providers[{i}]");
        let name = p.name.clone();
        let (provider, options) = provider(p, &at, base).map_err(|e| e.into_error(origin))?;
        providers = providers
            .register_shared(name, provider, options)
            .map_err(|e| match e {
                LocalError::ContextConfig { message, .. } => {
                    KeyError::new(format!("{at}.name"), message).into_error(origin)
                }
                other => other,
            })?;
    }
    if let Some(evidence) = config.evidence {
        providers =
            providers.evidence(evidence_lookup(evidence, base).map_err(|e| e.into_error(origin))?);
    }
    Ok(providers)
}

fn evidence_lookup(e: EvidenceConfig, base: Option<&Path>) -> Result<EvidenceLookup, KeyError> {
    let from_builder = |error: LocalError, key: &str| match error {
        LocalError::ContextConfig { message, .. } => {
            KeyError::new(format!("evidence.{key}"), message)
        }
        other => KeyError::new(format!("evidence.{key}"), other.to_string()),
    };
    let mut lookup = EvidenceLookup::new();
    if let Some(dir) = e.dir {
        lookup = lookup.dir(match base {
            Some(base) if dir.is_relative() => base.join(dir),
            _ => dir,
        });
    }
    if let Some(names) = e.image_args {
        if names.is_empty() || names.iter().any(|n| n.trim().is_empty()) {
            return Err(KeyError::new(
                "evidence.image_args",
                "expected a list of argument names",
            ));
        }
        lookup = lookup.image_args(names);
    }
    if let Some(max_age) = e.max_age {
        lookup = lookup.max_age(max_age);
    }
    if let Some(command) = e.command {
        let timeout = command.timeout.unwrap_or(DEFAULT_TIMEOUT);
        lookup = lookup
            .command(command.argv, timeout)
            .map_err(|e| from_builder(e, "command"))?;
    }
    if let Some(http) = e.http {
        lookup = lookup
            .http(&http.url)
            .map_err(|e| from_builder(e, "http.url"))?;
        for (name, header) in &http.headers {
            lookup = match header {
                HeaderConfig::Literal(v) => lookup.http_header(name, v),
                HeaderConfig::Env { env, prefix } => lookup.http_header_from_env(name, env, prefix),
            }
            .map_err(|e| from_builder(e, &format!("http.headers.{name}")))?;
        }
        let timeout = http.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if timeout.is_zero() {
            return Err(KeyError::new(
                "evidence.http.timeout",
                "must be longer than zero",
            ));
        }
        lookup = lookup
            .http_timeout(timeout)
            .map_err(|e| from_builder(e, "http.timeout"))?;
        if let Some(n) = http.max_bytes {
            lookup = lookup
                .http_max_bytes(n)
                .map_err(|e| from_builder(e, "http.max_bytes"))?;
        }
    }
    Ok(lookup)
}

fn provider(
    p: ProviderConfig,
    at: &str,
    base: Option<&Path>,
) -> Result<(std::sync::Arc<dyn ContextProvider>, ProviderOptions), KeyError> {
    let mut key = Vec::new();
    for (j, field) in p.key.iter().enumerate() {
        key.push(
            ActionField::parse(field).map_err(|m| KeyError::new(format!("{at}.key[{j}]"), m))?,
        );
    }
    let timeout = p.timeout.unwrap_or(DEFAULT_TIMEOUT);
    if timeout.is_zero() {
        return Err(KeyError::new(
            format!("{at}.timeout"),
            "must be longer than zero",
        ));
    }
    let from_builder = |e: LocalError, key: &str| match e {
        LocalError::ContextConfig { message, .. } => KeyError::new(format!("{at}.{key}"), message),
        other => KeyError::new(format!("{at}.{key}"), other.to_string()),
    };
    let (provider, default_ttl): (std::sync::Arc<dyn ContextProvider>, Duration) = match p.kind {
        Kind::File => {
            let path = p.path.unwrap_or_default();
            let path = match base {
                Some(dir) if path.is_relative() => dir.join(path),
                _ => path,
            };
            let mut file = FileProvider::new(path);
            if let Some(n) = p.max_bytes {
                file = file.max_bytes(n);
            }
            // A file is checked at every decision: a stat, and a read when it changed.
            (std::sync::Arc::new(file), Duration::ZERO)
        }
        Kind::Http => {
            let mut http = HttpProvider::new(p.url.as_deref().unwrap_or_default())
                .map_err(|e| from_builder(e, "url"))?
                .timeout(timeout);
            for (name, header) in &p.headers {
                http = match header {
                    HeaderConfig::Literal(v) => http.header(name, v),
                    HeaderConfig::Env { env, prefix } => http.header_from_env(name, env, prefix),
                }
                .map_err(|e| from_builder(e, &format!("headers.{name}")))?;
            }
            if let Some(n) = p.max_bytes {
                http = http.max_bytes(n);
            }
            (std::sync::Arc::new(http), DEFAULT_TTL)
        }
        Kind::Command => {
            let mut command = CommandProvider::new(p.argv.unwrap_or_default())
                .map_err(|e| from_builder(e, "argv"))?
                .timeout(timeout);
            if let Some(n) = p.max_bytes {
                command = command.max_bytes(n);
            }
            (std::sync::Arc::new(command), DEFAULT_TTL)
        }
    };
    let options = ProviderOptions {
        timeout,
        ttl: p.ttl.unwrap_or(default_ttl),
        key,
        on_failure: p.on_failure,
        shape: p.shape,
    };
    Ok((provider, options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse_json(text, "ctx.json", None).unwrap_err().to_string()
    }

    #[test]
    fn reads_every_kind() {
        let providers = parse_json(
            r#"{"providers": [
                {"name": "freezes", "kind": "file", "path": "freezes.json", "shape": "freeze_calendar"},
                {"name": "pagerduty", "kind": "http", "url": "https://api.pagerduty.com/incidents?service={system}",
                 "headers": {"Authorization": {"env": "PAGERDUTY_TOKEN", "prefix": "Token token="}},
                 "timeout": "1500ms", "ttl": "1m", "key": ["system", "environment"], "on_failure": "fail_closed"},
                {"name": "argocd", "kind": "command", "argv": ["argocd", "proj", "get", "prod", "-o", "json"], "timeout": 3}
            ]}"#,
            "ctx.json",
            None,
        )
        .unwrap();
        assert_eq!(providers.names(), ["freezes", "pagerduty", "argocd"]);
        let debug = format!("{providers:?}");
        assert!(debug.contains("env(PAGERDUTY_TOKEN)"), "{debug}");
    }

    #[test]
    fn mistakes_name_the_key_and_the_closest_one() {
        let e =
            error(r#"{"providers": [{"name": "a", "kind": "http", "urll": "https://x.test"}]}"#);
        assert!(
            e.contains("ctx.json: providers[0].urll: unknown key; did you mean `url`?"),
            "{e}"
        );
        let e = error(r#"{"provider": []}"#);
        assert!(
            e.contains("provider: unknown key; did you mean `providers`?"),
            "{e}"
        );
        let e = error(r#"{"providers": [{"name": "a", "kind": "file", "url": "https://x.test"}]}"#);
        assert!(
            e.contains("providers[0].url: not a key of a `file` provider"),
            "{e}"
        );
        let e = error(r#"{"providers": [{"name": "a", "kind": "fil", "path": "x"}]}"#);
        assert!(e.contains("did you mean `file`?"), "{e}");
        let e = error(
            r#"{"providers": [{"name": "a", "kind": "file", "path": "x", "key": ["sytem"]}]}"#,
        );
        assert!(
            e.contains("providers[0].key[0]") && e.contains("did you mean `system`?"),
            "{e}"
        );
        let e = error(
            r#"{"providers": [{"name": "a", "kind": "http", "url": "https://x.test", "headers": {"A": {"env": "X", "prefx": ""}}}]}"#,
        );
        assert!(
            e.contains("providers[0].headers.A.prefx: unknown key; did you mean `prefix`?"),
            "{e}"
        );
        let e = error(
            r#"{"providers": [{"name": "a", "kind": "file", "path": "x", "timeout": "soon"}]}"#,
        );
        assert!(e.contains("providers[0].timeout"), "{e}");
        let e = error(
            r#"{"providers": [{"name": "a", "kind": "http", "url": "http://example.com/x"}]}"#,
        );
        assert!(e.contains("providers[0].url: plain http"), "{e}");
        let e = error(
            r#"{"providers": [{"name": "a", "kind": "file", "path": "x"}, {"name": "a", "kind": "file", "path": "y"}]}"#,
        );
        assert!(
            e.contains("providers[1].name: a provider of this name"),
            "{e}"
        );
        let e = error(
            r#"{"providers": [{"name": "a", "kind": "file", "path": "x", "shape": "freeze"}]}"#,
        );
        assert!(e.contains("providers[0].shape"), "{e}");
        let e = error(r#"{"providers": [{"name": "a", "kind": "command", "argv": []}]}"#);
        assert!(e.contains("providers[0].argv"), "{e}");
    }
}

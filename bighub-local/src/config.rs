//! The policy configuration (Rego data): defaults, merging, and checking at start-up.
//!
//! This module owns `data.bighub.config`: the shipped defaults (`default_data.json`), deep
//! merging of user data over them, and normalisation into the forms the Rego reads (a
//! duration in seconds, freeze windows in unix seconds, lower-cased names). A bad value is
//! an error when the engine is built, naming the key.

use serde_json::{Map, Value, json};

use super::LocalError;
use super::clock::parse_rfc3339;
use super::duration::{format_duration, parse_duration};

/// The shipped configuration of the default policy, as Rego data.
pub const DEFAULT_DATA: &str = include_str!("default_data.json");

/// The shipped defaults, parsed.
pub(crate) fn default_data() -> Value {
    // The file is part of the crate and checked by the tests.
    serde_json::from_str(DEFAULT_DATA).unwrap_or_else(|_| json!({"bighub": {"config": {}}}))
}

/// Merges `over` into `base`: objects merge key by key, anything else replaces.
pub(crate) fn deep_merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => deep_merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn cfg_err(key: &str, why: impl std::fmt::Display) -> LocalError {
    LocalError::Config(format!("bighub.config.{key}: {why}"))
}

fn lower_list(cfg: &mut Map<String, Value>, key: &str) -> Result<(), LocalError> {
    let Some(v) = cfg.get_mut(key) else {
        return Ok(());
    };
    let Value::Array(items) = v else {
        return Err(cfg_err(key, "expected a list of strings"));
    };
    for item in items.iter_mut() {
        let Value::String(s) = item else {
            return Err(cfg_err(key, format!("expected strings, found {item}")));
        };
        *s = s.trim().to_lowercase();
    }
    Ok(())
}

/// Checks and normalises `data.bighub.config` in place.
pub(crate) fn normalize(data: &mut Value) -> Result<(), LocalError> {
    let Some(cfg) = data
        .get_mut("bighub")
        .and_then(|b| b.get_mut("config"))
        .and_then(Value::as_object_mut)
    else {
        return Err(LocalError::Config(
            "data.bighub.config must be an object".to_owned(),
        ));
    };

    // The maximum privilege duration: text ("2h") or seconds.
    let max = match cfg.get("max_privilege_duration") {
        Some(Value::String(s)) => parse_duration(s)
            .map_err(|e| cfg_err("max_privilege_duration", e))?
            .as_secs(),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| cfg_err("max_privilege_duration", "expected whole seconds"))?,
        Some(other) => {
            return Err(cfg_err(
                "max_privilege_duration",
                format!("expected text such as \"2h\", found {other}"),
            ));
        }
        None => 7200,
    };
    cfg.insert("max_privilege_duration_seconds".into(), json!(max));
    cfg.insert(
        "max_privilege_duration_text".into(),
        json!(format_duration(max)),
    );

    for key in [
        "read_only_verbs",
        "destructive_verbs",
        "privilege_verbs",
        "identity_systems",
        "production_environments",
        "unknown_environments",
    ] {
        lower_list(cfg, key)?;
    }

    // Admin group patterns are fragments matched inside lower-cased group names.
    lower_list(cfg, "admin_group_patterns")?;
    if let Some(Value::Array(patterns)) = cfg.get("admin_group_patterns")
        && patterns.iter().any(|p| p.as_str() == Some(""))
    {
        return Err(cfg_err(
            "admin_group_patterns",
            "an empty fragment would match every group",
        ));
    }

    match cfg.get("failure_threshold") {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n > 0) => {}
        Some(other) => {
            return Err(cfg_err(
                "failure_threshold",
                format!("expected a positive whole number, found {other}"),
            ));
        }
        None => {
            cfg.insert("failure_threshold".into(), json!(3));
        }
    }

    // Kill switch: {global: bool, systems: [..]}; a bare bool means global.
    let ks = match cfg.remove("kill_switch") {
        None | Some(Value::Null) => json!({"global": false, "systems": []}),
        Some(Value::Bool(b)) => json!({"global": b, "systems": []}),
        Some(Value::Object(mut o)) => {
            let global = match o.remove("global") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => b,
                Some(other) => {
                    return Err(cfg_err(
                        "kill_switch.global",
                        format!("expected true or false, found {other}"),
                    ));
                }
            };
            let mut systems = match o.remove("systems") {
                None | Some(Value::Null) => json!({"systems": []}),
                Some(v) => json!({"systems": v}),
            };
            lower_list(
                systems.as_object_mut().unwrap_or(&mut Map::new()),
                "systems",
            )
            .map_err(|_| cfg_err("kill_switch.systems", "expected a list of system names"))?;
            json!({"global": global, "systems": systems["systems"]})
        }
        Some(other) => {
            return Err(cfg_err(
                "kill_switch",
                format!(
                    "expected true/false or {{\"global\": .., \"systems\": [..]}}, found {other}"
                ),
            ));
        }
    };
    cfg.insert("kill_switch".into(), ks);

    // Freeze windows: RFC 3339 start/end become unix seconds; scopes default to "all".
    let windows = match cfg.remove("freeze_windows") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(w)) => w,
        Some(other) => {
            return Err(cfg_err(
                "freeze_windows",
                format!("expected a list, found {other}"),
            ));
        }
    };
    let mut out = Vec::with_capacity(windows.len());
    for (i, w) in windows.into_iter().enumerate() {
        let key = format!("freeze_windows[{i}]");
        let Value::Object(mut w) = w else {
            return Err(cfg_err(&key, "expected {\"name\", \"start\", \"end\"}"));
        };
        let bound = |field: &str| -> Result<(String, i64), LocalError> {
            let text = w
                .get(field)
                .and_then(Value::as_str)
                .ok_or_else(|| cfg_err(&key, format!("missing `{field}` (RFC 3339 text)")))?
                .to_owned();
            let unix = parse_rfc3339(&text).map_err(|e| cfg_err(&key, e))?;
            Ok((text, unix))
        };
        let (start, start_unix) = bound("start")?;
        let (end, end_unix) = bound("end")?;
        if end_unix <= start_unix {
            return Err(cfg_err(
                &key,
                format!("ends ({end}) before it starts ({start})"),
            ));
        }
        for scope in ["systems", "environments"] {
            match w.get(scope) {
                None | Some(Value::Null) => {
                    w.insert(scope.into(), json!([]));
                }
                Some(_) => lower_list(&mut w, scope)
                    .map_err(|_| cfg_err(&key, format!("`{scope}` must be a list of names")))?,
            }
        }
        if !w.get("name").is_some_and(Value::is_string) {
            w.insert("name".into(), json!(format!("window {}", i + 1)));
        }
        w.insert("start_unix".into(), json!(start_unix));
        w.insert("end_unix".into(), json!(end_unix));
        out.push(Value::Object(w));
    }
    cfg.insert("freeze_windows".into(), Value::Array(out));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_defaults_parse_and_normalise() {
        let mut data = default_data();
        assert!(data["bighub"]["config"]["risk_matrix"].is_object());
        normalize(&mut data).unwrap();
        assert_eq!(
            data["bighub"]["config"]["max_privilege_duration_seconds"],
            7200
        );
        assert_eq!(
            data["bighub"]["config"]["max_privilege_duration_text"],
            "2h"
        );
    }

    #[test]
    fn user_values_merge_over_defaults() {
        let mut data = default_data();
        deep_merge(
            &mut data,
            json!({"bighub": {"config": {"max_privilege_duration": "PT4H", "kill_switch": {"systems": ["ArgoCD"]}}}}),
        );
        normalize(&mut data).unwrap();
        let cfg = &data["bighub"]["config"];
        assert_eq!(cfg["max_privilege_duration_text"], "4h");
        assert_eq!(cfg["kill_switch"]["systems"], json!(["argocd"]));
        assert_eq!(cfg["failure_threshold"], 3);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (over, key) in [
            (
                json!({"max_privilege_duration": "forever"}),
                "max_privilege_duration",
            ),
            (json!({"failure_threshold": 0}), "failure_threshold"),
            (
                json!({"freeze_windows": [{"start": "2026-12-24", "end": "soon"}]}),
                "freeze_windows[0]",
            ),
            (
                json!({"freeze_windows": [{"start": "2026-12-24", "end": "2026-12-01"}]}),
                "freeze_windows[0]",
            ),
            (json!({"kill_switch": "on"}), "kill_switch"),
        ] {
            let mut data = default_data();
            deep_merge(&mut data, json!({"bighub": {"config": over}}));
            let err = normalize(&mut data).unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }
}

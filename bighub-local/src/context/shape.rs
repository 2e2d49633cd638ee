//! The known shapes of context documents, and how each is normalized into the form the
//! default policy reads.
//!
//! This module owns [`Shape`] and [`normalize`]: reading a PagerDuty incident list, an
//! Atlassian Statuspage summary, Argo CD sync windows and a freeze calendar, checking each
//! field the policy relies on, dropping what it does not (resolved incidents, everything
//! else in the documents), and computing what depends on the time of the decision (which
//! windows are active now). It does not fetch, cache or configure providers, and it does
//! not decide anything: the policy's rules read what it returns.
//!
//! Argo CD's `schedule` is a five-field cron expression (minute, hour, day of month, month,
//! day of week), read with `croner`: it parses exactly the five-field form Argo CD accepts
//! (seconds and years are refused here, as Argo CD refuses them), evaluates it on `jiff`
//! times (the crate's clock) in the window's `timeZone`, and brings no other time library.
//! The `cron` crate needs a seconds field and chrono, so every schedule would have to be
//! rewritten before parsing.

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::clock::parse_timestamp;
use crate::duration::parse_duration;

/// A kind of document a context provider fetches that the default policy understands.
///
/// Serialized in `snake_case` (`pagerduty_incidents`, ...), as a provider's `shape` and
/// `input.context.<provider>.shape` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Shape {
    /// PagerDuty's REST `GET /incidents` answer.
    PagerdutyIncidents,
    /// Atlassian Statuspage's `/api/v2/summary.json`.
    StatuspageSummary,
    /// An Argo CD AppProject (or its `spec`, or a list of either) with `syncWindows`.
    ArgocdSyncWindows,
    /// A freeze calendar: `{"windows": [{name, start, end, systems, environments, reason,
    /// allow_emergency}]}`.
    FreezeCalendar,
}

/// The document a provider fetched, in the shape the default policy reads; an error names
/// the field that does not fit (never echoing values longer than a short excerpt).
pub(crate) fn normalize(shape: Shape, raw: &Value, now_ms: i64) -> Result<Value, String> {
    match shape {
        Shape::PagerdutyIncidents => pagerduty_incidents(raw),
        Shape::StatuspageSummary => statuspage_summary(raw, now_ms),
        Shape::ArgocdSyncWindows => argocd_sync_windows(raw, now_ms),
        Shape::FreezeCalendar => freeze_calendar(raw, now_ms),
    }
}

/// The longest excerpt of a value an error shows.
const EXCERPT: usize = 40;

/// `path: expected <what>, found <excerpt of value>`.
fn expected(path: &str, what: &str, found: Option<&Value>) -> String {
    let found = match found {
        None | Some(Value::Null) => "nothing".to_owned(),
        Some(Value::String(s)) => {
            let mut short: String = s.chars().take(EXCERPT).collect();
            if short.len() < s.len() {
                short.push_str("...");
            }
            format!("{short:?}")
        }
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(_)) => "a list".to_owned(),
        Some(Value::Object(_)) => "an object".to_owned(),
    };
    format!("{path}: expected {what}, found {found}")
}

fn field(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| expected(path, "an object", Some(value)))
}

/// A list under `name`; `required` says whether a missing or null one is an error rather
/// than an empty list.
fn list<'a>(
    obj: &'a Map<String, Value>,
    parent: &str,
    name: &str,
    required: bool,
) -> Result<&'a [Value], String> {
    match obj.get(name) {
        Some(Value::Array(items)) => Ok(items),
        None | Some(Value::Null) if !required => Ok(&[]),
        other => Err(expected(&field(parent, name), "a list", other)),
    }
}

fn string<'a>(obj: &'a Map<String, Value>, parent: &str, name: &str) -> Result<&'a str, String> {
    obj.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| expected(&field(parent, name), "a string", obj.get(name)))
}

fn optional_string<'a>(
    obj: &'a Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<Option<&'a str>, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        other => Err(expected(&field(parent, name), "a string", other)),
    }
}

/// One of `allowed`, as written.
fn one_of<'a>(
    obj: &'a Map<String, Value>,
    parent: &str,
    name: &str,
    allowed: &[&str],
) -> Result<&'a str, String> {
    let value = obj.get(name);
    match value.and_then(Value::as_str) {
        Some(s) if allowed.contains(&s) => Ok(s),
        _ => {
            let names: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
            Err(expected(
                &field(parent, name),
                &format!("one of {}", names.join(", ")),
                value,
            ))
        }
    }
}

fn optional_bool(obj: &Map<String, Value>, parent: &str, name: &str) -> Result<bool, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        other => Err(expected(&field(parent, name), "true or false", other)),
    }
}

/// A list of strings, lower-cased when `lower`.
fn strings(
    obj: &Map<String, Value>,
    parent: &str,
    name: &str,
    lower: bool,
) -> Result<Vec<Value>, String> {
    let items = list(obj, parent, name, false)?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item.as_str() {
            Some(s) if lower => Ok(Value::String(s.trim().to_lowercase())),
            Some(s) => Ok(Value::String(s.to_owned())),
            None => Err(expected(
                &format!("{}[{i}]", field(parent, name)),
                "a string",
                Some(item),
            )),
        })
        .collect()
}

/// Seconds since the epoch of an RFC 3339 timestamp under `name`.
fn timestamp(obj: &Map<String, Value>, parent: &str, name: &str) -> Result<i64, String> {
    let text = string(obj, parent, name)?;
    parse_timestamp(text)
        .map_err(|_| expected(&field(parent, name), "an RFC 3339 timestamp", obj.get(name)))
}

// ---------------------------------------------------------------------------------------
// PagerDuty
// ---------------------------------------------------------------------------------------

/// `{"incidents": [{id, title, status, urgency, service_id, service_name, created_at}]}`,
/// without resolved incidents.
fn pagerduty_incidents(raw: &Value) -> Result<Value, String> {
    let doc = object(raw, "the document")?;
    let mut out = Vec::new();
    for (i, incident) in list(doc, "", "incidents", true)?.iter().enumerate() {
        let path = format!("incidents[{i}]");
        let inc = object(incident, &path)?;
        let status = one_of(
            inc,
            &path,
            "status",
            &["triggered", "acknowledged", "resolved"],
        )?;
        if status == "resolved" {
            continue;
        }
        let id = string(inc, &path, "id")?;
        // `title` is the incident's own text; `summary` adds its number, and is what older
        // answers carried alone.
        let title = match optional_string(inc, &path, "title")? {
            Some(t) => t,
            None => string(inc, &path, "summary")?,
        };
        let urgency = one_of(inc, &path, "urgency", &["high", "low"])?;
        let service_path = field(&path, "service");
        let service = object(inc.get("service").unwrap_or(&Value::Null), &service_path)?;
        let service_id = string(service, &service_path, "id")?;
        let service_name = optional_string(service, &service_path, "summary")?.unwrap_or("");
        let created_at = optional_string(inc, &path, "created_at")?;
        out.push(json!({
            "id": id,
            "title": title,
            "status": status,
            "urgency": urgency,
            "service_id": service_id,
            "service_name": service_name.trim().to_lowercase(),
            "created_at": created_at,
        }));
    }
    Ok(json!({ "incidents": out }))
}

// ---------------------------------------------------------------------------------------
// Statuspage
// ---------------------------------------------------------------------------------------

/// `{"indicator", "description", "components": [{name, status}], "unresolved_incidents":
/// [{name, impact, status}], "maintenance_in_progress": [{name, components}]}`.
fn statuspage_summary(raw: &Value, now_ms: i64) -> Result<Value, String> {
    let doc = object(raw, "the document")?;
    let status = object(doc.get("status").unwrap_or(&Value::Null), "status")?;
    let indicator = one_of(
        status,
        "status",
        "indicator",
        &["none", "minor", "major", "critical", "maintenance"],
    )?;
    let description = optional_string(status, "status", "description")?.unwrap_or("");

    let mut components = Vec::new();
    for (i, component) in list(doc, "", "components", false)?.iter().enumerate() {
        let path = format!("components[{i}]");
        let c = object(component, &path)?;
        components.push(json!({
            "name": string(c, &path, "name")?.trim().to_lowercase(),
            "status": string(c, &path, "status")?,
        }));
    }

    let mut incidents = Vec::new();
    for (i, incident) in list(doc, "", "incidents", false)?.iter().enumerate() {
        let path = format!("incidents[{i}]");
        let inc = object(incident, &path)?;
        let status = string(inc, &path, "status")?;
        // The summary lists only unresolved incidents; a page's own copy may not.
        if matches!(status, "resolved" | "postmortem") {
            continue;
        }
        incidents.push(json!({
            "name": string(inc, &path, "name")?,
            "impact": optional_string(inc, &path, "impact")?,
            "status": status,
        }));
    }

    let now = now_ms.div_euclid(1000);
    let mut maintenance = Vec::new();
    for (i, item) in list(doc, "", "scheduled_maintenances", false)?
        .iter()
        .enumerate()
    {
        let path = format!("scheduled_maintenances[{i}]");
        let m = object(item, &path)?;
        let status = string(m, &path, "status")?;
        let in_window = match (
            optional_string(m, &path, "scheduled_for")?,
            optional_string(m, &path, "scheduled_until")?,
        ) {
            (Some(_), Some(_)) => {
                let start = timestamp(m, &path, "scheduled_for")?;
                let end = timestamp(m, &path, "scheduled_until")?;
                start <= now && now < end
            }
            _ => false,
        };
        let in_progress = status == "in_progress" || (in_window && status != "completed");
        if !in_progress {
            continue;
        }
        let mut names = Vec::new();
        for (j, component) in list(m, &path, "components", false)?.iter().enumerate() {
            let cpath = format!("{path}.components[{j}]");
            let c = object(component, &cpath)?;
            names.push(Value::String(
                string(c, &cpath, "name")?.trim().to_lowercase(),
            ));
        }
        maintenance.push(json!({"name": string(m, &path, "name")?, "components": names}));
    }

    Ok(json!({
        "indicator": indicator,
        "description": description,
        "components": components,
        "unresolved_incidents": incidents,
        "maintenance_in_progress": maintenance,
    }))
}

// ---------------------------------------------------------------------------------------
// Argo CD
// ---------------------------------------------------------------------------------------

/// `{"windows": [{kind, schedule, duration_seconds, applications, namespaces, clusters,
/// manual_sync, active}]}` from an AppProject, its `spec`, a list of them, or a Kubernetes
/// list (`{"items": [...]}`).
fn argocd_sync_windows(raw: &Value, now_ms: i64) -> Result<Value, String> {
    let mut windows = Vec::new();
    match raw {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                project_windows(item, &format!("[{i}]"), now_ms, &mut windows)?;
            }
        }
        Value::Object(obj) if obj.get("items").is_some_and(Value::is_array) => {
            for (i, item) in list(obj, "", "items", true)?.iter().enumerate() {
                project_windows(item, &format!("items[{i}]"), now_ms, &mut windows)?;
            }
        }
        other => project_windows(other, "", now_ms, &mut windows)?,
    }
    Ok(json!({ "windows": windows }))
}

/// The windows of one AppProject or its `spec`.
fn project_windows(
    value: &Value,
    path: &str,
    now_ms: i64,
    out: &mut Vec<Value>,
) -> Result<(), String> {
    let what = if path.is_empty() {
        "the document"
    } else {
        path
    };
    let obj = object(value, what)?;
    let (spec, spec_path) = match obj.get("spec") {
        Some(spec) => {
            let p = field(path, "spec");
            (object(spec, &p)?, p)
        }
        None => (obj, path.to_owned()),
    };
    if !spec.contains_key("syncWindows") && !obj.contains_key("spec") {
        return Err(expected(
            &field(&spec_path, "syncWindows"),
            "a list of sync windows",
            None,
        ));
    }
    for (i, window) in list(spec, &spec_path, "syncWindows", false)?
        .iter()
        .enumerate()
    {
        let wpath = format!("{}[{i}]", field(&spec_path, "syncWindows"));
        out.push(sync_window(window, &wpath, now_ms)?);
    }
    Ok(())
}

fn sync_window(value: &Value, path: &str, now_ms: i64) -> Result<Value, String> {
    let w = object(value, path)?;
    let kind = one_of(w, path, "kind", &["allow", "deny"])?;
    let schedule = string(w, path, "schedule")?;
    let duration_text = string(w, path, "duration")?;
    let duration = parse_duration(duration_text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            expected(
                &field(path, "duration"),
                "a duration such as \"1h\" or \"90m\"",
                w.get("duration"),
            )
        })?;
    let zone_name = optional_string(w, path, "timeZone")?
        .filter(|z| !z.trim().is_empty())
        .unwrap_or("UTC");
    let zone = TimeZone::get(zone_name).map_err(|_| {
        expected(
            &field(path, "timeZone"),
            "a time zone name such as \"Europe/Amsterdam\"",
            w.get("timeZone"),
        )
    })?;
    let cron = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(schedule)
        .map_err(|_| {
            expected(
                &field(path, "schedule"),
                "a five-field cron expression such as \"0 22 * * *\"",
                w.get("schedule"),
            )
        })?;
    let now = Timestamp::from_millisecond(now_ms)
        .map_err(|_| format!("the decision time {now_ms} ms is out of range"))?;
    let now = Zoned::new(now, zone);
    // Active when the latest start at or before now is less than a duration ago. A
    // schedule with no start in the searchable past was never active.
    let active = match cron.find_previous_occurrence(&now, true) {
        Ok(start) => {
            let elapsed = now.timestamp().as_second() - start.timestamp().as_second();
            u64::try_from(elapsed).is_ok_and(|e| e < duration.as_secs())
        }
        Err(_) => false,
    };
    Ok(json!({
        "kind": kind,
        "schedule": schedule,
        "duration_seconds": duration.as_secs(),
        "applications": strings(w, path, "applications", false)?,
        "namespaces": strings(w, path, "namespaces", false)?,
        "clusters": strings(w, path, "clusters", false)?,
        "manual_sync": optional_bool(w, path, "manualSync")?,
        "active": active,
    }))
}

// ---------------------------------------------------------------------------------------
// Freeze calendar
// ---------------------------------------------------------------------------------------

/// The calendar's windows, each with `active` at now; names of systems and environments
/// lower-cased.
fn freeze_calendar(raw: &Value, now_ms: i64) -> Result<Value, String> {
    let doc = object(raw, "the document")?;
    let now = now_ms.div_euclid(1000);
    let mut windows = Vec::new();
    for (i, window) in list(doc, "", "windows", true)?.iter().enumerate() {
        let path = format!("windows[{i}]");
        let w = object(window, &path)?;
        let start = timestamp(w, &path, "start")?;
        let end = timestamp(w, &path, "end")?;
        if end <= start {
            return Err(format!("{path}: ends before it starts"));
        }
        let name = match optional_string(w, &path, "name")? {
            Some(n) => n.to_owned(),
            None => format!("window {}", i + 1),
        };
        windows.push(json!({
            "name": name,
            "start": string(w, &path, "start")?,
            "end": string(w, &path, "end")?,
            "systems": strings(w, &path, "systems", true)?,
            "environments": strings(w, &path, "environments", true)?,
            "reason": optional_string(w, &path, "reason")?,
            "allow_emergency": optional_bool(w, &path, "allow_emergency")?,
            "active": start <= now && now < end,
        }));
    }
    Ok(json!({ "windows": windows }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_zone_is_found_on_a_machine_without_a_time_zone_database() {
        // `TimeZone::get` reads the system's database first and this bundled copy when
        // the machine has none (a minimal container image).
        let bundled = jiff::tz::TimeZoneDatabase::bundled();
        assert!(bundled.get("Europe/Amsterdam").is_ok());
    }

    /// A fixture under `tests/fixtures/context/`.
    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/context/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn at(rfc3339: &str) -> i64 {
        parse_timestamp(rfc3339).unwrap() * 1000
    }

    #[test]
    fn shapes_are_named_in_snake_case() {
        for (shape, name) in [
            (Shape::PagerdutyIncidents, "pagerduty_incidents"),
            (Shape::StatuspageSummary, "statuspage_summary"),
            (Shape::ArgocdSyncWindows, "argocd_sync_windows"),
            (Shape::FreezeCalendar, "freeze_calendar"),
        ] {
            assert_eq!(serde_json::to_value(shape).unwrap(), name);
            assert_eq!(serde_json::from_value::<Shape>(json!(name)).unwrap(), shape);
        }
    }

    #[test]
    fn pagerduty_reference_example_has_no_open_incident() {
        let raw = fixture("pagerduty-incidents.json");
        let data = normalize(Shape::PagerdutyIncidents, &raw, 0).unwrap();
        // The API reference's one incident is resolved.
        assert_eq!(data, json!({"incidents": []}));
    }

    #[test]
    fn pagerduty_open_incidents_keep_what_the_rules_read() {
        let raw = fixture("pagerduty-incidents-open.json");
        let data = normalize(Shape::PagerdutyIncidents, &raw, 0).unwrap();
        assert_eq!(
            data,
            json!({"incidents": [{
                "id": "PT4KHLK",
                "title": "The server is on fire.",
                "status": "triggered",
                "urgency": "high",
                "service_id": "PIJ90N7",
                "service_name": "my mail service",
                "created_at": "2015-10-06T21:30:42Z",
            }]})
        );
    }

    #[test]
    fn pagerduty_errors_name_the_field() {
        for (raw, want) in [
            (json!([]), "the document: expected an object, found a list"),
            (
                json!({"incident": {}}),
                "incidents: expected a list, found nothing",
            ),
            (
                json!({"incidents": [{"id": "P1", "title": "t", "status": "open"}]}),
                "incidents[0].status: expected one of \"triggered\", \"acknowledged\", \"resolved\", found \"open\"",
            ),
            (
                json!({"incidents": [{"id": "P1", "title": "t", "status": "triggered", "urgency": "high"}]}),
                "incidents[0].service: expected an object, found nothing",
            ),
            (
                json!({"incidents": [{"id": "P1", "title": "t", "status": "triggered",
                                      "urgency": "x".repeat(500)}]}),
                "incidents[0].urgency: expected one of \"high\", \"low\", found \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"",
            ),
        ] {
            assert_eq!(
                normalize(Shape::PagerdutyIncidents, &raw, 0).unwrap_err(),
                want
            );
        }
    }

    #[test]
    fn statuspage_reference_example() {
        let raw = fixture("statuspage-summary.json");
        // Inside the maintenance's window.
        let data = normalize(Shape::StatuspageSummary, &raw, at("2014-05-14T22:30:00Z")).unwrap();
        assert_eq!(data["indicator"], "major");
        assert_eq!(data["description"], "Partial System Outage");
        assert_eq!(
            data["components"],
            json!([
                {"name": "api", "status": "partial_outage"},
                {"name": "management portal", "status": "major_outage"},
            ])
        );
        assert_eq!(
            data["unresolved_incidents"],
            json!([{"name": "Unplanned Database Outage", "impact": "critical", "status": "identified"}])
        );
        assert_eq!(
            data["maintenance_in_progress"],
            json!([{"name": "Planned Database Upgrade", "components": ["api"]}])
        );
        // Before the window, a scheduled maintenance is not in progress.
        let data = normalize(Shape::StatuspageSummary, &raw, at("2014-05-14T20:00:00Z")).unwrap();
        assert_eq!(data["maintenance_in_progress"], json!([]));
    }

    #[test]
    fn statuspage_errors_name_the_field() {
        let raw = json!({"status": {"indicator": "red"}});
        assert_eq!(
            normalize(Shape::StatuspageSummary, &raw, 0).unwrap_err(),
            "status.indicator: expected one of \"none\", \"minor\", \"major\", \"critical\", \"maintenance\", found \"red\""
        );
        let raw =
            json!({"status": {"indicator": "none"}, "components": [{"status": "operational"}]});
        assert_eq!(
            normalize(Shape::StatuspageSummary, &raw, 0).unwrap_err(),
            "components[0].name: expected a string, found nothing"
        );
    }

    #[test]
    fn argocd_documented_windows() {
        let raw = fixture("argocd-appproject.json");
        // 22:30 in Amsterdam (CET, UTC+1): inside the deny window "0 22 * * *" for 1h.
        let data = normalize(Shape::ArgocdSyncWindows, &raw, at("2026-01-15T21:30:00Z")).unwrap();
        let windows = data["windows"].as_array().unwrap();
        assert_eq!(windows.len(), 4);
        assert_eq!(
            windows[0],
            json!({"kind": "allow", "schedule": "10 1 * * *", "duration_seconds": 3600,
                   "applications": ["*-prod"], "namespaces": [], "clusters": [],
                   "manual_sync": true, "active": false})
        );
        assert_eq!(windows[2]["kind"], "deny");
        assert_eq!(windows[2]["namespaces"], json!(["default"]));
        assert_eq!(windows[2]["active"], true);
        // 22:30 UTC is 23:30 in Amsterdam: the deny window is over, the UTC allow window
        // "0 23 * * *" is not yet open, the 09:00 allow window (8h) closed at 17:00.
        let data = normalize(Shape::ArgocdSyncWindows, &raw, at("2026-01-15T22:30:00Z")).unwrap();
        let active: Vec<bool> = data["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["active"].as_bool().unwrap())
            .collect();
        assert_eq!(active, [false, false, false, false]);
        // 23:30 UTC: the cluster allow window is active.
        let data = normalize(Shape::ArgocdSyncWindows, &raw, at("2026-01-15T23:30:00Z")).unwrap();
        assert_eq!(data["windows"][3]["active"], true);
        assert_eq!(
            data["windows"][3]["clusters"],
            json!(["in-cluster", "cluster1"])
        );
    }

    #[test]
    fn argocd_reads_a_spec_a_list_and_a_kubernetes_list() {
        let project = fixture("argocd-appproject.json");
        let now = at("2026-01-15T21:30:00Z");
        let want = normalize(Shape::ArgocdSyncWindows, &project, now).unwrap();
        let spec = project["spec"].clone();
        assert_eq!(
            normalize(Shape::ArgocdSyncWindows, &spec, now).unwrap(),
            want
        );
        let two = json!([project.clone(), {"spec": {}}]);
        assert_eq!(
            normalize(Shape::ArgocdSyncWindows, &two, now).unwrap(),
            want
        );
        let items = json!({"apiVersion": "v1", "kind": "List", "items": [project]});
        assert_eq!(
            normalize(Shape::ArgocdSyncWindows, &items, now).unwrap(),
            want
        );
    }

    #[test]
    fn argocd_window_starts_and_ends_on_the_minute() {
        let raw =
            json!({"syncWindows": [{"kind": "deny", "schedule": "0 22 * * *", "duration": "1h"}]});
        let active = |t: &str| {
            normalize(Shape::ArgocdSyncWindows, &raw, at(t)).unwrap()["windows"][0]["active"]
                .as_bool()
                .unwrap()
        };
        assert!(!active("2026-03-02T21:59:59Z"));
        assert!(active("2026-03-02T22:00:00Z"));
        assert!(active("2026-03-02T22:59:59Z"));
        assert!(!active("2026-03-02T23:00:00Z"));
        // A window that spans midnight is active after it.
        let raw =
            json!({"syncWindows": [{"kind": "deny", "schedule": "30 23 * * 5", "duration": "2h"}]});
        let data = normalize(Shape::ArgocdSyncWindows, &raw, at("2026-03-07T00:30:00Z")).unwrap();
        assert_eq!(data["windows"][0]["active"], true);
    }

    #[test]
    fn argocd_errors_name_the_field() {
        for (raw, want) in [
            (
                json!({"syncWindows": [{"kind": "block", "schedule": "* * * * *", "duration": "1h"}]}),
                "syncWindows[0].kind: expected one of \"allow\", \"deny\", found \"block\"",
            ),
            (
                json!({"spec": {"syncWindows": [{"kind": "deny", "schedule": "0 0 22 * * *", "duration": "1h"}]}}),
                "spec.syncWindows[0].schedule: expected a five-field cron expression such as \"0 22 * * *\", found \"0 0 22 * * *\"",
            ),
            (
                json!({"syncWindows": [{"kind": "deny", "schedule": "0 22 * * *", "duration": "soon"}]}),
                "syncWindows[0].duration: expected a duration such as \"1h\" or \"90m\", found \"soon\"",
            ),
            (
                json!({"syncWindows": [{"kind": "deny", "schedule": "0 22 * * *", "duration": "1h", "timeZone": "Mars/Olympus"}]}),
                "syncWindows[0].timeZone: expected a time zone name such as \"Europe/Amsterdam\", found \"Mars/Olympus\"",
            ),
            (
                json!({"metadata": {"name": "p"}}),
                "syncWindows: expected a list of sync windows, found nothing",
            ),
            (
                json!([{"spec": {"syncWindows": {}}}]),
                "[0].spec.syncWindows: expected a list, found an object",
            ),
        ] {
            assert_eq!(
                normalize(Shape::ArgocdSyncWindows, &raw, 0).unwrap_err(),
                want
            );
        }
    }

    #[test]
    fn freeze_calendar_marks_active_windows() {
        let raw = fixture("freeze-calendar.json");
        let data = normalize(Shape::FreezeCalendar, &raw, at("2026-12-24T10:00:00Z")).unwrap();
        assert_eq!(
            data["windows"][0],
            json!({
                "name": "year-end",
                "start": "2026-12-20T00:00:00Z",
                "end": "2027-01-04T00:00:00Z",
                "systems": [],
                "environments": ["production"],
                "reason": "Year-end change freeze: only emergency fixes.",
                "allow_emergency": true,
                "active": true,
            })
        );
        assert_eq!(data["windows"][1]["systems"], json!(["payments", "ledger"]));
        assert_eq!(data["windows"][1]["allow_emergency"], false);
        assert_eq!(data["windows"][1]["active"], false);
        let data = normalize(Shape::FreezeCalendar, &raw, at("2027-01-04T00:00:00Z")).unwrap();
        assert_eq!(data["windows"][0]["active"], false);
    }

    /// The golden decision cases give the policy normalized documents directly; these are
    /// what `normalize` makes of the fixtures, so the cases decide on real documents.
    #[test]
    fn golden_cases_carry_what_normalize_gives() {
        for (case, provider, shape, file, now) in [
            (
                "context_active_incident",
                "pagerduty",
                Shape::PagerdutyIncidents,
                "pagerduty-incidents-open.json",
                "2026-06-01T12:00:00Z",
            ),
            (
                "context_freeze_window",
                "freezes",
                Shape::FreezeCalendar,
                "freeze-calendar.json",
                "2026-12-24T10:00:00Z",
            ),
            (
                "context_argocd_deny_window",
                "argocd-default",
                Shape::ArgocdSyncWindows,
                "argocd-appproject.json",
                "2026-01-15T21:30:00Z",
            ),
            (
                "context_statuspage_major",
                "upstream-status",
                Shape::StatuspageSummary,
                "statuspage-summary.json",
                "2014-05-14T22:30:00Z",
            ),
        ] {
            let path = format!("{}/tests/golden/{case}.json", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let golden: Value = serde_json::from_str(&text).unwrap();
            let entry = &golden["context"][provider];
            assert_eq!(
                entry["shape"],
                serde_json::to_value(shape).unwrap(),
                "{case}"
            );
            let data = normalize(shape, &fixture(file), at(now)).unwrap();
            assert_eq!(entry["data"], data, "{case}");
        }
    }

    #[test]
    fn freeze_calendar_errors_name_the_field() {
        for (raw, want) in [
            (
                json!({"windows": [{"start": "2026-12-20T00:00:00Z", "end": "soon"}]}),
                "windows[0].end: expected an RFC 3339 timestamp, found \"soon\"",
            ),
            (
                json!({"windows": [{"start": "2026-12-20T00:00:00Z", "end": "2026-12-19T00:00:00Z"}]}),
                "windows[0]: ends before it starts",
            ),
            (
                json!({"windows": [{"start": "2026-12-20T00:00:00Z", "end": "2026-12-21T00:00:00Z", "systems": ["a", 1]}]}),
                "windows[0].systems[1]: expected a string, found 1",
            ),
            (
                json!({"windows": [{"start": "2026-12-20T00:00:00Z", "end": "2026-12-21T00:00:00Z", "allow_emergency": "yes"}]}),
                "windows[0].allow_emergency: expected true or false, found \"yes\"",
            ),
        ] {
            assert_eq!(normalize(Shape::FreezeCalendar, &raw, 0).unwrap_err(), want);
        }
    }
}

//! The strict-mode normaliser on schemas schemars generates from real Rust types, the
//! argument reshaping it implies, and the validator's rejections.

use std::collections::{BTreeMap, HashMap};

use bighub_openai::schema::{SchemaError, StrictSchema, strict, validate_strict};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn generated<T: JsonSchema>() -> Value {
    schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .to_value()
}

/// Normalises `T`'s schema, checks the result passes the validator and is a fixed point.
fn strict_for<T: JsonSchema>() -> StrictSchema {
    let schema = StrictSchema::from_generated(generated::<T>()).expect("normalises");
    validate_strict(schema.schema()).expect("normalised schema passes the validator");
    assert_eq!(
        &strict(schema.schema().clone()).expect("idempotent"),
        schema.schema(),
        "normalising twice changes nothing"
    );
    schema
}

/// The tool's view of the model's arguments, deserialized.
fn decode<T: DeserializeOwned>(schema: &StrictSchema, model_arguments: Value) -> T {
    let args = schema.to_tool_arguments(model_arguments);
    serde_json::from_value(args.clone()).unwrap_or_else(|e| panic!("{e}: {args}"))
}

// ---------------------------------------------------------------- nested structs

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Resources {
    cpu: String,
    memory_mb: u32,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Container {
    image: String,
    /// Requested resources.
    resources: Resources,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct DeployArgs {
    /// The service to deploy.
    service: String,
    replicas: u8,
    container: Container,
}

#[test]
fn nested_structs_become_closed_and_required() {
    let schema = strict_for::<DeployArgs>();
    let s = schema.schema();
    assert!(s.get("$schema").is_none() && s.get("title").is_none());
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(s["required"], json!(["service", "replicas", "container"]));
    // schemars' `format: uint8` is not a strict format; the bounds it came with stay.
    assert_eq!(
        s["properties"]["replicas"],
        json!({"type": "integer", "minimum": 0, "maximum": 255})
    );
    let container = &s["$defs"]["Container"];
    assert_eq!(container["additionalProperties"], false);
    // A documented `$ref` field is inlined: strict mode wants `$ref` alone.
    let resources = &container["properties"]["resources"];
    assert!(resources.get("$ref").is_none());
    assert_eq!(resources["description"], "Requested resources.");
    assert_eq!(resources["additionalProperties"], false);
    assert_eq!(resources["required"], json!(["cpu", "memory_mb"]));
    assert!(schema.reshape().is_identity());

    let args: DeployArgs = decode(
        &schema,
        json!({"service": "checkout", "replicas": 3, "container": {"image": "checkout:1.4", "resources": {"cpu": "500m", "memory_mb": 512}}}),
    );
    assert_eq!(args.container.resources.memory_mb, 512);
}

// ---------------------------------------------------------------- enums

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Strategy {
    Rolling,
    BlueGreen,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Target {
    Cluster { name: String },
    Namespace { cluster: String, namespace: String },
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
enum Window {
    Now,
    At(String),
    Between { start: String, end: String },
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
enum Replicas {
    Fixed(u32),
    Auto { min: u32, max: u32 },
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct RolloutArgs {
    strategy: Strategy,
    target: Target,
    window: Window,
    replicas: Replicas,
}

#[test]
fn enums_use_any_of_and_deserialize_every_variant() {
    let schema = strict_for::<RolloutArgs>();
    let text = schema.schema().to_string();
    assert!(!text.contains("oneOf"), "{text}");
    assert_eq!(
        schema.schema()["$defs"]["Strategy"]["enum"],
        json!(["rolling", "blue_green"])
    );
    let target = &schema.schema()["$defs"]["Target"]["anyOf"];
    assert_eq!(target[0]["properties"]["kind"]["const"], "cluster");
    assert_eq!(target[1]["additionalProperties"], false);

    let args: RolloutArgs = decode(
        &schema,
        json!({
            "strategy": "blue_green",
            "target": {"kind": "namespace", "cluster": "prod-eu", "namespace": "payments"},
            "window": {"Between": {"start": "22:00", "end": "23:00"}},
            "replicas": {"min": 2, "max": 6}
        }),
    );
    assert_eq!(args.strategy, Strategy::BlueGreen);
    assert_eq!(
        args.window,
        Window::Between {
            start: "22:00".into(),
            end: "23:00".into()
        }
    );
    assert_eq!(args.replicas, Replicas::Auto { min: 2, max: 6 });
    let args: RolloutArgs = decode(
        &schema,
        json!({"strategy": "rolling", "target": {"kind": "cluster", "name": "prod-us"}, "window": "Now", "replicas": 3}),
    );
    assert_eq!(
        args.target,
        Target::Cluster {
            name: "prod-us".into()
        }
    );
    assert_eq!(args.window, Window::Now);
}

// ---------------------------------------------------------------- Option and defaults

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct GrantArgs {
    user_id: String,
    /// Hours of access; the default applies when omitted.
    #[serde(default = "default_hours")]
    hours: u32,
    reason: Option<String>,
    approver: Option<Resources>,
    mode: Option<Strategy>,
    #[serde(default)]
    notify: bool,
}

fn default_hours() -> u32 {
    2
}

#[test]
fn optional_values_are_required_and_nullable() {
    let schema = strict_for::<GrantArgs>();
    let s = schema.schema();
    // Declared-required first, then the rest (in the order of `properties`).
    assert_eq!(
        s["required"],
        json!(["user_id", "hours", "reason", "approver", "mode", "notify"])
    );
    assert_eq!(s["properties"]["reason"]["type"], json!(["string", "null"]));
    assert_eq!(s["properties"]["hours"]["type"], json!(["integer", "null"]));
    assert!(s["properties"]["hours"].get("default").is_none());
    assert_eq!(
        s["properties"]["approver"]["anyOf"][1],
        json!({"type": "null"})
    );
    assert_eq!(
        s["properties"]["notify"]["type"],
        json!(["boolean", "null"])
    );
    // Only fields that did not accept null before get their null removed again.
    let dropped: Vec<&str> = schema.reshape().nulls_dropped_at("").collect();
    assert_eq!(dropped, ["hours", "notify"]);

    let args: GrantArgs = decode(
        &schema,
        json!({"user_id": "alice", "hours": null, "reason": null, "approver": null, "mode": null, "notify": null}),
    );
    assert_eq!(
        args,
        GrantArgs {
            user_id: "alice".into(),
            hours: 2,
            reason: None,
            approver: None,
            mode: None,
            notify: false
        }
    );
    let args: GrantArgs = decode(
        &schema,
        json!({"user_id": "bob", "hours": 8, "reason": "incident", "approver": {"cpu": "x", "memory_mb": 1}, "mode": "rolling", "notify": true}),
    );
    assert_eq!(args.hours, 8);
    assert_eq!(args.mode, Some(Strategy::Rolling));
}

// ---------------------------------------------------------------- Vec<Struct>

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct BatchArgs {
    containers: Vec<Container>,
    tags: Option<Vec<String>>,
}

#[test]
fn vectors_of_structs() {
    let schema = strict_for::<BatchArgs>();
    assert_eq!(
        schema.schema()["properties"]["containers"]["items"],
        json!({"$ref": "#/$defs/Container"})
    );
    let args: BatchArgs = decode(
        &schema,
        json!({"containers": [{"image": "a", "resources": {"cpu": "1", "memory_mb": 2}}], "tags": null}),
    );
    assert_eq!(args.containers.len(), 1);
    assert_eq!(args.tags, None);
}

// ---------------------------------------------------------------- maps

#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Region {
    EuWest,
    UsEast,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct LabelArgs {
    /// Labels to set.
    labels: BTreeMap<String, String>,
    limits: HashMap<String, Resources>,
    overrides: Option<HashMap<String, u32>>,
    ports: HashMap<u16, String>,
    per_region: HashMap<Region, u32>,
}

#[test]
fn maps_become_entry_arrays_and_round_trip() {
    let schema = strict_for::<LabelArgs>();
    let s = schema.schema();
    let labels = &s["properties"]["labels"];
    assert_eq!(labels["type"], "array");
    assert_eq!(
        labels["description"],
        "Labels to set. (a map, given as a list of {\"key\", \"value\"} entries)"
    );
    assert_eq!(labels["items"]["required"], json!(["key", "value"]));
    assert_eq!(
        s["properties"]["overrides"]["type"],
        json!(["array", "null"])
    );
    assert_eq!(
        s["properties"]["ports"]["items"]["properties"]["key"],
        json!({"type": "string", "pattern": "^\\d+$"})
    );
    // An enum-keyed map is an object with one optional property per key.
    assert_eq!(
        s["properties"]["per_region"]["required"],
        json!(["eu_west", "us_east"])
    );
    let maps: Vec<&str> = schema.reshape().map_paths().collect();
    assert_eq!(
        maps,
        [
            "/properties/labels",
            "/properties/limits",
            "/properties/overrides",
            "/properties/ports"
        ]
    );

    let model = json!({
        "labels": [{"key": "team", "value": "sre"}, {"key": "tier", "value": "1"}],
        "limits": [{"key": "api", "value": {"cpu": "2", "memory_mb": 1024}}],
        "overrides": [{"key": "max_surge", "value": 2}],
        "ports": [{"key": "443", "value": "https"}],
        "per_region": {"eu_west": 3, "us_east": null}
    });
    assert_eq!(
        schema.to_tool_arguments(model.clone()),
        json!({
            "labels": {"team": "sre", "tier": "1"},
            "limits": {"api": {"cpu": "2", "memory_mb": 1024}},
            "overrides": {"max_surge": 2},
            "ports": {"443": "https"},
            "per_region": {"eu_west": 3}
        })
    );
    let args: LabelArgs = decode(&schema, model);
    assert_eq!(args.labels.get("tier").map(String::as_str), Some("1"));
    assert_eq!(args.limits["api"].memory_mb, 1024);
    assert_eq!(
        args.overrides,
        Some(HashMap::from([("max_surge".to_owned(), 2)]))
    );
    assert_eq!(args.ports[&443], "https");
    assert_eq!(args.per_region, HashMap::from([(Region::EuWest, 3)]));

    let args: LabelArgs = decode(
        &schema,
        json!({"labels": [], "limits": [], "overrides": null, "ports": [], "per_region": {"eu_west": null, "us_east": null}}),
    );
    assert!(args.labels.is_empty() && args.overrides.is_none() && args.per_region.is_empty());
}

#[test]
fn malformed_map_entries_are_left_for_the_deserializer() {
    let schema = strict_for::<LabelArgs>();
    let args = schema.to_tool_arguments(json!({"labels": [{"name": "team"}]}));
    assert_eq!(args["labels"], json!([{"name": "team"}]));
}

// ---------------------------------------------------------------- recursion

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Step {
    name: String,
    params: BTreeMap<String, String>,
    on_failure: Option<Box<Step>>,
    then: Vec<Step>,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct RunbookArgs {
    title: String,
    first: Step,
}

#[test]
fn recursive_types_keep_refs_and_reshape_at_every_level() {
    let schema = strict_for::<RunbookArgs>();
    let step = &schema.schema()["$defs"]["Step"];
    assert_eq!(
        step["properties"]["then"]["items"],
        json!({"$ref": "#/$defs/Step"})
    );
    assert_eq!(
        step["properties"]["on_failure"]["anyOf"][0],
        json!({"$ref": "#/$defs/Step"})
    );
    let maps: Vec<&str> = schema.reshape().map_paths().collect();
    assert_eq!(maps, ["/$defs/Step/properties/params"]);

    let args: RunbookArgs = decode(
        &schema,
        json!({
            "title": "failover",
            "first": {
                "name": "drain",
                "params": [{"key": "node", "value": "n1"}],
                "on_failure": {"name": "page", "params": [{"key": "team", "value": "sre"}], "on_failure": null, "then": []},
                "then": [{"name": "promote", "params": [], "on_failure": null, "then": []}]
            }
        }),
    );
    assert_eq!(args.first.params["node"], "n1");
    assert_eq!(
        args.first.on_failure.as_ref().unwrap().params["team"],
        "sre"
    );
    assert_eq!(args.first.then[0].name, "promote");
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Tree {
    value: String,
    labels: HashMap<String, String>,
    children: Vec<Tree>,
}

#[test]
fn root_recursion_through_hash_ref() {
    let schema = strict_for::<Tree>();
    assert_eq!(
        schema.schema()["properties"]["children"]["items"],
        json!({"$ref": "#"})
    );
    let tree: Tree = decode(
        &schema,
        json!({"value": "a", "labels": [], "children": [{"value": "b", "labels": [{"key": "k", "value": "v"}], "children": []}]}),
    );
    assert_eq!(tree.children[0].labels["k"], "v");
}

// ---------------------------------------------------------------- normaliser rejections

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct FreeForm {
    payload: Value,
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct FreeObject {
    payload: serde_json::Map<String, Value>,
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct Flattened {
    name: String,
    #[serde(flatten)]
    extra: HashMap<String, String>,
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct Pair {
    range: (u32, u32),
}

#[test]
fn what_strict_mode_cannot_express_is_rejected_with_the_path() {
    let err = strict(generated::<FreeForm>()).unwrap_err();
    assert_eq!(err.path(), "/properties/payload");
    assert!(err.to_string().contains("strict(false)"), "{err}");

    let err = strict(generated::<FreeObject>()).unwrap_err();
    assert!(
        matches!(err, SchemaError::FreeFormObject { ref path } if path == "/properties/payload"),
        "{err}"
    );

    let err = strict(generated::<Flattened>()).unwrap_err();
    assert!(
        matches!(err, SchemaError::MapWithFixedProperties { .. }),
        "{err}"
    );

    let err = strict(generated::<Pair>()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/properties/range: keyword \"prefixItems\" is not supported in strict mode; tuples cannot be expressed; use an object with named properties"
    );

    let err = strict(generated::<Strategy>()).unwrap_err();
    assert!(matches!(err, SchemaError::RootNotObject { .. }), "{err}");
    let err = strict(generated::<Target>()).unwrap_err();
    assert!(matches!(err, SchemaError::RootNotObject { .. }), "{err}");
    let err = strict(generated::<HashMap<String, u32>>()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "(root): the root must be an object schema (\"type\": \"object\"), found a map (free-form keys); wrap the value in an object with named properties"
    );

    let err = strict(json!({"type": "object", "properties": {"a": {"allOf": [{"type": "string"}, {"minLength": 1}]}}})).unwrap_err();
    assert_eq!(err.path(), "/properties/a");
    assert!(
        matches!(err, SchemaError::UnsupportedKeyword { ref keyword, .. } if keyword == "allOf")
    );
    let err = strict(
        json!({"type": "object", "properties": {"a": {"type": "string", "not": {"const": "x"}}}}),
    )
    .unwrap_err();
    assert!(matches!(err, SchemaError::UnsupportedKeyword { ref keyword, .. } if keyword == "not"));
}

#[test]
fn harmless_keywords_are_dropped_supported_formats_kept() {
    let schema = strict(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "ip": {"type": "string", "format": "ipv4"},
            "uri": {"type": "string", "format": "uri", "minLength": 1, "maxLength": 200},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "minItems": 1},
            "ratio": {"type": "number", "format": "double", "default": 0.5, "examples": [0.1]},
            "nested": {"allOf": [{"type": "object", "properties": {"x": {"type": "integer", "format": "int64"}}}]}
        },
        "required": ["id", "ip", "uri", "tags", "ratio", "nested"]
    }))
    .unwrap();
    let p = &schema["properties"];
    assert_eq!(p["id"], json!({"type": "string", "format": "uuid"}));
    assert_eq!(p["ip"]["format"], "ipv4");
    assert_eq!(p["uri"], json!({"type": "string"}));
    assert_eq!(
        p["tags"],
        json!({"type": "array", "items": {"type": "string"}, "minItems": 1})
    );
    assert_eq!(p["ratio"], json!({"type": "number"}));
    // `x` was optional: now required and nullable.
    assert_eq!(
        p["nested"]["properties"]["x"],
        json!({"type": ["integer", "null"]})
    );
    assert_eq!(p["nested"]["required"], json!(["x"]));
    assert_eq!(p["nested"]["additionalProperties"], false);
}

// ---------------------------------------------------------------- validator rejections

fn object(properties: Value) -> Value {
    let required: Vec<String> = properties.as_object().unwrap().keys().cloned().collect();
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

fn rejects(schema: Value) -> SchemaError {
    validate_strict(&schema).expect_err("the validator rejects it")
}

#[test]
fn validator_accepts_a_hand_written_strict_schema() {
    let schema = json!({
        "type": "object",
        "properties": {
            "app": {"type": "string", "description": "Argo CD application", "pattern": "^[a-z-]+$"},
            "environment": {"type": "string", "enum": ["staging", "production"]},
            "revision": {"type": ["string", "null"]},
            "prune": {"type": "boolean"},
            "timeout_s": {"type": "integer", "minimum": 1, "maximum": 3600},
            "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}, "maxItems": 10},
            "mode": {"anyOf": [{"const": "sync"}, {"type": "null"}]}
        },
        "required": ["app", "environment", "revision", "prune", "timeout_s", "steps", "mode"],
        "additionalProperties": false,
        "$defs": {"step": object(json!({"name": {"type": "string"}, "next": {"anyOf": [{"$ref": "#/$defs/step"}, {"type": "null"}]}}))}
    });
    validate_strict(&schema).unwrap();
}

#[test]
fn validator_names_each_violation_precisely() {
    let cases: Vec<(Value, &str)> = vec![
        (
            object(json!({"spec": {"type": "object", "properties": {}, "required": []}})),
            "/properties/spec: object is missing \"additionalProperties\": false",
        ),
        (
            json!({"type": "object", "properties": {"group": {"type": "string"}, "tags": {"type": ["array", "null"], "items": {"type": "string"}}}, "required": ["group"], "additionalProperties": false}),
            "(root): property \"tags\" is not listed in \"required\"; make it required and nullable (for example \"type\": [\"string\", \"null\"])",
        ),
        (
            json!({"type": "object", "properties": {}, "required": [], "additionalProperties": true}),
            "(root): \"additionalProperties\" must be false in strict mode, found true; declare every property (a free-form object needs `strict(false)`)",
        ),
        (
            object(
                json!({"labels": {"type": "object", "additionalProperties": {"type": "string"}}}),
            ),
            "/properties/labels: a map (\"additionalProperties\" with a schema) cannot be expressed in strict mode; pass it as an array of {\"key\", \"value\"} entries, or register the tool with `strict(false)`",
        ),
        (
            json!({"type": "object", "properties": {"mode": {"$ref": "#/$defs/Mode"}}, "required": ["mode"], "additionalProperties": false,
                   "$defs": {"Mode": {"oneOf": [{"const": "a"}, {"const": "b"}]}}}),
            "/$defs/Mode: keyword \"oneOf\" is not supported in strict mode; use \"anyOf\" instead",
        ),
        (
            object(json!({"mode": {"$ref": "#/$defs/Missing"}})),
            "/properties/mode: \"$ref\": \"#/$defs/Missing\" cannot be resolved; point it at the root (\"#\") or at an entry of the root \"$defs\"",
        ),
        (
            object(json!({"mode": {"$ref": "https://example.com/mode.json"}})),
            "/properties/mode: \"$ref\": \"https://example.com/mode.json\" cannot be resolved; point it at the root (\"#\") or at an entry of the root \"$defs\"",
        ),
        (
            json!({"type": "object", "properties": {"m": {"$ref": "#/$defs/M", "description": "mode"}}, "required": ["m"], "additionalProperties": false, "$defs": {"M": {"type": "string"}}}),
            "/properties/m: \"$ref\" cannot have sibling keywords (description); move them into the referenced definition or inline it",
        ),
        (
            json!({"type": "array", "items": {"type": "string"}}),
            "(root): the root must be an object schema (\"type\": \"object\"), found \"type\": \"array\"; wrap the value in an object with named properties",
        ),
        (
            json!({"anyOf": [object(json!({}))]}),
            "(root): the root must be an object schema (\"type\": \"object\"), found a union (\"anyOf\"/\"oneOf\"); wrap the value in an object with named properties",
        ),
        (
            object(json!({"n": {"type": "integer", "default": 3}})),
            "/properties/n: keyword \"default\" is not supported in strict mode; remove it: strict mode makes every property required, so a default never applies",
        ),
        (
            object(json!({"n": {"type": "integer", "format": "int64"}})),
            "/properties/n: format \"int64\" is not supported in strict mode; remove it or use one of date-time, time, date, duration, email, hostname, ipv4, ipv6, uuid",
        ),
        (
            object(json!({"xs": {"type": "array"}})),
            "/properties/xs: array has no \"items\" schema; strict mode needs the item type",
        ),
        (
            object(json!({"v": {}})),
            "/properties/v: schema accepts any JSON value; strict mode needs a \"type\", \"anyOf\", \"enum\", \"const\" or \"$ref\" (a free-form value needs `strict(false)`)",
        ),
        (
            object(json!({"v": true})),
            "/properties/v: boolean schema `true` is not supported in strict mode; give the value a concrete type (a free-form JSON value needs `strict(false)`)",
        ),
        (
            object(json!({"v": {"type": "object", "additionalProperties": false}})),
            "/properties/v: free-form object (no \"properties\") is not supported in strict mode; declare its properties, or register the tool with `strict(false)`",
        ),
        (
            object(json!({"v": {"type": "datetime"}})),
            "/properties/v: unknown type \"datetime\"; expected string, number, integer, boolean, object, array or null",
        ),
        (
            json!({"type": "object", "properties": {}, "required": ["ghost"], "additionalProperties": false}),
            "(root): \"required\" lists \"ghost\", which is not in \"properties\"",
        ),
        (
            object(json!({"s": {"type": "string", "minLength": 3}})),
            "/properties/s: keyword \"minLength\" is not supported in strict mode; remove it, or use \"pattern\", and check the length in the tool",
        ),
        (
            object(
                json!({"s": {"type": "object", "properties": {}, "required": [], "additionalProperties": false, "$defs": {}}}),
            ),
            "/properties/s: \"$defs\" is only supported at the root; move the definitions there",
        ),
        (
            object(json!({"weird/name": {"type": "string", "nullable": true}})),
            "/properties/weird~1name: keyword \"nullable\" is not supported in strict mode; add \"null\" to \"type\" (for example [\"string\", \"null\"]) instead",
        ),
        (
            object(json!({"n": {"type": "integer", "minimum": "0"}})),
            "/properties/n: \"minimum\" must be a number",
        ),
    ];
    for (schema, expected) in cases {
        let err = rejects(schema.clone());
        assert_eq!(err.to_string(), expected, "for {schema}");
    }
}

#[test]
fn validator_enforces_size_limits() {
    // Eleven levels of nested objects; ten are allowed.
    let mut deep = object(json!({"leaf": {"type": "string"}}));
    for _ in 0..10 {
        deep = object(json!({"inner": deep}));
    }
    let err = rejects(deep);
    assert!(
        matches!(
            err,
            SchemaError::TooDeep {
                depth: 11,
                limit: 10,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.path(),
        format!("{}/properties/inner", "/properties/inner".repeat(9))
    );

    let values: Vec<String> = (0..1001).map(|i| format!("v{i}")).collect();
    let err = rejects(object(json!({"e": {"type": "string", "enum": values}})));
    assert!(
        matches!(err, SchemaError::TooManyEnumValues { count: 1001, .. }),
        "{err}"
    );

    let long: Vec<String> = (0..300).map(|i| format!("{i:0>60}")).collect();
    let err = rejects(object(json!({"e": {"type": "string", "enum": long}})));
    assert!(
        matches!(err, SchemaError::LargeEnumTooLong { chars: 18000, .. }),
        "{err}"
    );
    assert_eq!(err.path(), "/properties/e");

    let many: serde_json::Map<String, Value> = (0..5001)
        .map(|i| (format!("p{i}"), json!({"type": "string"})))
        .collect();
    let err = rejects(object(Value::Object(many)));
    assert!(
        matches!(
            err,
            SchemaError::TooManyProperties {
                count: 5001,
                limit: 5000
            }
        ),
        "{err}"
    );

    // Recursion is not nesting: a self-referencing definition passes.
    let recursive = json!({
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/node"}},
        "required": ["root"],
        "additionalProperties": false,
        "$defs": {"node": object(json!({"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}))}
    });
    validate_strict(&recursive).unwrap();
}

use bighub::Action;

/// Scale a deployment.
#[bighub::action(system = "kubernetes")]
fn scale(
    deployment: String,
    replicas: u32,
    delta: i64,
    max_surge: f64,
    ratio: f32,
    dry_run: bool,
    mut r#type: String,
) -> String {
    r#type.push('!');
    format!("{deployment} {replicas} {delta} {max_surge} {ratio} {dry_run} {type}", type = r#type)
}

fn main() {
    let schema = Scale.parameters_schema();
    let properties = &schema["properties"];
    assert_eq!(properties["deployment"]["type"], "string");
    assert_eq!(properties["replicas"]["type"], "integer");
    assert_eq!(properties["delta"]["type"], "integer");
    assert_eq!(properties["max_surge"]["type"], "number");
    assert_eq!(properties["ratio"]["type"], "number");
    assert_eq!(properties["dry_run"]["type"], "boolean");
    assert_eq!(properties["type"]["type"], "string");
    // The function stays callable as written.
    assert_eq!(scale("web".into(), 3, -1, 0.5, 0.25, true, "t".into()), "web 3 -1 0.5 0.25 true t!");
}

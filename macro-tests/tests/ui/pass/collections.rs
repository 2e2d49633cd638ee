use std::collections::{BTreeMap, HashMap};

use bighub::Action;

/// Label resources.
#[bighub::action(system = "kubernetes")]
fn label(names: Vec<String>, labels: HashMap<String, String>, limits: BTreeMap<String, u64>) -> usize {
    names.len() + labels.len() + limits.len()
}

fn main() {
    let schema = Label.parameters_schema();
    let properties = &schema["properties"];
    assert_eq!(properties["names"]["type"], "array");
    assert_eq!(properties["names"]["items"]["type"], "string");
    assert_eq!(properties["labels"]["type"], "object");
    assert_eq!(properties["labels"]["additionalProperties"]["type"], "string");
    assert_eq!(properties["limits"]["additionalProperties"]["type"], "integer");
}

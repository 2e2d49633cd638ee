use bighub::{Action, tool::ToolContext};

/// Read a config value.
#[bighub::action(system = "consul", risk = "low")]
fn read_config(key: String) -> String {
    format!("value of {key}")
}

/// Write a config value.
#[bighub::action(system = "consul")]
async fn write_config(key: String, value: String) -> String {
    format!("{key}={value}")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let read = runtime
        .block_on(ReadConfig.call(serde_json::json!({"key": "a"}), ToolContext::default()))
        .unwrap();
    assert_eq!(read, "value of a");
    let written = runtime
        .block_on(WriteConfig.call(serde_json::json!({"key": "a", "value": "1"}), ToolContext::default()))
        .unwrap();
    assert_eq!(written, "a=1");
}

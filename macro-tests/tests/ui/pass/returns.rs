use std::fmt;

use bighub::{Action, ToolError, tool::ToolContext};

/// Flush a cache.
#[bighub::action(system = "redis")]
fn flush_cache(prefix: String) {
    let _ = prefix;
}

/// Count keys.
#[bighub::action(system = "redis", risk = "low")]
fn count_keys() -> u64 {
    42
}

#[derive(Debug)]
struct QuotaExceeded;

impl fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("quota exceeded")
    }
}

/// Create a bucket.
#[bighub::action(system = "s3")]
async fn create_bucket(name: String) -> Result<String, QuotaExceeded> {
    if name == "full" { Err(QuotaExceeded) } else { Ok(name) }
}

/// Delete a bucket.
#[bighub::action(system = "s3", risk = "high")]
fn delete_bucket(name: String) -> std::io::Result<bool> {
    Ok(!name.is_empty())
}

/// Tag a bucket.
#[bighub::action(system = "s3")]
fn tag_bucket(name: String) -> Result<(), ToolError> {
    let _ = name;
    Ok(())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let ctx = ToolContext::default;
    let flushed = runtime.block_on(FlushCache.call(serde_json::json!({"prefix": "a"}), ctx())).unwrap();
    assert_eq!(flushed, serde_json::Value::Null);
    assert_eq!(runtime.block_on(CountKeys.call(serde_json::Value::Null, ctx())).unwrap(), 42);
    let err = runtime.block_on(CreateBucket.call(serde_json::json!({"name": "full"}), ctx())).unwrap_err();
    assert_eq!(err.message(), "quota exceeded");
    assert_eq!(runtime.block_on(DeleteBucket.call(serde_json::json!({"name": "b"}), ctx())).unwrap(), true);
    assert_eq!(runtime.block_on(TagBucket.call(serde_json::json!({"name": "b"}), ctx())).unwrap(), serde_json::Value::Null);
}

/// Flush a cache.
#[bighub::action(system = "redis")]
fn flush(_: String) -> bool {
    true
}

fn main() {}

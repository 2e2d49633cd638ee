/// Log a formatted message.
#[bighub::action(system = "syslog")]
unsafe extern "C" fn log(level: i32, args: ...) -> i32 {
    let _ = args;
    level
}

fn main() {}

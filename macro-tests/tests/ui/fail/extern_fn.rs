/// Call a C library.
#[bighub::action(system = "legacy")]
extern "C" fn legacy(code: i32) -> i32 {
    code
}

fn main() {}

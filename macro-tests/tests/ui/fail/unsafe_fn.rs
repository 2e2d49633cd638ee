/// Write to a register.
#[bighub::action(system = "firmware")]
unsafe fn poke(address: u64, value: u8) -> bool {
    let _ = (address, value);
    true
}

fn main() {}

use flowtrace_runtime::flowtrace;

#[flowtrace(skip(pin), redact(pin))]
fn unlock(pin: u32, door: u8) -> bool {
    pin > 0 && door > 0
}

#[flowtrace(skip_all, redact(door))]
fn lock(pin: u32, door: u8) -> bool {
    pin > 0 && door > 0
}

fn main() {}

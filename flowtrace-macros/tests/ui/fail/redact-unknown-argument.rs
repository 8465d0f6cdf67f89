use flowtrace_runtime::flowtrace;

#[flowtrace(redact(pin_code))]
fn unlock(pin: u32) -> bool {
    pin > 0
}

fn main() {}

use flowtrace_runtime::flowtrace;

#[flowtrace(skip(a, a))]
fn skipped(a: u8, b: u8) -> u8 {
    a + b
}

#[flowtrace(redact(b, b))]
fn redacted(a: u8, b: u8) -> u8 {
    a + b
}

fn main() {}

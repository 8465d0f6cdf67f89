use flowtrace_runtime::flowtrace;

#[flowtrace(sample = -0.5)]
fn work() {}

fn main() {}

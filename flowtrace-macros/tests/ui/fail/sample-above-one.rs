use flowtrace_runtime::flowtrace;

#[flowtrace(sample = 1.5)]
fn work() {}

fn main() {}

use flowtrace_runtime::flowtrace;

#[flowtrace(sample = 0)]
fn work() {}

fn main() {}

use flowtrace_runtime::flowtrace;

#[flowtrace(sample = 0.5, ret, sample = 0.1)]
fn work() {}

fn main() {}

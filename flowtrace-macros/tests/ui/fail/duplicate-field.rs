use flowtrace_runtime::flowtrace;

#[flowtrace(fields(size = 1, size = 2))]
fn work() {}

fn main() {}

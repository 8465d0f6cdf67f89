use flowtrace_runtime::flowtrace;

#[flowtrace(level = "debug")]
fn work() {}

fn main() {}

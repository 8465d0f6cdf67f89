use flowtrace_runtime::flowtrace;

#[flowtrace(name = "a", name = "b")]
fn work() {}

fn main() {}

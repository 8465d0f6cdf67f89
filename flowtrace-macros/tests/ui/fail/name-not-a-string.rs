use flowtrace_runtime::flowtrace;

#[flowtrace(name = work)]
fn work() {}

fn main() {}

use flowtrace_runtime::flowtrace;

// The generated code names the runtime by the given path, so a wrong one is reported there.
#[flowtrace(crate = nowhere)]
fn work() {}

fn main() {}

use flowtrace_runtime::flowtrace;

// serde and tokio take a string here; `#[flowtrace]` takes the path itself.
#[flowtrace(crate = "flowtrace")]
fn work() {}

fn main() {}

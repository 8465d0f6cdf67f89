// The runtime is a dependency here only as `flowtrace`: without `crate = flowtrace`, the
// generated code looks for `::flowtrace_runtime`.
use flowtrace::flowtrace;

#[flowtrace]
fn work() {}

fn main() {
    work();
}

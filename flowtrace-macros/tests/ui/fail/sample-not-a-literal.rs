use flowtrace_runtime::flowtrace;

const RATE: f64 = 0.1;

// The macro reads the fraction from its tokens: a constant's value is not known to it.
#[flowtrace(sample = RATE)]
fn work() {}

fn main() {}

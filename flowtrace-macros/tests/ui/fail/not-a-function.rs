use flowtrace_runtime::flowtrace;

#[flowtrace]
struct Config {
    verbose: bool,
}

fn main() {}

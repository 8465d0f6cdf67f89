use flowtrace_runtime::flowtrace;

#[flowtrace]
fn label(n: u8) -> String {
    n
}

fn main() {}

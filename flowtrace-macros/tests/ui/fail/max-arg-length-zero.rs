use flowtrace_runtime::flowtrace;

#[flowtrace(max_arg_length = 0)]
fn work(a: &str) -> usize {
    a.len()
}

fn main() {}

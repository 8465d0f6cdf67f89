use flowtrace_runtime::flowtrace;

#[flowtrace(skip_all, skip(a))]
fn work(a: u8) -> u8 {
    a
}

fn main() {}

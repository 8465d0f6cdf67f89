use flowtrace_runtime::flowtrace;

#[flowtrace]
const fn answer() -> u32 {
    42
}

fn main() {}

use flowtrace_runtime::flowtrace;

#[flowtrace(ret)]
#[track_caller]
fn checked(value: u32) -> u32 {
    value
}

fn main() {}

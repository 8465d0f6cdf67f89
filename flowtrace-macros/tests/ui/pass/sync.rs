use flowtrace_runtime::flowtrace;

#[flowtrace]
fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[flowtrace]
fn unit(_name: &str) {}

#[flowtrace]
pub(crate) fn early_return(x: i32) -> i32 {
    if x > 0 {
        return x;
    }
    -x
}

fn main() {
    assert_eq!(add(1, 2), 3);
    unit("x");
    assert_eq!(early_return(-2), 2);
}

use std::fmt::Debug;

use flowtrace_runtime::flowtrace;

#[flowtrace]
fn largest<T, const N: usize>(items: [T; N]) -> Option<T>
where
    T: PartialOrd + Copy + Debug,
{
    items.iter().copied().fold(None, |best, x| match best {
        Some(b) if b >= x => Some(b),
        _ => Some(x),
    })
}

#[flowtrace]
fn lifetimes<'a, 'b: 'a>(a: &'a str, _b: &'b str) -> &'a str {
    a
}

fn main() {
    assert_eq!(largest([1, 5, 3]), Some(5));
    assert_eq!(lifetimes("a", "b"), "a");
}

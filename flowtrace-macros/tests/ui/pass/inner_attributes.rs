#![deny(unused_variables)]

use flowtrace_runtime::flowtrace;

#[flowtrace]
#[inline]
#[must_use]
fn with_inner(flag: bool) -> u8 {
    #![allow(clippy::needless_bool)]
    if flag { 1 } else { 0 }
}

/// Documented.
#[flowtrace]
#[allow(dead_code)]
fn unused_but_allowed() {}

fn main() {
    assert_eq!(with_inner(true), 1);
}

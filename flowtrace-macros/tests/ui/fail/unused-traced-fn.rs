#![deny(dead_code)]

use flowtrace_runtime::flowtrace;

#[flowtrace]
fn never_called(a: u8) -> u8 {
    a
}

fn main() {}

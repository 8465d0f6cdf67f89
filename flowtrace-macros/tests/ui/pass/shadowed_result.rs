// User types named like the ones the expansion could refer to must not confuse it.
#![allow(dead_code)]

use flowtrace_runtime::flowtrace;

type Result<T> = std::result::Result<T, String>;

#[derive(Debug)]
enum Option {
    Yes,
    No,
}

struct Wrap;
struct Call;
fn enter() {}

#[flowtrace]
fn uses_alias(ok: bool) -> Result<u8> {
    if ok { Ok(1) } else { Err("no".to_owned()) }
}

#[flowtrace]
fn uses_own_option(flag: bool) -> Option {
    if flag { Option::Yes } else { Option::No }
}

fn main() {
    assert_eq!(uses_alias(true), Ok(1));
    assert!(matches!(uses_own_option(false), Option::No));
}

//! A crate that depends on the runtime as `flowtrace = { package = "flowtrace-runtime" }`, as a
//! user who renames the dependency does, with `#[flowtrace(crate = flowtrace)]` on its functions.
//! There is no `flowtrace_runtime` in scope here, so this library compiles only if the generated
//! code names the runtime by the given path; `tests/trace.rs` runs the functions and reads their
//! trace, `tests/ui/` pins the error a traced function without the option gets. (No doctest: a
//! traced call outside a test's `Config` would start tracing into `flowtrace.jsonl` here.)

use flowtrace::flowtrace;

/// A traced sync function.
#[flowtrace(crate = flowtrace, ret)]
pub fn add(a: u64, b: u64) -> u64 {
    a + b
}

/// A traced async function calling a traced sync one, through an absolute path.
#[flowtrace(crate = ::flowtrace, sample = 1)]
pub async fn double(a: u64) -> u64 {
    add(a, a)
}

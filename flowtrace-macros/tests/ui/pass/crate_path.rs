// `crate = path` names the runtime, for a renamed dependency (tested in `tests/renamed-dependency`,
// a crate that has the runtime only as `flowtrace`) or a re-export, in any form a `use` takes.
use flowtrace_runtime::flowtrace;

mod reexport {
    pub use ::flowtrace_runtime as runtime;
}

#[flowtrace(crate = flowtrace_runtime)]
fn by_name(a: u64) -> u64 {
    a + 1
}

#[flowtrace(crate = ::flowtrace_runtime, sample = 0.5, ret)]
async fn absolute(a: u64) -> u64 {
    a * 2
}

#[flowtrace(skip_all, crate = crate::reexport::runtime)]
fn through_a_reexport(_secret: &str) {}

mod nested {
    use super::flowtrace;

    #[flowtrace(crate = super::reexport::runtime)]
    pub(crate) fn relative() -> impl Iterator<Item = u8> {
        [1, 2].into_iter()
    }
}

fn main() {
    assert_eq!(by_name(1), 2);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(absolute(2)), 4);
    through_a_reexport("x");
    assert_eq!(nested::relative().count(), 2);
}

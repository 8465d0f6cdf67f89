//! A sync call whose body runs inline in the traced function instead of in a closure.
//!
//! The macro uses it when the function returns `impl Trait` (not a future) without `ret`: such a
//! type cannot be given to a body closure, and without it a returned closure
//! (`-> impl Fn(&str) -> usize { |s| s.len() }`) cannot infer its parameters. Inline, as the
//! function's tail, the body keeps the declared type as its expected type. The call is closed
//! by a guard when the function ends: EXIT when it returns (an opaque value is never an
//! `Err`), PANIC when it unwinds, with the message the panic hook saw (see `exit_hook`)
//! instead of one from `catch_unwind`.

use crate::call::Call;
use crate::local::{self, Current};

/// An open inline call; closes when dropped, at the end of the traced function.
#[derive(Debug)]
#[must_use]
pub struct InlineCall {
    call: Call,
    previous: Current,
    /// Called from a destructor during an unwind: that panic is not this call's.
    entered_panicking: bool,
}

impl InlineCall {
    /// Makes `call` the current call of this thread until the returned guard ends.
    #[inline(always)]
    pub fn enter(call: Option<Call>) -> Option<Self> {
        let call = call?;
        let previous = local::swap_current(call.current());
        Some(Self {
            call,
            previous,
            entered_panicking: std::thread::panicking(),
        })
    }
}

impl Drop for InlineCall {
    fn drop(&mut self) {
        local::swap_current(self.previous);
        if std::thread::panicking() && !self.entered_panicking {
            self.call.panicked(crate::exit_hook::take_panic_message());
        } else {
            self.call.exit(None);
        }
    }
}

//! Making sure records already produced reach the file when the program ends without a guard.
//!
//! Rust runs no destructors for statics, so a program that never kept a [`FlushGuard`] (the
//! zero-config path) would lose whatever was still queued when `main` returns. Two hooks close
//! that gap, installed once, when tracing first starts:
//!
//! - a C `atexit` handler drains the rings and joins the writer. It runs after `main` returns,
//!   after `std::process::exit`, and after a panic unwound out of `main` (the Rust runtime turns
//!   that into exit code 101 through `exit`);
//! - a panic hook flushes (bounded) after the previous hook has printed the message, so that with
//!   `panic = "abort"` the records produced before the panic are on disk too.
//!
//! Both are installed outside the state lock: a panic hook of the user's that calls a traced
//! function holds std's hook lock while it waits for the state lock. A thread that is panicking
//! cannot replace the panic hook (std panics, which aborts), so when tracing first starts
//! during an unwind, the panic hook waits for the next start; the exit handler covers that run.
//!
//! # Why this module uses `unsafe`
//! Registering the handler is a call to the C library's `atexit`, which Rust can only make
//! through FFI. The handler itself is a plain `extern "C" fn` with no arguments that never
//! unwinds (it catches panics), which is all `atexit` requires.
//!
//! [`FlushGuard`]: crate::FlushGuard

use std::cell::Cell;
use std::panic;
use std::sync::{Once, OnceLock};
use std::time::Duration;

use crate::json::Payload;

/// How long the panic hook waits for the writer; a panicking program should not hang.
const PANIC_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

static EXIT_HANDLER: Once = Once::new();
static PANIC_HOOK: Once = Once::new();
static HOOKS: OnceLock<Hooks> = OnceLock::new();

/// What the hooks do, given by the tracing state (which this module does not know).
pub(crate) struct Hooks {
    /// Writes everything queued and stops the writer.
    pub(crate) shutdown: fn(),
    /// Writes everything queued, waiting at most the given time, never blocking on a lock
    /// the panicking thread may hold.
    pub(crate) flush: fn(Duration),
}

/// Installs whichever hook is not installed yet (and can be, on this thread).
pub(crate) fn install(hooks: Hooks) {
    let _ = HOOKS.set(hooks);
    EXIT_HANDLER.call_once(register_exit_handler);
    if !std::thread::panicking() {
        PANIC_HOOK.call_once(chain_panic_hook);
    }
}

fn register_exit_handler() {
    #[allow(unsafe_code)]
    // SAFETY: `drain_at_exit` is an `extern "C" fn()` that never unwinds; registering it has no
    // other precondition. A non-zero result only means the handler table is full.
    let registered = unsafe { libc::atexit(drain_at_exit) } == 0;
    if !registered {
        crate::error::report(format_args!(
            "could not register the exit handler; keep the FlushGuard from \
             flowtrace_runtime::init() so that no record is lost at exit"
        ));
    }
}

thread_local! {
    /// The message of this thread's latest panic, for calls that cannot catch it (see
    /// `inline_call`); taken by the first of them that closes.
    static PANIC_MESSAGE: Cell<Option<Payload>> = const { Cell::new(None) };
}

/// The message of the panic unwinding on this thread, when the panic hook saw it.
pub(crate) fn take_panic_message() -> Option<Payload> {
    PANIC_MESSAGE.try_with(Cell::take).ok().flatten()
}

fn chain_panic_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let message = crate::json::panic_message(info.payload());
        let _ = PANIC_MESSAGE.try_with(|slot| slot.set(Some(message)));
        previous(info);
        if let Some(hooks) = HOOKS.get() {
            (hooks.flush)(PANIC_FLUSH_TIMEOUT);
        }
    }));
}

extern "C" fn drain_at_exit() {
    // Unwinding out of an `extern "C" fn` aborts; shutdown does not panic, but never risk it.
    if let Some(hooks) = HOOKS.get() {
        let _ = panic::catch_unwind(hooks.shutdown);
    }
}

//! flowtrace's own threads (the writer, the OTLP exporter) record nothing.
//!
//! A user's sink that calls a traced function runs on the writer thread: recorded, its records
//! would feed the writer its own output forever, and with a full ring it would wait for room
//! that only the writer itself can make.

use std::cell::Cell;

thread_local! {
    static OWN: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as one of flowtrace's own.
pub(crate) fn mark() {
    let _ = OWN.try_with(|own| own.set(true));
}

/// True on one of flowtrace's own threads.
pub(crate) fn is_own() -> bool {
    OWN.try_with(Cell::get).unwrap_or(false)
}

//! Giving memory back to the operating system when the last connection has gone.
//!
//! Each tokio worker allocates from its own glibc arena. When a burst of connections ends,
//! their buffers are freed, but glibc keeps the pages for reuse: a server that had 250
//! clients for a moment stayed ~7 MiB above its idle size for good. `malloc_trim` returns the
//! free pages of every arena; it runs once the connection count reaches zero, on a blocking
//! thread, so it never holds up a worker.
//!
//! This is the one module of the demo with `unsafe`: a call into the C library, which has no
//! preconditions (see the comment on the call).
#![allow(unsafe_code)]

/// Returns freed heap pages to the operating system where the allocator supports it.
pub(crate) fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes a plain integer, only touches the allocator's own state (under
    // its locks), and may be called from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

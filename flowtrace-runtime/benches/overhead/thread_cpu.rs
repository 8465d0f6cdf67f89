//! The calling thread's own CPU time per call: what a traced call costs the thread that
//! makes it, with the writer's work on the other core left out.
//!
//! # Why this file uses `unsafe`
//! The thread's CPU clock is only reachable through `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`,
//! a libc call; it writes into the `timespec` it is given and has no other precondition.

/// Nanoseconds of CPU this thread has used.
fn thread_cpu_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    #[allow(unsafe_code)]
    // SAFETY: `now` is a valid, writable timespec; the clock id is a constant libc defines.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// The median over `rounds` of this thread's CPU ns per call of `call`, made `calls` times;
/// `between` runs after each round, outside the measurement. As many rounds run before,
/// unmeasured: the first records written into fresh memory pay its page faults.
pub(crate) fn ns_per_call(
    rounds: usize,
    calls: u64,
    mut call: impl FnMut(u64),
    mut between: impl FnMut(),
) -> f64 {
    let mut per_call: Vec<f64> = (0..2 * rounds)
        .map(|_| {
            let start = thread_cpu_ns();
            for n in 0..calls {
                call(n);
            }
            let spent = thread_cpu_ns() - start;
            between();
            spent as f64 / calls as f64
        })
        .skip(rounds)
        .collect();
    per_call.sort_by(f64::total_cmp);
    per_call[per_call.len() / 2]
}

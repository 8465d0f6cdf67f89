//! A traced program for the process-level tests: it uses the zero-config path (no `init`, no
//! guard), configured only by `FLOWTRACE_*` variables, and ends the way the test asks.
//!
//! `traced_program CALLS [THREADS] [return|panic|exit|unwinding|locked-stdout]` makes CALLS traced calls on
//! each of THREADS threads, prints their sum, then returns from `main`, panics out of `main`,
//! calls `std::process::exit(0)`, or makes a traced call from a destructor run by a caught panic
//! (with CALLS = 0, the call that starts tracing) and returns. `locked-stdout` instead makes
//! the CALLS on the main thread while it holds the lock on stdout, then prints the sum.

use std::io::Write as _;
use std::process::ExitCode;

use flowtrace_runtime::flowtrace;

#[flowtrace]
fn step(n: u64, label: &str) -> u64 {
    n + label.len() as u64
}

#[flowtrace]
fn finale(reason: &str) {
    if reason == "panic" {
        panic!("finale panicked on purpose");
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |index: usize, default: u64| -> Result<u64, String> {
        args.get(index).map_or(Ok(default), |text| {
            text.parse().map_err(|_| format!("not a number: {text:?}"))
        })
    };
    let (calls, threads) = match (number(0, 10), number(1, 1)) {
        (Ok(calls), Ok(threads)) => (calls, threads),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!(
                "usage: traced_program CALLS [THREADS] [return|panic|exit|unwinding|locked-stdout]: {error}"
            );
            return ExitCode::from(2);
        }
    };
    let ending = args.get(2).map_or("return", String::as_str).to_owned();
    if ending == "locked-stdout" {
        // Traced calls while this thread holds stdout, as a program printing a report might.
        let mut out = std::io::stdout().lock();
        let total: u64 = (0..calls).map(|n| step(n, "ab")).sum();
        return match writeln!(out, "{total}") {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }
    let workers: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(move || (0..calls).map(|n| step(n, "ab")).sum::<u64>()))
        .collect();
    let total: u64 = workers.into_iter().map(|w| w.join().unwrap_or(0)).sum();
    println!("{total}");
    match ending.as_str() {
        "exit" => std::process::exit(0),
        "unwinding" => {
            let caught = std::panic::catch_unwind(|| {
                let _traces = TracesOnDrop;
                panic!("unwinding on purpose");
            });
            if caught.is_ok() {
                return ExitCode::FAILURE;
            }
        }
        other => finale(other),
    }
    ExitCode::SUCCESS
}

/// Makes a traced call while a panic unwinds through it.
struct TracesOnDrop;

impl Drop for TracesOnDrop {
    fn drop(&mut self) {
        finale("dropped while unwinding");
    }
}

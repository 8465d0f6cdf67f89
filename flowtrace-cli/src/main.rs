//! The `flowtrace` binary: a thin shell over [`flowtrace_cli::run`]. Run
//! `flowtrace --help` (or `cargo run -p flowtrace-cli -- --help`) for the subcommands.

fn main() {
    std::process::exit(flowtrace_cli::run(std::env::args_os()));
}

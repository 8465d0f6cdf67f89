//! The `flowtrace` command itself (the library's entry point), built with the tests so that they
//! can run it on the traces of real processes: `flowtrace_cli_run tree --trace ID a.jsonl b.jsonl`.

fn main() -> std::process::ExitCode {
    let code = flowtrace_cli::run(std::env::args_os());
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}

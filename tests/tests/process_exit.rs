//! The runtime as a real process sees it: records written at exit without a guard, on panic,
//! under a flood in `drop` mode, and a trace path that cannot be used.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    command(dir, env, args)
        .output()
        .expect("run traced_program")
}

fn command(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_traced_program"));
    command.args(args).current_dir(dir);
    // Only the variables a test sets: the child must not inherit the caller's tracing setup.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("FLOWTRACE_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("trace file exists")
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is whole JSON"))
        .collect()
}

/// `flowtrace check`: the format and every invariant of the record format hold.
fn assert_checks(path: &Path) {
    let report = flowtrace_cli::check_files(&[path.to_path_buf()]).expect("check runs");
    assert!(report.is_ok(), "{report}");
    assert!(report.partial_lines.is_empty(), "{report}");
}

fn count(records: &[Value], event: &str) -> usize {
    records.iter().filter(|r| r["event"] == event).count()
}

fn flowtrace_messages(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.starts_with("flowtrace:"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn returning_from_main_without_a_guard_writes_every_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(dir.path(), &[], &["5000", "2", "return"]);
    assert!(output.status.success(), "{output:?}");
    let path = dir.path().join("flowtrace.jsonl");
    let records = records(&path);
    // START, then 2 threads × 5000 step calls + 1 finale call, ENTER and EXIT each.
    assert_eq!(records.len(), 1 + 2 * (2 * 5000 + 1));
    assert_eq!(records[0]["event"], "START");
    assert_eq!(count(&records, "ENTER"), count(&records, "EXIT"));
    assert_checks(&path);
}

#[test]
fn process_exit_without_a_guard_writes_every_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("custom.jsonl");
    let path_text = path.to_str().expect("utf-8 path");
    let output = run(
        dir.path(),
        &[("FLOWTRACE_LOGFILE", path_text)],
        &["3000", "1", "exit"],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(records(&path).len(), 1 + 2 * 3000);
}

#[test]
fn a_panic_out_of_main_still_writes_the_panic_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(dir.path(), &[], &["100", "1", "panic"]);
    assert_eq!(output.status.code(), Some(101), "{output:?}");
    let path = dir.path().join("flowtrace.jsonl");
    let records = records(&path);
    assert_eq!(records.len(), 1 + 2 * 101);
    assert_checks(&path);
    let last = records.last().expect("records");
    assert_eq!(last["event"], "PANIC");
    assert_eq!(last["function"], "finale");
    assert_eq!(last["error"], "finale panicked on purpose");
}

#[test]
fn tracing_that_starts_during_an_unwind_works_and_the_program_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(dir.path(), &[], &["0", "1", "unwinding"]);
    assert!(output.status.success(), "{output:?}");
    let path = dir.path().join("flowtrace.jsonl");
    let records = records(&path);
    assert_eq!(count(&records, "ENTER"), 1);
    assert_eq!(count(&records, "EXIT"), 1);
    assert_eq!(records[0]["event"], "START");
    assert_eq!(records[1]["function"], "finale");
    assert_checks(&path);
}

#[test]
fn tracing_to_stdout_goes_on_while_the_program_holds_the_stdout_lock() {
    use std::io::Read as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = command(
        dir.path(),
        &[("FLOWTRACE_STDOUT", "1"), ("FLOWTRACE_BUFFER", "16")],
        &["20000", "1", "locked-stdout"],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .spawn()
    .expect("run traced_program");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let (done, read) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = done.send(text);
    });
    let Ok(text) = read.recv_timeout(std::time::Duration::from_secs(60)) else {
        let _ = child.kill();
        panic!("traced_program hung while it held the stdout lock");
    };
    assert!(child.wait().expect("exit status").success());
    let (trace, rest): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.starts_with('{'));
    assert_eq!(trace.len(), 1 + 40_000, "START and two records per call");
    assert!(
        trace
            .iter()
            .all(|line| serde_json::from_str::<Value>(line).is_ok())
    );
    assert_eq!(
        rest,
        [(0..20_000u64).map(|n| n + 2).sum::<u64>().to_string()]
    );
}

#[test]
fn drop_mode_under_a_flood_accounts_for_every_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(
        dir.path(),
        &[("FLOWTRACE_OVERFLOW", "drop"), ("FLOWTRACE_BUFFER", "4")],
        &["50000", "2", "return"],
    );
    assert!(output.status.success(), "{output:?}");
    let records = records(&dir.path().join("flowtrace.jsonl"));
    assert_eq!(records[0]["event"], "START");
    let written = records[1..]
        .iter()
        .filter(|r| r["event"] != "DROPPED")
        .count() as u64;
    let dropped: u64 = records
        .iter()
        .filter(|r| r["event"] == "DROPPED")
        .map(|r| r["count"].as_u64().expect("count"))
        .sum();
    assert!(
        dropped > 0,
        "a 4-record channel under 2 flooding threads should drop"
    );
    assert_eq!(written + dropped, 2 * (2 * 50_000 + 1));
}

#[test]
fn an_unusable_trace_path_prints_one_message_and_the_program_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, "").expect("blocker file");
    let path = blocker.join("trace.jsonl");
    let output = run(
        dir.path(),
        &[("FLOWTRACE_LOGFILE", path.to_str().expect("utf-8"))],
        &["10"],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "65"); // sum of n + 2 for n in 0..10
    let messages = flowtrace_messages(&output);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("cannot open trace file") && messages[0].contains("trace.jsonl"));
}

#[test]
fn a_message_to_a_closed_stderr_never_hurts_the_program() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, "").expect("blocker file");
    let path = blocker.join("trace.jsonl");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader); // writing to stderr now fails with a broken pipe
    let output = command(
        dir.path(),
        &[("FLOWTRACE_LOGFILE", path.to_str().expect("utf-8"))],
        &["10"],
    )
    .stderr(writer)
    .output()
    .expect("run traced_program");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "65");
}

#[test]
fn a_full_disk_prints_one_message_and_the_program_runs() {
    let output = run(
        Path::new("."),
        &[("FLOWTRACE_LOGFILE", "/dev/full")],
        &["2000", "2"],
    );
    assert!(output.status.success(), "{output:?}");
    let messages = flowtrace_messages(&output);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("/dev/full"), "{messages:?}");
}

#[test]
fn a_bad_variable_disables_tracing_with_a_message_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(dir.path(), &[("FLOWTRACE_OVERFLOW", "sometimes")], &["10"]);
    assert!(output.status.success(), "{output:?}");
    let messages = flowtrace_messages(&output);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("FLOWTRACE_OVERFLOW"), "{messages:?}");
    assert!(!dir.path().join("flowtrace.jsonl").exists());
}

#[test]
fn disabled_tracing_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(dir.path(), &[("FLOWTRACE_ENABLED", "0")], &["10"]);
    assert!(output.status.success(), "{output:?}");
    assert!(!dir.path().join("flowtrace.jsonl").exists());
}

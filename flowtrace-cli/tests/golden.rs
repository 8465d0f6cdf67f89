//! Golden-output tests: each case runs the `flowtrace` binary on committed fixtures (traces
//! written by `examples/gen_fixtures.rs` with the real runtime, and hand-written `check/`
//! violations) and compares exit code, stdout and stderr with `tests/golden/<case>.txt`.
//!
//! A mismatch fails and shows both texts. After an intended change, re-record with
//! `FLOWTRACE_BLESS=1 cargo test -p flowtrace-cli --test golden` and review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

const CASES: &[(&str, &[&str])] = &[
    ("help", &["--help"]),
    ("tail-help", &["tail", "--help"]),
    ("tree-help", &["tree", "--help"]),
    ("stats-help", &["stats", "--help"]),
    ("check-help", &["check", "--help"]),
    ("export-help", &["export", "--help"]),
    ("mcp-help", &["mcp", "--help"]),
    ("tail-chat", &["tail", "tests/fixtures/chat.jsonl"]),
    (
        "tail-errors",
        &["tail", "--errors", "tests/fixtures/chat.jsonl"],
    ),
    (
        "tail-function",
        &[
            "tail",
            "--function",
            "parse_frame",
            "tests/fixtures/chat.jsonl",
        ],
    ),
    (
        "tail-module-min-duration",
        &[
            "tail",
            "--module",
            "gen_fixtures::chat",
            "--min-duration",
            "1ms",
            "tests/fixtures/chat.jsonl",
        ],
    ),
    (
        "tail-last-3",
        &["tail", "-n", "3", "tests/fixtures/chat.jsonl"],
    ),
    ("tail-rotated", &["tail", "tests/fixtures/rotated.jsonl"]),
    ("tail-partial", &["tail", "tests/fixtures/partial.jsonl"]),
    (
        "tail-dropped",
        &["tail", "tests/fixtures/check/valid.jsonl"],
    ),
    ("tail-no-file", &["tail"]),
    ("tree-chat", &["tree", "tests/fixtures/chat.jsonl"]),
    (
        "tree-id",
        &["tree", "--id", "2050", "tests/fixtures/chat.jsonl"],
    ),
    (
        "tree-min-duration",
        &[
            "tree",
            "--min-duration",
            "100us",
            "tests/fixtures/chat.jsonl",
        ],
    ),
    ("tree-rotated", &["tree", "tests/fixtures/rotated.jsonl"]),
    (
        "tree-two-traces",
        &[
            "tree",
            "tests/fixtures/check/valid.jsonl",
            "tests/fixtures/partial.jsonl",
        ],
    ),
    (
        "tree-no-such-id",
        &["tree", "--id", "99", "tests/fixtures/chat.jsonl"],
    ),
    ("stats-chat", &["stats", "tests/fixtures/chat.jsonl"]),
    (
        "stats-sort-p99",
        &["stats", "--sort", "p99", "tests/fixtures/chat.jsonl"],
    ),
    (
        "stats-sort-mean",
        &["stats", "--sort", "mean", "tests/fixtures/chat.jsonl"],
    ),
    (
        "stats-sort-count",
        &["stats", "--sort", "count", "tests/fixtures/chat.jsonl"],
    ),
    (
        "stats-json",
        &["stats", "--json", "tests/fixtures/rotated.jsonl"],
    ),
    ("stats-partial", &["stats", "tests/fixtures/partial.jsonl"]),
    ("check-chat", &["check", "tests/fixtures/chat.jsonl"]),
    ("check-rotated", &["check", "tests/fixtures/rotated.jsonl"]),
    (
        "check-valid",
        &["check", "tests/fixtures/check/valid.jsonl"],
    ),
    (
        "check-two-traces",
        &[
            "check",
            "tests/fixtures/chat.jsonl",
            "tests/fixtures/rotated.jsonl",
        ],
    ),
    ("check-partial", &["check", "tests/fixtures/partial.jsonl"]),
    (
        "check-not-json",
        &["check", "tests/fixtures/check/not-json.jsonl"],
    ),
    (
        "check-missing-key",
        &["check", "tests/fixtures/check/missing-key.jsonl"],
    ),
    (
        "check-wrong-type",
        &["check", "tests/fixtures/check/wrong-type.jsonl"],
    ),
    (
        "check-key-order",
        &["check", "tests/fixtures/check/key-order.jsonl"],
    ),
    (
        "check-unknown-event",
        &["check", "tests/fixtures/check/unknown-event.jsonl"],
    ),
    (
        "check-unknown-key",
        &["check", "tests/fixtures/check/unknown-key.jsonl"],
    ),
    (
        "check-wrong-event-keys",
        &["check", "tests/fixtures/check/wrong-event-keys.jsonl"],
    ),
    (
        "check-close-without-enter",
        &["check", "tests/fixtures/check/close-without-enter.jsonl"],
    ),
    (
        "check-never-closed",
        &["check", "tests/fixtures/check/never-closed.jsonl"],
    ),
    (
        "check-closed-twice",
        &["check", "tests/fixtures/check/closed-twice.jsonl"],
    ),
    (
        "check-parent-not-open",
        &["check", "tests/fixtures/check/parent-not-open.jsonl"],
    ),
    (
        "check-duplicate-enter",
        &["check", "tests/fixtures/check/duplicate-enter.jsonl"],
    ),
    (
        "check-duplicate-open-enter",
        &["check", "tests/fixtures/check/duplicate-open-enter.jsonl"],
    ),
    (
        "tree-reused-id",
        &["tree", "tests/fixtures/check/duplicate-enter.jsonl"],
    ),
    (
        "check-close-mismatch",
        &["check", "tests/fixtures/check/close-mismatch.jsonl"],
    ),
    (
        "check-missing-file",
        &["check", "tests/fixtures/no-such-file.jsonl"],
    ),
    (
        "export-chat",
        &["export", "--format", "chrome", "tests/fixtures/chat.jsonl"],
    ),
    (
        "tree-trace",
        &[
            "tree",
            "--trace",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "tests/fixtures/node-a.jsonl",
            "tests/fixtures/node-b.jsonl",
        ],
    ),
    (
        "tree-trace-one-node",
        &[
            "tree",
            "--trace",
            "4BF92F3577B34DA6A3CE929D0E0E4736",
            "tests/fixtures/node-b.jsonl",
        ],
    ),
    (
        "tree-no-such-trace",
        &[
            "tree",
            "--trace",
            "0af7651916cd43dd8448eb211c80319c",
            "tests/fixtures/node-a.jsonl",
        ],
    ),
    (
        "tree-nodes",
        &[
            "tree",
            "tests/fixtures/node-a.jsonl",
            "tests/fixtures/node-b.jsonl",
        ],
    ),
    (
        "check-nodes",
        &[
            "check",
            "tests/fixtures/node-a.jsonl",
            "tests/fixtures/node-b.jsonl",
        ],
    ),
    ("tail-appended", &["tail", "tests/fixtures/appended.jsonl"]),
    (
        "check-appended",
        &["check", "tests/fixtures/appended.jsonl"],
    ),
    (
        "check-two-runs",
        &["check", "tests/fixtures/check/two-runs.jsonl"],
    ),
    (
        "tree-two-runs",
        &["tree", "tests/fixtures/check/two-runs.jsonl"],
    ),
    (
        "stats-two-runs",
        &["stats", "tests/fixtures/check/two-runs.jsonl"],
    ),
    (
        "check-crashed-run",
        &["check", "tests/fixtures/check/crashed-run.jsonl"],
    ),
    (
        "check-root-without-trace",
        &["check", "tests/fixtures/check/root-without-trace.jsonl"],
    ),
    (
        "check-child-before-parent",
        &["check", "tests/fixtures/check/child-before-parent.jsonl"],
    ),
    ("flame-help", &["flame", "--help"]),
    (
        "flame-folded-chat",
        &["flame", "--format", "folded", "tests/fixtures/chat.jsonl"],
    ),
    (
        "bad-duration",
        &["tail", "--min-duration", "5", "tests/fixtures/chat.jsonl"],
    ),
];

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary from the crate directory with colours off; returns the transcript.
fn transcript(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_flowtrace"))
        .args(args)
        .current_dir(crate_dir())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FLOWTRACE_LOGFILE")
        .env("COLUMNS", "100")
        .output()
        .unwrap_or_else(|e| panic!("cannot run flowtrace {args:?}: {e}"));
    format!(
        "$ flowtrace {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        output
            .status
            .code()
            .map_or("signal".to_owned(), |c| c.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    )
}

#[test]
fn every_subcommand_matches_its_golden_output() {
    let bless = std::env::var_os("FLOWTRACE_BLESS").is_some();
    let mut mismatches = Vec::new();
    for (name, args) in CASES {
        let actual = transcript(args);
        let path: PathBuf = crate_dir().join("tests/golden").join(format!("{name}.txt"));
        if bless {
            std::fs::write(&path, &actual)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {} ({e}); record it with FLOWTRACE_BLESS=1",
                path.display()
            )
        });
        if actual != expected {
            mismatches.push(format!(
                "=== {name}: expected ({})\n{expected}\n=== {name}: actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} golden outputs differ (re-record with FLOWTRACE_BLESS=1 if intended):\n{}",
        mismatches.len(),
        CASES.len(),
        mismatches.join("\n")
    );
}

#[test]
fn every_golden_file_has_a_case() {
    if std::env::var_os("FLOWTRACE_BLESS").is_some() {
        // Recording runs alongside and may not have written every file yet.
        return;
    }
    let names: Vec<String> = std::fs::read_dir(crate_dir().join("tests/golden"))
        .unwrap_or_else(|e| panic!("cannot list tests/golden: {e}"))
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
        .collect();
    let stale: Vec<&String> = names
        .iter()
        .filter(|name| {
            !CASES
                .iter()
                .any(|(case, _)| name.as_str() == format!("{case}.txt"))
        })
        .collect();
    assert!(stale.is_empty(), "golden files without a case: {stale:?}");
    assert_eq!(names.len(), CASES.len());
}

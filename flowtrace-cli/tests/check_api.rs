//! `flowtrace_cli::check_files` as the end-to-end tests use it, on a rotated set large enough to
//! be parsed in many batches on several threads: calls that span files pair up, and violations
//! are reported at their exact file and line, in file order.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use flowtrace_cli::{Location, Violation, ViolationKind, check_files};

const T0: u64 = 1_764_147_600_000_000;

fn enter(out: &mut String, id: u64, parent: Option<u64>, micros: u64) {
    let parent = parent
        .map(|p| format!(",\"parent\":{p}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        r#"{{"timestamp":{},"event":"ENTER","thread":"main","module":"app::jobs","function":"step","args":"{{\"n\":{id}}}","id":{id}{parent},"timestampMicros":{micros}}}"#,
        micros / 1000
    );
}

fn exit(out: &mut String, id: u64, parent: Option<u64>, micros: u64) {
    let parent = parent
        .map(|p| format!(",\"parent\":{p}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        r#"{{"timestamp":{},"event":"EXIT","thread":"main","module":"app::jobs","function":"step","durationMicros":5,"id":{id}{parent},"timestampMicros":{micros}}}"#,
        micros / 1000
    );
}

/// Writes `count` root calls with one child each (4 lines per root) into `text`, ids from
/// `first`; returns the next id.
fn calls(text: &mut String, first: u64, count: u64) -> u64 {
    let mut id = first;
    for _ in 0..count {
        let micros = T0 + id * 10;
        enter(text, id, None, micros);
        enter(text, id + 1, Some(id), micros + 1);
        exit(text, id + 1, Some(id), micros + 6);
        exit(text, id, None, micros + 8);
        id += 2;
    }
    id
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn at(path: &Path, line: u64, kind: ViolationKind) -> Violation {
    Violation {
        location: Location {
            path: path.to_path_buf(),
            line,
        },
        kind,
    }
}

#[test]
fn a_large_rotated_set_is_checked_in_order_across_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let base: PathBuf = dir.path().join("trace.jsonl");
    let (oldest, older) = (
        dir.path().join("trace.jsonl.2"),
        dir.path().join("trace.jsonl.1"),
    );

    // trace.jsonl.2: 6,000 calls, then a root entered here and closed in the next file.
    let mut text = String::new();
    let mut id = calls(&mut text, 1, 6_000);
    let spanning = id;
    enter(&mut text, spanning, None, T0 + spanning * 10);
    id += 1;
    write(&oldest, &text);

    // trace.jsonl.1: the spanning call's child and end, more calls, and a call closed twice.
    let mut text = String::new();
    enter(&mut text, id, Some(spanning), T0 + id * 10);
    exit(&mut text, id, Some(spanning), T0 + id * 10 + 1);
    exit(&mut text, spanning, None, T0 + id * 10 + 2);
    id = calls(&mut text, id + 1, 5_000);
    let twice = id - 2; // the last root
    exit(&mut text, twice, None, T0 + id * 10);
    let twice_line = text.lines().count() as u64;
    id = calls(&mut text, id, 3_000);
    write(&older, &text);

    // trace.jsonl: more calls, then one never closed.
    let mut text = String::new();
    id = calls(&mut text, id, 4_000);
    enter(&mut text, id, None, T0 + id * 10);
    let unclosed_line = text.lines().count() as u64;
    write(&base, &text);

    let report = check_files(std::slice::from_ref(&base))
        .unwrap_or_else(|e| panic!("check_files failed: {e}"));
    assert_eq!(report.files, [oldest.clone(), older.clone(), base.clone()]);
    assert!(
        report.lines > 70_000,
        "{} lines: too few for many batches",
        report.lines
    );
    assert_eq!(report.calls, 2 * 18_000 + 3);
    assert_eq!(
        report.violations,
        [
            at(
                &older,
                twice_line,
                ViolationKind::ClosedTwice {
                    id: twice,
                    event: "EXIT".to_owned()
                }
            ),
            at(
                &base,
                unclosed_line,
                ViolationKind::NeverClosed {
                    id,
                    function: "app::jobs::step".to_owned()
                }
            ),
        ],
        "{report}"
    );
    assert!(report.partial_lines.is_empty());
    assert!(!report.is_ok());
}

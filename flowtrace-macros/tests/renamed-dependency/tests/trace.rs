//! `#[flowtrace(crate = flowtrace)]` in a crate with a renamed dependency records like the
//! default: ENTER and EXIT lines, nested, in a real trace file.

use serde_json::Value;

use flowtrace_renamed_dependency::{add, double};

/// `(event, function)` of every record after START.
fn events(trace: &str) -> Vec<(String, String)> {
    trace
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("every line is JSON"))
        .filter(|record| record["event"] != "START")
        .map(|record| {
            let field = |key: &str| record[key].as_str().unwrap_or_default().to_owned();
            (field("event"), field("function"))
        })
        .collect()
}

#[test]
fn traced_functions_of_a_crate_with_the_renamed_runtime_write_their_calls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("trace.jsonl");
    let guard = flowtrace::Config::new()
        .file(&path)
        .init()
        .expect("init tracing");
    assert_eq!(add(2, 3), 5);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    assert_eq!(runtime.block_on(double(4)), 8);
    drop(guard);

    let trace = std::fs::read_to_string(&path).expect("trace file");
    assert_eq!(
        events(&trace),
        [
            ("ENTER", "add"),
            ("EXIT", "add"),
            ("ENTER", "double"),
            ("ENTER", "add"),
            ("EXIT", "add"),
            ("EXIT", "double"),
        ]
        .map(|(event, function)| (event.to_owned(), function.to_owned())),
        "{trace}"
    );
}

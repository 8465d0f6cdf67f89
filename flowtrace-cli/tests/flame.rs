//! `flowtrace flame`: the folded stacks are exact self times by call path, and the SVG is
//! well-formed XML that names the functions.

use std::process::{Command, Output};

fn flowtrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowtrace"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run flowtrace: {e}"))
}

#[test]
fn folded_stacks_are_self_time_by_call_path_across_runs() {
    // Run 1: run (100µs) calls step (50µs); run 2 (its own START, same ids): run (100µs).
    let output = flowtrace(&[
        "flame",
        "--format",
        "folded",
        "tests/fixtures/check/two-runs.jsonl",
    ]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "app::jobs::run 150\napp::jobs::run;app::jobs::step 50\n"
    );
}

#[test]
fn the_svg_is_xml_and_names_the_functions() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let svg = dir.path().join("flame.svg");
    let svg_arg = svg.to_str().unwrap_or_else(|| panic!("utf-8 temp path"));
    let output = flowtrace(&["flame", "tests/fixtures/chat.jsonl", "-o", svg_arg]);
    assert!(output.status.success(), "{output:?}");
    let text = std::fs::read_to_string(&svg).unwrap_or_else(|e| panic!("read svg: {e}"));
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut elements = 0;
    let mut titles = String::new();
    let mut in_title = false;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(start)) => {
                elements += 1;
                in_title = start.name().as_ref() == b"title";
            }
            Ok(quick_xml::events::Event::Text(text)) if in_title => {
                titles.push_str(&String::from_utf8_lossy(&text));
                titles.push('\n');
            }
            Ok(quick_xml::events::Event::End(_)) => in_title = false,
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(error) => panic!(
                "the SVG is not XML at {}: {error}",
                reader.buffer_position()
            ),
        }
    }
    assert!(elements > 10, "{elements} elements");
    for function in ["handle_frame", "parse_frame", "store", "login", "deliver"] {
        assert!(
            titles.contains(&format!("gen_fixtures::chat::{function} (")),
            "no frame titled {function} in {titles}"
        );
    }
}

#[test]
fn an_empty_trace_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap_or_else(|e| panic!("write: {e}"));
    let output = flowtrace(&["flame", empty.to_str().unwrap_or_default()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("nothing to draw"),
        "{output:?}"
    );
}

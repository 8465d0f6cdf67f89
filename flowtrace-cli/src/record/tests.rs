//! Unit tests of the record parser: the examples of the design, and one case per error.

use super::*;

const ENTER: &str = r#"{"timestamp":1764147600123,"event":"ENTER","thread":"tokio-runtime-worker","module":"demo_chat::room","function":"broadcast","args":"{\"room_id\":\"general\",\"text\":\"hi\"}","id":42,"parent":17,"timestampMicros":1764147600123456}"#;
const EXIT: &str = r#"{"timestamp":1764147600124,"event":"EXIT","thread":"tokio-runtime-worker","module":"demo_chat::room","function":"broadcast","durationMicros":812,"id":42,"parent":17,"timestampMicros":1764147600124268}"#;
const DROPPED: &str = r#"{"timestamp":1764147600125,"event":"DROPPED","timestampMicros":1764147600125001,"count":12}"#;

fn strict(line: &str) -> Result<Record<'_>, String> {
    parse(line.as_bytes(), Strictness::Check).map_err(|e| e.to_string())
}

#[test]
fn parses_the_design_examples() {
    let enter = strict(ENTER).map_err(|e| e.to_string());
    let Ok(Record {
        micros,
        body: Body::Enter { call, args, .. },
    }) = enter
    else {
        panic!("not an ENTER: {enter:?}");
    };
    assert_eq!(micros, 1_764_147_600_123_456);
    assert_eq!(
        (&*call.thread, &*call.module, &*call.function),
        ("tokio-runtime-worker", "demo_chat::room", "broadcast")
    );
    assert_eq!((call.id, call.parent), (42, Some(17)));
    assert_eq!(decoded(args), r#"{"room_id":"general","text":"hi"}"#);

    let exit = strict(EXIT);
    assert!(
        matches!(
            exit,
            Ok(Record {
                body: Body::Close {
                    event: Event::Exit,
                    duration_micros: 812,
                    ..
                },
                ..
            })
        ),
        "{exit:?}"
    );
    let dropped = strict(DROPPED);
    assert!(
        matches!(
            dropped,
            Ok(Record {
                body: Body::Dropped { count: 12 },
                ..
            })
        ),
        "{dropped:?}"
    );
}

#[test]
fn names_what_is_wrong() {
    let cases = [
        (
            "{\"timestamp\":1",
            "not JSON: EOF while parsing an object (column 14)",
        ),
        (
            "[1]",
            "invalid type: sequence, expected a flowtrace record (a JSON object)",
        ),
        (
            r#"{"timestamp":"1","event":"DROPPED","timestampMicros":1000,"count":1}"#,
            "invalid type: string \"1\", expected an unsigned integer for `timestamp` (column 16)",
        ),
        (
            r#"{"timestamp":1,"event":"LEAVE","timestampMicros":1000,"count":1}"#,
            "unknown event `LEAVE`, expected ENTER, EXIT, EXCEPTION, PANIC, CANCEL, DROPPED or START (column 30)",
        ),
        (
            r#"{"timestamp":1,"event":"DROPPED","timestampMicros":1000}"#,
            "`DROPPED` record lacks `count`",
        ),
        (
            r#"{"timestamp":1,"event":"DROPPED","count":1}"#,
            "record lacks `timestampMicros`",
        ),
        (
            r#"{"timestamp":1,"event":"DROPPED","timestampMicros":1000,"count":1,"extra":true}"#,
            "unknown key `extra`",
        ),
        (
            r#"{"timestamp":1,"event":"DROPPED","timestampMicros":1000,"count":1,"count":2}"#,
            "duplicate key `count`",
        ),
        (
            r#"{"event":"DROPPED","timestamp":1,"timestampMicros":1000,"count":1}"#,
            "key `timestamp` comes after `event`; design §1 orders the keys timestamp, event, \
             service, pid, instance, thread, module, function, args, durationMicros, id, parent, \
             trace, remoteParent, timestampMicros, result, error, count",
        ),
        (
            r#"{"timestamp":1,"event":"DROPPED","id":3,"timestampMicros":1000,"count":1}"#,
            "`id` does not belong on `DROPPED` records",
        ),
        (
            r#"{"timestamp":2,"event":"DROPPED","timestampMicros":1000,"count":1}"#,
            "`timestamp` 2 is not `timestampMicros` 1000 in milliseconds",
        ),
        (
            r#"{"timestamp":1,"event":"ENTER","thread":"main","module":"m","function":"f","args":"[1]","id":1,"timestampMicros":1000}"#,
            "`args` is not a JSON-encoded object: invalid type: sequence, expected an object",
        ),
        (
            r#"{"timestamp":1,"event":"ENTER","thread":"main","module":"m","function":"f","args":{},"id":1,"timestampMicros":1000}"#,
            "invalid type: {}, expected a string for `args` (column 84)",
        ),
        (
            r#"{"timestamp":1,"event":"START","service":"s","pid":1,"timestampMicros":1000}"#,
            "`START` record lacks `instance`",
        ),
        (
            r#"{"timestamp":1,"event":"START","service":"s","pid":1,"instance":"00000000000000AB","timestampMicros":1000}"#,
            "`instance` is not 16 lowercase hex digits, not all zero: \"00000000000000AB\"",
        ),
        (
            r#"{"timestamp":1,"event":"START","service":"s","pid":1,"instance":"00000000000000ab","thread":"main","timestampMicros":1000}"#,
            "`thread` does not belong on `START` records",
        ),
        (
            r#"{"timestamp":1,"event":"ENTER","thread":"main","module":"m","function":"f","args":"{}","id":2,"parent":1,"trace":"4bf92f3577b34da6a3ce929d0e0e4736","timestampMicros":1000}"#,
            "`trace` belongs on root ENTERs only (those without `parent`)",
        ),
        (
            r#"{"timestamp":1,"event":"ENTER","thread":"main","module":"m","function":"f","args":"{}","id":2,"trace":"00000000000000000000000000000000","timestampMicros":1000}"#,
            "`trace` is not 32 lowercase hex digits, not all zero: \"00000000000000000000000000000000\"",
        ),
        (
            r#"{"timestamp":1,"event":"ENTER","thread":"main","module":"m","function":"f","args":"{}","id":2,"remoteParent":"00f067aa0ba902b7","timestampMicros":1000}"#,
            "`remoteParent` needs a `trace`",
        ),
        (
            r#"{"timestamp":1,"event":"EXIT","thread":"main","module":"m","function":"f","durationMicros":1,"id":2,"trace":"4bf92f3577b34da6a3ce929d0e0e4736","timestampMicros":1000}"#,
            "`trace` does not belong on `EXIT` records",
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(strict(line).err().as_deref(), Some(expected), "{line}");
    }
}

#[test]
fn start_records_and_trace_links_parse() {
    let start = r#"{"timestamp":1,"event":"START","service":"chat \"a\"","pid":42,"instance":"0123456789abcdef","timestampMicros":1000}"#;
    match strict(start) {
        Ok(Record {
            body: Body::Start(start),
            micros: 1000,
        }) => {
            assert_eq!(start.service, "chat \"a\"");
            assert_eq!((start.pid, start.instance), (42, "0123456789abcdef"));
        }
        other => panic!("not a START: {other:?}"),
    }
    let root = r#"{"timestamp":1,"event":"ENTER","thread":"main","module":"m","function":"f","args":"{}","id":2,"trace":"4bf92f3577b34da6a3ce929d0e0e4736","remoteParent":"00f067aa0ba902b7","timestampMicros":1000}"#;
    match strict(root) {
        Ok(Record {
            body: Body::Enter { link, .. },
            ..
        }) => {
            assert_eq!(link.trace, Some("4bf92f3577b34da6a3ce929d0e0e4736"));
            assert_eq!(link.remote_parent, Some("00f067aa0ba902b7"));
        }
        other => panic!("not an ENTER: {other:?}"),
    }
}

#[test]
fn lenient_parsing_ignores_what_only_check_cares_about() {
    let line = r#"{"event":"DROPPED","timestamp":2,"timestampMicros":1000,"count":1,"extra":1}"#;
    assert!(parse(line.as_bytes(), Strictness::Lenient).is_ok());
    assert!(parse(line.as_bytes(), Strictness::Check).is_err());
}

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
        body: Body::Enter { call, args },
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
            "unknown event `LEAVE`, expected ENTER, EXIT, EXCEPTION, PANIC, CANCEL or DROPPED (column 30)",
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
             thread, module, function, args, durationMicros, id, parent, timestampMicros, result, \
             error, count",
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
    ];
    for (line, expected) in cases {
        assert_eq!(strict(line).err().as_deref(), Some(expected), "{line}");
    }
}

#[test]
fn lenient_parsing_ignores_what_only_check_cares_about() {
    let line = r#"{"event":"DROPPED","timestamp":2,"timestampMicros":1000,"count":1,"extra":1}"#;
    assert!(parse(line.as_bytes(), Strictness::Lenient).is_ok());
    assert!(parse(line.as_bytes(), Strictness::Check).is_err());
}

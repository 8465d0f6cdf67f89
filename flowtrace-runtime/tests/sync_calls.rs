//! Behaviour of `#[flowtrace]` on sync functions: the exact records, in order.

mod common;

use std::fmt;
use std::time::Duration;

use common::{args, assert_well_formed, capture, capture_with, events, id, keys, parent};
use flowtrace_runtime::flowtrace;
use serial_test::serial;

#[flowtrace]
fn outer(label: &str, count: u64) -> u64 {
    (0..count).map(inner).sum()
}

#[flowtrace]
fn inner(n: u64) -> u64 {
    n * 10
}

#[test]
#[serial]
fn nested_calls_write_enter_and_exit_with_parents_and_args() {
    let records = capture(|| assert_eq!(outer("abc", 2), 10));
    assert_eq!(
        events(&records),
        [
            ("ENTER", "outer"),
            ("ENTER", "inner"),
            ("EXIT", "inner"),
            ("ENTER", "inner"),
            ("EXIT", "inner"),
            ("EXIT", "outer")
        ]
        .map(|(e, f)| (e.to_owned(), f.to_owned()))
    );
    let root = &records[0];
    assert_eq!(
        keys(root),
        [
            "timestamp",
            "event",
            "thread",
            "module",
            "function",
            "args",
            "id",
            "trace",
            "timestampMicros"
        ]
    );
    assert_eq!(
        root["thread"],
        std::thread::current().name().unwrap_or("main")
    );
    assert_eq!(root["module"], "sync_calls");
    assert_eq!(root["args"], r#"{"label":"abc","count":2}"#);
    assert_eq!(parent(root), None);
    assert_eq!(parent(&records[1]), Some(id(root)));
    assert_eq!(args(&records[3]), serde_json::json!({"n": 1}));
    let exit = &records[2];
    assert_eq!(
        keys(exit),
        [
            "timestamp",
            "event",
            "thread",
            "module",
            "function",
            "durationMicros",
            "id",
            "parent",
            "timestampMicros"
        ]
    );
    assert_eq!(id(exit), id(&records[1]));
    assert_eq!(
        records[0]["timestamp"].as_u64().expect("ms"),
        records[0]["timestampMicros"].as_u64().expect("us") / 1000
    );
    assert_well_formed(&records);
}

#[flowtrace]
fn sleeps(millis: u64) {
    std::thread::sleep(Duration::from_millis(millis));
}

#[test]
#[serial]
fn duration_covers_the_body() {
    let records = capture(|| sleeps(20));
    assert!(records[1]["durationMicros"].as_u64().expect("duration") >= 20_000);
}

#[derive(Debug)]
struct ParseError(String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot parse {:?}", self.0)
    }
}

#[flowtrace]
fn parse(text: &str) -> Result<u32, ParseError> {
    text.parse().map_err(|_| ParseError(text.to_owned()))
}

#[derive(Debug)]
struct DebugOnly;

#[flowtrace]
fn debug_error() -> Result<(), DebugOnly> {
    Err(DebugOnly)
}

#[test]
#[serial]
fn err_writes_exception_with_the_display_message() {
    let records = capture(|| {
        assert_eq!(parse("12").ok(), Some(12));
        assert!(parse("x").is_err());
        assert!(debug_error().is_err());
    });
    assert_eq!(records[1]["event"], "EXIT");
    assert_eq!(records[3]["event"], "EXCEPTION");
    assert_eq!(records[3]["error"], "cannot parse \"x\"");
    assert_eq!(
        keys(&records[3]),
        [
            "timestamp",
            "event",
            "thread",
            "module",
            "function",
            "durationMicros",
            "id",
            "timestampMicros",
            "error"
        ]
    );
    assert_eq!(records[5]["event"], "EXCEPTION");
    assert_eq!(records[5]["error"], "DebugOnly");
}

/// An error whose `Display` fails, as a buggy impl may.
#[derive(Debug)]
struct Unprintable;

impl fmt::Display for Unprintable {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Err(fmt::Error)
    }
}

#[flowtrace]
fn unprintable_error() -> Result<(), Unprintable> {
    Err(Unprintable)
}

#[test]
#[serial]
fn an_error_that_fails_to_format_is_still_an_exception_and_never_a_panic() {
    let records = capture(|| {
        let outcome = std::panic::catch_unwind(unprintable_error);
        assert!(matches!(outcome, Ok(Err(Unprintable))), "{outcome:?}");
    });
    assert_eq!(records[1]["event"], "EXCEPTION");
    let error = records[1]["error"].as_str().expect("error text");
    assert!(
        error.contains("Unprintable") && error.contains("failed to format"),
        "{error}"
    );
}

#[flowtrace]
fn explode(code: u32) -> u32 {
    if code > 0 {
        panic!("exploded with {code}");
    }
    code
}

#[flowtrace]
fn calls_explode() -> u32 {
    explode(7) + 1
}

#[test]
#[serial]
fn panic_writes_panic_records_up_the_stack_and_keeps_unwinding() {
    let records = capture(|| {
        let caught = std::panic::catch_unwind(calls_explode);
        let payload = caught.expect_err("the panic goes on");
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("exploded with 7")
        );
    });
    assert_eq!(
        events(&records),
        [
            ("ENTER", "calls_explode"),
            ("ENTER", "explode"),
            ("PANIC", "explode"),
            ("PANIC", "calls_explode")
        ]
        .map(|(e, f)| (e.to_owned(), f.to_owned()))
    );
    assert_eq!(records[2]["error"], "exploded with 7");
    assert_well_formed(&records);
}

#[flowtrace(redact(pin))]
fn login(user: &str, password: &str, api_key: &str, pin: u32) -> bool {
    !user.is_empty() && !password.is_empty() && !api_key.is_empty() && pin > 0
}

#[flowtrace]
fn lookup(ssn: &str) -> usize {
    ssn.len()
}

#[test]
#[serial]
fn secrets_are_redacted_by_name() {
    let records = capture_with(
        |config| config.redact(["SSN"]),
        || {
            login("ada", "hunter2", "k-123", 1234);
            lookup("123-45-6789");
        },
    );
    assert_eq!(
        args(&records[0]),
        serde_json::json!({"user": "ada", "password": "***", "api_key": "***", "pin": "***"})
    );
    assert_eq!(args(&records[2]), serde_json::json!({"ssn": "***"}));
    assert!(!records.iter().any(|r| r.to_string().contains("hunter2")));
}

#[flowtrace(max_arg_length = 5)]
fn long_args(text: &str, list: Vec<u32>, short: &str) -> usize {
    text.len() + list.len() + short.len()
}

/// Quotes and backslashes are escaped twice in the file; the limit counts characters of the value.
#[flowtrace(max_arg_length = 5)]
fn quoted(fits: &str, cut: &str) -> usize {
    fits.len() + cut.len()
}

#[flowtrace]
fn default_limit(text: String) -> usize {
    text.len()
}

#[test]
#[serial]
fn long_values_are_cut_with_an_ellipsis() {
    let records = capture_with(
        |config| config.max_arg_length(8),
        || {
            long_args("abcdefgh", vec![1, 2, 3, 4], "abcde");
            default_limit("0123456789".to_owned());
            quoted("a\"b\\c", "\"ab\"\\cdefg");
        },
    );
    assert_eq!(
        args(&records[0]),
        serde_json::json!({"text": "abcde…", "list": "[1,2,…", "short": "abcde"})
    );
    assert_eq!(args(&records[2]), serde_json::json!({"text": "01234567…"}));
    assert_eq!(
        args(&records[4]),
        serde_json::json!({"fits": "a\"b\\c", "cut": "\"ab\"\\…"})
    );
}

#[derive(Debug)]
struct Point {
    x: i32,
}

struct Opaque;

#[flowtrace]
fn shapes(point: Point, opaque: Opaque, pair: (u8, bool)) -> i32 {
    let Opaque = opaque;
    point.x + i32::from(pair.0)
}

#[test]
#[serial]
fn arguments_fall_back_from_serialize_to_debug_to_type_name() {
    let records = capture(|| {
        shapes(Point { x: 1 }, Opaque, (2, true));
    });
    assert_eq!(
        args(&records[0]),
        serde_json::json!({"point": "Point { x: 1 }", "opaque": "<sync_calls::Opaque>", "pair": [2, true]})
    );
}

#[flowtrace(name = "renamed", skip(ignored), fields(len = text.len(), constant = "k"), ret)]
fn options(text: &str, ignored: &[u8]) -> String {
    format!("{text}{}", ignored.len())
}

#[flowtrace(skip_all)]
fn nothing_recorded(secret_but_not_named_so: u64) -> u64 {
    secret_but_not_named_so
}

#[test]
#[serial]
fn name_skip_fields_ret_and_skip_all() {
    let records = capture(|| {
        options("ab", &[1, 2, 3]);
        nothing_recorded(5);
    });
    assert_eq!(records[0]["function"], "renamed");
    assert_eq!(
        args(&records[0]),
        serde_json::json!({"text": "ab", "len": 2, "constant": "k"})
    );
    assert_eq!(records[1]["result"], "\"ab3\"");
    assert_eq!(records[2]["args"], "{}");
    assert!(records[3].get("result").is_none());
}

#[derive(Debug, Default)]
struct Counter {
    hits: u64,
}

impl Counter {
    #[flowtrace]
    fn hit(&mut self, by: u64) -> &mut Self {
        self.hits += by;
        self
    }

    #[flowtrace]
    fn total(&self) -> u64 {
        self.hits
    }

    #[flowtrace]
    fn into_hits(self) -> u64 {
        self.hits
    }

    #[flowtrace]
    fn make(start: u64) -> Self {
        Self { hits: start }
    }
}

#[flowtrace]
fn generic<T: Into<u64> + Copy, U>(value: T, _unused: U, shown: impl fmt::Display) -> u64
where
    U: Sized,
{
    let _ = shown.to_string();
    value.into()
}

#[test]
#[serial]
fn methods_and_generics() {
    let records = capture(|| {
        let mut counter = Counter::make(1);
        counter.hit(2).hit(3);
        assert_eq!(counter.total(), 6);
        assert_eq!(counter.into_hits(), 6);
        assert_eq!(generic(4u8, 'c', 1.5), 4);
    });
    let names: Vec<_> = events(&records)
        .into_iter()
        .filter(|(e, _)| e == "ENTER")
        .map(|(_, f)| f)
        .collect();
    assert_eq!(
        names,
        ["make", "hit", "hit", "total", "into_hits", "generic"]
    );
    assert_eq!(args(&records[2]), serde_json::json!({"by": 2}));
    assert_eq!(args(&records[6]), serde_json::json!({}));
    // Generic arguments without a Serialize or Debug bound are known only by their type.
    assert_eq!(
        args(&records[10]),
        serde_json::json!({"value": "<u8>", "_unused": "<char>", "shown": "<f64>"})
    );
    assert_well_formed(&records);
}

#[test]
#[serial]
fn module_filters_and_disabling() {
    let excluded = capture_with(
        |config| config.exclude(["sync_calls"]),
        || {
            inner(1);
        },
    );
    assert!(excluded.is_empty(), "{excluded:?}");
    let included = capture_with(
        |config| config.package_prefixes(["sync_"]),
        || {
            inner(1);
        },
    );
    assert_eq!(included.len(), 2);
    let disabled = capture_with(
        |config| config.enabled(false),
        || {
            inner(1);
        },
    );
    assert!(disabled.is_empty());
}

#[flowtrace]
fn measure(unit: &str) -> impl Fn(&str) -> usize + use<> {
    let scale = unit.len();
    explode(0); // a traced call inside: its parent is `measure`
    move |text| text.len() * scale
}

#[flowtrace]
fn measure_or_panic(fail: bool) -> impl Fn(&str) -> usize {
    if fail {
        panic!("cannot measure");
    }
    |text| text.len()
}

#[flowtrace]
#[track_caller]
fn caller_line() -> u32 {
    std::panic::Location::caller().line()
}

struct MeasuresOnDrop;

impl Drop for MeasuresOnDrop {
    fn drop(&mut self) {
        let _ = measure("a");
    }
}

#[test]
#[serial]
fn inline_bodies_keep_impl_trait_inference_and_the_callers_location() {
    let records = capture(|| {
        assert_eq!(measure("ab")("xyz"), 6);
        let outcome = std::panic::catch_unwind(|| measure_or_panic(true));
        assert!(outcome.is_err());
        assert_eq!(caller_line(), line!());
        // Called from a destructor while another panic unwinds: it returns, so EXIT.
        let unwinding = std::panic::catch_unwind(|| {
            let _measures = MeasuresOnDrop;
            panic!("not measure's panic");
        });
        assert!(unwinding.is_err());
    });
    assert_eq!(
        events(&records),
        [
            ("ENTER", "measure"),
            ("ENTER", "explode"),
            ("EXIT", "explode"),
            ("EXIT", "measure"),
            ("ENTER", "measure_or_panic"),
            ("PANIC", "measure_or_panic"),
            ("ENTER", "caller_line"),
            ("EXIT", "caller_line"),
            ("ENTER", "measure"),
            ("ENTER", "explode"),
            ("EXIT", "explode"),
            ("EXIT", "measure"),
        ]
        .map(|(e, f)| (e.to_owned(), f.to_owned()))
    );
    assert_eq!(parent(&records[1]), Some(id(&records[0])));
    assert_eq!(records[5]["error"], "cannot measure");
    assert_eq!(
        parent(&records[6]),
        None,
        "the parent was restored after the panic"
    );
    assert_well_formed(&records);
}

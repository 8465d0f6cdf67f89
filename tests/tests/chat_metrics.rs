//! `GET /metrics` (design §6): Prometheus text that a parser reads, with every listed metric,
//! whose counters move exactly as this test's traffic says they must.

mod chat_common;

use std::collections::HashMap;

use chat_common::{DEADLINE, Server, http_text, unlimited};

/// One scrape: sample name plus sorted labels → value.
struct Scrape(HashMap<String, f64>);

impl Scrape {
    async fn of(server: &Server) -> Self {
        let (status, body) = http_text(server.addr, "GET", "/metrics").await;
        assert_eq!(status, 200);
        let lines = body.lines().map(|l| Ok(l.to_owned()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
        let mut values = HashMap::new();
        for sample in scrape.samples {
            let mut labels: Vec<String> = sample
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            labels.sort();
            let value = match sample.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                other => panic!("{} is not a plain number: {other:?}", sample.metric),
            };
            values.insert(format!("{}{{{}}}", sample.metric, labels.join(",")), value);
        }
        Self(values)
    }

    fn get(&self, key: &str) -> f64 {
        *self
            .0
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {:?}", self.0.keys()))
    }

    /// A counter that may not exist yet (a labelled one before its first increment) reads 0.
    fn counter(&self, key: &str) -> f64 {
        self.0.get(key).copied().unwrap_or(0.0)
    }
}

#[tokio::test]
async fn metrics_parse_and_count_the_traffic() {
    let server = Server::start_with(unlimited()).await;
    let before = Scrape::of(&server).await;
    for name in [
        "demo_chat_connections{}",
        "demo_chat_rooms{}",
        "demo_chat_messages_total{}",
        "demo_chat_deliveries_total{}",
        "demo_chat_redis_errors_total{}",
        "flowtrace_records_written_total{}",
        "flowtrace_records_dropped_total{}",
        "flowtrace_write_errors_total{}",
    ] {
        before.get(name);
    }
    assert_eq!(before.get("demo_chat_connections{}"), 0.0);
    assert_eq!(before.get("demo_chat_rooms{}"), 1.0);

    // Three members: joins queue 1 + 2 + 3 user_joined and 3 histories.
    let mut a = server.join("m", "a").await;
    let mut b = server.join("m", "b").await;
    a.recv_type("user_joined").await;
    let _c = server.join("m", "c").await;
    // Two messages to three members each, one bad frame, one typing to two others.
    a.say("one").await;
    b.say("two").await;
    a.send_text("{not json").await;
    assert_eq!(a.recv_type("error").await["code"], "invalid_json");
    b.send_json(serde_json::json!({"type":"typing"})).await;
    a.recv_type("typing").await;

    let during = Scrape::of(&server).await;
    assert_eq!(during.get("demo_chat_connections{}"), 3.0);
    assert_eq!(during.get("demo_chat_rooms{}"), 2.0);
    let messages =
        during.get("demo_chat_messages_total{}") - before.get("demo_chat_messages_total{}");
    assert_eq!(messages, 2.0);
    let deliveries =
        during.get("demo_chat_deliveries_total{}") - before.get("demo_chat_deliveries_total{}");
    // 3 histories, 1 + 2 + 3 user_joined, 2 messages to 3 members, 1 error, 1 typing to 2.
    assert_eq!(deliveries, 3.0 + 6.0 + 6.0 + 1.0 + 2.0);
    assert_eq!(
        during.counter("demo_chat_rejected_frames_total{code=invalid_json}"),
        1.0
    );

    // One client closes, one is a duplicate.
    b.ws.close(None).await.expect("close");
    let mut dup = server.connect("m", "a").await;
    assert_eq!(dup.recv_close().await.0, 4409);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let after = Scrape::of(&server).await;
        let client = after.counter("demo_chat_disconnects_total{reason=client}");
        let duplicate = after.counter("demo_chat_disconnects_total{reason=duplicate}");
        if client == 1.0 && duplicate == 1.0 {
            assert_eq!(after.get("demo_chat_connections{}"), 2.0);
            assert!(
                after.get("flowtrace_records_written_total{}")
                    >= before.get("flowtrace_records_written_total{}")
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "disconnects not counted: client {client}, duplicate {duplicate}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.shutdown().await;
}

//! Writes the trace fixtures of the golden tests with the real runtime and `#[flowtrace]`:
//!
//! ```sh
//! cargo run -p flowtrace-cli --example gen_fixtures            # into flowtrace-cli/tests/fixtures
//! FLOWTRACE_BLESS=1 cargo test -p flowtrace-cli --test golden   # then re-record the outputs
//! ```
//!
//! `chat.jsonl` is one small chat session: nested sync calls, an `Err` (`EXCEPTION`), a caught
//! panic (`PANIC`), a future cancelled by `tokio::select!` (`CANCEL`), a redacted argument, tasks
//! on tokio worker threads, and an async call that enters on thread `worker-a` and finishes on
//! `worker-b` (the future is moved between threads, so the hop happens on every run).
//! `rotated.jsonl` (with `.1`, `.2`, …) is a trace written with size-based rotation, so calls
//! start in one file and end in the next. `appended.jsonl` holds two runs appended to one file
//! (two START segments whose ids repeat). `node-a.jsonl` and `node-b.jsonl` are two services
//! of one distributed trace: node A handles a request that arrived with a W3C `traceparent`
//! (so the trace id is the fixed [`INCOMING`]'s) and publishes a message with its own
//! traceparent; node B fans the message out under it, then does unrelated work.

use std::error::Error;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Waker};

mod chat {
    use flowtrace_runtime::flowtrace;
    use std::time::{Duration, Instant};
    use tokio::sync::oneshot;

    /// Busy work standing in for real processing, so durations are not all zero.
    fn work(micros: u64) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_micros(micros) {
            std::hint::spin_loop();
        }
    }

    #[derive(Debug)]
    pub(super) struct Frame {
        pub(super) kind: String,
        pub(super) text: String,
    }

    #[flowtrace]
    pub(super) fn parse_frame(raw: &str) -> Result<Frame, String> {
        work(30);
        match raw.split_once(':') {
            Some((kind, text)) => Ok(Frame {
                kind: kind.to_owned(),
                text: text.to_owned(),
            }),
            None => Err(format!("expected `kind:text`, got `{raw}`")),
        }
    }

    #[flowtrace(ret)]
    pub(super) fn sanitize(text: &str) -> String {
        work(20);
        text.trim().replace('<', "&lt;")
    }

    #[flowtrace]
    pub(super) fn store(room_id: &str, text: &str) -> usize {
        work(150);
        room_id.len() + text.len()
    }

    #[flowtrace]
    pub(super) fn handle_frame(room_id: &str, raw: &str) -> Result<String, String> {
        let frame = parse_frame(raw)?;
        let text = sanitize(&frame.text);
        if frame.kind == "message" {
            store(room_id, &text);
        }
        Ok(text)
    }

    #[flowtrace(skip(ack))]
    pub(super) async fn fan_out(room_id: &str, text: &str, ack: oneshot::Receiver<usize>) -> usize {
        work(100);
        ack.await.unwrap_or(0)
    }

    /// Handles a batch of frames, then waits for the clients' acknowledgement.
    #[flowtrace(skip(ack))]
    pub(super) async fn deliver(
        room_id: String,
        frames: Vec<&'static str>,
        ack: oneshot::Receiver<usize>,
    ) -> Result<usize, String> {
        let mut texts = Vec::new();
        for raw in frames {
            if let Ok(text) = handle_frame(&room_id, raw) {
                texts.push(text);
            }
        }
        let delivered = fan_out(&room_id, &texts.join(" "), ack).await;
        if delivered == 0 {
            return Err("no client acknowledged".to_owned());
        }
        Ok(delivered)
    }

    #[flowtrace]
    pub(super) async fn load_history(room_id: &str, limit: usize) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(40)).await;
        vec![format!("{room_id}: {limit} messages")]
    }

    #[flowtrace]
    pub(super) async fn presence(room_id: &str) -> usize {
        tokio::time::sleep(Duration::from_millis(3)).await;
        room_id.len()
    }

    /// Whichever answers first wins: the history load is cancelled.
    #[flowtrace]
    pub(super) async fn join(room_id: String, client_id: String) -> usize {
        tokio::select! {
            history = load_history(&room_id, 100) => history.len(),
            online = presence(&room_id) => online,
        }
    }

    #[flowtrace]
    pub(super) fn login(user: &str, password: &str) -> Result<u64, String> {
        work(80);
        if password.len() < 8 {
            return Err(format!("password of {user} is too short"));
        }
        Ok(7)
    }

    #[flowtrace]
    pub(super) fn average(samples: &[u64]) -> u64 {
        samples.iter().sum::<u64>() / samples.len() as u64
    }

    /// Node A: stores a message and returns the traceparent to publish with it.
    #[flowtrace]
    pub(super) fn publish(room_id: &str, text: &str) -> String {
        store(room_id, text);
        flowtrace_runtime::TraceContext::current()
            .map(|context| context.traceparent())
            .unwrap_or_default()
    }

    /// Node A: an HTTP handler posting a message.
    #[flowtrace]
    pub(super) fn post_message(room_id: &str, text: &str) -> String {
        let text = sanitize(text);
        publish(room_id, &text)
    }

    /// Node B: delivers a message published by another node to its local members.
    #[flowtrace]
    pub(super) fn deliver_remote(room_id: &str, text: &str, members: usize) -> usize {
        work(40);
        (0..members).map(|_| sanitize(text).len()).sum()
    }
}

/// The `traceparent` header of the request node A receives.
const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Polls `future` once on a new thread named `name`, and hands it back.
fn poll_once_on<F: Future + Send + Unpin + 'static>(
    name: &str,
    mut future: F,
) -> Result<F, Box<dyn Error>> {
    let thread = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let mut context = Context::from_waker(Waker::noop());
            let poll = Pin::new(&mut future).poll(&mut context);
            assert!(
                poll.is_pending(),
                "the future must wait for its acknowledgement"
            );
            future
        })?;
    thread.join().map_err(|_| "polling thread panicked".into())
}

/// Drives `future` to completion on a new thread named `name`.
fn finish_on<F: Future + Send + 'static>(name: &str, future: F) -> Result<F::Output, Box<dyn Error>>
where
    F::Output: Send + 'static,
{
    let thread = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .map(|runtime| runtime.block_on(future))
        })?;
    let output = thread.join().map_err(|_| "finishing thread panicked")??;
    Ok(output)
}

fn chat_session(path: &Path) -> Result<(), Box<dyn Error>> {
    let guard = flowtrace_runtime::Config::from_env()?.file(path).init()?;
    let _ = chat::login("ada", "hunter2");
    let _ = chat::login("ada", "correct horse battery");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let joined = runtime.block_on(async {
        tokio::spawn(chat::join("general".to_owned(), "ada".to_owned())).await
    })?;
    assert!(joined > 0);

    // An async call that enters on worker-a and completes on worker-b.
    let (ack, acked) = tokio::sync::oneshot::channel();
    let frames = vec!["message:hello <world>", "garbage", "typing:"];
    let delivery = Box::pin(chat::deliver("general".to_owned(), frames, acked));
    let delivery = poll_once_on("worker-a", delivery)?;
    ack.send(2).map_err(|_| "receiver gone")?;
    let delivered = finish_on("worker-b", delivery)?;
    assert_eq!(delivered, Ok(2));

    let panicked = std::panic::catch_unwind(|| chat::average(&[]));
    assert!(panicked.is_err());
    assert_eq!(chat::average(&[3, 5]), 4);
    drop(guard);
    Ok(())
}

fn rotated_session(path: &Path) -> Result<(), Box<dyn Error>> {
    let guard = flowtrace_runtime::Config::from_env()?
        .file(path)
        .rotation(3 * 1024, 5)
        .init()?;
    for n in 0..7 {
        let raw = format!("message:note {n}");
        let _ = chat::handle_frame("general", &raw);
    }
    drop(guard);
    Ok(())
}

fn appended_session(path: &Path) -> Result<(), Box<dyn Error>> {
    for run in 0..2 {
        let guard = flowtrace_runtime::Config::from_env()?
            .file(path)
            .service_name("chat")
            .init()?;
        let _ = chat::handle_frame("general", &format!("message:run {run}"));
        drop(guard);
    }
    Ok(())
}

fn two_nodes(node_a: &Path, node_b: &Path) -> Result<(), Box<dyn Error>> {
    let incoming = flowtrace_runtime::TraceContext::from_traceparent(INCOMING)?;
    let guard = flowtrace_runtime::Config::from_env()?
        .file(node_a)
        .service_name("chat-a")
        .init()?;
    let published = incoming.in_scope(|| chat::post_message("general", "hello <b>"));
    let _ = chat::login("ada", "correct horse battery");
    drop(guard);

    let guard = flowtrace_runtime::Config::from_env()?
        .file(node_b)
        .service_name("chat-b")
        .init()?;
    let _ = chat::average(&[1, 2]);
    let remote = flowtrace_runtime::TraceContext::from_traceparent(&published)?;
    remote.in_scope(|| chat::deliver_remote("general", "hello &lt;b>", 2));
    drop(guard);
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir)?;
    // The caught panic is part of the scenario: keep its report (and backtrace) off stderr and
    // out of its duration. Installed before tracing starts, so the runtime's hook chains to it.
    std::panic::set_hook(Box::new(|_| {}));
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if ["chat.jsonl", "rotated.jsonl", "appended.jsonl", "node-"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
        {
            std::fs::remove_file(&path)?;
        }
    }
    chat_session(&dir.join("chat.jsonl"))?;
    rotated_session(&dir.join("rotated.jsonl"))?;
    appended_session(&dir.join("appended.jsonl"))?;
    two_nodes(&dir.join("node-a.jsonl"), &dir.join("node-b.jsonl"))?;
    println!(
        "wrote chat.jsonl, rotated.jsonl*, appended.jsonl and node-{{a,b}}.jsonl in {}",
        dir.display()
    );
    Ok(())
}

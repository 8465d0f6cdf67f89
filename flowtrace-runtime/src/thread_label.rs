//! The `thread` of a record, sent without touching shared memory.
//!
//! A record crosses to the writer thread, so anything reference-counted in it (an `Arc<str>`
//! name) would bounce a cache line between the two cores on every record. Instead a thread's
//! label is a plain `Copy` value: a named thread's name is interned once, for the life of the
//! process, as a `&'static str` already escaped as JSON (names come from a small set: `main`,
//! `tokio-rt-worker`, …); an unnamed thread is written as `ThreadId(N)` from its number.

use std::sync::Mutex;

/// How the writer names the thread a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThreadLabel {
    /// The name as a quoted JSON string.
    Named(&'static str),
    Unnamed(u64),
}

/// Every distinct thread name seen so far; searched once per thread, never on the hot path.
static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

impl ThreadLabel {
    /// The label of the calling thread.
    pub(crate) fn current() -> Self {
        let thread = std::thread::current();
        match thread.name() {
            Some(name) => Self::named(name),
            None => Self::Unnamed(thread_number(thread.id())),
        }
    }

    /// A label for a thread called `name`.
    pub(crate) fn named(name: &str) -> Self {
        Self::Named(intern(name))
    }
}

/// The name as a quoted JSON string, leaked once per distinct name.
fn intern(name: &str) -> &'static str {
    let mut json = Vec::with_capacity(name.len() + 2);
    crate::json::write_str(&mut json, name.as_bytes());
    let json = String::from_utf8(json).unwrap_or_else(|_| "\"?\"".to_owned());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = names.iter().find(|known| **known == json) {
        return known;
    }
    let leaked: &'static str = Box::leak(json.into_boxed_str());
    names.push(leaked);
    leaked
}

/// The `N` of `ThreadId(N)`: `ThreadId::as_u64` is not stable, its `Debug` output is.
fn thread_number(id: std::thread::ThreadId) -> u64 {
    format!("{id:?}")
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The label as the writer spells it (`record.rs` tests the line itself).
    fn json(label: ThreadLabel) -> String {
        match label {
            ThreadLabel::Named(json) => json.to_owned(),
            ThreadLabel::Unnamed(number) => format!("\"ThreadId({number})\""),
        }
    }

    #[test]
    fn names_are_interned_and_unnamed_threads_use_their_id() {
        assert!(std::ptr::eq(intern("worker"), intern("worker")));
        let named = std::thread::Builder::new()
            .name("labelled".to_owned())
            .spawn(ThreadLabel::current)
            .expect("spawn")
            .join()
            .expect("join");
        assert_eq!(json(named), "\"labelled\"");
        let (label, id) =
            std::thread::spawn(|| (ThreadLabel::current(), std::thread::current().id()))
                .join()
                .expect("join");
        assert_eq!(json(label), format!("\"{id:?}\""));
    }
}

//! What a traced call hands to the writer thread.
//!
//! A record is small and cheap to build on the caller's thread: static metadata by reference,
//! numbers and at most one pre-encoded text, inline when short. Which thread it came from is
//! known from the ring it travels in; the JSON of the whole line is built on the writer thread
//! (`line`).

use crate::clock::{self, Instant};
use crate::ids::TraceId;
use crate::json::Payload;
use crate::site::CallSite;

/// Where a record sits: the ring it was pushed to and how many records that ring had taken
/// before it. [`Origin::NONE`] names nothing (a root, or a record dropped in `drop` mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The ring's serial number, unique for the life of the process; 0 for none.
    pub(crate) ring: u64,
    pub(crate) seq: u64,
}

impl Origin {
    pub(crate) const NONE: Self = Self { ring: 0, seq: 0 };

    #[inline]
    pub(crate) fn is_none(self) -> bool {
        self.ring == 0
    }
}

/// The kinds of record, as written in the `event` key; three kinds of ENTER, which differ in
/// what their record's two words hold (see [`Record`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A child's ENTER.
    Enter,
    /// A root's ENTER, starting a fresh trace.
    EnterRoot,
    /// A root's ENTER under a remote parent: the payload starts with its span id.
    EnterRemote,
    Exit,
    Exception,
    Panic,
    Cancel,
    /// Not written: makes the records after it in its ring follow the record `after` names
    /// (a future polled on a new thread; see `local::enter_poll`).
    Link,
}

/// One call event on its way to the writer.
///
/// Two words say what the event needs beyond its id, read according to `event`: a child's
/// ENTER holds its parent; a root's ENTER its trace id; a closing record its parent and
/// duration. Packed so, a record stays at 120 bytes: one of more than 128 bytes is moved with
/// a `memcpy` call on both threads, which measured as more than everything else trace ids add.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) event: Event,
    pub(crate) site: &'static CallSite,
    pub(crate) id: u64,
    words: [u64; 2],
    /// When this record was made.
    pub(crate) at: Instant,
    /// The record this one must be written after, when it may sit in another thread's ring:
    /// a child's ENTER names its parent's ENTER, a closing record its own ENTER.
    pub(crate) after: Origin,
    /// ENTER: the captured args (see `captured`), after the remote parent's span id (8 bytes)
    /// for [`Event::EnterRemote`]; EXIT: the result, only with `ret` (else empty);
    /// EXCEPTION/PANIC: the message. Escaped UTF-8, see [`Payload`].
    pub(crate) payload: Payload,
}

impl Record {
    /// The ENTER of a call: a child of `parent` (whose ENTER is at `after`), or (`parent` 0)
    /// a root of `trace`, under the remote parent `remote_parent` when not 0. Built in place,
    /// the args moved once: this is on every traced call's path.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn enter(
        site: &'static CallSite,
        id: u64,
        (parent, after): (u64, Origin),
        (trace, remote_parent): (TraceId, u64),
        at: Instant,
        args: Payload,
    ) -> Self {
        // Everything decided before the record is built: built as one literal, it goes
        // straight into the ring's slot (mutating it afterwards cost an extra copy).
        let (event, words, after) = if parent != 0 {
            (Event::Enter, [parent, 0], after)
        } else if remote_parent == 0 {
            (Event::EnterRoot, [trace.high, trace.low], Origin::NONE)
        } else {
            (Event::EnterRemote, [trace.high, trace.low], Origin::NONE)
        };
        let payload = if event == Event::EnterRemote {
            with_remote_parent(remote_parent, args)
        } else {
            args
        };
        Self {
            event,
            site,
            id,
            words,
            at,
            after,
            payload,
        }
    }

    /// A link to `after` (see [`Event::Link`]).
    #[cold]
    pub(crate) fn link(after: Origin) -> Self {
        static NOWHERE: CallSite = CallSite::new("", "", "", 0, &[], 0);
        Self {
            event: Event::Link,
            site: &NOWHERE,
            id: 0,
            words: [0, 0],
            at: clock::anchor(),
            after,
            payload: Payload::new(),
        }
    }

    /// The closing record (`event`) of a call that entered at `entered`, its ENTER being at
    /// `after`.
    #[inline(always)]
    pub(crate) fn close(
        event: Event,
        site: &'static CallSite,
        (id, parent): (u64, u64),
        (entered, after): (Instant, Origin),
        at: Instant,
        payload: Payload,
    ) -> Self {
        Self {
            event,
            site,
            id,
            words: [parent, clock::nanos_between(entered, at)],
            at,
            after,
            payload,
        }
    }

    /// Whether this record, taken from ring `ring`, must wait for a record of another ring.
    #[inline]
    pub(crate) fn follows_another_ring(&self, ring: u64) -> bool {
        !self.after.is_none() && self.after.ring != ring
    }

    pub(crate) fn is_enter(&self) -> bool {
        matches!(
            self.event,
            Event::Enter | Event::EnterRoot | Event::EnterRemote
        )
    }

    /// The parent's id, 0 at a root.
    pub(crate) fn parent(&self) -> u64 {
        match self.event {
            Event::EnterRoot | Event::EnterRemote => 0,
            _ => self.words[0],
        }
    }

    /// A root ENTER's trace id and remote parent's span id (0 if none).
    pub(crate) fn root(&self) -> Option<(TraceId, u64)> {
        let trace = TraceId {
            high: self.words[0],
            low: self.words[1],
        };
        match self.event {
            Event::EnterRoot => Some((trace, 0)),
            Event::EnterRemote => Some((trace, self.remote_parent())),
            _ => None,
        }
    }

    fn remote_parent(&self) -> u64 {
        self.payload
            .get(..8)
            .and_then(|bytes| bytes.try_into().ok())
            .map_or(0, u64::from_ne_bytes)
    }

    /// An ENTER's args, in their captured form (see `captured`).
    pub(crate) fn args(&self) -> &[u8] {
        match self.event {
            Event::EnterRemote => self.payload.get(8..).unwrap_or_default(),
            _ => &self.payload,
        }
    }

    /// A closing record's duration in whole microseconds: the difference of the two records'
    /// `timestampMicros` (design §7), which rounding the nanoseconds alone could miss by one.
    pub(crate) fn duration_micros(&self) -> u64 {
        let at = clock::nanos_since_anchor(self.at);
        let entered = at.saturating_sub(self.words[1]);
        at / 1000 - entered / 1000
    }
}

/// A root's ENTER payload under a remote parent: the parent's span id, then the args. Rare:
/// once per request from elsewhere.
#[cold]
fn with_remote_parent(span: u64, args: Payload) -> Payload {
    let mut payload = Payload::new();
    payload.extend_from_slice(&span.to_ne_bytes());
    payload.extend_from_slice(&args);
    payload
}

//! One traced thread's queue of records to the writer: a bounded single-producer,
//! single-consumer ring (`rtrb`), so that handing over a record is a few plain stores and one
//! release store, with no lock, no read-modify-write and no allocation.
//!
//! Per-thread queues lose the one global order a shared channel gave for free. What the record
//! format needs of that order (design §1: a child's ENTER after its parent's, a closing record
//! after its ENTER, whatever threads they ran on) is kept by [`Origin`]s: every pushed record
//! gets one (its ring and its position in it), an open call keeps its ENTER's, and a record
//! that must follow a record of another thread carries that record's origin as `after`. The
//! writer then writes the record the origin names (and what precedes it in its ring) first; it
//! is always there already, because it was pushed before the dependent record was even built.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::thread::Thread;
use std::time::Duration;

use rtrb::{Consumer, Producer, PushError, RingBuffer};

use crate::record::{Origin, Record};
use crate::thread_label::ThreadLabel;
use crate::thread_lines::ThreadLines;

/// How many times a thread with a full ring yields and looks again before it sleeps.
const SPINS_BEFORE_SLEEP: u32 = 32;

/// Serial numbers of rings; never reused, so an origin can never name the wrong ring.
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// A traced thread waiting for room in its full ring (`block` mode), for the writer to wake.
#[derive(Debug)]
struct Waiting {
    flag: AtomicBool,
    thread: Thread,
}

/// The traced thread's end of its ring.
#[derive(Debug)]
pub(crate) struct ThreadRing {
    producer: Producer<Record>,
    waiting: Arc<Waiting>,
    serial: u64,
    /// Records pushed so far: the `seq` of the next one.
    pushed: u64,
    /// The configuration generation whose writer reads the other end.
    pub(crate) generation: u64,
}

/// The writer's end of one thread's ring.
#[derive(Debug)]
pub(crate) struct RingReader {
    pub(crate) consumer: Consumer<Record>,
    waiting: Arc<Waiting>,
    pub(crate) serial: u64,
    /// The constant parts of the lines from this ring's thread.
    pub(crate) lines: ThreadLines,
    pub(crate) thread: ThreadLabel,
    /// Records taken from the ring so far: the `seq` of the next one.
    pub(crate) popped: u64,
}

/// A ring of `capacity` records for the thread labelled `thread`, for the writer of
/// configuration `generation`.
pub(crate) fn new(
    capacity: usize,
    generation: u64,
    thread: ThreadLabel,
) -> (ThreadRing, RingReader) {
    let (producer, consumer) = RingBuffer::new(capacity);
    let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
    let waiting = Arc::new(Waiting {
        flag: AtomicBool::new(false),
        thread: std::thread::current(),
    });
    let ring = ThreadRing {
        producer,
        waiting: waiting.clone(),
        serial,
        pushed: 0,
        generation,
    };
    let reader = RingReader {
        consumer,
        waiting,
        serial,
        lines: ThreadLines::new(thread),
        thread,
        popped: 0,
    };
    (ring, reader)
}

impl ThreadRing {
    /// Pushes `record`; its origin, or the record back when the ring is full.
    #[inline(always)]
    pub(crate) fn push(&mut self, record: Record) -> Result<Origin, Record> {
        match self.producer.push(record) {
            Ok(()) => {
                let origin = Origin {
                    ring: self.serial,
                    seq: self.pushed,
                };
                self.pushed += 1;
                Ok(origin)
            }
            Err(PushError::Full(record)) => Err(record),
        }
    }

    /// True once the writer has let go of the other end: nothing pushed will be read.
    pub(crate) fn is_abandoned(&self) -> bool {
        self.producer.is_abandoned()
    }

    /// Waits, the ring being full, until the writer has taken records from it (it wakes this
    /// thread then) or `timeout` has passed.
    ///
    /// Sleeping a fixed time instead (as the first version did) left the thread asleep long
    /// after the writer had emptied the ring whenever the writer was in a write system call
    /// when the ring filled: to a file, that cost up to a third of the calls' throughput.
    pub(crate) fn wait_for_room(&self, timeout: Duration) {
        // A writer busy on the other core usually makes room within microseconds: look a few
        // times before sleeping, since waking a sleeping thread takes tens of them.
        for _ in 0..SPINS_BEFORE_SLEEP {
            std::thread::yield_now();
            if self.producer.slots() > 0 {
                return;
            }
        }
        // Announced before looking again, and the writer looks at it after taking records
        // (both with a full fence): one of the two sees the other.
        self.waiting.flag.store(true, Ordering::SeqCst);
        if self.producer.slots() == 0 {
            std::thread::park_timeout(timeout);
        }
        self.waiting.flag.store(false, Ordering::Relaxed);
    }
}

impl RingReader {
    /// Wakes the thread if it waits for room; called after taking records.
    pub(crate) fn wake_waiting_thread(&self) {
        fence(Ordering::SeqCst);
        if self.waiting.flag.load(Ordering::Relaxed)
            && self.waiting.flag.swap(false, Ordering::Relaxed)
        {
            self.waiting.thread.unpark();
        }
    }

    /// Whether the record at `origin` (of this ring) has been taken already.
    #[inline]
    pub(crate) fn has_taken(&self, origin: Origin) -> bool {
        self.popped > origin.seq
    }
}

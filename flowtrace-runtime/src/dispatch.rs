//! The process-wide tracing state: whether tracing is on, the running writer, and what every
//! traced call needs from the configuration.
//!
//! A traced call reads one relaxed atomic (`STATE`) to learn whether tracing is on at all. When
//! it is, it finds the [`Dispatch`] of the running configuration through its thread's cache
//! (`local`), refreshed from the global `ACTIVE` slot (behind a mutex) only when the
//! configuration generation changes. Records go into the thread's own ring (`ring`); this
//! module owns what happens when that ring is full and how the writer is woken.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::config::{Config, Overflow};
use crate::error::Error;
use crate::filter::{ModuleFilter, Redaction, Selection};
use crate::record::{Origin, Record};
use crate::ring::{self, RingReader, ThreadRing};
use crate::thread_label::ThreadLabel;
use crate::writer::{self, Control, WriterShared};
use crate::{exit_hook, stats};

const UNINIT: u8 = 0;
const ENABLED: u8 = 1;
const DISABLED: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);
pub(crate) static GENERATION: AtomicU64 = AtomicU64::new(0);
static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);

/// How long a traced thread waits for the writer's wake-up before it looks at its full ring
/// again in `block` mode (the wake-up is what normally ends the wait).
const FULL_RING_WAIT: Duration = Duration::from_millis(1);

/// What every traced call needs from the configuration, shared by all threads. Read-only once
/// built, and aligned so that no other allocation shares its lines.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Dispatch {
    /// Rings, orphaned records, flushes and the shutdown go to the writer this way.
    control: Sender<Control>,
    /// To wake the writer when it sleeps, or from its pause when someone waits for it.
    writer: std::thread::Thread,
    /// Written by the writer; on a line of its own, read by every push.
    shared: Arc<WriterShared>,
    overflow: Overflow,
    ring_capacity: usize,
    pub(crate) selection: Selection,
    /// This process segment's id, written in its START record; span ids derive from it.
    pub(crate) instance: u64,
    /// `FLOWTRACE_SAMPLE` as a threshold on a random `u64` (`u64::MAX`: every root).
    pub(crate) sample: u64,
}

/// The running writer, owned by the guard (or by the exit hook when no guard was kept).
struct Active {
    dispatch: Arc<Dispatch>,
    writer: JoinHandle<()>,
    done: Receiver<()>,
    shutdown_timeout: Duration,
}

/// True when tracing is on; initialises from the environment on the very first call.
#[inline(always)]
pub(crate) fn is_enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        ENABLED => true,
        DISABLED => false,
        _ => init_lazily(),
    }
}

impl Dispatch {
    /// The configuration generation this dispatch belongs to.
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.selection.generation
    }

    /// Hands `record` to the writer through `ring`, according to the overflow policy; where
    /// it landed, or [`Origin::NONE`] when it was dropped or lost.
    #[inline(always)]
    pub(crate) fn push(&self, ring: &mut ThreadRing, record: Record) -> Origin {
        match ring.push(record) {
            Ok(origin) => {
                if self.shared.idle.load(Ordering::Relaxed) {
                    self.wake_writer();
                }
                origin
            }
            Err(record) => self.push_to_full_ring(ring, record),
        }
    }

    #[cold]
    fn push_to_full_ring(&self, ring: &mut ThreadRing, mut record: Record) -> Origin {
        if self.overflow == Overflow::Drop {
            self.shared.pending_dropped.fetch_add(1, Ordering::Relaxed);
            stats::add(&stats::COUNTERS.dropped, 1);
            return Origin::NONE;
        }
        // `block`: wait until the writer makes room. It wakes this thread once per round that
        // took records from the ring, not per record: a wake-up is a system call.
        loop {
            // It may be pausing, or asleep.
            self.writer.unpark();
            ring.wait_for_room(FULL_RING_WAIT);
            match ring.push(record) {
                Ok(origin) => return origin,
                Err(back) if ring.is_abandoned() => {
                    // The writer stopped (tracing was shut down meanwhile).
                    drop(back);
                    stats::add(&stats::COUNTERS.lost, 1);
                    return Origin::NONE;
                }
                Err(back) => record = back,
            }
        }
    }

    /// Wakes the writer if it sleeps.
    #[cold]
    fn wake_writer(&self) {
        if self.shared.idle.swap(false, Ordering::Relaxed) {
            self.writer.unpark();
        }
    }

    /// A ring for the calling thread, labelled `thread`, registered with the writer.
    #[cold]
    pub(crate) fn new_ring(&self, thread: ThreadLabel) -> ThreadRing {
        let (ring, reader) = ring::new(self.ring_capacity, self.generation(), thread);
        self.register(reader);
        ring
    }

    fn register(&self, reader: RingReader) {
        // The writer takes rings before it reads any record that could depend on one.
        let _ = self.control.send(Control::Ring(reader));
    }

    /// Hands over a record from a thread that has no ring any more (it is exiting).
    #[cold]
    pub(crate) fn push_orphan(&self, record: Record, thread: ThreadLabel) {
        match self.control.send(Control::Orphan(record, thread)) {
            Ok(()) => self.writer.unpark(),
            Err(_) => stats::add(&stats::COUNTERS.lost, 1),
        }
    }
}

fn lock_active() -> MutexGuard<'static, Option<Active>> {
    // A panic while holding this lock leaves the data consistent (plain Option swaps).
    ACTIVE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn current_dispatch() -> Option<Arc<Dispatch>> {
    lock_active().as_ref().map(|active| active.dispatch.clone())
}

#[cold]
#[inline(never)]
fn init_lazily() -> bool {
    let mut active = lock_active();
    if STATE.load(Ordering::Relaxed) == UNINIT {
        let started = Config::from_env().and_then(|config| start_locked(&mut active, config));
        if let Err(error) = started {
            STATE.store(DISABLED, Ordering::Relaxed);
            crate::error::report(format_args!("tracing disabled: {error}"));
        }
    }
    drop(active);
    let enabled = STATE.load(Ordering::Relaxed) == ENABLED;
    if enabled {
        install_exit_hooks();
    }
    enabled
}

impl Config {
    /// Starts tracing with this configuration.
    ///
    /// Returns [`Error::AlreadyInitialized`] if tracing is already running (including
    /// zero-config tracing started by an earlier traced call).
    pub fn init(self) -> Result<crate::FlushGuard, Error> {
        let mut active = lock_active();
        start_locked(&mut active, self)?;
        drop(active);
        install_exit_hooks();
        Ok(crate::FlushGuard::new())
    }
}

/// Makes sure records already produced are written at exit and before a panic unwinds on.
fn install_exit_hooks() {
    exit_hook::install(exit_hook::Hooks {
        shutdown,
        flush: try_flush,
    });
}

fn start_locked(active: &mut Option<Active>, config: Config) -> Result<(), Error> {
    if active.is_some() {
        return Err(Error::AlreadyInitialized);
    }
    config.validate()?;
    if !config.enabled {
        STATE.store(DISABLED, Ordering::Relaxed);
        return Ok(());
    }
    let sink = crate::sink::Sink::open(config.output, config.rotation)?;
    crate::clock::start();
    let instance = crate::ids::instance();
    let service = crate::start::service_name(config.service.as_deref());
    let pid = std::process::id();
    let start_line = crate::start::line(&service, pid, instance, crate::clock::now_micros());
    let exporter = crate::exporter::start(config.otlp_endpoint, &service, instance, pid);
    let (control, controls) = crossbeam_channel::unbounded();
    let (done_sender, done) = crossbeam_channel::bounded(1);
    let shared = Arc::new(WriterShared::default());
    let writer = writer::spawn(
        writer::Setup {
            controls,
            sink,
            start_line,
            exporter,
            shared: shared.clone(),
            ring_capacity: config.capacity,
        },
        done_sender,
    )
    .map_err(Error::SpawnWriter)?;
    let generation = GENERATION.load(Ordering::Relaxed) + 1;
    *active = Some(Active {
        dispatch: Arc::new(Dispatch {
            control,
            writer: writer.thread().clone(),
            shared,
            overflow: config.overflow,
            ring_capacity: config.capacity,
            selection: Selection {
                generation,
                modules: ModuleFilter::new(config.include_modules, config.exclude_modules),
                redaction: Redaction::new(&config.redact),
                max_arg_length: config.max_arg_length,
            },
            instance,
            sample: crate::sample::threshold(config.sample),
        }),
        writer,
        done,
        shutdown_timeout: config.shutdown_timeout,
    });
    GENERATION.store(generation, Ordering::Relaxed);
    STATE.store(ENABLED, Ordering::Relaxed);
    Ok(())
}

/// Writes everything produced so far; waits at most `timeout`.
pub(crate) fn flush(timeout: Duration) -> Result<(), Error> {
    let Some(dispatch) = current_dispatch() else {
        return Ok(());
    };
    flush_dispatch(&dispatch, timeout)
}

/// Like [`flush`], but gives up at once if another thread holds the state lock (panic hook).
pub(crate) fn try_flush(timeout: Duration) {
    let dispatch = match ACTIVE.try_lock() {
        Ok(active) => active.as_ref().map(|a| a.dispatch.clone()),
        Err(_) => None,
    };
    if let Some(dispatch) = dispatch {
        let _ = flush_dispatch(&dispatch, timeout);
    }
}

fn flush_dispatch(dispatch: &Dispatch, timeout: Duration) -> Result<(), Error> {
    let (ack, acked) = crossbeam_channel::bounded(1);
    if dispatch.control.send(Control::Flush(ack)).is_err() {
        return Ok(());
    }
    dispatch.writer.unpark();
    acked
        .recv_timeout(timeout)
        .map_err(|_| Error::Timeout(timeout))
}

/// Stops the writer after it has written everything queued; tracing stays off until the next
/// explicit initialisation.
pub(crate) fn shutdown() {
    let taken = {
        let mut active = lock_active();
        STATE.store(DISABLED, Ordering::Relaxed);
        GENERATION.fetch_add(1, Ordering::Relaxed);
        active.take()
    };
    let Some(active) = taken else { return };
    let timeout = active.shutdown_timeout;
    let stopped = active.dispatch.control.send(Control::Shutdown).is_ok() && {
        active.dispatch.writer.unpark();
        active.done.recv_timeout(timeout).is_ok()
    };
    if stopped {
        let _ = active.writer.join();
    } else {
        crate::error::report(format_args!(
            "the flowtrace-writer thread did not finish within {timeout:?}; \
             records still queued may be missing"
        ));
    }
}

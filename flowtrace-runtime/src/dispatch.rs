//! The process-wide tracing state: whether tracing is on, the channel to the writer, and the
//! per-thread caches that keep the hot path free of locks.
//!
//! A traced call reads one relaxed atomic (`STATE`) to learn whether tracing is on at all. When it
//! is, everything else it needs — the sender, the thread's name, its next id, the current parent —
//! lives in one thread-local, refreshed from the global `ACTIVE` slot (behind a mutex) only when
//! the configuration generation changes.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TrySendError};

use crate::config::{Config, Overflow};
use crate::error::Error;
use crate::filter::{ModuleFilter, Redaction};
use crate::ids::{TraceId, TraceIds};
use crate::record::{Message, Record};
use crate::sink::Sink;
use crate::thread_label::ThreadLabel;
use crate::{exit_hook, stats, writer};

const UNINIT: u8 = 0;
const ENABLED: u8 = 1;
const DISABLED: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Written by every thread that runs out of ids; kept off the lines of STATE and GENERATION.
#[repr(align(128))]
struct IdBlocks(AtomicU64);
static NEXT_ID_BLOCK: IdBlocks = IdBlocks(AtomicU64::new(1));
static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);

/// How long a traced thread waits before retrying a full channel in `block` mode.
const FULL_CHANNEL_PAUSE: Duration = Duration::from_micros(50);

/// Ids are handed to threads in blocks so that threads do not contend on one counter.
const ID_BLOCK: u64 = 1024;

/// What every traced call needs from the configuration, shared by all threads. Read-only once
/// built, and aligned so that no other allocation (the writer's counters) shares its lines.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Dispatch {
    pub(crate) generation: u64,
    sender: Sender<Message>,
    /// To wake the writer from its pause when someone waits for it (flush, shutdown).
    writer: std::thread::Thread,
    overflow: Overflow,
    pending_dropped: Arc<AtomicU64>,
    pub(crate) filter: ModuleFilter,
    pub(crate) redaction: Redaction,
    pub(crate) max_arg_length: usize,
    /// This process segment's id, written in its START record; span ids derive from it.
    pub(crate) instance: u64,
}

/// The running writer, owned by the guard (or by the exit hook when no guard was kept).
struct Active {
    dispatch: Arc<Dispatch>,
    writer: JoinHandle<()>,
    done: Receiver<()>,
    shutdown_timeout: Duration,
}

/// The traced call running on a thread or task, as its children need it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Current {
    /// The call's id; 0 outside any call.
    pub(crate) id: u64,
    /// The call's trace. Outside any call: the trace of the remote parent in scope
    /// ([`crate::TraceContext::in_scope`]), or none.
    pub(crate) trace: TraceId,
}

impl Current {
    pub(crate) const NONE: Self = Self {
        id: 0,
        trace: TraceId::NONE,
    };
}

/// The per-thread part of the state.
pub(crate) struct Local {
    dispatch: RefCell<Option<Arc<Dispatch>>>,
    thread: Cell<Option<ThreadLabel>>,
    current: Cell<Current>,
    /// The span id of the remote parent in scope, read only by root calls.
    remote_span: Cell<u64>,
    trace_ids: TraceIds,
    next_id: Cell<u64>,
    id_limit: Cell<u64>,
    /// Reused for encoding arguments; taken out while in use, because encoding runs the
    /// user's `Serialize`/`Debug` code, which may itself call traced functions.
    buffer: Cell<Vec<u8>>,
    /// Calls on this thread are not traced: set on the writer thread, where a traced call in
    /// the user's sink would feed the writer its own records forever, and with a full channel
    /// would wait for room that only the writer itself can make.
    untraced: Cell<bool>,
}

/// A buffer grown past this by one huge argument is not kept for the thread's later calls.
const KEPT_BUFFER_BYTES: usize = 64 * 1024;

thread_local! {
    static LOCAL: Local = const {
        Local {
            dispatch: RefCell::new(None),
            thread: Cell::new(None),
            current: Cell::new(Current::NONE),
            remote_span: Cell::new(0),
            trace_ids: TraceIds::new(),
            next_id: Cell::new(0),
            id_limit: Cell::new(0),
            buffer: Cell::new(Vec::new()),
            untraced: Cell::new(false),
        }
    };
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

/// Runs `f` with this thread's state and the current dispatch, if tracing is running.
#[inline]
pub(crate) fn with_local<R>(f: impl FnOnce(&Local, &Dispatch) -> Option<R>) -> Option<R> {
    LOCAL
        .try_with(|local| {
            let generation = GENERATION.load(Ordering::Relaxed);
            {
                let cached = local.dispatch.borrow();
                if let Some(dispatch) = cached.as_deref()
                    && dispatch.generation == generation
                {
                    return f(local, dispatch);
                }
            }
            let fresh = current_dispatch()?;
            let result = f(local, &fresh);
            // Busy when this runs inside `f` of an outer call on this thread (user code that
            // encodes an argument) that still holds the old dispatch: cache it next time.
            if let Ok(mut cached) = local.dispatch.try_borrow_mut() {
                *cached = Some(fresh);
            }
            result
        })
        .ok()
        .flatten()
}

/// The traced call running on this thread, replaced by `current`.
#[inline]
pub(crate) fn swap_current(current: Current) -> Current {
    LOCAL
        .try_with(|local| local.current.replace(current))
        .unwrap_or(Current::NONE)
}

/// The traced call running on this thread, and the remote parent's span id in scope.
pub(crate) fn current_and_remote() -> (Current, u64) {
    LOCAL
        .try_with(|local| (local.current.get(), local.remote_span.get()))
        .unwrap_or((Current::NONE, 0))
}

/// Makes this thread run outside any call, under the remote parent `(trace, span)`; returns
/// what to restore with [`restore_scope`].
pub(crate) fn enter_remote_scope(trace: TraceId, span: u64) -> (Current, u64) {
    LOCAL
        .try_with(|local| {
            let current = local.current.replace(Current { id: 0, trace });
            (current, local.remote_span.replace(span))
        })
        .unwrap_or((Current::NONE, 0))
}

/// Undoes [`enter_remote_scope`].
pub(crate) fn restore_scope((current, span): (Current, u64)) {
    let _ = LOCAL.try_with(|local| {
        local.current.set(current);
        local.remote_span.set(span);
    });
}

/// The instance id of the running process segment, if tracing is running.
pub(crate) fn instance() -> Option<u64> {
    with_local(|_, dispatch| Some(dispatch.instance))
}

/// Traced calls made on this thread from now on record nothing (see [`Local`]'s `untraced`).
pub(crate) fn untrace_this_thread() {
    let _ = LOCAL.try_with(|local| local.untraced.set(true));
}

impl Local {
    /// False on a thread whose calls are not traced.
    #[inline]
    pub(crate) fn traces(&self) -> bool {
        !self.untraced.get()
    }

    #[inline]
    pub(crate) fn current(&self) -> Current {
        self.current.get()
    }

    /// The trace of a root call starting now, and its remote parent's span id (0 if none):
    /// the remote parent's trace when one is in scope (`outside` is the thread's [`Current`]
    /// outside any call), else a fresh one.
    #[inline]
    pub(crate) fn root_trace(&self, outside: Current) -> (TraceId, u64) {
        if outside.trace.is_none() {
            (self.trace_ids.fresh(), 0)
        } else {
            (outside.trace, self.remote_span.get())
        }
    }

    #[inline]
    pub(crate) fn next_id(&self) -> u64 {
        let id = self.next_id.get();
        if id < self.id_limit.get() {
            self.next_id.set(id + 1);
            return id;
        }
        let start = NEXT_ID_BLOCK.0.fetch_add(ID_BLOCK, Ordering::Relaxed);
        self.next_id.set(start + 1);
        self.id_limit.set(start + ID_BLOCK);
        start
    }

    /// Runs `f` with this thread's encoding buffer, empty.
    #[inline]
    pub(crate) fn with_buffer<R>(&self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut buffer = self.buffer.take();
        let result = f(&mut buffer);
        if buffer.capacity() <= KEPT_BUFFER_BYTES {
            buffer.clear();
            self.buffer.set(buffer);
        }
        result
    }

    #[inline]
    pub(crate) fn thread_label(&self) -> ThreadLabel {
        match self.thread.get() {
            Some(label) => label,
            None => {
                let label = ThreadLabel::current();
                self.thread.set(Some(label));
                label
            }
        }
    }
}

impl Dispatch {
    /// Hands a record to the writer according to the overflow policy.
    #[inline]
    pub(crate) fn send(&self, record: Record) {
        match self.sender.try_send(Message::Record(record)) {
            Ok(()) => {}
            Err(TrySendError::Full(message)) => match self.overflow {
                Overflow::Block => self.wait_for_room(message),
                Overflow::Drop => {
                    self.pending_dropped.fetch_add(1, Ordering::Relaxed);
                    stats::add(&stats::COUNTERS.dropped, 1);
                }
            },
            Err(TrySendError::Disconnected(_)) => stats::add(&stats::COUNTERS.lost, 1),
        }
    }

    /// `block` policy with a full channel: retry until there is room. The traced thread sleeps
    /// between tries rather than parking inside `send`: a parked sender makes the writer pay a
    /// wake-up system call for every record it takes, which halved the writer's throughput
    /// exactly when it was already the bottleneck.
    #[cold]
    fn wait_for_room(&self, mut message: Message) {
        for attempt in 0u32.. {
            if attempt < 16 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(FULL_CHANNEL_PAUSE);
            }
            match self.sender.try_send(message) {
                Ok(()) => return,
                Err(TrySendError::Full(back)) => message = back,
                Err(TrySendError::Disconnected(_)) => {
                    stats::add(&stats::COUNTERS.lost, 1);
                    return;
                }
            }
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
        exit_hook::install();
    }
    enabled
}

/// Starts tracing with `config`; used by [`Config::init`].
pub(crate) fn start(config: Config) -> Result<crate::FlushGuard, Error> {
    let mut active = lock_active();
    start_locked(&mut active, config)?;
    drop(active);
    exit_hook::install();
    Ok(crate::FlushGuard::new())
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
    let sink = Sink::open(config.output, config.rotation)?;
    crate::clock::start();
    let instance = crate::ids::instance();
    let service = crate::start::service_name(config.service.as_deref());
    let pid = std::process::id();
    let start_line = crate::start::line(&service, pid, instance, crate::clock::now_micros());
    let exporter = crate::exporter::start(config.otlp_endpoint, &service, instance, pid);
    let (sender, receiver) = crossbeam_channel::bounded(config.capacity);
    let (done_sender, done) = crossbeam_channel::bounded(1);
    let pending_dropped = Arc::new(AtomicU64::new(0));
    let writer = writer::spawn(
        receiver,
        sink,
        start_line,
        exporter,
        pending_dropped.clone(),
        config.capacity,
        done_sender,
    )
    .map_err(Error::SpawnWriter)?;
    let generation = GENERATION.load(Ordering::Relaxed) + 1;
    *active = Some(Active {
        dispatch: Arc::new(Dispatch {
            generation,
            sender,
            writer: writer.thread().clone(),
            overflow: config.overflow,
            pending_dropped,
            filter: ModuleFilter::new(config.include_modules, config.exclude_modules),
            redaction: Redaction::new(&config.redact),
            max_arg_length: config.max_arg_length,
            instance,
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
    match dispatch.sender.send_timeout(Message::Flush(ack), timeout) {
        Ok(()) => dispatch.writer.unpark(),
        Err(SendTimeoutError::Disconnected(_)) => return Ok(()),
        Err(SendTimeoutError::Timeout(_)) => return Err(Error::Timeout(timeout)),
    }
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
    let stopped = active
        .dispatch
        .sender
        .send_timeout(Message::Shutdown, timeout)
        .inspect(|()| active.dispatch.writer.unpark())
        .is_ok()
        && active.done.recv_timeout(timeout).is_ok();
    if stopped {
        let _ = active.writer.join();
    } else {
        crate::error::report(format_args!(
            "the flowtrace-writer thread did not finish within {timeout:?}; \
             records still queued may be missing"
        ));
    }
}

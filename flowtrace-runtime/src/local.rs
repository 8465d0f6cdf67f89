//! What each thread keeps for its traced calls, so that the hot path takes no lock: the call
//! running now, the cached [`Dispatch`], the thread's ring to the writer, its next ids, its
//! trace-id generator and its argument buffer.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::dispatch::{self, Dispatch, GENERATION};
use crate::ids::{TraceId, TraceIds};
use crate::record::{Origin, Record};
use crate::ring::ThreadRing;
use crate::thread_label::ThreadLabel;

/// Written by every thread that runs out of ids; kept off the lines of STATE and GENERATION.
#[repr(align(128))]
struct IdBlocks(AtomicU64);
static NEXT_ID_BLOCK: IdBlocks = IdBlocks(AtomicU64::new(1));

/// Ids are handed to threads in blocks so that threads do not contend on one counter.
const ID_BLOCK: u64 = 1024;

/// The traced call running on a thread or task, as its children need it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Current {
    /// The call's id; 0 outside any call, [`Current::UNSAMPLED_ID`] inside a subtree that
    /// sampling left out.
    pub(crate) id: u64,
    /// The call's trace. Outside any call: the trace of the remote parent in scope
    /// ([`crate::TraceContext::in_scope`]), or none.
    pub(crate) trace: TraceId,
    /// The call's frontier (see `call`): its children's ENTERs are written after it.
    pub(crate) origin: Origin,
}

impl Current {
    pub(crate) const NONE: Self = Self {
        id: 0,
        trace: TraceId::NONE,
        origin: Origin::NONE,
    };

    /// The id of "a call that is not recorded, and neither is anything it calls".
    pub(crate) const UNSAMPLED_ID: u64 = u64::MAX;
}

/// The per-thread part of the state.
pub(crate) struct Local {
    dispatch: RefCell<Option<Arc<Dispatch>>>,
    ring: RefCell<Option<ThreadRing>>,
    /// The span id of the remote parent in scope, read only by root calls.
    remote_span: Cell<u64>,
    trace_ids: TraceIds,
    /// Where this thread's latest record went.
    last_pushed: Cell<Origin>,
    next_id: Cell<u64>,
    id_limit: Cell<u64>,
    /// Reused for encoding arguments; taken out while in use, because encoding runs the
    /// user's `Serialize`/`Debug` code, which may itself call traced functions.
    buffer: Cell<Vec<u8>>,
}

/// A buffer grown past this by one huge argument is not kept for the thread's later calls.
const KEPT_BUFFER_BYTES: usize = 64 * 1024;

thread_local! {
    static LOCAL: Local = const {
        Local {
            dispatch: RefCell::new(None),
            ring: RefCell::new(None),
            remote_span: Cell::new(0),
            trace_ids: TraceIds::new(),
            last_pushed: Cell::new(Origin::NONE),
            next_id: Cell::new(0),
            id_limit: Cell::new(0),
            buffer: Cell::new(Vec::new()),
        }
    };
}

thread_local! {
    /// The traced call running on this thread. Every traced call reads it first (is it inside
    /// a subtree that sampling left out?), so it lives apart from `LOCAL`, in a thread-local
    /// with nothing to drop: reading it is one load, with no check that the thread is alive.
    static CURRENT: Cell<Current> = const { Cell::new(Current::NONE) };
}

/// The traced call running on this thread.
#[inline(always)]
fn current() -> Current {
    CURRENT.try_with(Cell::get).unwrap_or(Current::NONE)
}

/// Makes `current` the call running on this thread; the one it replaces.
#[inline(always)]
fn replace_current(current: Current) -> Current {
    CURRENT
        .try_with(|cell| cell.replace(current))
        .unwrap_or(Current::NONE)
}

/// True inside a subtree that sampling left out: a call there records nothing.
#[inline(always)]
pub(crate) fn in_unsampled_call() -> bool {
    current().id == Current::UNSAMPLED_ID
}

/// Runs `f` with this thread's state and the current dispatch, if tracing is running.
#[inline]
pub(crate) fn with_local<R>(f: impl FnOnce(&Local, &Dispatch) -> Option<R>) -> Option<R> {
    LOCAL
        .try_with(|local| local.with_dispatch(|dispatch| f(local, dispatch)))
        .ok()
        .flatten()
}

/// [`with_local`] for a call that begins, given the call it begins in; inside a subtree that
/// sampling left out, nothing more than that check happens.
#[inline]
pub(crate) fn with_local_for_call<R>(
    f: impl FnOnce(&Local, &Dispatch, Current) -> Option<R>,
) -> Option<R> {
    let current = current();
    if current.id == Current::UNSAMPLED_ID {
        return None;
    }
    with_local(|local, dispatch| f(local, dispatch, current))
}

/// The traced call running on this thread, replaced by `current`.
#[inline]
pub(crate) fn swap_current(current: Current) -> Current {
    replace_current(current)
}

/// Makes `current`, a future's call about to be polled, the current call of this thread;
/// returns what to restore with [`leave_poll`].
///
/// A future may be polled on another thread than last time. Its records from now on go to
/// this thread's ring, and must still follow every record it is known to follow (its
/// frontier, in another ring): a link record, never written, says so once, before them.
#[inline]
pub(crate) fn enter_poll(current: Current) -> Current {
    let frontier = current.origin;
    if !frontier.is_none()
        && LOCAL
            .try_with(|local| frontier.ring != local.last_pushed.get().ring)
            .unwrap_or(false)
    {
        link_to(frontier);
    }
    replace_current(current)
}

#[cold]
fn link_to(frontier: Origin) {
    with_local(|local, dispatch| {
        local.push(dispatch, Record::link(frontier));
        Some(())
    });
}

/// Ends a poll begun with [`enter_poll`]: restores `previous` and returns where this
/// thread's latest record went (the polled call's new frontier).
#[inline]
pub(crate) fn leave_poll(previous: Current) -> Origin {
    replace_current(previous);
    LOCAL
        .try_with(|local| local.last_pushed.get())
        .unwrap_or(Origin::NONE)
}

/// The traced call running on this thread, and the remote parent's span id in scope.
pub(crate) fn current_and_remote() -> (Current, u64) {
    let span = LOCAL.try_with(|local| local.remote_span.get()).unwrap_or(0);
    (current(), span)
}

/// Makes this thread run outside any call, under the remote parent `(trace, span)`; returns
/// what to restore with [`restore_scope`].
pub(crate) fn enter_remote_scope(trace: TraceId, span: u64) -> (Current, u64) {
    let outside = Current {
        trace,
        ..Current::NONE
    };
    let span = LOCAL
        .try_with(|local| local.remote_span.replace(span))
        .unwrap_or(0);
    (replace_current(outside), span)
}

/// Undoes [`enter_remote_scope`].
pub(crate) fn restore_scope((current, span): (Current, u64)) {
    replace_current(current);
    let _ = LOCAL.try_with(|local| local.remote_span.set(span));
}

/// The instance id of the running process segment, if tracing is running.
pub(crate) fn instance() -> Option<u64> {
    with_local(|_, dispatch| Some(dispatch.instance))
}

/// Hands the record `make` builds to the writer from this thread's ring; when the thread has
/// none any more (it is exiting) or tracing was re-configured since `dispatch` was read,
/// through whatever dispatch is current. Built where it is pushed: passed in built, the
/// 120-byte record was copied once more on every call.
#[inline(always)]
pub(crate) fn push_anywhere(make: impl FnOnce() -> Record) {
    let mut make = Some(make);
    with_local(|local, dispatch| {
        local.push(dispatch, make.take()?());
        Some(())
    });
    if let Some(make) = make {
        push_orphan(make());
    }
}

#[cold]
fn push_orphan(record: Record) {
    match dispatch::current_dispatch() {
        Some(dispatch) => dispatch.push_orphan(record, ThreadLabel::named("<exiting thread>")),
        None => crate::stats::add(&crate::stats::COUNTERS.lost, 1),
    }
}

impl Local {
    /// Runs `f` with the current dispatch, cached here until the configuration changes.
    #[inline]
    fn with_dispatch<R>(&self, f: impl FnOnce(&Dispatch) -> Option<R>) -> Option<R> {
        let generation = GENERATION.load(Ordering::Relaxed);
        {
            let cached = self.dispatch.borrow();
            if let Some(dispatch) = cached.as_deref()
                && dispatch.generation() == generation
            {
                return f(dispatch);
            }
        }
        let fresh = dispatch::current_dispatch()?;
        let result = f(&fresh);
        // Busy when this runs inside `f` of an outer call on this thread (user code that
        // encodes an argument) that still holds the old dispatch: cache it next time.
        if let Ok(mut cached) = self.dispatch.try_borrow_mut() {
            *cached = Some(fresh);
        }
        result
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

    /// A random draw for the sampling decision of a root call.
    #[inline]
    pub(crate) fn random(&self) -> u64 {
        self.trace_ids.next()
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

    /// Hands `record` to `dispatch`'s writer through this thread's ring, made on first use
    /// (and again after a re-configuration); where it went.
    ///
    /// Inlined into its callers, so that the record is built straight into the ring's slot:
    /// out of line, the 120-byte record was copied twice on its way there.
    #[inline(always)]
    pub(crate) fn push(&self, dispatch: &Dispatch, record: Record) -> Origin {
        let origin = match self.ring.try_borrow_mut() {
            Ok(mut slot) => match slot.as_mut() {
                Some(ring) if ring.generation == dispatch.generation() => {
                    dispatch.push(ring, record)
                }
                _ => {
                    drop(slot);
                    self.push_to_new_ring(dispatch, record)
                }
            },
            Err(_) => {
                // Only reachable if pushing ever ran user code; never lose the record for it.
                dispatch.push_orphan(record, ThreadLabel::current());
                Origin::NONE
            }
        };
        if !origin.is_none() {
            self.last_pushed.set(origin);
        }
        origin
    }

    /// The thread's first record under this configuration: its ring is made first.
    #[cold]
    #[inline(never)]
    fn push_to_new_ring(&self, dispatch: &Dispatch, record: Record) -> Origin {
        if crate::own_thread::is_own() {
            return Origin::NONE;
        }
        let Ok(mut slot) = self.ring.try_borrow_mut() else {
            dispatch.push_orphan(record, ThreadLabel::current());
            return Origin::NONE;
        };
        let ring = slot.insert(dispatch.new_ring(ThreadLabel::current()));
        dispatch.push(ring, record)
    }
}

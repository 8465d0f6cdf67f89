//! One traced call from ENTER to its closing record, for sync bodies and for futures.
//!
//! [`enter`] writes ENTER and returns a [`Call`]. The call is closed exactly once: by
//! [`Call::exit`] / [`Call::exception`] on return, with PANIC when the body unwinds (caught,
//! recorded, and resumed unchanged), or with CANCEL when it is dropped still open — which is what
//! happens to the call inside a future that is dropped before it completes.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::args::ArgsEncoder;
use crate::clock::{self, Instant};
use crate::dispatch;
use crate::ids::TraceId;
use crate::json::{self, Payload};
use crate::local::{self, Current};
use crate::record::{Event, Origin, Record};
use crate::sample;
use crate::site::CallSite;

/// An open traced call (or an inert one when tracing is off for it).
#[derive(Debug)]
#[must_use]
pub struct Call {
    /// `None` when inert or already closed.
    open: Option<Open>,
}

/// What a call still open needs to close itself.
#[derive(Debug)]
struct Open {
    site: &'static CallSite,
    /// [`Current::UNSAMPLED_ID`] for a root that sampling left out: it records nothing, but
    /// runs as the current call so that its subtree is left out too.
    id: u64,
    parent: u64,
    entered: Instant,
    trace: TraceId,
    /// The latest record this call is known to follow: its ENTER at first, then the last
    /// record its thread had pushed when a poll of it ended. Its closing record and its
    /// children's ENTERs are written after it (see `ring`), whichever thread pushes them.
    frontier: Origin,
}

/// Writes ENTER for `site` and returns the open call; `encode` records the arguments and is only
/// run when the call is actually traced.
///
/// Only the "does this call record" check is inlined into the traced function; everything
/// else is out of line, so that with tracing off a traced function costs a load or two and a
/// few moves more.
#[inline(always)]
pub fn enter<E: FnOnce(&mut ArgsEncoder<'_>)>(site: &'static CallSite, encode: E) -> Call {
    if records() {
        begin(site, encode)
    } else {
        Call::INERT
    }
}

/// Whether a traced call starting here records anything: tracing is on, and the call is not
/// inside a subtree that sampling left out.
#[inline(always)]
pub(crate) fn records() -> bool {
    dispatch::is_enabled() && !local::in_unsampled_call()
}

/// [`enter`] once the caller knows tracing is on (the macro checks first, so that a disabled
/// call does not even build an inert `Call`). The site may still be filtered out: the call is
/// then inert.
#[inline(never)]
pub fn begin<E: FnOnce(&mut ArgsEncoder<'_>)>(site: &'static CallSite, encode: E) -> Call {
    let open = local::with_local_for_call(|local, dispatch, current| {
        let parent = current.id;
        let resolution = site.resolve(&dispatch.selection)?;
        // Only a root pays for its trace id (and its sampling decision); a child takes its
        // parent's.
        let link = if parent == 0 {
            let threshold = match site.sample {
                0 => dispatch.sample,
                own => own,
            };
            if threshold != sample::ALWAYS && !sample::keeps(threshold, local.random()) {
                return Some(Open::unsampled(site));
            }
            local.root_trace(current)
        } else {
            (current.trace, 0)
        };
        let id = local.next_id();
        let args = if site.args.is_empty() {
            Payload::new()
        } else {
            local.with_buffer(|buffer| {
                let mut encoder =
                    ArgsEncoder::object(buffer, site, resolution, &dispatch.selection);
                encode(&mut encoder);
                encoder.finish()
            })
        };
        let at = clock::now();
        let enter = Record::enter(site, id, (parent, current.origin), link, at, args);
        let frontier = local.push(dispatch, enter);
        Some(Open {
            site,
            id,
            parent,
            entered: at,
            trace: link.0,
            frontier,
        })
    });
    // `Option<Open>` all the way: a `Call` wrapped in one more `Option` has its own tag, and
    // unwrapping it was a misaligned copy that stalled on the store it read from.
    Call { open }
}

impl Call {
    /// A call that records nothing: tracing is off, or the site is filtered out.
    pub const INERT: Self = Self { open: None };

    /// True when the call records nothing (tracing is off, or the site is filtered out).
    #[inline(always)]
    pub fn is_inert(&self) -> bool {
        self.open.is_none()
    }

    /// The open call as the current call of its thread; none when inert or closed.
    #[inline(always)]
    pub(crate) fn current(&self) -> Current {
        self.open.as_ref().map_or(Current::NONE, |open| Current {
            id: open.id,
            trace: open.trace,
            origin: open.frontier,
        })
    }

    /// Runs a sync body as this call: it is the parent of calls made inside, and a panic
    /// unwinding out of it writes PANIC before it continues unchanged.
    #[inline(always)]
    pub fn run<R, F: FnOnce() -> R>(&mut self, body: F) -> R {
        if self.open.is_none() {
            body()
        } else {
            self.run_traced(body)
        }
    }

    #[inline(never)]
    fn run_traced<R, F: FnOnce() -> R>(&mut self, body: F) -> R {
        let previous = local::swap_current(self.current());
        let outcome = panic::catch_unwind(AssertUnwindSafe(body));
        local::swap_current(previous);
        match outcome {
            Ok(value) => value,
            Err(payload) => {
                self.close(Event::Panic, json::panic_message(payload.as_ref()));
                panic::resume_unwind(payload)
            }
        }
    }

    /// Wraps a future so that it runs as this call. When it completes, `close` is given its
    /// output and the call: written at the call site, it knows whether the output is an `Err`.
    pub fn instrument<R, F, C>(self, future: F, close: C) -> Instrumented<F, C>
    where
        F: Future<Output = R>,
        C: FnOnce(&R, &mut Call),
    {
        Instrumented {
            body: Body::Running { future },
            call: self,
            close: Some(close),
        }
    }

    /// Encodes the return value for `ret`; `encode` runs only when the call is traced.
    #[inline]
    pub fn encode_result(&self, encode: impl FnOnce(&mut ArgsEncoder<'_>)) -> Option<Payload> {
        let open = self.open.as_ref().filter(|open| open.is_recorded())?;
        local::with_local(|local, dispatch| {
            Some(local.with_buffer(|buffer| {
                let mut encoder = ArgsEncoder::value(buffer, open.site, &dispatch.selection);
                encode(&mut encoder);
                encoder.finish()
            }))
        })
    }

    /// Closes the call with EXIT and, with `ret`, the encoded return value.
    #[inline(always)]
    pub fn exit(&mut self, result: Option<Payload>) {
        if self.open.is_some() {
            self.close(Event::Exit, result.unwrap_or_default());
        }
    }

    /// Closes the call with EXCEPTION; `message` is only built when the call is traced.
    #[inline(always)]
    pub fn exception(&mut self, message: impl FnOnce() -> String) {
        if self.open.is_some() {
            self.close(Event::Exception, json::escaped(message().as_bytes()));
        }
    }

    /// Closes the call with PANIC; `message` is `None` when the panic hook could not tell it.
    #[cold]
    pub(crate) fn panicked(&mut self, message: Option<Payload>) {
        let message = message.unwrap_or_else(|| json::escaped(b"<panic message not recorded>"));
        self.close(Event::Panic, message);
    }

    #[cold]
    fn close_cold(&mut self, event: Event, payload: Payload) {
        self.close(event, payload);
    }

    fn close(&mut self, event: Event, payload: Payload) {
        let Some(open) = self.open.take().filter(Open::is_recorded) else {
            return;
        };
        let at = clock::now();
        let ids = (open.id, open.parent);
        // It must reach the writer even when tracing was re-configured while the call was
        // open, or the thread is exiting.
        local::push_anywhere(|| {
            Record::close(
                event,
                open.site,
                ids,
                (open.entered, open.frontier),
                at,
                payload,
            )
        });
    }
}

impl Open {
    fn is_recorded(&self) -> bool {
        self.id != Current::UNSAMPLED_ID
    }

    /// A root call that sampling left out.
    #[cold]
    fn unsampled(site: &'static CallSite) -> Self {
        Self {
            site,
            id: Current::UNSAMPLED_ID,
            parent: 0,
            entered: clock::anchor(),
            trace: TraceId::NONE,
            frontier: Origin::NONE,
        }
    }
}

impl Drop for Call {
    #[inline(always)]
    fn drop(&mut self) {
        if self.open.is_some() {
            self.close_cold(Event::Cancel, Payload::new());
        }
    }
}

pin_project_lite::pin_project! {
    /// A future running as a traced call; see [`Call::instrument`].
    ///
    /// The body comes first: fields drop in order, so when the wrapper is dropped still pending,
    /// the calls the body was awaiting write their CANCEL before this call writes its own.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F, C> {
        #[pin]
        body: Body<F>,
        call: Call,
        close: Option<C>,
    }
}

pin_project_lite::pin_project! {
    /// The wrapped future, until a panic out of it has dropped it.
    #[project = BodyProjection]
    #[derive(Debug)]
    enum Body<F> {
        Running { #[pin] future: F },
        Unwound,
    }
}

impl<F: Future, C: FnOnce(&F::Output, &mut Call)> Future for Instrumented<F, C> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if this.call.open.is_none() {
            // Inert: nothing to record, and a disabled traced future costs one branch per poll.
            return match this.body.project() {
                BodyProjection::Running { future } => future.poll(cx),
                BodyProjection::Unwound => panic!("a traced future polled after it panicked"),
            };
        }
        let poll = poll_traced(this.call, this.body, cx);
        if let Poll::Ready(value) = &poll
            && let Some(close) = this.close.take()
        {
            close(value, this.call);
        }
        poll
    }
}

#[inline(never)]
fn poll_traced<F: Future>(
    call: &mut Call,
    mut body: Pin<&mut Body<F>>,
    cx: &mut Context<'_>,
) -> Poll<F::Output> {
    let BodyProjection::Running { future } = body.as_mut().project() else {
        panic!("a traced future polled after it panicked");
    };
    let previous = local::enter_poll(call.current());
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))).inspect_err(|_| {
        // Drop the body now, still as this call: the calls it was awaiting close (CANCEL)
        // before this one closes with PANIC. A panic out of that drop is not the one that
        // unwinds on.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| body.set(Body::Unwound)));
    });
    let frontier = local::leave_poll(previous);
    if let Some(open) = &mut call.open
        && open.is_recorded()
        && !frontier.is_none()
    {
        open.frontier = frontier;
    }
    match outcome {
        Ok(poll) => poll,
        Err(payload) => {
            call.close(Event::Panic, json::panic_message(payload.as_ref()));
            panic::resume_unwind(payload)
        }
    }
}

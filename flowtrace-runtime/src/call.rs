//! One traced call from ENTER to its closing record, for sync bodies and for futures.
//!
//! [`enter`] writes ENTER and returns a [`Call`]. The call is closed exactly once: by
//! [`Call::exit`] / [`Call::exception`] on return, with PANIC when the body unwinds (caught,
//! recorded, and resumed unchanged), or with CANCEL when it is dropped still open — which is what
//! happens to the call inside a future that is dropped before it completes.

use std::any::Any;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::args::ArgsEncoder;
use crate::clock::{self, Instant};
use crate::dispatch::{self, Current, Dispatch};
use crate::ids::TraceId;
use crate::record::{self, Event, Payload, Record};
use crate::site::CallSite;
use crate::thread_label::ThreadLabel;

/// An open traced call (or an inert one when tracing is off for it).
///
/// Four words: a traced future carries it, and with tracing off every extra byte of that future
/// is copied for nothing each time the future moves.
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
    id: u64,
    parent: u64,
    entered: Instant,
    trace: TraceId,
}

/// Writes ENTER for `site` and returns the open call; `encode` records the arguments and is only
/// run when the call is actually traced.
///
/// Only the "is tracing on" check is inlined into the traced function; everything else is out
/// of line, so that with tracing off a traced function costs one load and a few moves more.
#[inline(always)]
pub fn enter<E: FnOnce(&mut ArgsEncoder<'_>)>(site: &'static CallSite, encode: E) -> Call {
    if dispatch::is_enabled() {
        begin(site, encode)
    } else {
        Call::INERT
    }
}

/// [`enter`] once the caller knows tracing is on (the macro checks first, so that a disabled
/// call does not even build an inert `Call`). The site may still be filtered out: the call is
/// then inert.
#[inline(never)]
pub fn begin<E: FnOnce(&mut ArgsEncoder<'_>)>(site: &'static CallSite, encode: E) -> Call {
    let open = dispatch::with_local(|local, dispatch| {
        if !local.traces() {
            return None;
        }
        let resolution = site.resolve(dispatch)?;
        let id = local.next_id();
        let current = local.current();
        let parent = current.id;
        // Only a root pays for its trace id; a child takes its parent's.
        let link = if parent == 0 {
            local.root_trace(current)
        } else {
            (current.trace, 0)
        };
        let args = if site.args.is_empty() {
            Payload::new()
        } else {
            local.with_buffer(|buffer| {
                let mut encoder = ArgsEncoder::object(buffer, site, resolution, dispatch);
                encode(&mut encoder);
                encoder.finish()
            })
        };
        let at = clock::now();
        let thread = local.thread_label();
        dispatch.send(Record::enter(site, thread, id, parent, link, at, args));
        Some(Open {
            site,
            id,
            parent,
            entered: at,
            trace: link.0,
        })
    });
    // `Option<Open>` all the way: a `Call` wrapped in one more `Option` has its own tag, and
    // unwrapping it was a misaligned copy that stalled on the store it read from.
    Call { open }
}

impl Call {
    /// A call that records nothing: tracing is off, or the site is filtered out.
    pub const INERT: Self = Self { open: None };

    /// The open call as the current call of its thread; none when inert or closed.
    #[inline(always)]
    pub(crate) fn current(&self) -> Current {
        self.open.as_ref().map_or(Current::NONE, |open| Current {
            id: open.id,
            trace: open.trace,
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
        let previous = dispatch::swap_current(self.current());
        let outcome = panic::catch_unwind(AssertUnwindSafe(body));
        dispatch::swap_current(previous);
        match outcome {
            Ok(value) => value,
            Err(payload) => {
                self.close(Event::Panic, panic_message(payload.as_ref()));
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
        let open = self.open.as_ref()?;
        dispatch::with_local(|local, dispatch| {
            Some(local.with_buffer(|buffer| {
                let mut encoder = ArgsEncoder::value(buffer, open.site, dispatch);
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
            self.close(Event::Exception, record::escaped(message().as_bytes()));
        }
    }

    /// Closes the call with PANIC; `message` is `None` when the panic hook could not tell it.
    #[cold]
    pub(crate) fn panicked(&mut self, message: Option<Payload>) {
        let message = message.unwrap_or_else(|| record::escaped(b"<panic message not recorded>"));
        self.close(Event::Panic, message);
    }

    #[cold]
    fn close_cold(&mut self, event: Event, payload: Payload) {
        self.close(event, payload);
    }

    fn close(&mut self, event: Event, payload: Payload) {
        let Some(Open {
            site,
            id,
            parent,
            entered,
            ..
        }) = self.open.take()
        else {
            return;
        };
        let at = clock::now();
        let record =
            |thread| Record::close(event, site, thread, (id, parent), entered, at, payload);
        send_closing(record);
    }
}

/// Sends a closing record. It must reach the writer even when tracing was re-configured while
/// the call was open, so it falls back to whatever dispatch is current.
#[inline]
fn send_closing(record: impl FnOnce(ThreadLabel) -> Record) {
    let mut record = Some(record);
    dispatch::with_local(|local, dispatch: &Dispatch| {
        let build = record.take()?;
        dispatch.send(build(local.thread_label()));
        Some(())
    });
    if let Some(build) = record {
        // This thread's locals are gone (it is exiting) or tracing was stopped meanwhile.
        match dispatch::current_dispatch() {
            Some(dispatch) => dispatch.send(build(ThreadLabel::named("<exiting thread>"))),
            None => crate::stats::add(&crate::stats::COUNTERS.lost, 1),
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

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Payload {
    let message = if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.as_str()
    } else {
        "Box<dyn Any>"
    };
    record::escaped(message.as_bytes())
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
    let previous = dispatch::swap_current(call.current());
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))).inspect_err(|_| {
        // Drop the body now, still as this call: the calls it was awaiting close (CANCEL)
        // before this one closes with PANIC. A panic out of that drop is not the one that
        // unwinds on.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| body.set(Body::Unwound)));
    });
    dispatch::swap_current(previous);
    match outcome {
        Ok(poll) => poll,
        Err(payload) => {
            call.close(Event::Panic, panic_message(payload.as_ref()));
            panic::resume_unwind(payload)
        }
    }
}

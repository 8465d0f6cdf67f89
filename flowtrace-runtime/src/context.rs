//! W3C Trace Context: the current call as a `traceparent`, and running code under a remote
//! parent so that its calls join that trace.
//!
//! A `traceparent` is `VERSION-TRACEID-PARENTID-FLAGS`, e.g.
//! `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`. Parsing follows the W3C
//! recommendation: two lowercase hex digits of version (`ff` is invalid; a version after `00`
//! may carry more fields after a `-`, which are ignored), 32 and 16 lowercase hex digits of
//! trace id and parent id, neither all zeros, and two of flags, kept as they are.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::ids::{TraceId, hex16, span_id};
use crate::local;

/// A position in a distributed trace: a trace id, a span id in it, and the W3C trace flags.
///
/// ```
/// use flowtrace_runtime::{TraceContext, flowtrace};
///
/// #[flowtrace]
/// fn handle(text: &str) -> usize {
///     text.len()
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let _guard = flowtrace_runtime::Config::new().writer(std::io::sink()).init()?;
/// // An incoming request's header: calls made under it continue the sender's trace.
/// let remote =
///     TraceContext::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
/// remote.in_scope(|| handle("hello"));
/// // On the sending side, inside a traced call: the header to send along.
/// let header: Option<String> = TraceContext::current().map(|context| context.traceparent());
/// # let _ = header;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace: TraceId,
    span: u64,
    flags: u8,
}

/// The flags of contexts flowtrace makes itself: sampled (every call is recorded).
const SAMPLED: u8 = 0x01;

/// Why a `traceparent` header was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceparentError {
    /// Shorter than 55 characters, or longer with version `00`.
    #[error("a traceparent has 55 characters (version 00), found {0}")]
    Length(usize),
    /// A field is not lowercase hexadecimal.
    #[error("the traceparent's {0} is not lowercase hexadecimal")]
    NotHex(&'static str),
    /// A `-` is missing between fields.
    #[error("the traceparent's fields must be separated by `-`")]
    Separator,
    /// Version `ff` is forbidden by the W3C recommendation.
    #[error("traceparent version ff is invalid")]
    ForbiddenVersion,
    /// The trace id is all zeros.
    #[error("the traceparent's trace id is all zeros")]
    ZeroTraceId,
    /// The parent (span) id is all zeros.
    #[error("the traceparent's parent id is all zeros")]
    ZeroParentId,
}

impl TraceContext {
    /// The innermost traced call open on this thread or task; outside any call, the remote
    /// parent in scope ([`in_scope`](Self::in_scope), [`instrument`](Self::instrument)); else
    /// (or when tracing is off) `None`.
    pub fn current() -> Option<Self> {
        let (current, remote_span) = local::current_and_remote();
        if current.trace.is_none() {
            return None;
        }
        if current.id == 0 {
            return Some(Self {
                trace: current.trace,
                span: remote_span,
                flags: SAMPLED,
            });
        }
        Some(Self {
            trace: current.trace,
            span: span_id(local::instance()?, current.id),
            flags: SAMPLED,
        })
    }

    /// Parses a W3C `traceparent` header value; every malformed value is an `Err`.
    pub fn from_traceparent(header: &str) -> Result<Self, TraceparentError> {
        let bytes = header.as_bytes();
        if bytes.len() < 55 {
            return Err(TraceparentError::Length(bytes.len()));
        }
        let version = hex_field(&bytes[0..2], "version")?;
        if version == 0xff {
            return Err(TraceparentError::ForbiddenVersion);
        }
        if version == 0 && bytes.len() != 55 {
            return Err(TraceparentError::Length(bytes.len()));
        }
        // A later version may append fields; it must still start like version 00.
        if bytes.len() > 55 && bytes[55] != b'-' {
            return Err(TraceparentError::Separator);
        }
        if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return Err(TraceparentError::Separator);
        }
        let trace = TraceId {
            high: hex_field(&bytes[3..19], "trace id")?,
            low: hex_field(&bytes[19..35], "trace id")?,
        };
        let span = hex_field(&bytes[36..52], "parent id")?;
        let flags = hex_field(&bytes[53..55], "trace flags")?;
        if trace.is_none() {
            return Err(TraceparentError::ZeroTraceId);
        }
        if span == 0 {
            return Err(TraceparentError::ZeroParentId);
        }
        Ok(Self {
            trace,
            span,
            flags: flags as u8,
        })
    }

    /// The `traceparent` header value: `00-{trace id}-{span id}-{flags}`.
    pub fn traceparent(&self) -> String {
        self.to_string()
    }

    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        String::from_utf8_lossy(&self.trace.hex()).into_owned()
    }

    /// The span id (the parent id of calls made under this context), 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        String::from_utf8_lossy(&hex16(self.span)).into_owned()
    }

    /// The W3C trace flags, as received (`01`: sampled).
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// Runs `body` under this context as its remote parent: a traced call made inside starts
    /// no trace of its own but continues this one, and its ENTER names this context's span as
    /// `remoteParent`. The body runs outside whatever traced call encloses `in_scope`: its
    /// calls are children of the remote parent, not of the local caller.
    pub fn in_scope<R>(&self, body: impl FnOnce() -> R) -> R {
        let _scope = Scope::enter(self);
        body()
    }

    /// Runs `future` under this context, as [`in_scope`](Self::in_scope) does for each of its
    /// polls, on whatever thread polls it.
    pub fn instrument<F: Future>(&self, future: F) -> WithContext<F> {
        WithContext {
            context: *self,
            future,
        }
    }
}

/// Restores the thread's previous scope when dropped, also when the body unwinds.
struct Scope {
    previous: (local::Current, u64),
}

impl Scope {
    fn enter(context: &TraceContext) -> Self {
        Self {
            previous: local::enter_remote_scope(context.trace, context.span),
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        local::restore_scope(self.previous);
    }
}

/// Parses lowercase hex digits (at most 16).
fn hex_field(digits: &[u8], field: &'static str) -> Result<u64, TraceparentError> {
    digits.iter().try_fold(0u64, |value, &digit| {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return Err(TraceparentError::NotHex(field)),
        };
        Ok(value << 4 | u64::from(nibble))
    })
}

impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id(),
            self.span_id(),
            self.flags
        )
    }
}

impl fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TraceContext")
            .field(&self.to_string())
            .finish()
    }
}

impl std::str::FromStr for TraceContext {
    type Err = TraceparentError;

    fn from_str(header: &str) -> Result<Self, Self::Err> {
        Self::from_traceparent(header)
    }
}

pin_project_lite::pin_project! {
    /// A future running under a remote parent; see [`TraceContext::instrument`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct WithContext<F> {
        context: TraceContext,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _scope = Scope::enter(this.context);
        this.future.poll(cx)
    }
}

//! What the `#[flowtrace]` expansion calls. Not a public API: names and signatures here change
//! whenever the macro changes.
//!
//! The `Encode*` and `Outcome*` traits implement autoref specialisation: the macro calls
//! `(&&&&Wrap(&value)).__flowtrace_encode(..)`, and method resolution picks, at the call site
//! where the concrete type is known, the first impl whose bounds hold — a string or integer
//! written directly, then `Serialize`, then `Debug`, then the type name; and for return values `Result` with a `Display` error, with a `Debug` error,
//! with any error, then anything else.

use std::fmt::{Debug, Display, Write as _};

use serde::Serialize;

pub use crate::args::ArgsEncoder;
pub use crate::call::{Call, Instrumented, begin, enter};
pub use crate::inline_call::InlineCall;
pub use crate::json::Payload;

/// Whether a traced call here records anything: tracing is on, and the call is not inside a
/// subtree that sampling left out. The only work a traced function does before its body when
/// it records nothing.
#[inline(always)]
pub fn enabled() -> bool {
    crate::call::records()
}

/// Returns the body closure unchanged; its type parameters give the closure the function's
/// return type, so the body's `return`s and `?`s coerce exactly as in the original function.
#[inline(always)]
pub fn body<R, F: FnOnce() -> R>(body: F) -> F {
    body
}
pub use crate::site::{ArgSpec, CallSite};

/// Carries a borrowed value through autoref specialisation.
#[derive(Debug)]
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

/// First choice: a string or an integer, written without serde (see
/// [`ArgsEncoder::str`]).
pub trait EncodeDirect {
    /// Writes the value as argument `index`.
    fn __flowtrace_encode(&self, encoder: &mut ArgsEncoder<'_>, index: usize);
}

impl EncodeDirect for &&&Wrap<'_, &str> {
    #[inline]
    fn __flowtrace_encode(&self, encoder: &mut ArgsEncoder<'_>, index: usize) {
        encoder.str(index, self.0);
    }
}

impl EncodeDirect for &&&Wrap<'_, String> {
    #[inline]
    fn __flowtrace_encode(&self, encoder: &mut ArgsEncoder<'_>, index: usize) {
        encoder.str(index, self.0);
    }
}

macro_rules! encode_integers_directly {
    ($method:ident, $wide:ty: $($integer:ty),*) => {$(
        impl EncodeDirect for &&&Wrap<'_, $integer> {
            #[inline]
            fn __flowtrace_encode(&self, encoder: &mut ArgsEncoder<'_>, index: usize) {
                // Lossless: every one of these fits in the 64-bit type (`usize` and `isize`
                // are 64 bits at most on the platforms Rust supports).
                #[allow(clippy::cast_lossless, clippy::unnecessary_cast)]
                encoder.$method(index, *self.0 as $wide);
            }
        }
    )*};
}

encode_integers_directly!(unsigned, u64: u8, u16, u32, u64, usize);
encode_integers_directly!(signed, i64: i8, i16, i32, i64, isize);

/// Second choice: the value implements `Serialize`.
pub trait EncodeSerialize {
    /// Writes the value as argument `index`.
    fn __flowtrace_encode(&self, encoder: &mut ArgsEncoder<'_>, index: usize);
}

impl<T: Serialize + ?Sized> EncodeSerialize for &&Wrap<'_, T> {
    #[inline]
    fn __flowtrace_encode(&self, encoder: &mut ArgsEncoder<'_>, index: usize) {
        encoder.serialize(index, self.0);
    }
}

/// Third choice: the value implements `Debug`.
pub trait EncodeDebug {
    /// Writes the value as argument `index`.
    fn __flowtrace_encode(&self, encoder: &mut ArgsEncoder<'_>, index: usize);
}

impl<T: Debug + ?Sized> EncodeDebug for &Wrap<'_, T> {
    #[inline]
    fn __flowtrace_encode(&self, encoder: &mut ArgsEncoder<'_>, index: usize) {
        encoder.debug(index, self.0);
    }
}

/// Last resort: only the type's name is known.
pub trait EncodeTypeName {
    /// Writes `"<type name>"` as argument `index`.
    fn __flowtrace_encode(&self, encoder: &mut ArgsEncoder<'_>, index: usize);
}

impl<T: ?Sized> EncodeTypeName for Wrap<'_, T> {
    #[inline]
    fn __flowtrace_encode(&self, encoder: &mut ArgsEncoder<'_>, index: usize) {
        encoder.type_name::<T>(index);
    }
}

/// A `Result` whose error implements `Display`: `Err` closes with EXCEPTION and that message.
pub trait OutcomeDisplay {
    /// Closes `call` according to the returned value.
    fn __flowtrace_close(&self, call: &mut Call, result: Option<Payload>);
}

impl<T, E: Display> OutcomeDisplay for &&&Wrap<'_, Result<T, E>> {
    #[inline]
    fn __flowtrace_close(&self, call: &mut Call, result: Option<Payload>) {
        match self.0 {
            Ok(_) => call.exit(result),
            Err(error) => call.exception(|| formatted::<E>(|text| write!(text, "{error}"))),
        }
    }
}

/// A `Result` whose error implements only `Debug`.
pub trait OutcomeDebug {
    /// Closes `call` according to the returned value.
    fn __flowtrace_close(&self, call: &mut Call, result: Option<Payload>);
}

impl<T, E: Debug> OutcomeDebug for &&Wrap<'_, Result<T, E>> {
    #[inline]
    fn __flowtrace_close(&self, call: &mut Call, result: Option<Payload>) {
        match self.0 {
            Ok(_) => call.exit(result),
            Err(error) => call.exception(|| formatted::<E>(|text| write!(text, "{error:?}"))),
        }
    }
}

/// The error's text; a `Display`/`Debug` impl that fails gives a placeholder instead of the
/// panic that `to_string()` would raise in the traced program.
fn formatted<E>(write: impl FnOnce(&mut String) -> std::fmt::Result) -> String {
    let mut text = String::new();
    match write(&mut text) {
        Ok(()) => text,
        Err(_) => format!("<{} failed to format>", std::any::type_name::<E>()),
    }
}

/// A `Result` whose error can only be named by its type.
pub trait OutcomeOpaque {
    /// Closes `call` according to the returned value.
    fn __flowtrace_close(&self, call: &mut Call, result: Option<Payload>);
}

impl<T, E> OutcomeOpaque for &Wrap<'_, Result<T, E>> {
    #[inline]
    fn __flowtrace_close(&self, call: &mut Call, result: Option<Payload>) {
        match self.0 {
            Ok(_) => call.exit(result),
            Err(_) => call.exception(|| format!("<{}>", std::any::type_name::<E>())),
        }
    }
}

/// Anything that is not a `Result`: always EXIT.
pub trait OutcomeValue {
    /// Closes `call` with EXIT.
    fn __flowtrace_close(&self, call: &mut Call, result: Option<Payload>);
}

impl<T: ?Sized> OutcomeValue for Wrap<'_, T> {
    #[inline]
    fn __flowtrace_close(&self, call: &mut Call, result: Option<Payload>) {
        call.exit(result);
    }
}

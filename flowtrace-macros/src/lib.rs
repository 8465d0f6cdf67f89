//! The `#[flowtrace]` attribute. Use it through `flowtrace-runtime`, which re-exports it:
//! `use flowtrace_runtime::flowtrace;`.
//!
//! The macro is thin: `args.rs` parses the options, `validate.rs` checks them against the function,
//! `expand.rs` emits calls into `flowtrace_runtime::__private`, where all the logic lives. A misuse
//! is one `compile_error!` spanned at the offending token, emitted next to the user's function
//! unchanged so that nothing else cascades.

mod args;
mod expand;
mod validate;

use proc_macro::TokenStream;

/// Records every call of the function as an `ENTER` and a closing record in the trace.
///
/// ```
/// # #[allow(dead_code)] mod options {
/// use flowtrace_runtime::flowtrace;
/// # #[derive(Debug)] struct Room; impl Room { fn id(&self) -> u32 { 1 } }
/// #[flowtrace]                                    // all arguments but `self`
/// # fn a() {}
/// #[flowtrace(name = "login")]                    // the `function` written in the trace
/// # fn b() {}
/// #[flowtrace(skip(socket, state))]               // leave arguments out
/// # fn c(socket: u8, state: u8) -> u8 { socket + state }
/// #[flowtrace(skip_all)]                          // record no argument
/// # fn d(_a: u8) {}
/// #[flowtrace(fields(room_id = room.id(), n = 3))] // extra entries in `args`
/// # fn e(room: &Room) {}
/// #[flowtrace(ret)]                               // the return value, in EXIT's `result`
/// # fn f() -> u8 { 1 }
/// #[flowtrace(redact(pin))]                       // write `"***"` for these arguments
/// # fn g(pin: u32) {}
/// #[flowtrace(max_arg_length = 80)]               // cut longer encoded values
/// # fn h(text: &str) {}
/// #[flowtrace(sample = 0.01)]                     // record 1 % of the traces started here
/// # fn i() {}
/// #[flowtrace(crate = flowtrace_runtime)]         // the runtime's path, if renamed
/// # fn j() {}
/// # }
/// ```
///
/// `sample = F` (a number literal, 0 < F ≤ 1) is decided where a call starts a trace (no traced
/// parent) and covers its whole subtree; a call inside a traced call follows its parent. Root
/// calls of functions without it use `FLOWTRACE_SAMPLE`. `crate = path` is for a renamed
/// dependency (`flowtrace = { package = "flowtrace-runtime" }` → `crate = flowtrace`) or a
/// re-export: the expansion names the runtime by that path, written as in a `use`, instead of
/// `::flowtrace_runtime`.
///
/// Applies to free functions, methods, associated functions, generic functions, `async fn`,
/// `unsafe fn` and functions returning `impl Future` (ENTER at the call, the closing record when
/// the future completes). Rejected, each with one error at the offending token: anything that is
/// not a function, a function without a body, a `const fn`, an unknown or repeated option,
/// `skip`/`redact` naming no argument (or `self`) or one name twice, `redact` of a skipped
/// argument, `skip` together with `skip_all`, a `fields` key repeated or equal to a recorded
/// argument, `max_arg_length = 0`, a `sample` that is not a number literal in (0, 1], `crate`
/// given a string, and `ret` on a `#[track_caller]` function.
///
/// Two shapes run their body inline, closed by a guard when the function ends, instead of in a
/// closure: a sync function returning `impl Trait` (so that a returned closure can infer its
/// parameters from the declared type) and a `#[track_caller]` function (a closure would hide
/// the caller's location). Their closing record is EXIT when they return (an `Err` is not
/// seen, so never EXCEPTION) and PANIC when they unwind, with the message seen by the panic
/// hook tracing installs. An `async fn … -> !` records ENTER, then PANIC or CANCEL.
///
/// `fn add(a: u64, b: u64) -> u64 { a + b }` expands to, in essence:
///
/// ```text
/// fn add(a: u64, b: u64) -> u64 {
///     static __FLOWTRACE_SITE: CallSite = CallSite::new("add", module_path!(), file!(), line!(),
///         &[ArgSpec::new("a", ",\\\"a\\\":", false), ArgSpec::new("b", ",\\\"b\\\":", false)], 0);
///     // With `sample = F`: `CallSite::new(…).sample(F)`. With `crate = p`: `p::__private::…`.
///     let __flowtrace_call = if enabled() {                   // one relaxed atomic load
///         Some(begin(&__FLOWTRACE_SITE, |__flowtrace_args| {  // writes ENTER
///             (&&&&Wrap(&a)).__flowtrace_encode(__flowtrace_args, 0);  // str/integer, Serialize, Debug or type name
///             (&&&&Wrap(&b)).__flowtrace_encode(__flowtrace_args, 1);
///         }))
///     } else {
///         None
///     };
///     let __flowtrace_body = body::<u64, _>(move || { a + b });
///     match __flowtrace_call {
///         None => __flowtrace_body(),
///         Some(mut __flowtrace_call) => {
///             let __flowtrace_ret = __flowtrace_call.run(__flowtrace_body);  // PANIC on unwind
///             (&&&&Wrap(&__flowtrace_ret)).__flowtrace_close(&mut __flowtrace_call, None);  // EXIT or EXCEPTION
///             __flowtrace_ret
///         }
///     }
/// }
/// ```
/// An `async fn` makes its body `async move { … }` and awaits it as it is when the call is
/// inert (tracing off, or the module filtered out), else `call.instrument(body, close)`;
/// `close` is the same EXIT-or-EXCEPTION step run on completion: the call is the parent of
/// whatever its future polls, and `CANCEL` is written if the future is dropped first.
#[proc_macro_attribute]
pub fn flowtrace(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    expand::expand(attr.into(), item.clone())
        .unwrap_or_else(|error| {
            let mut out = error.into_compile_error();
            out.extend(item);
            out
        })
        .into()
}

//! The static descriptor of one `#[flowtrace]` function, and what the runtime caches in it.
//!
//! The macro emits one `static CallSite` per traced function. Everything about a call that is
//! known at compile time (names, source location, argument names) stays there and travels to the
//! writer thread as a `&'static` reference. The per-configuration decisions (is this module
//! traced? which arguments are redacted?) are computed on the first call and cached in one
//! atomic word, so the hot path reads them with a single relaxed load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::filter::{Redaction, Selection};

/// One recorded argument (or `fields(...)` entry) of a traced function.
#[derive(Debug)]
pub struct ArgSpec {
    pub(crate) name: &'static str,
    /// `,\"name\":` — what the args text gets before the value (without the comma when first),
    /// escaped like all of it.
    pub(crate) key: &'static str,
    pub(crate) always_redact: bool,
}

impl ArgSpec {
    /// An argument named `name`, written as `key` (`,\"name\":`, spelled out by the macro,
    /// escaped, so that the hot path copies it in one piece); `always_redact` is set by the `redact(...)` option.
    pub const fn new(name: &'static str, key: &'static str, always_redact: bool) -> Self {
        Self {
            name,
            key,
            always_redact,
        }
    }
}

/// Compile-time facts about one traced function plus the runtime's cached decisions.
#[derive(Debug)]
pub struct CallSite {
    pub(crate) function: &'static str,
    pub(crate) module: &'static str,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
    pub(crate) args: &'static [ArgSpec],
    /// Per-site `max_arg_length`; 0 means "use the configured default".
    pub(crate) max_arg_length: usize,
    /// The length of all of `args`' keys together: what they add to a line at most.
    pub(crate) keys_len: usize,
    /// The `sample = F` option as a threshold: a root call at this site is recorded when a
    /// uniformly random `u64` is below it. 0 means "no option, use `FLOWTRACE_SAMPLE`";
    /// `u64::MAX` means "every call".
    pub(crate) sample: u64,
    /// `generation tag << 48 | enabled << 47 | redaction mask`; 0 means "not resolved yet".
    resolved: AtomicU64,
    /// `"module":"…","function":"…"`, escaped once by the writer and reused for every line.
    names_json: OnceLock<Box<[u8]>>,
}

const ENABLED_BIT: u64 = 1 << 47;
const MASK_BITS: u64 = ENABLED_BIT - 1;
/// Arguments past this index are checked against the redaction list on every call.
const CACHED_ARGS: usize = 47;

/// The decisions the runtime made for a site under the current configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resolution {
    redact_mask: u64,
}

impl CallSite {
    /// Called by the macro only.
    pub const fn new(
        function: &'static str,
        module: &'static str,
        file: &'static str,
        line: u32,
        args: &'static [ArgSpec],
        max_arg_length: usize,
    ) -> Self {
        Self {
            function,
            module,
            file,
            line,
            args,
            max_arg_length,
            keys_len: keys_len(args),
            sample: 0,
            resolved: AtomicU64::new(0),
            names_json: OnceLock::new(),
        }
    }

    /// The `sample = fraction` option (0 < `fraction` ≤ 1, checked by the macro). Called by the
    /// macro only.
    pub const fn sample(mut self, fraction: f64) -> Self {
        self.sample = crate::sample::threshold(fraction);
        self
    }

    /// Whether this site is traced under `selection`, and how its arguments are treated.
    #[inline]
    pub(crate) fn resolve(&self, selection: &Selection) -> Option<Resolution> {
        let tag = generation_tag(selection.generation);
        let state = self.resolved.load(Ordering::Relaxed);
        let state = if state >> 48 == tag {
            state
        } else {
            self.resolve_slow(selection, tag)
        };
        (state & ENABLED_BIT != 0).then_some(Resolution {
            redact_mask: state & MASK_BITS,
        })
    }

    #[cold]
    fn resolve_slow(&self, selection: &Selection, tag: u64) -> u64 {
        let mut state = tag << 48;
        if selection.modules.allows(self.module) {
            state |= ENABLED_BIT;
        }
        for (index, arg) in self.args.iter().enumerate().take(CACHED_ARGS) {
            if arg.always_redact || selection.redaction.matches(arg.name) {
                state |= 1 << index;
            }
        }
        self.resolved.store(state, Ordering::Relaxed);
        state
    }

    /// The `module` and `function` keys of this site's lines, as JSON.
    pub(crate) fn names_json(&self) -> &[u8] {
        self.names_json.get_or_init(|| {
            let mut out = b"\"module\":".to_vec();
            crate::json::write_str(&mut out, self.module.as_bytes());
            out.extend_from_slice(b",\"function\":");
            crate::json::write_str(&mut out, self.function.as_bytes());
            out.into_boxed_slice()
        })
    }

    /// The source location, for diagnostics.
    pub fn location(&self) -> (&'static str, u32) {
        (self.file, self.line)
    }
}

impl Resolution {
    #[inline]
    pub(crate) fn is_redacted(self, site: &CallSite, index: usize, redaction: &Redaction) -> bool {
        if index < CACHED_ARGS {
            self.redact_mask & (1 << index) != 0
        } else {
            site.args
                .get(index)
                .is_some_and(|arg| arg.always_redact || redaction.matches(arg.name))
        }
    }
}

const fn keys_len(args: &[ArgSpec]) -> usize {
    let mut len = 0;
    let mut index = 0;
    while index < args.len() {
        len += args[index].key.len();
        index += 1;
    }
    len
}

/// 16 bits of the configuration generation, never 0 (0 marks an unresolved site): its low 15
/// bits and a set top bit (a mask, where the remainder this was before took a multiplication
/// on every call).
#[inline]
fn generation_tag(generation: u64) -> u64 {
    generation & 0x7FFF | 0x8000
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluated at compile time, as in the macro's `static`.
    static SAMPLED: CallSite = CallSite::new("f", "m", "f.rs", 1, &[], 0).sample(0.25);

    #[test]
    fn the_sample_option_is_a_threshold_computed_at_compile_time() {
        assert_eq!(SAMPLED.sample, 1 << 62);
    }

    #[test]
    fn a_site_without_the_option_defers_to_the_configuration() {
        let site = CallSite::new("f", "m", "f.rs", 1, &[], 0);
        assert_eq!(site.sample, 0);
    }
}

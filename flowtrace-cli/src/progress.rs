//! Progress bar and warnings on stderr.
//!
//! The bar (indicatif) is drawn only when stderr is a terminal and the caller asks for one; it
//! advances by bytes read, in steps of 1 MiB so the hot loop pays nothing per line. Warnings about
//! malformed lines go through [`Progress::warn`], which hides the bar while printing and stops
//! after [`WARNING_LIMIT`] lines, counting the rest.

use std::fmt::Display;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How many malformed-line warnings are printed before the rest are only counted.
pub(crate) const WARNING_LIMIT: u64 = 20;

/// Bytes read between two updates of the bar.
const STEP: u64 = 1 << 20;

/// The progress of one run over its input files.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    unreported: u64,
    warnings: u64,
}

impl Progress {
    /// A bar over `total_bytes`, drawn if `wanted` and stderr is a terminal.
    pub(crate) fn new(total_bytes: u64, wanted: bool) -> Self {
        let bar = (wanted && std::io::stderr().is_terminal()).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} \
                 ({binary_bytes_per_sec}, eta {eta})",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Self {
            bar,
            unreported: 0,
            warnings: 0,
        }
    }

    /// A run that never draws (tests, `tail -f`).
    pub(crate) fn hidden() -> Self {
        Self::new(0, false)
    }

    /// Records that `bytes` more were read.
    #[inline]
    pub(crate) fn advance(&mut self, bytes: u64) {
        self.unreported += bytes;
        if self.unreported >= STEP {
            if let Some(bar) = &self.bar {
                bar.inc(self.unreported);
            }
            self.unreported = 0;
        }
    }

    /// Prints a line on stderr without garbling the bar.
    pub(crate) fn eprintln(&self, message: impl Display) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{message}")),
            None => eprintln!("{message}"),
        }
    }

    /// Prints `warning: {message}` for the first [`WARNING_LIMIT`] calls, then only counts.
    pub(crate) fn warn(&mut self, message: impl Display) {
        self.warnings += 1;
        if self.warnings <= WARNING_LIMIT {
            self.eprintln(format_args!("warning: {message}"));
        }
    }

    /// Removes the bar and says how many warnings were not printed; later calls do nothing.
    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.warnings > WARNING_LIMIT {
            eprintln!(
                "warning: {} more malformed lines not shown",
                self.warnings - WARNING_LIMIT
            );
        }
        // From here on, warnings (while following) are printed again, counted afresh.
        self.warnings = 0;
    }
}

//! `flowtrace tail`: one readable line per record, indented by call depth, with filters, and
//! `--follow` across growth and rotation of the file.
//!
//! A line reads `time  thread  duration  ⟨indent⟩marker module::function details`: `→` enters
//! (with the arguments), `←` exits (with the result when recorded); `EXCEPTION`, `PANIC` and
//! `CANCEL` are spelled out and coloured. The depth comes from `parent`, so it is right for
//! async calls on any thread. A `START` line opens each process segment (ids start afresh).

use std::collections::VecDeque;
use std::io::Write;
use std::time::Duration;

use crate::error::Error;
use crate::format::{self, Palette, Styled, TimeOfDay};
use crate::ids::IdMap;
use crate::input::{Item, LineReader, Place, Stream};
use crate::progress::Progress;
use crate::record::{self, Body, Event, Record, Strictness};
use crate::render::{self, Name};

/// How often `--follow` looks for new data.
const POLL: Duration = Duration::from_millis(100);
/// Width of the thread column (`tokio-runtime-worker` fits).
const THREAD_WIDTH: usize = 20;

/// Which records `tail` prints; every record still counts for the depth.
#[derive(Clone, Debug, Default)]
pub(crate) struct Filter {
    /// Only functions whose module starts with this.
    pub(crate) module: Option<String>,
    /// Only functions with exactly this name.
    pub(crate) function: Option<String>,
    /// Only closing records at least this long (microseconds).
    pub(crate) min_duration: Option<u64>,
    /// Only `EXCEPTION`, `PANIC` and `CANCEL` records.
    pub(crate) errors: bool,
}

impl Filter {
    fn accepts(&self, record: &Record<'_>) -> bool {
        let (call, event, duration) = match &record.body {
            Body::Dropped { .. } | Body::Start(_) => return true,
            Body::Enter { call, .. } => (call, Event::Enter, None),
            Body::Close {
                call,
                event,
                duration_micros,
                ..
            } => (call, *event, Some(*duration_micros)),
        };
        self.module
            .as_deref()
            .is_none_or(|prefix| call.module.starts_with(prefix))
            && self
                .function
                .as_deref()
                .is_none_or(|name| call.function == name)
            && self
                .min_duration
                .is_none_or(|min| duration.is_some_and(|d| d >= min))
            && (!self.errors || matches!(event, Event::Exception | Event::Panic | Event::Cancel))
    }
}

/// What `tail` was asked to do.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) filter: Filter,
    pub(crate) follow: bool,
    /// Print only the last N matching records of what is already written.
    pub(crate) last: Option<usize>,
}

/// Where lines go: straight out, or into a ring of the last N until [`Sink::release`].
struct Sink<'o, W: Write> {
    out: &'o mut W,
    ring: Option<(VecDeque<String>, usize)>,
}

impl<W: Write> Sink<'_, W> {
    fn emit(&mut self, line: String) -> std::io::Result<()> {
        match &mut self.ring {
            Some((ring, capacity)) => {
                if ring.len() == *capacity {
                    ring.pop_front();
                }
                if *capacity > 0 {
                    ring.push_back(line);
                }
                Ok(())
            }
            None => self.out.write_all(line.as_bytes()),
        }
    }

    fn release(&mut self) -> std::io::Result<()> {
        if let Some((ring, _)) = self.ring.take() {
            for line in ring {
                self.out.write_all(line.as_bytes())?;
            }
        }
        self.out.flush()
    }
}

/// Runs `tail` over `streams`, writing to `out`.
pub(crate) fn run(
    streams: &[Stream],
    options: &Options,
    palette: &Palette,
    progress: &mut Progress,
    out: &mut impl Write,
) -> Result<(), Error> {
    let mut sink = Sink {
        out,
        ring: options
            .last
            .map(|n| (VecDeque::with_capacity(n.min(4096)), n)),
    };
    let mut printer = Printer {
        depths: IdMap::default(),
        palette,
    };
    for (index, stream) in streams.iter().enumerate() {
        printer.depths.clear();
        let follow = options.follow && index + 1 == streams.len();
        let mut reader = LineReader::new(stream, follow);
        loop {
            match reader.next(progress)? {
                Item::Line { file, line, bytes } => {
                    let place = Place {
                        path: &stream.files[file],
                        line,
                    };
                    match record::parse(bytes, Strictness::Lenient) {
                        Ok(record) => {
                            let shown = options.filter.accepts(&record);
                            if let Some(text) = printer.line(&record, shown) {
                                sink.emit(text).map_err(Error::Stdout)?;
                            }
                        }
                        Err(error) => progress.warn(format_args!("{place}: skipped: {error}")),
                    }
                }
                Item::Partial { file, line } => {
                    let place = Place {
                        path: &stream.files[file],
                        line,
                    };
                    progress.warn(format_args!("{place}: skipped a partial last line"));
                }
                Item::Idle => {
                    // Caught up: the backlog is out, the bar goes, live records follow.
                    progress.finish();
                    sink.release().map_err(Error::Stdout)?;
                    std::thread::sleep(POLL);
                }
                Item::End => break,
            }
        }
    }
    sink.release().map_err(Error::Stdout)
}

/// Formats records, tracking the depth of open calls.
struct Printer<'p> {
    /// Depth of every open call.
    depths: IdMap<usize>,
    palette: &'p Palette,
}

impl Printer<'_> {
    /// Updates the depths for `record` and, if `shown`, returns its line.
    fn line(&mut self, record: &Record<'_>, shown: bool) -> Option<String> {
        let palette = self.palette;
        let (call, depth) = match &record.body {
            Body::Enter { call, .. } => {
                let depth = call
                    .parent
                    .and_then(|p| self.depths.get(&p))
                    .map_or(0, |d| d + 1);
                self.depths.insert(call.id, depth);
                (Some(call), depth)
            }
            Body::Close { call, .. } => {
                let depth = self.depths.remove(&call.id).unwrap_or(0);
                (Some(call), depth)
            }
            Body::Dropped { .. } => (None, 0),
            Body::Start(_) => {
                // A new process segment: its ids start afresh.
                self.depths.clear();
                (None, 0)
            }
        };
        if !shown {
            return None;
        }
        let time = TimeOfDay(record.micros);
        let thread = call.map_or("", |c| &c.thread);
        let thread = render::shorten(thread, THREAD_WIDTH - 1);
        let duration = match &record.body {
            Body::Close {
                duration_micros, ..
            } => {
                let text = format!("{:>9}", format::duration(*duration_micros));
                Styled(palette.duration(*duration_micros), &text).to_string()
            }
            _ => " ".repeat(9),
        };
        let indent = "  ".repeat(depth);
        let what = match &record.body {
            Body::Enter { call, args, .. } => {
                let args = render::args_inline(args);
                format!("→ {}({args})", Name::of(call, palette))
            }
            Body::Close {
                call,
                event,
                result,
                error,
                ..
            } => {
                let name = Name::of(call, palette);
                let error = error.map(render::value_inline).unwrap_or_default();
                match event {
                    Event::Exception => {
                        let tag = Styled(palette.error, &"✗ EXCEPTION");
                        format!("{tag} {name}: {}", Styled(palette.error, &error))
                    }
                    Event::Panic => {
                        let tag = Styled(palette.panic, &"‼ PANIC");
                        format!("{tag} {name}: {}", Styled(palette.error, &error))
                    }
                    Event::Cancel => format!("{} {name}", Styled(palette.cancel, &"⊘ CANCEL")),
                    _ => match result {
                        Some(result) => format!("← {name} = {}", render::value_inline(result)),
                        None => format!("← {name}"),
                    },
                }
            }
            Body::Dropped { count } => {
                let text = format!("DROPPED {count} records lost by the writer");
                Styled(palette.cancel, &text).to_string()
            }
            Body::Start(start) => {
                let text = format!(
                    "START {} (pid {}, instance {})",
                    start.service, start.pid, start.instance
                );
                Styled(palette.dim, &text).to_string()
            }
        };
        let context = format!("{time}  {thread:<THREAD_WIDTH$}");
        Some(format!(
            "{}  {duration}  {indent}{what}\n",
            Styled(palette.dim, &context)
        ))
    }
}

//! The cross-line rules of `check`, per process segment (a stream, split at START records): ids
//! new, parents open (so a child's `ENTER` never precedes its parent's), every call closed once
//! by a record that agrees with its `ENTER`, and after a START every root `ENTER` carries its
//! `trace`. Works on [`Compact`] records, so it holds no text per call: an open call is its
//! place, parent and a digest of its name.

use super::parallel::Compact;
use super::{CheckReport, ViolationKind, add};
use crate::ids::{IdMap, IdRanges};
use crate::input::Stream;
use crate::record::Event;

/// A call entered and not yet closed.
struct Open {
    at: (usize, u64),
    parent: Option<u64>,
    /// [`name_hash`](crate::ids::name_hash) of its module and function.
    name: u64,
}

/// The pairing state of one process segment.
#[derive(Default)]
pub(super) struct StreamChecker {
    open: IdMap<Open>,
    closed: IdRanges,
    /// `module::function` by name digest, for messages: one entry per function, not per call.
    names: IdMap<Box<str>>,
    /// A `DROPPED` record was seen: records are missing from here on.
    lossy: bool,
    /// The segment began with a START record: it follows design §7.
    started: bool,
    /// A record of this segment was seen.
    seen: bool,
}

impl StreamChecker {
    /// Remembers the text of name digests met for the first time.
    pub(super) fn learn_names(&mut self, names: &[(u64, Box<str>)]) {
        for (digest, name) in names {
            self.names.entry(*digest).or_insert_with(|| name.clone());
        }
    }

    /// Takes in one valid record; returns the rule it breaks, if any.
    pub(super) fn record(
        &mut self,
        at: (usize, u64),
        record: &Compact,
        report: &mut CheckReport,
        stream: &Stream,
    ) -> Option<ViolationKind> {
        let first = !std::mem::replace(&mut self.seen, true);
        match *record {
            Compact::Start => {
                if !first {
                    // Another run: what the last one left open stays unclosed, ids start afresh.
                    let previous = std::mem::take(self);
                    self.names = previous.names.clone();
                    self.seen = true;
                    previous.finish(report, stream);
                }
                self.started = true;
                None
            }
            Compact::Dropped { count } => {
                self.lossy = true;
                report.dropped += count;
                None
            }
            Compact::Enter {
                id,
                parent,
                name,
                traced,
            } => {
                report.calls += 1;
                let violation = self.enter(at, id, parent, name);
                if violation.is_none() && self.started && parent.is_none() && !traced {
                    return Some(ViolationKind::RootWithoutTrace { id });
                }
                violation
            }
            Compact::Close {
                id,
                parent,
                name,
                event,
            } => self.close(id, parent, name, event),
        }
    }

    fn enter(
        &mut self,
        at: (usize, u64),
        id: u64,
        parent: Option<u64>,
        name: u64,
    ) -> Option<ViolationKind> {
        if let Some(first) = self.open.get(&id) {
            return Some(ViolationKind::DuplicateEnter {
                id,
                first_line: first.at.1,
            });
        }
        // A reused id is reported, then tracked as the new call so its closing pairs with it.
        let violation = if self.closed.contains(id) {
            Some(ViolationKind::ReusedId { id })
        } else {
            parent
                .filter(|parent| !self.lossy && !self.open.contains_key(parent))
                .map(|parent| ViolationKind::ParentNotOpen { id, parent })
        };
        self.open.insert(id, Open { at, parent, name });
        violation
    }

    fn close(
        &mut self,
        id: u64,
        parent: Option<u64>,
        name: u64,
        event: Event,
    ) -> Option<ViolationKind> {
        let Some(open) = self.open.remove(&id) else {
            if self.closed.contains(id) {
                return Some(ViolationKind::ClosedTwice {
                    id,
                    event: event.name().to_owned(),
                });
            }
            return (!self.lossy).then_some(ViolationKind::CloseWithoutEnter {
                id,
                event: event.name().to_owned(),
            });
        };
        self.closed.insert(id);
        let what = if open.parent != parent {
            "parent"
        } else if open.name != name {
            "module or function"
        } else {
            return None;
        };
        Some(ViolationKind::CloseMismatch {
            id,
            event: event.name().to_owned(),
            what,
        })
    }

    /// Reports the calls still open at the end of the stream.
    pub(super) fn finish(self, report: &mut CheckReport, stream: &Stream) {
        if self.lossy {
            return;
        }
        let mut unclosed: Vec<(u64, Open)> = self.open.into_iter().collect();
        unclosed.sort_by_key(|(_, open)| open.at);
        for (id, open) in unclosed {
            let function = self.names.get(&open.name).map_or("?", |n| n).to_owned();
            add(
                report,
                stream,
                open.at,
                ViolationKind::NeverClosed { id, function },
            );
        }
    }
}

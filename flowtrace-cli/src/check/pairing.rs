//! The cross-line rules of `check`, per stream: ids new, parents open, every call closed once
//! by a record that agrees with its `ENTER`. Works on [`Compact`] records, so it holds no text
//! per call: an open call is its place, parent and a digest of its name.

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

/// The pairing state of one stream.
#[derive(Default)]
pub(super) struct StreamChecker {
    open: IdMap<Open>,
    closed: IdRanges,
    /// `module::function` by name digest, for messages: one entry per function, not per call.
    names: IdMap<Box<str>>,
    /// A `DROPPED` record was seen: records are missing from here on.
    lossy: bool,
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
    ) -> Option<ViolationKind> {
        match *record {
            Compact::Dropped { count } => {
                self.lossy = true;
                report.dropped += count;
                None
            }
            Compact::Enter { id, parent, name } => {
                report.calls += 1;
                self.enter(at, id, parent, name)
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

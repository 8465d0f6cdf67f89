//! A line as serde read it, before the per-event rules apply, and those rules: which keys each
//! event requires and allows, the checks only `check` makes (key order, duplicates, unknown
//! keys, encodings, ids), and the typed [`Record`] a line that follows them becomes.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::de::ObjectProbe;
use super::{
    Body, Call, Event, KEYS, Key, KeyOrder, LineError, Record, Start, TraceLink, is_id_hex,
    without_line,
};

/// The keys every event requires, and those it may carry, beyond `timestamp`, `event` and
/// `timestampMicros`.
fn keys_of(event: Event) -> (&'static [Key], &'static [Key]) {
    use Key as K;
    const CALL: [Key; 5] = [K::Thread, K::Module, K::Function, K::DurationMicros, K::Id];
    match event {
        Event::Enter => (
            &[K::Thread, K::Module, K::Function, K::Args, K::Id],
            &[K::Parent, K::Trace, K::RemoteParent],
        ),
        Event::Exit => (&CALL, &[K::Parent, K::Result]),
        Event::Exception | Event::Panic => (
            &[
                K::Thread,
                K::Module,
                K::Function,
                K::DurationMicros,
                K::Id,
                K::Error,
            ],
            &[K::Parent],
        ),
        Event::Cancel => (&CALL, &[K::Parent]),
        Event::Dropped => (&[K::Count], &[]),
        Event::Start => (&[K::Service, K::Pid, K::Instance], &[]),
    }
}

/// Everything a line held, before the per-event rules are applied.
#[derive(Default)]
pub(super) struct RawRecord<'a> {
    pub(super) timestamp: Option<u64>,
    pub(super) event: Option<Event>,
    pub(super) thread: Option<Cow<'a, str>>,
    pub(super) module: Option<Cow<'a, str>>,
    pub(super) function: Option<Cow<'a, str>>,
    pub(super) args: Option<&'a RawValue>,
    pub(super) duration_micros: Option<u64>,
    pub(super) id: Option<u64>,
    pub(super) parent: Option<u64>,
    pub(super) timestamp_micros: Option<u64>,
    pub(super) result: Option<&'a RawValue>,
    pub(super) error: Option<&'a RawValue>,
    pub(super) count: Option<u64>,
    pub(super) service: Option<Cow<'a, str>>,
    pub(super) pid: Option<u64>,
    pub(super) instance: Option<Cow<'a, str>>,
    pub(super) trace: Option<Cow<'a, str>>,
    pub(super) remote_parent: Option<Cow<'a, str>>,
    /// Bit set of the keys seen.
    pub(super) present: u32,
    /// The first key that came after a key it should precede.
    pub(super) misordered: Option<(Key, Key)>,
    pub(super) duplicate: Option<Key>,
    pub(super) unknown: Option<String>,
}

impl<'a> RawRecord<'a> {
    pub(super) fn check_strict(&self) -> Result<(), LineError> {
        if let Some(name) = &self.unknown {
            return Err(LineError::UnknownKey(name.clone()));
        }
        if let Some(key) = self.duplicate {
            return Err(LineError::DuplicateKey(key.name()));
        }
        if let Some((key, after)) = self.misordered {
            return Err(LineError::Misordered {
                key: key.name(),
                after: after.name(),
                order: KeyOrder,
            });
        }
        if let Some(event) = self.event {
            let (required, optional) = keys_of(event);
            let common = Key::Timestamp.bit() | Key::Event.bit() | Key::TimestampMicros.bit();
            let allowed = required
                .iter()
                .chain(optional)
                .fold(common, |bits, key| bits | key.bit());
            if let Some((name, _)) = KEYS
                .iter()
                .find(|(_, key)| self.present & key.bit() & !allowed != 0)
            {
                return Err(LineError::UnexpectedKey { event, key: name });
            }
        }
        if let Some(args) = self.args {
            check_encoded(args, "args", "object", |text| {
                serde_json::from_str::<ObjectProbe>(text).map(drop)
            })?;
        }
        if let Some(result) = self.result {
            check_encoded(result, "result", "value", |text| {
                serde_json::from_str::<IgnoredAny>(text).map(drop)
            })?;
        }
        if let (Some(millis), Some(micros)) = (self.timestamp, self.timestamp_micros)
            && millis != micros / 1_000
        {
            return Err(LineError::TimestampMismatch { millis, micros });
        }
        for (key, value, len) in [
            ("instance", &self.instance, 16),
            ("trace", &self.trace, 32),
            ("remoteParent", &self.remote_parent, 16),
        ] {
            if let Some(value) = value
                && !is_id_hex(value, len)
            {
                return Err(LineError::BadHex {
                    key,
                    len,
                    value: value.to_string(),
                });
            }
        }
        if self.parent.is_some() {
            if self.trace.is_some() {
                return Err(LineError::NotOnRoot("trace"));
            }
            if self.remote_parent.is_some() {
                return Err(LineError::NotOnRoot("remoteParent"));
            }
        }
        if self.remote_parent.is_some() && self.trace.is_none() {
            return Err(LineError::RemoteWithoutTrace);
        }
        Ok(())
    }

    pub(super) fn into_record(self) -> Result<Record<'a>, LineError> {
        let micros = self
            .timestamp_micros
            .ok_or(LineError::MissingCommonKey("timestampMicros"))?;
        self.timestamp
            .ok_or(LineError::MissingCommonKey("timestamp"))?;
        let event = self.event.ok_or(LineError::MissingCommonKey("event"))?;
        let (required, _) = keys_of(event);
        if let Some(key) = required.iter().find(|key| self.present & key.bit() == 0) {
            return Err(LineError::MissingKey {
                event,
                key: key.name(),
            });
        }
        let missing = |key: Key| LineError::MissingKey {
            event,
            key: key.name(),
        };
        let body = match event {
            Event::Dropped => Body::Dropped {
                count: self.count.ok_or_else(|| missing(Key::Count))?,
            },
            Event::Start => Body::Start(Start {
                service: self.service.ok_or_else(|| missing(Key::Service))?,
                pid: self.pid.ok_or_else(|| missing(Key::Pid))?,
                instance: borrowed(self.instance.ok_or_else(|| missing(Key::Instance))?),
            }),
            _ => {
                let call = Call {
                    thread: self.thread.ok_or_else(|| missing(Key::Thread))?,
                    module: self.module.ok_or_else(|| missing(Key::Module))?,
                    function: self.function.ok_or_else(|| missing(Key::Function))?,
                    id: self.id.ok_or_else(|| missing(Key::Id))?,
                    parent: self.parent,
                };
                if event == Event::Enter {
                    Body::Enter {
                        call,
                        args: self.args.ok_or_else(|| missing(Key::Args))?,
                        link: TraceLink {
                            trace: self.trace.map(borrowed),
                            remote_parent: self.remote_parent.map(borrowed),
                        },
                    }
                } else {
                    Body::Close {
                        call,
                        event,
                        duration_micros: self
                            .duration_micros
                            .ok_or_else(|| missing(Key::DurationMicros))?,
                        result: self.result,
                        error: self.error,
                    }
                }
            }
        };
        Ok(Record { micros, body })
    }
}

/// Checks that `raw` (already known to be a JSON string) decodes to text that `probe` accepts.
fn check_encoded(
    raw: &RawValue,
    key: &'static str,
    what: &'static str,
    probe: impl FnOnce(&str) -> Result<(), serde_json::Error>,
) -> Result<(), LineError> {
    let bad = |reason: String| LineError::BadEncoding { key, what, reason };
    let text: Cow<'_, str> = serde_json::from_str(raw.get()).map_err(|e| bad(without_line(&e)))?;
    probe(&text).map_err(|e| bad(without_line(&e)))
}

/// An id string: hex digits never need escapes, so it is borrowed from the line; one that came
/// with escapes is not hex and gets an empty id.
fn borrowed(text: Cow<'_, str>) -> &'_ str {
    match text {
        Cow::Borrowed(text) => text,
        Cow::Owned(_) => "",
    }
}

//! The serde side of record parsing: one visitor that walks the keys of a line in order,
//! noting key order, duplicates and unknown keys as it goes, and typed seeds whose error messages
//! name the key that was wrong.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::raw::RawRecord;
use super::{Event, KEYS, Key};

/// Accepts any JSON object, ignoring its contents.
pub(super) struct ObjectProbe;

impl<'de> serde::Deserialize<'de> for ObjectProbe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Probe;
        impl<'de> Visitor<'de> for Probe {
            type Value = ObjectProbe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ObjectProbe, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(ObjectProbe)
            }
        }
        deserializer.deserialize_map(Probe)
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawRecord<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RecordVisitor(std::marker::PhantomData))
    }
}

struct RecordVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for RecordVisitor<'a> {
    type Value = RawRecord<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a flowtrace record (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRecord<'a>, A::Error> {
        let mut raw = RawRecord::default();
        let mut previous: Option<Key> = None;
        while let Some(field) = map.next_key_seed(FieldSeed {
            expected: previous.map_or(0, |key| key as usize + 1),
        })? {
            let key = match field {
                Field::Known(key) => key,
                Field::Unknown(name) => {
                    map.next_value::<IgnoredAny>()?;
                    raw.unknown.get_or_insert(name);
                    continue;
                }
            };
            if raw.present & key.bit() != 0 {
                raw.duplicate.get_or_insert(key);
            }
            raw.present |= key.bit();
            if let Some(before) = previous
                && (key as u8) < (before as u8)
            {
                raw.misordered.get_or_insert((key, before));
            }
            previous = Some(key);
            let name = key.name();
            match key {
                Key::Timestamp => raw.timestamp = Some(map.next_value_seed(U64Of(name))?),
                Key::Event => raw.event = Some(map.next_value_seed(EventSeed)?),
                Key::Thread => raw.thread = Some(map.next_value_seed(StrOf(name))?),
                Key::Module => raw.module = Some(map.next_value_seed(StrOf(name))?),
                Key::Function => raw.function = Some(map.next_value_seed(StrOf(name))?),
                Key::Args => raw.args = Some(map.next_value_seed(EncodedOf(name))?),
                Key::DurationMicros => {
                    raw.duration_micros = Some(map.next_value_seed(U64Of(name))?);
                }
                Key::Id => raw.id = Some(map.next_value_seed(U64Of(name))?),
                Key::Parent => raw.parent = Some(map.next_value_seed(U64Of(name))?),
                Key::TimestampMicros => {
                    raw.timestamp_micros = Some(map.next_value_seed(U64Of(name))?);
                }
                Key::Result => raw.result = Some(map.next_value_seed(EncodedOf(name))?),
                Key::Error => raw.error = Some(map.next_value_seed(EncodedOf(name))?),
                Key::Count => raw.count = Some(map.next_value_seed(U64Of(name))?),
                Key::Service => raw.service = Some(map.next_value_seed(StrOf(name))?),
                Key::Pid => raw.pid = Some(map.next_value_seed(U64Of(name))?),
                Key::Instance => raw.instance = Some(map.next_value_seed(StrOf(name))?),
                Key::Trace => raw.trace = Some(map.next_value_seed(StrOf(name))?),
                Key::RemoteParent => {
                    raw.remote_parent = Some(map.next_value_seed(StrOf(name))?);
                }
            }
        }
        Ok(raw)
    }
}

enum Field {
    Known(Key),
    Unknown(String),
}

/// Reads a key; `expected` is where the search starts: keys usually come in order.
struct FieldSeed {
    expected: usize,
}

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Field;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Field, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for FieldSeed {
    type Value = Field;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<Field, E> {
        let (passed, ahead) = KEYS.split_at(self.expected.min(KEYS.len()));
        Ok(
            match ahead.iter().chain(passed).find(|(known, _)| *known == name) {
                Some((_, key)) => Field::Known(*key),
                None => Field::Unknown(name.to_owned()),
            },
        )
    }
}

/// An unsigned integer value, named in the error when it is not one.
struct U64Of(&'static str);

impl<'de> DeserializeSeed<'de> for U64Of {
    type Value = u64;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_u64(self)
    }
}

impl Visitor<'_> for U64Of {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an unsigned integer for `{}`", self.0)
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
        Ok(value)
    }
}

/// A string value, borrowed from the line when it has no escapes.
struct StrOf(&'static str);

impl<'de> DeserializeSeed<'de> for StrOf {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for StrOf {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a string for `{}`", self.0)
    }
    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }
}

/// A string value kept as raw JSON (`"{\"a\":1}"`), decoded only when needed.
struct EncodedOf(&'static str);

impl<'de> DeserializeSeed<'de> for EncodedOf {
    type Value = &'de RawValue;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let raw = <&RawValue as serde::Deserialize>::deserialize(deserializer)?;
        if raw.get().starts_with('"') {
            Ok(raw)
        } else {
            Err(de::Error::custom(format_args!(
                "invalid type: {}, expected a string for `{}`",
                raw.get(),
                self.0
            )))
        }
    }
}

struct EventSeed;

impl<'de> DeserializeSeed<'de> for EventSeed {
    type Value = Event;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Event, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for EventSeed {
    type Value = Event;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string for `event`")
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<Event, E> {
        Event::from_name(name).ok_or_else(|| {
            E::custom(format_args!(
                "unknown event `{name}`, expected ENTER, EXIT, EXCEPTION, PANIC, CANCEL, DROPPED \
                 or START"
            ))
        })
    }
}

//! Rendering of a call's pieces for humans: `module::function` with the name stressed, inline
//! arguments `room_id="general", text="hi"` in their recorded order, and decoded results and
//! errors, each value shortened to [`MAX_VALUE_CHARS`].

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::format::{Palette, Styled};
use crate::record::{Call, decoded};

/// Longest argument or result value shown inline; longer ones end in `…`.
pub(crate) const MAX_VALUE_CHARS: usize = 60;

/// `text` cut to `max` characters, with `…` when cut.
pub(crate) fn shorten(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
    }
}

/// `module::function`, the module dim and the function stressed.
pub(crate) struct Name<'a> {
    pub(crate) module: &'a str,
    pub(crate) function: &'a str,
    pub(crate) palette: &'a Palette,
}

impl<'a> Name<'a> {
    /// The name of `call`.
    pub(crate) fn of(call: &'a Call<'_>, palette: &'a Palette) -> Self {
        Self {
            module: &call.module,
            function: &call.function,
            palette,
        }
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module.is_empty() {
            write!(
                f,
                "{}",
                Styled(self.palette.dim, &format_args!("{}::", self.module))
            )?;
        }
        write!(f, "{}", Styled(self.palette.name, &self.function))
    }
}

/// The arguments of an `ENTER` as `a=1, b="x"`, in recorded order; the decoded text as is when
/// it is not a JSON object.
pub(crate) fn args_inline(raw: &RawValue) -> String {
    let text = decoded(raw);
    let Ok(Pairs(pairs)) = serde_json::from_str::<Pairs>(&text) else {
        return shorten(&text, MAX_VALUE_CHARS).into_owned();
    };
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{name}={}", shorten(value.get(), MAX_VALUE_CHARS));
    }
    out
}

/// A decoded `result` or `error`, shortened.
pub(crate) fn value_inline(raw: &RawValue) -> String {
    shorten(&decoded(raw), MAX_VALUE_CHARS).into_owned()
}

/// The entries of a JSON object in their written order, values left as raw JSON.
struct Pairs(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    pairs.push(entry);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn args_keep_their_order_and_are_shortened() {
        let args = raw(r#""{\"text\":\"hi\",\"room_id\":\"general\",\"n\":3}""#);
        assert_eq!(args_inline(&args), r#"text="hi", room_id="general", n=3"#);
        let long = format!(r#""{{\"s\":\"{}\"}}""#, "x".repeat(100));
        let shown = args_inline(&raw(&long));
        assert_eq!(shown.chars().count(), "s=".len() + MAX_VALUE_CHARS + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(args_inline(&raw(r#""not json""#)), "not json");
    }
}

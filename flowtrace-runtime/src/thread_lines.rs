//! The part of a line that only depends on its thread, its call site and its event: the
//! `event`, `thread`, `module` and `function` keys and the key after them. The writer formats
//! it once per thread and call site, and copies it whole into every ENTER and EXIT line after:
//! four pieces, one of them long enough to need a `memcpy` call, became one copy.

use crate::site::CallSite;
use crate::thread_label::ThreadLabel;

/// Call sites remembered per thread. A site whose slot holds another one takes it over: a
/// thread that alternates between two sites of one slot formats their middles again each time,
/// which costs what every line cost before.
const SLOTS: usize = 64;

/// The constant parts of the lines of one thread.
#[derive(Debug)]
pub(crate) struct ThreadLines {
    /// `"thread":"…",`
    key: Box<[u8]>,
    slots: Box<[Option<Middles>]>,
}

/// The middles of one call site's ENTER and EXIT lines on one thread.
#[derive(Debug)]
struct Middles {
    site: &'static CallSite,
    /// `,"event":"ENTER","thread":…,"module":…,"function":…,"args":"`
    enter: Box<[u8]>,
    /// `,"event":"EXIT","thread":…,"module":…,"function":…,"durationMicros":`
    exit: Box<[u8]>,
}

impl ThreadLines {
    pub(crate) fn new(thread: ThreadLabel) -> Self {
        let mut key = b"\"thread\":".to_vec();
        match thread {
            ThreadLabel::Named(json) => key.extend_from_slice(json.as_bytes()),
            ThreadLabel::Unnamed(number) => {
                key.extend_from_slice(format!("\"ThreadId({number})\"").as_bytes());
            }
        }
        key.push(b',');
        Self {
            key: key.into_boxed_slice(),
            slots: (0..SLOTS).map(|_| None).collect(),
        }
    }

    /// `"thread":"…",`
    #[inline]
    pub(crate) fn key(&self) -> &[u8] {
        &self.key
    }

    /// What an ENTER line of `site` (`enter`), or an EXIT line, has between its `timestamp`
    /// and its args or duration.
    #[inline]
    pub(crate) fn middle(&mut self, site: &'static CallSite, enter: bool) -> &[u8] {
        // Call sites are statics of one type: their addresses, in units of its size, spread
        // over the slots.
        let address = site as *const CallSite as usize;
        let slot = address / std::mem::size_of::<CallSite>() % SLOTS;
        let slot = &mut self.slots[slot];
        if slot
            .as_ref()
            .is_some_and(|middles| !std::ptr::eq(middles.site, site))
        {
            *slot = None;
        }
        let middles = slot.get_or_insert_with(|| Middles::new(&self.key, site));
        if enter { &middles.enter } else { &middles.exit }
    }
}

impl Middles {
    #[cold]
    fn new(thread_key: &[u8], site: &'static CallSite) -> Self {
        let middle = |event: &[u8], after: &[u8]| {
            let mut bytes = event.to_vec();
            bytes.extend_from_slice(thread_key);
            bytes.extend_from_slice(site.names_json());
            bytes.extend_from_slice(after);
            bytes.into_boxed_slice()
        };
        Self {
            site,
            enter: middle(b",\"event\":\"ENTER\",", b",\"args\":\""),
            exit: middle(b",\"event\":\"EXIT\",", b",\"durationMicros\":"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_site_gets_its_own_middles_even_when_sites_share_a_slot() {
        // Consecutive in memory: sites `i` and `i + SLOTS` map to the same slot.
        let sites: &'static [CallSite] = Vec::leak(
            (0..=SLOTS)
                .map(|i| {
                    let function: &'static str = String::leak(format!("f{i}"));
                    CallSite::new(function, "app::m", "m.rs", 1, &[], 0)
                })
                .collect(),
        );
        let mut lines = ThreadLines::new(ThreadLabel::named("main"));
        for index in [0, SLOTS, 0, 1, SLOTS, SLOTS] {
            let enter = String::from_utf8_lossy(lines.middle(&sites[index], true)).into_owned();
            assert_eq!(
                enter,
                format!(
                    ",\"event\":\"ENTER\",\"thread\":\"main\",\"module\":\"app::m\",\
                     \"function\":\"f{index}\",\"args\":\""
                )
            );
            let exit = String::from_utf8_lossy(lines.middle(&sites[index], false)).into_owned();
            assert!(
                exit.starts_with(",\"event\":\"EXIT\",\"thread\":\"main\",")
                    && exit.ends_with(&format!("\"function\":\"f{index}\",\"durationMicros\":")),
                "{exit}"
            );
        }
        assert_eq!(lines.key(), b"\"thread\":\"main\",");
    }
}

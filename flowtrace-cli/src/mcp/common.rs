//! What the tools share: limits, name patterns, durations, looking a call up by id, and the way
//! a call (and its path from the root) is shown.

use schemars::JsonSchema;
use serde::Serialize;

use super::error::ToolError;
use super::index::{End, NO_CALL, TraceIndex};
use crate::format::parse_duration;

/// Ancestors listed in a call's path, the nearest ones; the rest are counted.
pub(crate) const MAX_PATH: usize = 32;

/// `value`, or `default` when absent; an error when 0 or over `max`.
pub(crate) fn limit(
    name: &'static str,
    value: Option<u64>,
    default: u64,
    max: u64,
) -> Result<usize, ToolError> {
    match value.unwrap_or(default) {
        0 => Err(ToolError::Zero { name }),
        value if value > max => Err(ToolError::OverMaximum { name, value, max }),
        value => Ok(value as usize),
    }
}

/// An offset into a result list, at most `max`.
pub(crate) fn offset(value: Option<u64>, max: u64) -> Result<usize, ToolError> {
    match value.unwrap_or(0) {
        value if value > max => Err(ToolError::OverMaximum {
            name: "offset",
            value,
            max,
        }),
        value => Ok(value as usize),
    }
}

/// A `minDuration` such as `5ms`, in microseconds.
pub(crate) fn min_duration(text: Option<&str>) -> Result<Option<u64>, ToolError> {
    text.map(parse_duration).transpose().map_err(Into::into)
}

/// A name pattern: a glob when it holds `*` or `?` (matching the whole name), else a substring.
#[derive(Debug)]
pub(crate) struct Pattern {
    text: Vec<char>,
    glob: bool,
}

impl Pattern {
    /// The pattern given for the parameter `name`, if any.
    pub(crate) fn new(name: &'static str, text: Option<&str>) -> Result<Option<Self>, ToolError> {
        match text {
            None => Ok(None),
            Some("") => Err(ToolError::EmptyPattern(name)),
            Some(text) => Ok(Some(Self {
                glob: text.contains(['*', '?']),
                text: text.chars().collect(),
            })),
        }
    }

    /// Whether a function matches: its name, or `module::function` when the pattern holds `::`.
    pub(crate) fn matches_name(&self, module: &str, function: &str) -> bool {
        if self.text.windows(2).any(|w| w == [':', ':']) {
            self.matches(&format!("{module}::{function}"))
        } else {
            self.matches(function)
        }
    }

    pub(crate) fn matches(&self, candidate: &str) -> bool {
        let candidate: Vec<char> = candidate.chars().collect();
        if self.glob {
            glob(&self.text, &candidate)
        } else {
            candidate.windows(self.text.len()).any(|w| w == self.text)
        }
    }
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` any one.
fn glob(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it currently absorbs up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Which function names a `function` and a `module` pattern select, per name index: the
/// function pattern is matched against the function's name, or against `module::function`
/// when it contains `::`.
pub(crate) fn selected_names(
    index: &TraceIndex,
    function: Option<&str>,
    module: Option<&str>,
) -> Result<Vec<bool>, ToolError> {
    let function = Pattern::new("function", function)?;
    let module = Pattern::new("module", module)?;
    Ok(index
        .names
        .iter()
        .map(|(m, f)| {
            function.as_ref().is_none_or(|p| p.matches_name(m, f))
                && module.as_ref().is_none_or(|p| p.matches(m))
        })
        .collect())
}

/// The index of the call `id` (in `segment`, when given).
pub(crate) fn resolve(index: &TraceIndex, id: u64, segment: Option<u32>) -> Result<u32, ToolError> {
    let found = index.find(id, segment);
    match found.as_slice() {
        [one] => Ok(*one),
        [] if index.calls_seen > index.calls.len() as u64 => Err(ToolError::NotKept { id }),
        [] => Err(ToolError::NoSuchCall { id, segment }),
        several => {
            let segments: Vec<String> = several
                .iter()
                .map(|&i| index.calls[i as usize].segment.to_string())
                .collect();
            Err(ToolError::AmbiguousId {
                id,
                segments: segments.join(", "),
            })
        }
    }
}

/// A call as every tool shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallInfo {
    /// The process (see `open`'s `processes`); ids are unique within one.
    pub(crate) segment: u32,
    pub(crate) id: u64,
    /// `module::function`.
    pub(crate) function: String,
    /// Thread of the `ENTER`.
    pub(crate) thread: String,
    /// Thread of the closing record, when another (an async call that moved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) closed_on: Option<String>,
    /// When it started, UTC.
    pub(crate) start: String,
    pub(crate) start_micros: u64,
    /// Absent for a call never closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) duration_micros: Option<u64>,
    /// How it ended: EXIT, EXCEPTION, PANIC, CANCEL, or OPEN (never closed).
    pub(crate) end: &'static str,
    /// The parent's id; absent at a root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parent: Option<u64>,
    /// Arguments as `name=value, …`, each value cut to 60 characters.
    pub(crate) args: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// The call at `index`, with its arguments and outcome read from the trace.
pub(crate) fn call_info(trace: &TraceIndex, index: u32) -> Result<CallInfo, ToolError> {
    let call = &trace.calls[index as usize];
    let details = trace.details(call)?;
    let thread = |i: u32| trace.threads[i as usize].to_string();
    Ok(CallInfo {
        segment: call.segment,
        id: call.id,
        function: trace.full_name(call),
        thread: thread(call.thread),
        closed_on: (call.closed_on != call.thread).then(|| thread(call.closed_on)),
        start: utc(call.start),
        start_micros: call.start,
        duration_micros: (call.end != End::Open).then_some(call.duration),
        end: call.end.name(),
        parent: (call.parent != NO_CALL).then(|| trace.calls[call.parent as usize].id),
        args: details.args,
        result: details.result,
        error: details.error,
    })
}

/// One call on the way from a root down to a call.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PathStep {
    pub(crate) id: u64,
    pub(crate) function: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) duration_micros: Option<u64>,
}

/// The path from the root to the call at `index` (both included), the nearest [`MAX_PATH`]
/// calls, and how many ancestors above them were left out.
pub(crate) fn path_to(trace: &TraceIndex, index: u32) -> (Vec<PathStep>, u64) {
    let mut steps = Vec::new();
    let mut omitted = 0;
    let mut at = index;
    while at != NO_CALL {
        let call = &trace.calls[at as usize];
        if steps.len() < MAX_PATH {
            steps.push(PathStep {
                id: call.id,
                function: trace.full_name(call),
                duration_micros: (call.end != End::Open).then_some(call.duration),
            });
        } else {
            omitted += 1;
        }
        at = call.parent;
    }
    steps.reverse();
    (steps, omitted)
}

/// Epoch microseconds as an RFC 3339 UTC timestamp with microseconds.
pub(crate) fn utc(micros: u64) -> String {
    let seconds = micros / 1_000_000;
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    // Howard Hinnant's civil-from-days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        of_day / 3_600,
        (of_day / 60) % 60,
        of_day % 60,
        micros % 1_000_000
    )
}

/// A list cut to a limit: how many there were in all, and whether more than shown.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    /// How many match in all.
    pub(crate) total: u64,
    /// Whether items beyond these exist (raise `limit` or use `offset`).
    pub(crate) more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names_and_substrings_match_anywhere() -> Result<(), ToolError> {
        let matches = |pattern: &str, text: &str| {
            Pattern::new("function", Some(pattern)).map(|p| p.is_some_and(|p| p.matches(text)))
        };
        assert!(matches("frame", "parse_frame")?);
        assert!(!matches("frame*", "parse_frame")?);
        assert!(matches("*frame", "parse_frame")?);
        assert!(matches("p?rse_*", "parse_frame")?);
        assert!(matches("*a*e*", "parse_frame")?);
        assert!(!matches("*x*", "parse_frame")?);
        assert!(matches("*", "")?);
        assert!(matches!(
            Pattern::new("module", Some("")),
            Err(ToolError::EmptyPattern("module"))
        ));
        Ok(())
    }

    #[test]
    fn timestamps_are_utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(utc(1_795_684_589_548_482), "2026-11-26T09:16:29.548482Z");
        assert_eq!(utc(951_782_400_000_001), "2000-02-29T00:00:00.000001Z");
    }

    #[test]
    fn limits_reject_zero_and_values_over_the_maximum() {
        assert!(matches!(limit("limit", None, 20, 100), Ok(20)));
        assert!(matches!(
            limit("limit", Some(101), 20, 100),
            Err(ToolError::OverMaximum { value: 101, .. })
        ));
        assert!(matches!(
            limit("limit", Some(0), 20, 100),
            Err(ToolError::Zero { .. })
        ));
    }
}

//! Human formatting shared by the subcommands: durations (`1.234ms`), `--min-duration` parsing,
//! UTC times of day, and the colour palette (used only when colours are on: stdout is a
//! terminal, `NO_COLOR` is unset, or `--color always`).

use std::fmt;

use anstyle::{AnsiColor, Style};

/// Formats a duration in microseconds with four significant digits: `812µs`, `1.234ms`,
/// `12.35s`, `3m07.2s`.
pub(crate) fn duration(micros: u64) -> String {
    if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        scaled(micros as f64 / 1e3, "ms")
    } else if micros < 60_000_000 {
        scaled(micros as f64 / 1e6, "s")
    } else {
        let minutes = micros / 60_000_000;
        let seconds = (micros % 60_000_000) as f64 / 1e6;
        format!("{minutes}m{seconds:04.1}s")
    }
}

/// `value` (in `[1, 1000)`) with as many decimals as keep four significant digits.
fn scaled(value: f64, unit: &str) -> String {
    if value < 10.0 {
        format!("{value:.3}{unit}")
    } else if value < 100.0 {
        format!("{value:.2}{unit}")
    } else {
        format!("{value:.1}{unit}")
    }
}

/// A `--min-duration` value that is not a number followed by a unit.
#[derive(Debug, thiserror::Error)]
#[error("invalid duration `{0}`: expected a number and a unit (us, ms, s or m), e.g. `5ms`")]
pub(crate) struct DurationParseError(String);

/// Parses `5ms`, `1.5s`, `250us` (or `250µs`), `2m` into microseconds; used as a clap value
/// parser.
pub(crate) fn parse_duration(text: &str) -> Result<u64, DurationParseError> {
    let invalid = || DurationParseError(text.to_owned());
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(invalid)?;
    let (number, unit) = trimmed.split_at(split);
    let value: f64 = number.parse().map_err(|_| invalid())?;
    let scale = match unit.trim() {
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        _ => return Err(invalid()),
    };
    let micros = value * scale;
    if !micros.is_finite() || micros > u64::MAX as f64 {
        return Err(invalid());
    }
    Ok(micros.round() as u64)
}

/// An epoch-microseconds timestamp as a UTC time of day, `HH:MM:SS.mmm`; UTC keeps outputs the
/// same on every machine.
pub(crate) struct TimeOfDay(pub(crate) u64);

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = (self.0 / 1_000) % 86_400_000;
        let (h, m) = (millis / 3_600_000, (millis / 60_000) % 60);
        let (s, ms) = ((millis / 1_000) % 60, millis % 1_000);
        write!(f, "{h:02}:{m:02}:{s:02}.{ms:03}")
    }
}

/// The styles of every coloured element; all plain when colours are off.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Palette {
    /// Timestamps, thread names, tree lines and other context.
    pub(crate) dim: Style,
    /// Function names.
    pub(crate) name: Style,
    /// `EXCEPTION` records and error messages.
    pub(crate) error: Style,
    /// `PANIC` records.
    pub(crate) panic: Style,
    /// `CANCEL` records and `DROPPED` notices.
    pub(crate) cancel: Style,
    duration_fast: Style,
    duration_medium: Style,
    duration_slow: Style,
    duration_very_slow: Style,
}

impl Palette {
    /// The palette for `color`: styled, or all plain.
    pub(crate) fn new(color: bool) -> Self {
        if !color {
            return Self::default();
        }
        let fg = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
        Self {
            dim: Style::new().dimmed(),
            name: Style::new().bold(),
            error: fg(AnsiColor::Red).bold(),
            panic: fg(AnsiColor::BrightWhite)
                .bg_color(Some(AnsiColor::Red.into()))
                .bold(),
            cancel: fg(AnsiColor::Yellow).bold(),
            duration_fast: Style::new().dimmed(),
            duration_medium: fg(AnsiColor::Green),
            duration_slow: fg(AnsiColor::Yellow),
            duration_very_slow: fg(AnsiColor::Red).bold(),
        }
    }

    /// The style of a duration, by magnitude: under 1 ms dim, under 10 ms green, under 100 ms
    /// yellow, slower red.
    pub(crate) fn duration(&self, micros: u64) -> Style {
        match micros {
            0..1_000 => self.duration_fast,
            1_000..10_000 => self.duration_medium,
            10_000..100_000 => self.duration_slow,
            _ => self.duration_very_slow,
        }
    }
}

/// `text` wrapped in `style` (nothing added for a plain style).
pub(crate) struct Styled<'a, T: ?Sized>(pub(crate) Style, pub(crate) &'a T);

impl<T: fmt::Display + ?Sized> fmt::Display for Styled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Styled(style, value) = self;
        if *style == Style::new() {
            value.fmt(f)
        } else {
            write!(f, "{style}")?;
            value.fmt(f)?;
            write!(f, "{style:#}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_four_significant_digits() {
        assert_eq!(duration(0), "0µs");
        assert_eq!(duration(812), "812µs");
        assert_eq!(duration(1_234), "1.234ms");
        assert_eq!(duration(12_345), "12.35ms");
        assert_eq!(duration(123_456), "123.5ms");
        assert_eq!(duration(1_500_000), "1.500s");
        assert_eq!(duration(187_200_000), "3m07.2s");
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("5ms").ok(), Some(5_000));
        assert_eq!(parse_duration("1.5s").ok(), Some(1_500_000));
        assert_eq!(parse_duration("250us").ok(), Some(250));
        assert_eq!(parse_duration("250µs").ok(), Some(250));
        assert_eq!(parse_duration("2m").ok(), Some(120_000_000));
        for bad in ["5", "ms", "5 parsecs", "", "1e999s"] {
            let error = parse_duration(bad).err().map(|e| e.to_string());
            assert_eq!(
                error,
                Some(format!(
                    "invalid duration `{bad}`: expected a number and a unit (us, ms, s or m), e.g. `5ms`"
                ))
            );
        }
    }

    #[test]
    fn time_of_day_is_utc() {
        // 2025-11-26T09:00:00.123456Z
        assert_eq!(TimeOfDay(1_764_147_600_123_456).to_string(), "09:00:00.123");
    }

    #[test]
    fn plain_palette_adds_no_escapes() {
        let palette = Palette::new(false);
        assert_eq!(Styled(palette.error, &"boom").to_string(), "boom");
        let coloured = Palette::new(true);
        assert_eq!(
            Styled(coloured.error, &"boom").to_string(),
            "\u{1b}[1m\u{1b}[31mboom\u{1b}[0m"
        );
    }
}

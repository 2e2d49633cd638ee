//! Reading the durations that tools and policy configuration write as text.
//!
//! This module owns parsing (`"48h"`, `"2 days"`, `"PT48H"`, `"90m"`, `"1h30m"`, plain
//! seconds), a compact rendering (`7200` -> `"2h"`), and both as the configuration's serde
//! form. Which arguments hold a duration is
//! decided in `input.rs`.

use std::time::Duration;

use super::LocalError;

/// Parses a duration written by a person or a tool.
///
/// Accepted forms: a number of seconds (`"3600"`); unit sequences such as `"48h"`, `"90m"`,
/// `"1h30m"`, `"2 days"`, `"1 week"`, `"45 minutes"`, `"30s"`; and ISO 8601 durations such
/// as `"PT48H"`, `"P2D"`, `"P1DT12H"`, `"PT90M"`. Months and years are refused: their length
/// varies, and a privilege grant measured in months is worth a human look anyway.
///
/// ```
/// use std::time::Duration;
/// use bighub_local::duration::parse_duration;
///
/// assert_eq!(parse_duration("48h").unwrap(), Duration::from_secs(48 * 3600));
/// assert_eq!(parse_duration("2 days").unwrap(), Duration::from_secs(48 * 3600));
/// assert_eq!(parse_duration("PT48H").unwrap(), Duration::from_secs(48 * 3600));
/// assert_eq!(parse_duration("90m").unwrap(), Duration::from_secs(90 * 60));
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, LocalError> {
    let err = || LocalError::Duration(text.to_owned());
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    // jiff reads both the ISO 8601 form and the friendly one ("1 hour 30 minutes").
    let span: jiff::Span = t.to_ascii_lowercase().parse().map_err(|_| err())?;
    if span.is_negative() || span.get_years() != 0 || span.get_months() != 0 {
        return Err(err());
    }
    let secs = span
        .total((
            jiff::Unit::Second,
            jiff::SpanRelativeTo::days_are_24_hours(),
        ))
        .map_err(|_| err())?;
    Duration::try_from_secs_f64(secs).map_err(|_| err())
}

/// Renders seconds compactly: `7200` -> `"2h"`, `5400` -> `"1h30m"`, `172800` -> `"48h"`.
pub fn format_duration(secs: u64) -> String {
    use jiff::fmt::friendly::{Designator, Spacing, SpanPrinter};
    let span = jiff::SignedDuration::from_secs(i64::try_from(secs).unwrap_or(i64::MAX));
    SpanPrinter::new()
        .designator(Designator::Compact)
        .spacing(Spacing::None)
        .duration_to_string(&span)
}

/// A duration in configuration: text (`"2h"`, `"PT4H"`, ...) or whole seconds, written
/// back as text (for `#[serde(with = ...)]`).
pub(crate) mod text {
    use std::fmt;
    use std::time::Duration;

    use serde::de::{self, Deserializer, Visitor};
    use serde::ser::Serializer;

    use super::{format_duration, parse_duration};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(d.as_secs()))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_u64<E: de::Error>(self, secs: u64) -> Result<Duration, E> {
                Ok(Duration::from_secs(secs))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
                parse_duration(text)
                    .map_err(|_| E::custom(format!("cannot read {text:?}: expected {EXPECTED}")))
            }
        }
        d.deserialize_any(V)
    }

    const EXPECTED: &str =
        "a duration such as \"2h\", \"90m\", \"2 days\" or \"PT4H\", or whole seconds";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_documented_form() {
        let h = |n: u64| Duration::from_secs(n * 3600);
        for (text, want) in [
            ("48h", h(48)),
            ("2 days", h(48)),
            ("2d", h(48)),
            ("PT48H", h(48)),
            ("P2D", h(48)),
            ("P1DT24H", h(48)),
            ("pt48h", h(48)),
            ("90m", Duration::from_secs(5400)),
            ("PT90M", Duration::from_secs(5400)),
            ("1h30m", Duration::from_secs(5400)),
            ("1 hour 30 minutes", Duration::from_secs(5400)),
            ("1 week", h(168)),
            ("3600", h(1)),
            ("1.5h", Duration::from_secs(5400)),
            ("1 day, 12 hours", h(36)),
            ("P1W", h(168)),
        ] {
            assert_eq!(parse_duration(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for text in [
            "",
            "soon",
            "h",
            "P",
            "PT",
            "P1M",
            "P1Y",
            "48 parsecs",
            "PT1H5",
            "-2h",
            "1 month",
        ] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format_duration(7200), "2h");
        assert_eq!(format_duration(5400), "1h30m");
        assert_eq!(format_duration(172_800), "48h");
        assert_eq!(format_duration(45), "45s");
        assert_eq!(format_duration(0), "0s");
    }
}

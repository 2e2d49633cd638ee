//! Reading the durations that tools and policy configuration write as text.
//!
//! This module owns parsing (`"48h"`, `"2 days"`, `"PT48H"`, `"90m"`, `"1h30m"`, plain
//! seconds) and a compact rendering (`7200` -> `"2h"`). Which arguments hold a duration is
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
/// use bighub_local::parse_duration;
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
    if t.is_empty() {
        return Err(err());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let upper = t.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix('P') {
        return parse_iso(rest).ok_or_else(err);
    }
    parse_units(&t.to_ascii_lowercase()).ok_or_else(err)
}

/// Renders seconds compactly: `7200` -> `"2h"`, `5400` -> `"1h30m"`, `172800` -> `"48h"`.
pub fn format_duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".to_owned();
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// `"1h30m"`, `"2 days"`, `"1 day 12 hours"`, `"45 minutes"`.
fn parse_units(t: &str) -> Option<Duration> {
    let mut total: f64 = 0.0;
    let mut rest = t.trim();
    let mut parsed_any = false;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start_matches([' ', ',']);
        rest = rest.strip_prefix("and ").unwrap_or(rest).trim_start();
        let factor = match unit {
            "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86_400.0,
            "w" | "wk" | "wks" | "week" | "weeks" => 604_800.0,
            _ => return None,
        };
        total += n * factor;
        parsed_any = true;
    }
    (parsed_any && total.is_finite()).then(|| Duration::from_secs_f64(total))
}

/// The part of an ISO 8601 duration after `P`: `2D`, `T48H`, `1DT12H30M`, `1W`.
fn parse_iso(t: &str) -> Option<Duration> {
    let mut total: f64 = 0.0;
    let mut in_time = false;
    let mut num = String::new();
    let mut parsed_any = false;
    for c in t.chars() {
        match c {
            'T' if !in_time && num.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' => num.push(if c == ',' { '.' } else { c }),
            _ => {
                let n: f64 = num.parse().ok()?;
                num.clear();
                let factor = match (in_time, c) {
                    (false, 'W') => 604_800.0,
                    (false, 'D') => 86_400.0,
                    (true, 'H') => 3600.0,
                    (true, 'M') => 60.0,
                    (true, 'S') => 1.0,
                    _ => return None,
                };
                total += n * factor;
                parsed_any = true;
            }
        }
    }
    (parsed_any && num.is_empty() && total.is_finite()).then(|| Duration::from_secs_f64(total))
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
    }
}

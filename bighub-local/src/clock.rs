//! Wall-clock time as the policy sees it: unix seconds and RFC 3339 text (UTC).
//!
//! This module owns conversions between the two (civil-date arithmetic on the proleptic
//! Gregorian calendar) so the engine needs no date-time dependency. It does not decide
//! anything about freeze windows; the policy does.

use std::time::{SystemTime, UNIX_EPOCH};

use super::LocalError;

/// The current time in milliseconds since the unix epoch.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 for a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01 (`civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Formats unix milliseconds as RFC 3339 in UTC with millisecond precision.
pub(crate) fn format_rfc3339(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Parses an RFC 3339 timestamp (`2026-12-24T00:00:00Z`, `...+02:00`, fractional seconds
/// allowed; a bare date `2026-12-24` means its midnight UTC) into unix seconds.
///
/// ```
/// use bighub_local::parse_timestamp;
///
/// assert_eq!(parse_timestamp("2026-12-24T00:00:00Z").unwrap(), 1_798_070_400);
/// assert!(parse_timestamp("tomorrow").is_err());
/// ```
pub fn parse_rfc3339(text: &str) -> Result<i64, LocalError> {
    let err = || LocalError::Timestamp(text.to_owned());
    let t = text.trim();
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64, LocalError> {
        t.get(r)
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or_else(err)
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(err());
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return Err(err());
    }
    let days = days_from_civil(y, mo, d);
    if b.len() == 10 {
        return Ok(days * 86_400);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return Err(err());
    }
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || s > 60 {
        return Err(err());
    }
    let mut rest = &t[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err());
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-') => {
            let oh: i64 = rest[1..3].parse().map_err(|_| err())?;
            let om: i64 = rest[4..6].parse().map_err(|_| err())?;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return Err(err()),
    };
    Ok(days * 86_400 + h * 3600 + mi * 60 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339(1_798_070_400_123),
            "2026-12-24T00:00:00.123Z"
        );
        assert_eq!(
            parse_rfc3339("2026-12-24T00:00:00Z").unwrap(),
            1_798_070_400
        );
        assert_eq!(parse_rfc3339("2026-12-24").unwrap(), 1_798_070_400);
        assert_eq!(
            parse_rfc3339("2026-12-24T02:00:00.5+02:00").unwrap(),
            1_798_070_400
        );
        assert_eq!(parse_rfc3339("2000-02-29T12:00:00Z").unwrap(), 951_825_600);
    }

    #[test]
    fn refuses_garbage() {
        for t in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-12-24T25:00:00Z",
            "2026-12-24T00:00:00",
        ] {
            assert!(parse_rfc3339(t).is_err(), "{t}");
        }
    }
}

//! Wall-clock time as the policy sees it: unix seconds and RFC 3339 text (UTC).
//!
//! This module owns conversions between the two (with jiff) and the current time. It does
//! not decide anything about freeze windows; the policy does.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::LocalError;

/// Where the engine reads the time for what it records: when a decision was made, when an
/// approval opens, expires and is answered. The system clock by default; a manual clock
/// makes time a test's to move (expiry without waiting a day).
///
/// ```
/// use std::time::Duration;
/// use bighub_local::clock::Clock;
///
/// let clock = Clock::manual(1_798_070_400_000);
/// let later = clock.clone();
/// later.advance(Duration::from_secs(3600));
/// assert_eq!(clock.now_millis(), 1_798_074_000_000);
/// assert!(Clock::system().now_millis() > 1_700_000_000_000);
/// ```
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that shows `start_ms` (unix milliseconds) until moved; its clones share it.
    pub fn manual(start_ms: i64) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(start_ms))),
        }
    }

    /// Now, in unix milliseconds.
    pub fn now_millis(&self) -> i64 {
        match &self.manual {
            Some(ms) => ms.load(Ordering::SeqCst),
            None => now_millis(),
        }
    }

    /// Moves a manual clock forward by `by`; the system clock is not moved.
    pub fn advance(&self, by: Duration) {
        if let Some(ms) = &self.manual {
            let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            ms.fetch_add(by, Ordering::SeqCst);
        }
    }

    /// Sets a manual clock to `ms`; the system clock is not set.
    pub fn set_millis(&self, ms: i64) {
        if let Some(now) = &self.manual {
            now.store(ms, Ordering::SeqCst);
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.manual {
            Some(ms) => write!(f, "Clock::manual({})", ms.load(Ordering::SeqCst)),
            None => f.write_str("Clock::system()"),
        }
    }
}

/// The current time in milliseconds since the unix epoch.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Formats unix milliseconds as RFC 3339 in UTC with millisecond precision.
pub(crate) fn format_rfc3339(millis: i64) -> String {
    match jiff::Timestamp::from_millisecond(millis) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        // Outside jiff's range (years -9999 to 9999): said as the number it is.
        Err(_) => format!("@{millis}ms"),
    }
}

/// Parses an RFC 3339 timestamp (`2026-12-24T00:00:00Z`, `...+02:00`, fractional seconds
/// allowed; a bare date `2026-12-24` means its midnight UTC) into unix seconds.
///
/// ```
/// use bighub_local::clock::parse_timestamp;
///
/// assert_eq!(parse_timestamp("2026-12-24T00:00:00Z").unwrap(), 1_798_070_400);
/// assert!(parse_timestamp("tomorrow").is_err());
/// ```
pub fn parse_timestamp(text: &str) -> Result<i64, LocalError> {
    let err = || LocalError::Timestamp(text.to_owned());
    let t = text.trim();
    // A timestamp needs its offset: a local time without one names no instant.
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts.as_second());
    }
    if t.len() == 10 {
        let date: jiff::civil::Date = t.parse().map_err(|_| err())?;
        let midnight = date.to_zoned(jiff::tz::TimeZone::UTC).map_err(|_| err())?;
        return Ok(midnight.timestamp().as_second());
    }
    Err(err())
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
            parse_timestamp("2026-12-24T00:00:00Z").unwrap(),
            1_798_070_400
        );
        assert_eq!(parse_timestamp("2026-12-24").unwrap(), 1_798_070_400);
        assert_eq!(
            parse_timestamp("2026-12-24T02:00:00.5+02:00").unwrap(),
            1_798_070_400
        );
        assert_eq!(
            parse_timestamp("2000-02-29T12:00:00Z").unwrap(),
            951_825_600
        );
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
            assert!(parse_timestamp(t).is_err(), "{t}");
        }
    }
}

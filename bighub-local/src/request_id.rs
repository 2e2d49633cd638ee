//! The local engine's request ids, and the millisecond each one was made in.
//!
//! A request id is `loc_` followed by a UUIDv7 (32 lower-case hex digits) whose timestamp is
//! the millisecond the decision was made in, the same as its `created_at` in the store. The
//! store keys a decision's row by that millisecond (`storage/sqlite/`), so an id leads to
//! its row without an index of its own. This module only makes and reads ids.

use uuid::{NoContext, Timestamp, Uuid};

const PREFIX: &str = "loc_";

/// A new request id for a decision made at `now_ms` (milliseconds since the Unix epoch;
/// times before it count as the epoch). The 74 bits after the timestamp are random.
pub(crate) fn new_request_id(now_ms: i64) -> String {
    let ms = u64::try_from(now_ms).unwrap_or(0);
    let ts = Timestamp::from_unix(NoContext, ms / 1000, (ms % 1000) as u32 * 1_000_000);
    format!("{PREFIX}{}", Uuid::new_v7(ts).simple())
}

/// The millisecond `request_id` was made in, when it is one of these ids (`loc_` and a
/// UUIDv7 written as 32 hex digits); `None` for anything else, such as the UUIDv4 ids of
/// the first stores.
pub(crate) fn millis_of(request_id: &str) -> Option<i64> {
    let hex = request_id.strip_prefix(PREFIX)?;
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let uuid = Uuid::try_parse(hex).ok()?;
    if uuid.get_version_num() != 7 {
        return None;
    }
    let (secs, nanos) = uuid.get_timestamp()?.to_unix();
    i64::try_from(secs * 1000 + u64::from(nanos) / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_carries_its_millisecond() {
        for ms in [0, 1, 999, 1_000, 1_790_000_000_123, 2_000_000_000_999] {
            let id = new_request_id(ms);
            assert!(id.starts_with("loc_") && id.len() == 36, "{id}");
            assert_eq!(millis_of(&id), Some(ms), "{id}");
        }
        assert_ne!(new_request_id(5), new_request_id(5));
        // Before the epoch counts as the epoch.
        assert_eq!(millis_of(&new_request_id(-5)), Some(0));
    }

    #[test]
    fn other_ids_have_no_millisecond() {
        let v4 = format!("loc_{}", Uuid::new_v4().simple());
        let v7 = Uuid::now_v7();
        for id in [
            "loc_old".to_owned(),
            v4,
            v7.simple().to_string(),
            format!("loc_{}", v7.hyphenated()),
            format!("loc_{}x", &v7.simple().to_string()[..31]),
        ] {
            assert_eq!(millis_of(&id), None, "{id}");
        }
    }
}

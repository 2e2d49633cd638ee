//! The four BIGHUB endpoints the fake serves, and matching a raw request path to one.
//!
//! This file owns routing only; what each endpoint accepts lives in `validate.rs`.

use std::fmt;

/// An endpoint of the BIGHUB API served by the fake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `POST /actions/evaluate`
    Evaluate,
    /// `POST /outcomes/report`
    ReportOutcome,
    /// `POST /actions/memory/ingest`
    IngestMemory,
    /// `POST /approvals/{request_id}/resolve`
    ResolveApproval,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 4] = [
        Self::Evaluate,
        Self::ReportOutcome,
        Self::IngestMemory,
        Self::ResolveApproval,
    ];

    /// The path, with `{request_id}` standing for the approval id.
    pub fn path_pattern(self) -> &'static str {
        match self {
            Self::Evaluate => "/actions/evaluate",
            Self::ReportOutcome => "/outcomes/report",
            Self::IngestMemory => "/actions/memory/ingest",
            Self::ResolveApproval => "/approvals/{request_id}/resolve",
        }
    }

    /// Matches a raw (percent-encoded) path; for approvals also returns the decoded id.
    pub fn route(path: &str) -> Option<(Endpoint, Option<String>)> {
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        match segments.as_slice() {
            ["actions", "evaluate"] => Some((Self::Evaluate, None)),
            ["outcomes", "report"] => Some((Self::ReportOutcome, None)),
            ["actions", "memory", "ingest"] => Some((Self::IngestMemory, None)),
            ["approvals", id, "resolve"] if !id.is_empty() => {
                Some((Self::ResolveApproval, Some(percent_decode(id))))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "POST {}", self.path_pattern())
    }
}

/// Decodes `%XX` escapes of one path segment; malformed escapes stay as written.
pub fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            Endpoint::route("/actions/evaluate"),
            Some((Endpoint::Evaluate, None))
        );
        assert_eq!(
            Endpoint::route("/approvals/req%2F1%20x/resolve"),
            Some((Endpoint::ResolveApproval, Some("req/1 x".to_owned())))
        );
        assert_eq!(Endpoint::route("/approvals//resolve"), None);
        assert_eq!(Endpoint::route("/actions/evaluate/"), None);
        assert_eq!(Endpoint::route("/v1/actions/evaluate"), None);
    }

    #[test]
    fn malformed_escapes_stay() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("a%zz%41"), "a%zzA");
        assert_eq!(percent_decode("%E2%9C%93"), "✓");
    }
}

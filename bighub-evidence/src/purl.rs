//! Comparing package URLs the way VEX statements name packages.
//!
//! Owns only the comparison: type, namespace and name must be equal (after percent-decoding),
//! a version in the pattern must equal the candidate's, and qualifiers and subpath are ignored
//! (`pkg:deb/debian/bash` names every `bash` of that namespace; `pkg:apk/alpine/libssl3@3.0.8-r3`
//! only that version). It does not validate purls; a string that is not one matches nothing.

/// Whether package URL `candidate` is one of the packages `pattern` names.
pub(crate) fn matches(pattern: &str, candidate: &str) -> bool {
    match (Parts::of(pattern), Parts::of(candidate)) {
        (Some(p), Some(c)) => {
            p.path == c.path
                && p.version
                    .as_ref()
                    .is_none_or(|v| Some(v) == c.version.as_ref())
        }
        _ => false,
    }
}

struct Parts {
    /// `type/namespace/name`, type lower-cased, percent-decoded.
    path: String,
    version: Option<String>,
}

impl Parts {
    fn of(purl: &str) -> Option<Self> {
        let rest = purl.trim().strip_prefix("pkg:")?;
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (path, version) = match rest.rfind('@') {
            Some(at) if !rest[at..].contains('/') => (&rest[..at], Some(decode(&rest[at + 1..]))),
            _ => (rest, None),
        };
        let (kind, name) = path.split_once('/')?;
        Some(Self {
            path: format!("{}/{}", kind.to_ascii_lowercase(), decode(name)),
            version: version.filter(|v| !v.is_empty()),
        })
    }
}

/// Percent-decoding of `%XX` escapes; anything malformed stays as written.
fn decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn a_pattern_without_version_names_every_version() {
        assert!(matches(
            "pkg:deb/debian/bash",
            "pkg:deb/debian/bash@5.1-2?arch=amd64&distro=debian-11"
        ));
        assert!(matches(
            "pkg:golang/github.com/open-policy-agent/opa@v0.35.0",
            "pkg:golang/github.com/open-policy-agent/opa@v0.35.0"
        ));
        assert!(!matches(
            "pkg:golang/github.com/open-policy-agent/opa@v0.35.0",
            "pkg:golang/github.com/open-policy-agent/opa@v0.36.0"
        ));
        assert!(matches(
            "pkg:golang/github.com/docker/distribution@v2.7.1+incompatible",
            "pkg:golang/github.com/docker/distribution@v2.7.1%2Bincompatible"
        ));
        assert!(!matches(
            "pkg:deb/debian/bash",
            "pkg:deb/debian/bash-completion@1"
        ));
        assert!(!matches("not a purl", "not a purl"));
        assert!(!matches("pkg:deb/debian/bash", "pkg:rpm/debian/bash"));
        assert!(matches(
            "pkg:npm/%40angular/core@1.0",
            "pkg:npm/@angular/core@1.0"
        ));
        assert!(!matches("pkg:x/y%", "pkg:x/z"));
    }
}

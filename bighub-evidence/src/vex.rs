//! VEX statements: what a vendor or operator says about a vulnerability in a product, and
//! which findings a statement covers.
//!
//! Owns [`VexStatement`] and the rules that bind it to a finding of a scan of one image:
//!
//! - **Vulnerability**: the statement's id or one of its aliases equals the finding's id or one
//!   of its aliases (case-insensitive).
//! - **Product**: a report's own analysis of its vulnerabilities (CycloneDX `analysis`) has no
//!   products and covers those findings of that report. A VEX document's statement names its
//!   products (one without any covers nothing), and one product must cover
//!   it: a product that names an image digest (`pkg:oci/app@sha256%3A...`, a bare digest, a
//!   reference with a digest, or an OpenVEX `hashes` entry) covers the scan only when that
//!   digest is the scanned one, and then every package of it, or only the packages its
//!   `subcomponents` name. A product that is a package URL of something else covers the
//!   findings in that package, or, when it lists `subcomponents`, the findings in those (the
//!   product being the scanned artifact, which a package URL cannot prove). An OCI product
//!   without a digest, or an identifier that is neither, covers nothing: a statement must be
//!   bound to what is deployed.
//! - **Status**: `not_affected`, `false_positive`, `resolved`, `resolved_with_pedigree`
//!   (CycloneDX) and `not_affected`, `fixed` (OpenVEX) suppress a finding; the others
//!   (`affected`, `under_investigation`, `exploitable`, `in_triage`) do not.
//! - **Precedence**: when several statements cover one finding, the newest decides (statement
//!   timestamp, else its document's), and among equals the one read last; so a later
//!   `affected` withdraws an earlier `not_affected`.
//!
//! Reading the statements out of documents is each format's module's work (`openvex.rs`,
//! `cyclonedx.rs`); counting what they suppress is [`crate::ScanSummary`]'s.

use jiff::Timestamp;

use crate::{Digest, Finding, purl};

/// One VEX statement about one vulnerability.
///
/// Every string here came from a document: it is data, and a caller that displays it escapes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexStatement {
    pub(crate) vulnerability: String,
    pub(crate) aliases: Vec<String>,
    pub(crate) products: Vec<Product>,
    pub(crate) status: String,
    pub(crate) timestamp: Option<Timestamp>,
    pub(crate) document: String,
}

/// A product a statement is about, with the packages in it the statement narrows to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Product {
    pub(crate) id: ProductId,
    pub(crate) subcomponents: Vec<String>,
}

/// What a product identifier names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProductId {
    /// An image, by digest.
    Image(Digest),
    /// A package, by package URL.
    Package(String),
    /// Nothing this crate can bind to a scan.
    Unbound,
}

impl ProductId {
    /// Classifies an identifier as OpenVEX `@id`s and CycloneDX refs spell them.
    pub(crate) fn classify(id: &str) -> Self {
        if let Some(digest) = Digest::lenient(id) {
            return Self::Image(digest);
        }
        let id = id.trim();
        if id.starts_with("pkg:") && !id.starts_with("pkg:oci/") {
            Self::Package(id.to_owned())
        } else {
            Self::Unbound
        }
    }
}

impl VexStatement {
    /// The vulnerability id the statement is about.
    pub fn vulnerability(&self) -> &str {
        &self.vulnerability
    }

    /// The status as the document wrote it (`not_affected`, `fixed`, `false_positive`, ...).
    pub fn status(&self) -> &str {
        &self.status
    }

    /// Whether this status removes the findings it covers from the after-VEX counts.
    pub fn suppresses(&self) -> bool {
        matches!(
            self.status.as_str(),
            "not_affected" | "false_positive" | "resolved" | "resolved_with_pedigree" | "fixed"
        )
    }

    /// The document the statement came from: its own id (OpenVEX `@id`, CycloneDX
    /// `serialNumber`) or, without one, the file it was read from.
    pub fn document(&self) -> &str {
        &self.document
    }

    /// When the statement was made, when the document says.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.timestamp
    }

    /// Whether this statement covers `finding` in a scan of the image `digest` (see the module
    /// documentation for the rules).
    pub fn covers(&self, finding: &Finding, digest: &Digest) -> bool {
        let about = std::iter::once(&self.vulnerability)
            .chain(&self.aliases)
            .any(|id| finding.is_about(id));
        about
            && (self.products.is_empty() || self.products.iter().any(|p| p.covers(finding, digest)))
    }
}

impl Product {
    fn covers(&self, finding: &Finding, digest: &Digest) -> bool {
        let in_subcomponents = || {
            finding.purl.as_deref().is_some_and(|candidate| {
                self.subcomponents
                    .iter()
                    .any(|pattern| purl::matches(pattern, candidate))
            })
        };
        match &self.id {
            ProductId::Image(image) => {
                image == digest && (self.subcomponents.is_empty() || in_subcomponents())
            }
            ProductId::Package(package) => {
                if self.subcomponents.is_empty() {
                    finding
                        .purl
                        .as_deref()
                        .is_some_and(|candidate| purl::matches(package, candidate))
                } else {
                    in_subcomponents()
                }
            }
            ProductId::Unbound => false,
        }
    }
}

/// The statement that decides about `finding`, if any covers it: the newest, and among equals
/// the last given.
pub(crate) fn deciding<'a>(
    statements: impl IntoIterator<Item = &'a VexStatement>,
    finding: &Finding,
    digest: &Digest,
) -> Option<&'a VexStatement> {
    let mut best: Option<&VexStatement> = None;
    for statement in statements {
        if statement.covers(finding, digest)
            && best.is_none_or(|b| statement.timestamp >= b.timestamp)
        {
            best = Some(statement);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Report, Severity};

    const ALPINE: &str = "sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126";
    const OTHER: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn finding(id: &str, purl: &str) -> Finding {
        Finding {
            id: id.to_owned(),
            aliases: Vec::new(),
            severity: Severity::High,
            package: String::new(),
            purl: Some(purl.to_owned()),
            installed: None,
            fixed: Vec::new(),
            fixable: false,
        }
    }

    fn statements(fixture: &str) -> Vec<VexStatement> {
        let path = format!(
            "{}/tests/fixtures/openvex/{fixture}",
            env!("CARGO_MANIFEST_DIR")
        );
        Report::read(path).unwrap().vex
    }

    #[test]
    fn an_image_bound_statement_covers_its_subcomponents_in_that_image_only() {
        // go-vex's v0.2.0 document: CVE-2023-3446 not_affected in libssl3/libcrypto3 of ALPINE.
        let vex = statements("go-vex-v0.2.0.json");
        let alpine = Digest::parse(ALPINE).unwrap();
        let other = Digest::parse(OTHER).unwrap();
        let libssl = finding(
            "CVE-2023-3446",
            "pkg:apk/alpine/libssl3@3.0.8-r3?arch=x86_64",
        );
        let busybox = finding("CVE-2023-3446", "pkg:apk/alpine/busybox@1.36.0-r0");
        let newer = finding("CVE-2023-3446", "pkg:apk/alpine/libssl3@3.1.0-r0");
        let unrelated = finding("CVE-2023-9999", "pkg:apk/alpine/libssl3@3.0.8-r3");
        assert!(deciding(&vex, &libssl, &alpine).is_some_and(VexStatement::suppresses));
        assert!(deciding(&vex, &libssl, &other).is_none());
        assert!(deciding(&vex, &busybox, &alpine).is_none());
        assert!(deciding(&vex, &newer, &alpine).is_none());
        assert!(deciding(&vex, &unrelated, &alpine).is_none());
    }

    #[test]
    fn an_image_product_without_subcomponents_covers_every_package_of_it() {
        let vex = statements("grype-openvex-demo1.json");
        let alpine = Digest::parse(ALPINE).unwrap();
        assert!(vex[0].covers(
            &finding("CVE-2023-1255", "pkg:apk/alpine/libssl3@3.0.8-r3"),
            &alpine
        ));
        let mut without_subcomponents = vex[0].clone();
        without_subcomponents.products[0].subcomponents.clear();
        assert!(without_subcomponents.covers(
            &finding("CVE-2023-1255", "pkg:apk/alpine/busybox@1"),
            &alpine
        ));
    }

    #[test]
    fn the_newest_statement_decides() {
        let alpine = Digest::parse(ALPINE).unwrap();
        let base = VexStatement {
            vulnerability: "CVE-1".to_owned(),
            aliases: Vec::new(),
            products: vec![Product {
                id: ProductId::Image(alpine.clone()),
                subcomponents: Vec::new(),
            }],
            status: "not_affected".to_owned(),
            timestamp: Some("2024-01-01T00:00:00Z".parse().unwrap()),
            document: "a".to_owned(),
        };
        let withdrawn = VexStatement {
            status: "affected".to_owned(),
            timestamp: Some("2024-02-01T00:00:00Z".parse().unwrap()),
            document: "b".to_owned(),
            ..base.clone()
        };
        let f = finding("CVE-1", "pkg:apk/alpine/x@1");
        let both = [withdrawn.clone(), base.clone()];
        assert_eq!(
            deciding(&both, &f, &alpine).map(VexStatement::status),
            Some("affected")
        );
        let unbound = VexStatement {
            products: vec![Product {
                id: ProductId::classify("pkg:oci/debian"),
                subcomponents: Vec::new(),
            }],
            ..base
        };
        assert!(
            !unbound.covers(&f, &alpine),
            "an OCI product without a digest binds nothing"
        );
    }
}

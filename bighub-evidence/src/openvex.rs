//! OpenVEX documents (v0.2.0, and v0.0.1's string products and statement-level subcomponents).
//!
//! Owns the fields read from them, as lenient serde structs (unknown fields ignored): OpenVEX
//! has a Go reference library but no Rust one.
//!
//! - document: `@id` (the name summaries give it; without one, the file it was read from),
//!   `author` (reported as the scanner), `timestamp`.
//! - statements: `vulnerability` (`name`, `@id`, `aliases`; v0.0.1 a string), `products[]`
//!   (`@id`, `identifiers.purl`, `hashes` such as `sha-256`; v0.0.1 strings) each with its
//!   `subcomponents[]`, `status`, `timestamp` (else the document's). How a statement binds to
//!   a finding is [`crate::VexStatement`]'s.

use serde::Deserialize;
use serde_json::Value;

use crate::report::{timestamp, typed};
use crate::vex::{Product, ProductId};
use crate::{Digest, EvidenceError, Report, ReportFormat, Scanner, VexStatement};

#[derive(Deserialize)]
struct Document {
    #[serde(rename = "@id", default)]
    id: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    statements: Option<Vec<Statement>>,
}

#[derive(Deserialize)]
struct Statement {
    vulnerability: Vulnerability,
    #[serde(default)]
    products: Option<Vec<Component>>,
    /// v0.0.1: subcomponents of every product.
    #[serde(default)]
    subcomponents: Option<Vec<Component>>,
    status: String,
    #[serde(default)]
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Vulnerability {
    Name(String),
    Object {
        #[serde(default)]
        name: Option<String>,
        #[serde(rename = "@id", default)]
        id: Option<String>,
        #[serde(default)]
        aliases: Option<Vec<String>>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Component {
    Id(String),
    Object {
        #[serde(rename = "@id", default)]
        id: Option<String>,
        #[serde(default)]
        identifiers: Option<Identifiers>,
        #[serde(default)]
        hashes: Option<serde_json::Map<String, Value>>,
        #[serde(default)]
        subcomponents: Option<Vec<Component>>,
    },
}

#[derive(Deserialize)]
struct Identifiers {
    #[serde(default)]
    purl: Option<String>,
}

impl Component {
    /// Every identifier this component is known by.
    fn ids(&self) -> Vec<String> {
        match self {
            Self::Id(id) => vec![id.clone()],
            Self::Object {
                id,
                identifiers,
                hashes,
                ..
            } => {
                let mut ids: Vec<String> = id.iter().cloned().collect();
                ids.extend(identifiers.as_ref().and_then(|i| i.purl.clone()));
                for (algorithm, hex) in hashes.iter().flatten() {
                    if let Some(digest) =
                        hex.as_str().and_then(|h| Digest::from_parts(algorithm, h))
                    {
                        ids.push(digest.to_string());
                    }
                }
                ids
            }
        }
    }

    fn subcomponents(&self) -> &[Component] {
        match self {
            Self::Id(_) => &[],
            Self::Object { subcomponents, .. } => subcomponents.as_deref().unwrap_or_default(),
        }
    }
}

pub(crate) fn read(value: &Value) -> Result<Report, EvidenceError> {
    let doc: Document = typed(ReportFormat::Openvex, value)?;
    let mut report = Report::empty(
        ReportFormat::Openvex,
        Scanner::new(doc.author.as_deref(), None),
        false,
    );
    report.generated_at = timestamp(doc.timestamp.as_deref());
    let document = doc.id.unwrap_or_default();
    for statement in doc.statements.unwrap_or_default() {
        crate::report::bounded("VEX statements", report.vex.len())?;
        let (name, aliases) = match statement.vulnerability {
            Vulnerability::Name(name) => (Some(name), Vec::new()),
            Vulnerability::Object { name, id, aliases } => {
                let mut aliases = aliases.unwrap_or_default();
                // v0.2.0 names a vulnerability by `name`, `@id`, or both (an IRI beside a CVE).
                let name = match (name, id) {
                    (Some(name), Some(id)) => {
                        if id != name {
                            aliases.push(id);
                        }
                        Some(name)
                    }
                    (name, id) => name.or(id),
                };
                (name, aliases)
            }
        };
        let Some(vulnerability) = name.filter(|n| !n.is_empty()) else {
            continue;
        };
        let shared: Vec<String> = statement
            .subcomponents
            .iter()
            .flatten()
            .flat_map(Component::ids)
            .collect();
        let mut products = Vec::new();
        for product in statement.products.iter().flatten() {
            let mut subcomponents: Vec<String> = product
                .subcomponents()
                .iter()
                .flat_map(Component::ids)
                .collect();
            subcomponents.extend(shared.iter().cloned());
            for id in product.ids() {
                products.push(Product {
                    id: ProductId::classify(&id),
                    subcomponents: subcomponents.clone(),
                });
            }
        }
        // An empty product list means "every product" only inside a report's own analysis;
        // a VEX document must name what it is about, or it covers nothing.
        if products.is_empty() {
            products.push(Product {
                id: ProductId::Unbound,
                subcomponents: Vec::new(),
            });
        }
        report.vex.push(VexStatement {
            vulnerability,
            aliases,
            products,
            status: statement.status,
            timestamp: timestamp(statement.timestamp.as_deref()).or(report.generated_at),
            document: document.clone(),
        });
    }
    Ok(report)
}

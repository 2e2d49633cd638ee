//! PostgreSQL over TLS, configured as libpq users configure it (feature `postgres`).
//!
//! This module owns what a database URL says about TLS — `sslmode` and `sslrootcert` (or
//! `PGSSLMODE` and `PGSSLROOTCERT` when the URL does not say) — and the rustls connector
//! that honours it. It takes those settings out of the URL before the driver reads the
//! rest, since the driver knows neither `verify-ca`, `verify-full` nor `sslrootcert`. It
//! does not own the pool or the timeouts (`mod.rs`).
//!
//! The modes mean what they mean to libpq:
//!
//! | `sslmode` | encrypted | certificate checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow`, `prefer` (the default) | when the server offers TLS | no |
//! | `require` | always | no; with a root certificate given, as `verify-ca` |
//! | `verify-ca` | always | chain to a trusted root |
//! | `verify-full` | always | chain, and the host name (or IP address) in the certificate |
//!
//! The trusted roots are the PEM file `sslrootcert` names (a private CA), or the
//! platform's roots when it names none or `system` (which, as in libpq, needs
//! `verify-full`). A mode that verifies never falls back to plain TCP: a certificate that
//! does not verify fails the connection.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

use crate::error::LocalError;

/// How a connection uses TLS: libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, LocalError> {
        Ok(match value {
            "disable" => Self::Disable,
            // libpq tries plain TCP first; neither verifies, so TLS first is as safe.
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(LocalError::Database(format!(
                    "invalid sslmode `{}` in the database URL: use disable, allow, prefer, require, verify-ca or verify-full",
                    other.escape_debug()
                )));
            }
        })
    }
}

/// Where the trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RootCerts {
    /// The platform's roots.
    System,
    /// A PEM file of CA certificates.
    File(PathBuf),
}

/// What a database URL (and the environment) says about TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub(crate) mode: SslMode,
    pub(crate) roots: Option<RootCerts>,
}

impl TlsSettings {
    /// Takes `sslmode` and `sslrootcert` out of `url` (a `postgres://` URL or `key=value`
    /// settings); answers the URL left for the driver and the settings, completed from
    /// `env` (`PGSSLMODE`, `PGSSLROOTCERT`) where the URL is silent.
    pub(crate) fn take_from_url(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(String, Self), LocalError> {
        let (rest, found) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            take_from_uri(url)
        } else {
            take_from_key_values(url)?
        };
        let mut mode = None;
        let mut root = None;
        for (key, value) in found {
            match key.as_str() {
                "sslmode" => mode = Some(value),
                _ => root = Some(value),
            }
        }
        let mode = mode.or_else(|| env("PGSSLMODE")).filter(|m| !m.is_empty());
        let root = root
            .or_else(|| env("PGSSLROOTCERT"))
            .filter(|r| !r.is_empty());
        let roots = root.map(|r| match r.as_str() {
            "system" => RootCerts::System,
            path => RootCerts::File(PathBuf::from(path)),
        });
        let mode = match (mode, &roots) {
            (Some(m), _) => SslMode::parse(&m)?,
            // As libpq: `sslrootcert=system` makes verify-full the default.
            (None, Some(RootCerts::System)) => SslMode::VerifyFull,
            (None, _) => SslMode::Prefer,
        };
        if roots == Some(RootCerts::System) && mode != SslMode::VerifyFull {
            return Err(LocalError::Database(
                "sslrootcert=system needs sslmode=verify-full (a weaker mode would not check the host name)".to_owned(),
            ));
        }
        // As libpq: `require` with a root certificate verifies the chain.
        let mode = if mode == SslMode::Require && roots.is_some() {
            SslMode::VerifyCa
        } else {
            mode
        };
        Ok((rest, Self { mode, roots }))
    }

    /// The driver's mode: whether TLS is attempted, and whether it is required.
    pub(crate) fn driver_mode(&self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Driver;
        match self.mode {
            SslMode::Disable => Driver::Disable,
            SslMode::Prefer => Driver::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Driver::Require,
        }
    }

    /// The connector that enforces these settings.
    pub(crate) fn connector(&self) -> Result<RustlsConnect, LocalError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match self.mode {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => {
                Arc::new(Unverified(provider.clone()))
            }
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let roots = Arc::new(self.root_store()?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| {
                        LocalError::Database(format!("cannot use the root certificates: {e}"))
                    })?;
                if self.mode == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(ChainOnly(webpki))
                }
            }
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| LocalError::Database(format!("cannot set up TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(RustlsConnect(Arc::new(config)))
    }

    fn root_store(&self) -> Result<RootCertStore, LocalError> {
        let mut store = RootCertStore::empty();
        match &self.roots {
            Some(RootCerts::File(path)) => {
                let certs = read_pem(path)?;
                let (added, _) = store.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(LocalError::Database(format!(
                        "sslrootcert {} holds no usable CA certificate",
                        path.display()
                    )));
                }
            }
            Some(RootCerts::System) | None => {
                let found = rustls_native_certs::load_native_certs();
                store.add_parsable_certificates(found.certs);
                if store.is_empty() {
                    return Err(LocalError::Database(
                        "no root certificates were found on this platform: give the database URL sslrootcert=PATH (or set PGSSLROOTCERT)".to_owned(),
                    ));
                }
            }
        }
        Ok(store)
    }
}

fn read_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, LocalError> {
    let unreadable = |e: &dyn fmt::Display| {
        LocalError::Database(format!("cannot read sslrootcert {}: {e}", path.display()))
    };
    CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&e))
}

/// The `sslmode` and `sslrootcert` pairs of a `postgres://` URL's query, taken out.
fn take_from_uri(url: &str) -> (String, Vec<(String, String)>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), Vec::new());
    };
    let mut kept = Vec::new();
    let mut found = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key);
        if key == "sslmode" || key == "sslrootcert" {
            found.push((key, percent_decode(value)));
        } else {
            kept.push(pair);
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (rest, found)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `sslmode` and `sslrootcert` settings of a `key=value` string, taken out. Values
/// may be single-quoted, with `\'` and `\\` escapes, as libpq reads them.
fn take_from_key_values(settings: &str) -> Result<(String, Vec<(String, String)>), LocalError> {
    let chars: Vec<char> = settings.chars().collect();
    let mut kept: Vec<String> = Vec::new();
    let mut found = Vec::new();
    let mut i = 0;
    let malformed =
        || LocalError::Database("invalid database URL: a setting is not key=value".to_owned());
    loop {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        while chars
            .get(i)
            .is_some_and(|c| *c != '=' && !c.is_whitespace())
        {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if chars.get(i) != Some(&'=') || key.is_empty() {
            return Err(malformed());
        }
        i += 1;
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        let mut value = String::new();
        if chars.get(i) == Some(&'\'') {
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(malformed()),
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        value.extend(chars.get(i + 1));
                        i += 2;
                    }
                    Some(c) => {
                        value.push(*c);
                        i += 1;
                    }
                }
            }
        } else {
            while let Some(c) = chars.get(i).filter(|c| !c.is_whitespace()) {
                value.push(*c);
                i += 1;
            }
        }
        if key == "sslmode" || key == "sslrootcert" {
            found.push((key, value));
        } else {
            kept.push(chars[start..i].iter().collect());
        }
    }
    Ok((kept.join(" "), found))
}

/// Accepts any certificate (`prefer`, `require`: encrypted, not authenticated), but still
/// checks that the server holds its key.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name is not checked. The
/// WebPKI verifier checks the chain before the name, so a name mismatch means the chain
/// verified.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Makes a TLS connector per connection, for the host it connects to.
#[derive(Clone)]
pub(crate) struct RustlsConnect(Arc<ClientConfig>);

impl fmt::Debug for RustlsConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RustlsConnect").finish_non_exhaustive()
    }
}

impl<S> MakeTlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnector;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnector, io::Error> {
        // A Unix socket has no host name (and PostgreSQL offers no TLS on one): the name
        // is only needed if a handshake starts.
        Ok(RustlsConnector {
            config: self.0.clone(),
            server_name: ServerName::try_from(domain.to_owned()).ok(),
        })
    }
}

/// Connects one stream.
pub(crate) struct RustlsConnector {
    config: Arc<ClientConfig>,
    server_name: Option<ServerName<'static>>,
}

impl<S> TlsConnect<S> for RustlsConnector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let name = self.server_name.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the database host is not a valid TLS server name",
                )
            })?;
            let stream = tokio_rustls::TlsConnector::from(self.config)
                .connect(name, stream)
                .await?;
            Ok(RustlsStream(Box::new(stream)))
        })
    }
}

/// A TLS stream to the database.
pub(crate) struct RustlsStream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    /// `tls-server-end-point` (RFC 5929), so that SCRAM authentication is bound to this
    /// TLS session: a relay that terminated TLS cannot replay it, verified certificate or
    /// not.
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.0.get_ref();
        session
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|cert| server_end_point(cert.as_ref()))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
    }
}

/// The certificate's hash under its signature's hash function (SHA-256 for MD5 and
/// SHA-1), as RFC 5929 defines `tls-server-end-point`; `None` for an algorithm without a
/// single hash (RSA-PSS, Ed25519), which leaves SCRAM unbound as libpq does.
fn server_end_point(cert: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
    let (_, certificate, _) = der(cert, 0x30)?;
    let (_, _, rest) = der(certificate, 0x30)?;
    let (_, algorithm, _) = der(rest, 0x30)?;
    let (_, oid, _) = der(algorithm, 0x06)?;
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    let bits = match oid {
        [prefix @ .., last] if prefix == RSA => match last {
            0x04 | 0x05 | 0x0b | 0x0e => 256, // MD5, SHA-1, SHA-256, SHA-224
            0x0c => 384,
            0x0d => 512,
            _ => return None,
        },
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01] => 256, // ecdsa-with-SHA1
        [prefix @ .., last] if prefix == ECDSA => match last {
            0x01 | 0x02 => 256,
            0x03 => 384,
            0x04 => 512,
            _ => return None,
        },
        _ => return None,
    };
    Some(match bits {
        256 => sha2::Sha256::digest(cert).to_vec(),
        384 => sha2::Sha384::digest(cert).to_vec(),
        _ => sha2::Sha512::digest(cert).to_vec(),
    })
}

/// One DER element of type `tag` at the start of `input`: its tag, content and what follows.
fn der(input: &[u8], tag: u8) -> Option<(u8, &[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = if len < 0x80 {
        (usize::from(len), rest)
    } else {
        let n = usize::from(len & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        (
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            rest,
        )
    };
    if rest.len() < len {
        return None;
    }
    let (content, rest) = rest.split_at(len);
    Some((first, content, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(url: &str) -> Result<(String, TlsSettings), LocalError> {
        TlsSettings::take_from_url(url, |_| None)
    }

    #[test]
    fn the_server_end_point_hash_follows_the_signature_algorithm() {
        // A skeleton certificate: SEQUENCE { SEQUENCE {}, SEQUENCE { OID }, BIT STRING }.
        let cert = |oid: &[u8]| {
            let mut alg = vec![0x06, oid.len() as u8];
            alg.extend_from_slice(oid);
            let mut body = vec![0x30, 0x00, 0x30, alg.len() as u8];
            body.extend_from_slice(&alg);
            body.extend_from_slice(&[0x03, 0x01, 0x00]);
            let mut der = vec![0x30, body.len() as u8];
            der.extend_from_slice(&body);
            der
        };
        let rsa = |last: u8| cert(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, last]);
        let ecdsa = |last: u8| cert(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, last]);
        let len = |der: Vec<u8>| server_end_point(&der).map(|h| h.len());
        assert_eq!(len(rsa(0x0b)), Some(32));
        assert_eq!(len(rsa(0x05)), Some(32)); // SHA-1 is raised to SHA-256
        assert_eq!(len(rsa(0x0c)), Some(48));
        assert_eq!(len(ecdsa(0x04)), Some(64));
        assert_eq!(len(rsa(0x0a)), None); // RSA-PSS: no single hash
        assert_eq!(len(vec![0x30, 0x05, 0x30]), None);
    }

    #[test]
    fn tls_settings_are_taken_out_of_both_url_forms() {
        let (rest, s) = take("postgres://u:p@db:5432/x?sslmode=verify-full&application_name=a&sslrootcert=%2Fetc%2Fca.pem").unwrap();
        assert_eq!(rest, "postgres://u:p@db:5432/x?application_name=a");
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.roots, Some(RootCerts::File("/etc/ca.pem".into())));

        let (rest, s) =
            take("host=db user=u sslrootcert='/my ca.pem' sslmode = require dbname=x").unwrap();
        assert_eq!(rest, "host=db user=u dbname=x");
        // `require` with a root certificate verifies the chain, as in libpq.
        assert_eq!(s.mode, SslMode::VerifyCa);
        assert_eq!(s.roots, Some(RootCerts::File("/my ca.pem".into())));

        let (rest, s) = take("postgres://u@db/x").unwrap();
        assert_eq!(
            (rest.as_str(), s.mode, s.roots),
            ("postgres://u@db/x", SslMode::Prefer, None)
        );
    }

    #[test]
    fn the_environment_fills_what_the_url_leaves_out_and_bad_modes_are_refused() {
        let env = |k: &str| match k {
            "PGSSLMODE" => Some("verify-ca".to_owned()),
            "PGSSLROOTCERT" => Some("/ca.pem".to_owned()),
            _ => None,
        };
        let (_, s) = TlsSettings::take_from_url("postgres://db/x", env).unwrap();
        assert_eq!(
            (s.mode, s.roots),
            (SslMode::VerifyCa, Some(RootCerts::File("/ca.pem".into())))
        );
        let (_, s) = TlsSettings::take_from_url("postgres://db/x?sslmode=disable", env).unwrap();
        assert_eq!(s.mode, SslMode::Disable);

        assert!(take("postgres://db/x?sslmode=verify_full").is_err());
        assert!(take("postgres://db/x?sslrootcert=system&sslmode=require").is_err());
        let (_, s) = take("postgres://db/x?sslrootcert=system").unwrap();
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert!(take("host=db sslmode='require").is_err());
    }
}

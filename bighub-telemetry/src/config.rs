//! Where traces go, read from the standard OpenTelemetry environment variables.
//!
//! This module owns the reading and its rules (which variable wins, what switches export
//! off, which protocols are accepted); it builds nothing. Headers
//! (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TRACES_HEADERS`) and timeouts are read
//! by the OTLP exporter itself, URL-decoded, when it is built.

use crate::TelemetryError;

/// `OTEL_SDK_DISABLED`: `true` switches every signal off.
pub(crate) const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
/// `OTEL_TRACES_EXPORTER`: `otlp` (the default) or `none`.
pub(crate) const TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
/// The traces endpoint, used as given.
pub(crate) const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// The base endpoint of every signal; traces go to `{base}/v1/traces`.
pub(crate) const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The traces protocol, ahead of [`PROTOCOL`].
pub(crate) const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
/// The protocol of every signal.
pub(crate) const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// The `service.name` resource attribute.
pub(crate) const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";

/// The default OTLP/HTTP endpoint, used only when `OTEL_TRACES_EXPORTER=otlp` is set
/// without an endpoint.
const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// Where traces are exported, as the environment configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvConfig {
    /// The full URL spans are POSTed to.
    pub(crate) endpoint: String,
    /// `OTEL_SERVICE_NAME`, when set.
    pub(crate) service_name: Option<String>,
}

impl EnvConfig {
    /// Reads the configuration through `var`; `None` when traces are not to be exported:
    /// the SDK is disabled, the exporter is `none`, or nothing names an endpoint (and
    /// `OTEL_TRACES_EXPORTER` does not ask for OTLP explicitly).
    pub(crate) fn read(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, TelemetryError> {
        let var = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if var(SDK_DISABLED).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        let exporter = var(TRACES_EXPORTER);
        let explicit_otlp = match exporter.as_deref() {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("none") => return Ok(None),
            Some(v) if v.eq_ignore_ascii_case("otlp") => true,
            Some(other) => return Err(TelemetryError::UnsupportedExporter(other.to_owned())),
        };
        let endpoint = match (var(TRACES_ENDPOINT), var(ENDPOINT)) {
            (Some(traces), _) => traces,
            (None, Some(base)) => traces_url(&base),
            (None, None) if explicit_otlp => traces_url(DEFAULT_ENDPOINT),
            (None, None) => return Ok(None),
        };
        check_endpoint(&endpoint)?;
        let (variable, protocol) = match (var(TRACES_PROTOCOL), var(PROTOCOL)) {
            (Some(p), _) => (TRACES_PROTOCOL, Some(p)),
            (None, Some(p)) => (PROTOCOL, Some(p)),
            (None, None) => (PROTOCOL, None),
        };
        if let Some(protocol) = protocol
            && protocol != "http/protobuf"
        {
            return Err(TelemetryError::UnsupportedProtocol { protocol, variable });
        }
        Ok(Some(Self {
            endpoint,
            service_name: var(SERVICE_NAME),
        }))
    }
}

/// `{base}/v1/traces`, as the specification builds a signal's URL from the base endpoint.
fn traces_url(base: &str) -> String {
    format!("{}/v1/traces", base.trim_end_matches('/'))
}

/// `endpoint` with any `user:password@` replaced by `***@`, for messages and `Debug`.
pub(crate) fn redacted(endpoint: &str) -> String {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return endpoint.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => endpoint.to_owned(),
    }
}

/// Only `http://` and `https://` URLs with a host.
pub(crate) fn check_endpoint(endpoint: &str) -> Result<(), TelemetryError> {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => Err(TelemetryError::InvalidEndpoint {
            endpoint: redacted(endpoint),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<EnvConfig>, TelemetryError> {
        EnvConfig::read(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn nothing_configured_exports_nothing() {
        assert_eq!(read(&[]).unwrap(), None);
        assert_eq!(read(&[(SERVICE_NAME, "agent")]).unwrap(), None);
        assert_eq!(read(&[(PROTOCOL, "grpc")]).unwrap(), None);
    }

    #[test]
    fn the_base_endpoint_gets_the_traces_path_and_the_traces_endpoint_is_used_as_given() {
        let c = read(&[(ENDPOINT, "http://collector:4318/")])
            .unwrap()
            .unwrap();
        assert_eq!(c.endpoint, "http://collector:4318/v1/traces");
        let c = read(&[
            (ENDPOINT, "http://collector:4318"),
            (TRACES_ENDPOINT, "https://traces.example.com/otlp"),
            (SERVICE_NAME, "ops-agent"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.endpoint, "https://traces.example.com/otlp");
        assert_eq!(c.service_name.as_deref(), Some("ops-agent"));
    }

    #[test]
    fn disabled_or_none_switches_export_off() {
        let on = [(ENDPOINT, "http://collector:4318")];
        assert!(read(&on).unwrap().is_some());
        assert_eq!(read(&[on[0], (SDK_DISABLED, "true")]).unwrap(), None);
        assert_eq!(read(&[on[0], (SDK_DISABLED, "TRUE")]).unwrap(), None);
        assert!(read(&[on[0], (SDK_DISABLED, "false")]).unwrap().is_some());
        assert_eq!(read(&[on[0], (TRACES_EXPORTER, "none")]).unwrap(), None);
    }

    #[test]
    fn an_explicit_otlp_exporter_uses_the_default_endpoint() {
        let c = read(&[(TRACES_EXPORTER, "otlp")]).unwrap().unwrap();
        assert_eq!(c.endpoint, "http://localhost:4318/v1/traces");
    }

    #[test]
    fn grpc_json_and_other_exporters_are_typed_errors() {
        let on = (ENDPOINT, "http://collector:4318");
        assert!(matches!(
            read(&[on, (PROTOCOL, "grpc")]),
            Err(TelemetryError::UnsupportedProtocol {
                variable: PROTOCOL,
                ..
            })
        ));
        assert!(matches!(
            read(&[on, (PROTOCOL, "grpc"), (TRACES_PROTOCOL, "http/json")]),
            Err(TelemetryError::UnsupportedProtocol {
                variable: TRACES_PROTOCOL,
                ..
            })
        ));
        assert!(read(&[on, (PROTOCOL, "grpc"), (TRACES_PROTOCOL, "http/protobuf")]).is_ok());
        assert!(matches!(
            read(&[on, (TRACES_EXPORTER, "zipkin")]),
            Err(TelemetryError::UnsupportedExporter(_))
        ));
    }

    #[test]
    fn credentials_in_an_endpoint_are_never_shown() {
        assert_eq!(
            redacted("https://user:s3cret@otlp.example.com/v1/traces?x=@"),
            "https://***@otlp.example.com/v1/traces?x=@"
        );
        assert_eq!(
            redacted("http://127.0.0.1:4318/v1/traces"),
            "http://127.0.0.1:4318/v1/traces"
        );
        let Err(error) = read(&[(TRACES_ENDPOINT, "ftp://user:s3cret@host")]) else {
            panic!("an ftp endpoint is refused");
        };
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[test]
    fn an_endpoint_that_is_not_an_http_url_is_refused() {
        for bad in ["collector:4318", "ftp://collector", "http://", "http:///v1"] {
            assert!(
                matches!(
                    read(&[(TRACES_ENDPOINT, bad)]),
                    Err(TelemetryError::InvalidEndpoint { .. })
                ),
                "{bad}"
            );
        }
    }
}

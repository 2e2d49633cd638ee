//! With none of the OpenTelemetry variables set, `init_from_env` installs the log
//! formatter alone: no exporter, no OpenTelemetry layer. Its own binary: it installs the
//! process's global subscriber.

const VARIABLES: [&str; 7] = [
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_SERVICE_NAME",
];

#[test]
fn without_configuration_nothing_is_exported_and_logging_is_installed() {
    for name in VARIABLES {
        // SAFETY: this binary's only test, before it starts any thread that reads the
        // environment.
        unsafe { std::env::remove_var(name) };
    }
    assert!(bighub_telemetry::OtlpTraces::from_env().unwrap().is_none());
    let guard = bighub_telemetry::init_from_env().unwrap();
    assert!(!guard.is_exporting());
    assert!(guard.traces().is_none());
    // The formatter is the global subscriber now: a second one is refused.
    assert!(tracing::dispatcher::has_been_set());
    assert!(matches!(
        bighub_telemetry::init_from_env(),
        Err(bighub_telemetry::TelemetryError::AlreadyInstalled)
    ));
}

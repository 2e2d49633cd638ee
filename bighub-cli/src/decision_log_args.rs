//! `bighub serve`'s decision-log flags, and the sink they describe.
//!
//! This module owns the `--decision-log-*` flags and their reading into a
//! [`DecisionLogs`] sink: a file or an endpoint, headers (whose values are never
//! printed), drop rules, masks, labels and limits. Starting the engine and the server with
//! it is `serve.rs`'s.

use std::path::PathBuf;

use bighub_local::decision_logs::{DecisionLogConfig, DecisionLogs};
use clap::Args;

/// The decision-log flags of `bighub serve`.
#[derive(Debug, Args)]
pub(crate) struct DecisionLogArgs {
    /// Append one JSON record per decision to PATH (JSON lines: decision_id, path, input,
    /// result, policy_revision, timestamp, labels, masked).
    #[arg(long, value_name = "PATH", conflicts_with = "decision_log_url")]
    decision_log_file: Option<PathBuf>,
    /// POST the decision records to URL in batches of JSON lines: https://, or http:// to
    /// this machine. Failed batches are retried; /metrics counts
    /// bighub_decision_log_records_total{result="sent|dropped_overflow|dropped_rule|..."}.
    #[arg(long, value_name = "URL")]
    decision_log_url: Option<String>,
    /// A header sent with every batch, e.g. 'Authorization=Bearer TOKEN' (repeatable);
    /// its value is never printed.
    #[arg(long = "decision-log-header", value_name = "NAME=VALUE")]
    headers: Vec<String>,
    /// Log no decision of MODE, e.g. autonomous (repeatable).
    #[arg(long = "decision-log-drop-mode", value_name = "MODE")]
    drop_modes: Vec<String>,
    /// Log no decision about a tool whose name matches GLOB (`*` matches any run of
    /// characters; repeatable).
    #[arg(long = "decision-log-drop-tool", value_name = "GLOB")]
    drop_tools: Vec<String>,
    /// Replace the value at this JSON pointer of every record with `[MASKED]`, e.g.
    /// /input/action/arguments/email (repeatable). Arguments a tool marks secret are
    /// already `[REDACTED]`.
    #[arg(long = "decision-log-mask", value_name = "POINTER")]
    masks: Vec<String>,
    /// A label every record carries, besides app, version and id (repeatable).
    #[arg(long = "decision-log-label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    /// The most records in one write or request.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    decision_log_batch_size: u64,
    /// How many records may wait to be sent; when full, records are dropped (and
    /// counted), decisions never wait.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    decision_log_queue: u64,
}

impl DecisionLogArgs {
    /// The sink these flags describe, started; `None` without a file or a URL.
    pub(crate) fn start(&self) -> Result<Option<DecisionLogs>, String> {
        let Some(config) = self.config()? else {
            return Ok(None);
        };
        DecisionLogs::new(config)
            .map(Some)
            .map_err(|e| e.to_string())
    }

    /// The configuration these flags describe.
    fn config(&self) -> Result<Option<DecisionLogConfig>, String> {
        let mut config = match (&self.decision_log_file, &self.decision_log_url) {
            (Some(path), _) => DecisionLogConfig::file(path),
            (None, Some(url)) => DecisionLogConfig::http(url).map_err(|e| e.to_string())?,
            (None, None) => {
                let given = !self.headers.is_empty()
                    || !self.drop_modes.is_empty()
                    || !self.drop_tools.is_empty()
                    || !self.masks.is_empty()
                    || !self.labels.is_empty();
                if given {
                    return Err(
                        "the --decision-log-* options need --decision-log-file or --decision-log-url"
                            .to_owned(),
                    );
                }
                return Ok(None);
            }
        };
        for entry in &self.headers {
            // Only the name is ever shown: the value is a credential.
            let Some((name, value)) = entry.split_once('=') else {
                return Err(
                    "--decision-log-header takes NAME=VALUE, e.g. 'Authorization=Bearer TOKEN'"
                        .to_owned(),
                );
            };
            config = config.header(name, value).map_err(|e| e.to_string())?;
        }
        for mode in &self.drop_modes {
            config = config.drop_mode(mode).map_err(|e| e.to_string())?;
        }
        for glob in &self.drop_tools {
            config = config.drop_tool(glob).map_err(|e| e.to_string())?;
        }
        for pointer in &self.masks {
            config = config.mask(pointer).map_err(|e| e.to_string())?;
        }
        for entry in &self.labels {
            let Some((key, value)) = entry.split_once('=').filter(|(k, _)| !k.trim().is_empty())
            else {
                return Err(format!(
                    "--decision-log-label `{}`: use KEY=VALUE",
                    entry.escape_debug()
                ));
            };
            config = config.label(key.trim(), value.trim());
        }
        config.batch_size = usize::try_from(self.decision_log_batch_size).unwrap_or(usize::MAX);
        config.queue_capacity = usize::try_from(self.decision_log_queue).unwrap_or(usize::MAX);
        Ok(Some(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        logs: DecisionLogArgs,
    }

    fn parse(args: &[&str]) -> Result<Option<DecisionLogConfig>, String> {
        let cli = Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.logs.config()
    }

    #[test]
    fn flags_build_the_sink_and_never_show_a_header_value() {
        let config = parse(&[
            "--decision-log-url",
            "https://logs.example.com/v1?tenant=t",
            "--decision-log-header",
            "Authorization=Bearer s3cr3t-flag-token",
            "--decision-log-drop-mode",
            "autonomous",
            "--decision-log-mask",
            "/input/action/arguments/email",
            "--decision-log-label",
            "region=eu",
            "--decision-log-batch-size",
            "7",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(config.batch_size, 7);
        assert_eq!(config.destination(), "https://logs.example.com/v1");
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("s3cr3t") && shown.contains("region"),
            "{shown}"
        );
    }

    #[test]
    fn bad_flags_are_refused_without_echoing_a_header_value() {
        assert!(parse(&[]).unwrap().is_none());
        assert!(parse(&["--decision-log-mask", "/input/x"]).is_err());
        assert!(
            parse(&[
                "--decision-log-file",
                "a",
                "--decision-log-url",
                "https://x.example.com"
            ])
            .is_err()
        );
        assert!(parse(&["--decision-log-url", "http://logs.example.com/"]).is_err());
        assert!(
            parse(&[
                "--decision-log-file",
                "a",
                "--decision-log-drop-mode",
                "autonomus"
            ])
            .is_err()
        );
        let err = parse(&[
            "--decision-log-url",
            "https://logs.example.com/",
            "--decision-log-header",
            "Authorization: Bearer s3cr3t-flag-token",
        ])
        .unwrap_err();
        assert!(!err.contains("s3cr3t"), "{err}");
        let err = parse(&[
            "--decision-log-url",
            "https://logs.example.com/",
            "--decision-log-header",
            "Authorization=Bearer s3cr3t\u{7f}",
        ])
        .unwrap_err();
        assert!(!err.contains("s3cr3t"), "{err}");
    }
}

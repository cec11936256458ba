//! Errors returned while configuring telemetry.

use thiserror::Error;

/// Everything that can go wrong while parsing telemetry settings or installing the pipeline.
#[derive(Debug, Error)]
pub enum TelemetryError {
    /// A log format string was not one of the supported names.
    #[error("invalid log format `{given}`: expected one of `pretty`, `compact` or `json`")]
    InvalidLogFormat {
        /// The string that was given, as given.
        given: String,
    },

    /// The filter directives (from `RUST_LOG` or the settings) could not be parsed.
    #[error("invalid log filter `{directives}` (from {origin}): {source}")]
    InvalidFilter {
        /// The directives that failed to parse.
        directives: String,
        /// Where the directives came from, e.g. `RUST_LOG`.
        origin: &'static str,
        /// The parser's complaint.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },

    /// OTLP export over gRPC was requested outside a Tokio runtime.
    #[error(
        "OTLP export to `{endpoint}` needs a Tokio runtime: call kenduren_telemetry::init() \
         from inside one (e.g. in `#[tokio::main]`)"
    )]
    NoTokioRuntime {
        /// The endpoint, or the variable naming it, that asked for export.
        endpoint: String,
    },

    /// The OTLP span exporter could not be built (bad endpoint, protocol or header settings).
    #[error("cannot build the OTLP span exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

//! Log settings: output format, filter directives and the OTLP endpoint.

use std::fmt;
use std::str::FromStr;

use tracing_subscriber::filter::Directive;
use tracing_subscriber::EnvFilter;

use crate::TelemetryError;

/// Filter used when neither `RUST_LOG` nor [`LogSettings::filter`] says otherwise:
/// `info` for everything (Kenduren's crates included) with the chatty transport,
/// database and exporter crates turned down to `warn`.
pub const DEFAULT_FILTER: &str = "info,kenduren=info,h2=warn,hyper=warn,hyper_util=warn,\
tower=warn,tower_http=warn,tonic=warn,sqlx=warn,async_nats=warn,opentelemetry=warn,\
opentelemetry_sdk=warn,opentelemetry-otlp=warn";

/// Target of the spans this crate creates (gRPC server spans, NATS spans). It is always
/// enabled at `info` so a restrictive `RUST_LOG` cannot break trace propagation.
pub(crate) const OWN_TARGET: &str = "kenduren_telemetry";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogFormat {
    /// Multi-line, human-oriented output with span context on separate lines.
    Pretty,
    /// One human-readable line per event (the default).
    #[default]
    Compact,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    /// All formats, in the order they are documented.
    pub const ALL: [LogFormat; 3] = [LogFormat::Pretty, LogFormat::Compact, LogFormat::Json];

    /// The lower-case name accepted by [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Pretty => "pretty",
            LogFormat::Compact => "compact",
            LogFormat::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogFormat {
    type Err = TelemetryError;

    /// Parses `pretty`, `compact` or `json`, ignoring case and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        LogFormat::ALL
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| TelemetryError::InvalidLogFormat { given: s.to_owned() })
    }
}

/// What [`crate::init`] installs besides the propagator and tracer provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSettings {
    /// Output format of the log lines.
    pub format: LogFormat,
    /// Filter directives used when `RUST_LOG` is unset or empty; `None` means [`DEFAULT_FILTER`].
    pub filter: Option<String>,
    /// OTLP gRPC endpoint to export spans to. `None` leaves the choice to
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`; when neither is
    /// set (or both are empty) spans are not exported.
    pub otlp_endpoint: Option<String>,
}

impl LogSettings {
    /// Settings with the given format, the default filter and export decided by the environment.
    pub fn new(format: LogFormat) -> Self {
        LogSettings {
            format,
            ..LogSettings::default()
        }
    }

    /// Sets the filter directives used when `RUST_LOG` is not set.
    pub fn with_filter(mut self, directives: impl Into<String>) -> Self {
        self.filter = Some(directives.into());
        self
    }

    /// Exports spans to this OTLP gRPC endpoint, whatever the environment says.
    pub fn with_otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp_endpoint = Some(endpoint.into());
        self
    }

    /// The endpoint spans will be exported to, if any: the explicit setting first, then
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, then `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn resolved_otlp_endpoint(&self) -> Option<String> {
        self.otlp_endpoint
            .clone()
            .filter(|endpoint| !endpoint.trim().is_empty())
            .or_else(|| non_empty_env(opentelemetry_otlp::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT))
            .or_else(|| non_empty_env(opentelemetry_otlp::OTEL_EXPORTER_OTLP_ENDPOINT))
    }

    /// Builds the filter: `RUST_LOG` if set, else [`LogSettings::filter`], else
    /// [`DEFAULT_FILTER`]. This crate's own spans stay enabled at `info` unless the
    /// directives mention `kenduren_telemetry` themselves.
    pub fn env_filter(&self) -> Result<EnvFilter, TelemetryError> {
        let (directives, origin) = match non_empty_env(EnvFilter::DEFAULT_ENV) {
            Some(from_env) => (from_env, "RUST_LOG"),
            None => match &self.filter {
                Some(given) => (given.clone(), "the log settings"),
                None => (DEFAULT_FILTER.to_owned(), "the default filter"),
            },
        };
        parse_filter(&directives, origin)
    }
}

/// Parses filter directives, keeping this crate's spans enabled (see [`LogSettings::env_filter`]).
pub(crate) fn parse_filter(directives: &str, origin: &'static str) -> Result<EnvFilter, TelemetryError> {
    let filter = EnvFilter::builder()
        .parse(directives)
        .map_err(|source| TelemetryError::InvalidFilter {
            directives: directives.to_owned(),
            origin,
            source,
        })?;
    if directives.contains(OWN_TARGET) {
        return Ok(filter);
    }
    let own: Directive =
        format!("{OWN_TARGET}=info")
            .parse()
            .map_err(|source| TelemetryError::InvalidFilter {
                directives: format!("{OWN_TARGET}=info"),
                origin: "kenduren-telemetry",
                source,
            })?;
    Ok(filter.add_directive(own))
}

/// The value of an environment variable, unless it is unset, empty or not Unicode.
pub(crate) fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_formats_ignoring_case_and_whitespace() {
        assert_eq!("pretty".parse::<LogFormat>().ok(), Some(LogFormat::Pretty));
        assert_eq!(" Compact ".parse::<LogFormat>().ok(), Some(LogFormat::Compact));
        assert_eq!("JSON".parse::<LogFormat>().ok(), Some(LogFormat::Json));
        for format in LogFormat::ALL {
            assert_eq!(format.to_string().parse::<LogFormat>().ok(), Some(format));
        }
    }

    #[test]
    fn bad_format_error_names_the_input_and_the_choices() {
        let err = match "yaml".parse::<LogFormat>() {
            Ok(format) => panic!("`yaml` parsed as {format:?}"),
            Err(err) => err,
        };
        assert_eq!(
            err.to_string(),
            "invalid log format `yaml`: expected one of `pretty`, `compact` or `json`"
        );
        assert!(matches!(
            "".parse::<LogFormat>(),
            Err(TelemetryError::InvalidLogFormat { .. })
        ));
    }

    #[test]
    fn default_filter_parses() {
        let filter = parse_filter(DEFAULT_FILTER, "the default filter");
        assert!(filter.is_ok(), "{filter:?}");
    }

    #[test]
    fn bad_filter_error_names_the_directives() {
        let err = match parse_filter("info,foo=notalevel", "RUST_LOG") {
            Ok(filter) => panic!("bad directives parsed as {filter}"),
            Err(err) => err,
        };
        let text = err.to_string();
        assert!(text.contains("foo=notalevel"), "{text}");
        assert!(text.contains("RUST_LOG"), "{text}");
    }

    #[test]
    fn own_spans_stay_enabled_under_a_quiet_filter() {
        let filter = parse_filter("warn", "test").map(|f| f.to_string());
        let text = filter.unwrap_or_default();
        assert!(text.contains("kenduren_telemetry=info"), "{text}");
        let untouched = parse_filter("warn,kenduren_telemetry=error", "test").map(|f| f.to_string());
        assert!(!untouched.unwrap_or_default().contains("kenduren_telemetry=info"));
    }

    #[test]
    fn explicit_endpoint_wins() {
        let settings = LogSettings::new(LogFormat::Json).with_otlp_endpoint("http://127.0.0.1:4317");
        assert_eq!(
            settings.resolved_otlp_endpoint().as_deref(),
            Some("http://127.0.0.1:4317")
        );
    }
}

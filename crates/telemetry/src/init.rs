//! Installing the process-wide pipeline: subscriber, tracer provider and propagator.
//!
//! The pipeline is global and installed at most once per process. The first successful
//! [`init`] returns the *owning* [`TelemetryGuard`]; later calls (other services in the same
//! process, other tests) get an inert guard and share the first pipeline.

use std::io::IsTerminal;
use std::sync::{Mutex, OnceLock};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layered, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::settings::non_empty_env;
use crate::{LogFormat, LogSettings, TelemetryError};

/// Instrumentation scope name of the tracer behind every tracing span.
const TRACER_NAME: &str = "kenduren";

/// The installed pipeline; set once, never torn down while the process lives.
pub(crate) struct Pipeline {
    provider: SdkTracerProvider,
    #[cfg(feature = "testing")]
    pub(crate) tap: crate::testing::Tap,
}

static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
static INSTALL_LOCK: Mutex<()> = Mutex::new(());

type Base = Layered<EnvFilter, Registry>;
type BoxedLayer = Box<dyn Layer<Base> + Send + Sync>;

/// Keeps the telemetry pipeline alive; dropping the owning guard flushes and shuts down the
/// tracer provider (after which spans get no trace ids and nothing is exported).
///
/// Only the guard from the first successful [`init`] owns the pipeline; keep it in `main`
/// until the services have stopped. Guards from later calls do nothing on drop.
#[must_use = "dropping the guard shuts the telemetry pipeline down"]
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    fn inert() -> Self {
        TelemetryGuard { provider: None }
    }

    /// Whether this guard owns the pipeline (i.e. came from the first successful [`init`]).
    pub fn is_owner(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports finished spans now, without shutting down. A no-op for inert guards.
    pub fn flush(&self) {
        if let Some(provider) = &self.provider {
            if let Err(err) = provider.force_flush() {
                tracing::warn!(error = %err, "flushing spans failed");
            }
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(err) = provider.force_flush() {
                tracing::warn!(error = %err, "flushing spans at shutdown failed");
            }
            if let Err(err) = provider.shutdown() {
                tracing::warn!(error = %err, "shutting the tracer provider down failed");
            }
        }
    }
}

/// Installs logging and tracing for this process.
///
/// * an [`EnvFilter`] from `RUST_LOG`, else [`LogSettings::filter`], else
///   [`DEFAULT_FILTER`](crate::DEFAULT_FILTER);
/// * a fmt layer writing `settings.format` to stdout;
/// * an SDK tracer provider behind `tracing-opentelemetry`, so every span has a real trace
///   id, with a `service.name` resource (`OTEL_SERVICE_NAME` wins over `service_name`);
/// * an OTLP/gRPC batch exporter, only when an endpoint is configured (see
///   [`LogSettings::resolved_otlp_endpoint`]); this needs a Tokio runtime, and the guard
///   should be dropped while a multi-threaded runtime is still running;
/// * W3C Trace Context as the global text-map propagator.
///
/// Idempotent: once a pipeline is installed, further calls return an inert guard and change
/// nothing. If some other global subscriber was installed first, the propagator is still
/// set, nothing else is, and an inert guard is returned.
pub fn init(service_name: &str, settings: &LogSettings) -> Result<TelemetryGuard, TelemetryError> {
    let _lock = INSTALL_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if PIPELINE.get().is_some() {
        return Ok(TelemetryGuard::inert());
    }
    let filter = settings.env_filter()?;
    let fmt = fmt_layer(settings.format, std::io::stdout);
    let otlp_endpoint = settings.resolved_otlp_endpoint();
    let pipeline = build_pipeline(service_name, otlp_endpoint)?;
    match install(pipeline, filter, fmt) {
        Some(provider) => Ok(TelemetryGuard {
            provider: Some(provider),
        }),
        None => Ok(TelemetryGuard::inert()),
    }
}

/// The installed pipeline, installing a test one (test writer, no export, never shut down)
/// when there is none. `None` when a foreign global subscriber prevents installing.
#[cfg(feature = "testing")]
pub(crate) fn pipeline_for_tests() -> Option<&'static Pipeline> {
    let _lock = INSTALL_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(pipeline) = PIPELINE.get() {
        return Some(pipeline);
    }
    let filter = LogSettings::default()
        .env_filter()
        .or_else(|_| crate::settings::parse_filter(crate::DEFAULT_FILTER, "the default filter"))
        .ok()?;
    let fmt = fmt_layer(LogFormat::Compact, tracing_subscriber::fmt::TestWriter::new);
    let pipeline = build_pipeline("kenduren-test", None).ok()?;
    // The provider stays referenced from `PIPELINE` forever: tests never shut it down.
    install(pipeline, filter, fmt)?;
    PIPELINE.get()
}

/// Sets the global subscriber, propagator and provider. Returns the provider when this call
/// installed the pipeline, `None` when a foreign subscriber was already there.
/// Callers hold `INSTALL_LOCK`.
fn install(pipeline: Pipeline, filter: EnvFilter, fmt: BoxedLayer) -> Option<SdkTracerProvider> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = pipeline.provider.clone();
    let otel: BoxedLayer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(TRACER_NAME))
        .boxed();
    let layers: Vec<BoxedLayer> = vec![fmt, otel];
    if let Err(err) = tracing_subscriber::registry()
        .with(filter)
        .with(layers)
        .try_init()
    {
        // Someone else owns the global subscriber; our provider would never see a span.
        let _ = provider.shutdown();
        tracing::warn!(error = %err, "a global tracing subscriber is already installed; kenduren telemetry left it in place");
        return None;
    }
    opentelemetry::global::set_tracer_provider(provider.clone());
    // Cannot fail: PIPELINE is only set here, under INSTALL_LOCK, after checking it is empty.
    let _ = PIPELINE.set(pipeline);
    Some(provider)
}

fn build_pipeline(service_name: &str, otlp_endpoint: Option<String>) -> Result<Pipeline, TelemetryError> {
    let service_name = non_empty_env("OTEL_SERVICE_NAME").unwrap_or_else(|| service_name.to_owned());
    let resource = Resource::builder().with_service_name(service_name).build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = otlp_endpoint {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TelemetryError::NoTokioRuntime { endpoint });
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()?;
        builder = builder.with_batch_exporter(exporter);
    }
    #[cfg(feature = "testing")]
    let tap = crate::testing::Tap::default();
    #[cfg(feature = "testing")]
    {
        builder = builder.with_span_processor(tap.clone());
    }
    Ok(Pipeline {
        provider: builder.build(),
        #[cfg(feature = "testing")]
        tap,
    })
}

fn fmt_layer<W>(format: LogFormat, writer: W) -> BoxedLayer
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let ansi = std::io::stdout().is_terminal() && non_empty_env("NO_COLOR").is_none();
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Pretty => layer.pretty().with_ansi(ansi).boxed(),
        LogFormat::Compact => layer.compact().with_ansi(ansi).boxed(),
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    }
}

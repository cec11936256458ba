//! Tracing, OpenTelemetry export and W3C context propagation over gRPC and NATS.
//!
//! * [`init`] installs logging (filter + pretty/compact/JSON output), an OpenTelemetry
//!   tracer provider behind `tracing` (OTLP/gRPC export only when an endpoint is
//!   configured) and the W3C Trace Context propagator. It is idempotent per process.
//! * [`TracingInterceptor`] sends the current trace context with every tonic client call;
//!   [`grpc_server_span`] plugs into `Server::builder().trace_fn(...)` and continues it.
//! * [`nats_publish`] / [`nats_consume_span`] carry the context through NATS headers: the
//!   outbox relay publishes each event in a producer span parented on the context stored
//!   with it, and the message carries that span's `traceparent`.
//! * With the `testing` feature, [`install_in_memory_exporter`] captures finished spans.
//!
//! ```ignore
//! // main
//! let _telemetry = kenduren_telemetry::init("intake", &LogSettings::new(LogFormat::Json))?;
//! // tonic server
//! Server::builder().trace_fn(kenduren_telemetry::grpc_server_span).add_service(svc).serve(addr).await?;
//! // tonic client
//! let client = RoutingClient::with_interceptor(channel, kenduren_telemetry::TracingInterceptor);
//! // NATS publish: a producer span under the stored context; the message carries its traceparent
//! let (span, tp) = kenduren_telemetry::nats_publish(subject, &event_id, stored_traceparent);
//! if let Some(tp) = tp { headers.insert(TRACEPARENT, tp.as_str()); }
//! js.publish_with_headers(subject, headers, payload).instrument(span).await?;
//! // NATS consume
//! let traceparent = msg.headers.as_ref().and_then(|h| h.get(TRACEPARENT)).map(|v| v.as_str());
//! handle(msg).instrument(kenduren_telemetry::nats_consume_span(&msg.subject, traceparent)).await;
//! ```

mod error;
mod grpc;
mod init;
mod messaging;
mod propagation;
mod settings;
#[cfg(feature = "testing")]
mod testing;

pub use error::TelemetryError;
pub use grpc::{grpc_server_span, grpc_server_span_from_parts, parse_grpc_path, TracingInterceptor};
pub use init::{init, TelemetryGuard};
pub use messaging::{nats_consume_span, nats_publish, nats_publish_span};
/// The kind of a captured span (tests compare [`SpanData::span_kind`] against it).
#[cfg(feature = "testing")]
pub use opentelemetry::trace::SpanKind;
pub use propagation::{
    context_from_traceparent, current_context, current_trace_id, current_traceparent, extract,
    extract_from_headers, extract_from_metadata, inject_context, inject_current, inject_into_headers,
    inject_into_metadata, record_trace_id, set_parent_context, set_parent_from_traceparent, span_traceparent,
    TRACEPARENT, TRACESTATE,
};
pub use settings::{LogFormat, LogSettings, DEFAULT_FILTER};
#[cfg(feature = "testing")]
pub use testing::{install_in_memory_exporter, spans_in_trace, InMemorySpanExporter, SpanData};

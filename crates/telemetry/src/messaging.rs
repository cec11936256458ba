//! Spans for NATS publishing and consuming, following the OpenTelemetry messaging
//! conventions. The bus carries the trace context as a `traceparent` message header
//! ([`crate::TRACEPARENT`]); these helpers only build spans and never touch NATS types.

use crate::propagation::{record_trace_id, set_parent_from_traceparent};

/// Span for publishing one message to `subject` (`otel.kind = "producer"`).
///
/// Take the `traceparent` header value from inside it, so the consumer links to the send:
///
/// ```ignore
/// let span = kenduren_telemetry::nats_publish_span(subject);
/// let traceparent = span.in_scope(kenduren_telemetry::current_traceparent);
/// ```
pub fn nats_publish_span(subject: &str) -> tracing::Span {
    tracing::info_span!(
        target: "kenduren_telemetry::nats",
        "nats.publish",
        otel.name = %format_args!("send {subject}"),
        otel.kind = "producer",
        messaging.system = "nats",
        messaging.operation.type = "send",
        messaging.destination.name = %subject,
    )
}

/// Span for processing one message received on `subject` (`otel.kind = "consumer"`),
/// parented on the message's `traceparent` header when it has a valid one, and a new trace
/// otherwise (it never inherits the consumer loop's current span). Its `trace_id` field
/// holds the trace id for log correlation.
pub fn nats_consume_span(subject: &str, traceparent: Option<&str>) -> tracing::Span {
    let span = tracing::info_span!(
        target: "kenduren_telemetry::nats",
        parent: None,
        "nats.process",
        otel.name = %format_args!("process {subject}"),
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.operation.type = "process",
        messaging.destination.name = %subject,
        trace_id = tracing::field::Empty,
    );
    set_parent_from_traceparent(&span, traceparent);
    record_trace_id(&span);
    span
}

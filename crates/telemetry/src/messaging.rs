//! Spans for NATS publishing and consuming, following the OpenTelemetry messaging
//! conventions. The bus carries the trace context as a `traceparent` message header
//! ([`crate::TRACEPARENT`]); these helpers only build spans and never touch NATS types.

use crate::propagation::{record_trace_id, set_parent_from_traceparent, span_traceparent};

/// Span for publishing message `message_id` to `subject` (`otel.kind = "producer"`,
/// named `<subject> publish`), a child of the remote context in `parent` when that is a
/// valid `traceparent` (the one stored with an outbox event), and never of the caller's
/// current span: a relay publishing a batch carries each message in its own question's
/// trace. Without a valid `parent` it starts a new trace.
///
/// Send the message with the span's own `traceparent`, so the consumer links to the send;
/// [`nats_publish`] returns both.
pub fn nats_publish_span(subject: &str, message_id: &str, parent: Option<&str>) -> tracing::Span {
    let span = tracing::info_span!(
        target: "kenduren_telemetry::nats",
        parent: None,
        "nats.publish",
        otel.name = %format_args!("{subject} publish"),
        otel.kind = "producer",
        messaging.system = "nats",
        messaging.operation.type = "send",
        messaging.operation.name = "publish",
        messaging.destination.name = %subject,
        messaging.message.id = %message_id,
    );
    set_parent_from_traceparent(&span, parent);
    span
}

/// [`nats_publish_span`] and the `traceparent` the message must carry: the span's own, or
/// `parent` unchanged when the span has no OpenTelemetry context (no tracer installed,
/// or filtered out), so the trace still reaches the consumer.
pub fn nats_publish(
    subject: &str,
    message_id: &str,
    parent: Option<&str>,
) -> (tracing::Span, Option<String>) {
    let span = nats_publish_span(subject, message_id, parent);
    let traceparent = span_traceparent(&span).or_else(|| parent.map(str::to_owned));
    (span, traceparent)
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

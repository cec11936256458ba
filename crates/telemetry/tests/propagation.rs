//! Propagation through tracing spans, gRPC metadata and NATS headers, checked against the
//! in-memory exporter. No servers: requests are built by hand.

use kenduren_telemetry::{
    current_trace_id, current_traceparent, grpc_server_span, install_in_memory_exporter, nats_consume_span,
    nats_publish, set_parent_from_traceparent, span_traceparent, spans_in_trace, InMemorySpanExporter,
    LogSettings, SpanData, TracingInterceptor, TRACEPARENT,
};
use opentelemetry::trace::{SpanId, SpanKind};
use opentelemetry::Value;
use tonic::codegen::http;
use tonic::service::Interceptor;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";

fn known_traceparent() -> String {
    format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01")
}

/// A traceparent with a trace id no other test uses.
fn unique_traceparent(tag: u8) -> (String, String) {
    let trace_id = format!("{tag:02x}{}", &TRACE_ID[2..]);
    (format!("00-{trace_id}-{PARENT_SPAN_ID}-01"), trace_id)
}

fn trace_id_of(traceparent: &str) -> &str {
    traceparent.split('-').nth(1).unwrap_or_default()
}

fn exporter() -> InMemorySpanExporter {
    install_in_memory_exporter()
}

fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    match spans.iter().find(|span| span.name == name) {
        Some(span) => span,
        None => panic!("no span named {name} among {:?}", names(spans)),
    }
}

fn names(spans: &[SpanData]) -> Vec<String> {
    spans.iter().map(|span| span.name.to_string()).collect()
}

fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

#[test]
fn traceparent_round_trip_keeps_the_trace_id() {
    let exporter = exporter();
    let (traceparent, trace_id) = unique_traceparent(0x01);
    let span = tracing::info_span!("handle_call");
    assert!(set_parent_from_traceparent(&span, Some(&traceparent)));

    let inside = span.in_scope(current_traceparent);
    let inside = inside.unwrap_or_else(|| panic!("no traceparent inside a parented span"));
    assert_eq!(trace_id_of(&inside), trace_id);
    assert_ne!(inside, traceparent, "the child must have its own span id");
    assert_eq!(
        span.in_scope(current_trace_id).as_deref(),
        Some(trace_id.as_str())
    );
    drop(span);

    let spans = spans_in_trace(&exporter, &trace_id);
    let handled = find(&spans, "handle_call");
    assert_eq!(
        handled.parent_span_id,
        SpanId::from_hex(PARENT_SPAN_ID).unwrap_or(SpanId::INVALID)
    );
}

#[test]
fn missing_or_bad_traceparent_starts_a_new_trace() {
    let _exporter = exporter();
    for bad in [None, Some(""), Some("garbage"), Some("00-zz-yy-01")] {
        let span = tracing::info_span!("orphan");
        assert!(!set_parent_from_traceparent(&span, bad), "{bad:?} was accepted");
        let traceparent = span_traceparent(&span);
        let traceparent = traceparent.unwrap_or_else(|| panic!("span without a trace for {bad:?}"));
        assert_ne!(trace_id_of(&traceparent), TRACE_ID);
    }
}

#[test]
fn parent_cannot_be_set_after_the_span_started() {
    let _exporter = exporter();
    let span = tracing::info_span!("already_running");
    let before = span.in_scope(current_traceparent);
    assert!(!set_parent_from_traceparent(&span, Some(&known_traceparent())));
    assert_eq!(span.in_scope(current_traceparent), before);
}

#[test]
fn client_interceptor_injects_the_current_traceparent() {
    let _exporter = exporter();
    let mut interceptor = TracingInterceptor;

    let outside = interceptor.call(tonic::Request::new(()));
    let outside = outside.unwrap_or_else(|status| panic!("interceptor refused: {status}"));
    assert!(outside.metadata().get(TRACEPARENT).is_none());

    let span = tracing::info_span!("client_call");
    let (request, expected) =
        span.in_scope(|| (interceptor.call(tonic::Request::new(())), current_traceparent()));
    let request = request.unwrap_or_else(|status| panic!("interceptor refused: {status}"));
    let sent = request
        .metadata()
        .get(TRACEPARENT)
        .and_then(|value| value.to_str().ok());
    assert!(expected.is_some());
    assert_eq!(sent, expected.as_deref());
}

fn grpc_request(path: &str, traceparent: Option<&str>) -> http::Request<()> {
    let mut builder = http::Request::builder().uri(format!("http://intake.local{path}"));
    if let Some(traceparent) = traceparent {
        builder = builder.header(TRACEPARENT, traceparent);
    }
    builder
        .body(())
        .unwrap_or_else(|err| panic!("bad test request: {err}"))
}

#[test]
fn server_span_continues_the_incoming_trace_with_rpc_attributes() {
    let exporter = exporter();
    let (traceparent, trace_id) = unique_traceparent(0x02);
    let request = grpc_request("/kenduren.intake.v1.Intake/SubmitCall", Some(&traceparent));

    let span = grpc_server_span(&request);
    assert_eq!(
        span.in_scope(current_trace_id).as_deref(),
        Some(trace_id.as_str())
    );
    drop(span);

    let spans = spans_in_trace(&exporter, &trace_id);
    let server = find(&spans, "kenduren.intake.v1.Intake/SubmitCall");
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(
        server.parent_span_id,
        SpanId::from_hex(PARENT_SPAN_ID).unwrap_or(SpanId::INVALID)
    );
    assert_eq!(attribute(server, "rpc.system"), Some(Value::from("grpc")));
    assert_eq!(
        attribute(server, "rpc.service"),
        Some(Value::from("kenduren.intake.v1.Intake"))
    );
    assert_eq!(attribute(server, "rpc.method"), Some(Value::from("SubmitCall")));
}

#[test]
fn server_span_without_traceparent_is_a_new_root() {
    let _exporter = exporter();
    let ambient = tracing::info_span!("server_loop");
    let ambient_trace = ambient.in_scope(current_trace_id);
    let server = ambient.in_scope(|| grpc_server_span(&grpc_request("/svc.Svc/Call", None)));
    let server_trace = server.in_scope(current_trace_id);
    assert!(server_trace.is_some());
    assert_ne!(server_trace, ambient_trace);
}

/// intake (client span) -> gRPC -> routing (server span) -> NATS -> reporting (consumer).
#[test]
fn spans_of_several_services_share_one_trace() {
    let exporter = exporter();
    let intake = tracing::info_span!("intake.submit");
    let trace_id = intake.in_scope(current_trace_id);
    let trace_id = trace_id.unwrap_or_else(|| panic!("intake span has no trace"));

    let request = intake.in_scope(|| TracingInterceptor.call(tonic::Request::new(())));
    let request = request.unwrap_or_else(|status| panic!("interceptor refused: {status}"));
    let (metadata, _, ()) = request.into_parts();
    let mut incoming = grpc_request("/kenduren.routing.v1.Routing/Route", None);
    *incoming.headers_mut() = metadata.into_headers();

    let routing = grpc_server_span(&incoming);
    // The relay publishes later, outside the RPC, with the traceparent stored by it.
    let stored = routing.in_scope(current_traceparent);
    let (publish, header) = nats_publish("kenduren.calls.routed", "event-1", stored.as_deref());
    drop(publish);
    let reporting = nats_consume_span("kenduren.calls.routed", header.as_deref());
    reporting.in_scope(|| tracing::info!("projected"));
    drop((reporting, routing, intake));

    let spans = spans_in_trace(&exporter, &trace_id);
    for name in [
        "intake.submit",
        "kenduren.routing.v1.Routing/Route",
        "kenduren.calls.routed publish",
        "process kenduren.calls.routed",
    ] {
        find(&spans, name);
    }
    let consumer = find(&spans, "process kenduren.calls.routed");
    assert_eq!(consumer.span_kind, SpanKind::Consumer);
    let publish = find(&spans, "kenduren.calls.routed publish");
    assert_eq!(publish.span_kind, SpanKind::Producer);
    assert_eq!(
        publish.parent_span_id,
        find(&spans, "kenduren.routing.v1.Routing/Route")
            .span_context
            .span_id()
    );
    for (key, value) in [
        ("messaging.system", "nats"),
        ("messaging.destination.name", "kenduren.calls.routed"),
        ("messaging.message.id", "event-1"),
    ] {
        let found = publish.attributes.iter().find(|kv| kv.key.as_str() == key);
        assert_eq!(
            found.map(|kv| kv.value.to_string()).as_deref(),
            Some(value),
            "{key}"
        );
    }
    assert_eq!(consumer.parent_span_id, publish.span_context.span_id());
}

#[test]
fn init_after_the_test_pipeline_is_inert() {
    let _exporter = exporter();
    for _ in 0..2 {
        let guard = kenduren_telemetry::init("intake", &LogSettings::default());
        let guard = guard.unwrap_or_else(|err| panic!("init failed: {err}"));
        assert!(!guard.is_owner());
    }
    // Spans still work after the inert guards are dropped.
    let span = tracing::info_span!("after_init");
    assert!(span.in_scope(current_traceparent).is_some());
}

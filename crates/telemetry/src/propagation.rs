//! W3C Trace Context propagation between tracing spans and wire carriers.
//!
//! These helpers always speak W3C Trace Context (`traceparent` / `tracestate`), whatever
//! global propagator is installed, so they behave the same before and after
//! [`crate::init`]. Outbound, they read the context of the *current tracing span*; inbound,
//! they turn a carrier into an [`opentelemetry::Context`] that a span can be parented on
//! with [`set_parent_context`] (which must happen before the span is first entered).

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::codegen::http::header::{HeaderMap, HeaderName, HeaderValue};
use tonic::metadata::{KeyRef, MetadataKey, MetadataMap, MetadataValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Header / metadata key carrying the W3C `traceparent`.
pub const TRACEPARENT: &str = "traceparent";
/// Header / metadata key carrying the W3C `tracestate`.
pub const TRACESTATE: &str = "tracestate";

fn propagator() -> TraceContextPropagator {
    TraceContextPropagator::new()
}

fn is_valid(cx: &Context) -> bool {
    cx.span().span_context().is_valid()
}

/// The OpenTelemetry context of the current tracing span, falling back to the attached
/// OpenTelemetry context when the current span carries none.
pub fn current_context() -> Context {
    let from_span = tracing::Span::current().context();
    if is_valid(&from_span) {
        from_span
    } else {
        Context::current()
    }
}

/// The W3C `traceparent` of the current tracing span, or `None` outside any traced span.
pub fn current_traceparent() -> Option<String> {
    traceparent_of(&current_context())
}

/// The W3C `traceparent` of `span`, or `None` when it has no valid trace context.
pub fn span_traceparent(span: &tracing::Span) -> Option<String> {
    traceparent_of(&span.context())
}

/// The trace id (32 lower-case hex digits) of the current tracing span, if any.
pub fn current_trace_id() -> Option<String> {
    let cx = current_context();
    let span = cx.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// Records the span's trace id into its `trace_id` field (declared as
/// `trace_id = tracing::field::Empty`), so log lines inside it can be matched to the trace.
/// Starts the span's OpenTelemetry side, so call it after any `set_parent_*`.
pub fn record_trace_id(span: &tracing::Span) {
    let cx = span.context();
    let otel_span = cx.span();
    let span_context = otel_span.span_context();
    if span_context.is_valid() {
        span.record("trace_id", tracing::field::display(span_context.trace_id()));
    }
}

fn traceparent_of(cx: &Context) -> Option<String> {
    if !is_valid(cx) {
        return None;
    }
    let mut carrier = HashMap::new();
    propagator().inject_context(cx, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Parses a W3C `traceparent` into a remote context, or `None` when it is malformed.
pub fn context_from_traceparent(traceparent: &str) -> Option<Context> {
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.trim().to_owned())]);
    let cx = extract(&carrier);
    is_valid(&cx).then_some(cx)
}

/// Makes `span` a child of the remote context in `traceparent`.
///
/// Does nothing for `None`, a malformed value, a disabled span or a span that has already
/// been entered. Returns whether the parent was set.
pub fn set_parent_from_traceparent(span: &tracing::Span, traceparent: Option<&str>) -> bool {
    match traceparent.and_then(context_from_traceparent) {
        Some(cx) => set_parent_context(span, cx),
        None => false,
    }
}

/// Makes `span` a child of `cx` if `cx` holds a valid span context; returns whether it did.
///
/// Must be called before `span` is first entered (or its context read).
pub fn set_parent_context(span: &tracing::Span, cx: Context) -> bool {
    is_valid(&cx) && span.set_parent(cx).is_ok()
}

/// Writes the current span's context into any carrier (e.g. a `HashMap<String, String>`).
pub fn inject_current(carrier: &mut dyn Injector) {
    inject_context(&current_context(), carrier);
}

/// Writes `cx` into any carrier; writes nothing when `cx` has no valid span context.
pub fn inject_context(cx: &Context, carrier: &mut dyn Injector) {
    if is_valid(cx) {
        propagator().inject_context(cx, carrier);
    }
}

/// Reads a remote context from any carrier; the result has no valid span when the
/// carrier holds no (valid) `traceparent` (it never falls back to the current context).
pub fn extract(carrier: &dyn Extractor) -> Context {
    propagator().extract_with_context(&Context::new(), carrier)
}

/// Reads the remote context from incoming gRPC metadata.
pub fn extract_from_metadata(metadata: &MetadataMap) -> Context {
    extract(&MetadataCarrier(metadata))
}

/// Writes the current span's context into outgoing gRPC metadata.
pub fn inject_into_metadata(metadata: &mut MetadataMap) {
    inject_current(&mut MetadataCarrierMut(metadata));
}

/// Reads the remote context from HTTP headers.
pub fn extract_from_headers(headers: &HeaderMap) -> Context {
    extract(&HeaderCarrier(headers))
}

/// Writes the current span's context into outgoing HTTP headers.
pub fn inject_into_headers(headers: &mut HeaderMap) {
    inject_current(&mut HeaderCarrierMut(headers));
}

struct MetadataCarrier<'a>(&'a MetadataMap);

impl Extractor for MetadataCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|key| match key {
                KeyRef::Ascii(key) => Some(key.as_str()),
                KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

struct MetadataCarrierMut<'a>(&'a mut MetadataMap);

impl Injector for MetadataCarrierMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        let key = MetadataKey::from_bytes(key.as_bytes());
        let value = MetadataValue::try_from(value);
        if let (Ok(key), Ok(value)) = (key, value) {
            self.0.insert(key, value);
        }
    }
}

struct HeaderCarrier<'a>(&'a HeaderMap);

impl Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderCarrierMut<'a>(&'a mut HeaderMap);

impl Injector for HeaderCarrierMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        let key = HeaderName::from_bytes(key.as_bytes());
        let value = HeaderValue::from_str(&value);
        if let (Ok(key), Ok(value)) = (key, value) {
            self.0.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACEPARENT_VALUE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_a_valid_traceparent_and_rejects_garbage() {
        let cx = context_from_traceparent(TRACEPARENT_VALUE);
        let trace_id = cx.map(|cx| cx.span().span_context().trace_id().to_string());
        assert_eq!(trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert!(context_from_traceparent("not-a-traceparent").is_none());
        assert!(context_from_traceparent("").is_none());
        assert!(
            context_from_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none()
        );
    }

    #[test]
    fn metadata_and_headers_round_trip_a_context() {
        let Some(cx) = context_from_traceparent(TRACEPARENT_VALUE) else {
            panic!("known-good traceparent rejected");
        };
        let mut metadata = MetadataMap::new();
        inject_context(&cx, &mut MetadataCarrierMut(&mut metadata));
        let value = metadata.get(TRACEPARENT).and_then(|v| v.to_str().ok());
        assert_eq!(value, Some(TRACEPARENT_VALUE));
        let back = extract_from_metadata(&metadata);
        assert_eq!(
            back.span().span_context().trace_id(),
            cx.span().span_context().trace_id()
        );

        let mut headers = HeaderMap::new();
        inject_context(&cx, &mut HeaderCarrierMut(&mut headers));
        let back = extract_from_headers(&headers);
        assert_eq!(
            back.span().span_context().span_id(),
            cx.span().span_context().span_id()
        );
    }

    #[test]
    fn extraction_never_falls_back_to_the_current_context() {
        let Some(cx) = context_from_traceparent(TRACEPARENT_VALUE) else {
            panic!("known-good traceparent rejected");
        };
        let _attached = cx.attach();
        assert!(context_from_traceparent("garbage").is_none());
        assert!(!is_valid(&extract_from_metadata(&MetadataMap::new())));
        // The attached context is what outbound helpers fall back to.
        assert_eq!(current_traceparent().as_deref(), Some(TRACEPARENT_VALUE));
    }

    #[test]
    fn nothing_is_injected_without_a_trace() {
        let mut metadata = MetadataMap::new();
        inject_into_metadata(&mut metadata);
        assert!(metadata.is_empty());
        assert_eq!(current_traceparent(), None);
        assert!(!is_valid(&extract_from_metadata(&metadata)));
    }
}

//! gRPC plumbing: a client interceptor that sends the current trace context, and a
//! server span factory for [`tonic::transport::Server::trace_fn`].
//!
//! Tonic 0.14's `Server::trace_fn` takes any
//! `Fn(&http::Request<()>) -> tracing::Span + Send + Sync + 'static`; it is called once per
//! request with the headers (the body is detached) and the returned span is entered every
//! time the handler future is polled, so handler code runs inside it.

use tonic::codegen::http::{HeaderMap, Request};
use tonic::service::Interceptor;
use tonic::Status;

use crate::propagation::{extract_from_headers, inject_into_metadata, record_trace_id, set_parent_context};

/// Client interceptor that writes the current span's W3C trace context into every request's
/// metadata (`traceparent`, and `tracestate` when present).
///
/// ```ignore
/// let client = IntakeClient::with_interceptor(channel, TracingInterceptor);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingInterceptor;

impl Interceptor for TracingInterceptor {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        inject_into_metadata(request.metadata_mut());
        Ok(request)
    }
}

/// Splits a gRPC request path `/package.Service/Method` into `(service, method)`.
///
/// Returns `None` for anything that is not of that shape.
pub fn parse_grpc_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix('/')?;
    let (service, method) = rest.split_once('/')?;
    let well_formed = !service.is_empty() && !method.is_empty() && !method.contains('/');
    well_formed.then_some((service, method))
}

/// Creates the server span for one gRPC request, for `Server::builder().trace_fn(...)`.
///
/// The span follows the OpenTelemetry RPC conventions: it is named `service/method`
/// (`otel.name`), has `otel.kind = "server"`, `rpc.system = "grpc"`, `rpc.service` and
/// `rpc.method`, and its parent is the remote context from the incoming `traceparent`
/// metadata. Without one (or with a malformed one) it starts a new trace; it never
/// inherits whatever span happens to be current in the server task. Its `trace_id` field
/// holds the trace id, so log lines from the handler can be matched to the trace.
///
/// ```ignore
/// Server::builder()
///     .trace_fn(kenduren_telemetry::grpc_server_span)
///     .add_service(IntakeServer::new(service))
/// ```
pub fn grpc_server_span(request: &Request<()>) -> tracing::Span {
    grpc_server_span_from_parts(request.uri().path(), request.headers())
}

/// Like [`grpc_server_span`], from a request path and its headers (for tower layers that
/// see requests with a body).
pub fn grpc_server_span_from_parts(path: &str, headers: &HeaderMap) -> tracing::Span {
    let (service, method) = parse_grpc_path(path).unwrap_or(("", ""));
    let name = path.strip_prefix('/').unwrap_or(path);
    let span = tracing::info_span!(
        target: "kenduren_telemetry::grpc",
        parent: None,
        "grpc.server",
        otel.name = %name,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        trace_id = tracing::field::Empty,
    );
    set_parent_context(&span, extract_from_headers(headers));
    record_trace_id(&span);
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_grpc_paths() {
        assert_eq!(
            parse_grpc_path("/kenduren.intake.v1.Intake/SubmitCall"),
            Some(("kenduren.intake.v1.Intake", "SubmitCall"))
        );
        assert_eq!(
            parse_grpc_path("/grpc.health.v1.Health/Check"),
            Some(("grpc.health.v1.Health", "Check"))
        );
        assert_eq!(parse_grpc_path("/"), None);
        assert_eq!(parse_grpc_path("/only-service"), None);
        assert_eq!(parse_grpc_path("no-slash/Method"), None);
        assert_eq!(parse_grpc_path("/a/b/c"), None);
        assert_eq!(parse_grpc_path("/svc/"), None);
    }

    #[test]
    fn trace_fn_accepts_grpc_server_span() {
        // Compile-time proof that the signature matches what tonic's builder wants.
        let _server = tonic::transport::Server::builder().trace_fn(grpc_server_span);
    }
}

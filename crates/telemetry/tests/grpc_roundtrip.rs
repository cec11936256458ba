//! A real tonic call over loopback: the client interceptor sends the caller's trace context
//! and the server span made by `trace_fn(grpc_server_span)` continues it.

use std::error::Error;
use std::time::{Duration, Instant};

use kenduren_telemetry::{
    current_trace_id, grpc_server_span, install_in_memory_exporter, span_traceparent, spans_in_trace,
    TracingInterceptor,
};
use opentelemetry::trace::{SpanId, SpanKind};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Endpoint, Server};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tracing::Instrument;

const SERVER_SPAN: &str = "grpc.health.v1.Health/Check";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_span_continues_the_callers_trace() -> Result<(), Box<dyn Error>> {
    let exporter = install_in_memory_exporter();

    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::builder()
            .trace_fn(grpc_server_span)
            .add_service(health)
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                let _ = stopped.await;
            }),
    );

    let channel = Endpoint::from_shared(format!("http://{addr}"))?.connect().await?;
    let mut client = HealthClient::with_interceptor(channel, TracingInterceptor);

    let caller = tracing::info_span!("caller");
    let trace_id = caller.in_scope(current_trace_id).ok_or("caller has no trace")?;
    let caller_traceparent = span_traceparent(&caller).ok_or("caller has no traceparent")?;
    let caller_span_id = caller_traceparent.split('-').nth(2).ok_or("bad traceparent")?;
    let request = HealthCheckRequest {
        service: String::new(),
    };
    client.check(request).instrument(caller.clone()).await?;

    // The server span closes when the handler future is dropped, just after the response.
    let deadline = Instant::now() + Duration::from_secs(5);
    let server_span = loop {
        let spans = spans_in_trace(&exporter, &trace_id);
        if let Some(span) = spans.into_iter().find(|span| span.name == SERVER_SPAN) {
            break span;
        }
        if Instant::now() > deadline {
            return Err(format!("no {SERVER_SPAN} span in trace {trace_id}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(server_span.span_kind, SpanKind::Server);
    assert_eq!(server_span.parent_span_id, SpanId::from_hex(caller_span_id)?);
    assert!(server_span.parent_span_is_remote);

    let _ = stop.send(());
    server.await??;
    Ok(())
}

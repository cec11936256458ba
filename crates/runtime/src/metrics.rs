//! Prometheus metrics: the `/metrics` endpoint, RPC counts and latencies by method and
//! code (a tower layer on every server), and the gauges sampled from each service's
//! store and consumer — outbox backlog and age, consumer lag, dead letters. Labels are
//! service, method, code, consumer and outcome only: never ids.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        OnceLock,
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use tokio_util::sync::CancellationToken;
use tower::{Layer, Service};

use crate::{RuntimeError, ServiceContext};

static EXPORTER: OnceLock<SocketAddr> = OnceLock::new();

/// Serves `/metrics` on `addr` for this process (once; later calls are no-ops, so the
/// four services of `kenduren dev` share one endpoint, told apart by labels).
pub fn install_exporter(addr: SocketAddr) -> Result<(), RuntimeError> {
    if EXPORTER.get().is_some() {
        return Ok(());
    }
    let latency = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &latency)
        .and_then(|b| b.install())
        .map_err(|e| RuntimeError::Config(format!("KENDUREN_METRICS_ADDR {addr}: {e}")))?;
    let _ = EXPORTER.set(addr);
    tracing::info!(%addr, "serving Prometheus metrics on /metrics");
    Ok(())
}

/// Counts and times every RPC of `service` by method and status code
/// (`kenduren_rpc_requests_total`, `kenduren_rpc_duration_seconds`).
#[derive(Debug, Clone, Copy)]
pub struct RpcMetricsLayer {
    /// The service's short name (`intake`, …).
    pub service: &'static str,
}

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics {
            inner,
            service: self.service,
        }
    }
}

/// The service produced by [`RpcMetricsLayer`].
#[derive(Debug, Clone)]
pub struct RpcMetrics<S> {
    inner: S,
    service: &'static str,
}

/// The method name for a gRPC path; anything outside the known packages is `other`,
/// so a caller cannot inflate the label set with made-up paths.
fn method_label(path: &str) -> String {
    match path.trim_start_matches('/').split_once('/') {
        Some((svc, method))
            if (svc.starts_with("kenduren.") || svc.starts_with("grpc."))
                && method.chars().all(|c| c.is_ascii_alphanumeric())
                && method.len() <= 64 =>
        {
            method.to_owned()
        }
        _ => "other".to_owned(),
    }
}

impl<S, B, R> Service<http::Request<B>> for RpcMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = method_label(request.uri().path());
        let service = self.service;
        let started = Instant::now();
        let call = self.inner.call(request);
        Box::pin(async move {
            let result = call.await;
            // Errors come back "trailers-only", with grpc-status in the headers; a success
            // puts it in the trailers, which a unary call's headers do not show.
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map(tonic::Code::from)
                    .unwrap_or(tonic::Code::Ok),
                Err(_) => tonic::Code::Unavailable,
            };
            let labels = [
                ("service", service.to_owned()),
                ("method", method),
                ("code", format!("{code:?}")),
            ];
            metrics::histogram!("kenduren_rpc_duration_seconds", &labels)
                .record(started.elapsed().as_secs_f64());
            metrics::counter!("kenduren_rpc_requests_total", &labels).increment(1);
            result
        })
    }
}

/// Events handled by one instance (one [`crate::Backbone`]), all its consumers together.
/// Prometheus counts the same per process (`kenduren_events_consumed_total`); this tells
/// apart instances sharing a process, as in `kenduren dev` and the tests.
#[derive(Debug, Default)]
pub struct HandledCounts(AtomicU64);

impl HandledCounts {
    /// Counts one event handled.
    pub fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Events this instance has handled.
    pub fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Samples the service's outbox and consumer every `period` until `stop`.
pub async fn sample(ctx: ServiceContext, period: Duration, stop: CancellationToken) {
    let service = ctx.name;
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Ok((backlog, oldest)) = ctx.store.outbox_backlog().await {
            metrics::gauge!("kenduren_outbox_backlog", "service" => service).set(backlog as f64);
            let age = oldest.map(|t| (ctx.clock.now() - t).num_milliseconds().max(0) as f64 / 1000.0);
            metrics::gauge!("kenduren_outbox_oldest_age_seconds", "service" => service)
                .set(age.unwrap_or(0.0));
        }
        if let Ok(count) = kenduren_store::dead_letter_count(&ctx.pool, service).await {
            metrics::gauge!("kenduren_dead_letters", "consumer" => service).set(count as f64);
        }
        if let Ok(mut consumer) = ctx
            .jetstream
            .get_consumer_from_stream::<async_nats::jetstream::consumer::pull::Config, _, _>(
                service,
                ctx.stream.as_str(),
            )
            .await
        {
            if let Ok(info) = consumer.info().await {
                let lag = info.num_pending as f64 + info.num_ack_pending as f64;
                metrics::gauge!("kenduren_consumer_lag", "consumer" => service).set(lag);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::method_label;

    #[test]
    fn only_known_packages_get_their_method_as_a_label() {
        assert_eq!(
            method_label("/kenduren.intake.v1.IntakeService/SubmitQuestion"),
            "SubmitQuestion"
        );
        assert_eq!(method_label("/grpc.health.v1.Health/Check"), "Check");
        assert_eq!(method_label("/evil.Service/x1"), "other");
        assert_eq!(method_label("/kenduren.x/../../etc"), "other");
    }
}

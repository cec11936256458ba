//! Running one service: its gRPC server, its outbox relay and its consumer, stopped
//! in the order that loses nothing — calls drain first, then the relay publishes
//! what they committed and the consumer finishes the message in hand.

use std::{sync::Arc, time::Duration};

use kenduren_store::{CloudEvent, Consumer, ConsumerConfig, EventHandler, HandlerError, Relay, RelayConfig};
use sqlx::PgConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{metrics::HandledCounts, serve_grpc, GrpcServer, RuntimeError, ServiceContext};

/// Largest request a service decodes; a question's text is at most 16 KiB of UTF-8.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// A service's consumer: its durable config and its handler.
#[derive(Debug)]
pub struct ConsumerSpec<H> {
    config: ConsumerConfig,
    handler: Traced<H>,
}

/// Runs a handler inside a consumer span that continues the event's trace, so one
/// question's journey across services is one trace, and counts what it handled in this
/// instance's [`HandledCounts`].
#[derive(Debug, Clone)]
pub struct Traced<H>(pub H, pub &'static str, pub Arc<HandledCounts>);

impl<H: EventHandler> EventHandler for Traced<H> {
    async fn handle(&self, conn: &mut PgConnection, event: &CloudEvent) -> Result<(), HandlerError> {
        let span = kenduren_telemetry::nats_consume_span(&event.ty, event.traceparent.as_deref());
        let handler =
            tracing::info_span!(parent: &span, "handle_event", consumer = self.1, event_type = %event.ty);
        let handled = self
            .0
            .handle(conn, event)
            .instrument(handler)
            .instrument(span)
            .await;
        if handled.is_ok() {
            self.2.add();
        }
        handled
    }
}

/// The service's durable consumer (named after the service) on `filter_subject`.
pub fn consumer<H: EventHandler>(
    ctx: &ServiceContext,
    filter_subject: String,
    handler: H,
) -> ConsumerSpec<H> {
    ConsumerSpec {
        config: ConsumerConfig::new(ctx.name, filter_subject),
        handler: Traced(handler, ctx.name, ctx.handled.clone()),
    }
}

/// Runs the server, relay and consumer until `shutdown`, then stops them in order.
pub async fn run<H: EventHandler>(
    ctx: ServiceContext,
    server: GrpcServer,
    consumer: ConsumerSpec<H>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RuntimeError> {
    let background = CancellationToken::new();
    let mut relay_config = RelayConfig::new(ctx.store.source(), ctx.name)?;
    // Each message goes out in a producer span of its question's trace.
    relay_config.publish_span = Some(kenduren_telemetry::nats_publish);
    let relay = Relay::new(relay_config);
    let relay_task = tokio::spawn({
        let (pool, js, stop) = (ctx.pool.clone(), ctx.jetstream.clone(), background.clone());
        async move { relay.run(pool, js, stop.cancelled_owned()).await }
    });
    let consumer_task = tokio::spawn({
        let (pool, js, stream, stop) = (
            ctx.pool.clone(),
            ctx.jetstream.clone(),
            ctx.stream.clone(),
            background.clone(),
        );
        let runner = Consumer::new(consumer.config);
        async move {
            runner
                .run(pool, js, &stream, consumer.handler, stop.cancelled_owned())
                .await
        }
    });
    let sampler = tokio::spawn(crate::metrics::sample(
        ctx.clone(),
        Duration::from_secs(5),
        background.clone(),
    ));
    // Stops with the relay, after the server: calls in flight may still append.
    let notifier = tokio::spawn({
        let (store, stop) = (ctx.store.clone(), background.clone());
        async move { store.notify_relays(stop.cancelled_owned()).await }
    });
    tracing::info!(service = ctx.name, addr = ?listener.local_addr().ok(), "serving");
    let served = serve_grpc(
        listener,
        server,
        ctx.drain_delay,
        ctx.server_tls.clone(),
        shutdown,
    )
    .await;
    // Calls have drained: now let the relay flush what they committed.
    background.cancel();
    let joined = tokio::time::timeout(Duration::from_secs(30), async {
        let relay = relay_task.await;
        let consumer = consumer_task.await;
        let _ = sampler.await;
        let _ = notifier.await;
        (relay, consumer)
    })
    .await;
    served?;
    match joined {
        Ok((relay, consumer)) => {
            relay.map_err(|e| RuntimeError::Task(e.to_string()))??;
            consumer.map_err(|e| RuntimeError::Task(e.to_string()))??;
            Ok(())
        }
        Err(_) => Err(RuntimeError::Task(
            "relay or consumer did not stop within 30 s".into(),
        )),
    }
}

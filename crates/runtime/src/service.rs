//! Running one service: its gRPC server, its outbox relay and its consumer, stopped
//! in the order that loses nothing — calls drain first, then the relay publishes
//! what they committed and the consumer finishes the message in hand.

use std::time::Duration;

use kenduren_store::{Consumer, ConsumerConfig, EventHandler, Relay, RelayConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{serve_grpc, GrpcServer, RuntimeError, ServiceContext};

/// Largest request a service decodes; a question's text is at most 16 KiB of UTF-8.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// A service's consumer: its durable config and its handler.
#[derive(Debug)]
pub struct ConsumerSpec<H> {
    config: ConsumerConfig,
    handler: H,
}

/// The service's durable consumer (named after the service) on `filter_subject`.
pub fn consumer<H: EventHandler>(
    ctx: &ServiceContext,
    filter_subject: String,
    handler: H,
) -> ConsumerSpec<H> {
    ConsumerSpec {
        config: ConsumerConfig::new(ctx.name, filter_subject),
        handler,
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
    let relay = Relay::new(RelayConfig::new(ctx.store.source(), ctx.name)?);
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
    tracing::info!(service = ctx.name, addr = ?listener.local_addr().ok(), "serving");
    let served = serve_grpc(listener, server, shutdown).await;
    // Calls have drained: now let the relay flush what they committed.
    background.cancel();
    let joined = tokio::time::timeout(Duration::from_secs(30), async {
        let relay = relay_task.await;
        let consumer = consumer_task.await;
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

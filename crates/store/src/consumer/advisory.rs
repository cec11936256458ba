//! Safety net for messages the server gives up on before the runner could decide.
//!
//! The runner parks a failing message itself at `max_deliver - 1`, so the server's
//! max-deliveries advisory only fires for messages the runner never saw: the process
//! kept crashing, or the client could not receive them (async-nats drops the connection
//! on a header that is not UTF-8, taking the rest of the pulled batch with it). Those
//! are read back from the stream and parked, so no message disappears silently.

use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream;
use futures::StreamExt;
use kenduren_bus::CloudEvent;
use sqlx::PgPool;

use super::apply::{park, DeadLetter};
use crate::util::{Backoff, Outage};

/// Subject of the server's advisory for one consumer.
pub(crate) fn advisory_subject(stream: &str, durable: &str) -> String {
    format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{durable}")
}

/// Watches the advisories of `durable` until the task is aborted.
pub(crate) async fn watch(pool: PgPool, js: jetstream::Context, stream: String, durable: String) {
    let mut nats = Outage::new("nats (max-deliveries advisories)");
    let mut retry = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        // Core subscriptions survive reconnects; this loop only covers a failed subscribe.
        let mut advisories = match js.client().subscribe(advisory_subject(&stream, &durable)).await {
            Ok(subscriber) => subscriber,
            Err(error) => {
                nats.failed(&error);
                tokio::time::sleep(retry.next_delay()).await;
                continue;
            }
        };
        nats.recovered();
        while let Some(message) = advisories.next().await {
            let Ok(advisory) = serde_json::from_slice::<serde_json::Value>(&message.payload) else {
                continue;
            };
            let Some(sequence) = advisory["stream_seq"].as_u64() else {
                continue;
            };
            let deliveries = advisory["deliveries"].as_i64();
            let mut parking = Outage::new("parking of undelivered messages");
            let mut retry = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
            while let Err(error) = park_undelivered(&pool, &js, &stream, &durable, sequence, deliveries).await
            {
                parking.failed(&error);
                tokio::time::sleep(retry.next_delay()).await;
            }
            parking.recovered();
        }
    }
}

/// A failure worth retrying: parking must not lose the message's content to a blip.
#[derive(Debug, thiserror::Error)]
enum Retry {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("reading the message back: {0}")]
    Nats(String),
}

/// Parks stream message `sequence` unless it was already parked or applied.
async fn park_undelivered(
    pool: &PgPool,
    js: &jetstream::Context,
    stream: &str,
    durable: &str,
    sequence: u64,
    deliveries: Option<i64>,
) -> Result<(), Retry> {
    let stream_sequence = i64::try_from(sequence).ok();
    let parked: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM dead_letters WHERE consumer = $1 AND stream_sequence = $2)",
    )
    .bind(durable)
    .bind(stream_sequence)
    .fetch_one(pool)
    .await?;
    if parked {
        return Ok(());
    }
    let gave_up = format!(
        "the server stopped delivering stream message {sequence} after {} deliveries \
         that never reached an outcome (the client could not receive it, or the process kept failing)",
        deliveries.map_or_else(|| "its".to_owned(), |d| d.to_string())
    );
    let raw = match js.get_stream_no_info(stream).await {
        Ok(handle) => handle.get_raw_message(sequence).await.map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    let message = match raw {
        Ok(message) => message,
        Err(reason) if js.client().connection_state() != State::Connected => {
            return Err(Retry::Nats(reason));
        }
        Err(reason) => {
            let error = format!("{gave_up}; reading it back failed: {reason}");
            tracing::warn!(sequence, "parking a message the server gave up on (unreadable)");
            let letter = DeadLetter {
                consumer: durable,
                event_id: None,
                subject: "",
                stream_sequence,
                deliveries,
                error: &error,
                headers: None,
                payload: &[],
            };
            return Ok(park(pool, &letter).await?);
        }
    };
    let event = CloudEvent::from_message(Some(&message.headers), message.payload.clone()).ok();
    if let Some(event) = &event {
        let applied: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2)")
                .bind(durable)
                .bind(event.id)
                .fetch_one(pool)
                .await?;
        if applied {
            return Ok(());
        }
    }
    tracing::warn!(sequence, "parking a message the server gave up on");
    let letter = DeadLetter {
        consumer: durable,
        event_id: event.map(|e| e.id),
        subject: message.subject.as_str(),
        stream_sequence,
        deliveries,
        error: &gave_up,
        headers: Some(&message.headers),
        payload: &message.payload,
    };
    Ok(park(pool, &letter).await?)
}

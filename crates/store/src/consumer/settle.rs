//! Taking pulled messages to the end: applied and acked, skipped as duplicates, nak'ed
//! with a delay, or parked in `dead_letters`.

use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use kenduren_bus::CloudEvent;
use sqlx::PgPool;
use tracing::Instrument;

use super::apply::{apply, apply_batch, park, DeadLetter, Outcome};
use super::{ack, consumed, Consumer, EventHandler};
use crate::util::{exponential, Backoff, Outage, Shutdown};

/// Where a message came from in the stream, as the server tells it.
#[derive(Debug, Clone, Copy)]
struct Delivery {
    sequence: Option<i64>,
    delivered: i64,
}

impl Delivery {
    fn of(message: &jetstream::Message) -> Self {
        match message.info() {
            Ok(info) => Self {
                sequence: i64::try_from(info.stream_sequence).ok(),
                delivered: info.delivered,
            },
            Err(_) => Self {
                sequence: None,
                delivered: 1,
            },
        }
    }
}

impl Consumer {
    /// Handles the messages of one chunk: all decodable ones in one transaction when
    /// that settles them, otherwise each on its own as [`Consumer::process`] does. Returns
    /// what a shutdown left unhandled.
    pub(super) async fn process_chunk<H: EventHandler>(
        &self,
        pool: &PgPool,
        handler: &H,
        messages: Vec<jetstream::Message>,
        shutdown: &mut Shutdown<'_>,
        db: &mut Outage,
    ) -> Vec<jetstream::Message> {
        if messages.len() > 1 {
            let decoded: Vec<(jetstream::Message, CloudEvent)> = messages
                .iter()
                .filter_map(|m| {
                    let event = CloudEvent::from_message(m.headers.as_ref(), m.payload.clone()).ok()?;
                    Some((m.clone(), event))
                })
                .collect();
            // Undecodable messages are rare enough to take the one-by-one path that parks them.
            if decoded.len() == messages.len() && self.settle_chunk(pool, handler, &decoded).await {
                db.recovered();
                return Vec::new();
            }
        }
        let mut messages = messages.into_iter();
        while let Some(message) = messages.next() {
            self.process(pool, handler, message, shutdown, db).await;
            if shutdown.requested() {
                return messages.collect();
            }
        }
        Vec::new()
    }

    /// Applies `chunk` in one transaction and settles every message; false, with nothing
    /// settled and nothing written, when the chunk has to go one by one.
    async fn settle_chunk<H: EventHandler>(
        &self,
        pool: &PgPool,
        handler: &H,
        chunk: &[(jetstream::Message, CloudEvent)],
    ) -> bool {
        let config = &self.config;
        let events: Vec<&CloudEvent> = chunk.iter().map(|(_, event)| event).collect();
        let span = tracing::info_span!(
            "consume events",
            "messaging.system" = "nats",
            "messaging.operation" = "process",
            "messaging.consumer.group.name" = %config.durable_name,
            "messaging.batch.message_count" = chunk.len(),
        );
        let applied = apply_batch(
            pool,
            &config.durable_name,
            config.check_causation,
            handler,
            &events,
        )
        .instrument(span.clone())
        .await;
        let outcomes = match applied {
            Ok(Some(outcomes)) => outcomes,
            Ok(None) => return false,
            Err(error) => {
                tracing::debug!(parent: &span, %error, "batch failed; applying one by one");
                return false;
            }
        };
        for ((message, event), outcome) in chunk.iter().zip(outcomes) {
            let delivery = Delivery::of(message);
            let settled = self
                .settle(pool, message, delivery, event, outcome)
                .instrument(span.clone())
                .await;
            if let Err(error) = settled {
                // Only parking writes here; the message stays unacked and comes back.
                tracing::warn!(parent: &span, %error, "could not park a message; it will be redelivered");
            }
        }
        true
    }

    /// Handles one message to the end (ack, nak or park), retrying in place while our
    /// own Postgres bookkeeping fails so that an outage does not burn deliveries.
    pub(super) async fn process<H: EventHandler>(
        &self,
        pool: &PgPool,
        handler: &H,
        message: jetstream::Message,
        shutdown: &mut Shutdown<'_>,
        db: &mut Outage,
    ) {
        let delivery = Delivery::of(&message);
        let span = tracing::info_span!(
            "consume event",
            "messaging.system" = "nats",
            "messaging.operation" = "process",
            "messaging.destination.name" = %message.subject,
            "messaging.consumer.group.name" = %self.config.durable_name,
            "messaging.message.id" = tracing::field::Empty,
            "messaging.nats.delivered" = delivery.delivered,
            "kenduren.event.type" = tracing::field::Empty,
        );
        async {
            let mut retry = Backoff::new(Duration::from_millis(200), self.config.backoff_cap);
            loop {
                match self.process_once(pool, handler, &message, delivery).await {
                    Ok(()) => {
                        db.recovered();
                        return;
                    }
                    Err(error) => {
                        db.failed(&error);
                        // Keep the message ours while we wait for Postgres.
                        let _ = message.ack_with(AckKind::Progress).await;
                        if shutdown.sleep(retry.next_delay()).await {
                            // Not acked: the server redelivers it after ack_wait.
                            return;
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await;
    }

    async fn process_once<H: EventHandler>(
        &self,
        pool: &PgPool,
        handler: &H,
        message: &jetstream::Message,
        delivery: Delivery,
    ) -> Result<(), sqlx::Error> {
        let event = match CloudEvent::from_message(message.headers.as_ref(), message.payload.clone()) {
            Ok(event) => event,
            Err(error) => {
                let error = format!("undecodable envelope: {error}");
                consumed(&self.config.durable_name, "dead_lettered");
                tracing::warn!(%error, "parking undecodable message");
                park(pool, &self.letter(message, delivery, None, &error)).await?;
                ack(message).await;
                return Ok(());
            }
        };
        let span = tracing::Span::current();
        span.record("messaging.message.id", tracing::field::display(event.id));
        span.record("kenduren.event.type", event.ty.as_str());

        let config = &self.config;
        let outcome = apply(
            pool,
            &config.durable_name,
            config.check_causation,
            handler,
            &event,
        )
        .await?;
        self.settle(pool, message, delivery, &event, outcome).await
    }

    /// Acks, naks or parks `message` according to what applying `event` came to.
    async fn settle(
        &self,
        pool: &PgPool,
        message: &jetstream::Message,
        delivery: Delivery,
        event: &CloudEvent,
        outcome: Outcome,
    ) -> Result<(), sqlx::Error> {
        let config = &self.config;
        let (reason, base) = match outcome {
            Outcome::Applied => {
                consumed(&config.durable_name, "applied");
                tracing::debug!(event.id = %event.id, "event applied");
                ack(message).await;
                return Ok(());
            }
            Outcome::Duplicate => {
                consumed(&config.durable_name, "duplicate");
                tracing::debug!(event.id = %event.id, "duplicate event skipped");
                ack(message).await;
                return Ok(());
            }
            Outcome::Poison(reason) => {
                consumed(&config.durable_name, "dead_lettered");
                tracing::warn!(event.id = %event.id, %reason, "parking poison event");
                let error = format!("poison: {reason}");
                park(pool, &self.letter(message, delivery, Some(event), &error)).await?;
                ack(message).await;
                return Ok(());
            }
            Outcome::Gap(reason) => (format!("gap: {reason}"), config.gap_delay),
            Outcome::Transient(reason) => (format!("transient: {reason}"), config.backoff_base),
        };
        consumed(
            &config.durable_name,
            if reason.starts_with("gap") { "gap" } else { "retry" },
        );

        let delivered = delivery.delivered;
        if config.max_deliver > 0 && delivered >= config.max_deliver - 1 {
            consumed(&config.durable_name, "dead_lettered");
            tracing::warn!(event.id = %event.id, %reason, delivered, "giving up on event; parking it");
            let error = format!("gave up after {delivered} deliveries: {reason}");
            park(pool, &self.letter(message, delivery, Some(event), &error)).await?;
            ack(message).await;
            return Ok(());
        }
        let attempt = u32::try_from(delivered.saturating_sub(1)).unwrap_or(u32::MAX);
        let delay = exponential(base, config.backoff_cap, attempt);
        tracing::debug!(event.id = %event.id, %reason, ?delay, "event not applied; nak with delay");
        if let Err(error) = message.ack_with(AckKind::Nak(Some(delay))).await {
            tracing::debug!(%error, "nak failed; the server redelivers after ack_wait");
        }
        Ok(())
    }

    /// The dead letter `message` becomes.
    fn letter<'a>(
        &'a self,
        message: &'a jetstream::Message,
        delivery: Delivery,
        event: Option<&CloudEvent>,
        error: &'a str,
    ) -> DeadLetter<'a> {
        DeadLetter {
            consumer: &self.config.durable_name,
            event_id: event.map(|e| e.id),
            subject: message.subject.as_str(),
            stream_sequence: delivery.sequence,
            deliveries: Some(delivery.delivered),
            error,
            headers: message.headers.as_ref(),
            payload: &message.payload,
        }
    }
}

//! One event, one transaction: inbox and stream-position checks, the handler, and the
//! bookkeeping that makes redeliveries and out-of-order arrivals harmless.

use std::collections::BTreeMap;

use async_nats::HeaderMap;
use kenduren_bus::CloudEvent;
use sqlx::PgPool;
use uuid::Uuid;

use super::{EventHandler, HandlerError};
use crate::util::truncate;

/// What happened to an event.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Applied and recorded.
    Applied,
    /// Already applied (inbox or stream position): ack and move on.
    Duplicate,
    /// Not applicable yet: retry later.
    Gap(String),
    /// Never applicable: dead-letter.
    Poison(String),
    /// The handler failed in a way that may pass next time.
    Transient(String),
}

/// Applies `event` for `consumer` in one transaction. `Err` is an infrastructure
/// failure of our own bookkeeping (Postgres down): the message should be retried
/// in place, without spending one of its deliveries.
pub(crate) async fn apply<H: EventHandler>(
    pool: &PgPool,
    consumer: &str,
    check_causation: bool,
    handler: &H,
    event: &CloudEvent,
) -> Result<Outcome, sqlx::Error> {
    let mut tx = pool.begin().await?;

    let seen: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2)")
            .bind(consumer)
            .bind(event.id)
            .fetch_one(&mut *tx)
            .await?;
    if seen {
        return Ok(Outcome::Duplicate);
    }

    // FOR UPDATE serialises instances of this consumer working on the same stream.
    let position: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM stream_positions \
         WHERE consumer = $1 AND source = $2 AND stream_id = $3 FOR UPDATE",
    )
    .bind(consumer)
    .bind(&event.source)
    .bind(&event.subject)
    .fetch_optional(&mut *tx)
    .await?;
    let position = position.unwrap_or(0);
    if event.stream_version <= position {
        return Ok(Outcome::Duplicate);
    }
    if event.stream_version > position + 1 {
        return Ok(Outcome::Gap(format!(
            "stream {} of {} is at version {position}, event has version {}",
            event.subject, event.source, event.stream_version
        )));
    }
    if let Some(cause) = event.causation_id.filter(|_| check_causation) {
        let cause_seen: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2)")
                .bind(consumer)
                .bind(cause)
                .fetch_one(&mut *tx)
                .await?;
        if !cause_seen {
            return Ok(Outcome::Gap(format!("causing event {cause} not applied yet")));
        }
    }

    match handler.handle(&mut tx, event).await {
        Ok(()) => {}
        Err(HandlerError::Gap(reason)) => return Ok(Outcome::Gap(reason)),
        Err(HandlerError::Poison(reason)) => return Ok(Outcome::Poison(reason)),
        Err(error @ HandlerError::Transient(_)) => return Ok(Outcome::Transient(error_chain(&error))),
    }

    let recorded = sqlx::query("INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)")
        .bind(consumer)
        .bind(event.id)
        .execute(&mut *tx)
        .await;
    if let Err(error) = recorded {
        // Another instance applied the same event concurrently and committed first.
        if error.as_database_error().is_some_and(|e| e.is_unique_violation()) {
            return Ok(Outcome::Duplicate);
        }
        return Err(error);
    }
    sqlx::query(
        "INSERT INTO stream_positions (consumer, source, stream_id, version) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (consumer, source, stream_id) \
         DO UPDATE SET version = GREATEST(stream_positions.version, EXCLUDED.version)",
    )
    .bind(consumer)
    .bind(&event.source)
    .bind(&event.subject)
    .bind(event.stream_version)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Outcome::Applied)
}

/// The error and its sources on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A message being parked in `dead_letters`.
#[derive(Debug)]
pub(crate) struct DeadLetter<'a> {
    pub(crate) consumer: &'a str,
    pub(crate) event_id: Option<Uuid>,
    pub(crate) subject: &'a str,
    pub(crate) stream_sequence: Option<i64>,
    pub(crate) deliveries: Option<i64>,
    pub(crate) error: &'a str,
    pub(crate) headers: Option<&'a HeaderMap>,
    pub(crate) payload: &'a [u8],
}

/// Headers as a JSON object of arrays (a header may repeat).
fn headers_json(headers: &HeaderMap) -> String {
    let map: BTreeMap<String, Vec<&str>> = headers
        .iter()
        .map(|(name, values)| (name.to_string(), values.iter().map(|v| v.as_str()).collect()))
        .collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_owned())
}

/// Parks a message in its own transaction (autocommit).
pub(crate) async fn park(pool: &PgPool, letter: &DeadLetter<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dead_letters \
           (consumer, event_id, subject, stream_sequence, deliveries, error, headers, payload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)",
    )
    .bind(letter.consumer)
    .bind(letter.event_id)
    .bind(letter.subject)
    .bind(letter.stream_sequence)
    .bind(letter.deliveries)
    .bind(truncate(letter.error, 4000))
    .bind(letter.headers.map(headers_json))
    .bind(letter.payload)
    .execute(pool)
    .await?;
    Ok(())
}

/// Number of messages `consumer` has parked in `dead_letters`.
pub async fn dead_letter_count(pool: &PgPool, consumer: &str) -> Result<i64, crate::StoreError> {
    let count = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM dead_letters WHERE consumer = $1")
        .bind(consumer)
        .fetch_one(pool)
        .await?;
    Ok(count)
}

//! Applying events: inbox and stream-position checks, the handler, and the bookkeeping
//! that makes redeliveries and out-of-order arrivals harmless — one event per
//! transaction, or a burst of them in one.

use std::collections::BTreeMap;

use async_nats::HeaderMap;
use kenduren_bus::CloudEvent;
use sqlx::{PgConnection, PgPool};
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
    if let Some(outcome) = check(&mut tx, consumer, check_causation, event).await? {
        return Ok(outcome);
    }
    if let Err(error) = handler.handle(&mut tx, event).await {
        return Ok(refused(error));
    }
    if let Err(error) = record(&mut tx, consumer, event).await {
        // Another instance applied the same event concurrently and committed first.
        if error.as_database_error().is_some_and(|e| e.is_unique_violation()) {
            return Ok(Outcome::Duplicate);
        }
        return Err(error);
    }
    tx.commit().await?;
    Ok(Outcome::Applied)
}

/// Applies `events` in order in one transaction, so a burst costs one commit instead of
/// one per event. Events that are duplicates or gaps are decided without writing and
/// do not disturb the others. `Ok(None)` means the batch could not be settled as a
/// whole — a handler refused an event after it may have written, or another instance
/// raced us — and was rolled back: the caller applies the events one by one, which
/// decides each exactly as [`apply`] always has.
pub(crate) async fn apply_batch<H: EventHandler>(
    pool: &PgPool,
    consumer: &str,
    check_causation: bool,
    handler: &H,
    events: &[&CloudEvent],
) -> Result<Option<Vec<Outcome>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut outcomes = Vec::with_capacity(events.len());
    for event in events {
        if let Some(outcome) = check(&mut tx, consumer, check_causation, event).await? {
            outcomes.push(outcome);
            continue;
        }
        if handler.handle(&mut tx, event).await.is_err() {
            return Ok(None);
        }
        if let Err(error) = record(&mut tx, consumer, event).await {
            if error.as_database_error().is_some_and(|e| e.is_unique_violation()) {
                return Ok(None);
            }
            return Err(error);
        }
        outcomes.push(Outcome::Applied);
    }
    tx.commit().await?;
    Ok(Some(outcomes))
}

/// Decides, without writing, whether `event` is a duplicate or a gap for `consumer`;
/// `None` when it is next in its stream and may be applied. Locks the stream's position
/// row, which serialises instances of this consumer working on the same stream.
async fn check(
    conn: &mut PgConnection,
    consumer: &str,
    check_causation: bool,
    event: &CloudEvent,
) -> Result<Option<Outcome>, sqlx::Error> {
    // One round trip for the three questions asked of every event.
    let (seen, position, cause_seen): (bool, Option<i64>, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2),
                (SELECT version FROM stream_positions
                  WHERE consumer = $1 AND source = $3 AND stream_id = $4 FOR UPDATE),
                $5::uuid IS NULL
                  OR EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $5)",
    )
    .bind(consumer)
    .bind(event.id)
    .bind(&event.source)
    .bind(&event.subject)
    .bind(event.causation_id.filter(|_| check_causation))
    .fetch_one(&mut *conn)
    .await?;
    if seen {
        return Ok(Some(Outcome::Duplicate));
    }
    let position = position.unwrap_or(0);
    if event.stream_version <= position {
        return Ok(Some(Outcome::Duplicate));
    }
    if event.stream_version > position + 1 {
        return Ok(Some(Outcome::Gap(format!(
            "stream {} of {} is at version {position}, event has version {}",
            event.subject, event.source, event.stream_version
        ))));
    }
    if !cause_seen {
        let cause = event.causation_id.map(|c| c.to_string()).unwrap_or_default();
        return Ok(Some(Outcome::Gap(format!(
            "causing event {cause} not applied yet"
        ))));
    }
    Ok(None)
}

/// Records `event` as applied: its inbox row and its stream's new position.
async fn record(conn: &mut PgConnection, consumer: &str, event: &CloudEvent) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH recorded AS (INSERT INTO inbox (consumer, event_id) VALUES ($1, $2))
         INSERT INTO stream_positions (consumer, source, stream_id, version)
         VALUES ($1, $3, $4, $5)
         ON CONFLICT (consumer, source, stream_id)
         DO UPDATE SET version = GREATEST(stream_positions.version, EXCLUDED.version)",
    )
    .bind(consumer)
    .bind(event.id)
    .bind(&event.source)
    .bind(&event.subject)
    .bind(event.stream_version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The outcome of a handler's refusal.
fn refused(error: HandlerError) -> Outcome {
    match error {
        HandlerError::Gap(reason) => Outcome::Gap(reason),
        HandlerError::Poison(reason) => Outcome::Poison(reason),
        error @ HandlerError::Transient(_) => Outcome::Transient(error_chain(&error)),
    }
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

//! Publishing one batch of pending outbox rows, pipelined, and marking what was acked.

use async_nats::connection::State;
use async_nats::jetstream;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

use super::PublishSpanFn;
use crate::StoredEvent;

/// Why a batch stopped early.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BatchError {
    /// Postgres failed; nothing is lost, the rows stay pending.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The client is not connected, so nothing was sent.
    #[error("NATS is not connected")]
    NotConnected,
    /// A publish or its ack failed; rows from this one on stay pending.
    #[error("publishing outbox position {position} failed: {reason}")]
    Publish { position: i64, reason: String },
}

/// Result of one batch.
#[derive(Debug, Default)]
pub(crate) struct BatchReport {
    /// Rows read from the outbox.
    pub(crate) fetched: usize,
    /// Rows acked and marked published.
    pub(crate) published: usize,
    /// Of those, how many the stream reported as duplicates (already stored).
    pub(crate) duplicates: usize,
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    position: i64,
    event_id: Uuid,
    stream_id: String,
    stream_version: i64,
    event_type: String,
    subject: String,
    payload: Vec<u8>,
    occurred_at: DateTime<Utc>,
    causation_id: Option<Uuid>,
    traceparent: Option<String>,
    recorded_at: DateTime<Utc>,
}

const SELECT_PENDING: &str = r#"
SELECT o.position, e.event_id, e.stream_id, e.stream_version, e.event_type, e.subject,
       e.payload, e.occurred_at, e.causation_id, e.traceparent, e.recorded_at
FROM outbox o JOIN events e ON e.event_id = o.event_id
WHERE NOT o.published
ORDER BY o.position
LIMIT $1
"#;

/// Publishes up to `batch_size` of the oldest pending rows: sends them all, then awaits
/// the acks in order, and marks as published exactly the acked prefix. Everything after
/// the first failure stays pending and is retried (a re-sent message that did reach the
/// stream comes back as a duplicate ack, which counts as success).
pub(crate) async fn publish_batch(
    pool: &PgPool,
    js: &jetstream::Context,
    source: &str,
    batch_size: i64,
    publish_span: Option<PublishSpanFn>,
) -> Result<BatchReport, BatchError> {
    let rows = sqlx::query_as::<_, PendingRow>(SELECT_PENDING)
        .bind(batch_size)
        .fetch_all(pool)
        .await?;
    let mut report = BatchReport {
        fetched: rows.len(),
        ..BatchReport::default()
    };
    if rows.is_empty() {
        return Ok(report);
    }
    // Publishing while disconnected would only queue messages in the client and time
    // out on the acks; better to report the outage at once.
    if js.client().connection_state() != State::Connected {
        return Err(BatchError::NotConnected);
    }

    let span = tracing::info_span!(
        "publish outbox batch",
        "messaging.system" = "nats",
        "messaging.operation" = "publish",
        "messaging.batch.message_count" = rows.len(),
    );
    let (acked, failure) = send_and_confirm(js, source, publish_span, &rows, &mut report)
        .instrument(span)
        .await;

    if !acked.is_empty() {
        sqlx::query("UPDATE outbox SET published = true, published_at = now() WHERE position = ANY($1)")
            .bind(&acked)
            .execute(pool)
            .await?;
    }
    report.published = acked.len();
    match failure {
        None => Ok(report),
        Some(failure) => {
            if let BatchError::Publish { position, .. } = &failure {
                // Diagnostics only: a row that keeps failing shows up with many attempts.
                sqlx::query("UPDATE outbox SET attempts = attempts + 1 WHERE position = $1")
                    .bind(position)
                    .execute(pool)
                    .await?;
            }
            Err(failure)
        }
    }
}

/// The span a row is published in and the `traceparent` its message carries.
fn span_for(row: &PendingRow, publish_span: Option<PublishSpanFn>) -> (tracing::Span, Option<String>) {
    match publish_span {
        Some(make) => make(
            &row.subject,
            &row.event_id.to_string(),
            row.traceparent.as_deref(),
        ),
        None => (
            tracing::debug_span!(
                "publish event",
                "messaging.system" = "nats",
                "messaging.destination.name" = %row.subject,
                "messaging.message.id" = %row.event_id,
            ),
            row.traceparent.clone(),
        ),
    }
}

async fn send_and_confirm(
    js: &jetstream::Context,
    source: &str,
    publish_span: Option<PublishSpanFn>,
    rows: &[PendingRow],
    report: &mut BatchReport,
) -> (Vec<i64>, Option<BatchError>) {
    let mut in_flight = Vec::with_capacity(rows.len());
    let mut send_failure = None;
    for row in rows {
        let (span, traceparent) = span_for(row, publish_span);
        let event = StoredEvent {
            global_position: 0,
            event_id: row.event_id,
            stream_id: row.stream_id.clone(),
            stream_version: row.stream_version,
            event_type: row.event_type.clone(),
            subject: row.subject.clone(),
            payload: row.payload.clone(),
            occurred_at: row.occurred_at,
            causation_id: row.causation_id,
            // The stored value is the appender's context; the message carries the
            // publish span's, so the consumers' spans are children of the send.
            traceparent,
            recorded_at: row.recorded_at,
        }
        .to_cloud_event(source);
        let publish_failed = |reason: String| BatchError::Publish {
            position: row.position,
            reason,
        };
        let headers = match event.to_headers() {
            Ok(headers) => headers,
            Err(error) => {
                // Appends validate this, so only a hand-edited row gets here; it blocks
                // the outbox (never skipped) and says why at error level.
                tracing::error!(event_id = %row.event_id, %error, "stored event cannot be published");
                send_failure = Some(publish_failed(error.to_string()));
                break;
            }
        };
        let sent = js
            .publish_with_headers(row.subject.clone(), headers, event.data)
            .instrument(span)
            .await;
        match sent {
            Ok(ack) => in_flight.push((row.position, ack)),
            Err(error) => {
                send_failure = Some(publish_failed(error.to_string()));
                break;
            }
        }
    }

    let mut acked = Vec::with_capacity(in_flight.len());
    for (position, ack) in in_flight {
        match ack.await {
            Ok(ack) => {
                if ack.duplicate {
                    report.duplicates += 1;
                }
                acked.push(position);
            }
            Err(error) => {
                // An earlier position failing takes precedence over a later send failure;
                // the remaining ack futures are dropped and their rows retried.
                return (
                    acked,
                    Some(BatchError::Publish {
                        position,
                        reason: error.to_string(),
                    }),
                );
            }
        }
    }
    (acked, send_failure)
}

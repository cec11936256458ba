//! Appending and reading events, with optimistic concurrency and a transactional outbox.

use std::{fmt, sync::Arc};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use kenduren_bus::{validate_token, CloudEvent};
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::StoreError;

/// Largest payload accepted: a bigger one could never be published (NATS' default
/// `max_payload` is 1 MiB including headers) and would block the outbox forever.
pub const MAX_PAYLOAD_BYTES: usize = 1_000_000;

/// What the writer believes the stream's current version is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check (still refused if a concurrent writer takes the same versions).
    Any,
    /// The stream must be empty.
    NoStream,
    /// The stream must be at exactly this version.
    Exact(i64),
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any version"),
            Self::NoStream => f.write_str("no stream"),
            Self::Exact(v) => write!(f, "version {v}"),
        }
    }
}

impl ExpectedVersion {
    fn allows(self, current: i64) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => current == 0,
            Self::Exact(v) => current == v,
        }
    }
}

/// An event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Event id (also the `Nats-Msg-Id`); UUID v7 keeps ids roughly time-ordered.
    pub event_id: Uuid,
    /// Full protobuf message name, e.g. `kenduren.events.v1.QuestionSubmitted`.
    pub event_type: String,
    /// NATS subject to publish on (see `kenduren_bus::Subjects`).
    pub subject: String,
    /// Protobuf-encoded payload.
    pub payload: Vec<u8>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The event that caused this one, if any.
    pub causation_id: Option<Uuid>,
    /// W3C `traceparent` of the current trace, if any.
    pub traceparent: Option<String>,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredEvent {
    /// Position in this service's log (commit order is not guaranteed).
    pub global_position: i64,
    /// Event id.
    pub event_id: Uuid,
    /// Stream id (e.g. a question id).
    pub stream_id: String,
    /// Version within the stream, from 1.
    pub stream_version: i64,
    /// Full protobuf message name.
    pub event_type: String,
    /// NATS subject.
    pub subject: String,
    /// Protobuf-encoded payload.
    pub payload: Vec<u8>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Causing event, if any.
    pub causation_id: Option<Uuid>,
    /// W3C `traceparent`, if any.
    pub traceparent: Option<String>,
    /// When it was stored.
    pub recorded_at: DateTime<Utc>,
}

impl StoredEvent {
    /// The envelope this event is published in.
    pub fn to_cloud_event(&self, source: &str) -> CloudEvent {
        CloudEvent {
            id: self.event_id,
            source: source.to_owned(),
            ty: self.event_type.clone(),
            time: self.occurred_at,
            subject: self.stream_id.clone(),
            stream_version: self.stream_version,
            causation_id: self.causation_id,
            traceparent: self.traceparent.clone(),
            data: Bytes::from(self.payload.clone()),
        }
    }
}

/// Checks a NATS subject for publishing: dot-separated valid tokens, no wildcards.
fn valid_subject(subject: &str) -> bool {
    subject.split('.').all(|token| validate_token(token).is_ok())
}

/// One service's event store.
#[derive(Debug, Clone)]
pub struct EventStore {
    pool: PgPool,
    service: String,
    source: String,
    /// Raised by every append; [`EventStore::notify_relays`] turns it into a NOTIFY.
    appended: Arc<Notify>,
}

const INSERT_EVENT: &str = r#"
WITH e AS (
    INSERT INTO events (event_id, stream_id, stream_version, event_type, subject, payload,
                        occurred_at, causation_id, traceparent)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (stream_id, stream_version) DO NOTHING
    RETURNING event_id
), o AS (
    INSERT INTO outbox (event_id) SELECT event_id FROM e
), i AS (
    INSERT INTO inbox (consumer, event_id) SELECT $10, event_id FROM e
)
SELECT count(*) FROM e
"#;

const UPSERT_POSITION: &str = r#"
INSERT INTO stream_positions (consumer, source, stream_id, version) VALUES ($1, $2, $3, $4)
ON CONFLICT (consumer, source, stream_id)
DO UPDATE SET version = GREATEST(stream_positions.version, EXCLUDED.version)
"#;

impl EventStore {
    /// A store for `service` (e.g. `intake`) over a pool confined to its schema.
    pub fn new(pool: PgPool, service: impl Into<String>) -> Self {
        let service = service.into();
        let source = format!("/kenduren/{service}");
        Self {
            pool,
            service,
            source,
            appended: Arc::new(Notify::new()),
        }
    }

    /// Wakes the active relay (in whichever instance holds it) after appends, until
    /// `shutdown`. The NOTIFY is sent here, on its own short transaction, and not inside
    /// the appending one: PostgreSQL serialises the commits of every transaction that
    /// notifies (a database-wide lock held until the commit is durable), which would cost
    /// writers their group commit. A notification may arrive just before the appending
    /// transaction commits; the relay polls again shortly after each one for that case.
    pub async fn notify_relays(&self, shutdown: impl std::future::Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = self.appended.notified() => {}
            }
            // Let the writer's commit land first; appends meanwhile share this NOTIFY.
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            if let Err(error) = sqlx::query("SELECT pg_notify(current_schema() || '_outbox', '')")
                .execute(&self.pool)
                .await
            {
                tracing::debug!(%error, "cannot NOTIFY the relay; it polls");
            }
        }
    }

    /// The pool this store uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The service name; also the inbox consumer name of the service's own events.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// CloudEvents source of this service's events: `/kenduren/<service>`.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Refuses events that could be stored but never published.
    fn check(&self, stream_id: &str, version: i64, event: &NewEvent) -> Result<(), StoreError> {
        let refuse = |reason: String| {
            Err(StoreError::InvalidEvent {
                event_id: event.event_id,
                reason,
            })
        };
        if !valid_subject(&event.subject) {
            return refuse(format!("{:?} is not a valid NATS subject", event.subject));
        }
        if event.event_type.trim().is_empty() {
            return refuse("empty event type".into());
        }
        if event.payload.len() > MAX_PAYLOAD_BYTES {
            return refuse(format!(
                "payload of {} bytes exceeds {MAX_PAYLOAD_BYTES}",
                event.payload.len()
            ));
        }
        let envelope = CloudEvent {
            id: event.event_id,
            source: self.source.clone(),
            ty: event.event_type.clone(),
            time: event.occurred_at,
            subject: stream_id.to_owned(),
            stream_version: version,
            causation_id: event.causation_id,
            traceparent: event.traceparent.clone(),
            data: Bytes::new(),
        };
        if let Err(error) = envelope.to_headers() {
            return refuse(error.to_string());
        }
        Ok(())
    }

    /// Appends `events` to `stream_id` inside the caller's transaction and returns the
    /// new stream version.
    ///
    /// Writes one outbox row per event, records the events in this service's inbox and
    /// stream positions (so its own consumer skips them when they come back from NATS),
    /// and notifies the relay on commit. On any error the caller must roll back.
    pub async fn append(
        &self,
        conn: &mut PgConnection,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<i64, StoreError> {
        if stream_id.is_empty() {
            return Err(StoreError::InvalidConfig {
                reason: "empty stream id".into(),
            });
        }
        let current = self.stream_version(&mut *conn, stream_id).await?;
        let conflict = |actual| StoreError::Conflict {
            stream_id: stream_id.to_owned(),
            expected,
            actual,
        };
        if !expected.allows(current) {
            return Err(conflict(current));
        }
        for (offset, event) in (1..).zip(&events) {
            self.check(stream_id, current + offset, event)?;
        }

        let mut version = current;
        for event in &events {
            version += 1;
            let inserted = sqlx::query_scalar::<_, i64>(INSERT_EVENT)
                .bind(event.event_id)
                .bind(stream_id)
                .bind(version)
                .bind(&event.event_type)
                .bind(&event.subject)
                .bind(&event.payload)
                .bind(event.occurred_at)
                .bind(event.causation_id)
                .bind(&event.traceparent)
                .bind(&self.service)
                .fetch_one(&mut *conn)
                .await
                .map_err(|error| self.map_insert_error(error, event.event_id, || conflict(current)))?;
            if inserted == 0 {
                // ON CONFLICT waited for the concurrent writer to commit; a fresh read sees it.
                let actual = self.stream_version(&mut *conn, stream_id).await?;
                return Err(conflict(actual));
            }
        }
        if events.is_empty() {
            return Ok(current);
        }

        sqlx::query(UPSERT_POSITION)
            .bind(&self.service)
            .bind(&self.source)
            .bind(stream_id)
            .bind(version)
            .execute(&mut *conn)
            .await?;
        self.appended.notify_one();
        // Counted when written into the caller's transaction; a later rollback is rare.
        metrics::counter!("kenduren_events_appended_total", "service" => self.service.clone())
            .increment(events.len() as u64);
        Ok(version)
    }

    fn map_insert_error(
        &self,
        error: sqlx::Error,
        event_id: Uuid,
        conflict: impl FnOnce() -> StoreError,
    ) -> StoreError {
        let Some(db) = error.as_database_error() else {
            return error.into();
        };
        match (db.code().as_deref(), db.constraint()) {
            (Some("23505"), Some("events_stream_version_key")) => conflict(),
            (Some("23505"), Some("events_event_id_key")) => StoreError::DuplicateEventId { event_id },
            // Under REPEATABLE READ or SERIALIZABLE, a concurrent writer surfaces as a
            // serialization failure rather than as a conflicting row.
            (Some("40001"), _) => conflict(),
            _ => error.into(),
        }
    }

    /// The stream's current version; 0 when it has no events.
    pub async fn stream_version(&self, conn: &mut PgConnection, stream_id: &str) -> Result<i64, StoreError> {
        let version = sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(MAX(stream_version), 0)::BIGINT FROM events WHERE stream_id = $1",
        )
        .bind(stream_id)
        .fetch_one(conn)
        .await?;
        Ok(version)
    }

    /// All events of a stream, in version order.
    pub async fn read_stream(&self, stream_id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let events = sqlx::query_as::<_, StoredEvent>(
            "SELECT global_position, event_id, stream_id, stream_version, event_type, subject, \
                    payload, occurred_at, causation_id, traceparent, recorded_at \
             FROM events WHERE stream_id = $1 ORDER BY stream_version",
        )
        .bind(stream_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(events)
    }

    /// Marks every event unpublished so the relay republishes the whole log, e.g. after
    /// the broker lost data. Returns how many rows were reset.
    ///
    /// Republished events keep their `Nats-Msg-Id`, so a stream that still remembers them
    /// in its duplicate window (it was purged, not recreated) acks them as duplicates and
    /// stores nothing: recreate the stream first, or wait out the window.
    pub async fn mark_all_unpublished(&self) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let reset = sqlx::query("UPDATE outbox SET published = false, published_at = NULL WHERE published")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("SELECT pg_notify(current_schema() || '_outbox', '')")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(reset)
    }

    /// Number of unpublished events and when the oldest of them was stored.
    pub async fn outbox_backlog(&self) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
        let backlog = sqlx::query_as::<_, (i64, Option<DateTime<Utc>>)>(
            "SELECT count(*), min(e.recorded_at) \
             FROM outbox o JOIN events e ON e.event_id = o.event_id \
             WHERE NOT o.published",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(backlog)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_version_rules() {
        assert!(ExpectedVersion::Any.allows(7));
        assert!(ExpectedVersion::NoStream.allows(0));
        assert!(!ExpectedVersion::NoStream.allows(1));
        assert!(ExpectedVersion::Exact(3).allows(3));
        assert!(!ExpectedVersion::Exact(3).allows(2));
    }

    #[test]
    fn subjects_must_be_publishable() {
        assert!(valid_subject("kenduren.v1.question.BAPENDA.QuestionRouted"));
        for bad in ["", "a..b", "a.*.b", "a.>", "a b", ".a", "a.", "a.b\r\n"] {
            assert!(!valid_subject(bad), "{bad:?}");
        }
    }
}

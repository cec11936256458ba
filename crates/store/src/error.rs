//! The store's error type.

use thiserror::Error;
use uuid::Uuid;

use crate::ExpectedVersion;

/// Failure of an event-store, relay or consumer operation.
#[derive(Debug, Error)]
pub enum StoreError {
    /// Optimistic concurrency: the stream is not at the version the writer expected
    /// (or a concurrent writer got there first). Roll back, reload and retry.
    #[error("version conflict on stream {stream_id}: expected {expected}, found {actual}")]
    Conflict {
        /// The stream written to.
        stream_id: String,
        /// What the writer expected.
        expected: ExpectedVersion,
        /// The version found when the conflict was detected.
        actual: i64,
    },
    /// An event with this id is already stored (a caller reused an id).
    #[error("event {event_id} is already stored")]
    DuplicateEventId {
        /// The reused id.
        event_id: Uuid,
    },
    /// The event cannot be stored because it could never be published.
    #[error("event {event_id} refused: {reason}")]
    InvalidEvent {
        /// The refused event.
        event_id: Uuid,
        /// Why.
        reason: String,
    },
    /// The schema name is not a plain lower-case identifier.
    #[error(
        "invalid schema name {schema:?}: expected [a-z_][a-z0-9_]* (at most 55 characters, no pg_ prefix)"
    )]
    InvalidSchema {
        /// The refused name.
        schema: String,
    },
    /// Service migrations overlap the store's own or each other.
    #[error("invalid service migrations: {reason}")]
    InvalidMigrations {
        /// Why.
        reason: String,
    },
    /// A relay or consumer configuration cannot work.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// Why.
        reason: String,
    },
    /// Postgres failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Running migrations failed.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

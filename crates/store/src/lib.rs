//! Postgres event store: append with optimistic concurrency, outbox relay, inbox-deduplicating consumers.
//!
//! Postgres is the system of record; JetStream is the distribution channel. A service
//! appends events and outbox rows in one transaction ([`EventStore::append`]), one
//! [`Relay`] per service publishes the outbox in order, and [`Consumer`]s apply other
//! services' events exactly once per read model, in stream order, via an inbox table.

mod consumer;
mod error;
mod event_store;
mod migrate;
mod pool;
mod relay;
mod util;

pub use consumer::{dead_letter_count, BoxError, Consumer, ConsumerConfig, EventHandler, HandlerError};
pub use error::StoreError;
pub use event_store::{EventStore, ExpectedVersion, NewEvent, StoredEvent, MAX_PAYLOAD_BYTES};
pub use migrate::{base_migrator, migrate, migrator, SERVICE_MIGRATIONS_START};
pub use pool::{connect_pool, validate_schema};
pub use relay::{relay_lock_key, Relay, RelayConfig};

/// Re-exported so services name the same versions as this crate.
pub use kenduren_bus::CloudEvent;
/// Re-exported so services name the same sqlx version as this crate.
pub use sqlx;

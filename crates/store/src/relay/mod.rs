//! The outbox relay: publishes a service's pending events to JetStream, in order.
//!
//! Exactly one relay per service is active, elected with a session-level Postgres
//! advisory lock held on a dedicated connection: the lock dies with that connection, so
//! a standby takes over when the active process dies. Several relays sharing the work
//! (e.g. `SKIP LOCKED`) would reorder a question's events, hence one.

mod batch;

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::util::{Backoff, Outage, Shutdown};
use crate::{validate_schema, StoreError};
use batch::{publish_batch, BatchError};

/// Advisory-lock key of the relay of `schema`: a stable FNV-1a hash, so every instance
/// of a service computes the same key. Advisory locks are per database, so services
/// sharing a database only need distinct schema names.
pub fn relay_lock_key(schema: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in "kenduren.relay.".bytes().chain(schema.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// How soon the relay looks again after a notification (see `EventStore::notify_relays`).
const RECHECK_AFTER_NOTIFY: Duration = Duration::from_millis(25);

/// How long the active relay waits for its lock connection to answer a ping. A
/// connection whose server vanished without a FIN would otherwise hang the ping for the
/// kernel's retransmission timeout (~15 min) while the relay still thinks it is active.
const LOCK_PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Server-side TCP keepalive of the lock connection (`tcp_keepalives_*` session
/// settings): when a relay's host disappears without closing the socket, Postgres ends
/// the session, releasing the lock, after about idle + interval x count = 25 s instead
/// of the OS default of over two hours. sqlx has no client-side keepalive option; the
/// server side is what frees the lock. Ignored on Unix-socket connections.
const LOCK_KEEPALIVE: [(&str, &str); 3] = [
    ("tcp_keepalives_idle", "10"),
    ("tcp_keepalives_interval", "5"),
    ("tcp_keepalives_count", "3"),
];

/// Builds the span one message is published in, given its subject, event id and the
/// `traceparent` stored with the event; returns the span and the `traceparent` the
/// message carries (normally the span's own, so consumers become its children). The
/// store knows no OpenTelemetry, so the service supplies this (see `kenduren-runtime`).
pub type PublishSpanFn =
    fn(subject: &str, event_id: &str, traceparent: Option<&str>) -> (tracing::Span, Option<String>);

/// Relay settings.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// CloudEvents source of the published events, e.g. `/kenduren/intake`.
    pub source: String,
    /// NOTIFY channel the store signals on: `<schema>_outbox`.
    pub channel: String,
    /// Advisory-lock key electing the active relay; see [`relay_lock_key`].
    pub lock_key: i64,
    /// Rows published per batch.
    pub batch_size: u32,
    /// Fallback polling interval (notifications can be missed), and how often a
    /// standby retries the lock.
    pub poll_interval: Duration,
    /// Cap of the exponential backoff after a failed publish.
    pub max_backoff: Duration,
    /// Bound on the final flush at shutdown.
    pub shutdown_flush_timeout: Duration,
    /// Span per published message; `None` publishes in a plain debug span and forwards
    /// the stored `traceparent` unchanged.
    pub publish_span: Option<PublishSpanFn>,
}

impl RelayConfig {
    /// Defaults for the relay of `schema` publishing as `source` (see `EventStore::source`).
    pub fn new(source: impl Into<String>, schema: &str) -> Result<Self, StoreError> {
        validate_schema(schema)?;
        Ok(Self {
            source: source.into(),
            channel: format!("{schema}_outbox"),
            lock_key: relay_lock_key(schema),
            batch_size: 256,
            poll_interval: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
            shutdown_flush_timeout: Duration::from_secs(5),
            publish_span: None,
        })
    }
}

/// Why the active phase ended.
enum ActiveEnd {
    Shutdown,
    LostLock,
}

/// The outbox relay of one service.
#[derive(Debug, Clone)]
pub struct Relay {
    config: RelayConfig,
}

impl Relay {
    /// A relay with `config`.
    pub fn new(config: RelayConfig) -> Self {
        Self { config }
    }

    /// Runs until `shutdown` resolves: waits for the lock as a standby, then publishes
    /// while active. Postgres and NATS failures are retried, never returned; on shutdown
    /// it flushes once more (bounded), releases the lock and returns `Ok`.
    pub async fn run(
        self,
        pool: PgPool,
        js: jetstream::Context,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), StoreError> {
        if self.config.batch_size == 0 || self.config.poll_interval.is_zero() {
            return Err(StoreError::InvalidConfig {
                reason: "relay batch_size and poll_interval must be positive".into(),
            });
        }
        let mut shutdown = Shutdown::new(shutdown);
        let mut db = Outage::new("postgres (relay)");
        loop {
            let Some(lock) = self.acquire_lock(&pool, &mut shutdown, &mut db).await else {
                return Ok(());
            };
            tracing::info!(lock_key = self.config.lock_key, "outbox relay active");
            match self.active(&pool, &js, lock, &mut shutdown, &mut db).await {
                ActiveEnd::Shutdown => return Ok(()),
                ActiveEnd::LostLock => {
                    tracing::warn!("outbox relay lost its lock connection; back to standby");
                }
            }
        }
    }

    /// Standby: retries the lock every poll interval. `None` means shutdown.
    async fn acquire_lock(
        &self,
        pool: &PgPool,
        shutdown: &mut Shutdown<'_>,
        db: &mut Outage,
    ) -> Option<PgConnection> {
        let mut conn: Option<PgConnection> = None;
        let mut announced = false;
        loop {
            if shutdown.requested() {
                if let Some(conn) = conn {
                    let _ = conn.close().await;
                }
                return None;
            }
            let attempt = async {
                let mut c = match conn.take() {
                    Some(c) => c,
                    // A dedicated connection, not a pooled one: the lock must die with it.
                    None => {
                        let options = (*pool.connect_options()).clone().options(LOCK_KEEPALIVE);
                        PgConnection::connect_with(&options).await?
                    }
                };
                let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(self.config.lock_key)
                    .fetch_one(&mut c)
                    .await?;
                Ok::<_, sqlx::Error>((c, locked))
            };
            match attempt.await {
                Ok((c, true)) => {
                    db.recovered();
                    return Some(c);
                }
                Ok((c, false)) => {
                    db.recovered();
                    if !announced {
                        tracing::info!("another outbox relay is active; standing by");
                        announced = true;
                    }
                    conn = Some(c);
                }
                Err(error) => db.failed(&error),
            }
            // Shutdown during the sleep is noticed at the top of the loop.
            shutdown.sleep(self.config.poll_interval).await;
        }
    }

    /// Active: publishes on every notification or poll tick until shutdown or until the
    /// lock connection is lost.
    async fn active(
        &self,
        pool: &PgPool,
        js: &jetstream::Context,
        mut lock: PgConnection,
        shutdown: &mut Shutdown<'_>,
        db: &mut Outage,
    ) -> ActiveEnd {
        // The listener gets its own one-connection pool so it neither starves nor is
        // starved by the service's pool.
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with((*pool.connect_options()).clone());
        let mut listener: Option<PgListener> = None;
        let mut nats = Outage::new("nats (relay)");
        let mut backoff = Backoff::new(Duration::from_millis(100), self.config.max_backoff);
        let mut recheck = false;

        let end = loop {
            if shutdown.requested() {
                break ActiveEnd::Shutdown;
            }
            // Publish only while the session holding the lock is known to be alive: if it
            // was terminated (or its server is gone), a standby may already be active.
            match tokio::time::timeout(LOCK_PING_TIMEOUT, lock.ping()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    db.failed(&error);
                    break ActiveEnd::LostLock;
                }
                Err(_) => {
                    tracing::warn!("the outbox relay's lock connection did not answer within 5 s");
                    break ActiveEnd::LostLock;
                }
            }
            if listener.is_none() {
                listener = self.listen(&listen_pool).await;
            }
            let wait = match self.flush(pool, js, shutdown, db, &mut nats).await {
                Ok(()) => {
                    backoff.reset();
                    None
                }
                Err(()) => Some(backoff.next_delay()),
            };
            let mut listener_failed = false;
            let interrupted = match (wait, listener.as_mut()) {
                (Some(delay), _) => shutdown.sleep(delay).await,
                (None, None) => shutdown.sleep(self.config.poll_interval).await,
                (None, Some(l)) => {
                    // A notification can arrive just before the writer's commit is visible:
                    // after one, look again shortly instead of a whole poll interval later.
                    let next_poll = if recheck {
                        RECHECK_AFTER_NOTIFY
                    } else {
                        self.config.poll_interval
                    };
                    recheck = false;
                    tokio::select! {
                        _ = shutdown.wait() => true,
                        _ = tokio::time::sleep(next_poll) => false,
                        received = l.recv() => {
                            // One flush serves any number of notifications.
                            while l.next_buffered().is_some() {}
                            listener_failed = received.is_err();
                            recheck = true;
                            false
                        }
                    }
                }
            };
            if listener_failed {
                // Polling still covers us; the listener is rebuilt next round.
                listener = None;
            }
            if interrupted {
                break ActiveEnd::Shutdown;
            }
        };

        if let ActiveEnd::Shutdown = end {
            let final_flush = async {
                let mut never = Shutdown::new(futures::future::pending());
                self.flush(pool, js, &mut never, db, &mut nats).await
            };
            if tokio::time::timeout(self.config.shutdown_flush_timeout, final_flush)
                .await
                .is_err()
            {
                tracing::warn!("final outbox flush timed out; the rest is published on the next start");
            }
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.config.lock_key)
                .execute(&mut lock)
                .await;
        }
        // Closing the connection releases the lock even if the unlock above failed.
        let _ = lock.close().await;
        // The listener holds the pool's connection; close() would wait for it forever.
        drop(listener);
        listen_pool.close().await;
        end
    }

    async fn listen(&self, pool: &PgPool) -> Option<PgListener> {
        let mut listener = PgListener::connect_with(pool).await.ok()?;
        match listener.listen(&self.config.channel).await {
            Ok(()) => Some(listener),
            Err(error) => {
                tracing::debug!(%error, "cannot LISTEN for outbox notifications; polling only");
                None
            }
        }
    }

    /// Publishes batches until the outbox is empty. `Err(())` means a failure that was
    /// logged and must be retried after a backoff.
    async fn flush(
        &self,
        pool: &PgPool,
        js: &jetstream::Context,
        shutdown: &mut Shutdown<'_>,
        db: &mut Outage,
        nats: &mut Outage,
    ) -> Result<(), ()> {
        let batch_size = i64::from(self.config.batch_size);
        loop {
            match publish_batch(
                pool,
                js,
                &self.config.source,
                batch_size,
                self.config.publish_span,
            )
            .await
            {
                Ok(report) => {
                    metrics::counter!("kenduren_events_published_total", "source" => self.config.source.clone())
                        .increment(report.published as u64);
                    db.recovered();
                    if report.fetched > 0 {
                        nats.recovered();
                        tracing::debug!(
                            published = report.published,
                            duplicates = report.duplicates,
                            "outbox batch published"
                        );
                    }
                    if report.fetched < self.config.batch_size as usize || shutdown.requested() {
                        return Ok(());
                    }
                }
                Err(BatchError::Database(error)) => {
                    db.failed(&error);
                    return Err(());
                }
                Err(error) => {
                    nats.failed(&error);
                    return Err(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_distinct() {
        assert_eq!(relay_lock_key("intake"), relay_lock_key("intake"));
        assert_ne!(relay_lock_key("intake"), relay_lock_key("routing"));
    }

    #[test]
    fn config_derives_channel_and_key_from_the_schema() {
        let config = RelayConfig::new("/kenduren/intake", "intake").expect("valid");
        assert_eq!(config.channel, "intake_outbox");
        assert_eq!(config.lock_key, relay_lock_key("intake"));
        assert!(RelayConfig::new("/kenduren/x", "Bad Schema").is_err());
    }
}

//! Rebuilding the read models from the stream.
//!
//! How a rebuild coexists with a live reporting service: it never touches the live
//! schema while replaying. It replays the whole stream (a fresh durable consumer with
//! `DeliverPolicy::All`) through the same [`Figures`] handler and the same consumer
//! runner into a fresh schema `reporting_rebuild`, then swaps: in one transaction the
//! live schema is renamed away and the rebuilt one takes the name `reporting` (its inbox
//! re-keyed to the live consumer), the old schema is dropped, and the live durable
//! consumer is deleted. A running service recreates it from the start of the stream;
//! its inbox turns every event the rebuild applied into a skipped duplicate and applies
//! anything that arrived between the end of the replay and the swap. Readers see the
//! old figures until the swap and the rebuilt ones after it; a second rebuild at the
//! same time is refused.

use std::time::{Duration, Instant};

use async_nats::jetstream;
use kenduren_bus::Subjects;
use kenduren_runtime::BackboneSettings;
use kenduren_store::{Consumer, ConsumerConfig, StoreError};
use sqlx::{Connection, PgConnection};
use tokio_util::sync::CancellationToken;

use crate::projection::Figures;
use crate::{MIGRATIONS, NAME};

/// Schema and durable consumer the rebuild replays into.
pub const REBUILD_SCHEMA: &str = "reporting_rebuild";
/// Advisory lock key that keeps two rebuilds apart ("KREBUILD").
const REBUILD_LOCK: i64 = 0x4b52_4542_5549_4c44;

/// Why a rebuild failed; the live read models are untouched unless the swap began.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// Another rebuild holds the lock.
    #[error("another rebuild is running")]
    Busy,
    /// NATS or the stream failed.
    #[error("nats: {0}")]
    Nats(String),
    /// Postgres failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The event store's set-up failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn nats(error: impl std::fmt::Display) -> RebuildError {
    RebuildError::Nats(error.to_string())
}

/// Where a rebuild is.
#[derive(Debug, Clone, Copy)]
pub struct RebuildProgress {
    /// Stream messages the replay has consumed (applied, skipped or parked).
    pub done: u64,
    /// Messages in the stream when the rebuild started.
    pub total: u64,
    /// Time since the replay started.
    pub elapsed: Duration,
}

impl RebuildProgress {
    /// Replay speed so far.
    pub fn events_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.done as f64 / secs
        } else {
            0.0
        }
    }
}

/// Rebuilds the reporting read models from the stream and swaps them in (see the
/// module docs), reporting progress about five times a second. Returns the final progress.
pub async fn rebuild(
    settings: &BackboneSettings,
    mut progress: impl FnMut(&RebuildProgress),
) -> Result<RebuildProgress, RebuildError> {
    let mut lock = PgConnection::connect(&settings.database_url).await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(REBUILD_LOCK)
        .fetch_one(&mut lock)
        .await?;
    if !locked {
        return Err(RebuildError::Busy);
    }
    let client = kenduren_bus::connect(&settings.nats_url).await.map_err(nats)?;
    let js = jetstream::new(client.clone());
    let subjects = Subjects::new(&settings.subject_prefix).map_err(nats)?;
    let mut stream = js.get_stream(&settings.stream).await.map_err(nats)?;
    let total = stream.info().await.map_err(nats)?.state.last_sequence;
    let _ = stream.delete_consumer(REBUILD_SCHEMA).await;

    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {REBUILD_SCHEMA} CASCADE"
    )))
    .execute(&mut lock)
    .await?;
    let pool =
        kenduren_store::connect_pool(&settings.database_url, REBUILD_SCHEMA, settings.pool_size).await?;
    kenduren_store::migrate(&pool, &MIGRATIONS).await?;

    let stop = CancellationToken::new();
    let replay = tokio::spawn({
        let (pool, js, name, stop) = (pool.clone(), js.clone(), settings.stream.clone(), stop.clone());
        // One transaction at a time, like the live consumer: the scorecard summaries'
        // triggers make every question of an OPD and day update the same summary row,
        // so concurrent transactions would deadlock on them.
        let config = ConsumerConfig::new(REBUILD_SCHEMA, subjects.all());
        async move {
            Consumer::new(config)
                .run(pool, js, &name, Figures, stop.cancelled_owned())
                .await
        }
    });
    let started = Instant::now();
    let last = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if replay.is_finished() {
            break Err(RebuildError::Nats("the replay stopped early".into()));
        }
        let Ok(info) = stream.consumer_info(REBUILD_SCHEMA).await else {
            continue; // not created yet
        };
        let now = RebuildProgress {
            done: info.delivered.stream_sequence,
            total,
            elapsed: started.elapsed(),
        };
        progress(&now);
        if info.num_pending == 0 && info.num_ack_pending == 0 && info.delivered.stream_sequence >= total {
            break Ok(now);
        }
    };
    stop.cancel();
    let _ = replay.await;
    pool.close().await;
    let last = last?;
    swap(&mut lock).await?;
    let _ = stream.delete_consumer(REBUILD_SCHEMA).await;
    // The live consumer starts over; its inbox (the rebuilt one) skips what is applied.
    let _ = stream.delete_consumer(NAME).await;
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(REBUILD_LOCK)
        .execute(&mut lock)
        .await;
    let _ = client.drain().await;
    Ok(RebuildProgress {
        elapsed: started.elapsed(),
        ..last
    })
}

/// Puts the rebuilt schema in place of the live one.
async fn swap(conn: &mut PgConnection) -> Result<(), RebuildError> {
    let mut tx = conn.begin().await?;
    for table in ["inbox", "stream_positions", "dead_letters"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {REBUILD_SCHEMA}.{table} SET consumer = $1 WHERE consumer = $2"
        )))
        .bind(NAME)
        .bind(REBUILD_SCHEMA)
        .execute(&mut *tx)
        .await?;
    }
    let live: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
        .bind(NAME)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("DROP SCHEMA IF EXISTS reporting_old CASCADE")
        .execute(&mut *tx)
        .await?;
    if live {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER SCHEMA {NAME} RENAME TO reporting_old"
        )))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER SCHEMA {REBUILD_SCHEMA} RENAME TO {NAME}"
    )))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    // Dropping the old tables also makes live connections re-plan their cached
    // statements against the new ones (same search_path, new objects).
    sqlx::query("DROP SCHEMA IF EXISTS reporting_old CASCADE")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

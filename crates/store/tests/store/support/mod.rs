//! Test isolation: a fresh database per test, a fresh JetStream stream and subject
//! prefix per test, both removed on drop (also when the test panics).

mod bus;
mod handler;

pub use bus::TestBus;
pub use handler::{applied_versions, Recorder};

use std::future::Future;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use bytes::Bytes;
use chrono::Utc;
use kenduren_bus::{CloudEvent, Subjects};
use kenduren_store::sqlx::migrate::Migrator;
use kenduren_store::sqlx::{self, PgConnection, PgPool};
use kenduren_store::{
    connect_pool, migrate, Consumer, ConsumerConfig, EventHandler, NewEvent, Relay, RelayConfig, StoreError,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The test read model (`applied`), migrated together with the store's tables.
pub static TEST_MIGRATIONS: Migrator = sqlx::migrate!("tests/store/migrations");

pub fn admin_url() -> String {
    std::env::var("KENDUREN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn nats_url() -> String {
    std::env::var("KENDUREN_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{base}/{database}{query}")
}

/// Runs `work` to completion on a fresh runtime in a fresh thread: usable from `Drop`,
/// even while a test's runtime is unwinding.
pub(crate) fn block_on_side<F: Future<Output = ()> + Send + 'static>(work: F) {
    let _ = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
            rt.block_on(work);
        }
    })
    .join();
}

/// A database of its own, dropped (with its connections) at the end of the test.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

/// Logs to the test output when `KENDUREN_TEST_LOG` holds a filter (e.g. `kenduren_store=debug`).
fn init_logging() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if let Ok(filter) = std::env::var("KENDUREN_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

impl TestDb {
    pub async fn create() -> Self {
        init_logging();
        let name = format!("kt_{}", Uuid::new_v4().simple());
        let admin = admin_url();
        let mut conn = <PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect to the admin database");
        sqlx::query(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = sqlx::Connection::close(conn).await;
        let url = with_database(&admin, &name);
        Self { name, url }
    }

    /// A pool on `schema`, migrated with the store's and the test's migrations.
    pub async fn pool(&self, schema: &str) -> PgPool {
        let pool = connect_pool(&self.url, schema, 8).await.expect("connect pool");
        migrate(&pool, &TEST_MIGRATIONS).await.expect("migrate");
        pool
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        block_on_side(async move {
            if let Ok(mut conn) = <PgConnection as sqlx::Connection>::connect(&admin_url()).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                )))
                .execute(&mut conn)
                .await;
            }
        });
    }
}

/// A question event for `stream_id` with a fresh UUID v7.
pub fn new_event(subjects: &Subjects, event_name: &str) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: format!("kenduren.events.v1.{event_name}"),
        subject: subjects.question(None, event_name),
        payload: vec![0x0a, 0x02, 0xff, 0x00],
        occurred_at: Utc::now(),
        causation_id: None,
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
    }
}

/// A foreign event as another service would have published it.
pub fn foreign_event(stream_id: &str, version: i64, ty: &str) -> CloudEvent {
    CloudEvent {
        id: Uuid::now_v7(),
        source: "/kenduren/other".into(),
        ty: ty.into(),
        time: Utc::now(),
        subject: stream_id.into(),
        stream_version: version,
        causation_id: None,
        traceparent: None,
        data: Bytes::from_static(b"\x08\x01"),
    }
}

/// Appends `events` to `stream_id` in a transaction of its own.
pub async fn append(
    store: &kenduren_store::EventStore,
    stream_id: &str,
    expected: kenduren_store::ExpectedVersion,
    events: Vec<NewEvent>,
) -> Result<i64, StoreError> {
    let mut tx = store.pool().begin().await?;
    let version = store.append(&mut tx, stream_id, expected, events).await?;
    tx.commit().await?;
    Ok(version)
}

/// Polls `condition` until it holds; panics after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A spawned relay or consumer with its shutdown trigger.
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), StoreError>>,
}

impl Running {
    fn spawn<F>(run: impl FnOnce(oneshot::Receiver<()>) -> F) -> Self
    where
        F: Future<Output = Result<(), StoreError>> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        Self {
            stop: Some(stop),
            handle: tokio::spawn(run(stopped)),
        }
    }

    /// Signals shutdown and waits for a clean return.
    pub async fn stop(mut self) -> Result<(), StoreError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), &mut self.handle)
            .await
            .expect("stops in time")
            .expect("task did not panic")
    }
}

impl Running {
    /// Kills the task where it stands, as a crashed process would stop: no shutdown
    /// signal, no final flush, no unlock. Its connections are dropped with it.
    pub async fn abort(self) {
        self.handle.abort();
        let _ = self.handle.await;
    }
}

pub fn fast_relay_config(source: &str, schema: &str) -> RelayConfig {
    let mut config = RelayConfig::new(source, schema).expect("valid relay config");
    config.poll_interval = Duration::from_millis(100);
    config.max_backoff = Duration::from_millis(500);
    config.shutdown_flush_timeout = Duration::from_secs(2);
    config
}

pub fn spawn_relay(pool: &PgPool, js: &jetstream::Context, config: RelayConfig) -> Running {
    let (pool, js) = (pool.clone(), js.clone());
    Running::spawn(move |stopped| async move {
        Relay::new(config)
            .run(pool, js, async move {
                let _ = stopped.await;
            })
            .await
    })
}

pub fn fast_consumer_config(durable: &str, filter: &str) -> ConsumerConfig {
    let mut config = ConsumerConfig::new(durable, filter);
    config.ack_wait = Duration::from_secs(5);
    config.max_deliver = 6;
    config.backoff_base = Duration::from_millis(50);
    config.backoff_cap = Duration::from_secs(1);
    config.gap_delay = Duration::from_millis(100);
    config.fetch_expires = Duration::from_secs(1);
    config
}

pub fn spawn_consumer<H: EventHandler>(
    pool: &PgPool,
    bus: &TestBus,
    config: ConsumerConfig,
    handler: H,
) -> Running {
    spawn_consumer_with(pool, &bus.js, &bus.stream_name, config, handler)
}

/// Like [`spawn_consumer`], on a NATS connection of the caller's choice.
pub fn spawn_consumer_with<H: EventHandler>(
    pool: &PgPool,
    js: &jetstream::Context,
    stream: &str,
    config: ConsumerConfig,
    handler: H,
) -> Running {
    let (pool, js, stream) = (pool.clone(), js.clone(), stream.to_owned());
    Running::spawn(move |stopped| async move {
        Consumer::new(config)
            .run(pool, js, &stream, handler, async move {
                let _ = stopped.await;
            })
            .await
    })
}

pub async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("count query")
}

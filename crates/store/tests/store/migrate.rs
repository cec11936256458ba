//! Schemas, merged migrations and stream set-up.

use std::time::Duration;

use kenduren_bus::{ensure_stream, StreamSettings};
use kenduren_store::{connect_pool, migrate, StoreError};

use crate::support::{count, TestBus, TestDb, TEST_MIGRATIONS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_in_the_schema_once_and_rerun_is_a_noop() {
    let db = TestDb::create().await;
    let pool = db.pool("routing").await;
    migrate(&pool, &TEST_MIGRATIONS)
        .await
        .expect("second run is a no-op");

    let versions: Vec<i64> =
        kenduren_store::sqlx::query_scalar("SELECT version FROM routing._sqlx_migrations ORDER BY version")
            .fetch_all(&pool)
            .await
            .expect("migrations table in the schema");
    assert_eq!(versions, [1, 1000]);
    let in_public = count(
        &pool,
        "SELECT count(*) FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name IN ('events', 'applied', '_sqlx_migrations')",
    )
    .await;
    assert_eq!(in_public, 0);

    // A second service in the same database gets its own tables.
    let other = db.pool("intake").await;
    let schemas: Vec<String> = kenduren_store::sqlx::query_scalar(
        "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'events' ORDER BY 1",
    )
    .fetch_all(&other)
    .await
    .expect("schemas");
    assert_eq!(schemas, ["intake", "routing"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_pool_refuses_unsafe_schema_names() {
    let db = TestDb::create().await;
    for bad in ["Intake", "a;drop schema public", "pg_temp", ""] {
        assert!(matches!(
            connect_pool(&db.url, bad, 1).await,
            Err(StoreError::InvalidSchema { .. })
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_stream_creates_then_updates() {
    let bus = TestBus::create().await;
    let mut settings = StreamSettings::new(&bus.stream_name, bus.subjects.clone());
    ensure_stream(&bus.js, &settings).await.expect("idempotent");
    settings.max_age = Duration::from_secs(3 * 24 * 60 * 60);
    let mut stream = ensure_stream(&bus.js, &settings).await.expect("update");
    let info = stream.info().await.expect("info");
    assert_eq!(info.config.max_age, settings.max_age);
    assert_eq!(info.config.subjects, vec![bus.subjects.all()]);
    assert_eq!(
        info.config.duplicate_window,
        kenduren_bus::DEFAULT_DUPLICATE_WINDOW
    );
}

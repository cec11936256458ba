//! The test read model's handler.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use kenduren_bus::CloudEvent;
use kenduren_store::sqlx::{self, PgConnection, PgPool};
use kenduren_store::{EventHandler, HandlerError};

/// Test handler: records every application in `applied`; `test.Poison` is poison and
/// `test.Flaky` fails transiently while `flaky_failures` is positive.
#[derive(Clone, Default)]
pub struct Recorder {
    pub consumer: String,
    pub flaky_failures: Arc<AtomicUsize>,
}

impl Recorder {
    pub fn new(consumer: &str) -> Self {
        Self {
            consumer: consumer.into(),
            flaky_failures: Arc::default(),
        }
    }
}

impl EventHandler for Recorder {
    async fn handle(&self, conn: &mut PgConnection, event: &CloudEvent) -> Result<(), HandlerError> {
        match event.ty.as_str() {
            "test.Poison" => return Err(HandlerError::Poison("test poison".into())),
            "test.Flaky"
                if self
                    .flaky_failures
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok() =>
            {
                return Err(HandlerError::transient("flaky dependency"));
            }
            _ => {}
        }
        sqlx::query(
            "INSERT INTO applied (consumer, source, stream_id, stream_version, event_id, event_type) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&self.consumer)
        .bind(&event.source)
        .bind(&event.subject)
        .bind(event.stream_version)
        .bind(event.id)
        .bind(&event.ty)
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// The versions `consumer` applied to `stream_id`, in application order.
pub async fn applied_versions(pool: &PgPool, consumer: &str, stream_id: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT stream_version FROM applied WHERE consumer = $1 AND stream_id = $2 ORDER BY seq",
    )
    .bind(consumer)
    .bind(stream_id)
    .fetch_all(pool)
    .await
    .expect("applied versions")
}

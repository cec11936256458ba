//! The machine's floors, measured in the same run with the same payload size and
//! concurrency as the pipeline: what Postgres, JetStream and tonic do with nothing of
//! Kenduren in the way. Each pipeline figure is reported as a ratio to these.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures::FutureExt;
use sqlx::{postgres::PgPoolOptions, Executor};
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

use crate::{
    drive::{closed_loop, Op},
    stats::Throughput,
    BenchError,
};

/// Single-row commits per second: one `INSERT` of a `payload`-byte row per transaction,
/// from `concurrency` connections, into a table of a schema made for the run and
/// dropped after it.
pub async fn postgres_commits(
    database_url: &str,
    concurrency: usize,
    payload: usize,
    duration: Duration,
) -> Result<Throughput, BenchError> {
    let pool = PgPoolOptions::new()
        .max_connections(concurrency.max(1) as u32)
        .min_connections(concurrency.max(1) as u32)
        .connect(database_url)
        .await
        .map_err(|e| BenchError::Postgres(format!("floor pool: {e}")))?;
    let schema = format!("kbench_floor_{}", uuid::Uuid::new_v4().simple());
    pool.execute(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA {schema}; CREATE TABLE {schema}.rows (id bigserial primary key, payload bytea not null)"
    )))
    .await
    .map_err(|e| BenchError::Postgres(format!("floor table: {e}")))?;
    let insert: Arc<str> = format!("INSERT INTO {schema}.rows (payload) VALUES ($1)").into();
    let body = Arc::new(vec![b'x'; payload]);
    let op_pool = pool.clone();
    let op: Op = Arc::new(move |_, _| {
        let (pool, insert, body) = (op_pool.clone(), insert.clone(), body.clone());
        async move {
            sqlx::query(sqlx::AssertSqlSafe(insert.to_string()))
                .bind(body.as_slice())
                .execute(&pool)
                .await
                .is_ok()
        }
        .boxed()
    });
    let result = closed_loop(concurrency, duration, op).await;
    let _ = pool
        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await;
    pool.close().await;
    Ok(result)
}

/// JetStream publishes per second, each awaited until the server's ack, to a file-backed
/// stream of one replica made for the run and deleted after it.
pub async fn jetstream_acks(
    nats_url: &str,
    concurrency: usize,
    payload: usize,
    duration: Duration,
) -> Result<Throughput, BenchError> {
    let client = async_nats::connect(nats_url)
        .await
        .map_err(|e| BenchError::Nats(format!("floor connection: {e}")))?;
    let js = async_nats::jetstream::new(client);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let stream = format!("KBENCH_FLOOR_{id}");
    let subject: Arc<str> = format!("kbenchfloor{}.events", &id[..12]).into();
    js.create_stream(async_nats::jetstream::stream::Config {
        name: stream.clone(),
        subjects: vec![subject.to_string()],
        storage: async_nats::jetstream::stream::StorageType::File,
        num_replicas: 1,
        ..Default::default()
    })
    .await
    .map_err(|e| BenchError::Nats(format!("floor stream: {e}")))?;
    let body = Bytes::from(vec![b'x'; payload]);
    let op_js = js.clone();
    let op: Op = Arc::new(move |_, _| {
        let (js, subject, body) = (op_js.clone(), subject.clone(), body.clone());
        async move {
            match js.publish(subject.to_string(), body).await {
                Ok(ack) => ack.await.is_ok(),
                Err(_) => false,
            }
        }
        .boxed()
    });
    let result = closed_loop(concurrency, duration, op).await;
    let _ = js.delete_stream(&stream).await;
    Ok(result)
}

/// Empty unary gRPC calls per second: `grpc.health.v1.Health/Check` against `addr`
/// over one HTTP/2 connection, as the pipeline's clients use.
pub async fn tonic_unary(
    url: &str,
    concurrency: usize,
    duration: Duration,
) -> Result<Throughput, BenchError> {
    let channel = crate::connect(url).await?;
    let op: Op = Arc::new(move |_, _| {
        let mut client = HealthClient::new(channel.clone());
        async move {
            client
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .is_ok()
        }
        .boxed()
    });
    Ok(closed_loop(concurrency, duration, op).await)
}

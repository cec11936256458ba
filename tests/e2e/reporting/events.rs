//! Appends hand-made events to the producing services' own event stores, so their
//! relays publish them as if the services had written them. They go on
//! `<prefix>.v1.scenario.<name>` subjects, which only reporting (`<prefix>.v1.>`)
//! consumes: the other services do not react, so every figure is known in advance.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use kenduren_proto::EventMessage;
use kenduren_runtime::new_event;
use kenduren_store::{EventStore, ExpectedVersion};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{eventually, TestSystem};

/// The service that owns an event.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Intake,
    Routing,
    Answering,
}

/// Writes events into the owners' stores and remembers their ids.
pub struct Events {
    prefix: String,
    intake: EventStore,
    routing: EventStore,
    answering: EventStore,
    reporting: PgPool,
    /// The last event of each stream, the cause of the next one (so consumers order them).
    last: HashMap<String, Uuid>,
    /// Every event appended.
    pub ids: Vec<Uuid>,
}

/// A pool on `schema`, once the service has migrated it (services migrate as they start).
async fn pool(sys: &TestSystem, schema: &str) -> PgPool {
    let pool = kenduren_store::connect_pool(&sys.settings.database_url, schema, 2)
        .await
        .expect("schema pool");
    eventually(&format!("{schema} to be migrated"), || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM _sqlx_migrations WHERE version >= 1000 AND success)",
            )
            .fetch_one(&pool)
            .await
            .ok()
            .filter(|migrated| *migrated)
        }
    })
    .await;
    pool
}

/// 2026-03-02 is a Monday; `day` counts from it, `hour` and `min` are WIB.
pub fn wib(day: u32, hour: u32, min: u32) -> DateTime<Utc> {
    kenduren_domain_wib()
        .with_ymd_and_hms(2026, 3, 2 + day, hour, min, 0)
        .single()
        .expect("valid time")
        .with_timezone(&Utc)
}

fn kenduren_domain_wib() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7")
}

/// A protobuf timestamp.
pub fn ts(at: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(kenduren_runtime::timestamp(at))
}

impl Events {
    /// Stores of the running system's services.
    pub async fn new(sys: &TestSystem) -> Self {
        Self {
            prefix: sys.settings.subject_prefix.clone(),
            intake: EventStore::new(pool(sys, "intake").await, "intake"),
            routing: EventStore::new(pool(sys, "routing").await, "routing"),
            answering: EventStore::new(pool(sys, "answering").await, "answering"),
            reporting: pool(sys, "reporting").await,
            last: HashMap::new(),
            ids: Vec::new(),
        }
    }

    /// Appends `message` to `owner`'s stream `stream`, as happened at `at`.
    pub async fn emit<M: EventMessage>(
        &mut self,
        owner: Owner,
        stream: &str,
        message: &M,
        at: DateTime<Utc>,
    ) -> Uuid {
        let store = match owner {
            Owner::Intake => &self.intake,
            Owner::Routing => &self.routing,
            Owner::Answering => &self.answering,
        };
        let subject = format!("{}.v1.scenario.{}", self.prefix, M::NAME);
        let event = new_event(message, subject, self.last.get(stream).copied(), at);
        let id = event.event_id;
        let mut tx = store.pool().begin().await.expect("begin");
        store
            .append(&mut tx, stream, ExpectedVersion::Any, vec![event])
            .await
            .expect("append");
        tx.commit().await.expect("commit");
        self.last.insert(stream.to_owned(), id);
        self.ids.push(id);
        id
    }

    /// Waits until reporting has applied every event appended so far.
    pub async fn applied(&self) {
        let ids = self.ids.clone();
        let pool = self.reporting.clone();
        eventually("reporting to apply every event", || {
            let (ids, pool) = (ids.clone(), pool.clone());
            async move {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM inbox WHERE consumer = 'reporting' AND event_id = ANY($1)",
                )
                .bind(&ids)
                .fetch_one(&pool)
                .await
                .ok()?;
                (n == ids.len() as i64).then_some(())
            }
        })
        .await;
    }
}

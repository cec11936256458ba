//! `kenduren republish`: rebuilds the event stream from the services' stores after the
//! broker lost data (its storage wiped, a replica set lost), since every event also
//! lives in its owner's Postgres schema.
//!
//! The stream is deleted and created again first: a stream that was only purged keeps
//! its duplicate window, and would ack the republished events (same `Nats-Msg-Id`) as
//! duplicates while storing nothing. Then every schema's outbox is marked unpublished and
//! the running services' relays publish the whole log again, each in its own order;
//! consumers skip what their inbox has already applied.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use async_nats::jetstream;
use clap::Args;
use kenduren_bus::{StreamSettings, Subjects};
use kenduren_store::{connect_pool, EventStore};

use crate::cli::BackboneArgs;

/// The schemas that own events (reporting keeps read models only, but has an outbox
/// table like every service; an empty one costs nothing).
const SERVICES: [&str; 4] = ["intake", "routing", "answering", "reporting"];

/// Options of `kenduren republish`.
#[derive(Debug, Args)]
pub struct RepublishArgs {
    #[command(flatten)]
    pub backbone: BackboneArgs,
    /// Delete the stream even when it still holds messages (they are all in the stores).
    #[arg(long)]
    pub yes: bool,
    /// Seconds to wait for the services' relays to publish everything again; 0 returns
    /// as soon as the outboxes are marked (the services must be running to publish).
    #[arg(long, default_value_t = 300)]
    pub wait: u64,
}

/// Runs `kenduren republish`.
pub async fn run(args: RepublishArgs) -> Result<()> {
    let b = &args.backbone;
    let subjects = Subjects::new(&b.subject_prefix).context("KENDUREN_SUBJECT_PREFIX")?;
    let nats = kenduren_bus::connect_with_name(&b.nats_url, "kenduren-republish").await?;
    let js = jetstream::new(nats.clone());

    recreate_stream(&js, &args, subjects).await?;

    let mut stores = Vec::new();
    for schema in SERVICES {
        if !has_outbox(&b.database_url, schema).await? {
            println!("{schema:<10} no event store in this database; skipped");
            continue;
        }
        let pool = connect_pool(&b.database_url, schema, 2)
            .await
            .with_context(|| format!("connecting to schema {schema}"))?;
        let store = EventStore::new(pool, schema);
        let reset = store
            .mark_all_unpublished()
            .await
            .with_context(|| format!("marking {schema}'s outbox unpublished"))?;
        println!("{schema:<10} {reset} events marked for publishing");
        stores.push(store);
    }

    if args.wait == 0 {
        println!("not waiting: the services' relays publish the marked events");
    } else {
        wait_for_relays(&stores, Duration::from_secs(args.wait)).await?;
        let info = js
            .get_stream(&b.stream)
            .await
            .context("reading the stream")?
            .info()
            .await
            .context("reading the stream")?
            .state
            .messages;
        println!("stream {} holds {info} messages", b.stream);
    }
    nats.drain().await.ok();
    Ok(())
}

/// Deletes the stream when it exists, then creates it with the services' settings.
async fn recreate_stream(js: &jetstream::Context, args: &RepublishArgs, subjects: Subjects) -> Result<()> {
    let b = &args.backbone;
    if let Ok(mut stream) = js.get_stream(&b.stream).await {
        let messages = stream.info().await.context("reading the stream")?.state.messages;
        if messages > 0 && !args.yes {
            bail!(
                "stream {} still holds {messages} messages; pass --yes to delete and rebuild it \
                 from the stores",
                b.stream
            );
        }
        js.delete_stream(&b.stream)
            .await
            .with_context(|| format!("deleting stream {}", b.stream))?;
        println!("stream {} deleted ({messages} messages)", b.stream);
    }
    let settings = StreamSettings {
        replicas: b.stream_replicas,
        ..StreamSettings::new(b.stream.clone(), subjects)
    };
    kenduren_bus::ensure_stream(js, &settings).await?;
    println!(
        "stream {} created ({}, {} replica(s))",
        b.stream,
        settings.subjects.all(),
        settings.replicas.max(1)
    );
    Ok(())
}

/// Whether `schema` holds an event store (without creating the schema, as
/// `connect_pool` would).
async fn has_outbox(database_url: &str, schema: &str) -> Result<bool> {
    use kenduren_store::sqlx::{Connection, PgConnection};
    let mut conn = PgConnection::connect(database_url)
        .await
        .context("connecting to KENDUREN_DATABASE_URL")?;
    let found: bool = kenduren_store::sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
         WHERE table_schema = $1 AND table_name = 'outbox')",
    )
    .bind(schema)
    .fetch_one(&mut conn)
    .await?;
    conn.close().await.ok();
    Ok(found)
}

/// Prints the remaining backlog every second until every outbox is empty.
async fn wait_for_relays(stores: &[EventStore], limit: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        let mut left = Vec::new();
        let mut total = 0;
        for store in stores {
            let (backlog, _) = store.outbox_backlog().await?;
            total += backlog;
            left.push(format!("{} {backlog}", store.service()));
        }
        if total == 0 {
            println!(
                "all events published again in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if started.elapsed() >= limit {
            bail!(
                "{total} events still unpublished after {} s ({}); are the services running?",
                limit.as_secs(),
                left.join(", ")
            );
        }
        println!("waiting for the relays: {}", left.join(", "));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

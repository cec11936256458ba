//! The outbox relay: holds events through NATS outages, publishes each once and in
//! order, survives restarts, and runs as a single active instance.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream;
use kenduren_bus::{ensure_stream, StreamSettings};
use kenduren_store::sqlx::PgPool;
use kenduren_store::{relay_lock_key, EventStore, ExpectedVersion};

use crate::support::{
    append, count, fast_relay_config, new_event, spawn_relay, wait_until, Running, TestBus, TestDb,
};

const WAIT: Duration = Duration::from_secs(20);

/// Appends `n` events round-robin over three streams; returns their ids in append order.
async fn append_many(store: &EventStore, bus: &TestBus, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let event = new_event(&bus.subjects, "QuestionSubmitted");
        ids.push(event.event_id.to_string());
        append(store, &format!("q{}", i % 3), ExpectedVersion::Any, vec![event])
            .await
            .expect("append");
    }
    ids
}

async fn backlog(store: &EventStore) -> i64 {
    store.outbox_backlog().await.expect("backlog").0
}

/// The stream holds exactly `ids`, in order, each once, with Nats-Msg-Id = ce-id.
async fn assert_stream_holds(bus: &TestBus, ids: &[String]) {
    let messages = bus.messages().await;
    let msg_ids: Vec<&str> = messages.iter().map(|(_, msg_id, _)| msg_id.as_str()).collect();
    let ce_ids: Vec<&str> = messages.iter().map(|(_, _, ce_id)| ce_id.as_str()).collect();
    let unique: HashSet<&str> = msg_ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        messages.len(),
        "duplicate Nats-Msg-Id in the stream"
    );
    assert_eq!(msg_ids, ce_ids);
    let expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(msg_ids, expected, "stream order differs from append order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_holds_events_while_nats_is_unreachable_then_publishes_once_in_order() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("intake").await;
    let store = EventStore::new(pool.clone(), "intake");
    let config = fast_relay_config(store.source(), "intake");

    // A client for a port nobody listens on; it keeps trying in the background.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let offline = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(format!("127.0.0.1:{closed_port}"))
        .await
        .expect("lazy client");
    let offline_relay = spawn_relay(&pool, &jetstream::new(offline), config.clone());

    // Accepting events does not depend on NATS.
    let ids = append_many(&store, &bus, 30).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(backlog(&store).await, 30);
    assert!(bus.messages().await.is_empty());
    offline_relay.stop().await.expect("offline relay stops cleanly");
    assert_eq!(backlog(&store).await, 30);

    let relay = spawn_relay(&pool, &bus.js, config);
    wait_until("outbox drained", WAIT, || async { backlog(&store).await == 0 }).await;
    // Give a would-be duplicate publish the chance to land before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    relay.stop().await.expect("relay stops cleanly");

    assert_stream_holds(&bus, &ids).await;
    assert_eq!(
        count(&pool, "SELECT count(*) FROM outbox WHERE published_at IS NULL").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_relay_publishes_no_event_twice() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("intake").await;
    let store = EventStore::new(pool.clone(), "intake");
    let mut config = fast_relay_config(store.source(), "intake");
    config.batch_size = 10;

    let ids = append_many(&store, &bus, 150).await;
    let first = spawn_relay(&pool, &bus.js, config.clone());
    wait_until("some events published", WAIT, || async {
        backlog(&store).await <= 120
    })
    .await;
    first.stop().await.expect("first relay stops");

    // Simulate a crash between the publish ack and the UPDATE: the last 25 published
    // rows look unpublished again and will be sent a second time.
    let reset = kenduren_store::sqlx::query(
        "UPDATE outbox SET published = false, published_at = NULL WHERE position IN \
         (SELECT position FROM outbox WHERE published ORDER BY position DESC LIMIT 25)",
    )
    .execute(&pool)
    .await
    .expect("reset")
    .rows_affected();
    assert_eq!(reset, 25);

    let second = spawn_relay(&pool, &bus.js, config);
    wait_until("outbox drained", WAIT, || async { backlog(&store).await == 0 }).await;
    second.stop().await.expect("second relay stops");

    assert_eq!(
        bus.stream().await.get_info().await.expect("info").state.messages,
        150
    );
    assert_stream_holds(&bus, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republish_after_broker_loss_is_complete_and_deduplicated() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("intake").await;
    let store = EventStore::new(pool.clone(), "intake");
    let config = fast_relay_config(store.source(), "intake");

    let ids = append_many(&store, &bus, 12).await;
    let relay = spawn_relay(&pool, &bus.js, config);
    wait_until("outbox drained", WAIT, || async { backlog(&store).await == 0 }).await;

    // Same stream still there: the duplicate window drops the whole replay.
    assert_eq!(store.mark_all_unpublished().await.expect("reset"), 12);
    wait_until("republished", WAIT, || async { backlog(&store).await == 0 }).await;
    assert_stream_holds(&bus, &ids).await;

    // A purge keeps the stream's duplicate window, so a republish inside the window is
    // acked as duplicate and stored nowhere: operators must recreate the stream.
    bus.stream().await.purge().await.expect("purge");
    store.mark_all_unpublished().await.expect("reset");
    wait_until("republished", WAIT, || async { backlog(&store).await == 0 }).await;
    assert!(bus.messages().await.is_empty(), "purge semantics changed");

    // Broker lost the stream: recreate it and republish everything, in order.
    bus.js.delete_stream(&bus.stream_name).await.expect("delete");
    ensure_stream(
        &bus.js,
        &StreamSettings::new(&bus.stream_name, bus.subjects.clone()),
    )
    .await
    .expect("recreate");
    store.mark_all_unpublished().await.expect("reset");
    wait_until("republished", WAIT, || async { backlog(&store).await == 0 }).await;
    relay.stop().await.expect("relay stops");
    assert_stream_holds(&bus, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_relay_is_active_and_the_standby_takes_over() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("intake").await;
    let store = EventStore::new(pool.clone(), "intake");
    let config = fast_relay_config(store.source(), "intake");

    let client_a = kenduren_bus::connect_with_name(&crate::support::nats_url(), "relay-a")
        .await
        .expect("connect a");
    let client_b = kenduren_bus::connect_with_name(&crate::support::nats_url(), "relay-b")
        .await
        .expect("connect b");
    let sent = |c: &async_nats::Client| c.statistics().out_messages.load(Ordering::SeqCst);

    let relay_a = spawn_relay(&pool, &jetstream::new(client_a.clone()), config.clone());
    let relay_b = spawn_relay(&pool, &jetstream::new(client_b.clone()), config);

    let mut ids = append_many(&store, &bus, 20).await;
    wait_until("outbox drained", WAIT, || async { backlog(&store).await == 0 }).await;
    let (a, b) = (sent(&client_a), sent(&client_b));
    assert!(
        (a >= 20 && b == 0) || (b >= 20 && a == 0),
        "exactly one relay may publish: a sent {a}, b sent {b}"
    );

    let (active, standby, standby_client) = if a > 0 {
        (relay_a, relay_b, client_b)
    } else {
        (relay_b, relay_a, client_a)
    };
    active.stop().await.expect("active relay stops");
    ids.extend(append_many(&store, &bus, 20).await);
    wait_until("standby took over", WAIT, || async { backlog(&store).await == 0 }).await;
    assert!(sent(&standby_client) >= 20);
    standby.stop().await.expect("standby stops");

    assert_stream_holds(&bus, &ids).await;
}

/// The backend holding the relay lock of `schema` in this database, from `pg_locks`
/// (a bigint advisory key shows as classid = high 32 bits, objid = low 32 bits).
async fn lock_holder(pool: &PgPool, schema: &str) -> Option<i32> {
    kenduren_store::sqlx::query_scalar(
        "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
         WHERE d.datname = current_database() AND l.locktype = 'advisory' AND l.granted \
           AND l.classid = (($1::bigint >> 32) & 4294967295)::oid \
           AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1",
    )
    .bind(relay_lock_key(schema))
    .fetch_optional(pool)
    .await
    .expect("pg_locks")
}

/// Two relays, A and B, on NATS connections of their own, and the events they drained.
struct Pair {
    a: (Running, async_nats::Client),
    b: (Running, async_nats::Client),
    ids: Vec<String>,
}

fn sent(client: &async_nats::Client) -> u64 {
    client.statistics().out_messages.load(Ordering::SeqCst)
}

async fn start_pair(pool: &PgPool, store: &EventStore, bus: &TestBus) -> Pair {
    let config = fast_relay_config(store.source(), "intake");
    let mut relays = Vec::new();
    for name in ["relay-a", "relay-b"] {
        let client = kenduren_bus::connect_with_name(&crate::support::nats_url(), name)
            .await
            .expect("connect");
        let relay = spawn_relay(pool, &jetstream::new(client.clone()), config.clone());
        relays.push((relay, client));
    }
    let ids = append_many(store, bus, 20).await;
    wait_until("outbox drained", WAIT, || async { backlog(store).await == 0 }).await;
    let b = relays.pop().expect("b");
    let a = relays.pop().expect("a");
    Pair { a, b, ids }
}

/// (active, standby) by who published the first events.
fn split(
    pair: Pair,
) -> (
    (Running, async_nats::Client),
    (Running, async_nats::Client),
    Vec<String>,
) {
    let (a, b) = (sent(&pair.a.1), sent(&pair.b.1));
    assert!(
        (a >= 20 && b == 0) || (b >= 20 && a == 0),
        "exactly one relay may publish: a sent {a}, b sent {b}"
    );
    if a > 0 {
        (pair.a, pair.b, pair.ids)
    } else {
        (pair.b, pair.a, pair.ids)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_when_the_active_relay_dies_holding_the_lock() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("intake").await;
    let store = EventStore::new(pool.clone(), "intake");
    let (active, (standby, standby_client), mut ids) = split(start_pair(&pool, &store, &bus).await);
    let dead = lock_holder(&pool, "intake")
        .await
        .expect("the active relay holds the lock");

    // The holder dies with events waiting: no unlock, no final flush; its session ends
    // when its connection does.
    ids.extend(append_many(&store, &bus, 20).await);
    active.0.abort().await;
    ids.extend(append_many(&store, &bus, 20).await);
    wait_until("the standby holds the lock", WAIT, || async {
        lock_holder(&pool, "intake").await.is_some_and(|pid| pid != dead)
    })
    .await;
    wait_until("standby drained the backlog", WAIT, || async {
        backlog(&store).await == 0
    })
    .await;
    assert!(sent(&standby_client) >= 20, "the standby published nothing");
    standby.stop().await.expect("standby stops");

    assert_stream_holds(&bus, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_whose_lock_session_is_killed_stops_publishing_and_one_relay_carries_on() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("intake").await;
    let store = EventStore::new(pool.clone(), "intake");
    let (first, second, mut ids) = split(start_pair(&pool, &store, &bus).await);
    let killed = lock_holder(&pool, "intake")
        .await
        .expect("the active relay holds the lock");

    // The server ends the holder's session (an operator, a failover, or the keepalive
    // finding its host gone) while the holder process lives on.
    let terminated: bool = kenduren_store::sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(killed)
        .fetch_one(&pool)
        .await
        .expect("terminate");
    assert!(terminated);
    ids.extend(append_many(&store, &bus, 20).await);
    wait_until("a new session holds the lock", WAIT, || async {
        lock_holder(&pool, "intake")
            .await
            .is_some_and(|pid| pid != killed)
    })
    .await;
    wait_until("outbox drained", WAIT, || async { backlog(&store).await == 0 }).await;

    // Exactly one relay publishes from here on, whichever won the lock.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = (sent(&first.1), sent(&second.1));
    ids.extend(append_many(&store, &bus, 20).await);
    wait_until("outbox drained again", WAIT, || async {
        backlog(&store).await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let grew = (sent(&first.1) - before.0, sent(&second.1) - before.1);
    assert!(
        (grew.0 >= 20 && grew.1 == 0) || (grew.1 >= 20 && grew.0 == 0),
        "exactly one relay may publish after the takeover: {grew:?}"
    );
    first.0.stop().await.expect("first relay stops");
    second.0.stop().await.expect("second relay stops");

    assert_stream_holds(&bus, &ids).await;
}

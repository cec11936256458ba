//! The consumer runner: exactly-once, in-order application despite duplicates,
//! reordering, poison and failures.

use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::HeaderMap;
use kenduren_store::{dead_letter_count, EventStore, ExpectedVersion};

use crate::support::{
    append, applied_versions, count, fast_consumer_config, fast_relay_config, foreign_event, nats_url,
    new_event, spawn_consumer, spawn_consumer_with, spawn_relay, wait_until, Recorder, TestBus, TestDb,
};

const WAIT: Duration = Duration::from_secs(20);

async fn caught_up(bus: &TestBus, durable: &str) -> bool {
    bus.consumer_backlog(durable).await == (0, 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_delivery_changes_the_read_model_once() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("routing").await;
    let subject = bus.subjects.question(None, "QuestionSubmitted");

    let first = foreign_event("q1", 1, "kenduren.events.v1.QuestionSubmitted");
    let second = foreign_event("q1", 2, "kenduren.events.v1.QuestionWithdrawn");
    // Same event twice under different message ids, so the stream keeps both copies.
    bus.publish(&subject, &first, "copy-1").await;
    bus.publish(&subject, &first, "copy-2").await;
    bus.publish(&subject, &second, &second.id.to_string()).await;
    bus.publish(&subject, &first, "copy-3").await;

    let consumer = spawn_consumer(
        &pool,
        &bus,
        fast_consumer_config("routing", &bus.subjects.all()),
        Recorder::new("routing"),
    );
    wait_until("consumer caught up", WAIT, || caught_up(&bus, "routing")).await;
    consumer.stop().await.expect("consumer stops");
    assert_eq!(applied_versions(&pool, "routing", "q1").await, [1, 2]);

    // After a restart (same durable, changed settings), late copies are still skipped.
    bus.publish(&subject, &second, "copy-4").await;
    bus.publish(&subject, &first, "copy-5").await;
    let mut config = fast_consumer_config("routing", &bus.subjects.all());
    config.max_deliver = 8;
    config.ack_wait = Duration::from_secs(7);
    let consumer = spawn_consumer(&pool, &bus, config, Recorder::new("routing"));
    wait_until("consumer caught up", WAIT, || caught_up(&bus, "routing")).await;
    consumer.stop().await.expect("consumer stops");
    let info = bus
        .stream()
        .await
        .consumer_info("routing")
        .await
        .expect("consumer info");
    assert_eq!(
        (info.config.max_deliver, info.config.ack_wait),
        (8, Duration::from_secs(7))
    );

    assert_eq!(applied_versions(&pool, "routing", "q1").await, [1, 2]);
    assert_eq!(count(&pool, "SELECT count(*) FROM inbox").await, 2);
    assert_eq!(dead_letter_count(&pool, "routing").await.expect("count"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_pair_is_applied_in_order_exactly_once() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("routing").await;
    let subject = bus.subjects.question(None, "Q");

    let v1 = foreign_event("q1", 1, "kenduren.events.v1.QuestionSubmitted");
    let v2 = foreign_event("q1", 2, "kenduren.events.v1.QuestionWithdrawn");
    bus.publish(&subject, &v2, &v2.id.to_string()).await;
    bus.publish(&subject, &v1, &v1.id.to_string()).await;

    let consumer = spawn_consumer(
        &pool,
        &bus,
        fast_consumer_config("routing", &bus.subjects.questions()),
        Recorder::new("routing"),
    );
    wait_until("both applied", WAIT, || async {
        applied_versions(&pool, "routing", "q1").await.len() >= 2
    })
    .await;
    wait_until("consumer caught up", WAIT, || caught_up(&bus, "routing")).await;
    consumer.stop().await.expect("consumer stops");

    assert_eq!(applied_versions(&pool, "routing", "q1").await, [1, 2]);
    assert_eq!(dead_letter_count(&pool, "routing").await.expect("count"), 0);
}

/// A backlog arrives as full pulls, which the runner applies a chunk per transaction.
/// A refusal inside a chunk (poison here) and a gap (one stream's versions swapped)
/// must still leave every other event applied once, in version order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_with_poison_and_a_gap_inside_is_applied_in_order_exactly_once() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("routing").await;
    let subject = bus.subjects.question(None, "Q");
    let streams = ["q1", "q2", "q3", "q4", "q5"];
    let versions = 1..=12;

    let mut backlog = Vec::new();
    for version in versions.clone() {
        for stream in streams {
            backlog.push(foreign_event(
                stream,
                version,
                "kenduren.events.v1.QuestionSubmitted",
            ));
        }
        if version == 6 {
            backlog.push(foreign_event("poisoned", 1, "test.Poison"));
        }
    }
    // q3's version 4 arrives after its version 5.
    let v4 = backlog
        .iter()
        .position(|e| e.subject == "q3" && e.stream_version == 4)
        .expect("q3 v4");
    let v5 = backlog
        .iter()
        .position(|e| e.subject == "q3" && e.stream_version == 5)
        .expect("q3 v5");
    backlog.swap(v4, v5);
    for event in &backlog {
        bus.publish(&subject, event, &event.id.to_string()).await;
    }

    let consumer = spawn_consumer(
        &pool,
        &bus,
        fast_consumer_config("routing", &bus.subjects.questions()),
        Recorder::new("routing"),
    );
    wait_until("every stream applied", WAIT, || async {
        let mut done = true;
        for stream in streams {
            done &= applied_versions(&pool, "routing", stream).await.len() == 12;
        }
        done
    })
    .await;
    wait_until("consumer caught up", WAIT, || caught_up(&bus, "routing")).await;
    consumer.stop().await.expect("consumer stops");

    for stream in streams {
        assert_eq!(
            applied_versions(&pool, "routing", stream).await,
            versions.clone().collect::<Vec<_>>(),
            "{stream}"
        );
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM inbox").await, 60);
    assert_eq!(dead_letter_count(&pool, "routing").await.expect("count"), 1);
    assert!(applied_versions(&pool, "routing", "poisoned").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_are_dead_lettered_and_the_consumer_keeps_going() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("routing").await;
    let subject = bus.subjects.question(Some("DINKES"), "Garbage");

    bus.publish_raw(&subject, HeaderMap::new(), b"\xff\x00 not an event")
        .await;
    let mut wrong_version = foreign_event("q9", 1, "x").to_headers().expect("encodable");
    wrong_version.insert("ce-specversion", "0.3");
    bus.publish_raw(&subject, wrong_version, b"\x01").await;
    let poison = foreign_event("q1", 1, "test.Poison");
    bus.publish(&subject, &poison, &poison.id.to_string()).await;
    let good = foreign_event("q2", 1, "kenduren.events.v1.QuestionSubmitted");
    bus.publish(&subject, &good, &good.id.to_string()).await;

    let consumer = spawn_consumer(
        &pool,
        &bus,
        fast_consumer_config("routing", &bus.subjects.opd("DINKES")),
        Recorder::new("routing"),
    );
    wait_until("good event applied", WAIT, || async {
        applied_versions(&pool, "routing", "q2").await == [1]
    })
    .await;
    wait_until("consumer caught up", WAIT, || caught_up(&bus, "routing")).await;
    consumer.stop().await.expect("consumer stops");

    assert_eq!(dead_letter_count(&pool, "routing").await.expect("count"), 3);
    type Letter = (Option<uuid::Uuid>, String, Option<String>, Option<Vec<u8>>);
    let letters: Vec<Letter> = kenduren_store::sqlx::query_as(
        "SELECT event_id, error, headers::text, payload FROM dead_letters ORDER BY stream_sequence",
    )
    .fetch_all(&pool)
    .await
    .expect("dead letters");
    assert_eq!(letters[0].0, None);
    assert!(letters[0].1.contains("no headers"), "{}", letters[0].1);
    assert_eq!(letters[0].3.as_deref(), Some(&b"\xff\x00 not an event"[..]));
    assert!(letters[1].1.contains("specversion"), "{}", letters[1].1);
    assert!(letters[1].2.as_deref().is_some_and(|h| h.contains("0.3")));
    assert_eq!(letters[2].0, Some(poison.id));
    assert!(letters[2].1.starts_with("poison:"), "{}", letters[2].1);
    assert!(applied_versions(&pool, "routing", "q1").await.is_empty());
}

/// async-nats drops its connection on a header that is not UTF-8, so neither that
/// message nor the good one pulled with it ever reaches the runner; the server gives up
/// on both, and the max-deliveries advisory is what parks them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_the_client_cannot_receive_are_parked_from_the_advisory() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("routing").await;
    let subject = bus.subjects.question(None, "Q");

    bus.publish_raw_protocol(&subject, b"NATS/1.0\r\nce-id: \xff\xfe\r\n\r\n", b"\x00junk")
        .await;
    let good = foreign_event("q1", 1, "kenduren.events.v1.QuestionSubmitted");
    bus.publish(&subject, &good, &good.id.to_string()).await;

    // Its own connection: the test's must not be the one that keeps dropping.
    let client = kenduren_bus::connect_with_name(&nats_url(), "poisoned-consumer")
        .await
        .expect("connect");
    let mut config = fast_consumer_config("routing", &bus.subjects.all());
    config.ack_wait = Duration::from_secs(1);
    config.max_deliver = 2;
    let consumer = spawn_consumer_with(
        &pool,
        &async_nats::jetstream::new(client),
        &bus.stream_name,
        config,
        Recorder::new("routing"),
    );
    // The good event is never silently lost: applied, or parked with its content.
    let good_accounted = || async {
        let parked: i64 = kenduren_store::sqlx::query_scalar(
            "SELECT count(*) FROM dead_letters WHERE event_id = $1 AND payload IS NOT NULL",
        )
        .bind(good.id)
        .fetch_one(&pool)
        .await
        .expect("query");
        parked == 1 || applied_versions(&pool, "routing", "q1").await == [1]
    };
    wait_until("both accounted for", WAIT, || async {
        dead_letter_count(&pool, "routing").await.expect("count") >= 1 && good_accounted().await
    })
    .await;
    consumer.stop().await.expect("consumer stops");

    let (error, subject_parked): (String, String) =
        kenduren_store::sqlx::query_as("SELECT error, subject FROM dead_letters WHERE stream_sequence = 1")
            .fetch_one(&pool)
            .await
            .expect("bad message parked");
    assert!(error.contains("stopped delivering stream message 1"), "{error}");
    assert!(error.contains("reading it back failed"), "{error}");
    assert_eq!(subject_parked, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gap_that_never_fills_is_parked_not_dropped() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("routing").await;
    let subject = bus.subjects.question(None, "Q");
    let mut config = fast_consumer_config("routing", &bus.subjects.all());
    config.max_deliver = 4;
    config.gap_delay = Duration::from_millis(50);

    let v2 = foreign_event("q1", 2, "kenduren.events.v1.QuestionWithdrawn");
    bus.publish(&subject, &v2, &v2.id.to_string()).await;
    let consumer = spawn_consumer(&pool, &bus, config, Recorder::new("routing"));
    wait_until("gap parked", WAIT, || async {
        dead_letter_count(&pool, "routing").await.expect("count") == 1
    })
    .await;
    let (deliveries, error): (Option<i64>, String) =
        kenduren_store::sqlx::query_as("SELECT deliveries, error FROM dead_letters")
            .fetch_one(&pool)
            .await
            .expect("dead letter");
    assert_eq!(deliveries, Some(3));
    assert!(error.starts_with("gave up after 3 deliveries: gap:"), "{error}");

    // The consumer is not stuck: the next event of the stream is applied.
    let v1 = foreign_event("q1", 1, "kenduren.events.v1.QuestionSubmitted");
    bus.publish(&subject, &v1, &v1.id.to_string()).await;
    wait_until("v1 applied", WAIT, || async {
        applied_versions(&pool, "routing", "q1").await == [1]
    })
    .await;
    wait_until("consumer caught up", WAIT, || caught_up(&bus, "routing")).await;
    consumer.stop().await.expect("consumer stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_until_applied() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let pool = db.pool("routing").await;
    let subject = bus.subjects.question(None, "Q");
    let recorder = Recorder::new("routing");
    recorder.flaky_failures.store(2, Ordering::SeqCst);

    let flaky = foreign_event("q1", 1, "test.Flaky");
    bus.publish(&subject, &flaky, &flaky.id.to_string()).await;
    let consumer = spawn_consumer(
        &pool,
        &bus,
        fast_consumer_config("routing", &bus.subjects.all()),
        recorder.clone(),
    );
    wait_until("flaky event applied", WAIT, || async {
        applied_versions(&pool, "routing", "q1").await == [1]
    })
    .await;
    wait_until("consumer caught up", WAIT, || caught_up(&bus, "routing")).await;
    consumer.stop().await.expect("consumer stops");
    assert_eq!(recorder.flaky_failures.load(Ordering::SeqCst), 0);
    assert_eq!(dead_letter_count(&pool, "routing").await.expect("count"), 0);
}

/// intake appends and relays; routing (another schema) applies intake's events in
/// order, causation included; intake's own consumer skips them as already applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_flow_from_one_service_to_another_and_own_events_are_skipped() {
    let db = TestDb::create().await;
    let bus = TestBus::create().await;
    let intake_pool = db.pool("intake").await;
    let routing_pool = db.pool("routing").await;
    let intake = EventStore::new(intake_pool.clone(), "intake");

    let relay = spawn_relay(
        &intake_pool,
        &bus.js,
        fast_relay_config(intake.source(), "intake"),
    );
    let routing = spawn_consumer(
        &routing_pool,
        &bus,
        fast_consumer_config("routing", &bus.subjects.all()),
        Recorder::new("routing"),
    );
    let intake_consumer = spawn_consumer(
        &intake_pool,
        &bus,
        fast_consumer_config("intake", &bus.subjects.all()),
        Recorder::new("intake"),
    );

    let submitted = new_event(&bus.subjects, "QuestionSubmitted");
    let mut withdrawn = new_event(&bus.subjects, "QuestionWithdrawn");
    withdrawn.causation_id = Some(submitted.event_id);
    append(&intake, "q1", ExpectedVersion::NoStream, vec![submitted])
        .await
        .expect("append");
    append(&intake, "q1", ExpectedVersion::Exact(1), vec![withdrawn])
        .await
        .expect("append");

    wait_until("routing applied both", WAIT, || async {
        applied_versions(&routing_pool, "routing", "q1").await.len() >= 2
    })
    .await;
    wait_until("routing caught up", WAIT, || caught_up(&bus, "routing")).await;
    wait_until("intake caught up", WAIT, || caught_up(&bus, "intake")).await;
    for running in [routing, intake_consumer, relay] {
        running.stop().await.expect("stops");
    }

    assert_eq!(applied_versions(&routing_pool, "routing", "q1").await, [1, 2]);
    let source: String = kenduren_store::sqlx::query_scalar("SELECT DISTINCT source FROM applied")
        .fetch_one(&routing_pool)
        .await
        .expect("source");
    assert_eq!(source, "/kenduren/intake");
    assert!(applied_versions(&intake_pool, "intake", "q1").await.is_empty());
    assert_eq!(dead_letter_count(&intake_pool, "intake").await.expect("count"), 0);
    assert_eq!(
        dead_letter_count(&routing_pool, "routing").await.expect("count"),
        0
    );
}

//! Appending: optimistic concurrency, the outbox and the bookkeeping written with it.

use std::time::Duration;

use kenduren_store::sqlx::postgres::PgListener;
use kenduren_store::{EventStore, ExpectedVersion, StoreError};

use crate::support::{append, count, new_event, TestDb};
use kenduren_bus::Subjects;

fn subjects() -> Subjects {
    Subjects::new("kenduren").expect("valid prefix")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_expected_version_is_refused_with_conflict() {
    let db = TestDb::create().await;
    let store = EventStore::new(db.pool("intake").await, "intake");
    let s = subjects();

    let v = append(
        &store,
        "q1",
        ExpectedVersion::NoStream,
        vec![new_event(&s, "A"), new_event(&s, "B")],
    )
    .await
    .expect("first append");
    assert_eq!(v, 2);

    for stale in [
        ExpectedVersion::Exact(1),
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(5),
    ] {
        match append(&store, "q1", stale, vec![new_event(&s, "C")]).await {
            Err(StoreError::Conflict {
                stream_id,
                expected,
                actual,
            }) => {
                assert_eq!((stream_id.as_str(), expected, actual), ("q1", stale, 2));
            }
            other => panic!("expected a conflict for {stale:?}, got {other:?}"),
        }
    }
    let v = append(&store, "q1", ExpectedVersion::Exact(2), vec![new_event(&s, "C")])
        .await
        .expect("append at the current version");
    assert_eq!(v, 3);
    let v = append(&store, "q1", ExpectedVersion::Any, vec![new_event(&s, "D")])
        .await
        .expect("append at any version");
    assert_eq!(v, 4);

    let versions: Vec<i64> = store
        .read_stream("q1")
        .await
        .expect("read")
        .iter()
        .map(|e| e.stream_version)
        .collect();
    assert_eq!(versions, [1, 2, 3, 4]);
    assert_eq!(count(store.pool(), "SELECT count(*) FROM outbox").await, 4);
}

/// Deterministic interleaving: B reads version 1 while A's version 2 is uncommitted,
/// so B's insert waits for A and then finds the row taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appender_loses_with_conflict_after_the_winner_commits() {
    let db = TestDb::create().await;
    let store = EventStore::new(db.pool("intake").await, "intake");
    let s = subjects();
    append(&store, "q1", ExpectedVersion::NoStream, vec![new_event(&s, "A")])
        .await
        .expect("seed");

    let mut a = store.pool().begin().await.expect("begin a");
    store
        .append(
            &mut a,
            "q1",
            ExpectedVersion::Exact(1),
            vec![new_event(&s, "FromA")],
        )
        .await
        .expect("a appends");

    let b_store = store.clone();
    let b_subjects = s.clone();
    let b = tokio::spawn(async move {
        let mut b = b_store.pool().begin().await.expect("begin b");
        let result = b_store
            .append(
                &mut b,
                "q1",
                ExpectedVersion::Exact(1),
                vec![new_event(&b_subjects, "FromB")],
            )
            .await;
        let _ = b.rollback().await;
        result
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!b.is_finished(), "B should be waiting for A's uncommitted row");
    a.commit().await.expect("a commits");

    match b.await.expect("b task") {
        Err(StoreError::Conflict { expected, actual, .. }) => {
            assert_eq!((expected, actual), (ExpectedVersion::Exact(1), 2));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let stream = store.read_stream("q1").await.expect("read");
    assert_eq!(stream.len(), 2);
    assert_eq!(stream[1].event_type, "kenduren.events.v1.FromA");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_appenders_at_the_same_version_one_wins() {
    let db = TestDb::create().await;
    let store = EventStore::new(db.pool("intake").await, "intake");
    let s = subjects();
    append(&store, "q1", ExpectedVersion::NoStream, vec![new_event(&s, "A")])
        .await
        .expect("seed");

    let attempts = (0..6).map(|_| {
        let (store, s) = (store.clone(), s.clone());
        tokio::spawn(async move {
            append(
                &store,
                "q1",
                ExpectedVersion::Exact(1),
                vec![new_event(&s, "B"), new_event(&s, "C")],
            )
            .await
        })
    });
    let results = futures::future::join_all(attempts).await;
    let wins = results.iter().filter(|r| matches!(r, Ok(Ok(3)))).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(StoreError::Conflict { actual: 3, .. }))))
        .count();
    assert_eq!((wins, conflicts), (1, 5), "{results:?}");
    assert_eq!(store.read_stream("q1").await.expect("read").len(), 3);
    assert_eq!(count(store.pool(), "SELECT count(*) FROM outbox").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_writes_outbox_inbox_positions_and_notifies() {
    let db = TestDb::create().await;
    let pool = db.pool("intake").await;
    let store = EventStore::new(pool.clone(), "intake");
    let s = subjects();

    let mut listener = PgListener::connect_with(&pool).await.expect("listener");
    listener.listen("intake_outbox").await.expect("listen");

    let stop = tokio_util_free_stop();
    let notifier = {
        let store = store.clone();
        let stop = stop.clone();
        tokio::spawn(async move { store.notify_relays(async move { stop.notified().await }).await })
    };
    let events = vec![new_event(&s, "A"), new_event(&s, "B")];
    let ids: Vec<_> = events.iter().map(|e| e.event_id).collect();
    append(&store, "q1", ExpectedVersion::NoStream, events)
        .await
        .expect("append");

    let notified = tokio::time::timeout(Duration::from_secs(5), listener.recv())
        .await
        .expect("notified in time")
        .expect("notification");
    assert_eq!(notified.channel(), "intake_outbox");
    stop.notify_one();
    notifier.await.expect("notifier stops");

    let outbox: Vec<(uuid::Uuid, bool)> =
        kenduren_store::sqlx::query_as("SELECT event_id, published FROM outbox ORDER BY position")
            .fetch_all(&pool)
            .await
            .expect("outbox");
    assert_eq!(outbox, vec![(ids[0], false), (ids[1], false)]);
    let inbox: Vec<uuid::Uuid> = kenduren_store::sqlx::query_scalar(
        "SELECT event_id FROM inbox WHERE consumer = 'intake' ORDER BY event_id",
    )
    .fetch_all(&pool)
    .await
    .expect("inbox");
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(inbox, expected);
    let position: (String, i64) = kenduren_store::sqlx::query_as(
        "SELECT source, version FROM stream_positions WHERE consumer = 'intake' AND stream_id = 'q1'",
    )
    .fetch_one(&pool)
    .await
    .expect("position");
    assert_eq!(position, ("/kenduren/intake".to_owned(), 2));

    let (backlog, oldest) = store.outbox_backlog().await.expect("backlog");
    assert_eq!(backlog, 2);
    assert!(oldest.is_some());
    kenduren_store::sqlx::query("UPDATE outbox SET published = true")
        .execute(&pool)
        .await
        .expect("mark published");
    assert_eq!(store.outbox_backlog().await.expect("backlog"), (0, None));
    assert_eq!(store.mark_all_unpublished().await.expect("reset"), 2);
    assert_eq!(store.outbox_backlog().await.expect("backlog").0, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpublishable_or_duplicate_events_are_refused() {
    let db = TestDb::create().await;
    let store = EventStore::new(db.pool("intake").await, "intake");
    let s = subjects();

    let mut wildcard = new_event(&s, "A");
    wildcard.subject = "kenduren.v1.question.*.A".into();
    let mut forged = new_event(&s, "A");
    forged.traceparent = Some("00-x\r\nce-type: forged".into());
    let mut huge = new_event(&s, "A");
    huge.payload = vec![0; kenduren_store::MAX_PAYLOAD_BYTES + 1];
    for bad in [wildcard, forged, huge] {
        let result = append(&store, "q1", ExpectedVersion::Any, vec![bad]).await;
        assert!(
            matches!(result, Err(StoreError::InvalidEvent { .. })),
            "{result:?}"
        );
    }

    let event = new_event(&s, "A");
    append(&store, "q1", ExpectedVersion::Any, vec![event.clone()])
        .await
        .expect("append");
    let again = append(&store, "q2", ExpectedVersion::Any, vec![event.clone()]).await;
    assert!(
        matches!(again, Err(StoreError::DuplicateEventId { event_id }) if event_id == event.event_id),
        "{again:?}"
    );
    assert_eq!(count(store.pool(), "SELECT count(*) FROM events").await, 1);
}

/// A stop signal for the notifier (tests do not depend on tokio-util).
fn tokio_util_free_stop() -> std::sync::Arc<tokio::sync::Notify> {
    std::sync::Arc::new(tokio::sync::Notify::new())
}

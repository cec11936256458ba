//! A consuming service stopped by SIGTERM while questions stream in: routing reports
//! NOT_SERVING, exits 0 in time, and once it is back every submitted question is routed
//! exactly once and its durable consumer has nothing left pending or unacknowledged.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use sqlx::PgConnection;

use crate::{
    common::{free_port, nats_url},
    deployment::{burst, wait_for_count, Deployment, Signal},
};

/// Questions in the burst; enough that routing is still busy when it is stopped.
const QUESTIONS: usize = 400;

const ROUTED: &str =
    "SELECT count(*) FROM routing.events WHERE event_type = 'kenduren.events.v1.QuestionRouted'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_routing_consumes_routes_every_question_once() {
    let deployment = Deployment::new().await;
    let (intake_port, routing_port) = (free_port(), free_port());
    let intake = deployment.start("intake", intake_port);
    intake.wait_serving().await;
    let routing = deployment.start("routing", routing_port);
    routing.wait_serving().await;

    let accepted = Arc::new(Mutex::new(Vec::new()));
    let submitting = burst(
        deployment.intake_client(intake_port).await,
        QUESTIONS,
        accepted.clone(),
    );
    let mut db = deployment.db().await;
    wait_for_count(&mut db, ROUTED, Duration::from_secs(15), |n| n >= 30).await;
    routing.stop_gracefully(Signal::Term).await;
    let routed_before_restart = count(&mut db, ROUTED).await;
    submitting.await.expect("burst");
    let accepted: HashSet<String> = accepted.lock().expect("lock").iter().cloned().collect();
    assert_eq!(accepted.len(), QUESTIONS, "intake kept accepting");
    assert!(
        (routed_before_restart as usize) < QUESTIONS,
        "routing finished the burst before it was stopped: nothing was left to resume"
    );

    // A message the stopped instance had received but neither handled nor handed back
    // would only come back after the consumer's ack_wait (30 s): the short window here
    // is what tells a clean hand-over from one that stalls questions for half a minute.
    let routing = deployment.start("routing", routing_port);
    routing.wait_serving().await;
    wait_for_count(&mut db, ROUTED, Duration::from_secs(10), |n| {
        n as usize >= QUESTIONS
    })
    .await;

    let routed: Vec<(String, i64)> = sqlx::query_as(
        "SELECT stream_id, count(*) FROM routing.events
         WHERE event_type = 'kenduren.events.v1.QuestionRouted' GROUP BY stream_id",
    )
    .fetch_all(&mut db)
    .await
    .expect("routed");
    let twice: Vec<&(String, i64)> = routed.iter().filter(|(_, n)| *n != 1).collect();
    assert!(twice.is_empty(), "routed more than once: {twice:?}");
    let routed: HashSet<String> = routed.into_iter().map(|(id, _)| id).collect();
    assert_eq!(routed, accepted, "every accepted question routed");

    // What routing committed reaches the stream once, and its consumer, fed those
    // routed events too, settles with every delivery acked.
    wait_for_count(
        &mut db,
        "SELECT count(*) FROM routing.outbox WHERE NOT published",
        Duration::from_secs(10),
        |pending| pending == 0,
    )
    .await;
    let js = async_nats::jetstream::new(async_nats::connect(nats_url()).await.expect("nats"));
    let stream = js.get_stream(deployment.stream()).await.expect("stream");
    let mut on_stream = stream
        .info_with_subjects(format!("{}.v1.question.*.routed", deployment.prefix()))
        .await
        .expect("stream subjects");
    let mut published = 0;
    while let Some((_, n)) = on_stream.try_next().await.expect("subject counts") {
        published += n;
    }
    assert_eq!(
        published, QUESTIONS,
        "one QuestionRouted per question on the stream"
    );

    // A delivery the first instance handled but never acked would sit unacknowledged
    // for the whole ack_wait, so settling quickly also shows the stop acked its work.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = stream.consumer_info("routing").await.expect("consumer info");
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "routing's consumer never settled: {} pending, {} unacknowledged",
            info.num_pending,
            info.num_ack_pending
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    routing.stop_gracefully(Signal::Term).await;
    intake.stop_gracefully(Signal::Term).await;
    deployment.drop_all().await;
}

async fn count(db: &mut PgConnection, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(db).await.expect(sql);
    n
}

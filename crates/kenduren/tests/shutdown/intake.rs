//! Intake stopped by SIGTERM or Ctrl-C in the middle of a burst of submissions: every
//! submission a client saw accepted is stored, and published once intake is back.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::{
    common::{free_port, nats_url},
    deployment::{burst, wait_for_count, Deployment, Signal},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_loses_no_accepted_submission() {
    signal_during_a_burst_loses_no_accepted_submission(Signal::Term).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_burst_loses_no_accepted_submission() {
    signal_during_a_burst_loses_no_accepted_submission(Signal::Int).await;
}

async fn signal_during_a_burst_loses_no_accepted_submission(signal: Signal) {
    let deployment = Deployment::new().await;
    let port = free_port();
    let intake = deployment.start("intake", port);
    intake.wait_serving().await;

    let accepted = Arc::new(Mutex::new(Vec::new()));
    let submitting = burst(deployment.intake_client(port).await, 100_000, accepted.clone());
    while accepted.lock().expect("lock").len() < 50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    intake.stop_gracefully(signal).await;
    // The burst ends at the first call the stopped intake refuses.
    let _ = submitting.await;

    // Back up: the relay publishes anything the stop left behind.
    let accepted = accepted.lock().expect("lock").clone();
    let intake = deployment.start("intake", port);
    intake.wait_serving().await;
    let mut db = deployment.db().await;
    wait_for_count(
        &mut db,
        "SELECT count(*) FROM intake.outbox WHERE NOT published",
        Duration::from_secs(30),
        |pending| pending == 0,
    )
    .await;
    let stored: Vec<(String,)> = sqlx::query_as("SELECT stream_id FROM intake.events")
        .fetch_all(&mut db)
        .await
        .expect("events");
    let stored: HashSet<String> = stored.into_iter().map(|(s,)| s).collect();
    let missing: Vec<&String> = accepted.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} accepted submissions not stored: {missing:?}",
        missing.len()
    );

    let js = async_nats::jetstream::new(async_nats::connect(nats_url()).await.expect("nats"));
    let mut stream = js.get_stream(deployment.stream()).await.expect("stream");
    let on_stream = stream.info().await.expect("info").state.messages;
    assert_eq!(
        on_stream as usize,
        stored.len(),
        "every stored event published exactly once"
    );

    intake.stop_gracefully(Signal::Term).await;
    deployment.drop_all().await;
}

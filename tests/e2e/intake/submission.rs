//! Submissions at the edges: the server's message limit, two retries racing each other,
//! and a retry after the tracking PIN's replay window.

use chrono::{TimeDelta, Utc};
use sqlx::Connection;
use tonic::Code;

use super::{db, ktp, track};
use crate::support::{eventually, TestSystem};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_over_the_256_kib_server_limit_is_refused_by_the_limit() {
    let mut sys = TestSystem::start().await;
    let mut huge = ktp("huge");
    // 300 KiB of text: past the 256 KiB every service decodes, far below what would
    // strain memory, so the refusal is the limit's.
    huge.text = "a".repeat(300 * 1024);
    let refused = sys.intake.submit_question(huge).await.expect_err("too large");
    // tonic 0.14 refuses a message over `max_decoding_message_size` with OUT_OF_RANGE
    // (gRPC's guidance is RESOURCE_EXHAUSTED), naming the limit: it checks the length
    // prefix before buffering the body, so the refusal is the limit's, not memory's.
    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");
    assert!(
        refused
            .message()
            .contains(&format!("the limit is: {} bytes", 256 * 1024)),
        "{}",
        refused.message()
    );
    // Just under the limit is decoded and validated (and refused for its text length).
    let mut large = ktp("large");
    large.text = "a".repeat(200 * 1024);
    let invalid = sys
        .intake
        .submit_question(large)
        .await
        .expect_err("too long a text");
    assert_eq!(super::bad_fields(&invalid), ["text"]);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_simultaneous_submits_with_one_request_id_make_one_question_and_one_event() {
    let sys = TestSystem::start().await;
    for round in 0..5 {
        let key = format!("tablet-{round}");
        let (mut a, mut b) = (sys.intake.clone(), sys.intake.clone());
        let (ra, rb) = (ktp(&key), ktp(&key));
        let (first, second) = tokio::join!(
            tokio::spawn(async move { a.submit_question(ra).await }),
            tokio::spawn(async move { b.submit_question(rb).await }),
        );
        let first = first.expect("task").expect("submitted").into_inner();
        let second = second.expect("task").expect("submitted").into_inner();
        assert_eq!(first, second, "both calls get the one answer");
    }
    let mut db = db(&sys).await;
    let (questions, events): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM intake.questions),
                (SELECT count(*) FROM intake.events WHERE event_type LIKE '%.QuestionSubmitted')",
    )
    .fetch_one(&mut db)
    .await
    .expect("counts");
    assert_eq!((questions, events), (5, 5), "one question and one event per key");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pin_is_kept_for_a_day_of_retries_and_then_forgotten() {
    let mut sys = TestSystem::start().await;
    let first = sys
        .intake
        .submit_question(ktp("yesterday"))
        .await
        .expect("submitted")
        .into_inner();
    let retry = sys
        .intake
        .submit_question(ktp("yesterday"))
        .await
        .expect("retried within the window")
        .into_inner();
    assert_eq!(retry, first);

    // A day and an hour later the PIN is no longer kept in readable form.
    let mut db = db(&sys).await;
    sqlx::query("UPDATE intake.requests SET created_at = $2 WHERE request_id = $1")
        .bind("yesterday")
        .bind(Utc::now() - TimeDelta::hours(25))
        .execute(&mut db)
        .await
        .expect("backdated");
    let late = sys
        .intake
        .submit_question(ktp("yesterday"))
        .await
        .expect_err("past the window");
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert!(late.message().contains(&first.ticket), "{}", late.message());
    // Intake clears it from the table when it sweeps (at start-up and every minute: here
    // another instance starting); tracking still works with the PIN.
    sys.intake.submit_question(ktp("today")).await.expect("submitted");
    let another = sys.start_another_instance().await;
    let url = sys.settings.database_url.clone();
    let kept: Vec<(String, Option<String>)> = eventually("the other instance's start-up sweep", || {
        let url = url.clone();
        async move {
            let mut db = sqlx::PgConnection::connect(&url).await.ok()?;
            let kept: Vec<(String, Option<String>)> =
                sqlx::query_as("SELECT request_id, tracking_pin FROM intake.requests ORDER BY request_id")
                    .fetch_all(&mut db)
                    .await
                    .ok()?;
            kept.iter()
                .any(|(id, pin)| id == "yesterday" && pin.is_none())
                .then_some(kept)
        }
    })
    .await;
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0].0, "today");
    assert!(kept[0].1.is_some(), "today's PIN is kept for retries");
    assert_eq!(kept[1], ("yesterday".to_owned(), None));
    let t = track(&mut sys.intake, &first.ticket, &first.tracking_pin)
        .await
        .expect("tracked with the PIN the citizen holds");
    assert_eq!(t.ticket, first.ticket);
    another.stop().await.expect("second instance stops");
    sys.stop().await;
}

//! Withdrawal and rating: what a citizen may still do with a ticket, and what the
//! lifecycle refuses.

use kenduren_proto::{
    events::v1::QuestionStatus,
    intake::v1::{RateAnswerRequest, SubmitQuestionResponse, WithdrawQuestionRequest},
};
use tonic::Code;

use super::{answered_question, bad_fields, in_inbox, ktp, track, tracked_as};
use crate::support::{eventually, TestSystem};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_can_be_withdrawn_before_it_is_answered_and_leaves_the_inbox() {
    let mut sys = TestSystem::start().await;
    let q = sys
        .intake
        .submit_question(ktp("withdraw"))
        .await
        .expect("submitted")
        .into_inner();
    eventually("the question in the inbox", || in_inbox(&sys, &q.question_id)).await;
    let done = sys
        .intake
        .withdraw_question(WithdrawQuestionRequest {
            ticket: q.ticket.clone(),
            tracking_pin: q.tracking_pin.clone(),
            reason: "Sudah diurus sendiri".into(),
        })
        .await
        .expect("withdrawn")
        .into_inner();
    assert_eq!(done.status, QuestionStatus::Withdrawn as i32);
    let t = track(&mut sys.intake, &q.ticket, &q.tracking_pin)
        .await
        .expect("tracked");
    assert_eq!(t.status, QuestionStatus::Withdrawn as i32);
    assert_eq!(
        t.timeline.last().map(|e| e.event_type.as_str()),
        Some("QuestionWithdrawn")
    );
    eventually("the OPD's inbox to drop the withdrawn question", || async {
        in_inbox(&sys, &q.question_id).await.is_none().then_some(())
    })
    .await;
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_question_cannot_be_withdrawn() {
    let sys = TestSystem::start().await;
    let q = answered_question(&sys, "late-withdraw").await;
    let status = sys
        .intake
        .clone()
        .withdraw_question(WithdrawQuestionRequest {
            ticket: q.ticket.clone(),
            tracking_pin: q.tracking_pin.clone(),
            reason: String::new(),
        })
        .await
        .expect_err("too late");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("ANSWERED"), "{}", status.message());
    sys.stop().await;
}

fn rating(q: &SubmitQuestionResponse, stars: u32) -> RateAnswerRequest {
    RateAnswerRequest {
        ticket: q.ticket.clone(),
        tracking_pin: q.tracking_pin.clone(),
        rating: stars,
        comment: "Belum menjawab pertanyaan saya".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rating_of_one_reopens_the_question_for_its_opd() {
    let sys = TestSystem::start().await;
    let q = answered_question(&sys, "reopen").await;
    assert!(
        in_inbox(&sys, &q.question_id).await.is_none(),
        "answered questions leave the open inbox"
    );
    let rated = sys
        .intake
        .clone()
        .rate_answer(rating(&q, 1))
        .await
        .expect("rated")
        .into_inner();
    assert!(rated.reopened);
    assert_eq!(rated.status, QuestionStatus::Routed as i32);
    let t = tracked_as(&sys, &q, QuestionStatus::Routed).await;
    assert_eq!(t.rating, 1);
    assert_eq!(
        t.timeline.last().map(|e| e.event_type.as_str()),
        Some("AnswerRated")
    );
    let back = eventually("the reopened question back in the inbox", || {
        in_inbox(&sys, &q.question_id)
    })
    .await;
    assert_eq!(back.status, QuestionStatus::Routed as i32);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_rating_keeps_the_answer_and_an_answer_is_rated_once() {
    let sys = TestSystem::start().await;
    let unanswered = sys
        .intake
        .clone()
        .submit_question(ktp("early"))
        .await
        .expect("submitted")
        .into_inner();
    let early = sys
        .intake
        .clone()
        .rate_answer(rating(&unanswered, 5))
        .await
        .expect_err("not answered");
    assert_eq!(early.code(), Code::FailedPrecondition);

    let q = answered_question(&sys, "rate-good").await;
    let out_of_range = sys
        .intake
        .clone()
        .rate_answer(rating(&q, 6))
        .await
        .expect_err("6 stars");
    assert_eq!(bad_fields(&out_of_range), ["rating"]);
    let rated = sys
        .intake
        .clone()
        .rate_answer(rating(&q, 4))
        .await
        .expect("rated")
        .into_inner();
    assert!(!rated.reopened);
    assert_eq!(rated.status, QuestionStatus::Answered as i32);
    let again = sys
        .intake
        .clone()
        .rate_answer(rating(&q, 1))
        .await
        .expect_err("second rating");
    assert_eq!(again.code(), Code::FailedPrecondition);
    let t = track(&mut sys.intake.clone(), &q.ticket, &q.tracking_pin)
        .await
        .expect("tracked");
    assert_eq!((t.status, t.rating), (QuestionStatus::Answered as i32, 4));
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawal_reasons_comments_and_stars_are_validated() {
    let sys = TestSystem::start().await;
    let q = answered_question(&sys, "notes").await;
    // The limit is 1,000 characters (not bytes): 1,001 two-byte characters are refused.
    let long = "é".repeat(1001);
    let withdraw = sys
        .intake
        .clone()
        .withdraw_question(WithdrawQuestionRequest {
            ticket: q.ticket.clone(),
            tracking_pin: q.tracking_pin.clone(),
            reason: long.clone(),
        })
        .await
        .expect_err("reason too long");
    assert_eq!(bad_fields(&withdraw), ["reason"]);
    type Breaker = fn(&mut RateAnswerRequest);
    let rules: &[(&str, Breaker, &[&str])] = &[
        ("a rating of 0", |r| r.rating = 0, &["rating"]),
        ("a rating of 6", |r| r.rating = 6, &["rating"]),
        (
            "a comment of 1,001 characters",
            |r| r.comment = "é".repeat(1001),
            &["comment"],
        ),
        (
            "both",
            |r| {
                r.rating = 0;
                r.comment = "é".repeat(1001);
            },
            &["comment", "rating"],
        ),
    ];
    for (rule, breaks, fields) in rules {
        let mut req = rating(&q, 4);
        breaks(&mut req);
        let status = sys.intake.clone().rate_answer(req).await.expect_err(rule);
        assert_eq!(bad_fields(&status), *fields, "{rule}");
    }
    // Exactly at the limit is fine, and nothing refused above was recorded.
    let mut at_limit = rating(&q, 4);
    at_limit.comment = "é".repeat(1000);
    let rated = sys
        .intake
        .clone()
        .rate_answer(at_limit)
        .await
        .expect("1,000 characters")
        .into_inner();
    assert_eq!(rated.status, QuestionStatus::Answered as i32);
    sys.stop().await;
}

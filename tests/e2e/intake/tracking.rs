//! What a citizen sees when tracking: kept current from routing's and answering's
//! events as they happen, through the answer, the follow-up plan, the rating and a
//! new due date.

use chrono::{TimeDelta, Utc};
use kenduren_proto::{
    answering::v1::PlanFollowUpRequest,
    events::v1::{QuestionRescheduled, QuestionStatus},
    intake::v1::RateAnswerRequest,
};
use kenduren_runtime::{new_event, timestamp};
use kenduren_store::{EventStore, ExpectedVersion};

use super::{answered_question, ktp, track, tracked_as};
use crate::support::{eventually, TestSystem};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_follows_routing_and_answering_as_they_happen() {
    let sys = TestSystem::start().await;
    let q = sys
        .intake
        .clone()
        .submit_question(ktp("follow"))
        .await
        .expect("submitted")
        .into_inner();
    let routed = tracked_as(&sys, &q, QuestionStatus::Routed).await;
    assert_eq!(routed.opd_code, "DISPENDUKCAPIL");
    assert!(routed.due_at.is_some());
    assert!(routed.answer.is_empty());
    let answered = answered_question(&sys, "follow-2").await;
    let t = track(&mut sys.intake.clone(), &answered.ticket, &answered.tracking_pin)
        .await
        .expect("tracked");
    assert!(t.answer.contains("surat kehilangan"));
    let steps: Vec<&str> = t.timeline.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(steps, ["QuestionSubmitted", "QuestionRouted", "QuestionAnswered"]);

    // The OPD plans what it will do, and the citizen rates the answer.
    let plan = "Petugas mendatangi Desa Kalirejo untuk perekaman ulang KTP-el.";
    sys.answering
        .clone()
        .plan_follow_up(PlanFollowUpRequest {
            question_id: answered.question_id.clone(),
            opd_code: "DISPENDUKCAPIL".into(),
            plan: plan.into(),
            planned_by: Some(timestamp(Utc::now() + TimeDelta::days(14))),
            expected_version: None,
        })
        .await
        .expect("planned");
    let planned = tracked_as(&sys, &answered, QuestionStatus::FollowUp).await;
    assert_eq!(planned.follow_up_plan, plan);
    sys.intake
        .clone()
        .rate_answer(RateAnswerRequest {
            ticket: answered.ticket.clone(),
            tracking_pin: answered.tracking_pin.clone(),
            rating: 5,
            comment: "Cepat dan jelas".into(),
        })
        .await
        .expect("rated");
    let t = track(&mut sys.intake.clone(), &answered.ticket, &answered.tracking_pin)
        .await
        .expect("tracked");
    assert_eq!((t.rating, t.follow_up_plan.as_str()), (5, plan));
    let steps: Vec<&str> = t.timeline.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        steps,
        [
            "QuestionSubmitted",
            "QuestionRouted",
            "QuestionAnswered",
            "FollowUpPlanned",
            "AnswerRated"
        ]
    );
    sys.stop().await;
}

/// Routing announces a reopened question's new clock as `QuestionRescheduled`. Here the
/// event is appended to routing's own store, so its relay publishes it as routing would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescheduled_question_shows_its_new_due_date() {
    let sys = TestSystem::start().await;
    let q = sys
        .intake
        .clone()
        .submit_question(ktp("rescheduled"))
        .await
        .expect("submitted")
        .into_inner();
    let routed = tracked_as(&sys, &q, QuestionStatus::Routed).await;
    let first_due = routed.due_at.expect("due");
    let new_due = timestamp(Utc::now() + TimeDelta::days(30));
    assert_ne!(first_due.seconds, new_due.seconds);

    let pool = kenduren_store::connect_pool(&sys.settings.database_url, "routing", 1)
        .await
        .expect("routing's schema");
    let routing = EventStore::new(pool.clone(), "routing");
    let event = QuestionRescheduled {
        question_id: q.question_id.clone(),
        opd_code: "DISPENDUKCAPIL".into(),
        due_at: Some(new_due),
        resolution_due_at: Some(timestamp(Utc::now() + TimeDelta::days(90))),
        reason: "reopened by a rating of 1".into(),
        rescheduled_at: Some(timestamp(Utc::now())),
    };
    let subject = format!(
        "{}.v1.question.DISPENDUKCAPIL.rescheduled",
        sys.settings.subject_prefix
    );
    let mut tx = pool.begin().await.expect("begin");
    routing
        .append(
            &mut tx,
            &q.question_id,
            ExpectedVersion::Any,
            vec![new_event(&event, subject, None, Utc::now())],
        )
        .await
        .expect("appended");
    tx.commit().await.expect("commit");

    let t = eventually("tracking to show the new due date", || {
        let (mut intake, ticket, pin) = (sys.intake.clone(), q.ticket.clone(), q.tracking_pin.clone());
        async move {
            let t = track(&mut intake, &ticket, &pin).await.ok()?;
            (t.due_at.map(|d| d.seconds) == Some(new_due.seconds)).then_some(t)
        }
    })
    .await;
    assert_eq!(t.status, QuestionStatus::Routed as i32, "the status is unchanged");
    let last = t.timeline.last().expect("timeline");
    assert_eq!(last.event_type, "QuestionRescheduled");
    assert!(last.summary.contains("DISPENDUKCAPIL"), "{}", last.summary);
    sys.stop().await;
}

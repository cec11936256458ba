//! Event payloads carry no citizen identity: after a question has been through every
//! answering write, no message on the stream mentions the citizen's name, phone or
//! email; and answering publishes each of its events under the OPD's own subjects.

use kenduren_proto::{
    events::v1::{
        AssignmentRejected, FollowUpPlanned, QuestionAcknowledged, QuestionAnswered, QuestionResolved,
    },
    EventMessage,
};
use sqlx::Connection;

use super::{act, submission, submit_all, wait_in_inbox, Action};
use crate::support::{eventually, TestSystem};

/// Moves a question's due date into the past, as if the working days had gone by.
pub(crate) async fn make_overdue(sys: &TestSystem, question_id: &str) {
    let mut db = sqlx::PgConnection::connect(&sys.settings.database_url)
        .await
        .expect("test database");
    let updated = sqlx::query(
        "UPDATE answering.questions SET due_at = now() - interval '1 day' WHERE question_id = $1::uuid",
    )
    .bind(question_id)
    .execute(&mut db)
    .await
    .expect("due date moved");
    assert_eq!(updated.rows_affected(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_citizen_name_phone_or_email_appears_in_any_event_and_answering_publishes_on_the_opds_subjects() {
    let mut sys = TestSystem::start().await;
    let (name, phone, email) = (
        "Wahyuningsih Prasetyo",
        "085749361208",
        "wahyu.prasetyo77@contoh.id",
    );
    let mut requests = vec![
        submission("s-1", "kependudukan"),
        submission("s-2", "kependudukan"),
    ];
    for r in &mut requests {
        if let Some(c) = r.citizen.as_mut() {
            c.name = name.into();
            c.phone = phone.into();
            c.email = email.into();
        }
    }
    let ids = submit_all(&mut sys, requests).await;
    let mut opd = sys.answering.clone();
    wait_in_inbox(&opd, &ids).await;
    for action in [
        Action::Acknowledge,
        Action::Answer,
        Action::PlanFollowUp,
        Action::Resolve,
    ] {
        act(&mut opd, action, &ids[0], "", None).await.expect("write");
    }
    act(&mut opd, Action::Reject, &ids[1], "", None)
        .await
        .expect("reject");

    let js = sys.system.as_ref().expect("running").backbone.jetstream.clone();
    let stream_name = sys.settings.stream.clone();
    // 2 submitted + 2 routed + 4 writes + 1 rejected + routing's next step after it,
    // and routing's 2 seeded-calendar announcements (2026, 2027).
    let last = eventually("every event on the stream", || {
        let (js, stream_name) = (js.clone(), stream_name.clone());
        async move {
            let mut stream = js.get_stream(&stream_name).await.ok()?;
            let last = stream.info().await.ok()?.state.last_sequence;
            (last >= 12).then_some(last)
        }
    })
    .await;
    let stream = js.get_stream(&stream_name).await.expect("stream");
    let mut published = Vec::new();
    for seq in 1..=last {
        let m = stream.get_raw_message(seq).await.expect("message");
        let payload = String::from_utf8_lossy(&m.payload);
        let mut text = payload.into_owned();
        for (header, values) in m.headers.iter() {
            text.push_str(header.as_ref());
            for v in values {
                text.push_str(v.as_str());
            }
        }
        for secret in [
            name,
            phone,
            email,
            "Wahyuningsih",
            "85749361208",
            "wahyu.prasetyo77",
            "contoh.id",
        ] {
            assert!(
                !text.contains(secret),
                "message {seq} on {} carries {secret:?}",
                m.subject
            );
        }
        if let Some(ty) = m.headers.get("ce-type") {
            published.push((ty.as_str().to_owned(), m.subject.to_string()));
        }
    }
    // Each of answering's events, on <prefix>.v1.question.<OPD>.<event>: the subjects
    // the OPD's NATS user is allowed.
    let prefix = &sys.settings.subject_prefix;
    for (ty, name) in [
        (QuestionAcknowledged::TYPE, QuestionAcknowledged::NAME),
        (QuestionAnswered::TYPE, QuestionAnswered::NAME),
        (FollowUpPlanned::TYPE, FollowUpPlanned::NAME),
        (QuestionResolved::TYPE, QuestionResolved::NAME),
        (AssignmentRejected::TYPE, AssignmentRejected::NAME),
    ] {
        let subjects: Vec<&str> = published
            .iter()
            .filter(|(t, _)| t == ty)
            .map(|(_, s)| s.as_str())
            .collect();
        assert!(!subjects.is_empty(), "{ty} not on the stream: {published:?}");
        let expected = format!("{prefix}.v1.question.DISPENDUKCAPIL.{name}");
        assert!(
            subjects.iter().all(|s| *s == expected),
            "{ty} published on {subjects:?}, expected {expected}"
        );
    }
    sys.stop().await;
}

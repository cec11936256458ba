//! End-to-end tests of the intake service's own capabilities: submission and its
//! validation, idempotency, tickets, tracking, withdrawal and rating. Sessions and
//! attendance are in `intake/sessions.rs`, the server limit, simultaneous retries and
//! the PIN's replay window in `intake/submission.rs`, what tracking shows in
//! `intake/tracking.rs`, and the rating's working-day window in `intake/rating_window.rs`.

mod lifecycle;
mod rating_window;
mod sessions;
mod submission;
mod tracking;

use futures::TryStreamExt;
use kenduren_proto::{
    answering::v1::{AnswerQuestionRequest, InboxItem, ListInboxRequest},
    events::v1::{Channel, QuestionKind, QuestionStatus},
    intake::v1::{
        intake_service_client::IntakeServiceClient, SubmitQuestionRequest, SubmitQuestionResponse,
        TrackQuestionRequest, TrackQuestionResponse, WithdrawQuestionRequest,
    },
};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::support::{eventually, Authed, TestSystem};

/// The walking skeleton's KTP question, with an e-mail so that field is validated too.
pub(crate) fn ktp(request_id: &str) -> SubmitQuestionRequest {
    let mut request = crate::walking_skeleton::ktp_question(request_id);
    if let Some(citizen) = request.citizen.as_mut() {
        citizen.email = "siti@example.org".into();
    }
    request
}

/// The fields named in an INVALID_ARGUMENT's violations, in order.
pub(crate) fn bad_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

pub(crate) async fn track(
    intake: &mut IntakeServiceClient<Authed>,
    ticket: &str,
    pin: &str,
) -> Result<TrackQuestionResponse, Status> {
    intake
        .track_question(TrackQuestionRequest {
            ticket: ticket.into(),
            tracking_pin: pin.into(),
        })
        .await
        .map(|r| r.into_inner())
}

/// Waits until tracking shows `status` and returns what it shows then.
pub(crate) async fn tracked_as(
    sys: &TestSystem,
    q: &SubmitQuestionResponse,
    status: QuestionStatus,
) -> TrackQuestionResponse {
    let intake = sys.intake.clone();
    eventually(&format!("tracking to show {status:?}"), || {
        let (mut intake, ticket, pin) = (intake.clone(), q.ticket.clone(), q.tracking_pin.clone());
        async move {
            let t = track(&mut intake, &ticket, &pin).await.ok()?;
            (t.status == status as i32).then_some(t)
        }
    })
    .await
}

/// A connection to the test system's database (every service's schema in it).
pub(crate) async fn db(sys: &TestSystem) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(&sys.settings.database_url)
        .await
        .expect("database")
}

/// DISPENDUKCAPIL's open inbox entry for `question_id`, if it is there.
pub(crate) async fn in_inbox(sys: &TestSystem, question_id: &str) -> Option<InboxItem> {
    let page = sys
        .answering
        .clone()
        .list_inbox(ListInboxRequest {
            opd_code: "DISPENDUKCAPIL".into(),
            page_size: 200,
            ..Default::default()
        })
        .await
        .ok()?
        .into_inner();
    page.items.into_iter().find(|i| i.question_id == question_id)
}

/// Submits the KTP question, waits for it in DISPENDUKCAPIL's inbox and answers it.
pub(crate) async fn answered_question(sys: &TestSystem, request_id: &str) -> SubmitQuestionResponse {
    let q = sys
        .intake
        .clone()
        .submit_question(ktp(request_id))
        .await
        .expect("submitted")
        .into_inner();
    eventually("the question in the inbox", || in_inbox(sys, &q.question_id)).await;
    sys.answering
        .clone()
        .answer_question(AnswerQuestionRequest {
            question_id: q.question_id.clone(),
            opd_code: "DISPENDUKCAPIL".into(),
            answer: "Datang ke kantor Dispendukcapil dengan surat kehilangan.".into(),
            responder_name: "Budi".into(),
            responder_position: "Kepala Seksi".into(),
            ..Default::default()
        })
        .await
        .expect("answered");
    tracked_as(sys, &q, QuestionStatus::Answered).await;
    q
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_validation_rule_reports_its_field() {
    let mut sys = TestSystem::start().await;
    type Breaker = fn(&mut SubmitQuestionRequest);
    let rules: &[(&str, Breaker, &str)] = &[
        (
            "request_id is required",
            |r| r.request_id = "  ".into(),
            "request_id",
        ),
        (
            "request_id is at most 128 characters",
            |r| r.request_id = "r".repeat(129),
            "request_id",
        ),
        (
            "kind is required",
            |r| r.kind = QuestionKind::Unspecified as i32,
            "kind",
        ),
        ("kind must be a known value", |r| r.kind = 99, "kind"),
        (
            "category must be a code",
            |r| r.category = "Bukan Kode!".into(),
            "category",
        ),
        (
            "category must be in the catalogue",
            |r| r.category = "astrologi".into(),
            "category",
        ),
        (
            "category must apply to the kind",
            |r| r.category = "usulan_pembangunan".into(),
            "category",
        ),
        ("text is required", |r| r.text = " \n ".into(), "text"),
        (
            "text is at most 4000 characters",
            |r| r.text = "é".repeat(4001),
            "text",
        ),
        (
            "channel is required",
            |r| r.channel = Channel::Unspecified as i32,
            "channel",
        ),
        (
            "on-site needs a session",
            |r| r.channel = Channel::OnSite as i32,
            "session_id",
        ),
        (
            "on-site needs a scheduled session",
            |r| {
                r.channel = Channel::OnSite as i32;
                r.session_id = "no-such-session".into();
            },
            "session_id",
        ),
        (
            "location is required",
            |r| r.location = None,
            "location.kecamatan",
        ),
        (
            "kecamatan must be in the regency",
            |r| {
                r.location.as_mut().expect("location").kecamatan = "Atlantis".into();
            },
            "location.kecamatan",
        ),
        (
            "desa must be in its kecamatan",
            |r| {
                r.location.as_mut().expect("location").desa = "Kalirejo Lor Wetan".into();
            },
            "location.desa",
        ),
        (
            "coordinates must be inside the regency",
            |r| {
                let l = r.location.as_mut().expect("location");
                (l.latitude, l.longitude) = (Some(-6.2), Some(106.8));
            },
            "location.latitude",
        ),
        (
            "a latitude needs its longitude",
            |r| r.location.as_mut().expect("location").latitude = Some(-7.6),
            "location.longitude",
        ),
        (
            "a longitude needs its latitude",
            |r| r.location.as_mut().expect("location").longitude = Some(112.8),
            "location.latitude",
        ),
        (
            "name is at most 200 characters",
            |r| r.citizen.as_mut().expect("citizen").name = "a".repeat(201),
            "citizen.name",
        ),
        (
            "phone is digits",
            |r| r.citizen.as_mut().expect("citizen").phone = "08abc".into(),
            "citizen.phone",
        ),
        (
            "phone has 6 to 20 digits",
            |r| r.citizen.as_mut().expect("citizen").phone = "123".into(),
            "citizen.phone",
        ),
        (
            "email must be an address",
            |r| r.citizen.as_mut().expect("citizen").email = "siti@".into(),
            "citizen.email",
        ),
    ];
    for (i, (rule, breaks, field)) in rules.iter().enumerate() {
        let mut req = ktp(&format!("bad-{i}"));
        breaks(&mut req);
        let status = sys.intake.submit_question(req).await.expect_err(rule);
        assert_eq!(bad_fields(&status), [*field], "rule: {rule}");
    }
    // Nothing half-written: no ticket was taken for any refused submission.
    let q = sys
        .intake
        .submit_question(ktp("good"))
        .await
        .expect("valid")
        .into_inner();
    assert!(q.ticket.ends_with("-000001"), "{}", q.ticket);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_bad_fields_are_reported_at_once() {
    let mut sys = TestSystem::start().await;
    let mut req = ktp("");
    req.kind = 0;
    req.text = String::new();
    req.location.as_mut().expect("location").kecamatan = "Atlantis".into();
    req.citizen.as_mut().expect("citizen").email = "nope".into();
    let status = sys.intake.submit_question(req).await.expect_err("invalid");
    assert_eq!(
        bad_fields(&status),
        [
            "request_id",
            "kind",
            "text",
            "location.kecamatan",
            "citizen.email"
        ]
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_submission_gives_one_question_and_one_event_on_nats() {
    let mut sys = TestSystem::start().await;
    let first = sys
        .intake
        .submit_question(ktp("retry-1"))
        .await
        .expect("first")
        .into_inner();
    let again = sys
        .intake
        .submit_question(ktp("retry-1"))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, again);
    // A later submission: the relay publishes in order, so once it is on the stream
    // anything the retry might have written would be there too.
    let marker = sys
        .intake
        .submit_question(ktp("retry-2"))
        .await
        .expect("marker")
        .into_inner();
    assert_ne!(marker.ticket, first.ticket);

    let js = sys.system.as_ref().expect("running").backbone.jetstream.clone();
    let stream = js.get_stream(&sys.settings.stream).await.expect("stream");
    let filter = format!("{}.v1.question.*.submitted", sys.settings.subject_prefix);
    let count = || {
        let (stream, filter) = (stream.clone(), filter.clone());
        async move {
            let subjects: Vec<(String, usize)> = stream
                .info_with_subjects(&filter)
                .await
                .ok()?
                .try_collect()
                .await
                .ok()?;
            Some(subjects.iter().map(|(_, n)| n).sum::<usize>())
        }
    };
    eventually("both submissions on the stream", || async {
        count().await.filter(|n| *n >= 2)
    })
    .await;
    assert_eq!(
        count().await,
        Some(2),
        "one event per question, none for the retry"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reusing_a_request_id_for_other_content_is_already_exists() {
    let mut sys = TestSystem::start().await;
    sys.intake.submit_question(ktp("reuse")).await.expect("first");
    let mut other = ktp("reuse");
    other.text = "Pertanyaan lain".into();
    let status = sys.intake.submit_question(other).await.expect_err("reused key");
    assert_eq!(status.code(), Code::AlreadyExists);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_submissions_get_two_hundred_distinct_tickets() {
    let sys = TestSystem::start().await;
    let calls = (0..200).map(|i| {
        let mut intake = sys.intake.clone();
        tokio::spawn(async move { intake.submit_question(ktp(&format!("many-{i}"))).await })
    });
    let mut tickets = std::collections::BTreeSet::new();
    for call in futures::future::join_all(calls).await {
        let answer = call.expect("task").expect("submitted").into_inner();
        tickets.insert(answer.ticket);
    }
    assert_eq!(tickets.len(), 200);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_and_an_unknown_ticket_are_the_same_not_found() {
    let mut sys = TestSystem::start().await;
    let q = sys
        .intake
        .submit_question(ktp("pin"))
        .await
        .expect("submitted")
        .into_inner();
    let wrong_pin = if q.tracking_pin == "000000" {
        "111111"
    } else {
        "000000"
    };
    let wrong = track(&mut sys.intake, &q.ticket, wrong_pin)
        .await
        .expect_err("wrong pin");
    let unknown = track(&mut sys.intake, "KM-2026-999999", &q.tracking_pin)
        .await
        .expect_err("unknown");
    assert_eq!(
        (wrong.code(), wrong.message()),
        (unknown.code(), unknown.message())
    );
    assert_eq!(wrong.code(), Code::NotFound);
    let withdraw = sys
        .intake
        .withdraw_question(WithdrawQuestionRequest {
            ticket: q.ticket.clone(),
            tracking_pin: wrong_pin.into(),
            reason: String::new(),
        })
        .await
        .expect_err("wrong pin cannot withdraw");
    assert_eq!(withdraw.code(), Code::NotFound);
    sys.stop().await;
}

//! One question flows intake → routing → answering → reporting, and the refusals
//! a user meets on the way.

use kenduren_proto::{
    answering::v1::AnswerQuestionRequest,
    events::v1::{Channel, Location, QuestionKind, QuestionStatus},
    intake::v1::{Citizen, SubmitQuestionRequest, SubmitQuestionResponse, TrackQuestionRequest},
    reporting::v1::{GetOpdScorecardsRequest, GetQuestionTimelineRequest},
};
use tonic::Code;

use crate::support::{eventually, in_inbox, TestSystem};

pub(crate) fn ktp_question(request_id: &str) -> SubmitQuestionRequest {
    SubmitQuestionRequest {
        request_id: request_id.into(),
        kind: QuestionKind::Question as i32,
        category: "kependudukan".into(),
        text: "Bagaimana mengurus KTP-el yang hilang?".into(),
        channel: Channel::Web as i32,
        session_id: String::new(),
        location: Some(Location {
            kecamatan: "Bangil".into(),
            desa: "Kalirejo".into(),
            latitude: None,
            longitude: None,
        }),
        citizen: Some(Citizen {
            name: "Siti Aminah".into(),
            phone: "081234567890".into(),
            email: String::new(),
            anonymous: false,
            confidential: false,
        }),
    }
}

fn answer(question_id: &str, opd: &str) -> AnswerQuestionRequest {
    AnswerQuestionRequest {
        question_id: question_id.into(),
        opd_code: opd.into(),
        answer: "Datang ke kantor Dispendukcapil dengan surat kehilangan dari kepolisian.".into(),
        responder_name: "Budi".into(),
        responder_position: "Kepala Seksi".into(),
        attachments: vec![],
        expected_version: None,
    }
}

/// The subjects of the messages on the stream whose CloudEvents subject is
/// `question_id`, in stream order.
async fn subjects_of(sys: &TestSystem, question_id: &str) -> Vec<String> {
    let js = sys.system.as_ref().expect("running").backbone.jetstream.clone();
    let mut stream = js.get_stream(&sys.settings.stream).await.expect("stream");
    let last = stream.info().await.expect("stream info").state.last_sequence;
    let mut subjects = Vec::new();
    for seq in 1..=last {
        let m = stream.get_raw_message(seq).await.expect("message");
        if m.headers.get("ce-subject").map(|v| v.as_str()) == Some(question_id) {
            subjects.push(m.subject.to_string());
        }
    }
    subjects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_flows_from_submission_to_answered_and_its_timeline() {
    let mut sys = TestSystem::start().await;
    let SubmitQuestionResponse {
        question_id,
        ticket,
        tracking_pin,
    } = sys
        .intake
        .submit_question(ktp_question("walk-1"))
        .await
        .expect("submitted")
        .into_inner();
    assert!(
        ticket.starts_with("KM-") && ticket.len() == "KM-2026-000001".len(),
        "ticket {ticket}"
    );
    assert_eq!(tracking_pin.len(), 6);

    in_inbox(&sys.answering, &question_id).await;
    sys.answering
        .answer_question(answer(&question_id, "DISPENDUKCAPIL"))
        .await
        .expect("answered");

    let intake = sys.intake.clone();
    let tracked = eventually("tracking to show ANSWERED", || {
        let mut intake = intake.clone();
        let (ticket, pin) = (ticket.clone(), tracking_pin.clone());
        async move {
            let t = intake
                .track_question(TrackQuestionRequest {
                    ticket,
                    tracking_pin: pin,
                })
                .await
                .ok()?
                .into_inner();
            (t.status == QuestionStatus::Answered as i32).then_some(t)
        }
    })
    .await;
    assert_eq!(tracked.opd_code, "DISPENDUKCAPIL");
    assert!(tracked.answer.contains("surat kehilangan"));
    assert!(tracked.due_at.is_some());
    let steps: Vec<&str> = tracked.timeline.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(steps, ["QuestionSubmitted", "QuestionRouted", "QuestionAnswered"]);

    let reporting = sys.reporting.clone();
    let timeline = eventually("reporting's timeline to have all three events", || {
        let mut reporting = reporting.clone();
        let id = question_id.clone();
        async move {
            let t = reporting
                .get_question_timeline(GetQuestionTimelineRequest { question_id: id })
                .await
                .ok()?
                .into_inner();
            (t.events.len() == 3).then_some(t)
        }
    })
    .await;
    let types: Vec<&str> = timeline.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "kenduren.events.v1.QuestionSubmitted",
            "kenduren.events.v1.QuestionRouted",
            "kenduren.events.v1.QuestionAnswered"
        ]
    );
    assert_eq!(timeline.events[2].actor, "DISPENDUKCAPIL");

    // On the stream: unassigned until routed, then under the OPD's code.
    let prefix = &sys.settings.subject_prefix;
    assert_eq!(
        subjects_of(&sys, &question_id).await,
        [
            format!("{prefix}.v1.question.unassigned.submitted"),
            format!("{prefix}.v1.question.DISPENDUKCAPIL.routed"),
            format!("{prefix}.v1.question.DISPENDUKCAPIL.answered"),
        ]
    );

    let cards = sys
        .reporting
        .get_opd_scorecards(GetOpdScorecardsRequest::default())
        .await
        .expect("scorecards")
        .into_inner();
    let card = cards
        .scorecards
        .iter()
        .find(|c| c.opd_code == "DISPENDUKCAPIL")
        .expect("a scorecard");
    assert_eq!(
        (card.assigned, card.answered, card.answered_within_due, card.open),
        (1, 1, 1, 0)
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_every_bad_field_and_stores_nothing() {
    let mut sys = TestSystem::start().await;
    let mut bad = ktp_question("bad-1");
    bad.category = "tidak_ada".into();
    bad.text = "   ".into();
    bad.location = Some(Location {
        kecamatan: "Atlantis".into(),
        ..Default::default()
    });
    let err = sys.intake.submit_question(bad).await.expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    for field in ["category", "text", "location.kecamatan"] {
        assert!(
            err.message().contains(field),
            "{field} missing from {:?}",
            err.message()
        );
    }
    // The key was not consumed: the corrected submission goes through.
    sys.intake
        .submit_question(ktp_question("bad-1"))
        .await
        .expect("corrected submission accepted");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_refused_to_other_opds_stale_versions_and_answered_questions() {
    let mut sys = TestSystem::start().await;
    let s = sys
        .intake
        .submit_question(ktp_question("ans-1"))
        .await
        .expect("submitted")
        .into_inner();
    let version = in_inbox(&sys.answering, &s.question_id).await;

    let other = sys
        .answering
        .answer_question(answer(&s.question_id, "DINKES"))
        .await
        .expect_err("other OPD");
    assert_eq!(other.code(), Code::NotFound);

    let mut stale = answer(&s.question_id, "DISPENDUKCAPIL");
    stale.expected_version = Some(version - 1);
    let err = sys
        .answering
        .answer_question(stale)
        .await
        .expect_err("stale version");
    assert_eq!(err.code(), Code::Aborted);

    let mut current = answer(&s.question_id, "DISPENDUKCAPIL");
    current.expected_version = Some(version);
    sys.answering
        .answer_question(current)
        .await
        .expect("answered at the current version");

    let twice = sys
        .answering
        .answer_question(answer(&s.question_id, "DISPENDUKCAPIL"))
        .await
        .expect_err("twice");
    assert_eq!(twice.code(), Code::FailedPrecondition);
    assert!(twice.message().contains("ANSWERED"), "{}", twice.message());
    sys.stop().await;
}

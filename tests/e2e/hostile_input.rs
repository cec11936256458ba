//! Hostile input at every RPC: metadata that is not text, oversized fields, SQL and
//! HTML in text, negative and huge page sizes, unknown enum values. Each is answered
//! with a clear error code (or, for text, stored and returned verbatim, never executed),
//! and a refusal stores nothing: every service's events table is counted before and after.

use kenduren_proto::{answering::v1 as ans, intake::v1 as int};
use sqlx::{Connection, PgConnection};
use tonic::{metadata::BinaryMetadataValue, Code, Status};

use crate::{
    access_matrix::{call, fixture, matches, token_for, Caller, Expect, Headers, ACCESS, CALLERS},
    support::{eventually, TestSystem},
    walking_skeleton::ktp_question,
};

mod requests;

use requests::{send, CASES};

const SERVICES: [&str; 4] = ["intake", "routing", "answering", "reporting"];
const SQL: &str = "'; DROP TABLE questions; DROP TABLE events; --";
const HTML: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";
/// One mebibyte of text: four times the largest request a service decodes.
fn megabyte() -> String {
    "a".repeat(1 << 20)
}

/// Events stored by each service, in `SERVICES` order.
async fn stored(sys: &TestSystem) -> Vec<i64> {
    let mut db = PgConnection::connect(&sys.settings.database_url)
        .await
        .expect("test database");
    let mut counts = Vec::new();
    for schema in SERVICES {
        let sql = format!("SELECT count(*) FROM {schema}.events");
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut db)
            .await
            .expect("count events");
        counts.push(n);
    }
    counts
}

fn code(r: &Result<(), Status>) -> Option<Code> {
    r.as_ref().err().map(Status::code)
}

/// Invalid UTF-8 in metadata at every RPC: raw bytes in a `-bin` header are carried
/// and ignored (the call is answered exactly as without them), and an `authorization`
/// header that is not text is UNAUTHENTICATED and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_rpc_survives_metadata_that_is_not_text() {
    let mut sys = TestSystem::start().await;
    let fx = fixture(&mut sys).await;
    let not_text = Headers {
        authorization: Some(
            tonic::metadata::AsciiMetadataValue::try_from(&b"Bearer \xff\xfe\xc3\x28 t\xe9st"[..])
                .expect("obs-text bytes are a valid header value"),
        ),
        binary: None,
    };
    let unauthenticated = Caller::new(&sys, not_text).await;
    let before = stored(&sys).await;
    let mut wrong = Vec::new();
    for (n, (rpc, _)) in ACCESS.iter().enumerate() {
        let got = call(rpc, &unauthenticated, &fx, 10_000 + n).await;
        if code(&got) != Some(Code::Unauthenticated) {
            wrong.push(format!("{rpc} with a non-text authorization header: {got:?}"));
        }
    }
    assert_eq!(stored(&sys).await, before, "a refused call stored events");

    // Raw bytes (not UTF-8, with NUL) in a binary header change nothing: each RPC, as the
    // first role allowed to call it, passes authorization as it would without them.
    for (n, (rpc, row)) in ACCESS.iter().enumerate() {
        let (who, column) = CALLERS
            .iter()
            .find(|(_, c)| row[*c] == Expect::Yes)
            .copied()
            .expect("someone may call each RPC");
        let mut headers = Headers::bearer(&token_for(&sys, who));
        headers.binary = Some(BinaryMetadataValue::from_bytes(&[
            0xff, 0x00, 0xfe, 0xc3, 0x28, 0x80,
        ]));
        let caller = Caller::new(&sys, headers).await;
        let got = call(rpc, &caller, &fx, 20_000 + n).await;
        if !matches(row[column], &got, row.contains(&Expect::NotFound)) {
            wrong.push(format!(
                "{rpc} as {who} with a binary header of raw bytes: {got:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    sys.stop().await;
}

/// Every hostile field is answered with its code, and a refusal stores no event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_fields_get_clear_codes_and_store_nothing() {
    let mut sys = TestSystem::start().await;
    let fx = fixture(&mut sys).await;
    // Both fixture questions routed: no event is still on its way when counting starts.
    let mut desk = sys.intake.clone();
    let track = int::TrackQuestionRequest {
        ticket: fx.other_ticket.clone(),
        tracking_pin: fx.other_pin.clone(),
    };
    eventually("the second question routed", || {
        let (mut desk, track) = (desk.clone(), track.clone());
        async move {
            let status = desk.track_question(track).await.ok()?.into_inner().status;
            (status == kenduren_proto::events::v1::QuestionStatus::Routed as i32).then_some(())
        }
    })
    .await;
    let _ = desk.track_question(track).await;
    let mut wrong = Vec::new();
    for (case, who, want) in CASES {
        let caller = Caller::new(&sys, Headers::bearer(&token_for(&sys, who))).await;
        let before = stored(&sys).await;
        let got = send(case, &caller, &fx.question_id).await;
        let got_code = code(&got).unwrap_or(Code::Ok);
        if !want.contains(&got_code) {
            wrong.push(format!("{case}: expected one of {want:?}, got {got:?}"));
        }
        if got_code != Code::Ok && stored(&sys).await != before {
            wrong.push(format!("{case}: refused, but events were stored"));
        }
        if let Err(s) = &got {
            if s.code() == Code::Unknown || s.code() == Code::Internal {
                wrong.push(format!("{case}: a caller's mistake answered as {:?}", s.code()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        CASES.len(),
        wrong.join("\n")
    );
    sys.stop().await;
}

/// SQL and HTML in a citizen's text and an OPD's answer are stored and returned
/// byte for byte, and nothing in them runs: the tables they name are still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sql_and_html_in_text_are_returned_verbatim_and_never_executed() {
    let mut sys = TestSystem::start().await;
    let text = format!("{SQL} {HTML} KTP hilang");
    let s = sys
        .intake
        .submit_question(int::SubmitQuestionRequest {
            text: text.clone(),
            ..ktp_question("hostile-text")
        })
        .await
        .expect("hostile text is still a valid question")
        .into_inner();
    let mut opd = sys.answering.clone();
    let id = s.question_id.clone();
    let stored_text = eventually("the question in the OPD's inbox", || {
        let (mut opd, id) = (opd.clone(), id.clone());
        async move {
            let q = opd
                .get_question(ans::GetQuestionRequest {
                    question_id: id,
                    opd_code: String::new(),
                })
                .await
                .ok()?;
            q.into_inner().question.map(|q| q.text)
        }
    })
    .await;
    assert_eq!(stored_text, text, "the question's text came back changed");

    let answer = format!("{HTML} {SQL}");
    opd.answer_question(ans::AnswerQuestionRequest {
        question_id: s.question_id.clone(),
        answer: answer.clone(),
        responder_name: "<b>Budi</b>".into(),
        ..Default::default()
    })
    .await
    .expect("an answer with markup is a valid answer");
    let mut desk = sys.intake.clone();
    let track = int::TrackQuestionRequest {
        ticket: s.ticket.clone(),
        tracking_pin: s.tracking_pin.clone(),
    };
    let tracked = eventually("the answer visible to the citizen", || {
        let (mut desk, track) = (desk.clone(), track.clone());
        async move {
            let t = desk.track_question(track).await.ok()?.into_inner();
            (!t.answer.is_empty()).then_some(t.answer)
        }
    })
    .await;
    assert_eq!(tracked, answer, "the answer came back changed");
    let _ = desk.track_question(track).await.expect("still trackable");
    // Every events table still exists and holds what was written.
    let counts = stored(&sys).await;
    assert!(counts[0] >= 1 && counts[2] >= 1, "events missing: {counts:?}");
    sys.stop().await;
}

//! Hostile input at every RPC: metadata that is not text, oversized fields, SQL and
//! HTML in text, negative and huge page sizes, unknown enum values. Each is answered
//! with a clear error code (or, for text, stored and returned verbatim, never executed),
//! and a refusal stores nothing: every table a call could write is read before and after.

use std::collections::BTreeMap;

use kenduren_proto::{answering::v1 as ans, intake::v1 as int};
use sqlx::{Connection, PgConnection};
use tonic::{metadata::BinaryMetadataValue, Code, Status};
use tonic_types::StatusExt;

use crate::{
    access_matrix::{call, fixture, matches, token_for, Caller, Expect, Fixture, Headers, ACCESS, CALLERS},
    support::{eventually, TestSystem},
    walking_skeleton::ktp_question,
};

mod limits;
mod requests;

use requests::{send, CASES};

/// Every table an RPC writes: each service's events, and the tables calls write
/// beside an event or without one (answer templates are written with no event).
/// Projections fed from the stream are left out: they move on their own.
const TABLES: [&str; 15] = [
    "intake.events",
    "intake.requests",
    "intake.sessions",
    "intake.check_ins",
    "intake.sealed_contacts",
    "intake.citizen_keys",
    "routing.events",
    "routing.opds",
    "routing.rules",
    "routing.holidays",
    "routing.sla_policy",
    "routing.sla_targets",
    "answering.events",
    "answering.answer_templates",
    "reporting.events",
];
const SQL: &str = "'; DROP TABLE questions; DROP TABLE events; --";
const HTML: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";
/// One mebibyte of text: four times the largest request a service decodes.
fn megabyte() -> String {
    "a".repeat(1 << 20)
}

/// What each of `TABLES` holds: its row count and a digest of every row's content,
/// so a refused call that changed a row in place shows up as well as one that added
/// a row.
async fn stored(sys: &TestSystem) -> BTreeMap<&'static str, (i64, String)> {
    let mut db = PgConnection::connect(&sys.settings.database_url)
        .await
        .expect("test database");
    let mut held = BTreeMap::new();
    for table in TABLES {
        let sql = format!(
            "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t"
        );
        let row: (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut db)
            .await
            .unwrap_or_else(|e| panic!("read {table}: {e}"));
        held.insert(table, row);
    }
    held
}

/// The tables whose content differs between two readings of `stored`.
fn changed(
    before: &BTreeMap<&'static str, (i64, String)>,
    after: &BTreeMap<&'static str, (i64, String)>,
) -> Vec<String> {
    TABLES
        .iter()
        .filter(|t| before.get(*t) != after.get(*t))
        .map(|t| {
            let rows = |m: &BTreeMap<&str, (i64, String)>| m.get(t).map_or(0, |r| r.0);
            format!("{t} ({} rows, then {})", rows(before), rows(after))
        })
        .collect()
}

/// The fixture, with both its questions routed: no event is still on its way when
/// tables are read.
async fn settled_fixture(sys: &mut TestSystem) -> Fixture {
    let fx = fixture(sys).await;
    let desk = sys.intake.clone();
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
    fx
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
    let written = changed(&before, &stored(&sys).await);
    assert!(written.is_empty(), "refused calls wrote to {written:?}");

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

/// Every hostile field is answered with its code, and a refusal writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_fields_get_clear_codes_and_store_nothing() {
    let mut sys = TestSystem::start().await;
    let fx = settled_fixture(&mut sys).await;
    let mut wrong = Vec::new();
    for (case, who, want) in CASES {
        let caller = Caller::new(&sys, Headers::bearer(&token_for(&sys, who))).await;
        let before = stored(&sys).await;
        let got = send(case, &caller, &fx.question_id).await;
        let got_code = code(&got).unwrap_or(Code::Ok);
        if !want.contains(&got_code) {
            wrong.push(format!("{case}: expected one of {want:?}, got {got:?}"));
        }
        let written = changed(&before, &stored(&sys).await);
        if got_code != Code::Ok && !written.is_empty() {
            wrong.push(format!("{case}: refused, but {written:?} changed"));
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

/// One character (or byte) over each text field's own limit, at every RPC that takes
/// text, is INVALID_ARGUMENT naming that field and only it, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_text_field_one_over_its_limit_is_refused_by_name() {
    let mut sys = TestSystem::start().await;
    let fx = settled_fixture(&mut sys).await;
    let mut wrong = Vec::new();
    for (case, who, field) in limits::LIMITS {
        let caller = Caller::new(&sys, Headers::bearer(&token_for(&sys, who))).await;
        let before = stored(&sys).await;
        let got = limits::send(case, &caller, &fx).await;
        let written = changed(&before, &stored(&sys).await);
        if !written.is_empty() {
            wrong.push(format!("{case}: {written:?} changed"));
        }
        let status = match got {
            Err(s) if s.code() == Code::InvalidArgument => s,
            other => {
                wrong.push(format!("{case}: expected INVALID_ARGUMENT, got {other:?}"));
                continue;
            }
        };
        let named: Vec<String> = status
            .get_details_bad_request()
            .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
            .unwrap_or_default();
        if named != [field.to_string()] {
            wrong.push(format!(
                "{case}: expected the refusal to name only {field:?}, it named {named:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} limit cases wrong:\n{}",
        wrong.len(),
        limits::LIMITS.len(),
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
    // Every table still exists (reading one that was dropped panics), and the
    // events written are there.
    let held = stored(&sys).await;
    assert!(
        held["intake.events"].0 >= 1 && held["answering.events"].0 >= 1,
        "events missing: {held:?}"
    );
    sys.stop().await;
}

//! Who may call what: missing, expired and forged tokens are UNAUTHENTICATED, a role
//! outside an RPC's list is PERMISSION_DENIED, and an OPD never reaches another
//! OPD's questions.

use kenduren_auth::TokenKey;
use kenduren_proto::{
    answering::v1::{
        answering_service_client::AnsweringServiceClient, AnswerQuestionRequest, ListInboxRequest,
    },
    intake::v1::{intake_service_client::IntakeServiceClient, TrackQuestionRequest},
    reporting::v1::{reporting_service_client::ReportingServiceClient, GetOpdScorecardsRequest},
};
use tonic::Code;

use crate::{
    support::{in_inbox, TestSystem},
    walking_skeleton::ktp_question,
};

fn expired_token(key_b64: &str) -> String {
    TokenKey::from_base64(key_b64)
        .expect("key")
        .mint(
            "old",
            &"desk".parse().expect("role"),
            std::time::Duration::from_secs(0),
        )
        .expect("mint")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_expired_and_forged_tokens_are_unauthenticated() {
    let sys = TestSystem::start().await;
    let addr = sys.addrs().intake;
    let forged = TokenKey::from_base64(&TokenKey::generate_base64())
        .expect("other key")
        .mint(
            "mallory",
            &"admin".parse().expect("role"),
            std::time::Duration::from_secs(600),
        )
        .expect("mint");
    // A zero-lifetime token is expired once the server's 5 s clock-skew leeway has passed.
    let expired = expired_token(&sys.settings.auth_key);
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    for (what, token) in [
        ("missing", String::new()),
        ("forged", forged),
        ("expired", expired),
        ("garbage", "x.y.z".into()),
    ] {
        let mut intake = IntakeServiceClient::new(sys.channel_with_token(addr, &token).await);
        let err = intake
            .track_question(TrackQuestionRequest {
                ticket: "KM-2026-000001".into(),
                tracking_pin: "1".into(),
            })
            .await
            .expect_err(what);
        assert_eq!(err.code(), Code::Unauthenticated, "{what}: {}", err.message());
    }
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_outside_an_rpcs_list_are_permission_denied() {
    let sys = TestSystem::start().await;
    let a = sys.addrs();
    let mut intake_as_analyst =
        IntakeServiceClient::new(sys.channel_with_token(a.intake, &sys.token("analyst")).await);
    let err = intake_as_analyst
        .submit_question(ktp_question("r-1"))
        .await
        .expect_err("analyst submits");
    assert_eq!(err.code(), Code::PermissionDenied);

    let mut reporting_as_desk =
        ReportingServiceClient::new(sys.channel_with_token(a.reporting, &sys.token("desk")).await);
    let err = reporting_as_desk
        .get_opd_scorecards(GetOpdScorecardsRequest::default())
        .await
        .expect_err("desk reads");
    assert_eq!(err.code(), Code::PermissionDenied);

    let mut answering_as_desk =
        AnsweringServiceClient::new(sys.channel_with_token(a.answering, &sys.token("desk")).await);
    let err = answering_as_desk
        .list_inbox(ListInboxRequest::default())
        .await
        .expect_err("desk lists an inbox");
    assert_eq!(err.code(), Code::PermissionDenied);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opd_cannot_list_or_answer_another_opds_question() {
    let mut sys = TestSystem::start().await;
    let s = sys
        .intake
        .submit_question(ktp_question("opd-1"))
        .await
        .expect("submitted")
        .into_inner();
    in_inbox(&sys.answering, &s.question_id).await;

    let mut dinkes = AnsweringServiceClient::new(
        sys.channel_with_token(sys.addrs().answering, &sys.token("opd:DINKES"))
            .await,
    );
    let own_inbox = dinkes
        .list_inbox(ListInboxRequest::default())
        .await
        .expect("own inbox")
        .into_inner();
    assert!(own_inbox.items.iter().all(|i| i.question_id != s.question_id));
    let other = dinkes
        .list_inbox(ListInboxRequest {
            opd_code: "DISPENDUKCAPIL".into(),
            ..Default::default()
        })
        .await
        .expect_err("another OPD's inbox");
    assert_eq!(other.code(), Code::PermissionDenied);

    let answer = AnswerQuestionRequest {
        question_id: s.question_id.clone(),
        answer: "bukan urusan kami".into(),
        responder_name: "X".into(),
        ..Default::default()
    };
    let err = dinkes
        .answer_question(answer.clone())
        .await
        .expect_err("answer another OPD's question");
    assert_eq!(err.code(), Code::NotFound);
    let err = dinkes
        .answer_question(AnswerQuestionRequest {
            opd_code: "DISPENDUKCAPIL".into(),
            ..answer
        })
        .await
        .expect_err("claim to be another OPD");
    assert_eq!(err.code(), Code::NotFound);
    sys.stop().await;
}

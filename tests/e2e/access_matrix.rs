//! The access matrix: every RPC of the four services called as every role — no token,
//! an expired one, a forged one, desk, the question's OPD, another OPD, admin, analyst
//! and service — each answered exactly as the table in the README says.

mod calls;
mod table;

pub(crate) use calls::call;

use std::time::Duration;

use kenduren_auth::TokenKey;
use kenduren_proto::{
    answering::v1 as ans,
    events::v1::QuestionStatus,
    intake::v1::{self as int, intake_service_client::IntakeServiceClient},
};
use tonic::{
    metadata::{AsciiMetadataValue, BinaryMetadataValue},
    service::{interceptor::InterceptedService, Interceptor},
    transport::Channel,
    Code, Request, Status,
};

use crate::{
    support::{eventually, TestSystem},
    walking_skeleton::ktp_question,
};
pub(crate) use table::{Expect, ACCESS};

/// The callers, each with the README column it belongs to.
pub(crate) const CALLERS: [(&str, usize); 9] = [
    ("none", 0),
    ("expired", 0),
    ("forged", 0),
    ("desk", 1),
    ("opd:DISPENDUKCAPIL", 2),
    ("opd:DINKES", 3),
    ("admin", 4),
    ("analyst", 5),
    ("service", 6),
];

/// What the calls act on: a question routed to DISPENDUKCAPIL (the "own" OPD), a
/// second question for the citizen-side writes, and a session.
pub(crate) struct Fixture {
    pub question_id: String,
    pub ticket: String,
    pub pin: String,
    pub other_ticket: String,
    pub other_pin: String,
    pub session_id: String,
}

/// The metadata a caller sends: an `authorization` value (any bytes, even ones that
/// are not text) and optionally a binary header of raw bytes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Headers {
    pub authorization: Option<AsciiMetadataValue>,
    pub binary: Option<BinaryMetadataValue>,
}

impl Headers {
    /// `authorization: Bearer <token>`, or nothing for an empty token.
    pub fn bearer(token: &str) -> Self {
        let authorization =
            (!token.is_empty()).then(|| format!("Bearer {token}").parse().expect("a token fits a header"));
        Self {
            authorization,
            binary: None,
        }
    }
}

impl Interceptor for Headers {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.authorization {
            request.metadata_mut().insert("authorization", v.clone());
        }
        if let Some(v) = &self.binary {
            request
                .metadata_mut()
                .insert_bin("x-kenduren-probe-bin", v.clone());
        }
        Ok(request)
    }
}

/// A channel sending `Headers`.
pub(crate) type Ch = InterceptedService<Channel, Headers>;

/// One caller's channels to the four services.
pub(crate) struct Caller {
    pub intake: Ch,
    pub routing: Ch,
    pub answering: Ch,
    pub reporting: Ch,
}

impl Caller {
    /// Channels to every service of `sys` sending `headers`.
    pub async fn new(sys: &TestSystem, headers: Headers) -> Self {
        let a = sys.addrs();
        let ch = |addr: std::net::SocketAddr| {
            let headers = headers.clone();
            async move {
                let channel = Channel::from_shared(format!("http://{addr}"))
                    .expect("valid uri")
                    .connect()
                    .await
                    .expect("service reachable");
                InterceptedService::new(channel, headers)
            }
        };
        Self {
            intake: ch(a.intake).await,
            routing: ch(a.routing).await,
            answering: ch(a.answering).await,
            reporting: ch(a.reporting).await,
        }
    }
}

/// A token that expired an hour ago, signed with the deployment's key (so only its
/// expiry is wrong), made without waiting for a short-lived one to run out.
fn expired_token(key_b64: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_base64_secret(key_b64).expect("base64 key");
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "sub": "old", "role": "admin", "iss": "kenduren", "iat": now - 7200, "exp": now - 3600,
    });
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("encode")
}

pub(crate) fn token_for(sys: &TestSystem, who: &str) -> String {
    match who {
        "none" => String::new(),
        "expired" => expired_token(&sys.settings.auth_key),
        "forged" => TokenKey::from_base64(&TokenKey::generate_base64())
            .expect("other key")
            .mint(
                "mallory",
                &"admin".parse().expect("role"),
                Duration::from_secs(600),
            )
            .expect("mint"),
        role => sys.token(role),
    }
}

pub(crate) async fn fixture(sys: &mut TestSystem) -> Fixture {
    let q = sys
        .intake
        .submit_question(ktp_question("matrix-own"))
        .await
        .expect("submit")
        .into_inner();
    let other = sys
        .intake
        .submit_question(ktp_question("matrix-other"))
        .await
        .expect("submit")
        .into_inner();
    let inbox = sys.answering.clone();
    let id = q.question_id.clone();
    eventually("the question in DISPENDUKCAPIL's inbox", || {
        let (mut inbox, id) = (inbox.clone(), id.clone());
        async move {
            let items = inbox
                .list_inbox(ans::ListInboxRequest::default())
                .await
                .ok()?
                .into_inner()
                .items;
            items.iter().any(|i| i.question_id == id).then_some(())
        }
    })
    .await;
    let mut admin = IntakeServiceClient::new(
        sys.channel_with_token(sys.addrs().intake, &sys.token("admin"))
            .await,
    );
    admin
        .schedule_session(int::ScheduleSessionRequest {
            session_id: "matrix-session".into(),
            dates: vec!["2026-06-10".into()],
            kecamatan: "Bangil".into(),
            desa: "Kalirejo".into(),
            programme: vec![],
            expected_opd_codes: vec!["DISPENDUKCAPIL".into(), "DINKES".into()],
        })
        .await
        .expect("session scheduled");
    Fixture {
        question_id: q.question_id,
        ticket: q.ticket,
        pin: q.tracking_pin,
        other_ticket: other.ticket,
        other_pin: other.tracking_pin,
        session_id: "matrix-session".into(),
    }
}

/// Codes that say the service failed, not that the caller was refused or got the
/// request wrong: an allowed call answered with one of these was not served.
const SERVICE_FAILURES: [Code; 5] = [
    Code::Internal,
    Code::Unavailable,
    Code::Unknown,
    Code::Unimplemented,
    Code::DataLoss,
];

/// Whether `got` is what `want` promises. A "yes" is served: not denied, and not a
/// failure of the service (the deliberately minimal requests may still be
/// INVALID_ARGUMENT, NOT_FOUND or FAILED_PRECONDITION). On a row where another OPD
/// gets NOT_FOUND, a "yes" must not be NOT_FOUND either: there it would be a denial
/// in disguise.
pub(crate) fn matches(want: Expect, got: &Result<(), Status>, row_hides: bool) -> bool {
    let code = got.as_ref().err().map(Status::code);
    match want {
        Expect::Yes => {
            let denied = matches!(code, Some(Code::Unauthenticated | Code::PermissionDenied));
            let failed = code.is_some_and(|c| SERVICE_FAILURES.contains(&c));
            let hidden = row_hides && code == Some(Code::NotFound);
            !denied && !failed && !hidden
        }
        Expect::Unauthenticated => code == Some(Code::Unauthenticated),
        Expect::PermissionDenied => code == Some(Code::PermissionDenied),
        Expect::NotFound => code == Some(Code::NotFound),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_rpc_answers_every_role_as_the_readme_says() {
    let mut sys = TestSystem::start().await;
    let fx = fixture(&mut sys).await;
    let mut callers = Vec::new();
    for (who, column) in CALLERS {
        let caller = Caller::new(&sys, Headers::bearer(&token_for(&sys, who))).await;
        callers.push((who, column, caller));
    }
    let mut wrong = Vec::new();
    let mut calls = 0;
    for (rpc, row) in ACCESS {
        let row_hides = row.contains(&Expect::NotFound);
        for (who, column, caller) in &callers {
            calls += 1;
            let got = call(rpc, caller, &fx, calls).await;
            let want = row[*column];
            if !matches(want, &got, row_hides) {
                let got = match &got {
                    Ok(()) => "OK".to_owned(),
                    Err(s) => format!("{:?}: {}", s.code(), s.message()),
                };
                wrong.push(format!("{rpc} as {who}: expected {}, got {got}", want.word()));
            }
        }
    }
    assert_eq!(calls, ACCESS.len() * CALLERS.len());
    assert!(
        wrong.is_empty(),
        "{} of {calls} calls differ from the README:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // The own OPD's writes went through and nobody else's did: the question was
    // acknowledged, answered, given a follow-up and resolved, and the other OPD's
    // rejection (NOT_FOUND) did not send it back to routing.
    let mut desk = sys.intake.clone();
    let track = int::TrackQuestionRequest {
        ticket: fx.ticket.clone(),
        tracking_pin: fx.pin.clone(),
    };
    eventually("the question resolved by its own OPD", || {
        let (mut desk, track) = (desk.clone(), track.clone());
        async move {
            let status = desk.track_question(track).await.ok()?.into_inner().status;
            (status == QuestionStatus::Resolved as i32).then_some(())
        }
    })
    .await;
    let _ = desk.track_question(track).await.expect("still trackable");
    sys.stop().await;
}

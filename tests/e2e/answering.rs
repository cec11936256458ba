//! End-to-end tests of the answering service's own capabilities: the lifecycle of a
//! question in an OPD's hands, optimistic concurrency, OPD confinement, inbox filters
//! and paging, GetQuestion, templates, and what reaches the event stream.

mod confinement;
mod inbox;
mod nats_permissions;
mod stream_privacy;
mod templates;

use std::collections::HashMap;

use kenduren_proto::{
    answering::v1::{
        answering_service_client::AnsweringServiceClient, AcknowledgeQuestionRequest, AnswerQuestionRequest,
        ContactStatus, GetQuestionRequest, InboxItem, ListInboxRequest, PlanFollowUpRequest,
        RejectAssignmentRequest, ResolveQuestionRequest,
    },
    events::v1::QuestionStatus,
    intake::v1::{SubmitQuestionRequest, WithdrawQuestionRequest},
};
use tonic::{Code, Status};

use crate::{
    support::{eventually, Authed, TestSystem},
    walking_skeleton::ktp_question,
};

pub(crate) type Client = AnsweringServiceClient<Authed>;

/// A submission in `category` (routed by the shipped rules), from a named citizen.
pub(crate) fn submission(request_id: &str, category: &str) -> SubmitQuestionRequest {
    SubmitQuestionRequest {
        category: category.into(),
        ..ktp_question(request_id)
    }
}

/// Submits every request and returns the question ids, in order.
pub(crate) async fn submit_all(sys: &mut TestSystem, requests: Vec<SubmitQuestionRequest>) -> Vec<String> {
    let mut ids = Vec::new();
    for r in requests {
        ids.push(
            sys.intake
                .submit_question(r)
                .await
                .expect("submitted")
                .into_inner()
                .question_id,
        );
    }
    ids
}

/// An answering client acting as `role`.
pub(crate) async fn client_as(sys: &TestSystem, role: &str) -> Client {
    AnsweringServiceClient::new(
        sys.channel_with_token(sys.addrs().answering, &sys.token(role))
            .await,
    )
}

/// Waits until every id is in the client's own inbox (any status) and returns the items.
pub(crate) async fn wait_in_inbox(client: &Client, ids: &[String]) -> HashMap<String, InboxItem> {
    let all_statuses: Vec<i32> = (1..=8).collect();
    eventually("the questions in the OPD's inbox", || {
        let (mut client, statuses) = (client.clone(), all_statuses.clone());
        async move {
            let mut found = HashMap::new();
            let mut token = String::new();
            loop {
                let page = client
                    .list_inbox(ListInboxRequest {
                        statuses: statuses.clone(),
                        page_size: 200,
                        page_token: token,
                        ..Default::default()
                    })
                    .await
                    .ok()?
                    .into_inner();
                found.extend(page.items.into_iter().map(|i| (i.question_id.clone(), i)));
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            ids.iter().all(|id| found.contains_key(id)).then_some(found)
        }
    })
    .await
}

/// What an OPD can do to a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Acknowledge,
    Answer,
    PlanFollowUp,
    Resolve,
    Reject,
}

pub(crate) const ACTIONS: [Action; 5] = [
    Action::Acknowledge,
    Action::Answer,
    Action::PlanFollowUp,
    Action::Resolve,
    Action::Reject,
];

/// Performs `action` on `id` (optionally naming `opd`); returns the new version.
pub(crate) async fn act(
    client: &mut Client,
    action: Action,
    id: &str,
    opd: &str,
    expected_version: Option<i64>,
) -> Result<i64, Status> {
    let (question_id, opd_code) = (id.to_owned(), opd.to_owned());
    let version = match action {
        Action::Acknowledge => {
            client
                .acknowledge_question(AcknowledgeQuestionRequest {
                    question_id,
                    opd_code,
                    staff_name: "Rina".into(),
                    expected_version,
                })
                .await?
                .into_inner()
                .version
        }
        Action::Answer => {
            client
                .answer_question(AnswerQuestionRequest {
                    question_id,
                    opd_code,
                    answer: "Silakan datang ke kantor dengan surat kehilangan.".into(),
                    responder_name: "Budi".into(),
                    responder_position: "Kasi Pelayanan".into(),
                    attachments: vec![],
                    expected_version,
                })
                .await?
                .into_inner()
                .version
        }
        Action::PlanFollowUp => {
            let mut req = PlanFollowUpRequest {
                question_id,
                opd_code,
                plan: "Petugas datang ke desa untuk perekaman.".into(),
                planned_by: Some(Default::default()),
                expected_version,
            };
            if let Some(by) = req.planned_by.as_mut() {
                by.seconds = seconds_from_now(7 * 86_400);
            }
            client.plan_follow_up(req).await?.into_inner().version
        }
        Action::Resolve => {
            client
                .resolve_question(ResolveQuestionRequest {
                    question_id,
                    opd_code,
                    note: "KTP-el sudah dicetak.".into(),
                    expected_version,
                })
                .await?
                .into_inner()
                .version
        }
        Action::Reject => {
            client
                .reject_assignment(RejectAssignmentRequest {
                    question_id,
                    opd_code,
                    reason: "Bukan kewenangan kami.".into(),
                    expected_version,
                })
                .await?
                .into_inner()
                .version
        }
    };
    Ok(version)
}

/// Unix seconds `secs` from now.
fn seconds_from_now(secs: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    now.as_secs() as i64 + secs
}

async fn status_of(client: &mut Client, id: &str) -> Result<QuestionStatus, Status> {
    let q = client
        .get_question(GetQuestionRequest {
            question_id: id.into(),
            opd_code: String::new(),
        })
        .await?
        .into_inner()
        .question
        .expect("question");
    Ok(QuestionStatus::try_from(q.status).expect("known status"))
}

/// How a question gets from ROUTED to a starting status: an OPD action, or the citizen
/// withdrawing it at the desk (intake's WithdrawQuestion).
#[derive(Debug, Clone, Copy)]
enum Step {
    Opd(Action),
    Withdraw,
}

/// A starting status, the steps that lead there from ROUTED, and the status each of
/// [`ACTIONS`] leads to (`None`: refused).
type Case = (QuestionStatus, &'static [Step], [Option<QuestionStatus>; 5]);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_allowed_and_forbidden_transition_follows_the_lifecycle() {
    use Action::*;
    use QuestionStatus as S;
    use Step::{Opd, Withdraw};
    let mut sys = TestSystem::start().await;
    // Starting status, how to get there from ROUTED, and what each action leads to
    // (None: refused with FAILED_PRECONDITION naming the starting status).
    let table: [Case; 6] = [
        (
            S::Routed,
            &[],
            [
                Some(S::Acknowledged),
                Some(S::Answered),
                None,
                None,
                Some(S::Submitted),
            ],
        ),
        (
            S::Acknowledged,
            &[Opd(Acknowledge)],
            [None, Some(S::Answered), None, None, Some(S::Submitted)],
        ),
        (
            S::Answered,
            &[Opd(Answer)],
            [None, None, Some(S::FollowUp), Some(S::Resolved), None],
        ),
        (
            S::FollowUp,
            &[Opd(Answer), Opd(PlanFollowUp)],
            [None, None, Some(S::FollowUp), Some(S::Resolved), None],
        ),
        (
            S::Resolved,
            &[Opd(Answer), Opd(Resolve)],
            [None, None, None, None, None],
        ),
        (S::Withdrawn, &[Withdraw], [None, None, None, None, None]),
    ];
    let mut submitted = Vec::new();
    for i in 0..table.len() * ACTIONS.len() {
        let s = sys
            .intake
            .submit_question(submission(&format!("t-{i}"), "kependudukan"))
            .await
            .expect("submitted")
            .into_inner();
        submitted.push(s);
    }
    let ids: Vec<String> = submitted.iter().map(|s| s.question_id.clone()).collect();
    let mut opd = sys.answering.clone();
    wait_in_inbox(&opd, &ids).await;
    let mut questions = submitted.into_iter();
    for (start, path, outcomes) in table {
        for (action, outcome) in ACTIONS.into_iter().zip(outcomes) {
            let q = questions.next().expect("one question per case");
            let id = q.question_id.clone();
            for step in path {
                match step {
                    Opd(a) => {
                        act(&mut opd, *a, &id, "", None).await.expect("setting up");
                    }
                    Withdraw => {
                        sys.intake
                            .withdraw_question(WithdrawQuestionRequest {
                                ticket: q.ticket.clone(),
                                tracking_pin: q.tracking_pin.clone(),
                                reason: "Sudah diurus sendiri".into(),
                            })
                            .await
                            .expect("withdrawn at the desk");
                    }
                }
            }
            // The OPD learns of a withdrawal from the stream, a moment later.
            eventually(&format!("{id} to be {start:?} for the OPD"), || {
                let mut opd = opd.clone();
                let id = id.clone();
                async move { (status_of(&mut opd, &id).await.ok()? == start).then_some(()) }
            })
            .await;
            let result = act(&mut opd, action, &id, "", None).await;
            match (outcome, result) {
                (Some(S::Submitted), Ok(_)) => {
                    // A rejected question leaves this OPD: it is no longer there to read.
                    let err = status_of(&mut opd, &id)
                        .await
                        .expect_err("rejected question readable");
                    assert_eq!(err.code(), Code::NotFound, "{action:?} from {start:?}");
                }
                (Some(next), Ok(_)) => {
                    assert_eq!(
                        status_of(&mut opd, &id).await.expect("readable"),
                        next,
                        "{action:?} from {start:?}"
                    )
                }
                (None, Err(e)) => {
                    assert_eq!(
                        e.code(),
                        Code::FailedPrecondition,
                        "{action:?} from {start:?}: {}",
                        e.message()
                    );
                    let name = start.as_str_name().trim_start_matches("QUESTION_STATUS_");
                    assert!(
                        e.message().contains(name),
                        "{action:?} from {start:?}: {}",
                        e.message()
                    );
                }
                (expected, got) => panic!("{action:?} from {start:?}: expected {expected:?}, got {got:?}"),
            }
        }
    }
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_answers_with_the_same_version_have_one_winner_and_one_aborted() {
    let mut sys = TestSystem::start().await;
    let ids = submit_all(&mut sys, vec![submission("c-1", "kependudukan")]).await;
    let opd = sys.answering.clone();
    let version = wait_in_inbox(&opd, &ids).await[&ids[0]].version;
    let (mut a, mut b) = (opd.clone(), opd.clone());
    let (ra, rb) = tokio::join!(
        act(&mut a, Action::Answer, &ids[0], "", Some(version)),
        act(&mut b, Action::Answer, &ids[0], "", Some(version)),
    );
    let codes: Vec<Code> = [&ra, &rb]
        .iter()
        .map(|r| r.as_ref().map(|_| Code::Ok).unwrap_or_else(|e| e.code()))
        .collect();
    assert!(
        codes.contains(&Code::Ok) && codes.contains(&Code::Aborted),
        "expected one winner and one ABORTED, got {codes:?}"
    );
    // A stale version stays stale for every write.
    let err = act(&mut a, Action::Resolve, &ids[0], "", Some(version))
        .await
        .expect_err("stale resolve");
    assert_eq!(err.code(), Code::Aborted);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_question_shows_the_whole_question_and_the_contact_only_when_not_anonymous() {
    let mut sys = TestSystem::start().await;
    let mut anonymous = submission("g-2", "kependudukan");
    if let Some(c) = anonymous.citizen.as_mut() {
        c.anonymous = true;
    }
    let ids = submit_all(&mut sys, vec![submission("g-1", "kependudukan"), anonymous]).await;
    let mut opd = sys.answering.clone();
    wait_in_inbox(&opd, &ids).await;
    act(&mut opd, Action::Answer, &ids[0], "", None)
        .await
        .expect("answered");
    let get = |id: &str| GetQuestionRequest {
        question_id: id.into(),
        opd_code: String::new(),
    };
    let q = opd
        .get_question(get(&ids[0]))
        .await
        .expect("own question")
        .into_inner()
        .question
        .expect("q");
    assert_eq!(q.status, QuestionStatus::Answered as i32);
    assert_eq!(
        (q.category.as_str(), q.kecamatan.as_str()),
        ("kependudukan", "Bangil")
    );
    assert!(q.text.contains("KTP-el") && q.answer.contains("surat kehilangan"));
    assert!(q.due_at.is_some() && !q.overdue);
    assert_eq!(q.history.len(), 1);
    assert_eq!(q.history[0].event_type, "kenduren.events.v1.QuestionAnswered");
    // The assigned OPD gets the contact, fetched from intake over gRPC.
    assert_eq!(q.contact_status, ContactStatus::Available as i32);
    let contact = q.contact.expect("contact");
    assert_eq!(
        (contact.name.as_str(), contact.phone.as_str()),
        ("Siti Aminah", "081234567890")
    );

    let q = opd
        .get_question(get(&ids[1]))
        .await
        .expect("own question")
        .into_inner()
        .question
        .expect("q");
    assert!(q.anonymous);
    assert_eq!(q.contact_status, ContactStatus::Anonymous as i32);
    assert!(q.contact.is_none());
    sys.stop().await;
}

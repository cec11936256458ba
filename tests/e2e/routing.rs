//! Routing against the real services: automatic routing, triage and manual routing,
//! rerouting after a rejection, reassignment, the audited directory and rules; the
//! escalation tests are in `routing/escalation.rs` and `routing/deadlines.rs`.

mod deadlines;
mod escalation;
mod policy;

use kenduren_proto::{
    answering::v1::{
        answering_service_client::AnsweringServiceClient, InboxItem, ListInboxRequest,
        RejectAssignmentRequest,
    },
    events::v1::QuestionKind,
    intake::v1::SubmitQuestionResponse,
    routing::v1::{
        routing_service_client::RoutingServiceClient, DeleteRuleRequest, ExplainRouteRequest,
        GetSlaPolicyRequest, ListTriageRequest, ReassignQuestionRequest, RouteManuallyRequest, Rule,
        SlaPolicy, UpsertRuleRequest,
    },
    AnyEvent,
};
use sqlx::{Connection, PgConnection};
use tonic::Code;

use crate::{
    support::{eventually, Authed, TestSystem},
    walking_skeleton::ktp_question,
};

/// The SLA policy in force, as `routing`'s caller reads it.
pub(crate) async fn sla_policy(routing: &mut RoutingServiceClient<Authed>) -> SlaPolicy {
    routing
        .get_sla_policy(GetSlaPolicyRequest {})
        .await
        .expect("read")
        .into_inner()
        .policy
        .expect("policy")
}

/// Submits a question of `category` and returns what the desk got back.
pub(crate) async fn submit(sys: &mut TestSystem, request_id: &str, category: &str) -> SubmitQuestionResponse {
    let mut q = ktp_question(request_id);
    q.category = category.into();
    sys.intake
        .submit_question(q)
        .await
        .expect("submission accepted")
        .into_inner()
}

/// Answering as `opd:<code>`.
pub(crate) async fn answering_as(sys: &TestSystem, opd: &str) -> AnsweringServiceClient<Authed> {
    AnsweringServiceClient::new(
        sys.channel_with_token(sys.addrs().answering, &sys.token(&format!("opd:{opd}")))
            .await,
    )
}

/// Waits until `question_id` is in `opd`'s inbox and returns the item.
pub(crate) async fn in_inbox(sys: &TestSystem, opd: &str, question_id: &str) -> InboxItem {
    let client = answering_as(sys, opd).await;
    eventually(&format!("the question in {opd}'s inbox"), || {
        let (mut client, opd, id) = (client.clone(), opd.to_owned(), question_id.to_owned());
        async move {
            let page = client
                .list_inbox(ListInboxRequest {
                    opd_code: opd,
                    page_size: 100,
                    ..Default::default()
                })
                .await
                .ok()?
                .into_inner();
            page.items.into_iter().find(|i| i.question_id == id)
        }
    })
    .await
}

/// Routing's stored events of `stream` (a question id, `rule-<id>`, …), decoded, in order.
pub(crate) async fn routing_events(sys: &TestSystem, stream: &str) -> Vec<AnyEvent> {
    let mut db = PgConnection::connect(&sys.settings.database_url)
        .await
        .expect("db");
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT event_type, payload FROM routing.events WHERE stream_id = $1 ORDER BY stream_version",
    )
    .bind(stream)
    .fetch_all(&mut db)
    .await
    .expect("routing's events");
    rows.iter()
        .map(|(ty, payload)| AnyEvent::decode(ty, payload).expect("a known event"))
        .collect()
}

/// Waits until `question_id` is in the triage queue and returns why it is there.
pub(crate) async fn in_triage(sys: &TestSystem, question_id: &str) -> (String, Vec<String>) {
    let routing = sys.routing.clone();
    eventually("the question in triage", || {
        let (mut routing, id) = (routing.clone(), question_id.to_owned());
        async move {
            let page = routing
                .list_triage(ListTriageRequest {
                    page_size: 100,
                    ..Default::default()
                })
                .await
                .ok()?;
            page.into_inner()
                .items
                .into_iter()
                .find(|i| i.question_id == id)
                .map(|i| (i.reason, i.rejected_by))
        }
    })
    .await
}

fn rule(id: &str, category: &str, opd: &str, priority: i32) -> Rule {
    Rule {
        rule_id: id.into(),
        category: category.into(),
        opd_code: opd.into(),
        priority,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_is_routed_by_the_rules_and_explain_route_says_which_rule() {
    let mut sys = TestSystem::start().await;
    let q = submit(&mut sys, "auto-1", "kependudukan").await;
    let item = in_inbox(&sys, "DISPENDUKCAPIL", &q.question_id).await;
    assert!(item.due_at.is_some(), "a routed question has a due date");

    // Any role may ask why; the answer names the same rule.
    let mut as_desk = RoutingServiceClient::new(
        sys.channel_with_token(sys.addrs().routing, &sys.token("desk"))
            .await,
    );
    let why = as_desk
        .explain_route(ExplainRouteRequest {
            kind: QuestionKind::Question as i32,
            category: "kependudukan".into(),
            kecamatan: "Bangil".into(),
            text: "KTP hilang".into(),
            excluded_opd_codes: vec![],
        })
        .await
        .expect("explained")
        .into_inner();
    assert!(!why.triage);
    assert_eq!(
        (why.opd_code.as_str(), why.rule_id.as_str()),
        ("DISPENDUKCAPIL", "kependudukan-default")
    );
    assert!(why.reason.contains("kependudukan-default"), "{}", why.reason);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_no_rule_matches_waits_in_triage_until_an_admin_routes_it() {
    let mut sys = TestSystem::start().await;
    let q = submit(&mut sys, "triage-1", "lainnya").await;
    let (reason, _) = in_triage(&sys, &q.question_id).await;
    assert!(reason.contains("lainnya"), "{reason}");

    // Only admins see the queue.
    let mut as_opd = RoutingServiceClient::new(
        sys.channel_with_token(sys.addrs().routing, &sys.token("opd:DINKES"))
            .await,
    );
    let denied = as_opd
        .list_triage(ListTriageRequest::default())
        .await
        .expect_err("not an admin");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let bad = sys
        .routing
        .route_manually(RouteManuallyRequest {
            question_id: "nope".into(),
            opd_code: "dinkes".into(),
            reason: " ".into(),
        })
        .await
        .expect_err("every field is wrong");
    assert_eq!(bad.code(), Code::InvalidArgument);
    for field in ["question_id", "opd_code", "reason"] {
        assert!(
            bad.message().contains(field),
            "{field} named in {}",
            bad.message()
        );
    }

    let routed = sys
        .routing
        .route_manually(RouteManuallyRequest {
            question_id: q.question_id.clone(),
            opd_code: "DINSOS".into(),
            reason: "Bantuan untuk warga terdampak".into(),
        })
        .await
        .expect("routed by hand")
        .into_inner()
        .routed
        .expect("the event");
    assert_eq!(routed.opd_code, "DINSOS");
    assert_eq!(routed.rule_id, "", "no rule routed it");
    in_inbox(&sys, "DINSOS", &q.question_id).await;
    let page = sys
        .routing
        .list_triage(ListTriageRequest::default())
        .await
        .expect("listed")
        .into_inner();
    assert!(
        page.items.iter().all(|i| i.question_id != q.question_id),
        "no longer in triage"
    );

    let again = sys
        .routing
        .route_manually(RouteManuallyRequest {
            question_id: q.question_id.clone(),
            opd_code: "DINKES".into(),
            reason: "lagi".into(),
        })
        .await
        .expect_err("not in triage any more");
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert!(again.message().contains("ROUTED"), "{}", again.message());
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_question_never_goes_back_to_the_opd_that_rejected_it() {
    let mut sys = TestSystem::start().await;
    // A second choice for population questions, below the shipped rule.
    sys.routing
        .upsert_rule(UpsertRuleRequest {
            rule: Some(rule("kependudukan-dinsos", "kependudukan", "DINSOS", 5)),
        })
        .await
        .expect("rule added");
    let q = submit(&mut sys, "reject-1", "kependudukan").await;
    in_inbox(&sys, "DISPENDUKCAPIL", &q.question_id).await;

    let reject = |opd: &str| RejectAssignmentRequest {
        question_id: q.question_id.clone(),
        opd_code: opd.into(),
        reason: "Bukan kewenangan kami".into(),
        expected_version: None,
    };
    answering_as(&sys, "DISPENDUKCAPIL")
        .await
        .reject_assignment(reject("DISPENDUKCAPIL"))
        .await
        .expect("rejected");
    in_inbox(&sys, "DINSOS", &q.question_id).await;

    // The next OPD rejects too: no rule is left, so it waits in triage, not back at the first.
    answering_as(&sys, "DINSOS")
        .await
        .reject_assignment(reject("DINSOS"))
        .await
        .expect("rejected");
    let (reason, mut rejected_by) = in_triage(&sys, &q.question_id).await;
    rejected_by.sort();
    assert_eq!(rejected_by, ["DINSOS", "DISPENDUKCAPIL"]);
    assert!(reason.contains("DISPENDUKCAPIL"), "{reason}");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reassigns_an_open_question_to_another_opd_with_a_new_due_date() {
    let mut sys = TestSystem::start().await;
    let q = submit(&mut sys, "reassign-1", "kependudukan").await;
    in_inbox(&sys, "DISPENDUKCAPIL", &q.question_id).await;

    let request = |opd: &str| ReassignQuestionRequest {
        question_id: q.question_id.clone(),
        opd_code: opd.into(),
        reason: "Menyangkut data penerima bansos".into(),
    };
    let moved = sys
        .routing
        .reassign_question(request("DINSOS"))
        .await
        .expect("reassigned")
        .into_inner()
        .reassigned
        .expect("the event");
    assert_eq!(
        (moved.from_opd_code.as_str(), moved.to_opd_code.as_str()),
        ("DISPENDUKCAPIL", "DINSOS")
    );
    assert!(moved.due_at.is_some());
    in_inbox(&sys, "DINSOS", &q.question_id).await;

    let same = sys
        .routing
        .reassign_question(request("DINSOS"))
        .await
        .expect_err("already there");
    assert_eq!(same.code(), Code::FailedPrecondition);
    let unknown = sys
        .routing
        .reassign_question(request("NOPE"))
        .await
        .expect_err("not in the directory");
    assert_eq!(unknown.code(), Code::InvalidArgument);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_changes_take_effect_at_once_and_only_admins_make_them() {
    let mut sys = TestSystem::start().await;
    let mut as_analyst = RoutingServiceClient::new(
        sys.channel_with_token(sys.addrs().routing, &sys.token("analyst"))
            .await,
    );
    let denied = as_analyst
        .delete_rule(DeleteRuleRequest {
            rule_id: "kependudukan-default".into(),
        })
        .await
        .expect_err("not an admin");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let bad = sys
        .routing
        .upsert_rule(UpsertRuleRequest {
            rule: Some(rule("Bad Id", "nope", "NOBODY", 1)),
        })
        .await
        .expect_err("every field is wrong");
    assert_eq!(bad.code(), Code::InvalidArgument);
    for field in ["rule.rule_id", "rule.category", "rule.opd_code"] {
        assert!(
            bad.message().contains(field),
            "{field} named in {}",
            bad.message()
        );
    }

    let narrowed = Rule {
        kinds: vec![QuestionKind::Complaint as i32],
        ..rule("kependudukan-pengaduan", "kependudukan", "DINSOS", 1)
    };
    sys.routing
        .upsert_rule(UpsertRuleRequest { rule: Some(narrowed) })
        .await
        .expect("rule added");
    sys.routing
        .delete_rule(DeleteRuleRequest {
            rule_id: "kependudukan-default".into(),
        })
        .await
        .expect("deleted");
    // Both changes are events naming the admin (the token's subject) and when.
    let upserts = routing_events(&sys, "rule-kependudukan-pengaduan").await;
    let [AnyEvent::RuleUpserted(upserted)] = upserts.as_slice() else {
        panic!("one RuleUpserted, got {upserts:?}");
    };
    assert_eq!(upserted.actor, "test");
    assert_eq!(upserted.kinds, [QuestionKind::Complaint as i32]);
    assert!(upserted.upserted_at.is_some_and(|t| t.seconds > 0));
    let deletes = routing_events(&sys, "rule-kependudukan-default").await;
    let Some(AnyEvent::RuleDeleted(deleted)) = deletes.last() else {
        panic!("a RuleDeleted last, got {deletes:?}");
    };
    assert_eq!(
        (deleted.rule_id.as_str(), deleted.actor.as_str()),
        ("kependudukan-default", "test")
    );
    assert!(deleted.deleted_at.is_some_and(|t| t.seconds > 0));
    let gone = sys
        .routing
        .delete_rule(DeleteRuleRequest {
            rule_id: "kependudukan-default".into(),
        })
        .await
        .expect_err("already deleted");
    assert_eq!(gone.code(), Code::NotFound);
    // The complaint-only rule left does not take a question: it waits in triage.
    let q = submit(&mut sys, "rules-1", "kependudukan").await;
    in_triage(&sys, &q.question_id).await;
    sys.stop().await;
}

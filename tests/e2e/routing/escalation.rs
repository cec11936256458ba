//! Escalation with a controllable clock (`RunEscalations{as_of}`): each level once,
//! also with two routing instances and across a restart; an answer stops the clock and
//! a reopening starts a new one whose due dates every service shows. Level 2's delay
//! and a whole restart are in `deadlines.rs`.

use std::{collections::BTreeSet, time::SystemTime};

use chrono::TimeDelta;
use kenduren_proto::{
    answering::v1::{AnswerQuestionRequest, InboxItem},
    events::v1::QuestionRescheduled,
    intake::v1::RateAnswerRequest,
    routing::v1::{routing_service_client::RoutingServiceClient, RunEscalationsRequest},
    AnyEvent, EventMessage,
};
use kenduren_runtime::{Backbone, BackboneSettings, CancellationToken, Clock, RuntimeError};
use sqlx::{Connection, PgConnection};
use tokio::{net::TcpListener, task::JoinHandle};

use super::{answering_as, in_inbox, routing_events, submit};
use crate::support::{eventually, Authed, TestSystem};

const DAY: i64 = 24 * 3600;

/// A sweep as of `seconds` after the item's answer due date.
pub(super) fn after_due(item: &InboxItem, seconds: i64) -> RunEscalationsRequest {
    let mut at = item.due_at.expect("a routed question has a due date");
    at.seconds += seconds;
    RunEscalationsRequest { as_of: Some(at) }
}

/// A sweep as of `seconds` from the real now.
fn from_now(item: &InboxItem, seconds: i64) -> RunEscalationsRequest {
    let mut at = item.due_at.expect("a routed question has a due date");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    at.seconds = i64::try_from(now).expect("fits") + seconds;
    at.nanos = 0;
    RunEscalationsRequest { as_of: Some(at) }
}

/// The (question, level) pairs a sweep escalated.
pub(super) async fn sweep(
    routing: &mut RoutingServiceClient<Authed>,
    request: RunEscalationsRequest,
) -> Vec<(String, u32)> {
    let escalated = routing
        .run_escalations(request)
        .await
        .expect("swept")
        .into_inner()
        .escalated;
    escalated.into_iter().map(|e| (e.question_id, e.level)).collect()
}

/// Routing's own status of a question, to know it has applied an event before sweeping.
async fn routing_status(sys: &TestSystem, question_id: &str) -> Option<String> {
    let mut db = PgConnection::connect(&sys.settings.database_url).await.ok()?;
    let id = uuid::Uuid::parse_str(question_id).ok()?;
    sqlx::query_scalar("SELECT status FROM routing.questions WHERE question_id = $1")
        .bind(id)
        .fetch_optional(&mut db)
        .await
        .ok()?
}

/// Another routing instance on the same database and stream, as a second replica would be.
pub(super) struct Instance {
    /// As an admin.
    pub(super) client: RoutingServiceClient<Authed>,
    stop: CancellationToken,
    task: JoinHandle<Result<(), RuntimeError>>,
}

async fn another_instance(sys: &TestSystem) -> Instance {
    routing_instance(sys, sys.settings.clock).await
}

/// A routing instance of its own on the same database and stream, reading `clock`.
pub(super) async fn routing_instance(sys: &TestSystem, clock: Clock) -> Instance {
    let settings = BackboneSettings {
        clock,
        ..sys.settings.clone()
    };
    let backbone = Backbone::connect(settings).await.expect("backbone");
    let reference = std::sync::Arc::new(kenduren::reference::load(None).expect("shipped reference data"));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let addr = listener.local_addr().expect("bound");
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let stop = stop.clone();
        async move { kenduren_routing::run(&backbone, reference, listener, stop).await }
    });
    let client = RoutingServiceClient::new(sys.channel_with_token(addr, &sys.token("admin")).await);
    Instance { client, stop, task }
}

impl Instance {
    /// Stops it and waits until it has.
    pub(super) async fn stop(self) {
        self.stop.cancel();
        self.task.await.expect("joined").expect("stopped cleanly");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_question_escalates_once_per_level_on_a_controllable_clock() {
    let mut sys = TestSystem::start().await;
    let q = submit(&mut sys, "late-1", "kependudukan").await;
    let item = in_inbox(&sys, "DISPENDUKCAPIL", &q.question_id).await;
    let mut routing = sys.routing.clone();

    assert_eq!(
        sweep(&mut routing, after_due(&item, -1)).await,
        [],
        "not late yet"
    );
    assert_eq!(
        sweep(&mut routing, after_due(&item, 1)).await,
        [(q.question_id.clone(), 1)]
    );
    assert_eq!(
        sweep(&mut routing, after_due(&item, 2)).await,
        [],
        "level 1 only once"
    );
    // Level 2 comes 3 working days later (the default policy); 30 days is surely past it.
    assert_eq!(
        sweep(&mut routing, after_due(&item, 30 * DAY)).await,
        [(q.question_id.clone(), 2)]
    );
    assert_eq!(
        sweep(&mut routing, after_due(&item, 60 * DAY)).await,
        [],
        "level 2 only once"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_and_a_restart_never_escalate_twice() {
    let mut sys = TestSystem::start().await;
    let mut items = Vec::new();
    for i in 0..4 {
        let q = submit(&mut sys, &format!("twice-{i}"), "kependudukan").await;
        items.push(in_inbox(&sys, "DISPENDUKCAPIL", &q.question_id).await);
    }
    let latest = items
        .iter()
        .max_by_key(|i| i.due_at.as_ref().map(|t| t.seconds))
        .expect("items")
        .clone();
    let second = another_instance(&sys).await;

    // Both instances sweep at once, twice each, long after every deadline.
    let (mut a, mut b) = (sys.routing.clone(), second.client.clone());
    let (a1, b1) = tokio::join!(
        sweep(&mut a, after_due(&latest, 30 * DAY)),
        sweep(&mut b, after_due(&latest, 30 * DAY))
    );
    let (a2, b2) = tokio::join!(
        sweep(&mut a, after_due(&latest, 31 * DAY)),
        sweep(&mut b, after_due(&latest, 31 * DAY))
    );
    let all: Vec<(String, u32)> = [a1, b1, a2, b2].into_iter().flatten().collect();
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), distinct.len(), "nothing escalated twice: {all:?}");
    let expected: BTreeSet<_> = items
        .iter()
        .flat_map(|i| [(i.question_id.clone(), 1), (i.question_id.clone(), 2)])
        .collect();
    assert_eq!(distinct, expected, "every level of every question escalated");

    // A restarted instance finds the deadlines done.
    second.stop().await;
    let mut restarted = another_instance(&sys).await;
    assert_eq!(
        sweep(&mut restarted.client, after_due(&latest, 40 * DAY)).await,
        []
    );
    restarted.stop().await;
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_stops_the_clock_and_a_reopening_starts_a_new_one() {
    let mut sys = TestSystem::start().await;
    let q = submit(&mut sys, "reopen-1", "kependudukan").await;
    let item = in_inbox(&sys, "DISPENDUKCAPIL", &q.question_id).await;
    answering_as(&sys, "DISPENDUKCAPIL")
        .await
        .answer_question(AnswerQuestionRequest {
            question_id: q.question_id.clone(),
            opd_code: "DISPENDUKCAPIL".into(),
            answer: "Datang ke kantor dengan surat kehilangan dari kepolisian.".into(),
            responder_name: "Budi".into(),
            responder_position: "Kepala Seksi".into(),
            attachments: vec![],
            expected_version: None,
        })
        .await
        .expect("answered");
    eventually("routing to see the answer", || async {
        (routing_status(&sys, &q.question_id).await.as_deref() == Some("ANSWERED")).then_some(())
    })
    .await;
    assert_eq!(
        sweep(&mut sys.routing.clone(), after_due(&item, 30 * DAY)).await,
        [],
        "an answered question is not late"
    );

    // A poor rating a week later reopens it (the rating's desk runs a week ahead; a week
    // is inside the 10-working-day window): a new clock, due in working days from then.
    let week_later = kenduren::RunningSystem::start(
        BackboneSettings {
            clock: Clock::shifted(TimeDelta::days(7)),
            ..sys.settings.clone()
        },
        kenduren::ServiceAddrs::ephemeral(),
        kenduren::reference::load(None).expect("shipped reference data"),
    )
    .await
    .expect("a second instance starts");
    let intake = sys.intake_at(week_later.addrs.intake).await;
    let rated = eventually("intake to accept the rating", || {
        let (mut intake, ticket, pin) = (intake.clone(), q.ticket.clone(), q.tracking_pin.clone());
        async move {
            let request = RateAnswerRequest {
                ticket,
                tracking_pin: pin,
                rating: 1,
                comment: "Belum jelas".into(),
            };
            intake.rate_answer(request).await.ok().map(|r| r.into_inner())
        }
    })
    .await;
    assert!(rated.reopened, "a rating of 1 reopens");
    eventually("routing to see the reopening", || async {
        (routing_status(&sys, &q.question_id).await.as_deref() == Some("ROUTED")).then_some(())
    })
    .await;

    // The new due dates are published on the question's stream, later than the first ones.
    let rescheduled = routing_events(&sys, &q.question_id)
        .await
        .into_iter()
        .find_map(|e| match e {
            AnyEvent::QuestionRescheduled(r) => Some(r),
            _ => None,
        })
        .expect("QuestionRescheduled appended with the reopening");
    let first_due = item.due_at.expect("first due date");
    let new_due = rescheduled.due_at.expect("a new due date");
    assert_eq!(
        rescheduled.opd_code, "DISPENDUKCAPIL",
        "the same OPD owes the answer"
    );
    assert!(
        new_due.seconds > first_due.seconds + 3 * DAY,
        "due {new_due:?} after the reopening, {first_due:?} before"
    );
    assert!(rescheduled.resolution_due_at.is_some());
    assert!(
        rescheduled.reason.contains("rating of 1"),
        "{}",
        rescheduled.reason
    );

    // The OPD's inbox and reporting follow the new clock.
    let inbox = eventually("the inbox to show the new due date", || async {
        let item = in_inbox(&sys, "DISPENDUKCAPIL", &q.question_id).await;
        (item.due_at == Some(new_due)).then_some(item)
    })
    .await;
    assert!(!inbox.overdue, "a reopened question starts on time");
    let reporting = eventually("reporting to have the new due date", || async {
        let mut db = PgConnection::connect(&sys.settings.database_url).await.ok()?;
        let id = uuid::Uuid::parse_str(&q.question_id).ok()?;
        let (due, rescheduled, reopened): (chrono::DateTime<chrono::Utc>, i64, i32) = sqlx::query_as(
            "SELECT f.due_at, (SELECT count(*) FROM reporting.timeline t
                               WHERE t.question_id = f.question_id AND t.event_type = $2), f.reopened
             FROM reporting.question_facts f WHERE f.question_id = $1",
        )
        .bind(id)
        .bind(<QuestionRescheduled as EventMessage>::TYPE)
        .fetch_optional(&mut db)
        .await
        .ok()??;
        (rescheduled == 1).then_some((due, reopened))
    })
    .await;
    assert_eq!(reporting.0.timestamp(), new_due.seconds, "reporting's due date");
    assert_eq!(reporting.1, 1, "counted as reopened once");

    let mut routing = sys.routing.clone();
    assert_eq!(
        sweep(&mut routing, after_due(&inbox, -60)).await,
        [],
        "the new clock runs until its own due date"
    );
    assert_eq!(
        sweep(&mut routing, from_now(&item, 60 * DAY)).await,
        [(q.question_id.clone(), 1), (q.question_id.clone(), 2)],
        "the new clock escalates once it runs out"
    );
    week_later.stop().await.expect("the second instance stops");
    sys.stop().await;
}

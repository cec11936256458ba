//! Stored deadlines: level 2 after the configured number of working days, and a
//! deadline set before every service restarted escalates once after it.

use kenduren_domain::{calendar::wib, parse_holidays, WorkCalendar};
use kenduren_proto::routing::v1::{
    routing_service_client::RoutingServiceClient, RunEscalationsRequest, SlaPolicy, UpdateSlaPolicyRequest,
};

use super::{
    escalation::{after_due, sweep},
    in_inbox, sla_policy, submit,
};
use crate::support::{eventually, TestSystem};

/// The end (midnight WIB) of the first working day after the day `answer_due` closes,
/// by the shipped calendar: where level 2 falls with `level2_after_working_days = 1`.
fn one_working_day_after(answer_due: &prost_types::Timestamp) -> i64 {
    let calendar = WorkCalendar::new(
        parse_holidays(include_str!("../../../data/holidays.json"))
            .expect("shipped holidays")
            .into_iter()
            .map(|h| h.date),
    );
    let last = chrono::DateTime::from_timestamp(answer_due.seconds - 1, 0)
        .expect("a valid due date")
        .with_timezone(&wib())
        .date_naive();
    let next = calendar.working_day_after(last.succ_opt().expect("a next day"), 0);
    let midnight = next
        .succ_opt()
        .expect("a next day")
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    midnight
        .and_local_timezone(wib())
        .single()
        .expect("WIB has no gaps")
        .timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn level_two_comes_after_the_configured_number_of_working_days() {
    let mut sys = TestSystem::start().await;
    let policy = sla_policy(&mut sys.routing).await;
    assert_eq!(policy.level2_after_working_days, 3, "the default");
    sys.routing
        .update_sla_policy(UpdateSlaPolicyRequest {
            policy: Some(SlaPolicy {
                level2_after_working_days: 1,
                ..policy
            }),
        })
        .await
        .expect("updated");
    let q = submit(&mut sys, "level2-1", "kependudukan").await;
    let item = in_inbox(&sys, "DISPENDUKCAPIL", &q.question_id).await;
    let due = item.due_at.expect("due");
    let level2_due = one_working_day_after(&due);
    let at = |seconds: i64| RunEscalationsRequest {
        as_of: Some(prost_types::Timestamp { seconds, nanos: 0 }),
    };
    let mut routing = sys.routing.clone();
    assert_eq!(
        sweep(&mut routing, after_due(&item, 1)).await,
        [(q.question_id.clone(), 1)]
    );
    assert_eq!(
        sweep(&mut routing, at(level2_due - 1)).await,
        [],
        "one working day has not passed yet"
    );
    assert_eq!(
        sweep(&mut routing, at(level2_due + 1)).await,
        [(q.question_id.clone(), 2)],
        "one working day, not the default three"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_set_before_a_restart_escalates_once_after_it() {
    let mut sys = TestSystem::start().await;
    let q = submit(&mut sys, "restart-1", "kependudukan").await;
    let item = in_inbox(&sys, "DISPENDUKCAPIL", &q.question_id).await;

    // Every service stops long before the due date; a fresh set starts on the same
    // database and stream, with nothing in memory from the first.
    let first = sys.system.take().expect("running");
    first.stop().await.expect("services stop cleanly");
    let fresh = sys.start_another_instance().await;
    let mut routing = RoutingServiceClient::new(
        sys.channel_with_token(fresh.addrs.routing, &sys.token("admin"))
            .await,
    );
    sys.system = Some(fresh);

    let swept = eventually("the fresh routing to answer", || {
        let mut routing = routing.clone();
        let request = after_due(&item, -1);
        async move { routing.run_escalations(request).await.ok() }
    })
    .await;
    assert!(swept.into_inner().escalated.is_empty(), "not late yet");
    assert_eq!(
        sweep(&mut routing, after_due(&item, 1)).await,
        [(q.question_id.clone(), 1)],
        "the stored deadline survived the restart"
    );
    assert_eq!(
        sweep(&mut routing, after_due(&item, 2)).await,
        [],
        "and escalates only once"
    );
    sys.stop().await;
}

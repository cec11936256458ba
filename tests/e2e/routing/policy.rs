//! The SLA policy and the holiday calendar as admin data that due dates follow, and
//! the audit trail every directory, rule, policy and holiday change leaves.

use kenduren_proto::{
    events::v1::Holiday,
    routing::v1::{
        routing_service_client::RoutingServiceClient, GetSlaPolicyRequest, ListHolidaysRequest, Opd,
        SetHolidaysRequest, SlaPolicy, UpdateSlaPolicyRequest, UpsertOpdRequest,
    },
};
use sqlx::Connection;
use tonic::Code;

use super::{in_inbox, submit};
use crate::support::{eventually, TestSystem};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sla_policy_and_holidays_are_admin_data_and_every_change_is_an_audited_event() {
    let mut sys = TestSystem::start().await;
    let mut as_desk = RoutingServiceClient::new(
        sys.channel_with_token(sys.addrs().routing, &sys.token("desk"))
            .await,
    );
    let policy = as_desk
        .get_sla_policy(GetSlaPolicyRequest {})
        .await
        .expect("read")
        .into_inner()
        .policy
        .expect("policy");
    assert_eq!(
        (policy.answer_working_days, policy.resolution_days),
        (5, 60),
        "the national defaults"
    );
    let shipped = as_desk
        .list_holidays(ListHolidaysRequest {
            year: 2026,
            ..Default::default()
        })
        .await
        .expect("read")
        .into_inner()
        .holidays;
    assert!(
        shipped.iter().any(|h| h.date == "2026-03-21"),
        "Idul Fitri 1447 H is seeded"
    );
    // Reporting counts working hours with the same calendar, before any admin sets one.
    let reporting = sqlx::PgPool::connect(&sys.settings.database_url)
        .await
        .expect("db");
    let reporting_knows: Vec<String> = eventually("reporting has the seeded holidays", || {
        let db = reporting.clone();
        async move {
            let days: Vec<String> = sqlx::query_scalar(
                "SELECT day::text FROM reporting.holidays WHERE day IN ('2026-03-21', '2027-01-01') ORDER BY day",
            )
            .fetch_all(&db)
            .await
            .unwrap_or_default(); // reporting may still be creating its tables
            (days.len() == 2).then_some(days)
        }
    })
    .await;
    assert_eq!(reporting_knows, ["2026-03-21", "2027-01-01"]);
    reporting.close().await;

    let bad = sys
        .routing
        .update_sla_policy(UpdateSlaPolicyRequest {
            policy: Some(SlaPolicy {
                answer_working_days: 0,
                resolution_days: 0,
                ..policy.clone()
            }),
        })
        .await
        .expect_err("zero days");
    assert_eq!(bad.code(), Code::InvalidArgument);
    for field in ["policy.answer_working_days", "policy.resolution_days"] {
        assert!(
            bad.message().contains(field),
            "{field} named in {}",
            bad.message()
        );
    }

    // A longer answer target gives a later due date to the next question.
    let first = submit(&mut sys, "sla-1", "kependudukan").await;
    let before = in_inbox(&sys, "DISPENDUKCAPIL", &first.question_id)
        .await
        .due_at
        .expect("due");
    let longer = SlaPolicy {
        answer_working_days: 20,
        ..policy
    };
    sys.routing
        .update_sla_policy(UpdateSlaPolicyRequest { policy: Some(longer) })
        .await
        .expect("updated");
    let second = submit(&mut sys, "sla-2", "kependudukan").await;
    let after = in_inbox(&sys, "DISPENDUKCAPIL", &second.question_id)
        .await
        .due_at
        .expect("due");
    assert!(
        after.seconds >= before.seconds + 15 * 24 * 3600,
        "20 working days are later than 5"
    );

    let day = |date: &str| Holiday {
        date: date.into(),
        name: "Cuti bersama".into(),
    };
    let denied = as_desk
        .set_holidays(SetHolidaysRequest {
            year: 2027,
            holidays: vec![day("2027-02-08")],
        })
        .await
        .expect_err("not an admin");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let wrong_year = sys
        .routing
        .set_holidays(SetHolidaysRequest {
            year: 2027,
            holidays: vec![day("2026-02-08"), day("not a date")],
        })
        .await
        .expect_err("bad dates");
    assert!(
        wrong_year.message().contains("holidays[0].date")
            && wrong_year.message().contains("holidays[1].date")
    );
    sys.routing
        .set_holidays(SetHolidaysRequest {
            year: 2027,
            holidays: vec![day("2027-02-08"), day("2027-01-01")],
        })
        .await
        .expect("replaced");
    let listed = as_desk
        .list_holidays(ListHolidaysRequest {
            year: 2027,
            ..Default::default()
        })
        .await
        .expect("read")
        .into_inner()
        .holidays;
    let dates: Vec<_> = listed.iter().map(|h| h.date.as_str()).collect();
    assert_eq!(
        dates,
        ["2027-01-01", "2027-02-08"],
        "the year's list was replaced"
    );

    let opd = Opd {
        code: "DISPUSIP".into(),
        name: "Dinas Perpustakaan dan Kearsipan".into(),
        contact: String::new(),
        active: true,
    };
    let created = sys
        .routing
        .upsert_opd(UpsertOpdRequest { opd: Some(opd) })
        .await
        .expect("upserted")
        .into_inner();
    assert!(created.created);

    // Who changed what is in routing's event store, with the admin's token subject.
    let mut db = sqlx::PgConnection::connect(&sys.settings.database_url)
        .await
        .expect("db");
    let audit: Vec<(String, String)> = sqlx::query_as(
        "SELECT stream_id, subject FROM routing.events WHERE stream_id IN ('sla-policy', 'holidays-2027', 'opd-DISPUSIP')
         ORDER BY global_position",
    )
    .fetch_all(&mut db)
    .await
    .expect("events");
    let streams: Vec<_> = audit.iter().map(|(s, _)| s.as_str()).collect();
    // The first is the seeded calendar, announced when routing first started.
    assert_eq!(
        streams,
        ["holidays-2027", "sla-policy", "holidays-2027", "opd-DISPUSIP"]
    );
    assert!(
        audit.iter().all(|(_, subject)| subject.contains(".v1.routing.")),
        "{audit:?}"
    );
    sys.stop().await;
}

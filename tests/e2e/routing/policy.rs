//! The SLA policy and the holiday calendar as admin data that due dates follow (also a
//! target for one kind and channel, and the on-the-spot deadline of on-site questions),
//! and the audit trail every directory, rule, policy and holiday change leaves.

use chrono::{DateTime, TimeDelta, Utc};
use kenduren_domain::{calendar::wib, WorkCalendar};
use kenduren_proto::{
    events::v1::{Channel, Holiday, QuestionKind, SlaTarget},
    intake::v1::{intake_service_client::IntakeServiceClient, ScheduleSessionRequest},
    routing::v1::{
        routing_service_client::RoutingServiceClient, ListHolidaysRequest, Opd, RouteManuallyRequest,
        SetHolidaysRequest, SlaPolicy, UpdateSlaPolicyRequest, UpsertOpdRequest,
    },
};
use kenduren_runtime::Clock;
use sqlx::Connection;
use tonic::Code;

use super::{escalation::routing_instance, in_inbox, in_triage, sla_policy, submit};
use crate::{
    support::{eventually, TestSystem},
    walking_skeleton::ktp_question,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sla_policy_and_holidays_are_admin_data_and_every_change_is_an_audited_event() {
    let mut sys = TestSystem::start().await;
    let mut as_desk = RoutingServiceClient::new(
        sys.channel_with_token(sys.addrs().routing, &sys.token("desk"))
            .await,
    );
    let policy = sla_policy(&mut as_desk).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_for_one_kind_and_channel_gives_those_questions_an_earlier_due_date() {
    let mut sys = TestSystem::start().await;
    let defaults = sla_policy(&mut sys.routing).await;
    let target = SlaTarget {
        kind: QuestionKind::Complaint as i32,
        channel: Channel::Whatsapp as i32,
        answer_working_days: 1,
        resolution_days: 14,
    };
    sys.routing
        .update_sla_policy(UpdateSlaPolicyRequest {
            policy: Some(SlaPolicy {
                targets: vec![target],
                ..defaults.clone()
            }),
        })
        .await
        .expect("updated");
    let read = sla_policy(&mut sys.routing).await;
    assert_eq!(read.targets, [target], "the target round-trips");
    assert_eq!(read.answer_working_days, defaults.answer_working_days);

    // Submitted one after the other: a WhatsApp complaint and a web question.
    let mut complaint = ktp_question("sla-wa");
    complaint.kind = QuestionKind::Complaint as i32;
    complaint.channel = Channel::Whatsapp as i32;
    complaint.text = "KTP-el saya belum jadi setelah tiga bulan".into();
    let complaint = sys
        .intake
        .submit_question(complaint)
        .await
        .expect("accepted")
        .into_inner();
    let question = submit(&mut sys, "sla-web", "kependudukan").await;
    let fast = in_inbox(&sys, "DISPENDUKCAPIL", &complaint.question_id)
        .await
        .due_at
        .expect("due");
    let slow = in_inbox(&sys, "DISPENDUKCAPIL", &question.question_id)
        .await
        .due_at
        .expect("due");
    // One working day against five: at least the two weekend days apart, whatever today is.
    assert!(
        fast.seconds + 2 * 24 * 3600 < slow.seconds,
        "complaint by WhatsApp due {fast:?}, web question due {slow:?}"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_site_question_routed_by_hand_a_day_later_is_still_due_on_the_spot_that_day() {
    let mut sys = TestSystem::start().await;
    let mut intake_admin = IntakeServiceClient::new(
        sys.channel_with_token(sys.addrs().intake, &sys.token("admin"))
            .await,
    );
    let today = Utc::now().with_timezone(&wib()).date_naive();
    let session = intake_admin
        .schedule_session(ScheduleSessionRequest {
            session_id: "km-bangil-spot".into(),
            dates: vec![today.format("%Y-%m-%d").to_string()],
            kecamatan: "bangil".into(),
            desa: "Kalirejo".into(),
            programme: vec![],
            expected_opd_codes: vec!["DINSOS".into()],
        })
        .await
        .expect("scheduled")
        .into_inner()
        .session
        .expect("session");
    let mut asked = ktp_question("spot-1");
    asked.channel = Channel::OnSite as i32;
    asked.session_id = session.session_id;
    asked.category = "lainnya".into();
    let q = sys
        .intake
        .submit_question(asked)
        .await
        .expect("accepted")
        .into_inner();
    in_triage(&sys, &q.question_id).await;

    // The admin routes it the next day (a routing instance whose clock reads a day later).
    let next_day = routing_instance(&sys, Clock::shifted(TimeDelta::days(1))).await;
    let routed = eventually("the next day's routing to route it", || {
        let (mut routing, id) = (next_day.client.clone(), q.question_id.clone());
        async move {
            let request = RouteManuallyRequest {
                question_id: id,
                opd_code: "DINSOS".into(),
                reason: "Bantuan sosial".into(),
            };
            routing.route_manually(request).await.ok()
        }
    })
    .await
    .into_inner()
    .routed
    .expect("the event");
    next_day.stop().await;

    let mut db = sqlx::PgConnection::connect(&sys.settings.database_url)
        .await
        .expect("db");
    let submitted_at: DateTime<Utc> =
        sqlx::query_scalar("SELECT submitted_at FROM routing.questions WHERE question_id = $1::uuid")
            .bind(&q.question_id)
            .fetch_one(&mut db)
            .await
            .expect("routing knows the question");
    let spot = routed
        .on_the_spot_due_at
        .expect("an on-site question is due on the spot");
    let routed_at = routed.routed_at.expect("routed at");
    assert!(
        routed_at.seconds >= submitted_at.timestamp() + 24 * 3600 - 60,
        "routed a day later"
    );
    assert_eq!(
        spot.seconds,
        WorkCalendar::default().end_of_local_day(submitted_at).timestamp(),
        "the end of the session day it was asked on, not of the day it was routed"
    );
    assert!(spot.seconds < routed_at.seconds);
    sys.stop().await;
}

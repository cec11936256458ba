//! Sessions and attendance: scheduling (admins only), on-site submissions naming a
//! session, and OPD check-ins counted as present, late or absent.

use chrono::{DateTime, TimeZone, Utc};
use kenduren_domain::calendar::wib;
use kenduren_proto::{
    events::v1::{Channel, ProgrammeItem},
    intake::v1::{
        intake_service_client::IntakeServiceClient, AttendanceStatus, CheckInOpdRequest, GetSessionRequest,
        ListSessionsRequest, ScheduleSessionRequest, Session,
    },
};
use tonic::Code;

use super::{bad_fields, ktp};
use crate::support::{Authed, TestSystem};

async fn as_role(sys: &TestSystem, role: &str) -> IntakeServiceClient<Authed> {
    IntakeServiceClient::new(sys.channel_with_token(sys.addrs().intake, &sys.token(role)).await)
}

fn plan(id: &str, dates: &[&str]) -> ScheduleSessionRequest {
    ScheduleSessionRequest {
        session_id: id.into(),
        dates: dates.iter().map(|d| (*d).to_owned()).collect(),
        kecamatan: "bangil".into(),
        desa: "Kalirejo".into(),
        programme: vec![],
        expected_opd_codes: vec!["DISPENDUKCAPIL".into(), "DINKES".into(), "BAPENDA".into()],
    }
}

async fn schedule(sys: &TestSystem, req: ScheduleSessionRequest) -> Session {
    let mut admin = as_role(sys, "admin").await;
    admin
        .schedule_session(req)
        .await
        .expect("scheduled")
        .into_inner()
        .session
        .expect("session")
}

fn check_in(session: &str, opd: &str) -> CheckInOpdRequest {
    CheckInOpdRequest {
        session_id: session.into(),
        opd_code: opd.into(),
        representative: "Budi, Kepala Seksi".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_site_submission_needs_a_scheduled_session() {
    let mut sys = TestSystem::start().await;
    let mut req = ktp("on-site-unknown");
    req.channel = Channel::OnSite as i32;
    req.session_id = "km-2026-bangil".into();
    let refused = sys
        .intake
        .submit_question(req.clone())
        .await
        .expect_err("unknown session");
    assert_eq!(bad_fields(&refused), ["session_id"]);
    // The unknown session is reported with every other bad field, not after them.
    let mut also_bad = req.clone();
    also_bad.text = "  ".into();
    also_bad.citizen.as_mut().expect("citizen").email = "siti@".into();
    let refused = sys
        .intake
        .submit_question(also_bad)
        .await
        .expect_err("empty text, unknown session, bad email");
    assert_eq!(bad_fields(&refused), ["text", "session_id", "citizen.email"]);

    schedule(&sys, plan("km-2026-bangil", &["2026-03-04", "2026-03-05"])).await;
    req.request_id = "on-site-known".into();
    let accepted = sys
        .intake
        .submit_question(req)
        .await
        .expect("accepted")
        .into_inner();
    assert!(accepted.ticket.starts_with("KM-"));
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_session_has_its_dates_place_programme_and_start() {
    let sys = TestSystem::start().await;
    let s = schedule(&sys, plan("", &["2026-03-05", "2026-03-04"])).await;
    assert!(!s.session_id.is_empty());
    assert_eq!(s.dates, ["2026-03-04", "2026-03-05"]);
    assert_eq!((s.kecamatan.as_str(), s.desa.as_str()), ("Bangil", "Kalirejo"));
    let days: Vec<u32> = s.programme.iter().map(|p| p.day).collect();
    assert_eq!(days, [1, 2], "the standard two-day programme");
    // 13:00 WIB on day one is 06:00 UTC.
    let start = s.starts_at.expect("start");
    assert_eq!(start.seconds % 86_400, 6 * 3600);

    let mut desk = as_role(&sys, "desk").await;
    let got = desk
        .get_session(GetSessionRequest {
            session_id: s.session_id.clone(),
        })
        .await
        .expect("any role reads sessions")
        .into_inner();
    assert_eq!(got.session, Some(s));
    let missing = desk
        .get_session(GetSessionRequest {
            session_id: "nope".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(missing.code(), Code::NotFound);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_schedule_and_every_bad_field_is_reported() {
    let sys = TestSystem::start().await;
    let mut desk = as_role(&sys, "desk").await;
    let denied = desk
        .schedule_session(plan("x", &["2026-03-04"]))
        .await
        .expect_err("desk");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let mut admin = as_role(&sys, "admin").await;
    let bad = ScheduleSessionRequest {
        session_id: "bad id!".into(),
        dates: vec!["2026-13-01".into()],
        kecamatan: "Atlantis".into(),
        desa: String::new(),
        programme: vec![ProgrammeItem {
            day: 3,
            time: "1pm".into(),
            activity: " ".into(),
        }],
        expected_opd_codes: vec!["NOPE".into()],
    };
    let status = admin.schedule_session(bad).await.expect_err("invalid");
    assert_eq!(
        bad_fields(&status),
        [
            "session_id",
            "dates[0]",
            "kecamatan",
            "desa",
            "expected_opd_codes[0]",
            "programme[0].day",
            "programme[0].time",
            "programme[0].activity"
        ]
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduling_a_session_again_is_safe_and_other_details_are_already_exists() {
    let sys = TestSystem::start().await;
    let first = schedule(&sys, plan("km-retry", &["2026-03-04"])).await;
    let again = schedule(&sys, plan("km-retry", &["2026-03-04"])).await;
    assert_eq!(first, again);
    let mut admin = as_role(&sys, "admin").await;
    let other = admin
        .schedule_session(plan("km-retry", &["2026-03-11"]))
        .await
        .expect_err("other dates");
    assert_eq!(other.code(), Code::AlreadyExists);
    sys.stop().await;
}

/// 14:00 WIB on Wednesday 4 March 2026: an hour after a session on that day started.
fn wednesday_afternoon() -> DateTime<Utc> {
    wib()
        .with_ymd_and_hms(2026, 3, 4, 14, 0, 0)
        .single()
        .expect("valid time")
        .with_timezone(&Utc)
}

async fn attendance_of(sys: &TestSystem, session_id: &str) -> Vec<(String, bool, i32)> {
    let got = sys
        .intake
        .clone()
        .get_session(GetSessionRequest {
            session_id: session_id.into(),
        })
        .await
        .expect("read")
        .into_inner()
        .session
        .expect("session");
    got.attendance
        .into_iter()
        .map(|a| (a.opd_code, a.expected, a.status))
        .collect()
}

fn row(opd: &str, expected: bool, status: AttendanceStatus) -> (String, bool, i32) {
    (opd.to_owned(), expected, status as i32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sessions_attendance_shows_who_came_late_and_who_is_still_awaited() {
    let mut sys = TestSystem::start_at(wednesday_afternoon()).await;
    // Started at 13:00 today, an hour ago: a check-in now is late.
    schedule(&sys, plan("km-now", &["2026-03-04", "2026-03-05"])).await;
    let mut opd = as_role(&sys, "opd:DISPENDUKCAPIL").await;
    let own = opd
        .check_in_opd(check_in("km-now", "DISPENDUKCAPIL"))
        .await
        .expect("an OPD checks itself in")
        .into_inner()
        .attendance
        .expect("attendance");
    assert_eq!((own.status, own.expected), (AttendanceStatus::Late as i32, true));
    let other = opd
        .check_in_opd(check_in("km-now", "DINKES"))
        .await
        .expect_err("not itself");
    assert_eq!(other.code(), Code::PermissionDenied);
    // The desk checks in an OPD nobody expected.
    sys.intake
        .check_in_opd(check_in("km-now", "DPUPR"))
        .await
        .expect("desk checks in");
    // A retried check-in changes nothing.
    let retry = opd
        .check_in_opd(check_in("km-now", "DISPENDUKCAPIL"))
        .await
        .expect("retry")
        .into_inner()
        .attendance
        .expect("attendance");
    assert_eq!(retry, own);
    // The session runs until tomorrow midnight: who has not come is awaited, not absent.
    assert_eq!(
        attendance_of(&sys, "km-now").await,
        [
            row("DISPENDUKCAPIL", true, AttendanceStatus::Late),
            row("DINKES", true, AttendanceStatus::Awaited),
            row("BAPENDA", true, AttendanceStatus::Awaited),
            row("DPUPR", false, AttendanceStatus::Late),
        ]
    );
    let unknown = sys
        .intake
        .check_in_opd(check_in("no-such", "DINKES"))
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), Code::NotFound);
    let bad = sys
        .intake
        .check_in_opd(CheckInOpdRequest {
            session_id: "km-now".into(),
            opd_code: "NOPE".into(),
            representative: String::new(),
        })
        .await
        .expect_err("invalid");
    assert_eq!(bad_fields(&bad), ["opd_code", "representative"]);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checking_in_before_a_session_starts_is_present() {
    let sys = TestSystem::start_at(wednesday_afternoon()).await;
    schedule(&sys, plan("km-next-week", &["2026-03-11", "2026-03-12"])).await;
    let mut opd = as_role(&sys, "opd:DINKES").await;
    let early = opd
        .check_in_opd(check_in("km-next-week", "DINKES"))
        .await
        .expect("checked in")
        .into_inner()
        .attendance
        .expect("attendance");
    assert_eq!(
        (early.status, early.expected),
        (AttendanceStatus::Present as i32, true)
    );
    assert_eq!(
        attendance_of(&sys, "km-next-week").await,
        [
            row("DISPENDUKCAPIL", true, AttendanceStatus::Awaited),
            row("DINKES", true, AttendanceStatus::Present),
            row("BAPENDA", true, AttendanceStatus::Awaited),
        ]
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_session_ended_its_absentees_stay_absent() {
    let mut sys = TestSystem::start_at(wednesday_afternoon()).await;
    schedule(&sys, plan("km-past", &["2026-02-18", "2026-02-19"])).await;
    let expected = ["DISPENDUKCAPIL", "DINKES", "BAPENDA"].map(|o| row(o, true, AttendanceStatus::Absent));
    assert_eq!(attendance_of(&sys, "km-past").await, expected);
    // A check-in two weeks later would have made an absence "late": it is refused.
    let too_late = sys
        .intake
        .check_in_opd(check_in("km-past", "DINKES"))
        .await
        .expect_err("the session is over");
    assert_eq!(too_late.code(), Code::FailedPrecondition);
    assert!(
        too_late.message().contains("ended") && too_late.message().contains("recorded absent"),
        "{}",
        too_late.message()
    );
    assert_eq!(attendance_of(&sys, "km-past").await, expected, "nothing changed");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_by_date_page_by_page() {
    let sys = TestSystem::start().await;
    for (id, date) in [("c", "2026-03-18"), ("a", "2026-03-04"), ("b", "2026-03-11")] {
        schedule(&sys, plan(id, &[date])).await;
    }
    let mut analyst = as_role(&sys, "analyst").await;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = analyst
            .list_sessions(ListSessionsRequest {
                page_size: 2,
                page_token: token.clone(),
                kecamatan: String::new(),
            })
            .await
            .expect("listed")
            .into_inner();
        seen.extend(page.sessions.into_iter().map(|s| s.session_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ["a", "b", "c"]);
    let negative = analyst
        .list_sessions(ListSessionsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .expect_err("negative");
    assert_eq!(bad_fields(&negative), ["page_size"]);
    sys.stop().await;
}

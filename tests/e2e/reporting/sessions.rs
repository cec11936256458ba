//! Who came on time, who came late and who stayed away, through the real APIs: an admin
//! schedules sessions that are over, under way and ahead at intake, the desk checks an
//! OPD in (late where the session has started, on time where it has not; refused where it
//! is over, so an absence stays an absence), and reporting calls the other expected OPDs
//! absent only where the session is over — awaited elsewhere — exactly as intake's own
//! attendance does, and counts the same in the OPDs' scorecards.

use chrono::{Days, NaiveDate, Utc};
use kenduren_proto::{
    intake::v1::{
        intake_service_client::IntakeServiceClient, AttendanceStatus, CheckInOpdRequest, GetSessionRequest,
        ScheduleSessionRequest,
    },
    reporting::v1::{GetOpdScorecardsRequest, GetSessionReportRequest, GetSessionReportResponse},
};

use crate::support::{eventually, TestSystem};

const EXPECTED: [&str; 3] = ["BAPENDA", "DINKES", "DISPENDUKCAPIL"];

/// Today in WIB, shifted by `days` (negative: before).
fn day(days: i64) -> String {
    let today: NaiveDate = (Utc::now() + chrono::Duration::hours(7)).date_naive();
    let shifted = if days < 0 {
        today - Days::new(days.unsigned_abs())
    } else {
        today + Days::new(days.unsigned_abs())
    };
    shifted.to_string()
}

/// Schedules `id` on `dates` expecting [`EXPECTED`], and checks DINKES in at the desk:
/// the desk's answer.
async fn session_with_dinkes(sys: &TestSystem, id: &str, dates: Vec<String>) -> Result<(), tonic::Status> {
    let mut admin = IntakeServiceClient::new(
        sys.channel_with_token(sys.addrs().intake, &sys.token("admin"))
            .await,
    );
    admin
        .schedule_session(ScheduleSessionRequest {
            session_id: id.into(),
            dates,
            kecamatan: "Bangil".into(),
            desa: "Kalirejo".into(),
            programme: vec![],
            expected_opd_codes: EXPECTED.map(str::to_owned).to_vec(),
        })
        .await
        .expect("scheduled");
    let mut desk = sys.intake.clone();
    desk.check_in_opd(CheckInOpdRequest {
        session_id: id.into(),
        opd_code: "DINKES".into(),
        representative: "dr. Sari, Kepala Bidang".into(),
    })
    .await
    .map(drop)
}

/// Reporting's report of `id` once it shows the session with `checked_in` checked in.
async fn report(sys: &TestSystem, id: &str, checked_in: &[&str]) -> GetSessionReportResponse {
    eventually(
        &format!("reporting to show {checked_in:?} checked in at {id}"),
        || {
            let mut reporting = sys.reporting.clone();
            let id = id.to_owned();
            async move {
                let r = reporting
                    .get_session_report(GetSessionReportRequest { session_id: id })
                    .await
                    .ok()?
                    .into_inner();
                (r.opds_expected == EXPECTED && r.opds_checked_in == checked_in).then_some(r)
            }
        },
    )
    .await
}

/// Intake's attendance of `id`: the OPDs it calls present, late, absent and awaited.
async fn intake_says(sys: &TestSystem, id: &str) -> [Vec<String>; 4] {
    let session = sys
        .intake
        .clone()
        .get_session(GetSessionRequest {
            session_id: id.into(),
        })
        .await
        .expect("session")
        .into_inner()
        .session
        .expect("session");
    let with = |status: AttendanceStatus| {
        let mut codes: Vec<String> = session
            .attendance
            .iter()
            .filter(|a| a.status == status as i32)
            .map(|a| a.opd_code.clone())
            .collect();
        codes.sort();
        codes
    };
    [
        with(AttendanceStatus::Present),
        with(AttendanceStatus::Late),
        with(AttendanceStatus::Absent),
        with(AttendanceStatus::Awaited),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opd_is_on_time_late_awaited_or_absent_in_the_session_report_and_its_scorecard() {
    let sys = TestSystem::start().await;
    let too_late = session_with_dinkes(&sys, "km-over", vec![day(-3), day(-2)])
        .await
        .expect_err("no check-in once the session is over");
    assert_eq!(too_late.code(), tonic::Code::FailedPrecondition, "{too_late:?}");
    session_with_dinkes(&sys, "km-under-way", vec![day(-1), day(0), day(1)])
        .await
        .expect("late check-in");
    session_with_dinkes(&sys, "km-ahead", vec![day(7), day(8)])
        .await
        .expect("early check-in");
    let stayed_away = vec!["BAPENDA".to_owned(), "DISPENDUKCAPIL".to_owned()];

    let dinkes = vec!["DINKES".to_owned()];

    let over = report(&sys, "km-over", &[]).await;
    assert_eq!(over.opds_absent, EXPECTED, "the session is over and no one came");
    assert!(over.opds_awaited.is_empty());
    assert!(over.opds_late.is_empty());
    assert!(over.opds_present.is_empty());
    for id in ["km-under-way", "km-ahead"] {
        let r = report(&sys, id, &["DINKES"]).await;
        assert_eq!(r.opds_expected, EXPECTED);
        assert!(r.opds_absent.is_empty(), "{id} has not ended: {r:?}");
        assert_eq!(r.opds_awaited, stayed_away, "{id}");
    }
    let under_way = report(&sys, "km-under-way", &["DINKES"]).await;
    assert_eq!(under_way.opds_late, dinkes, "it started yesterday");
    assert!(under_way.opds_present.is_empty());
    let ahead = report(&sys, "km-ahead", &["DINKES"]).await;
    assert_eq!(ahead.opds_present, dinkes, "checked in before the start");
    assert!(ahead.opds_late.is_empty());
    for (id, checked_in) in [
        ("km-over", &[][..]),
        ("km-under-way", &["DINKES"]),
        ("km-ahead", &["DINKES"]),
    ] {
        let r = report(&sys, id, checked_in).await;
        assert_eq!(
            intake_says(&sys, id).await,
            [r.opds_present, r.opds_late, r.opds_absent, r.opds_awaited],
            "intake and reporting agree on {id}"
        );
    }

    // Every check-in is in (the reports above showed them): DINKES attended two of the
    // three, one of them late; the others attended none.
    let cards = sys
        .reporting
        .clone()
        .get_opd_scorecards(GetOpdScorecardsRequest::default())
        .await
        .expect("scorecards")
        .into_inner()
        .scorecards;
    let attendance: Vec<_> = cards
        .iter()
        .map(|c| {
            (
                c.opd_code.as_str(),
                c.sessions_expected,
                c.sessions_attended,
                c.sessions_late,
            )
        })
        .collect();
    assert_eq!(
        attendance,
        [
            ("BAPENDA", 3, 0, 0),
            ("DINKES", 3, 2, 1),
            ("DISPENDUKCAPIL", 3, 0, 0)
        ],
        "(OPD, expected, attended, late)"
    );
    sys.stop().await;
}

//! A poor rating reopens a question only within 10 working days of the answer, counted
//! on routing's holiday calendar, which intake learns from routing's `HolidaysSet`.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc};
use kenduren_domain::{calendar::wib, WorkCalendar};
use kenduren_proto::{
    events::v1::{Holiday, QuestionStatus},
    intake::v1::{RateAnswerRequest, SubmitQuestionResponse},
    routing::v1::SetHolidaysRequest,
};

use super::{answered_question, db};
use crate::support::{eventually, TestSystem};

/// Noon WIB today: the services' day cannot roll over while a test runs.
fn noon_today() -> DateTime<Utc> {
    let today = Utc::now().with_timezone(&wib()).date_naive();
    wib()
        .from_local_datetime(&today.and_hms_opt(12, 0, 0).expect("noon"))
        .single()
        .expect("WIB has no gaps")
        .with_timezone(&Utc)
}

/// The holidays intake counts with, once they equal routing's calendar (seeded at
/// start-up and announced as `HolidaysSet`) and include `must_have`.
async fn intake_holidays(sys: &TestSystem, must_have: Option<NaiveDate>) -> Vec<(NaiveDate, String)> {
    let url = sys.settings.database_url.clone();
    eventually("intake to know routing's holidays", || {
        let url = url.clone();
        async move {
            use sqlx::Connection;
            let mut db = sqlx::PgConnection::connect(&url).await.ok()?;
            let routing: Vec<NaiveDate> = sqlx::query_scalar("SELECT day FROM routing.holidays ORDER BY day")
                .fetch_all(&mut db)
                .await
                .ok()?;
            let intake: Vec<(NaiveDate, String)> =
                sqlx::query_as("SELECT day, name FROM intake.holidays ORDER BY day")
                    .fetch_all(&mut db)
                    .await
                    .ok()?;
            let same = !routing.is_empty() && intake.iter().map(|(d, _)| *d).eq(routing.iter().copied());
            let has = must_have.is_none_or(|d| routing.contains(&d));
            (same && has).then_some(intake)
        }
    })
    .await
}

/// The latest answer day whose 10th working day is already over today, and that day.
fn window_just_closed(calendar: &WorkCalendar, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let mut day = today - TimeDelta::days(1);
    while calendar.working_day_after(day, 10) >= today {
        day -= TimeDelta::days(1);
    }
    (day, calendar.working_day_after(day, 10))
}

/// Moves the answer back to 10:00 WIB on `day` in intake's tracking view.
async fn answered_on(sys: &TestSystem, q: &SubmitQuestionResponse, day: NaiveDate) {
    let at = wib()
        .from_local_datetime(&day.and_hms_opt(10, 0, 0).expect("10:00"))
        .single()
        .expect("WIB has no gaps")
        .with_timezone(&Utc);
    let uuid: uuid::Uuid = q.question_id.parse().expect("uuid");
    sqlx::query("UPDATE intake.questions SET answered_at = $2 WHERE question_id = $1")
        .bind(uuid)
        .bind(at)
        .execute(&mut db(sys).await)
        .await
        .expect("backdated");
}

fn one_star(q: &SubmitQuestionResponse) -> RateAnswerRequest {
    RateAnswerRequest {
        ticket: q.ticket.clone(),
        tracking_pin: q.tracking_pin.clone(),
        rating: 1,
        comment: "Tidak menjawab".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poor_rating_eleven_working_days_after_the_answer_does_not_reopen() {
    let start = noon_today();
    let sys = TestSystem::start_at(start).await;
    let q = answered_question(&sys, "late-rating").await;
    let holidays = intake_holidays(&sys, None).await;
    let calendar = WorkCalendar::new(holidays.iter().map(|(d, _)| *d));
    let today = start.with_timezone(&wib()).date_naive();
    let (day, tenth) = window_just_closed(&calendar, today);
    assert!(tenth < today);
    answered_on(&sys, &q, day).await;
    let rated = sys
        .intake
        .clone()
        .rate_answer(one_star(&q))
        .await
        .expect("rated")
        .into_inner();
    assert!(
        !rated.reopened,
        "answered {day}, 10th working day {tenth}, rated {today}"
    );
    assert_eq!(rated.status, QuestionStatus::Answered as i32);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holiday_routing_sets_in_the_window_keeps_it_open_a_working_day_longer() {
    let start = noon_today();
    let sys = TestSystem::start_at(start).await;
    let q = answered_question(&sys, "holiday-rating").await;
    let holidays = intake_holidays(&sys, None).await;
    let calendar = WorkCalendar::new(holidays.iter().map(|(d, _)| *d));
    let today = start.with_timezone(&wib()).date_naive();
    // Without a new holiday the window closed with `tenth`, before today (as above).
    let (day, tenth) = window_just_closed(&calendar, today);
    answered_on(&sys, &q, day).await;

    // An admin declares `tenth` a collective leave day: the 10th working day moves to
    // the next working day, which is today or later.
    let mut year: Vec<Holiday> = holidays
        .iter()
        .filter(|(d, _)| d.year() == tenth.year())
        .map(|(d, name)| Holiday {
            date: d.format("%Y-%m-%d").to_string(),
            name: name.clone(),
        })
        .collect();
    year.push(Holiday {
        date: tenth.format("%Y-%m-%d").to_string(),
        name: "Cuti bersama".into(),
    });
    sys.routing
        .clone()
        .set_holidays(SetHolidaysRequest {
            year: tenth.year(),
            holidays: year,
        })
        .await
        .expect("holidays set");
    let learnt = intake_holidays(&sys, Some(tenth)).await;
    assert!(learnt.iter().any(|(d, _)| *d == tenth));

    let rated = sys
        .intake
        .clone()
        .rate_answer(one_star(&q))
        .await
        .expect("rated")
        .into_inner();
    assert!(rated.reopened, "answered {day}, {tenth} a holiday, rated {today}");
    assert_eq!(rated.status, QuestionStatus::Routed as i32);
    sys.stop().await;
}

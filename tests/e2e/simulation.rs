//! The simulator as ground truth: a seeded season driven through the real services'
//! gRPC APIs, whose own expected figures must equal `GetOpdScorecards` and
//! `GetSessionReport` exactly, field by field; and the simulator's working-hours
//! arithmetic against reporting's on instants no season can choose.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SubsecRound, TimeZone, Utc};
use kenduren::reference;
use kenduren_auth::TokenKey;
use kenduren_proto::routing::v1::ListHolidaysRequest;
use kenduren_reporting::figures::{percentile, round_hours, working_hours};
use kenduren_simulator::{
    percentile_hours, simulate, working_micros, Endpoints, SimulationConfig, SimulationReport, WorkCalendar,
};
use tonic::transport::Channel;

use crate::support::TestSystem;

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("valid uri")
        .connect()
        .await
        .expect("service reachable")
}

/// A season's outcome, when it ran, and routing's working-day calendar.
struct Season {
    report: SimulationReport,
    started: DateTime<Utc>,
    ended: DateTime<Utc>,
    calendar: WorkCalendar,
}

/// Every holiday routing lists.
async fn routing_calendar(sys: &mut TestSystem) -> WorkCalendar {
    let holidays = sys
        .routing
        .list_holidays(ListHolidaysRequest {
            year: 0,
            page_size: 500,
            page_token: String::new(),
        })
        .await
        .expect("holidays")
        .into_inner();
    assert!(holidays.next_page_token.is_empty(), "one page holds them");
    WorkCalendar::new(
        holidays
            .holidays
            .iter()
            .map(|h| NaiveDate::parse_from_str(&h.date, "%Y-%m-%d").expect("a date")),
    )
}

/// 09:00 WIB on the first working day after today (by the shipped holidays): a season
/// that starts then runs in office hours, so answers take working time whatever hour
/// the suite runs in.
fn next_working_morning() -> DateTime<Utc> {
    let shipped =
        kenduren_domain::parse_holidays(include_str!("../../data/holidays.json")).expect("shipped holidays");
    let calendar = WorkCalendar::new(shipped.into_iter().map(|h| h.date));
    let wib = chrono::FixedOffset::east_opt(7 * 3600).expect("WIB");
    let mut day = Utc::now().with_timezone(&wib).date_naive();
    loop {
        day = day.succ_opt().expect("a next day");
        if calendar.is_working_day(day) {
            let nine = day.and_hms_opt(9, 0, 0).expect("09:00");
            return wib
                .from_local_datetime(&nine)
                .single()
                .expect("WIB has no gaps")
                .with_timezone(&Utc);
        }
    }
}

/// Runs a small season of `seed` on a system of its own, whose clock starts on a
/// working morning.
async fn season(seed: u64) -> Season {
    let mut sys = TestSystem::start_at(next_working_morning()).await;
    let clock = sys.settings.clock;
    let calendar = routing_calendar(&mut sys).await;
    let a = sys.addrs();
    let endpoints = Endpoints {
        intake: channel(a.intake).await,
        routing: channel(a.routing).await,
        answering: channel(a.answering).await,
        reporting: channel(a.reporting).await,
        key: Arc::new(TokenKey::from_base64(&sys.settings.auth_key).expect("test key")),
    };
    let config = SimulationConfig {
        seed,
        sessions: 3,
        citizens: 40,
        catalogue: reference::load(None).expect("shipped reference data").catalogue,
        clock,
    };
    // Microseconds, as the services store time: the office-hours check below is exact.
    let started = clock.now().trunc_subsecs(6);
    let report = simulate(config, endpoints)
        .await
        .expect("the season runs to its end");
    let ended = clock.now().trunc_subsecs(6);
    sys.stop().await;
    Season {
        report,
        started,
        ended,
        calendar,
    }
}

fn assert_matches(report: &SimulationReport) {
    assert!(
        report.divergences.is_empty(),
        "services diverged from the model: {:#?}",
        report.divergences
    );
    assert!(
        report.mismatches.is_empty(),
        "reporting differs from the simulator: {:#?}",
        report.mismatches
    );
    assert_eq!(report.expected, report.reported);
}

/// The season exercised what the figures are about, so equality says something.
fn assert_eventful(report: &SimulationReport) {
    let s = &report.stats;
    assert_eq!(s.submissions, 40);
    assert!(s.on_site > 0 && s.on_site < 40, "{s:?}");
    assert!(s.answered > 0 && s.escalations > 0 && s.rated > 0, "{s:?}");
    assert_eq!(report.expected.sessions.len(), 3);
    let count = |f: fn(&kenduren_simulator::SessionFigures) -> usize| -> usize {
        report.expected.sessions.values().map(f).sum()
    };
    assert!(
        count(|x| x.opds_absent.len()) > 0,
        "some expected OPD skipped the session that is over"
    );
    assert!(
        count(|x| x.opds_awaited.len()) > 0,
        "some expected OPD has not checked in yet at a session ahead"
    );
}

/// The season ran in office hours (its clock started on a working morning), so answers
/// took working time and the percentiles compared are not all zero.
fn assert_hours_follow_the_clock(season: &Season) {
    let span = (season.ended - season.started).num_microseconds().expect("short");
    let worked = working_micros(&season.calendar, season.started, season.ended);
    assert_eq!(worked, span, "the whole season fell in office hours");
    let hours: Vec<f64> = season
        .report
        .expected
        .opds
        .values()
        .flat_map(|o| [o.median_working_hours_to_answer, o.p90_working_hours_to_answer])
        .collect();
    assert!(
        hours.iter().any(|h| *h > 0.0),
        "a season in office hours answers after some working time: {hours:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reporting_equals_the_simulators_figures_for_seed_1() {
    let season = season(1).await;
    assert_eventful(&season.report);
    assert_hours_follow_the_clock(&season);
    assert_matches(&season.report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reporting_equals_the_simulators_figures_for_seed_20260501() {
    let season = season(20_260_501).await;
    assert_eventful(&season.report);
    assert_hours_follow_the_clock(&season);
    assert_matches(&season.report);
}

/// A season's answers come within minutes, in whatever hour the suite runs; this sets
/// the two working-hours computations against each other on instants spread over weeks,
/// weekends, holidays and the edges of the working day, to the microsecond.
#[test]
fn the_simulators_working_hours_equal_reportings_on_any_instants() {
    let holidays = ["2026-12-24", "2026-12-25", "2027-01-01"]
        .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date"));
    let calendar = WorkCalendar::new(holidays);
    // Tuesday 22 December 2026, 07:59:59.75 WIB: just before opening.
    let origin = chrono::FixedOffset::east_opt(7 * 3600)
        .expect("WIB")
        .with_ymd_and_hms(2026, 12, 22, 7, 59, 59)
        .single()
        .expect("valid")
        .with_timezone(&Utc)
        + chrono::Duration::microseconds(750_000);
    // A fixed linear congruential sequence: the same instants on every run.
    let mut state: u64 = 0x2026_1222;
    let mut next = |bound: i64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        i64::try_from((state >> 33) % u64::try_from(bound).expect("positive")).expect("fits")
    };
    let hour = 3_600_000_000_i64;
    let mut micros = Vec::new();
    let mut hours = Vec::new();
    for i in 0..2000 {
        // Mostly on the hour's edges (opening, closing, midnight), some anywhere.
        let offset = |n: &mut dyn FnMut(i64) -> i64| {
            let base = n(24 * 21) * hour;
            if i % 3 == 0 {
                base + n(hour)
            } else {
                base + n(2_000_000) - 1_000_000
            }
        };
        let from = origin + chrono::Duration::microseconds(offset(&mut next));
        let to = origin + chrono::Duration::microseconds(offset(&mut next));
        let ours = working_micros(&calendar, from, to);
        let theirs = working_hours(&calendar, from, to);
        assert_eq!(
            percentile_hours(&[ours], 50),
            round_hours(theirs),
            "{from} → {to}"
        );
        micros.push(ours);
        hours.push(theirs);
        if i % 97 == 0 {
            for p in [50, 90] {
                assert_eq!(
                    percentile_hours(&micros, p),
                    round_hours(percentile(&hours, p as f64)),
                    "percentile {p} of {} values",
                    micros.len()
                );
            }
        }
    }
    assert!(
        micros.iter().filter(|m| **m > 0).count() > 500,
        "most pairs overlap working time"
    );
}

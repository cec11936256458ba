//! Scorecards come from summaries that triggers keep (per OPD and WIB day and month):
//! over a generated read model moved about the way the projection moves it (reassigned,
//! answered, working time recomputed, rated, reopened, deleted — in bulk and row by row),
//! GetOpdScorecards must keep answering exactly what the plain one-pass aggregate over
//! every question gives, for open, day-aligned and ragged periods alike.

use chrono::{DateTime, TimeZone, Utc};
use kenduren_proto::reporting::v1::{EscalationCount, GetOpdScorecardsRequest, OpdScorecard};
use kenduren_reporting::figures::{percent, round_hours};
use kenduren_runtime::timestamp;
use sqlx::PgPool;

use crate::support::TestSystem;

type OracleRow = (
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
);

/// The scorecards' question figures as one aggregate over every fact (the query before
/// the summaries existed).
async fn oracle(pool: &PgPool, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Vec<OpdScorecard> {
    let rows: Vec<OracleRow> = sqlx::query_as(
        "SELECT opd_code, count(*), count(answered_at), count(*) FILTER (WHERE answered_within_due),
                count(*) FILTER (WHERE status IN ('ROUTED', 'ACKNOWLEDGED')),
                count(*) FILTER (WHERE status IN ('ROUTED', 'ACKNOWLEDGED') AND due_at < $1),
                count(*) FILTER (WHERE channel = 'ON_SITE'), count(*) FILTER (WHERE answered_on_the_spot),
                sum(rating)::bigint, count(rating), count(*) FILTER (WHERE reopened > 0),
                percentile_disc(0.5) WITHIN GROUP (ORDER BY answer_working_seconds)
                    FILTER (WHERE answered_at IS NOT NULL),
                percentile_disc(0.9) WITHIN GROUP (ORDER BY answer_working_seconds)
                    FILTER (WHERE answered_at IS NOT NULL)
         FROM question_facts
         WHERE opd_code IS NOT NULL
           AND ($2::timestamptz IS NULL OR assigned_at >= $2)
           AND ($3::timestamptz IS NULL OR assigned_at < $3)
         GROUP BY opd_code ORDER BY opd_code",
    )
    .bind(Utc::now())
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .expect("oracle aggregate");
    let escalations: Vec<(String, i32, i64)> = sqlx::query_as(
        "SELECT opd_code, level, count(DISTINCT question_id) FROM escalations
         WHERE ($1::timestamptz IS NULL OR escalated_at >= $1)
           AND ($2::timestamptz IS NULL OR escalated_at < $2)
         GROUP BY opd_code, level ORDER BY opd_code, level",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .expect("oracle escalations");
    let attendance: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT o.opd_code,
                count(*) FILTER (WHERE o.expected),
                count(*) FILTER (WHERE o.expected AND o.checked_in_at IS NOT NULL),
                count(*) FILTER (WHERE o.expected AND o.checked_in_at IS NOT NULL AND o.late)
         FROM session_opds o JOIN sessions s USING (session_id)
         WHERE ($1::timestamptz IS NULL OR COALESCE(s.starts_on::timestamp AT TIME ZONE 'Asia/Jakarta', s.scheduled_at) >= $1)
           AND ($2::timestamptz IS NULL OR COALESCE(s.starts_on::timestamp AT TIME ZONE 'Asia/Jakarta', s.scheduled_at) < $2)
         GROUP BY o.opd_code",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .expect("oracle attendance");
    let n = |v: i64| u64::try_from(v).expect("a count");
    let mut cards: std::collections::BTreeMap<String, OpdScorecard> = rows
        .into_iter()
        .map(
            |(
                opd,
                assigned,
                answered,
                within,
                open,
                overdue,
                on_site,
                spot,
                sum,
                rated,
                reopened,
                median,
                p90,
            )| {
                OpdScorecard {
                    opd_code: opd,
                    assigned: n(assigned),
                    answered: n(answered),
                    answered_within_due: n(within),
                    answered_within_due_percent: percent(n(within), n(answered)),
                    open: n(open),
                    overdue: n(overdue),
                    on_site: n(on_site),
                    answered_on_the_spot: n(spot),
                    rated: n(rated),
                    average_rating: if rated > 0 {
                        sum.unwrap_or(0) as f64 / rated as f64
                    } else {
                        0.0
                    },
                    reopened: n(reopened),
                    median_working_hours_to_answer: round_hours(median.unwrap_or(0) as f64 / 3600.0),
                    p90_working_hours_to_answer: round_hours(p90.unwrap_or(0) as f64 / 3600.0),
                    ..Default::default()
                }
            },
        )
        .map(|c| (c.opd_code.clone(), c))
        .collect();
    for (opd, level, questions) in escalations {
        let c = cards.entry(opd.clone()).or_insert_with(|| OpdScorecard {
            opd_code: opd,
            ..Default::default()
        });
        c.escalated.push(EscalationCount {
            level: u32::try_from(level).expect("a level"),
            questions: n(questions),
        });
    }
    for (opd, expected, attended, late) in attendance {
        let c = cards.entry(opd.clone()).or_insert_with(|| OpdScorecard {
            opd_code: opd,
            ..Default::default()
        });
        c.sessions_expected = n(expected);
        c.sessions_attended = n(attended);
        c.sessions_late = n(late);
    }
    cards.into_values().collect()
}

/// An instant in WIB (UTC+7).
fn wib(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).single().expect("valid") - chrono::Duration::hours(7)
}

/// A period's `from` and `to`.
type Bounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Every period shape the summaries split differently.
fn periods() -> Vec<Bounds> {
    vec![
        (None, None),
        (Some(wib(2025, 3, 10, 13, 37, 5)), None),
        (None, Some(wib(2025, 4, 2, 9, 0, 0))),
        (Some(wib(2025, 3, 1, 0, 0, 0)), Some(wib(2025, 4, 1, 0, 0, 0))),
        (Some(wib(2025, 2, 15, 0, 0, 0)), Some(wib(2025, 5, 3, 0, 0, 0))),
        (Some(wib(2025, 2, 15, 5, 31, 7)), Some(wib(2025, 5, 3, 21, 0, 1))),
        (Some(wib(2025, 3, 4, 1, 0, 0)), Some(wib(2025, 3, 4, 19, 30, 0))),
        (Some(wib(2025, 3, 4, 10, 0, 0)), Some(wib(2025, 3, 20, 10, 0, 0))),
        (Some(wib(2024, 1, 1, 0, 0, 0)), Some(wib(2026, 1, 1, 0, 0, 0))),
    ]
}

/// Compares the service with the oracle over every period.
async fn check(sys: &mut TestSystem, pool: &PgPool, stage: &str) {
    for (from, to) in periods() {
        let reply = sys
            .reporting
            .get_opd_scorecards(GetOpdScorecardsRequest {
                from: from.map(timestamp),
                to: to.map(timestamp),
            })
            .await
            .expect("scorecards")
            .into_inner();
        let got = reply.scorecards;
        assert_eq!(
            got,
            oracle(pool, from, to).await,
            "{stage}: period {from:?} .. {to:?}"
        );
    }
}

/// Questions over the first half of 2025 and five OPDs; some open, some never assigned a
/// time, some without an OPD, some due long after the test runs.
const FILL: &str = "
INSERT INTO question_facts (question_id, ticket, kind, category, channel, kecamatan, session_id,
    confidential, submitted_at, status, opd_code, routed_at, assigned_at, due_at, answered_at,
    answered_within_due, answered_on_the_spot, rating, reopened, answer_working_seconds)
SELECT gen_random_uuid(), 'T-' || i, 'QUESTION', 'lainnya',
       CASE WHEN random() < 0.3 THEN 'ON_SITE' ELSE 'WEB' END, 'Bangil', '', false, at, st,
       CASE WHEN random() < 0.03 THEN NULL
            ELSE (ARRAY['DINKES','DPUPR','BAPENDA','DISDIK','KEC_BANGIL'])[1 + floor(5 * power(random(), 2))::int] END,
       at, CASE WHEN random() < 0.01 THEN NULL ELSE at END,
       CASE WHEN random() < 0.1 THEN timestamptz '2099-01-01' ELSE at + interval '5 days' END,
       CASE WHEN st = 'ANSWERED' THEN at + random() * interval '9 days' END,
       CASE WHEN st = 'ANSWERED' THEN random() < 0.7 END,
       st = 'ANSWERED' AND random() < 0.2,
       CASE WHEN st = 'ANSWERED' AND random() < 0.5 THEN 1 + floor(random() * 5)::int END,
       CASE WHEN random() < 0.05 THEN 1 ELSE 0 END,
       CASE WHEN st = 'ANSWERED' THEN floor(random() * random() * 400000)::bigint END
FROM (SELECT i, timestamptz '2025-01-01 00:00+07' + random() * interval '181 days' AS at,
             (ARRAY['ANSWERED','ANSWERED','ANSWERED','ROUTED','ACKNOWLEDGED'])[1 + floor(5 * random())::int] AS st
      FROM generate_series(1, 3000) AS g(i)) s";

/// Escalations of the overdue questions, in one statement, with a few repeats.
const ESCALATE: &str = "
INSERT INTO escalations (event_id, question_id, level, opd_code, escalated_at)
SELECT gen_random_uuid(), question_id, l, opd_code, due_at + (l - 1) * interval '7 days' + random() * interval '20 hours'
FROM question_facts, generate_series(1, 2) AS l
WHERE opd_code IS NOT NULL AND due_at < timestamptz '2090-01-01' AND (answered_at IS NULL OR random() < 0.3)
  AND (l = 1 OR random() < 0.4)
UNION ALL
SELECT gen_random_uuid(), question_id, 1, opd_code, due_at + interval '30 days'
FROM question_facts WHERE opd_code IS NOT NULL AND due_at < timestamptz '2090-01-01' AND random() < 0.02";

/// A session per week, every other one without a first day (keyed by when it was
/// scheduled), the five OPDs mostly expected and mostly checked in, some late (and some
/// rows late without a check-in, which must not count).
const SESSIONS: [&str; 2] = [
    "INSERT INTO sessions (session_id, dates, starts_on, kecamatan, desa, scheduled_at)
     SELECT 'S-' || w, ARRAY[]::text[],
            CASE WHEN w % 2 = 0 THEN date '2025-01-01' + 7 * w END, 'Bangil', 'Desa 1',
            timestamptz '2025-01-01 00:00+07' + w * interval '7 days' + random() * interval '3 days'
     FROM generate_series(0, 30) AS w",
    "INSERT INTO session_opds (session_id, opd_code, expected, checked_in_at, late)
     SELECT s.session_id, o, random() < 0.8, CASE WHEN random() < 0.7 THEN s.scheduled_at END, random() < 0.4
     FROM sessions s, unnest(ARRAY['DINKES','DPUPR','BAPENDA','DISDIK','KEC_BANGIL']) AS o
     WHERE random() < 0.9",
];

/// Bulk moves the projection and a rebuild make, each one statement.
const MOVES: [&str; 12] = [
    // Checked in, some late, and an OPD nobody expected checking in.
    "UPDATE session_opds SET checked_in_at = now(), late = random() < 0.5
     WHERE checked_in_at IS NULL AND random() < 0.5",
    // Only the lateness changes.
    "UPDATE session_opds SET late = NOT late WHERE random() < 0.2",
    "INSERT INTO session_opds (session_id, opd_code, expected, checked_in_at)
     SELECT session_id, 'DISKOMINFO', false, scheduled_at FROM sessions WHERE random() < 0.3",
    // Sessions rescheduled: some gain or lose their first day.
    "UPDATE sessions SET starts_on = CASE WHEN starts_on IS NULL THEN date '2025-03-03' END,
                         scheduled_at = scheduled_at + interval '9 hours'
     WHERE random() < 0.3",
    // Reassigned: another OPD from a later time.
    "UPDATE question_facts SET opd_code = 'DPUPR', assigned_at = assigned_at + random() * interval '3 days'
     WHERE random() < 0.1 AND opd_code IS NOT NULL",
    // Answered now, with working time.
    "UPDATE question_facts SET status = 'ANSWERED', answered_at = assigned_at + interval '1 day',
            answered_within_due = true, answer_working_seconds = floor(random() * 90000)::bigint
     WHERE status = 'ROUTED' AND random() < 0.3",
    // Routing changed the holidays: working time recomputed (some to nothing).
    "UPDATE question_facts SET answer_working_seconds = CASE WHEN random() < 0.05 THEN NULL
                                ELSE greatest(answer_working_seconds + floor(random() * 20000)::bigint - 8000, 0) END
     WHERE answered_at IS NOT NULL AND random() < 0.3",
    // Rated, some reopened.
    "UPDATE question_facts SET rating = 2, reopened = reopened + 1, status = 'ROUTED'
     WHERE answered_at IS NOT NULL AND random() < 0.05",
    // Acknowledged: no scorecard column but the status.
    "UPDATE question_facts SET status = 'ACKNOWLEDGED' WHERE status = 'ROUTED' AND random() < 0.5",
    // Back to triage: no OPD.
    "UPDATE question_facts SET opd_code = NULL, status = 'TRIAGE' WHERE random() < 0.02",
    "DELETE FROM question_facts WHERE random() < 0.03",
    // Only columns the scorecards do not read.
    "UPDATE question_facts SET escalation_level = escalation_level + 1 WHERE random() < 0.2",
];

#[tokio::test]
async fn scorecards_from_the_summaries_equal_the_plain_aggregate_over_random_updates() {
    let mut sys = TestSystem::start().await;
    let pool = kenduren_store::connect_pool(&sys.settings.database_url, "reporting", 1)
        .await
        .expect("pool");
    sqlx::query("SELECT setseed(0.17)")
        .execute(&pool)
        .await
        .expect("seed");
    sqlx::query(FILL).execute(&pool).await.expect("fill");
    sqlx::query(ESCALATE).execute(&pool).await.expect("escalations");
    for sql in SESSIONS {
        sqlx::query(sql).execute(&pool).await.expect("sessions");
    }
    // Row by row, as the projection inserts them: some reach a level again, some twice more.
    let again: Vec<(uuid::Uuid, i32, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT question_id, level, opd_code, escalated_at FROM escalations ORDER BY event_id LIMIT 60",
    )
    .fetch_all(&pool)
    .await
    .expect("escalations");
    for (i, (id, level, opd, at)) in again.iter().enumerate() {
        for later in 0..=(i % 2) {
            sqlx::query(
                "INSERT INTO escalations (event_id, question_id, level, opd_code, escalated_at)
                 VALUES (gen_random_uuid(), $1, $2, $3, $4)",
            )
            .bind(id)
            .bind(level)
            .bind(opd)
            // Later, or (every third) earlier than the first.
            .bind(*at + chrono::Duration::days(if i % 3 == 0 { -3 } else { 11 + later as i64 }))
            .execute(&pool)
            .await
            .expect("escalated again");
        }
    }
    check(&mut sys, &pool, "filled").await;
    for (i, sql) in MOVES.iter().enumerate() {
        sqlx::query(*sql).execute(&pool).await.expect("move");
        check(&mut sys, &pool, &format!("move {i}")).await;
    }
    // Row by row, as the live projection writes: one statement per question event.
    let ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT question_id FROM question_facts ORDER BY ticket LIMIT 40")
            .fetch_all(&pool)
            .await
            .expect("ids");
    for (i, id) in ids.iter().enumerate() {
        let sql = match i % 4 {
            0 => "UPDATE question_facts SET opd_code = 'DISDIK', assigned_at = assigned_at + interval '40 days' WHERE question_id = $1",
            1 => "UPDATE question_facts SET status = 'ANSWERED', answered_at = coalesce(answered_at, assigned_at),
                         answer_working_seconds = 12345 WHERE question_id = $1",
            2 => "UPDATE question_facts SET rating = 5 WHERE question_id = $1",
            _ => "DELETE FROM question_facts WHERE question_id = $1",
        };
        sqlx::query(sql).bind(id).execute(&pool).await.expect("row move");
    }
    check(&mut sys, &pool, "row by row").await;
    sys.stop().await;
}

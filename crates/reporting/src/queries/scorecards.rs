//! OPD scorecards. A question counts for the OPD it is (last) assigned to, in the period
//! of that assignment (`assigned_at`); escalations count for the OPD named in the
//! escalation, in the period it happened; attendance counts sessions by their first day.
//! Working hours leave out the holidays routing last published.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use kenduren_domain::WorkCalendar;
use kenduren_proto::reporting::v1::{EscalationCount, OpdScorecard};
use kenduren_runtime::ApiError;
use sqlx::PgPool;

use super::{count, Period};
use crate::figures::{percent, percentile, round_hours, working_hours};

type QuestionRow = (String, i64, i64, i64, i64, i64, i64, i64, Option<i64>, i64, i64);

/// Every OPD's scorecard for `period`, ordered by OPD code.
pub async fn scorecards(
    pool: &PgPool,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Vec<OpdScorecard>, ApiError> {
    let holidays: Vec<NaiveDate> = sqlx::query_scalar("SELECT day FROM holidays")
        .fetch_all(pool)
        .await?;
    let calendar = WorkCalendar::new(holidays);
    let mut cards: BTreeMap<String, OpdScorecard> = BTreeMap::new();

    let rows: Vec<QuestionRow> = sqlx::query_as(
        "SELECT opd_code,
                count(*),
                count(answered_at),
                count(*) FILTER (WHERE answered_within_due),
                count(*) FILTER (WHERE status IN ('ROUTED', 'ACKNOWLEDGED')),
                count(*) FILTER (WHERE status IN ('ROUTED', 'ACKNOWLEDGED') AND due_at < $3),
                count(*) FILTER (WHERE channel = 'ON_SITE'),
                count(*) FILTER (WHERE answered_on_the_spot),
                sum(rating)::bigint,
                count(rating),
                count(*) FILTER (WHERE reopened > 0)
         FROM question_facts
         WHERE opd_code IS NOT NULL
           AND ($1::timestamptz IS NULL OR assigned_at >= $1)
           AND ($2::timestamptz IS NULL OR assigned_at < $2)
         GROUP BY opd_code",
    )
    .bind(period.from)
    .bind(period.to)
    .bind(now)
    .fetch_all(pool)
    .await?;
    for (opd, assigned, answered, within, open, overdue, on_site, on_spot, rating_sum, rated, reopened) in
        rows
    {
        let c = card(&mut cards, &opd);
        c.assigned = count(assigned);
        c.answered = count(answered);
        c.answered_within_due = count(within);
        c.answered_within_due_percent = percent(c.answered_within_due, c.answered);
        c.open = count(open);
        c.overdue = count(overdue);
        c.on_site = count(on_site);
        c.answered_on_the_spot = count(on_spot);
        c.rated = count(rated);
        c.average_rating = if rated > 0 {
            rating_sum.unwrap_or(0) as f64 / rated as f64
        } else {
            0.0
        };
        c.reopened = count(reopened);
    }

    let answers: Vec<(String, Option<DateTime<Utc>>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT opd_code, assigned_at, answered_at FROM question_facts
         WHERE opd_code IS NOT NULL AND answered_at IS NOT NULL
           AND ($1::timestamptz IS NULL OR assigned_at >= $1)
           AND ($2::timestamptz IS NULL OR assigned_at < $2)",
    )
    .bind(period.from)
    .bind(period.to)
    .fetch_all(pool)
    .await?;
    let mut hours: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (opd, assigned_at, answered_at) in answers {
        let h = assigned_at.map_or(0.0, |from| working_hours(&calendar, from, answered_at));
        hours.entry(opd).or_default().push(h);
    }
    for (opd, values) in hours {
        let c = card(&mut cards, &opd);
        c.median_working_hours_to_answer = round_hours(percentile(&values, 50.0));
        c.p90_working_hours_to_answer = round_hours(percentile(&values, 90.0));
    }

    let escalations: Vec<(String, i32, i64)> = sqlx::query_as(
        "SELECT opd_code, level, count(DISTINCT question_id) FROM escalations
         WHERE ($1::timestamptz IS NULL OR escalated_at >= $1)
           AND ($2::timestamptz IS NULL OR escalated_at < $2)
         GROUP BY opd_code, level ORDER BY opd_code, level",
    )
    .bind(period.from)
    .bind(period.to)
    .fetch_all(pool)
    .await?;
    for (opd, level, questions) in escalations {
        card(&mut cards, &opd).escalated.push(EscalationCount {
            level: u32::try_from(level).unwrap_or(0),
            questions: count(questions),
        });
    }

    let attendance: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT o.opd_code,
                count(*) FILTER (WHERE o.expected),
                count(*) FILTER (WHERE o.expected AND o.checked_in_at IS NOT NULL)
         FROM session_opds o JOIN sessions s USING (session_id)
         WHERE ($1::timestamptz IS NULL OR COALESCE(s.starts_on::timestamp AT TIME ZONE 'Asia/Jakarta', s.scheduled_at) >= $1)
           AND ($2::timestamptz IS NULL OR COALESCE(s.starts_on::timestamp AT TIME ZONE 'Asia/Jakarta', s.scheduled_at) < $2)
         GROUP BY o.opd_code",
    )
    .bind(period.from)
    .bind(period.to)
    .fetch_all(pool)
    .await?;
    for (opd, expected, attended) in attendance {
        let c = card(&mut cards, &opd);
        c.sessions_expected = count(expected);
        c.sessions_attended = count(attended);
    }
    Ok(cards.into_values().collect())
}

/// The scorecard of `opd`, created empty on first use.
fn card<'a>(cards: &'a mut BTreeMap<String, OpdScorecard>, opd: &str) -> &'a mut OpdScorecard {
    cards.entry(opd.to_owned()).or_insert_with(|| OpdScorecard {
        opd_code: opd.to_owned(),
        ..Default::default()
    })
}

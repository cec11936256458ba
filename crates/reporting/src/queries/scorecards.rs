//! OPD scorecards. A question counts for the OPD it is (last) assigned to, in the period
//! of that assignment (`assigned_at`); escalations count for the OPD named in the
//! escalation, in the period it happened; attendance counts sessions by their first day.
//! Working hours leave out the holidays routing last published: the projection keeps
//! each question's working seconds to its first answer up to date with them
//! (`answer_working_seconds`), so the percentiles are taken in SQL, in the same pass as
//! the counts, with `percentile_disc` — the nearest rank ⌈p·n⌉, as `figures::percentile`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kenduren_proto::reporting::v1::{EscalationCount, OpdScorecard};
use kenduren_runtime::ApiError;
use sqlx::{AssertSqlSafe, PgPool};

use super::{count, Period};
use crate::figures::{percent, round_hours};

type QuestionRow = (
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

/// Every OPD's scorecard for `period`, ordered by OPD code.
pub async fn scorecards(
    pool: &PgPool,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Vec<OpdScorecard>, ApiError> {
    let mut cards: BTreeMap<String, OpdScorecard> = BTreeMap::new();

    // Only the bounds the period has appear in the SQL: an `$n IS NULL OR …` filter makes
    // the prepared statement's generic plan scan the whole table.
    let mut bounds = String::new();
    if period.from.is_some() {
        bounds.push_str(" AND assigned_at >= $2");
    }
    if period.to.is_some() {
        bounds.push_str(if period.from.is_some() {
            " AND assigned_at < $3"
        } else {
            " AND assigned_at < $2"
        });
    }
    let sql = format!(
        "SELECT opd_code,
                count(*),
                count(answered_at),
                count(*) FILTER (WHERE answered_within_due),
                count(*) FILTER (WHERE status IN ('ROUTED', 'ACKNOWLEDGED')),
                count(*) FILTER (WHERE status IN ('ROUTED', 'ACKNOWLEDGED') AND due_at < $1),
                count(*) FILTER (WHERE channel = 'ON_SITE'),
                count(*) FILTER (WHERE answered_on_the_spot),
                sum(rating)::bigint,
                count(rating),
                count(*) FILTER (WHERE reopened > 0),
                percentile_disc(0.5) WITHIN GROUP (ORDER BY answer_working_seconds)
                    FILTER (WHERE answered_at IS NOT NULL),
                percentile_disc(0.9) WITHIN GROUP (ORDER BY answer_working_seconds)
                    FILTER (WHERE answered_at IS NOT NULL)
         FROM question_facts
         WHERE opd_code IS NOT NULL{bounds}
         GROUP BY opd_code"
    );
    let mut query = sqlx::query_as::<_, QuestionRow>(AssertSqlSafe(sql)).bind(now);
    for bound in [period.from, period.to].into_iter().flatten() {
        query = query.bind(bound);
    }
    let rows: Vec<QuestionRow> = query.fetch_all(pool).await?;
    for (
        opd,
        assigned,
        answered,
        within,
        open,
        overdue,
        on_site,
        on_spot,
        rating_sum,
        rated,
        reopened,
        median,
        p90,
    ) in rows
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
        // Seconds to hours exactly as the figure always was: whole seconds / 3600, rounded.
        c.median_working_hours_to_answer = round_hours(median.unwrap_or(0) as f64 / 3600.0);
        c.p90_working_hours_to_answer = round_hours(p90.unwrap_or(0) as f64 / 3600.0);
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

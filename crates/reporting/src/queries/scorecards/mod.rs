//! OPD scorecards. A question counts for the OPD it is (last) assigned to, in the period
//! of that assignment (`assigned_at`); escalations count for the OPD named in the
//! escalation, in the period it happened; attendance counts sessions by their first day.
//! Working hours leave out the holidays routing last published: the projection keeps
//! each question's working seconds to its first answer up to date with them
//! (`answer_working_seconds`).
//!
//! The figures come from summaries that triggers keep per OPD and WIB day and month of
//! the assignment (migration 1005): a period is read as its whole months, its whole days
//! outside them, and the facts of its partial first and last days. The median and p90
//! are the nearest rank ⌈p·n⌉ exactly as `percentile_disc` (and `figures::percentile`)
//! take it: the summed per-bucket counts locate the bucket holding that rank, and the
//! value is read from the facts of that one bucket. `overdue` depends on the time of the
//! request, so it is counted over the period's open questions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kenduren_proto::reporting::v1::{EscalationCount, OpdScorecard};
use kenduren_runtime::ApiError;
use sqlx::{postgres::PgArguments, query::QueryAs, AssertSqlSafe, PgPool, Postgres};

use super::{count, Period};

mod percentiles;
mod slots;

use crate::figures::{percent, round_hours};
use percentiles::percentiles;
use slots::{bounds_sql, slots, Slots};

/// The columns every summary row and every partial-day aggregate yields, in this order.
const SUMMARY_COLUMNS: &str = "opd_code, assigned, answered, within_due, open, on_site, on_the_spot, \
                               rating_sum, rated, reopened, hist, NULL::int[]";

/// The summed figures, the histogram, and (partial days) the bucket of each answer.
type SummaryRow = (
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    Vec<i32>,
    Option<Vec<i32>>,
);

/// One OPD's additive figures over the period, and its working-seconds histogram.
#[derive(Default)]
struct Totals {
    assigned: i64,
    answered: i64,
    within_due: i64,
    open: i64,
    on_site: i64,
    on_the_spot: i64,
    rating_sum: i64,
    rated: i64,
    reopened: i64,
    hist: Vec<i64>,
}

/// Every OPD's scorecard for `period`, ordered by OPD code.
pub async fn scorecards(
    pool: &PgPool,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Vec<OpdScorecard>, ApiError> {
    let slots = slots(period);
    // Independent statements on separate pooled connections, so their latencies overlap.
    let ((totals, percentiles, overdue), escalated, attendance) = tokio::try_join!(
        async {
            let totals = totals(pool, &slots).await?;
            let opds = totals.keys().cloned().collect();
            let (percentiles, overdue) = tokio::try_join!(
                percentiles(pool, period, &totals),
                overdue(pool, period, now, opds)
            )?;
            Ok::<_, ApiError>((totals, percentiles, overdue))
        },
        escalated(pool, period, &slots),
        attendance(pool, &slots),
    )?;

    let mut cards: BTreeMap<String, OpdScorecard> = BTreeMap::new();
    for (opd, t) in &totals {
        let c = card(&mut cards, opd);
        c.assigned = count(t.assigned);
        c.answered = count(t.answered);
        c.answered_within_due = count(t.within_due);
        c.answered_within_due_percent = percent(c.answered_within_due, c.answered);
        c.open = count(t.open);
        c.overdue = count(overdue.get(opd).copied().unwrap_or(0));
        c.on_site = count(t.on_site);
        c.answered_on_the_spot = count(t.on_the_spot);
        c.rated = count(t.rated);
        c.average_rating = if t.rated > 0 {
            t.rating_sum as f64 / t.rated as f64
        } else {
            0.0
        };
        c.reopened = count(t.reopened);
        let (median, p90) = percentiles.get(opd).copied().unwrap_or((0, 0));
        // Seconds to hours exactly as the figure always was: whole seconds / 3600, rounded.
        c.median_working_hours_to_answer = round_hours(median as f64 / 3600.0);
        c.p90_working_hours_to_answer = round_hours(p90 as f64 / 3600.0);
    }

    for (opd, level, questions) in escalated {
        card(&mut cards, &opd).escalated.push(EscalationCount {
            level: u32::try_from(level).unwrap_or(0),
            questions: count(questions),
        });
    }

    for (opd, expected, attended, late) in attendance {
        let c = card(&mut cards, &opd);
        c.sessions_expected = count(expected);
        c.sessions_attended = count(attended);
        c.sessions_late = count(late);
    }
    Ok(cards.into_values().collect())
}

/// Sessions each OPD was expected at, attended, and attended late, by the sessions'
/// period key (first day, else when scheduled): the summed whole months and days, and
/// the partial days' sessions themselves. OPDs with any session row in the period, as before.
async fn attendance(pool: &PgPool, slots: &Slots) -> Result<Vec<(String, i64, i64, i64)>, ApiError> {
    let mut sql = String::from(
        "SELECT opd_code, entries, expected, attended, late FROM attendance_months WHERE slot >= $1 AND slot < $2
         UNION ALL SELECT opd_code, entries, expected, attended, late FROM attendance_days WHERE slot >= $3 AND slot < $4
         UNION ALL SELECT opd_code, entries, expected, attended, late FROM attendance_days WHERE slot >= $5 AND slot < $6",
    );
    if !slots.raw.is_empty() {
        let key = "COALESCE(s.starts_on::timestamp AT TIME ZONE 'Asia/Jakarta', s.scheduled_at)";
        let ranges: Vec<String> = (0..slots.raw.len())
            .map(|i| format!("({key} >= ${} AND {key} < ${})", 7 + 2 * i, 8 + 2 * i))
            .collect();
        sql.push_str(&format!(
            " UNION ALL SELECT o.opd_code, 1, o.expected::int, (o.expected AND o.checked_in_at IS NOT NULL)::int,
                     (o.expected AND o.checked_in_at IS NOT NULL AND o.late)::int
              FROM session_opds o JOIN sessions s USING (session_id) WHERE {}",
            ranges.join(" OR ")
        ));
    }
    let sql = format!(
        "SELECT opd_code, sum(expected)::bigint, sum(attended)::bigint, sum(late)::bigint FROM ({sql}) a
         GROUP BY opd_code HAVING sum(entries) > 0"
    );
    let query = bind_slots(sqlx::query_as(AssertSqlSafe(sql)), slots);
    Ok(query.fetch_all(pool).await?)
}

/// The additive figures and histograms of every OPD with a question in the period.
async fn totals(pool: &PgPool, slots: &Slots) -> Result<BTreeMap<String, Totals>, ApiError> {
    let mut sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM scorecard_months WHERE slot >= $1 AND slot < $2
         UNION ALL SELECT {SUMMARY_COLUMNS} FROM scorecard_days WHERE slot >= $3 AND slot < $4
         UNION ALL SELECT {SUMMARY_COLUMNS} FROM scorecard_days WHERE slot >= $5 AND slot < $6"
    );
    if slots.unbounded {
        sql.push_str(&format!(
            " UNION ALL SELECT {SUMMARY_COLUMNS} FROM scorecard_days WHERE slot = '-infinity'"
        ));
    }
    if !slots.raw.is_empty() {
        // The partial days: the trigger's arithmetic over the facts themselves.
        let ranges: Vec<String> = (0..slots.raw.len())
            .map(|i| format!("(assigned_at >= ${} AND assigned_at < ${})", 7 + 2 * i, 8 + 2 * i))
            .collect();
        sql.push_str(&format!(
            " UNION ALL
             SELECT opd_code, count(*), count(answered_at), count(*) FILTER (WHERE answered_within_due),
                    count(*) FILTER (WHERE status IN ('ROUTED', 'ACKNOWLEDGED')),
                    count(*) FILTER (WHERE channel = 'ON_SITE'), count(*) FILTER (WHERE answered_on_the_spot),
                    coalesce(sum(rating), 0)::bigint, count(rating), count(*) FILTER (WHERE reopened > 0),
                    '{{}}'::int[],
                    array_agg(scorecard_bucket(answer_working_seconds))
                        FILTER (WHERE answered_at IS NOT NULL AND answer_working_seconds IS NOT NULL)
             FROM question_facts WHERE opd_code IS NOT NULL AND ({})
             GROUP BY opd_code",
            ranges.join(" OR ")
        ));
    }
    let query = bind_slots(sqlx::query_as::<_, SummaryRow>(AssertSqlSafe(sql)), slots);
    let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
    for (
        opd,
        assigned,
        answered,
        within,
        open,
        on_site,
        on_spot,
        rating_sum,
        rated,
        reopened,
        hist,
        buckets,
    ) in query.fetch_all(pool).await?
    {
        let t = totals.entry(opd).or_default();
        t.assigned += assigned;
        t.answered += answered;
        t.within_due += within;
        t.open += open;
        t.on_site += on_site;
        t.on_the_spot += on_spot;
        t.rating_sum += rating_sum;
        t.rated += rated;
        t.reopened += reopened;
        if t.hist.len() < hist.len() {
            t.hist.resize(hist.len(), 0);
        }
        for (sum, n) in t.hist.iter_mut().zip(hist) {
            *sum += i64::from(n);
        }
        for bucket in buckets.unwrap_or_default() {
            let Ok(i) = usize::try_from(bucket) else { continue };
            if t.hist.len() <= i {
                t.hist.resize(i + 1, 0);
            }
            t.hist[i] += 1;
        }
    }
    // An OPD whose questions all moved elsewhere has no scorecard from them.
    totals.retain(|_, t| t.assigned > 0);
    Ok(totals)
}

/// Open questions of the period past their due date at `now`, for each of `opds` (the
/// OPDs with questions in the period; no other can have an overdue one).
async fn overdue(
    pool: &PgPool,
    period: Period,
    now: DateTime<Utc>,
    opds: Vec<String>,
) -> Result<BTreeMap<String, i64>, ApiError> {
    let sql = format!(
        "SELECT o, (SELECT count(*) FROM question_facts
                    WHERE opd_code = o AND status IN ('ROUTED', 'ACKNOWLEDGED') AND due_at < $2{})
         FROM unnest($1::text[]) AS o",
        bounds_sql(period, "assigned_at", 3)
    );
    let mut query = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql))
        .bind(opds)
        .bind(now);
    for bound in [period.from, period.to].into_iter().flatten() {
        query = query.bind(bound);
    }
    Ok(query.fetch_all(pool).await?.into_iter().collect())
}

/// Distinct questions escalated per OPD and level in the period: the summed singles of
/// whole months and days, the singles of partial days, and the shared rows counted
/// distinct (a question, level and OPD with one row counts once wherever it is summed).
async fn escalated(
    pool: &PgPool,
    period: Period,
    slots: &Slots,
) -> Result<Vec<(String, i32, i64)>, ApiError> {
    let mut sql = String::from(
        "SELECT opd_code, level, singles FROM escalation_months WHERE slot >= $1 AND slot < $2
         UNION ALL SELECT opd_code, level, singles FROM escalation_days WHERE slot >= $3 AND slot < $4
         UNION ALL SELECT opd_code, level, singles FROM escalation_days WHERE slot >= $5 AND slot < $6",
    );
    let mut n = 7;
    for _ in &slots.raw {
        sql.push_str(&format!(
            " UNION ALL SELECT opd_code, level, count(*) FROM escalations
              WHERE NOT shared AND escalated_at >= ${} AND escalated_at < ${} GROUP BY opd_code, level",
            n,
            n + 1
        ));
        n += 2;
    }
    sql = format!(
        "SELECT opd_code, level, sum(singles)::bigint FROM ({sql}
             UNION ALL SELECT opd_code, level, count(DISTINCT question_id) FROM escalations
             WHERE shared{} GROUP BY opd_code, level) e
         GROUP BY opd_code, level HAVING sum(singles) > 0 ORDER BY opd_code, level",
        bounds_sql(period, "escalated_at", n)
    );
    let mut query = bind_slots(sqlx::query_as::<_, (String, i32, i64)>(AssertSqlSafe(sql)), slots);
    for bound in [period.from, period.to].into_iter().flatten() {
        query = query.bind(bound);
    }
    Ok(query.fetch_all(pool).await?)
}

/// Binds `slots` as `$1`–`$6` (months, then the two runs of whole days) and the partial
/// days' ranges after them, the order every summary statement numbers them in.
fn bind_slots<'q, O>(
    query: QueryAs<'q, Postgres, O, PgArguments>,
    slots: &Slots,
) -> QueryAs<'q, Postgres, O, PgArguments> {
    let mut query = query
        .bind(slots.months.0)
        .bind(slots.months.1)
        .bind(slots.days[0].0)
        .bind(slots.days[0].1)
        .bind(slots.days[1].0)
        .bind(slots.days[1].1);
    for (from, to) in &slots.raw {
        query = query.bind(*from).bind(*to);
    }
    query
}

/// The scorecard of `opd`, created empty on first use.
fn card<'a>(cards: &'a mut BTreeMap<String, OpdScorecard>, opd: &str) -> &'a mut OpdScorecard {
    cards.entry(opd.to_owned()).or_insert_with(|| OpdScorecard {
        opd_code: opd.to_owned(),
        ..Default::default()
    })
}

//! `question_facts.answer_working_seconds`: the working time from the current assignment
//! to the first answer, kept per question so scorecards aggregate it in SQL.
//!
//! It is [`working_hours`] — the definition the scorecards used at query time — rounded
//! to the second, over the holidays reporting holds when it is computed. It is computed when
//! the first answer is projected, again when a question is routed or reassigned after
//! it (a new `assigned_at`), and again for every answered question whose span covers a
//! day that routing's `HolidaysSet` added or removed, so it always equals what the
//! query-time computation over the current holidays gave.

use chrono::{DateTime, NaiveDate, Utc};
use kenduren_domain::{calendar::wib, WorkCalendar};
use kenduren_store::HandlerError;
use sqlx::PgConnection;
use uuid::Uuid;

use super::transient;
use crate::figures::working_hours;

/// Working seconds from `from` to `to` over `calendar`; zero without an assignment.
pub(super) fn seconds(calendar: &WorkCalendar, from: Option<DateTime<Utc>>, to: DateTime<Utc>) -> i64 {
    // Rounded to the second as `round_hours` rounds a figure; a nearest-rank percentile
    // picks one value, so rounding each value first gives the same median and p90.
    from.map_or(0, |from| {
        (working_hours(calendar, from, to) * 3600.0).round() as i64
    })
}

/// Working seconds from `from` to `to` over the holidays reporting holds in between.
pub(super) async fn seconds_now(
    conn: &mut PgConnection,
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
) -> Result<i64, HandlerError> {
    let Some(start) = from.filter(|f| *f < to) else {
        return Ok(0);
    };
    let days: Vec<NaiveDate> = sqlx::query_scalar("SELECT day FROM holidays WHERE day BETWEEN $1 AND $2")
        .bind(start.with_timezone(&wib()).date_naive())
        .bind(to.with_timezone(&wib()).date_naive())
        .fetch_all(&mut *conn)
        .await
        .map_err(transient)?;
    Ok(seconds(&WorkCalendar::new(days), from, to))
}

/// Recomputes every answered question whose span covers one of `changed` days, over the
/// holidays as they are now.
pub(super) async fn recompute(conn: &mut PgConnection, changed: &[NaiveDate]) -> Result<(), HandlerError> {
    if changed.is_empty() {
        return Ok(());
    }
    let rows: Vec<(Uuid, Option<DateTime<Utc>>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT question_id, assigned_at, answered_at FROM question_facts
         WHERE answered_at IS NOT NULL AND assigned_at < answered_at
           AND EXISTS (SELECT 1 FROM unnest($1::date[]) AS d
                       WHERE d BETWEEN (assigned_at AT TIME ZONE 'Asia/Jakarta')::date
                                   AND (answered_at AT TIME ZONE 'Asia/Jakarta')::date)",
    )
    .bind(changed)
    .fetch_all(&mut *conn)
    .await
    .map_err(transient)?;
    if rows.is_empty() {
        return Ok(());
    }
    let days: Vec<NaiveDate> = sqlx::query_scalar("SELECT day FROM holidays")
        .fetch_all(&mut *conn)
        .await
        .map_err(transient)?;
    let calendar = WorkCalendar::new(days);
    let (ids, secs): (Vec<Uuid>, Vec<i64>) = rows
        .into_iter()
        .map(|(id, from, to)| (id, seconds(&calendar, from, to)))
        .unzip();
    sqlx::query(
        "UPDATE question_facts q SET answer_working_seconds = n.secs
         FROM unnest($1::uuid[], $2::bigint[]) AS n(id, secs) WHERE q.question_id = n.id",
    )
    .bind(&ids)
    .bind(&secs)
    .execute(&mut *conn)
    .await
    .map_err(transient)?;
    Ok(())
}

//! Sessions and attendance (which OPDs a session expected and which checked in), and
//! the holidays that working hours leave out.

use chrono::NaiveDate;
use kenduren_bus::CloudEvent;
use kenduren_proto::events::v1::{HolidaysSet, OpdCheckedIn, SessionScheduled};
use kenduren_runtime::to_datetime;
use kenduren_store::HandlerError;
use sqlx::PgConnection;

use super::{transient, working};

/// Records a scheduled session and the OPDs it expects.
pub(super) async fn scheduled(
    conn: &mut PgConnection,
    event: &CloudEvent,
    e: &SessionScheduled,
) -> Result<(), HandlerError> {
    let starts_on = e
        .dates
        .iter()
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .min();
    let scheduled_at = e
        .scheduled_at
        .as_ref()
        .and_then(to_datetime)
        .unwrap_or(event.time);
    sqlx::query(
        "INSERT INTO sessions (session_id, dates, starts_on, kecamatan, desa, scheduled_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (session_id) DO UPDATE SET dates = EXCLUDED.dates, starts_on = EXCLUDED.starts_on,
             kecamatan = EXCLUDED.kecamatan, desa = EXCLUDED.desa",
    )
    .bind(&e.session_id)
    .bind(&e.dates)
    .bind(starts_on)
    .bind(&e.kecamatan)
    .bind(&e.desa)
    .bind(scheduled_at)
    .execute(&mut *conn)
    .await
    .map_err(transient)?;
    for opd in &e.expected_opd_codes {
        sqlx::query(
            "INSERT INTO session_opds (session_id, opd_code, expected) VALUES ($1, $2, true)
             ON CONFLICT (session_id, opd_code) DO UPDATE SET expected = true",
        )
        .bind(&e.session_id)
        .bind(opd)
        .execute(&mut *conn)
        .await
        .map_err(transient)?;
    }
    Ok(())
}

/// Records an OPD's check-in; the first one counts.
pub(super) async fn checked_in(
    conn: &mut PgConnection,
    event: &CloudEvent,
    e: &OpdCheckedIn,
) -> Result<(), HandlerError> {
    let known: Option<String> = sqlx::query_scalar("SELECT session_id FROM sessions WHERE session_id = $1")
        .bind(&e.session_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(transient)?;
    if known.is_none() {
        return Err(HandlerError::Gap(format!(
            "session {} not scheduled yet in reporting",
            e.session_id
        )));
    }
    let at = e
        .checked_in_at
        .as_ref()
        .and_then(to_datetime)
        .unwrap_or(event.time);
    sqlx::query(
        "INSERT INTO session_opds (session_id, opd_code, checked_in_at, late) VALUES ($1, $2, $3, $4)
         ON CONFLICT (session_id, opd_code) DO UPDATE
         SET checked_in_at = COALESCE(session_opds.checked_in_at, EXCLUDED.checked_in_at),
             late = CASE WHEN session_opds.checked_in_at IS NULL THEN EXCLUDED.late ELSE session_opds.late END",
    )
    .bind(&e.session_id)
    .bind(&e.opd_code)
    .bind(at)
    .bind(e.late)
    .execute(&mut *conn)
    .await
    .map_err(transient)?;
    Ok(())
}

/// Replaces one year's holidays, and recomputes the working time to answer of every
/// answered question over a day that stopped or started being a holiday.
pub(super) async fn holidays(conn: &mut PgConnection, e: &HolidaysSet) -> Result<(), HandlerError> {
    let before: Vec<NaiveDate> = sqlx::query_scalar("DELETE FROM holidays WHERE year = $1 RETURNING day")
        .bind(e.year)
        .fetch_all(&mut *conn)
        .await
        .map_err(transient)?;
    for h in &e.holidays {
        let Ok(day) = NaiveDate::parse_from_str(&h.date, "%Y-%m-%d") else {
            continue; // routing validates dates; an unreadable one cannot be a working-day rule
        };
        sqlx::query(
            "INSERT INTO holidays (day, year, name) VALUES ($1, $2, $3)
             ON CONFLICT (day) DO UPDATE SET year = EXCLUDED.year, name = EXCLUDED.name",
        )
        .bind(day)
        .bind(e.year)
        .bind(&h.name)
        .execute(&mut *conn)
        .await
        .map_err(transient)?;
    }
    // The days that changed: only answers over those can have a different working time.
    let after: Vec<NaiveDate> = sqlx::query_scalar("SELECT day FROM holidays WHERE year = $1")
        .bind(e.year)
        .fetch_all(&mut *conn)
        .await
        .map_err(transient)?;
    let mut changed: Vec<NaiveDate> = before
        .iter()
        .filter(|d| !after.contains(d))
        .chain(after.iter().filter(|d| !before.contains(d)))
        .copied()
        .collect();
    changed.sort_unstable();
    working::recompute(conn, &changed).await
}

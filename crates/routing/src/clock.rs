//! SLA clocks: every assignment (automatic or manual routing, reassignment, reopening)
//! starts a clock whose deadlines — answer due (level 1) and level 2 — are stored rows,
//! so escalation survives restarts; an answer, a rejection or a withdrawal stops it.

use chrono::{DateTime, Utc};
use kenduren_domain::Deadlines;
use kenduren_proto::events::v1 as ev;
use kenduren_runtime::{
    convert::{channel_from_name, kind_from_name},
    timestamp,
};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::sla::{load_calendar, load_policy};

/// Starts a new clock for `id`, now assigned to `opd`, and returns its deadlines.
pub(crate) async fn start(
    conn: &mut PgConnection,
    id: Uuid,
    opd: &str,
    now: DateTime<Utc>,
) -> Result<Deadlines, sqlx::Error> {
    let (kind, channel, submitted_at): (String, String, DateTime<Utc>) =
        sqlx::query_as("SELECT kind, channel, submitted_at FROM questions WHERE question_id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    let (Some(kind), Some(channel)) = (kind_from_name(&kind), channel_from_name(&channel)) else {
        return Err(sqlx::Error::Protocol(format!(
            "question {id} has a stored kind or channel routing does not know"
        )));
    };
    let policy = load_policy(conn).await?;
    let calendar = load_calendar(conn).await?;
    let d = policy.deadlines(&calendar, submitted_at, now, kind, channel);
    stop(conn, id).await?;
    let (clock,): (i32,) = sqlx::query_as(
        "UPDATE questions SET opd_code = $2, due_at = $3, clock = clock + 1, triage_reason = NULL
         WHERE question_id = $1 RETURNING clock",
    )
    .bind(id)
    .bind(opd)
    .bind(d.answer_due)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO deadlines (question_id, clock, level, due_at) VALUES ($1, $2, 1, $3), ($1, $2, 2, $4)",
    )
    .bind(id)
    .bind(clock)
    .bind(d.answer_due)
    .bind(d.level2_due)
    .execute(&mut *conn)
    .await?;
    Ok(d)
}

/// Starts a new clock for a reopened question, with the OPD it already has; returns
/// that OPD and the new deadlines (`None`: the question has no OPD, so no clock runs).
pub(crate) async fn restart(
    conn: &mut PgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<(String, Deadlines)>, sqlx::Error> {
    let (opd,): (Option<String>,) = sqlx::query_as("SELECT opd_code FROM questions WHERE question_id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    match opd {
        Some(opd) => {
            let d = start(conn, id, &opd, now).await?;
            Ok(Some((opd, d)))
        }
        None => Ok(None),
    }
}

/// Stops the running clock: its pending deadlines will never escalate.
pub(crate) async fn stop(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM deadlines WHERE question_id = $1 AND escalated_at IS NULL")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The `QuestionRescheduled` event of a reopened question's new clock, started at `at`.
pub(crate) fn rescheduled_event(
    question_id: &str,
    opd: &str,
    reason: String,
    at: DateTime<Utc>,
    d: &Deadlines,
) -> ev::QuestionRescheduled {
    ev::QuestionRescheduled {
        question_id: question_id.to_owned(),
        opd_code: opd.to_owned(),
        due_at: Some(timestamp(d.answer_due)),
        resolution_due_at: Some(timestamp(d.resolution_due)),
        reason,
        rescheduled_at: Some(timestamp(at)),
    }
}

/// The `QuestionRouted` event of an assignment with deadlines `d`.
pub(crate) fn routed_event(
    question_id: &str,
    opd: &str,
    rule_id: String,
    reason: String,
    ticket: String,
    now: DateTime<Utc>,
    d: &Deadlines,
) -> ev::QuestionRouted {
    ev::QuestionRouted {
        question_id: question_id.to_owned(),
        opd_code: opd.to_owned(),
        rule_id,
        due_at: Some(timestamp(d.answer_due)),
        routed_at: Some(timestamp(now)),
        reason,
        ticket,
        on_the_spot_due_at: d.on_the_spot_due.map(timestamp),
        resolution_due_at: Some(timestamp(d.resolution_due)),
    }
}

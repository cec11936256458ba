//! The facts per question: kind, place, assignment, due date (the running clock's, so a
//! reopening moves it), first answer, escalation, rating and reopenings. Citizen identity is not in the events; confidential text is
//! not kept.

use chrono::{DateTime, Utc};
use kenduren_bus::CloudEvent;
use kenduren_proto::AnyEvent;
use kenduren_runtime::{
    convert::{channel_from_proto, channel_name, kind_from_proto, kind_name},
    to_datetime,
};
use kenduren_store::HandlerError;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{transient, working};
use crate::figures::answered_on_the_spot;

/// The payload's time, or the envelope's when the payload has none. Assignment and
/// answer times use the envelope's time instead (`event.time`): it is the instant every
/// client sees in a question's timeline, so figures computed from it can be checked
/// from outside (the simulator does), while a payload's own stamp may precede it by the
/// writer's round trips.
fn at(ts: &Option<prost_types::Timestamp>, event: &CloudEvent) -> DateTime<Utc> {
    ts.as_ref().and_then(to_datetime).unwrap_or(event.time)
}

/// What the handler needs to know about a question already seen.
#[derive(sqlx::FromRow)]
struct Known {
    channel: String,
    submitted_at: DateTime<Utc>,
    assigned_at: Option<DateTime<Utc>>,
    answered_at: Option<DateTime<Utc>>,
    opd_code: Option<String>,
    on_the_spot_due_at: Option<DateTime<Utc>>,
}

/// Applies one question event to `question_facts` (and `escalations`).
pub(super) async fn apply(
    conn: &mut PgConnection,
    id: Uuid,
    event: &CloudEvent,
    decoded: &AnyEvent,
) -> Result<(), HandlerError> {
    if let AnyEvent::QuestionSubmitted(e) = decoded {
        let kind = kind_from_proto(e.kind)
            .ok_or_else(|| HandlerError::Poison("submission without a kind".into()))?;
        let channel = channel_from_proto(e.channel)
            .ok_or_else(|| HandlerError::Poison("submission without a channel".into()))?;
        let location = e.location.clone().unwrap_or_default();
        sqlx::query(
            "INSERT INTO question_facts (question_id, ticket, kind, category, channel, kecamatan, desa, session_id,
                                         confidential, text, submitted_at, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'SUBMITTED')",
        )
        .bind(id)
        .bind(&e.ticket)
        .bind(kind_name(kind))
        .bind(&e.category)
        .bind(channel_name(channel))
        .bind(&location.kecamatan)
        .bind(&location.desa)
        .bind(&e.session_id)
        .bind(e.confidential)
        // Confidential text never enters reporting.
        .bind((!e.confidential).then_some(e.text.as_str()))
        .bind(at(&e.submitted_at, event))
        .execute(&mut *conn)
        .await
        .map_err(transient)?;
        return Ok(());
    }

    let known: Option<Known> = sqlx::query_as(
        "SELECT channel, submitted_at, assigned_at, answered_at, opd_code, on_the_spot_due_at FROM question_facts
         WHERE question_id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(transient)?;
    let Some(known) = known else {
        return Err(HandlerError::Gap(format!(
            "question {id} not submitted yet in reporting"
        )));
    };

    let query = match decoded {
        AnyEvent::QuestionRouted(e) => {
            let assigned_at = event.time;
            let secs = answer_seconds(conn, Some(assigned_at), known.answered_at).await?;
            sqlx::query(
                "UPDATE question_facts SET status = 'ROUTED', opd_code = $2, routed_at = $3, assigned_at = $3, due_at = $4,
                        on_the_spot_due_at = COALESCE($5, on_the_spot_due_at), answer_working_seconds = $6
                 WHERE question_id = $1",
            )
            .bind(id)
            .bind(&e.opd_code)
            .bind(assigned_at)
            .bind(e.due_at.as_ref().and_then(to_datetime))
            .bind(e.on_the_spot_due_at.as_ref().and_then(to_datetime))
            .bind(secs)
        }
        AnyEvent::QuestionReassigned(e) => {
            let assigned_at = event.time;
            let secs = answer_seconds(conn, Some(assigned_at), known.answered_at).await?;
            sqlx::query(
                "UPDATE question_facts SET status = 'ROUTED', opd_code = $2, assigned_at = $3, due_at = $4,
                        answer_working_seconds = $5
                 WHERE question_id = $1",
            )
            .bind(id)
            .bind(&e.to_opd_code)
            .bind(assigned_at)
            .bind(e.due_at.as_ref().and_then(to_datetime))
            .bind(secs)
        }
        AnyEvent::QuestionTriaged(_) => {
            sqlx::query("UPDATE question_facts SET status = 'TRIAGE', opd_code = NULL WHERE question_id = $1")
                .bind(id)
        }
        AnyEvent::AssignmentRejected(_) => sqlx::query(
            "UPDATE question_facts SET status = 'SUBMITTED', opd_code = NULL WHERE question_id = $1",
        )
        .bind(id),
        AnyEvent::QuestionAcknowledged(_) => {
            sqlx::query("UPDATE question_facts SET status = 'ACKNOWLEDGED' WHERE question_id = $1").bind(id)
        }
        AnyEvent::QuestionAnswered(_) => {
            let answered_at = event.time;
            if known.answered_at.is_some() {
                // A reopened question answered again: its first answer stays the one counted.
                sqlx::query("UPDATE question_facts SET status = 'ANSWERED' WHERE question_id = $1").bind(id)
            } else {
                let on_the_spot = known.channel == "ON_SITE"
                    && answered_on_the_spot(known.submitted_at, known.on_the_spot_due_at, answered_at);
                let secs = working::seconds_now(conn, known.assigned_at, answered_at).await?;
                sqlx::query(
                    "UPDATE question_facts SET status = 'ANSWERED', answered_at = $2,
                            answered_within_due = (due_at IS NULL OR $2 <= due_at), answered_on_the_spot = $3,
                            answer_working_seconds = $4
                     WHERE question_id = $1",
                )
                .bind(id)
                .bind(answered_at)
                .bind(on_the_spot)
                .bind(secs)
            }
        }
        AnyEvent::FollowUpPlanned(_) => {
            sqlx::query("UPDATE question_facts SET status = 'FOLLOW_UP' WHERE question_id = $1").bind(id)
        }
        AnyEvent::QuestionResolved(_) => {
            sqlx::query("UPDATE question_facts SET status = 'RESOLVED' WHERE question_id = $1").bind(id)
        }
        AnyEvent::QuestionWithdrawn(_) => {
            sqlx::query("UPDATE question_facts SET status = 'WITHDRAWN' WHERE question_id = $1").bind(id)
        }
        AnyEvent::AnswerRated(e) => {
            let rating = i32::try_from(e.rating).unwrap_or(i32::MAX);
            if e.reopens {
                sqlx::query(
                    "UPDATE question_facts SET rating = $2, status = 'ROUTED', reopened = reopened + 1
                     WHERE question_id = $1",
                )
                .bind(id)
                .bind(rating)
            } else {
                sqlx::query("UPDATE question_facts SET rating = $2 WHERE question_id = $1")
                    .bind(id)
                    .bind(rating)
            }
        }
        AnyEvent::QuestionRescheduled(e) => {
            // The reopened question's new clock: the unanswered list and the open-late
            // count follow the deadline that runs now. On-time figures do not move:
            // `answered_within_due` judged the first answer against the due date it had,
            // and a later answer is not counted again (see `QuestionAnswered`).
            sqlx::query("UPDATE question_facts SET due_at = $2 WHERE question_id = $1")
                .bind(id)
                .bind(e.due_at.as_ref().and_then(to_datetime))
        }
        AnyEvent::QuestionEscalated(e) => {
            let level = i32::try_from(e.level).unwrap_or(i32::MAX);
            let opd = if e.opd_code.is_empty() {
                known.opd_code.clone().unwrap_or_default()
            } else {
                e.opd_code.clone()
            };
            sqlx::query(
                "INSERT INTO escalations (event_id, question_id, level, opd_code, escalated_at)
                 VALUES ($5, $1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(id)
            .bind(level)
            .bind(opd)
            .bind(at(&e.escalated_at, event))
            .bind(event.id)
            .execute(&mut *conn)
            .await
            .map_err(transient)?;
            sqlx::query(
                "UPDATE question_facts SET escalation_level = GREATEST(escalation_level, $2) WHERE question_id = $1",
            )
            .bind(id)
            .bind(level)
        }
        // Not about a question's facts.
        _ => return Ok(()),
    };
    query.execute(&mut *conn).await.map_err(transient)?;
    Ok(())
}

/// The working seconds to the first answer once assigned at `assigned_at`; `None` while
/// the question has no answer.
async fn answer_seconds(
    conn: &mut PgConnection,
    assigned_at: Option<DateTime<Utc>>,
    answered_at: Option<DateTime<Utc>>,
) -> Result<Option<i64>, HandlerError> {
    match answered_at {
        Some(answered_at) => Ok(Some(working::seconds_now(conn, assigned_at, answered_at).await?)),
        None => Ok(None),
    }
}

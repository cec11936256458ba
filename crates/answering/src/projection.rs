//! Builds each OPD's inbox from intake's and routing's events. Answering's own
//! events were applied when they were appended.

use kenduren_bus::CloudEvent;
use kenduren_domain::{QuestionStatus, Transition};
use kenduren_proto::AnyEvent;
use kenduren_runtime::{
    convert::{channel_from_proto, channel_name, kind_from_proto, kind_name},
    to_datetime, LifecycleEvent,
};
use kenduren_store::{EventHandler, HandlerError};
use sqlx::PgConnection;
use uuid::Uuid;

/// The inbox projection.
#[derive(Debug, Clone, Copy)]
pub struct Inboxes;

fn transient(e: sqlx::Error) -> HandlerError {
    HandlerError::transient(e.to_string())
}

fn parse_id(id: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(id).map_err(|_| HandlerError::Poison(format!("bad question id {id:?}")))
}

impl EventHandler for Inboxes {
    async fn handle(&self, conn: &mut PgConnection, event: &CloudEvent) -> Result<(), HandlerError> {
        let decoded =
            AnyEvent::decode(&event.ty, &event.data).map_err(|e| HandlerError::Poison(e.to_string()))?;
        match decoded {
            AnyEvent::QuestionSubmitted(e) => {
                let kind = kind_from_proto(e.kind)
                    .ok_or_else(|| HandlerError::Poison("submission without a kind".into()))?;
                let channel = channel_from_proto(e.channel)
                    .ok_or_else(|| HandlerError::Poison("submission without a channel".into()))?;
                sqlx::query(
                    "INSERT INTO questions (question_id, ticket, kind, category, channel, kecamatan, text, anonymous,
                                            confidential, submitted_at, status, last_cause, has_contact)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(parse_id(&e.question_id)?)
                .bind(&e.ticket)
                .bind(kind_name(kind))
                .bind(&e.category)
                .bind(channel_name(channel))
                .bind(e.location.as_ref().map(|l| l.kecamatan.as_str()).unwrap_or_default())
                .bind(&e.text)
                .bind(e.anonymous)
                .bind(e.confidential)
                .bind(e.submitted_at.as_ref().and_then(to_datetime).unwrap_or(event.time))
                .bind(QuestionStatus::Submitted.as_str())
                .bind(event.id)
                .bind(e.has_contact)
                .execute(&mut *conn)
                .await
                .map_err(transient)?;
                Ok(())
            }
            AnyEvent::QuestionRouted(e) => {
                let id = parse_id(&e.question_id)?;
                transition(conn, id, e.transition(), event.id).await?;
                assign(
                    conn,
                    id,
                    Some(&e.opd_code),
                    e.due_at.as_ref().and_then(to_datetime),
                    event.time,
                )
                .await
            }
            AnyEvent::QuestionReassigned(e) => {
                let id = parse_id(&e.question_id)?;
                transition(conn, id, e.transition(), event.id).await?;
                assign(
                    conn,
                    id,
                    Some(&e.to_opd_code),
                    e.due_at.as_ref().and_then(to_datetime),
                    event.time,
                )
                .await
            }
            AnyEvent::QuestionTriaged(e) => {
                let id = parse_id(&e.question_id)?;
                transition(conn, id, e.transition(), event.id).await?;
                assign(conn, id, None, None, event.time).await
            }
            AnyEvent::QuestionWithdrawn(e) => {
                transition(conn, parse_id(&e.question_id)?, e.transition(), event.id).await
            }
            AnyEvent::QuestionRescheduled(e) => {
                // A reopened question's new clock: same OPD and status (the rating already
                // reopened it), a later due date. Neither the version nor the cause moves:
                // a new due date changes nothing the OPD's next write could overwrite.
                let id = parse_id(&e.question_id)?;
                let due_at = e.due_at.as_ref().and_then(to_datetime);
                let updated = sqlx::query("UPDATE questions SET due_at = $2 WHERE question_id = $1")
                    .bind(id)
                    .bind(due_at)
                    .execute(&mut *conn)
                    .await
                    .map_err(transient)?;
                if updated.rows_affected() == 0 {
                    return Err(HandlerError::Gap(format!(
                        "question {id} not seen by answering yet"
                    )));
                }
                Ok(())
            }
            AnyEvent::AnswerRated(e) => {
                transition(conn, parse_id(&e.question_id)?, e.transition(), event.id).await
            }
            _ => Ok(()),
        }
    }
}

async fn assign(
    conn: &mut PgConnection,
    id: Uuid,
    opd: Option<&str>,
    due_at: Option<chrono::DateTime<chrono::Utc>>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), HandlerError> {
    sqlx::query("UPDATE questions SET opd_code = $2, due_at = $3, routed_at = $4 WHERE question_id = $1")
        .bind(id)
        .bind(opd)
        .bind(due_at)
        .bind(opd.map(|_| at))
        .execute(&mut *conn)
        .await
        .map_err(transient)?;
    Ok(())
}

async fn transition(
    conn: &mut PgConnection,
    id: Uuid,
    t: Transition,
    cause: Uuid,
) -> Result<(), HandlerError> {
    let current: Option<(String,)> =
        sqlx::query_as("SELECT status FROM questions WHERE question_id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(transient)?;
    let Some((status,)) = current else {
        return Err(HandlerError::Gap(format!(
            "question {id} not seen by answering yet"
        )));
    };
    let status = QuestionStatus::parse(&status)
        .ok_or_else(|| HandlerError::Poison(format!("stored status {status:?}")))?;
    let next = status.apply(t).map_err(|e| HandlerError::Gap(e.to_string()))?;
    sqlx::query(
        "UPDATE questions SET status = $2, version = version + 1, last_cause = $3 WHERE question_id = $1",
    )
    .bind(id)
    .bind(next.as_str())
    .bind(cause)
    .execute(&mut *conn)
    .await
    .map_err(transient)?;
    Ok(())
}

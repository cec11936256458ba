//! Reporting's projection: one timeline row per question event, and the facts per
//! question that the scorecards count.

use kenduren_bus::CloudEvent;
use kenduren_proto::AnyEvent;
use kenduren_runtime::{
    convert::{channel_from_proto, channel_name, kind_from_proto, kind_name},
    to_datetime,
};
use kenduren_store::{EventHandler, HandlerError};
use sqlx::PgConnection;
use uuid::Uuid;

/// The reporting projection.
#[derive(Debug, Clone, Copy)]
pub struct Figures;

fn transient(e: sqlx::Error) -> HandlerError {
    HandlerError::transient(e.to_string())
}

fn parse_id(id: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(id).map_err(|_| HandlerError::Poison(format!("bad question id {id:?}")))
}

/// The question, who acted and a one-line summary, for question events; `None` otherwise.
fn describe(event: &AnyEvent) -> Option<(&str, String, String)> {
    Some(match event {
        AnyEvent::QuestionSubmitted(e) => (
            &e.question_id,
            "citizen".into(),
            format!("submitted as {} ({})", e.ticket, e.category),
        ),
        AnyEvent::QuestionWithdrawn(e) => (&e.question_id, "citizen".into(), "withdrawn".into()),
        AnyEvent::AnswerRated(e) => (&e.question_id, "citizen".into(), format!("rated {}/5", e.rating)),
        AnyEvent::QuestionRouted(e) => (
            &e.question_id,
            "routing".into(),
            format!("routed to {}: {}", e.opd_code, e.reason),
        ),
        AnyEvent::QuestionReassigned(e) => (
            &e.question_id,
            "admin".into(),
            format!("reassigned {} → {}: {}", e.from_opd_code, e.to_opd_code, e.reason),
        ),
        AnyEvent::QuestionEscalated(e) => (
            &e.question_id,
            "routing".into(),
            format!("escalated to level {}", e.level),
        ),
        AnyEvent::QuestionTriaged(e) => (&e.question_id, "routing".into(), format!("triage: {}", e.reason)),
        AnyEvent::QuestionAcknowledged(e) => (&e.question_id, e.opd_code.clone(), "acknowledged".into()),
        AnyEvent::QuestionAnswered(e) => (
            &e.question_id,
            e.opd_code.clone(),
            format!("answered by {} ({})", e.responder_name, e.responder_position),
        ),
        AnyEvent::FollowUpPlanned(e) => (&e.question_id, e.opd_code.clone(), "follow-up planned".into()),
        AnyEvent::QuestionResolved(e) => (&e.question_id, e.opd_code.clone(), "resolved".into()),
        AnyEvent::AssignmentRejected(e) => (
            &e.question_id,
            e.opd_code.clone(),
            format!("rejected: {}", e.reason),
        ),
        AnyEvent::SessionScheduled(_) | AnyEvent::OpdCheckedIn(_) => return None,
    })
}

impl EventHandler for Figures {
    async fn handle(&self, conn: &mut PgConnection, event: &CloudEvent) -> Result<(), HandlerError> {
        let decoded =
            AnyEvent::decode(&event.ty, &event.data).map_err(|e| HandlerError::Poison(e.to_string()))?;
        let Some((id, actor, summary)) = describe(&decoded) else {
            return Ok(());
        };
        let id = parse_id(id)?;
        match &decoded {
            AnyEvent::QuestionSubmitted(e) => {
                let kind = kind_from_proto(e.kind)
                    .ok_or_else(|| HandlerError::Poison("submission without a kind".into()))?;
                let channel = channel_from_proto(e.channel)
                    .ok_or_else(|| HandlerError::Poison("submission without a channel".into()))?;
                sqlx::query(
                    "INSERT INTO question_facts (question_id, kind, category, channel, kecamatan, session_id, confidential,
                                                 submitted_at, status)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'SUBMITTED')",
                )
                .bind(id)
                .bind(kind_name(kind))
                .bind(&e.category)
                .bind(channel_name(channel))
                .bind(e.location.as_ref().map(|l| l.kecamatan.as_str()).unwrap_or_default())
                .bind(&e.session_id)
                .bind(e.confidential)
                .bind(e.submitted_at.as_ref().and_then(to_datetime).unwrap_or(event.time))
                .execute(&mut *conn)
                .await
                .map_err(transient)?;
            }
            other => {
                let known: Option<(String,)> =
                    sqlx::query_as("SELECT status FROM question_facts WHERE question_id = $1 FOR UPDATE")
                        .bind(id)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(transient)?;
                if known.is_none() {
                    return Err(HandlerError::Gap(format!(
                        "question {id} not submitted yet in reporting"
                    )));
                }
                apply_fact(conn, id, other).await?;
            }
        }
        sqlx::query(
            "INSERT INTO timeline (question_id, event_id, event_type, source, occurred_at, actor, summary)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(event.id)
        .bind(&event.ty)
        .bind(&event.source)
        .bind(event.time)
        .bind(actor)
        .bind(summary)
        .execute(&mut *conn)
        .await
        .map_err(transient)?;
        Ok(())
    }
}

async fn apply_fact(conn: &mut PgConnection, id: Uuid, event: &AnyEvent) -> Result<(), HandlerError> {
    let at = |ts: &Option<prost_types::Timestamp>| ts.as_ref().and_then(to_datetime);
    let query = match event {
        AnyEvent::QuestionRouted(e) => sqlx::query(
            "UPDATE question_facts SET status = 'ROUTED', opd_code = $2, routed_at = $3, due_at = $4 WHERE question_id = $1",
        )
        .bind(id)
        .bind(&e.opd_code)
        .bind(at(&e.routed_at))
        .bind(at(&e.due_at)),
        AnyEvent::QuestionReassigned(e) => {
            sqlx::query("UPDATE question_facts SET status = 'ROUTED', opd_code = $2, due_at = $3 WHERE question_id = $1")
                .bind(id)
                .bind(&e.to_opd_code)
                .bind(at(&e.due_at))
        }
        AnyEvent::QuestionTriaged(_) => {
            sqlx::query("UPDATE question_facts SET status = 'TRIAGE', opd_code = NULL WHERE question_id = $1").bind(id)
        }
        AnyEvent::AssignmentRejected(_) => {
            sqlx::query("UPDATE question_facts SET status = 'SUBMITTED', opd_code = NULL WHERE question_id = $1").bind(id)
        }
        AnyEvent::QuestionAcknowledged(_) => {
            sqlx::query("UPDATE question_facts SET status = 'ACKNOWLEDGED' WHERE question_id = $1").bind(id)
        }
        AnyEvent::QuestionAnswered(e) => sqlx::query(
            "UPDATE question_facts SET status = 'ANSWERED', answered_at = $2,
                    answered_within_due = (due_at IS NULL OR $2 <= due_at)
             WHERE question_id = $1",
        )
        .bind(id)
        .bind(at(&e.answered_at)),
        AnyEvent::FollowUpPlanned(_) => {
            sqlx::query("UPDATE question_facts SET status = 'FOLLOW_UP' WHERE question_id = $1").bind(id)
        }
        AnyEvent::QuestionResolved(_) => {
            sqlx::query("UPDATE question_facts SET status = 'RESOLVED' WHERE question_id = $1").bind(id)
        }
        AnyEvent::QuestionWithdrawn(_) => {
            sqlx::query("UPDATE question_facts SET status = 'WITHDRAWN' WHERE question_id = $1").bind(id)
        }
        _ => return Ok(()),
    };
    query.execute(&mut *conn).await.map_err(transient)?;
    Ok(())
}

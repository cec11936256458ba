//! Reporting's projection: one timeline row per question event, the facts per question
//! behind every figure, and sessions with their expected and checked-in OPDs.
//!
//! The same code serves the live consumer and [`crate::rebuild`], so a rebuilt read
//! model equals the live one by construction.

mod questions;
mod sessions;
mod working;

use kenduren_bus::CloudEvent;
use kenduren_domain::calendar::wib;
use kenduren_proto::{AnyEvent, DecodeError};
use kenduren_runtime::to_datetime;
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

/// A due date as the timeline shows it: WIB, to the minute.
fn due(at: Option<&prost_types::Timestamp>) -> String {
    at.and_then(to_datetime).map_or_else(
        || "-".into(),
        |d| d.with_timezone(&wib()).format("%Y-%m-%d %H:%M WIB").to_string(),
    )
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
        AnyEvent::AnswerRated(e) => (
            &e.question_id,
            "citizen".into(),
            if e.reopens {
                format!("rated {}/5, reopened", e.rating)
            } else {
                format!("rated {}/5", e.rating)
            },
        ),
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
        AnyEvent::QuestionRescheduled(e) => (
            &e.question_id,
            "routing".into(),
            format!(
                "due again by {} at {}: {}",
                e.opd_code,
                due(e.due_at.as_ref()),
                e.reason
            ),
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
        // Sessions, and routing's own events about no question.
        _ => return None,
    })
}

impl EventHandler for Figures {
    async fn handle(&self, conn: &mut PgConnection, event: &CloudEvent) -> Result<(), HandlerError> {
        let decoded = match AnyEvent::decode(&event.ty, &event.data) {
            Ok(decoded) => decoded,
            // A type newer than this build reports nothing yet; replaying after an
            // upgrade (`rebuild`) picks it up.
            Err(DecodeError::UnknownType(_)) => return Ok(()),
            Err(e) => return Err(HandlerError::Poison(e.to_string())),
        };
        match &decoded {
            AnyEvent::SessionScheduled(e) => return sessions::scheduled(conn, event, e).await,
            AnyEvent::OpdCheckedIn(e) => return sessions::checked_in(conn, event, e).await,
            AnyEvent::HolidaysSet(e) => return sessions::holidays(conn, e).await,
            _ => {}
        }
        let Some((id, actor, summary)) = describe(&decoded) else {
            return Ok(());
        };
        let id = parse_id(id)?;
        questions::apply(conn, id, event, &decoded).await?;
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

//! Keeps the citizen tracking view current from routing's and answering's events, and
//! the holiday calendar current from routing's `HolidaysSet`. Intake's own events were
//! applied when they were appended, and the consumer skips them when they come back
//! from the stream.

use chrono::{DateTime, NaiveDate, Utc};
use kenduren_bus::CloudEvent;
use kenduren_domain::QuestionStatus;
use kenduren_proto::{events::v1::HolidaysSet, AnyEvent};
use kenduren_runtime::{to_datetime, transition_of};
use kenduren_store::{EventHandler, HandlerError};
use sqlx::PgConnection;
use uuid::Uuid;

/// The tracking projection.
#[derive(Debug, Clone, Copy)]
pub struct Tracking;

impl EventHandler for Tracking {
    async fn handle(&self, conn: &mut PgConnection, event: &CloudEvent) -> Result<(), HandlerError> {
        let decoded =
            AnyEvent::decode(&event.ty, &event.data).map_err(|e| HandlerError::Poison(e.to_string()))?;
        let (id, summary) = match &decoded {
            AnyEvent::HolidaysSet(e) => return holidays(conn, e).await,
            AnyEvent::QuestionRouted(e) => (&e.question_id, format!("Diteruskan ke {}", e.opd_code)),
            AnyEvent::QuestionReassigned(e) => (&e.question_id, format!("Dialihkan ke {}", e.to_opd_code)),
            AnyEvent::QuestionTriaged(e) => (&e.question_id, "Ditelaah admin".to_owned()),
            // Routing restarted the clock (a low rating reopened the question): the
            // status changed with the rating, only the due date is new.
            AnyEvent::QuestionRescheduled(e) => (
                &e.question_id,
                match e.due_at.as_ref().and_then(to_datetime) {
                    Some(due) => format!(
                        "Tenggat baru untuk {}: {}",
                        e.opd_code,
                        due.with_timezone(&kenduren_domain::calendar::wib())
                            .format("%Y-%m-%d %H:%M WIB")
                    ),
                    None => format!("Dijadwalkan ulang untuk {}", e.opd_code),
                },
            ),
            AnyEvent::QuestionEscalated(e) => (&e.question_id, format!("Dieskalasi ke tingkat {}", e.level)),
            AnyEvent::QuestionAcknowledged(e) => (&e.question_id, format!("Diterima oleh {}", e.opd_code)),
            AnyEvent::QuestionAnswered(e) => (&e.question_id, format!("Dijawab oleh {}", e.opd_code)),
            AnyEvent::FollowUpPlanned(e) => (&e.question_id, "Tindak lanjut direncanakan".to_owned()),
            AnyEvent::QuestionResolved(e) => (&e.question_id, "Selesai".to_owned()),
            AnyEvent::AssignmentRejected(e) => (
                &e.question_id,
                format!("{} meneruskan kembali ke admin", e.opd_code),
            ),
            // Intake's own events and session events change nothing here.
            _ => return Ok(()),
        };
        // Which lifecycle move the event is, as every service reads it.
        let transition = transition_of(&decoded).map(|(_, t)| t);
        let question_id =
            Uuid::parse_str(id).map_err(|_| HandlerError::Poison(format!("bad question id {id:?}")))?;
        let current: Option<(String,)> =
            sqlx::query_as("SELECT status FROM questions WHERE question_id = $1 FOR UPDATE")
                .bind(question_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(transient)?;
        let Some((status,)) = current else {
            return Err(HandlerError::Gap(format!(
                "question {question_id} not submitted here yet"
            )));
        };
        let status = QuestionStatus::parse(&status)
            .ok_or_else(|| HandlerError::Poison(format!("stored status {status:?}")))?;
        let next = match transition {
            // A withdrawal is final: whatever the other services did before they saw it
            // goes into the timeline but does not revive the question.
            Some(_) if status == QuestionStatus::Withdrawn => status,
            Some(t) => status.apply(t).map_err(|e| HandlerError::Gap(e.to_string()))?,
            None => status,
        };
        // last_cause: intake's own later events name it as their cause, so consumers
        // elsewhere apply them only after the event this view was built from.
        sqlx::query(
            "UPDATE questions SET status = $2, last_cause = $3, updated_at = now() WHERE question_id = $1",
        )
        .bind(question_id)
        .bind(next.as_str())
        .bind(event.id)
        .execute(&mut *conn)
        .await
        .map_err(transient)?;
        apply_details(conn, question_id, &decoded, event.time).await?;
        sqlx::query(
            "INSERT INTO timeline (question_id, event_id, event_type, at, summary) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(question_id)
        .bind(event.id)
        .bind(decoded.type_name().rsplit('.').next().unwrap_or_default())
        .bind(event.time)
        .bind(summary)
        .execute(&mut *conn)
        .await
        .map_err(transient)?;
        Ok(())
    }
}

async fn apply_details(
    conn: &mut PgConnection,
    question_id: Uuid,
    event: &AnyEvent,
    at: DateTime<Utc>,
) -> Result<(), HandlerError> {
    let due =
        |ts: &Option<prost_types::Timestamp>| -> Option<DateTime<Utc>> { ts.as_ref().and_then(to_datetime) };
    let query = match event {
        AnyEvent::QuestionRouted(e) => {
            sqlx::query("UPDATE questions SET opd_code = $2, due_at = $3 WHERE question_id = $1")
                .bind(question_id)
                .bind(&e.opd_code)
                .bind(due(&e.due_at))
        }
        AnyEvent::QuestionReassigned(e) => {
            sqlx::query("UPDATE questions SET opd_code = $2, due_at = $3 WHERE question_id = $1")
                .bind(question_id)
                .bind(&e.to_opd_code)
                .bind(due(&e.due_at))
        }
        AnyEvent::AssignmentRejected(_) | AnyEvent::QuestionTriaged(_) => {
            sqlx::query("UPDATE questions SET opd_code = NULL, due_at = NULL WHERE question_id = $1")
                .bind(question_id)
        }
        AnyEvent::QuestionAnswered(e) => sqlx::query(
            // A new answer may be rated again (after a low rating reopened the question).
            "UPDATE questions SET answer = $2, answered_at = $3, rated = false WHERE question_id = $1",
        )
        .bind(question_id)
        .bind(&e.answer)
        .bind(due(&e.answered_at).unwrap_or(at)),
        AnyEvent::QuestionRescheduled(e) => {
            sqlx::query("UPDATE questions SET opd_code = $2, due_at = $3 WHERE question_id = $1")
                .bind(question_id)
                .bind(&e.opd_code)
                .bind(due(&e.due_at))
        }
        AnyEvent::FollowUpPlanned(e) => {
            sqlx::query("UPDATE questions SET follow_up_plan = $2 WHERE question_id = $1")
                .bind(question_id)
                .bind(&e.plan)
        }
        _ => return Ok(()),
    };
    query.execute(&mut *conn).await.map_err(transient)?;
    Ok(())
}

/// Replaces one year's holidays with those routing set (dates routing validated; one
/// that does not parse cannot be a working-day rule and is skipped).
async fn holidays(conn: &mut PgConnection, e: &HolidaysSet) -> Result<(), HandlerError> {
    sqlx::query("DELETE FROM holidays WHERE year = $1")
        .bind(e.year)
        .execute(&mut *conn)
        .await
        .map_err(transient)?;
    for h in &e.holidays {
        let Ok(day) = NaiveDate::parse_from_str(&h.date, "%Y-%m-%d") else {
            tracing::warn!(date = %h.date, year = e.year, "skipped an unreadable holiday date");
            continue;
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
    Ok(())
}

/// The working-day calendar in force: weekends and the holidays routing announced.
pub(crate) async fn calendar(conn: &mut PgConnection) -> Result<kenduren_domain::WorkCalendar, sqlx::Error> {
    let days: Vec<NaiveDate> = sqlx::query_scalar("SELECT day FROM holidays")
        .fetch_all(&mut *conn)
        .await?;
    Ok(kenduren_domain::WorkCalendar::new(days))
}

fn transient(e: sqlx::Error) -> HandlerError {
    HandlerError::transient(e.to_string())
}

//! `TrackQuestion`: what a citizen sees of their ticket. A wrong PIN and an unknown
//! ticket give the same answer, so tickets cannot be probed.

use chrono::{DateTime, Utc};
use kenduren_domain::{QuestionStatus, Ticket};
use kenduren_proto::intake::v1::{TimelineEntry, TrackQuestionRequest, TrackQuestionResponse};
use kenduren_runtime::{convert::status_to_proto, timestamp, ApiError};
use uuid::Uuid;

use crate::{api::Intake, submit::pin_hash};

const NOT_FOUND: &str = "no question with this ticket and PIN";

type Row = (
    Uuid,
    String,
    Vec<u8>,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<String>,
    Option<i32>,
);

impl Intake {
    pub(crate) async fn track(&self, req: TrackQuestionRequest) -> Result<TrackQuestionResponse, ApiError> {
        let Ok(ticket) = Ticket::parse(&req.ticket) else {
            return Err(ApiError::NotFound(NOT_FOUND.into()));
        };
        let row: Option<Row> = sqlx::query_as(
            "SELECT question_id, ticket, pin_hash, status, opd_code, due_at, answer, follow_up_plan, rating
             FROM questions WHERE ticket = $1",
        )
        .bind(ticket.as_str())
        .fetch_optional(&self.ctx.pool)
        .await?;
        let Some((question_id, ticket, stored_hash, status, opd_code, due_at, answer, plan, rating)) = row
        else {
            return Err(ApiError::NotFound(NOT_FOUND.into()));
        };
        if pin_hash(question_id, &req.tracking_pin) != stored_hash {
            return Err(ApiError::NotFound(NOT_FOUND.into()));
        }
        let status = QuestionStatus::parse(&status)
            .ok_or_else(|| ApiError::Internal(format!("unknown status {status:?} in the tracking view")))?;
        let timeline: Vec<(String, DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT event_type, at, summary FROM timeline WHERE question_id = $1 ORDER BY seq",
        )
        .bind(question_id)
        .fetch_all(&self.ctx.pool)
        .await?;
        Ok(TrackQuestionResponse {
            question_id: question_id.to_string(),
            ticket,
            status: status_to_proto(status) as i32,
            opd_code: opd_code.unwrap_or_default(),
            due_at: due_at.map(timestamp),
            answer: answer.unwrap_or_default(),
            follow_up_plan: plan.unwrap_or_default(),
            rating: rating.and_then(|r| u32::try_from(r).ok()).unwrap_or(0),
            timeline: timeline
                .into_iter()
                .map(|(event_type, at, summary)| TimelineEntry {
                    event_type,
                    at: Some(timestamp(at)),
                    summary,
                })
                .collect(),
        })
    }
}

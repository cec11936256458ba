//! `GetQuestion`: one question in full — what the citizen asked, where it stands,
//! answering's history on it — and the citizen's contact, fetched from intake only for
//! the assigned OPD and only when the citizen is not anonymous.

use chrono::{DateTime, Utc};
use kenduren_domain::{OpdCode, QuestionId, QuestionStatus};
use kenduren_proto::{
    answering::v1::{ContactStatus, GetQuestionResponse, HistoryEntry, Question},
    events::v1 as ev,
    AnyEvent,
};
use kenduren_runtime::{
    convert::{channel_from_name, channel_to_proto, kind_from_name, kind_to_proto, status_to_proto},
    timestamp, ApiError,
};
use uuid::Uuid;

use crate::{api::Answering, check::Check, contact::Lookup};

/// Who is reading: the OPD gets its own questions with contact, an admin any question without.
#[derive(Debug, Clone)]
pub(crate) enum Reader {
    Opd(OpdCode),
    Admin,
}

#[derive(sqlx::FromRow)]
struct Row {
    question_id: Uuid,
    ticket: String,
    status: String,
    kind: String,
    category: String,
    text: String,
    kecamatan: String,
    channel: String,
    opd_code: Option<String>,
    submitted_at: DateTime<Utc>,
    routed_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    anonymous: bool,
    confidential: bool,
    has_contact: Option<bool>,
    answer: Option<String>,
    follow_up_plan: Option<String>,
    follow_up_by: Option<DateTime<Utc>>,
    resolution_note: Option<String>,
    version: i64,
}

impl Answering {
    pub(crate) async fn get_question(
        &self,
        question_id: &str,
        reader: Reader,
    ) -> Result<GetQuestionResponse, ApiError> {
        let mut c = Check::default();
        let id = c.parse("question_id", QuestionId::parse(question_id));
        let id = c.done(id)?;
        let opd = match &reader {
            Reader::Opd(code) => Some(code.as_str()),
            Reader::Admin => None,
        };
        let row: Option<Row> = sqlx::query_as(
            "SELECT question_id, ticket, status, kind, category, text, kecamatan, channel, opd_code,
                    submitted_at, routed_at, due_at, anonymous, confidential, has_contact, answer,
                    follow_up_plan, follow_up_by, resolution_note, version
             FROM questions WHERE question_id = $1 AND ($2::text IS NULL OR opd_code = $2)",
        )
        .bind(id.as_uuid())
        .bind(opd)
        .fetch_optional(&self.ctx.pool)
        .await?;
        // Another OPD's question (confidential or not) looks exactly like a missing one.
        let row = row.ok_or_else(|| ApiError::NotFound(format!("question {id} not found")))?;
        let history = self.history(&id).await?;
        let (contact_status, contact) = match (&reader, row.anonymous, row.has_contact) {
            (_, true, _) => (ContactStatus::Anonymous, None),
            (Reader::Admin, false, _) => (ContactStatus::Withheld, None),
            (Reader::Opd(_), false, Some(false)) => (ContactStatus::None, None),
            (Reader::Opd(_), false, _) => match self.contacts.fetch(&id).await {
                Lookup::Found(c) => (ContactStatus::Available, Some(c)),
                Lookup::None => (ContactStatus::None, None),
                Lookup::Unavailable => (ContactStatus::Unavailable, None),
            },
        };
        let status = QuestionStatus::parse(&row.status);
        Ok(GetQuestionResponse {
            question: Some(Question {
                question_id: row.question_id.to_string(),
                ticket: row.ticket,
                status: status.map(|s| status_to_proto(s) as i32).unwrap_or_default(),
                kind: kind_from_name(&row.kind)
                    .map(|k| kind_to_proto(k) as i32)
                    .unwrap_or_default(),
                category: row.category,
                text: row.text,
                kecamatan: row.kecamatan,
                channel: channel_from_name(&row.channel)
                    .map(|c| channel_to_proto(c) as i32)
                    .unwrap_or_default(),
                opd_code: row.opd_code.unwrap_or_default(),
                submitted_at: Some(timestamp(row.submitted_at)),
                routed_at: row.routed_at.map(timestamp),
                overdue: is_overdue(status, row.due_at, self.ctx.clock.now()),
                due_at: row.due_at.map(timestamp),
                anonymous: row.anonymous,
                confidential: row.confidential,
                answer: row.answer.unwrap_or_default(),
                follow_up_plan: row.follow_up_plan.unwrap_or_default(),
                follow_up_by: row.follow_up_by.map(timestamp),
                resolution_note: row.resolution_note.unwrap_or_default(),
                version: row.version,
                history,
                contact_status: contact_status as i32,
                contact,
            }),
        })
    }

    /// Answering's own events on the question, oldest first.
    async fn history(&self, id: &QuestionId) -> Result<Vec<HistoryEntry>, ApiError> {
        let events = self.ctx.store.read_stream(&id.to_string()).await?;
        Ok(events
            .into_iter()
            .map(|e| {
                let (opd_code, summary) = match AnyEvent::decode(&e.event_type, &e.payload) {
                    Ok(decoded) => summarise(decoded),
                    Err(_) => (String::new(), String::new()),
                };
                HistoryEntry {
                    event_type: e.event_type,
                    at: Some(timestamp(e.occurred_at)),
                    opd_code,
                    summary,
                }
            })
            .collect())
    }
}

/// Open and past its due date.
pub(crate) fn is_overdue(
    status: Option<QuestionStatus>,
    due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    status.is_some_and(QuestionStatus::is_open) && due.is_some_and(|d| d < now)
}

/// The acting OPD and a one-line summary of one of answering's events.
fn summarise(event: AnyEvent) -> (String, String) {
    match event {
        AnyEvent::QuestionAcknowledged(ev::QuestionAcknowledged {
            opd_code, staff_name, ..
        }) => {
            let summary = if staff_name.is_empty() {
                "acknowledged".to_owned()
            } else {
                format!("acknowledged by {staff_name}")
            };
            (opd_code, summary)
        }
        AnyEvent::QuestionAnswered(e) => (
            e.opd_code,
            format!("{} ({}): {}", e.responder_name, e.responder_position, e.answer),
        ),
        AnyEvent::FollowUpPlanned(e) => (e.opd_code, format!("follow-up: {}", e.plan)),
        AnyEvent::QuestionResolved(e) => (e.opd_code, format!("resolved: {}", e.note)),
        AnyEvent::AssignmentRejected(e) => (e.opd_code, format!("rejected: {}", e.reason)),
        other => (String::new(), other.name().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_questions_past_due_are_overdue() {
        let now = Utc::now();
        let past = Some(now - chrono::Duration::hours(1));
        assert!(is_overdue(Some(QuestionStatus::Routed), past, now));
        assert!(!is_overdue(Some(QuestionStatus::Answered), past, now));
        assert!(!is_overdue(
            Some(QuestionStatus::Routed),
            Some(now + chrono::Duration::hours(1)),
            now
        ));
        assert!(!is_overdue(Some(QuestionStatus::Routed), None, now));
    }
}

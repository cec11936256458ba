//! What the citizen's own actions share: finding a question by ticket and PIN (with
//! the row locked for the change), and appending one of intake's question events with
//! its tracking-view update in the same transaction.

use chrono::{DateTime, Utc};
use kenduren_domain::{QuestionStatus, Ticket};
use kenduren_proto::EventMessage;
use kenduren_runtime::{new_event, ApiError};
use kenduren_store::ExpectedVersion;
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

use crate::{api::Intake, submit::pin_hash};

/// The one answer for an unknown ticket and for a wrong PIN, so tickets cannot be probed.
pub(crate) const NOT_FOUND: &str = "no question with this ticket and PIN";

/// A question in the tracking view, locked until the transaction ends.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Located {
    pub(crate) question_id: Uuid,
    pub(crate) status: String,
    pub(crate) opd_code: Option<String>,
    pub(crate) last_cause: Option<Uuid>,
    pub(crate) answered_at: Option<DateTime<Utc>>,
    pub(crate) rated: bool,
    #[sqlx(skip)]
    pub(crate) parsed: Option<QuestionStatus>,
}

impl Located {
    /// The current status.
    pub(crate) fn status(&self) -> Result<QuestionStatus, ApiError> {
        self.parsed.ok_or_else(|| {
            ApiError::Internal(format!("unknown status {:?} in the tracking view", self.status))
        })
    }
}

/// Finds and locks the question for `ticket` if `pin` is its PIN.
pub(crate) async fn locate(conn: &mut PgConnection, ticket: &str, pin: &str) -> Result<Located, ApiError> {
    let not_found = || ApiError::NotFound(NOT_FOUND.into());
    let ticket = Ticket::parse(ticket).map_err(|_| not_found())?;
    let row: Option<(Vec<u8>, Uuid)> =
        sqlx::query_as("SELECT pin_hash, question_id FROM questions WHERE ticket = $1")
            .bind(ticket.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let Some((stored, question_id)) = row else {
        return Err(not_found());
    };
    if pin_hash(question_id, pin) != stored {
        return Err(not_found());
    }
    let mut located: Located = sqlx::query_as(
        "SELECT question_id, status, opd_code, last_cause, answered_at, rated
         FROM questions WHERE question_id = $1 FOR UPDATE",
    )
    .bind(question_id)
    .fetch_one(&mut *conn)
    .await?;
    located.parsed = QuestionStatus::parse(&located.status);
    Ok(located)
}

impl Intake {
    /// Appends `message` to the question's stream on the subject of its assigned OPD
    /// (or `unassigned`), caused by the last foreign event the view applied, and adds
    /// the timeline entry. The caller updates the rest of the view in `tx`.
    pub(crate) async fn append_question_event<M: EventMessage>(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        question: &Located,
        message: &M,
        summary: &str,
    ) -> Result<(), ApiError> {
        let stream_id = question.question_id.to_string();
        let subject = self.ctx.subjects.question(question.opd_code.as_deref(), M::NAME);
        let event = new_event(message, subject, question.last_cause, self.ctx.clock.now());
        let (event_id, at) = (event.event_id, event.occurred_at);
        // The row lock serialises intake's writers of this question, so the version
        // read here is the one to expect.
        let version = self.ctx.store.stream_version(&mut *tx, &stream_id).await?;
        self.ctx
            .store
            .append(&mut *tx, &stream_id, ExpectedVersion::Exact(version), vec![event])
            .await?;
        sqlx::query(
            "INSERT INTO timeline (question_id, event_id, event_type, at, summary) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(question.question_id)
        .bind(event_id)
        .bind(M::TYPE.rsplit('.').next().unwrap_or_default())
        .bind(at)
        .bind(summary)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

//! The one path every answering write takes: load the question for update, check
//! that it is the acting OPD's, that the caller saw the current version and that the
//! lifecycle allows the transition; then append the event and update the inbox row
//! in the same transaction.

use chrono::{DateTime, Utc};
use kenduren_domain::{QuestionStatus, Transition};
use kenduren_proto::EventMessage;
use kenduren_runtime::{new_event, ApiError};
use kenduren_store::ExpectedVersion;
use uuid::Uuid;

use crate::{api::Answering, check::Target};

/// What a write changes on the inbox row besides status and version.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowChange {
    pub answer: Option<String>,
    pub follow_up_plan: Option<String>,
    pub follow_up_by: Option<DateTime<Utc>>,
    pub resolution_note: Option<String>,
    /// The question leaves this OPD (a rejected assignment): routing assigns it anew.
    pub unassign: bool,
}

impl Answering {
    /// Applies `transition` to the target question by appending `event`; returns the
    /// question's new version.
    pub(crate) async fn write<M: EventMessage>(
        &self,
        target: &Target,
        expected_version: Option<i64>,
        transition: Transition,
        event: &M,
        change: RowChange,
    ) -> Result<i64, ApiError> {
        let Target { id, opd } = target;
        let mut tx = self.ctx.pool.begin().await?;
        let row: Option<(String, i64, Option<Uuid>)> = sqlx::query_as(
            "SELECT status, version, last_cause FROM questions WHERE question_id = $1 AND opd_code = $2 FOR UPDATE",
        )
        .bind(id.as_uuid())
        .bind(opd.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        // Another OPD's question looks exactly like a missing one.
        let Some((status, version, cause)) = row else {
            return Err(ApiError::NotFound(format!(
                "question {id} is not in {opd}'s inbox"
            )));
        };
        if let Some(expected) = expected_version {
            if expected != version {
                return Err(ApiError::Aborted(format!(
                    "question {id} changed: expected version {expected}, current version {version}; reload and try again"
                )));
            }
        }
        let status = QuestionStatus::parse(&status)
            .ok_or_else(|| ApiError::Internal(format!("stored status {status:?}")))?;
        let next = status.apply(transition)?;

        let stream = id.to_string();
        let stream_version = self.ctx.store.stream_version(&mut tx, &stream).await?;
        let subject = self.ctx.subjects.question(Some(opd.as_str()), M::NAME);
        self.ctx
            .store
            .append(
                &mut tx,
                &stream,
                ExpectedVersion::Exact(stream_version),
                vec![new_event(event, subject, cause, self.ctx.clock.now())],
            )
            .await?;
        let (new_version,): (i64,) = sqlx::query_as(
            "UPDATE questions SET status = $2, version = version + 1,
                    answer = COALESCE($3, answer),
                    follow_up_plan = COALESCE($4, follow_up_plan),
                    follow_up_by = COALESCE($5, follow_up_by),
                    resolution_note = COALESCE($6, resolution_note),
                    opd_code = CASE WHEN $7 THEN NULL ELSE opd_code END,
                    due_at = CASE WHEN $7 THEN NULL ELSE due_at END,
                    routed_at = CASE WHEN $7 THEN NULL ELSE routed_at END
             WHERE question_id = $1 RETURNING version",
        )
        .bind(id.as_uuid())
        .bind(next.as_str())
        .bind(change.answer)
        .bind(change.follow_up_plan)
        .bind(change.follow_up_by)
        .bind(change.resolution_note)
        .bind(change.unassign)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(new_version)
    }
}

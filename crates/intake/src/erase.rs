//! `EraseCitizen` (admin): destroys a citizen's identity for good by deleting the key
//! that seals it; the question, its timeline and its figures stay, and a
//! `CitizenErased` event records who erased it and why.

use kenduren_domain::{QuestionStatus, Ticket};
use kenduren_proto::{
    events::v1 as ev,
    intake::v1::{EraseCitizenRequest, EraseCitizenResponse},
};
use kenduren_runtime::{timestamp, ApiError};

use crate::{api::Intake, citizen::Located, withdraw::note_violation};

impl Intake {
    pub(crate) async fn erase(
        &self,
        actor: &str,
        req: EraseCitizenRequest,
    ) -> Result<EraseCitizenResponse, ApiError> {
        if let Some(bad) = note_violation("reason", &req.reason) {
            return Err(ApiError::InvalidArgument(vec![bad]));
        }
        let not_found = || ApiError::NotFound(format!("no question with ticket {:?}", req.ticket));
        let ticket = Ticket::parse(&req.ticket).map_err(|_| not_found())?;
        let mut tx = self.ctx.pool.begin().await?;
        let located: Option<Located> = sqlx::query_as(
            "SELECT question_id, status, opd_code, last_cause, answered_at, rated
             FROM questions WHERE ticket = $1 FOR UPDATE",
        )
        .bind(ticket.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let mut question = located.ok_or_else(not_found)?;
        question.parsed = QuestionStatus::parse(&question.status);
        tracing::Span::current().record("question_id", tracing::field::display(question.question_id));

        let now = self.ctx.clock.now();
        let destroyed = sqlx::query("DELETE FROM citizen_keys WHERE question_id = $1")
            .bind(question.question_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // The ciphertext goes too: without its key it is noise, but noise need not be kept.
        sqlx::query("UPDATE sealed_contacts SET sealed = NULL, erased_at = $2 WHERE question_id = $1 AND erased_at IS NULL")
            .bind(question.question_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let response = |erased| EraseCitizenResponse {
            question_id: question.question_id.to_string(),
            erased_at: Some(timestamp(now)),
            erased,
        };
        if destroyed == 0 {
            // Nothing left to erase: answer the same, write nothing.
            tx.commit().await?;
            return Ok(response(false));
        }
        let event = ev::CitizenErased {
            question_id: question.question_id.to_string(),
            actor: actor.to_owned(),
            reason: req.reason.trim().to_owned(),
            erased_at: Some(timestamp(now)),
        };
        self.append_question_event(&mut tx, &question, &event, "Identitas warga dihapus")
            .await?;
        tx.commit().await?;
        tracing::info!(question_id = %question.question_id, "citizen identity erased");
        Ok(response(true))
    }
}

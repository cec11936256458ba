//! `WithdrawQuestion`: the citizen takes a question back before it is answered.

use kenduren_domain::{FieldViolation, Transition};
use kenduren_proto::{
    events::v1 as ev,
    intake::v1::{WithdrawQuestionRequest, WithdrawQuestionResponse},
};
use kenduren_runtime::{convert::status_to_proto, timestamp, ApiError};

use crate::{api::Intake, citizen::locate};

/// Longest withdrawal reason or rating comment, in characters.
pub(crate) const MAX_NOTE_CHARS: usize = 1000;

/// A note (reason or comment) that is too long, as a field violation.
pub(crate) fn note_violation(field: &str, note: &str) -> Option<FieldViolation> {
    let chars = note.trim().chars().count();
    (chars > MAX_NOTE_CHARS).then(|| FieldViolation {
        field: field.to_owned(),
        description: format!("paling banyak {MAX_NOTE_CHARS} karakter (sekarang {chars})"),
    })
}

impl Intake {
    pub(crate) async fn withdraw(
        &self,
        req: WithdrawQuestionRequest,
    ) -> Result<WithdrawQuestionResponse, ApiError> {
        if let Some(bad) = note_violation("reason", &req.reason) {
            return Err(ApiError::InvalidArgument(vec![bad]));
        }
        let mut tx = self.ctx.pool.begin().await?;
        let question = locate(&mut tx, &req.ticket, &req.tracking_pin).await?;
        tracing::Span::current().record("question_id", tracing::field::display(question.question_id));
        let next = question.status()?.apply(Transition::Withdraw)?;
        let event = ev::QuestionWithdrawn {
            question_id: question.question_id.to_string(),
            reason: req.reason.trim().to_owned(),
            withdrawn_at: Some(timestamp(self.ctx.clock.now())),
        };
        self.append_question_event(&mut tx, &question, &event, "Ditarik oleh warga")
            .await?;
        sqlx::query("UPDATE questions SET status = $2, updated_at = now() WHERE question_id = $1")
            .bind(question.question_id)
            .bind(next.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(WithdrawQuestionResponse {
            question_id: question.question_id.to_string(),
            status: status_to_proto(next) as i32,
        })
    }
}

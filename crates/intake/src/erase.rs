//! `EraseCitizen` (admin): destroys a citizen's identity for good by deleting the key
//! that seals it. The key is the citizen's, so every ticket of theirs loses its identity,
//! not only the one named; the questions, their timelines and their figures stay, and a
//! `CitizenErased` event on each of those questions records who erased it and why.

use kenduren_domain::{QuestionStatus, Ticket};
use kenduren_proto::{
    events::v1 as ev,
    intake::v1::{EraseCitizenRequest, EraseCitizenResponse},
};
use kenduren_runtime::{timestamp, ApiError};
use uuid::Uuid;

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
        let row: Option<(Uuid, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT q.question_id, c.citizen_ref
             FROM questions q LEFT JOIN sealed_contacts c USING (question_id)
             WHERE q.ticket = $1",
        )
        .bind(ticket.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let (question_id, citizen) = row.ok_or_else(not_found)?;
        tracing::Span::current().record("question_id", tracing::field::display(question_id));

        let now = self.ctx.clock.now();
        let response = |erased| EraseCitizenResponse {
            question_id: question_id.to_string(),
            erased_at: Some(timestamp(now)),
            erased,
        };
        // No contact given, or erased before: answer the same, write nothing.
        let Some(citizen) = citizen else {
            return Ok(response(false));
        };
        // The key row is locked first: two erasures of one citizen through different
        // tickets queue here, and a submission of the citizen still holding the key
        // commits first, so its contact is erased too.
        let key: Option<(i32,)> =
            sqlx::query_as("SELECT 1 FROM citizen_keys WHERE citizen_ref = $1 FOR UPDATE")
                .bind(&citizen)
                .fetch_optional(&mut *tx)
                .await?;
        if key.is_none() {
            return Ok(response(false));
        }
        // The ciphertext goes too: without its key it is noise, but noise need not be
        // kept; the reference goes so the erased tickets cannot be linked to each other.
        let mut erased: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE sealed_contacts SET sealed = NULL, citizen_ref = NULL, erased_at = $2
             WHERE citizen_ref = $1 RETURNING question_id",
        )
        .bind(&citizen)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM citizen_keys WHERE citizen_ref = $1")
            .bind(&citizen)
            .execute(&mut *tx)
            .await?;
        // One lock order for the question rows, whatever ticket was named.
        erased.sort_unstable();
        let event = |id: Uuid| ev::CitizenErased {
            question_id: id.to_string(),
            actor: actor.to_owned(),
            reason: req.reason.trim().to_owned(),
            erased_at: Some(timestamp(now)),
        };
        for id in &erased {
            let mut question: Located = sqlx::query_as(
                "SELECT question_id, status, opd_code, last_cause, answered_at, rated
                 FROM questions WHERE question_id = $1 FOR UPDATE",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            question.parsed = QuestionStatus::parse(&question.status);
            self.append_question_event(&mut tx, &question, &event(*id), "Identitas warga dihapus")
                .await?;
        }
        tx.commit().await?;
        tracing::info!(%question_id, tickets = erased.len(), "citizen identity erased");
        Ok(response(true))
    }
}

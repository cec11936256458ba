//! `AnswerQuestion`: only the assigned OPD, only when the lifecycle allows, and
//! never over someone else's newer change.

use chrono::Utc;
use kenduren_domain::{OpdCode, QuestionId, QuestionStatus, Transition};
use kenduren_proto::{
    answering::v1::{AnswerQuestionRequest, AnswerQuestionResponse},
    events::v1 as ev,
};
use kenduren_runtime::{new_event, timestamp, ApiError};
use kenduren_store::ExpectedVersion;
use uuid::Uuid;

use crate::api::Answering;

const MAX_ANSWER_CHARS: usize = 8000;

impl Answering {
    pub(crate) async fn answer(
        &self,
        req: AnswerQuestionRequest,
    ) -> Result<AnswerQuestionResponse, ApiError> {
        let mut bad = Vec::new();
        let id = QuestionId::parse(&req.question_id);
        if let Err(e) = &id {
            bad.push(kenduren_domain::FieldViolation {
                field: "question_id".into(),
                description: e.to_string(),
            });
        }
        let opd = OpdCode::parse(&req.opd_code);
        if let Err(e) = &opd {
            bad.push(kenduren_domain::FieldViolation {
                field: "opd_code".into(),
                description: e.to_string(),
            });
        }
        let text = req.answer.trim();
        let chars = text.chars().count();
        if chars == 0 || chars > MAX_ANSWER_CHARS {
            bad.push(kenduren_domain::FieldViolation {
                field: "answer".into(),
                description: format!("the answer must have 1–{MAX_ANSWER_CHARS} characters"),
            });
        }
        if req.responder_name.trim().is_empty() {
            bad.push(kenduren_domain::FieldViolation {
                field: "responder_name".into(),
                description: "say who answers (name of the responder)".into(),
            });
        }
        let (Ok(id), Ok(opd), true) = (id, opd, bad.is_empty()) else {
            return Err(ApiError::InvalidArgument(bad));
        };

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
        if let Some(expected) = req.expected_version {
            if expected != version {
                return Err(ApiError::Aborted(format!(
                    "question {id} changed: expected version {expected}, current version {version}; reload and try again"
                )));
            }
        }
        let status = QuestionStatus::parse(&status)
            .ok_or_else(|| ApiError::Internal(format!("stored status {status:?}")))?;
        let next = status.apply(Transition::Answer)?;

        let now = Utc::now();
        let answered = ev::QuestionAnswered {
            question_id: id.to_string(),
            opd_code: opd.to_string(),
            answer: text.to_owned(),
            responder_name: req.responder_name.trim().to_owned(),
            responder_position: req.responder_position.trim().to_owned(),
            attachments: req.attachments.clone(),
            answered_at: Some(timestamp(now)),
        };
        let stream = id.to_string();
        let stream_version = self.ctx.store.stream_version(&mut tx, &stream).await?;
        let subject = self.ctx.subjects.question(Some(opd.as_str()), "answered");
        self.ctx
            .store
            .append(
                &mut tx,
                &stream,
                ExpectedVersion::Exact(stream_version),
                vec![new_event(&answered, subject, cause)],
            )
            .await?;
        let (new_version,): (i64,) = sqlx::query_as(
            "UPDATE questions SET status = $2, answer = $3, version = version + 1 WHERE question_id = $1 RETURNING version",
        )
        .bind(id.as_uuid())
        .bind(next.as_str())
        .bind(text)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AnswerQuestionResponse { version: new_version })
    }
}

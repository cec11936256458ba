//! `AnswerQuestion`: only the assigned OPD, only when the lifecycle allows, and
//! never over someone else's newer change.

use kenduren_domain::Transition;
use kenduren_proto::{
    answering::v1::{AnswerQuestionRequest, AnswerQuestionResponse},
    events::v1 as ev,
};
use kenduren_runtime::{timestamp, ApiError};

use crate::{api::Answering, check::Check, write::RowChange};

const MAX_ANSWER_CHARS: usize = 8000;
const MAX_NAME_CHARS: usize = 200;
const MAX_ATTACHMENTS: usize = 20;

impl Answering {
    pub(crate) async fn answer(
        &self,
        req: AnswerQuestionRequest,
    ) -> Result<AnswerQuestionResponse, ApiError> {
        let mut c = Check::default();
        let target = c.target(&req.question_id, &req.opd_code);
        let text = c.text("answer", &req.answer, 1, MAX_ANSWER_CHARS);
        let responder = c.text("responder_name", &req.responder_name, 1, MAX_NAME_CHARS);
        let position = c.text("responder_position", &req.responder_position, 0, MAX_NAME_CHARS);
        if req.attachments.len() > MAX_ATTACHMENTS
            || req
                .attachments
                .iter()
                .any(|a| a.trim().is_empty() || a.len() > 2000)
        {
            c.fail(
                "attachments",
                format!("at most {MAX_ATTACHMENTS} non-empty references of up to 2000 bytes"),
            );
        }
        let target = c.done(target)?;
        let answered = ev::QuestionAnswered {
            question_id: target.id.to_string(),
            opd_code: target.opd.to_string(),
            answer: text.to_owned(),
            responder_name: responder.to_owned(),
            responder_position: position.to_owned(),
            attachments: req.attachments.clone(),
            answered_at: Some(timestamp(self.ctx.clock.now())),
        };
        let change = RowChange {
            answer: Some(text.to_owned()),
            ..Default::default()
        };
        let version = self
            .write(
                &target,
                req.expected_version,
                Transition::Answer,
                &answered,
                change,
            )
            .await?;
        Ok(AnswerQuestionResponse { version })
    }
}

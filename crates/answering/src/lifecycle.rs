//! `AcknowledgeQuestion`, `PlanFollowUp`, `ResolveQuestion` and `RejectAssignment`:
//! each validates its request, builds its event and goes through [`Answering::write`].

use kenduren_domain::Transition;
use kenduren_proto::{
    answering::v1::{
        AcknowledgeQuestionRequest, AcknowledgeQuestionResponse, PlanFollowUpRequest, PlanFollowUpResponse,
        RejectAssignmentRequest, RejectAssignmentResponse, ResolveQuestionRequest, ResolveQuestionResponse,
    },
    events::v1 as ev,
};
use kenduren_runtime::{timestamp, to_datetime, ApiError};

use crate::{api::Answering, check::Check, write::RowChange};

const MAX_NAME_CHARS: usize = 200;
const MAX_TEXT_CHARS: usize = 4000;

impl Answering {
    pub(crate) async fn acknowledge(
        &self,
        req: AcknowledgeQuestionRequest,
    ) -> Result<AcknowledgeQuestionResponse, ApiError> {
        let mut c = Check::default();
        let target = c.target(&req.question_id, &req.opd_code);
        let staff = c.text("staff_name", &req.staff_name, 0, MAX_NAME_CHARS);
        let target = c.done(target)?;
        let event = ev::QuestionAcknowledged {
            question_id: target.id.to_string(),
            opd_code: target.opd.to_string(),
            staff_name: staff.to_owned(),
            acknowledged_at: Some(timestamp(self.ctx.clock.now())),
        };
        let version = self
            .write(
                &target,
                req.expected_version,
                Transition::Acknowledge,
                &event,
                RowChange::default(),
            )
            .await?;
        Ok(AcknowledgeQuestionResponse { version })
    }

    pub(crate) async fn plan_follow_up(
        &self,
        req: PlanFollowUpRequest,
    ) -> Result<PlanFollowUpResponse, ApiError> {
        let mut c = Check::default();
        let target = c.target(&req.question_id, &req.opd_code);
        let plan = c.text("plan", &req.plan, 1, MAX_TEXT_CHARS);
        let now = self.ctx.clock.now();
        let by = match req.planned_by.as_ref().map(to_datetime) {
            None => {
                c.fail("planned_by", "say by when the follow-up will be done");
                None
            }
            Some(None) => {
                c.fail("planned_by", "not a valid timestamp");
                None
            }
            Some(Some(by)) if by <= now => {
                c.fail("planned_by", "must be in the future");
                None
            }
            Some(Some(by)) => Some(by),
        };
        let target = c.done(target)?;
        let by = by.ok_or_else(|| ApiError::Internal("planned_by checked above".into()))?;
        let event = ev::FollowUpPlanned {
            question_id: target.id.to_string(),
            opd_code: target.opd.to_string(),
            plan: plan.to_owned(),
            planned_by: Some(timestamp(by)),
            planned_at: Some(timestamp(now)),
        };
        let change = RowChange {
            follow_up_plan: Some(plan.to_owned()),
            follow_up_by: Some(by),
            ..Default::default()
        };
        let version = self
            .write(
                &target,
                req.expected_version,
                Transition::PlanFollowUp,
                &event,
                change,
            )
            .await?;
        Ok(PlanFollowUpResponse { version })
    }

    pub(crate) async fn resolve(
        &self,
        req: ResolveQuestionRequest,
    ) -> Result<ResolveQuestionResponse, ApiError> {
        let mut c = Check::default();
        let target = c.target(&req.question_id, &req.opd_code);
        let note = c.text("note", &req.note, 0, MAX_TEXT_CHARS);
        let target = c.done(target)?;
        let event = ev::QuestionResolved {
            question_id: target.id.to_string(),
            opd_code: target.opd.to_string(),
            note: note.to_owned(),
            resolved_at: Some(timestamp(self.ctx.clock.now())),
        };
        let change = RowChange {
            resolution_note: Some(note.to_owned()),
            ..Default::default()
        };
        let version = self
            .write(&target, req.expected_version, Transition::Resolve, &event, change)
            .await?;
        Ok(ResolveQuestionResponse { version })
    }

    pub(crate) async fn reject(
        &self,
        req: RejectAssignmentRequest,
    ) -> Result<RejectAssignmentResponse, ApiError> {
        let mut c = Check::default();
        let target = c.target(&req.question_id, &req.opd_code);
        let reason = c.text("reason", &req.reason, 1, MAX_TEXT_CHARS);
        let target = c.done(target)?;
        let event = ev::AssignmentRejected {
            question_id: target.id.to_string(),
            opd_code: target.opd.to_string(),
            reason: reason.to_owned(),
            rejected_at: Some(timestamp(self.ctx.clock.now())),
        };
        // The question leaves this OPD's inbox now; routing's next event assigns it anew.
        let change = RowChange {
            unassign: true,
            ..Default::default()
        };
        let version = self
            .write(
                &target,
                req.expected_version,
                Transition::RejectAssignment,
                &event,
                change,
            )
            .await?;
        Ok(RejectAssignmentResponse { version })
    }
}

//! `AnsweringService`'s RPC handlers: who may call (roles, OPD confinement), then one
//! capability module each.

use kenduren_auth::{authorize, Role};
use kenduren_domain::OpdCode;
use kenduren_proto::answering::v1::{
    answering_service_server::AnsweringService, AcknowledgeQuestionRequest, AcknowledgeQuestionResponse,
    AnswerQuestionRequest, AnswerQuestionResponse, GetQuestionRequest, GetQuestionResponse, ListInboxRequest,
    ListInboxResponse, ListTemplatesRequest, ListTemplatesResponse, PlanFollowUpRequest,
    PlanFollowUpResponse, RejectAssignmentRequest, RejectAssignmentResponse, ResolveQuestionRequest,
    ResolveQuestionResponse, UpsertTemplateRequest, UpsertTemplateResponse,
};
use kenduren_runtime::{ApiError, ServiceContext};
use tonic::{Request, Response, Status};

use crate::{contact::IntakeContacts, question::Reader};

/// The answering API over its service context.
#[derive(Debug, Clone)]
pub struct Answering {
    pub(crate) ctx: ServiceContext,
    pub(crate) contacts: IntakeContacts,
}

impl Answering {
    /// An API bound to the service's store; citizens' contacts are "unavailable".
    pub fn new(ctx: ServiceContext) -> Self {
        Self::with_contacts(ctx, IntakeContacts::disabled())
    }

    /// An API that fetches citizens' contacts from intake with `contacts`.
    pub fn with_contacts(ctx: ServiceContext, contacts: IntakeContacts) -> Self {
        Self { ctx, contacts }
    }
}

/// The OPD a write acts for: the OPD token's own. Naming another OPD looks exactly like
/// a question that is not there.
fn acting_opd<T>(request: &Request<T>, requested: &str, question_id: &str) -> Result<String, Status> {
    let caller = authorize(request, "opd:<CODE>", |r| matches!(r, Role::Opd(_)))?;
    let own = caller
        .role
        .opd()
        .ok_or_else(|| ApiError::FailedPrecondition("only an OPD token can write answers".into()))?;
    if !requested.is_empty() && requested != own.as_str() {
        return Err(ApiError::NotFound(format!("question {question_id} is not in {own}'s inbox")).into());
    }
    Ok(own.to_string())
}

/// The OPD whose list (inbox, templates) is read: an OPD token reads only its own
/// (another is PERMISSION_DENIED), an admin names any.
fn listed_opd<T>(request: &Request<T>, requested: &str) -> Result<String, Status> {
    let caller = authorize(request, "opd:<CODE>, admin", |r| {
        matches!(r, Role::Opd(_) | Role::Admin)
    })?;
    match caller.role.opd() {
        Some(own) if requested.is_empty() || requested == own.as_str() => Ok(own.to_string()),
        Some(own) => Err(Status::permission_denied(format!("{own} may list only its own"))),
        None => Ok(requested.to_owned()),
    }
}

#[tonic::async_trait]
impl AnsweringService for Answering {
    #[tracing::instrument(skip_all, fields(rpc.method = "ListInbox", opd_code = %kenduren_runtime::logged(&request.get_ref().opd_code)), err(level = "info"))]
    async fn list_inbox(
        &self,
        request: Request<ListInboxRequest>,
    ) -> Result<Response<ListInboxResponse>, Status> {
        let opd_code = listed_opd(&request, &request.get_ref().opd_code)?;
        let req = ListInboxRequest {
            opd_code,
            ..request.into_inner()
        };
        Ok(Response::new(self.inbox(req).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "GetQuestion", question_id = %kenduren_runtime::logged(&request.get_ref().question_id)), err(level = "info"))]
    async fn get_question(
        &self,
        request: Request<GetQuestionRequest>,
    ) -> Result<Response<GetQuestionResponse>, Status> {
        let caller = authorize(&request, "opd:<CODE>, admin", |r| {
            matches!(r, Role::Opd(_) | Role::Admin)
        })?;
        let req = request.into_inner();
        let reader = match caller.role.opd() {
            // Naming another OPD looks exactly like a question that is not there.
            Some(own) if !req.opd_code.is_empty() && req.opd_code != own.as_str() => {
                return Err(ApiError::NotFound(format!("question {} not found", req.question_id)).into())
            }
            Some(own) => Reader::Opd(own.clone()),
            None => Reader::Admin,
        };
        Ok(Response::new(self.get_question(&req.question_id, reader).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "AcknowledgeQuestion", question_id = %kenduren_runtime::logged(&request.get_ref().question_id)), err(level = "info"))]
    async fn acknowledge_question(
        &self,
        request: Request<AcknowledgeQuestionRequest>,
    ) -> Result<Response<AcknowledgeQuestionResponse>, Status> {
        let r = request.get_ref();
        let opd_code = acting_opd(&request, &r.opd_code, &r.question_id)?;
        let req = AcknowledgeQuestionRequest {
            opd_code,
            ..request.into_inner()
        };
        Ok(Response::new(self.acknowledge(req).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "AnswerQuestion", question_id = %kenduren_runtime::logged(&request.get_ref().question_id)), err(level = "info"))]
    async fn answer_question(
        &self,
        request: Request<AnswerQuestionRequest>,
    ) -> Result<Response<AnswerQuestionResponse>, Status> {
        let r = request.get_ref();
        let opd_code = acting_opd(&request, &r.opd_code, &r.question_id)?;
        let req = AnswerQuestionRequest {
            opd_code,
            ..request.into_inner()
        };
        Ok(Response::new(self.answer(req).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "PlanFollowUp", question_id = %kenduren_runtime::logged(&request.get_ref().question_id)), err(level = "info"))]
    async fn plan_follow_up(
        &self,
        request: Request<PlanFollowUpRequest>,
    ) -> Result<Response<PlanFollowUpResponse>, Status> {
        let r = request.get_ref();
        let opd_code = acting_opd(&request, &r.opd_code, &r.question_id)?;
        let req = PlanFollowUpRequest {
            opd_code,
            ..request.into_inner()
        };
        Ok(Response::new(self.plan_follow_up(req).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "ResolveQuestion", question_id = %kenduren_runtime::logged(&request.get_ref().question_id)), err(level = "info"))]
    async fn resolve_question(
        &self,
        request: Request<ResolveQuestionRequest>,
    ) -> Result<Response<ResolveQuestionResponse>, Status> {
        let r = request.get_ref();
        let opd_code = acting_opd(&request, &r.opd_code, &r.question_id)?;
        let req = ResolveQuestionRequest {
            opd_code,
            ..request.into_inner()
        };
        Ok(Response::new(self.resolve(req).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "RejectAssignment", question_id = %kenduren_runtime::logged(&request.get_ref().question_id)), err(level = "info"))]
    async fn reject_assignment(
        &self,
        request: Request<RejectAssignmentRequest>,
    ) -> Result<Response<RejectAssignmentResponse>, Status> {
        let r = request.get_ref();
        let opd_code = acting_opd(&request, &r.opd_code, &r.question_id)?;
        let req = RejectAssignmentRequest {
            opd_code,
            ..request.into_inner()
        };
        Ok(Response::new(self.reject(req).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "ListTemplates", opd_code = %kenduren_runtime::logged(&request.get_ref().opd_code)), err(level = "info"))]
    async fn list_templates(
        &self,
        request: Request<ListTemplatesRequest>,
    ) -> Result<Response<ListTemplatesResponse>, Status> {
        let opd_code = listed_opd(&request, &request.get_ref().opd_code)?;
        let req = ListTemplatesRequest {
            opd_code,
            ..request.into_inner()
        };
        Ok(Response::new(self.list_templates(req).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "UpsertTemplate", opd_code = %kenduren_runtime::logged(&request.get_ref().opd_code)), err(level = "info"))]
    async fn upsert_template(
        &self,
        request: Request<UpsertTemplateRequest>,
    ) -> Result<Response<UpsertTemplateResponse>, Status> {
        let caller = authorize(&request, "opd:<CODE>", |r| matches!(r, Role::Opd(_)))?;
        let own: OpdCode = caller
            .role
            .opd()
            .cloned()
            .ok_or_else(|| Status::permission_denied("only an OPD token can write templates"))?;
        let req = request.into_inner();
        if !req.opd_code.is_empty() && req.opd_code != own.as_str() {
            return Err(Status::permission_denied(format!(
                "{own} may write only its own templates"
            )));
        }
        let req = UpsertTemplateRequest {
            opd_code: own.to_string(),
            ..req
        };
        Ok(Response::new(self.upsert_template(req).await?))
    }
}

//! `IntakeService`'s RPC handlers: thin, each parses, calls the domain, stores, maps.

use std::sync::Arc;

use kenduren_auth::{authorize, Role};
use kenduren_domain::ReferenceData;
use kenduren_proto::intake::v1::{
    intake_service_server::IntakeService, CheckInOpdRequest, CheckInOpdResponse, EraseCitizenRequest,
    EraseCitizenResponse, GetCitizenContactRequest, GetCitizenContactResponse, GetSessionRequest,
    GetSessionResponse, ListSessionsRequest, ListSessionsResponse, RateAnswerRequest, RateAnswerResponse,
    ScheduleSessionRequest, ScheduleSessionResponse, SubmitQuestionRequest, SubmitQuestionResponse,
    TrackQuestionRequest, TrackQuestionResponse, WithdrawQuestionRequest, WithdrawQuestionResponse,
};
use kenduren_runtime::ServiceContext;
use tonic::{Request, Response, Status};

/// The intake API over its service context.
#[derive(Debug, Clone)]
pub struct Intake {
    pub(crate) ctx: ServiceContext,
    pub(crate) reference: Arc<ReferenceData>,
    /// Seals and opens citizens' contacts.
    pub(crate) vault: crate::vault::Vault,
}

impl Intake {
    /// An API bound to the service's store and the reference data.
    pub fn new(ctx: ServiceContext, reference: Arc<ReferenceData>, vault: crate::vault::Vault) -> Self {
        Self {
            ctx,
            reference,
            vault,
        }
    }
}

/// The citizen desk (and the channels acting for citizens) and admins use intake.
fn desk_or_admin(role: &Role) -> bool {
    matches!(role, Role::Desk | Role::Admin)
}

fn admin(role: &Role) -> bool {
    matches!(role, Role::Admin)
}

fn anyone(_: &Role) -> bool {
    true
}

/// The desk and admins check any OPD in; an OPD checks in only itself (narrowed below).
fn desk_admin_or_opd(role: &Role) -> bool {
    matches!(role, Role::Desk | Role::Admin | Role::Opd(_))
}

#[tonic::async_trait]
impl IntakeService for Intake {
    #[tracing::instrument(skip_all, fields(rpc.method = "SubmitQuestion", question_id), err(level = "info"))]
    async fn submit_question(
        &self,
        request: Request<SubmitQuestionRequest>,
    ) -> Result<Response<SubmitQuestionResponse>, Status> {
        authorize(&request, "desk, admin", desk_or_admin)?;
        let answer = self.submit(request.into_inner()).await?;
        tracing::Span::current().record("question_id", answer.question_id.as_str());
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "TrackQuestion"), err(level = "info"))]
    async fn track_question(
        &self,
        request: Request<TrackQuestionRequest>,
    ) -> Result<Response<TrackQuestionResponse>, Status> {
        authorize(&request, "desk, admin", desk_or_admin)?;
        Ok(Response::new(self.track(request.into_inner()).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "WithdrawQuestion", question_id), err(level = "info"))]
    async fn withdraw_question(
        &self,
        request: Request<WithdrawQuestionRequest>,
    ) -> Result<Response<WithdrawQuestionResponse>, Status> {
        authorize(&request, "desk, admin", desk_or_admin)?;
        Ok(Response::new(self.withdraw(request.into_inner()).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "RateAnswer", question_id), err(level = "info"))]
    async fn rate_answer(
        &self,
        request: Request<RateAnswerRequest>,
    ) -> Result<Response<RateAnswerResponse>, Status> {
        authorize(&request, "desk, admin", desk_or_admin)?;
        Ok(Response::new(self.rate(request.into_inner()).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "ScheduleSession", session_id), err(level = "info"))]
    async fn schedule_session(
        &self,
        request: Request<ScheduleSessionRequest>,
    ) -> Result<Response<ScheduleSessionResponse>, Status> {
        authorize(&request, "admin", admin)?;
        Ok(Response::new(self.schedule_session(request.into_inner()).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "ListSessions"), err(level = "info"))]
    async fn list_sessions(
        &self,
        request: Request<ListSessionsRequest>,
    ) -> Result<Response<ListSessionsResponse>, Status> {
        authorize(&request, "any role", anyone)?;
        Ok(Response::new(self.list_sessions(request.into_inner()).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "GetSession", session_id), err(level = "info"))]
    async fn get_session(
        &self,
        request: Request<GetSessionRequest>,
    ) -> Result<Response<GetSessionResponse>, Status> {
        authorize(&request, "any role", anyone)?;
        let req = request.into_inner();
        tracing::Span::current().record("session_id", req.session_id.as_str());
        Ok(Response::new(self.get_session(req).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "CheckInOpd", session_id, opd), err(level = "info"))]
    async fn check_in_opd(
        &self,
        request: Request<CheckInOpdRequest>,
    ) -> Result<Response<CheckInOpdResponse>, Status> {
        let caller = authorize(&request, "desk, admin, opd:<CODE> for itself", desk_admin_or_opd)?;
        let req = request.into_inner();
        let span = tracing::Span::current();
        span.record("session_id", req.session_id.as_str());
        span.record("opd", req.opd_code.as_str());
        if let Role::Opd(own) = &caller.role {
            if own.as_str() != req.opd_code.trim() {
                return Err(Status::permission_denied(format!(
                    "role {} may check in only {own}",
                    caller.role
                )));
            }
        }
        Ok(Response::new(self.check_in(req).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "GetCitizenContact", question_id = %kenduren_runtime::logged(&request.get_ref().question_id)), err(level = "info"))]
    async fn get_citizen_contact(
        &self,
        request: Request<GetCitizenContactRequest>,
    ) -> Result<Response<GetCitizenContactResponse>, Status> {
        authorize(&request, "service", |r| matches!(r, Role::Service))?;
        Ok(Response::new(self.contact(request.into_inner()).await?))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "EraseCitizen", question_id), err(level = "info"))]
    async fn erase_citizen(
        &self,
        request: Request<EraseCitizenRequest>,
    ) -> Result<Response<EraseCitizenResponse>, Status> {
        let caller = authorize(&request, "admin", |r| matches!(r, Role::Admin))?;
        Ok(Response::new(
            self.erase(&caller.subject, request.into_inner()).await?,
        ))
    }
}

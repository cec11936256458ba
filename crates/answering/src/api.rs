//! `AnsweringService`'s RPC handlers.

use kenduren_auth::{authorize, Role};
use kenduren_domain::OpdCode;
use kenduren_proto::answering::v1::{
    answering_service_server::AnsweringService, AnswerQuestionRequest, AnswerQuestionResponse,
    ListInboxRequest, ListInboxResponse,
};
use kenduren_runtime::{ApiError, ServiceContext};
use tonic::{Request, Response, Status};

/// The answering API over its service context.
#[derive(Debug, Clone)]
pub struct Answering {
    pub(crate) ctx: ServiceContext,
}

impl Answering {
    /// An API bound to the service's store.
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

/// The OPD an OPD token acts for.
fn acting_opd(role: &Role) -> Result<OpdCode, ApiError> {
    role.opd()
        .cloned()
        .ok_or_else(|| ApiError::FailedPrecondition("only an OPD token can write answers".into()))
}

#[tonic::async_trait]
impl AnsweringService for Answering {
    #[tracing::instrument(skip_all, fields(rpc.method = "ListInbox", opd_code = %request.get_ref().opd_code), err)]
    async fn list_inbox(
        &self,
        request: Request<ListInboxRequest>,
    ) -> Result<Response<ListInboxResponse>, Status> {
        let caller = authorize(&request, "opd:<CODE>, admin", |r| {
            matches!(r, Role::Opd(_) | Role::Admin)
        })?;
        let mut req = request.into_inner();
        if let Role::Opd(own) = &caller.role {
            if req.opd_code.is_empty() {
                req.opd_code = own.to_string();
            } else if req.opd_code != own.as_str() {
                return Err(Status::permission_denied(format!(
                    "{own} may list only its own inbox"
                )));
            }
        }
        Ok(Response::new(self.inbox(req).await?))
    }

    #[tracing::instrument(
        skip_all,
        fields(rpc.method = "AnswerQuestion", question_id = %request.get_ref().question_id, opd_code = %request.get_ref().opd_code),
        err
    )]
    async fn answer_question(
        &self,
        request: Request<AnswerQuestionRequest>,
    ) -> Result<Response<AnswerQuestionResponse>, Status> {
        let caller = authorize(&request, "opd:<CODE>", |r| matches!(r, Role::Opd(_)))?;
        let mut req = request.into_inner();
        let own = acting_opd(&caller.role)?;
        if !req.opd_code.is_empty() && req.opd_code != own.as_str() {
            // Acting for another OPD looks exactly like a question that is not there.
            return Err(
                ApiError::NotFound(format!("question {} is not in {own}'s inbox", req.question_id)).into(),
            );
        }
        req.opd_code = own.to_string();
        Ok(Response::new(self.answer(req).await?))
    }
}

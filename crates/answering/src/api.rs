//! `AnsweringService`'s RPC handlers.

use kenduren_proto::answering::v1::{
    answering_service_server::AnsweringService, AnswerQuestionRequest, AnswerQuestionResponse,
    ListInboxRequest, ListInboxResponse,
};
use kenduren_runtime::ServiceContext;
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

#[tonic::async_trait]
impl AnsweringService for Answering {
    #[tracing::instrument(skip_all, fields(rpc.method = "ListInbox", opd_code = %request.get_ref().opd_code), err)]
    async fn list_inbox(
        &self,
        request: Request<ListInboxRequest>,
    ) -> Result<Response<ListInboxResponse>, Status> {
        Ok(Response::new(self.inbox(request.into_inner()).await?))
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
        Ok(Response::new(self.answer(request.into_inner()).await?))
    }
}

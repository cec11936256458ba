//! `IntakeService`'s RPC handlers: thin, each parses, calls the domain, stores, maps.

use std::sync::Arc;

use kenduren_auth::{authorize, Role};
use kenduren_domain::ReferenceData;
use kenduren_proto::intake::v1::{
    intake_service_server::IntakeService, SubmitQuestionRequest, SubmitQuestionResponse,
    TrackQuestionRequest, TrackQuestionResponse,
};
use kenduren_runtime::ServiceContext;
use tonic::{Request, Response, Status};

/// The intake API over its service context.
#[derive(Debug, Clone)]
pub struct Intake {
    pub(crate) ctx: ServiceContext,
    pub(crate) reference: Arc<ReferenceData>,
}

impl Intake {
    /// An API bound to the service's store and the reference data.
    pub fn new(ctx: ServiceContext, reference: Arc<ReferenceData>) -> Self {
        Self { ctx, reference }
    }
}

/// The citizen desk (and the channels acting for citizens) and admins use intake.
fn desk_or_admin(role: &Role) -> bool {
    matches!(role, Role::Desk | Role::Admin)
}

#[tonic::async_trait]
impl IntakeService for Intake {
    #[tracing::instrument(skip_all, fields(rpc.method = "SubmitQuestion", question_id), err)]
    async fn submit_question(
        &self,
        request: Request<SubmitQuestionRequest>,
    ) -> Result<Response<SubmitQuestionResponse>, Status> {
        authorize(&request, "desk, admin", desk_or_admin)?;
        let answer = self.submit(request.into_inner()).await?;
        tracing::Span::current().record("question_id", answer.question_id.as_str());
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "TrackQuestion"), err)]
    async fn track_question(
        &self,
        request: Request<TrackQuestionRequest>,
    ) -> Result<Response<TrackQuestionResponse>, Status> {
        authorize(&request, "desk, admin", desk_or_admin)?;
        Ok(Response::new(self.track(request.into_inner()).await?))
    }
}

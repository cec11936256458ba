//! `RoutingService`'s RPC handlers: check the caller's role, then hand over to the
//! module that owns the capability.

use std::sync::Arc;

use kenduren_auth::{authorize, Principal, Role};
use kenduren_domain::ReferenceData;
use kenduren_proto::routing::v1::{self as pb, routing_service_server::RoutingService};
use kenduren_runtime::{to_datetime, ApiError, ServiceContext};
use tonic::{Request, Response, Status};

use crate::{directory, escalation, sla, triage};

/// The routing API over its service context.
#[derive(Debug, Clone)]
pub struct Routing {
    ctx: ServiceContext,
    reference: Arc<ReferenceData>,
}

impl Routing {
    /// An API bound to the service's store; `reference` validates categories and kecamatan in rules.
    pub fn new(ctx: ServiceContext, reference: Arc<ReferenceData>) -> Self {
        Self { ctx, reference }
    }
}

fn admin<T>(request: &Request<T>) -> Result<Principal, Status> {
    authorize(request, "admin", |r| matches!(r, Role::Admin))
}

type Reply<T> = Result<Response<T>, Status>;

fn ok<T>(result: Result<T, ApiError>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl RoutingService for Routing {
    #[tracing::instrument(skip_all, fields(rpc.method = "ListOpds"), err(level = "info"))]
    async fn list_opds(&self, _request: Request<pb::ListOpdsRequest>) -> Reply<pb::ListOpdsResponse> {
        ok(directory::list_opds(&self.ctx)
            .await
            .map(|opds| pb::ListOpdsResponse { opds }))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "UpsertOpd"), err(level = "info"))]
    async fn upsert_opd(&self, request: Request<pb::UpsertOpdRequest>) -> Reply<pb::UpsertOpdResponse> {
        let actor = admin(&request)?.subject;
        ok(directory::upsert_opd(&self.ctx, &actor, request.into_inner().opd).await)
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "ListRules"), err(level = "info"))]
    async fn list_rules(&self, _request: Request<pb::ListRulesRequest>) -> Reply<pb::ListRulesResponse> {
        ok(directory::list_rules(&self.ctx)
            .await
            .map(|rules| pb::ListRulesResponse { rules }))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "UpsertRule"), err(level = "info"))]
    async fn upsert_rule(&self, request: Request<pb::UpsertRuleRequest>) -> Reply<pb::UpsertRuleResponse> {
        let actor = admin(&request)?.subject;
        ok(directory::upsert_rule(&self.ctx, &self.reference, &actor, request.into_inner().rule).await)
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "DeleteRule"), err(level = "info"))]
    async fn delete_rule(&self, request: Request<pb::DeleteRuleRequest>) -> Reply<pb::DeleteRuleResponse> {
        let actor = admin(&request)?.subject;
        let rule_id = request.into_inner().rule_id;
        ok(directory::delete_rule(&self.ctx, &actor, &rule_id)
            .await
            .map(|()| pb::DeleteRuleResponse {}))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "ExplainRoute"), err(level = "info"))]
    async fn explain_route(
        &self,
        request: Request<pb::ExplainRouteRequest>,
    ) -> Reply<pb::ExplainRouteResponse> {
        ok(directory::explain(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "ListTriage"), err(level = "info"))]
    async fn list_triage(&self, request: Request<pb::ListTriageRequest>) -> Reply<pb::ListTriageResponse> {
        admin(&request)?;
        ok(triage::list(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "RouteManually", question_id = %kenduren_runtime::logged(&request.get_ref().question_id)), err(level = "info"))]
    async fn route_manually(
        &self,
        request: Request<pb::RouteManuallyRequest>,
    ) -> Reply<pb::RouteManuallyResponse> {
        admin(&request)?;
        ok(triage::route_manually(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "ReassignQuestion", question_id = %kenduren_runtime::logged(&request.get_ref().question_id)), err(level = "info"))]
    async fn reassign_question(
        &self,
        request: Request<pb::ReassignQuestionRequest>,
    ) -> Reply<pb::ReassignQuestionResponse> {
        admin(&request)?;
        ok(triage::reassign(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "GetSlaPolicy"), err(level = "info"))]
    async fn get_sla_policy(
        &self,
        _request: Request<pb::GetSlaPolicyRequest>,
    ) -> Reply<pb::GetSlaPolicyResponse> {
        ok(sla::get_policy(&self.ctx)
            .await
            .map(|p| pb::GetSlaPolicyResponse { policy: Some(p) }))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "UpdateSlaPolicy"), err(level = "info"))]
    async fn update_sla_policy(
        &self,
        request: Request<pb::UpdateSlaPolicyRequest>,
    ) -> Reply<pb::UpdateSlaPolicyResponse> {
        let actor = admin(&request)?.subject;
        ok(sla::update_policy(&self.ctx, &actor, request.into_inner().policy)
            .await
            .map(|p| pb::UpdateSlaPolicyResponse { policy: Some(p) }))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "ListHolidays"), err(level = "info"))]
    async fn list_holidays(
        &self,
        request: Request<pb::ListHolidaysRequest>,
    ) -> Reply<pb::ListHolidaysResponse> {
        ok(sla::list_holidays(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "SetHolidays"), err(level = "info"))]
    async fn set_holidays(&self, request: Request<pb::SetHolidaysRequest>) -> Reply<pb::SetHolidaysResponse> {
        let actor = admin(&request)?.subject;
        ok(sla::set_holidays(&self.ctx, &actor, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "RunEscalations"), err(level = "info"))]
    async fn run_escalations(
        &self,
        request: Request<pb::RunEscalationsRequest>,
    ) -> Reply<pb::RunEscalationsResponse> {
        admin(&request)?;
        let as_of = match request.into_inner().as_of {
            None => self.ctx.clock.now(),
            Some(ts) => to_datetime(&ts)
                .ok_or_else(|| Status::from(ApiError::field("as_of", "is not a valid timestamp")))?,
        };
        ok(escalation::sweep(&self.ctx, as_of)
            .await
            .map(|escalated| pb::RunEscalationsResponse { escalated }))
    }
}

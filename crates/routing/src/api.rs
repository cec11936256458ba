//! `RoutingService`'s RPC handlers.

use kenduren_proto::routing::v1::{
    routing_service_server::RoutingService, ListOpdsRequest, ListOpdsResponse, ListRulesRequest,
    ListRulesResponse, Opd, Rule,
};
use kenduren_runtime::{convert::kind_to_proto, ApiError, ServiceContext};
use tonic::{Request, Response, Status};

/// The routing API over its service context.
#[derive(Debug, Clone)]
pub struct Routing {
    ctx: ServiceContext,
}

impl Routing {
    /// An API bound to the service's store.
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl RoutingService for Routing {
    #[tracing::instrument(skip_all, fields(rpc.method = "ListOpds"), err)]
    async fn list_opds(
        &self,
        _request: Request<ListOpdsRequest>,
    ) -> Result<Response<ListOpdsResponse>, Status> {
        let rows: Vec<(String, String, String, bool)> =
            sqlx::query_as("SELECT code, name, contact, active FROM opds ORDER BY code")
                .fetch_all(&self.ctx.pool)
                .await
                .map_err(ApiError::from)?;
        let opds = rows
            .into_iter()
            .map(|(code, name, contact, active)| Opd {
                code,
                name,
                contact,
                active,
            })
            .collect();
        Ok(Response::new(ListOpdsResponse { opds }))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "ListRules"), err)]
    async fn list_rules(
        &self,
        _request: Request<ListRulesRequest>,
    ) -> Result<Response<ListRulesResponse>, Status> {
        let mut conn = self.ctx.pool.acquire().await.map_err(ApiError::from)?;
        let rules = crate::router::load_rules(&mut conn)
            .await
            .map_err(|e| ApiError::Unavailable(format!("{e:?}")))?;
        let rules = rules
            .rules()
            .iter()
            .map(|r| Rule {
                rule_id: r.id.clone(),
                category: r.category.to_string(),
                opd_code: r.opd.to_string(),
                priority: r.priority,
                kinds: r.kinds.iter().map(|k| kind_to_proto(*k) as i32).collect(),
                kecamatan: r.kecamatan.clone(),
                keywords: r.keywords.clone(),
            })
            .collect();
        Ok(Response::new(ListRulesResponse { rules }))
    }
}

//! The routing service: the OPD directory and routing rules, the assignment of every
//! submitted question to an OPD (or to triage) with a due date in working days.

mod api;
mod router;
mod seed;

use std::sync::Arc;

use kenduren_domain::ReferenceData;
use kenduren_proto::routing::v1::routing_service_server::RoutingServiceServer;
use kenduren_runtime::{service, Backbone, CancellationToken, GrpcServer, RuntimeError};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub use api::Routing;

/// Routing's tables (on top of the event store's).
pub static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Service, schema, relay and consumer name.
pub const NAME: &str = "routing";

/// Runs routing on `listener` until `shutdown` is cancelled.
pub async fn run(
    backbone: &Backbone,
    reference: Arc<ReferenceData>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RuntimeError> {
    let ctx = backbone.service(NAME, &MIGRATIONS).await?;
    seed::seed_if_empty(&ctx.pool, &reference).await?;
    let server = GrpcServer {
        service_name: "kenduren.routing.v1.RoutingService",
        routes: tonic::service::Routes::new(tonic::service::interceptor::InterceptedService::new(
            RoutingServiceServer::new(Routing::new(ctx.clone()))
                .max_decoding_message_size(service::MAX_MESSAGE_BYTES),
            ctx.auth.clone(),
        )),
    };
    let consumer = service::consumer(&ctx, ctx.subjects.questions(), router::Router::new(&ctx));
    service::run(ctx, server, consumer, listener, shutdown).await
}

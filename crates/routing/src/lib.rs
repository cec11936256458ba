//! The routing service: the OPD directory and routing rules, the assignment of every
//! submitted question to an OPD (or to triage) with due dates in working days from the
//! SLA policy and holiday calendar, manual routing and reassignment, and escalation of
//! late questions from stored deadlines.

mod api;
mod audit;
mod clock;
mod directory;
mod escalation;
mod holidays;
mod paging;
mod router;
mod seed;
mod sla;
mod triage;

use std::sync::Arc;

use kenduren_domain::ReferenceData;
use kenduren_proto::routing::v1::routing_service_server::RoutingServiceServer;
use kenduren_runtime::{service, Backbone, CancellationToken, GrpcServer, RuntimeError};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub use api::Routing;
pub use escalation::{interval_from_env, DEFAULT_INTERVAL};

/// Routing's tables (on top of the event store's).
pub static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Service, schema, relay and consumer name.
pub const NAME: &str = "routing";

/// Runs routing on `listener` until `shutdown` is cancelled, sweeping for escalations
/// every `KENDUREN_ESCALATION_INTERVAL_SECS` (default 60 s).
pub async fn run(
    backbone: &Backbone,
    reference: Arc<ReferenceData>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RuntimeError> {
    let ctx = backbone.service(NAME, &MIGRATIONS).await?;
    seed::seed_if_empty(&ctx.pool, &reference).await?;
    holidays::seed(&ctx, backbone.settings.reference_dir.as_deref()).await?;
    let server = GrpcServer {
        service_name: "kenduren.routing.v1.RoutingService",
        routes: tonic::service::Routes::new(tonic::service::interceptor::InterceptedService::new(
            RoutingServiceServer::new(Routing::new(ctx.clone(), reference))
                .max_decoding_message_size(service::MAX_MESSAGE_BYTES),
            ctx.auth.clone(),
        )),
    };
    let stop_escalations = shutdown.child_token();
    let escalations = tokio::spawn(escalation::run_loop(
        ctx.clone(),
        interval_from_env(),
        stop_escalations.clone(),
    ));
    let consumer = service::consumer(&ctx, ctx.subjects.questions(), router::Router::new(&ctx));
    let result = service::run(ctx, server, consumer, listener, shutdown).await;
    // Also when the server failed without `shutdown`: a sweep in hand finishes first.
    stop_escalations.cancel();
    escalations.await.map_err(|e| RuntimeError::Task(e.to_string()))?;
    result
}

//! The reporting service: read models over every event — question timelines, OPD
//! scorecards, session reports, unanswered lists, trends and exports — that own
//! nothing of record and can be rebuilt from the stream ([`rebuild`]).

mod api;
pub mod figures;
mod projection;
mod queries;
mod rebuild;

use kenduren_proto::reporting::v1::reporting_service_server::ReportingServiceServer;
use kenduren_runtime::{service, Backbone, CancellationToken, GrpcServer, RuntimeError};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub use api::Reporting;
pub use rebuild::{rebuild, RebuildError, RebuildProgress};

/// Reporting's read models (on top of the event store's bookkeeping tables).
pub static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Service, schema and consumer name.
pub const NAME: &str = "reporting";

/// Runs reporting on `listener` until `shutdown` is cancelled.
pub async fn run(
    backbone: &Backbone,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RuntimeError> {
    let ctx = backbone.service(NAME, &MIGRATIONS).await?;
    let server = GrpcServer {
        service_name: "kenduren.reporting.v1.ReportingService",
        routes: tonic::service::Routes::new(tonic::service::interceptor::InterceptedService::new(
            ReportingServiceServer::new(Reporting::new(ctx.clone()))
                .max_decoding_message_size(service::MAX_MESSAGE_BYTES),
            ctx.auth.clone(),
        )),
    };
    let consumer = service::consumer(&ctx, ctx.subjects.all(), projection::Figures);
    service::run(ctx, server, consumer, listener, shutdown).await
}

//! The intake service: the citizen desk. It accepts submissions (idempotently, with a
//! ticket and a tracking PIN), keeps the only copy of citizen identity, and serves
//! citizen tracking from a view kept current by every service's events.

mod api;
mod citizen;
mod contact;
mod erase;
mod projection;
mod rate;
mod sessions;
mod submit;
mod track;
mod vault;
mod withdraw;

use std::sync::Arc;

use kenduren_domain::ReferenceData;
use kenduren_proto::intake::v1::intake_service_server::IntakeServiceServer;
use kenduren_runtime::{service, Backbone, CancellationToken, GrpcServer, RuntimeError};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub use api::Intake;
pub use rate::{reopens, REOPENING_RATING, REOPEN_WINDOW_WORKING_DAYS};
pub use sessions::{starts_at as session_starts_at, START_LOCAL_TIME};

/// Intake's read models and bookkeeping tables (on top of the event store's).
pub static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Service, schema, relay and consumer name.
pub const NAME: &str = "intake";

/// Runs intake on `listener` until `shutdown` is cancelled.
pub async fn run(
    backbone: &Backbone,
    reference: Arc<ReferenceData>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RuntimeError> {
    let ctx = backbone.service(NAME, &MIGRATIONS).await?;
    let vault = vault::Vault::new(&backbone.settings.pii_key, &backbone.settings.auth_key)
        .map_err(|e| RuntimeError::Config(e.to_string()))?;
    let sealed = vault::seal_legacy_contacts(&ctx.pool, &vault).await?;
    if sealed > 0 {
        tracing::info!(sealed, "sealed contacts an older version stored in plaintext");
    }
    let api = Intake::new(ctx.clone(), reference, vault);
    let server = GrpcServer {
        service_name: "kenduren.intake.v1.IntakeService",
        routes: tonic::service::Routes::new(tonic::service::interceptor::InterceptedService::new(
            IntakeServiceServer::new(api).max_decoding_message_size(service::MAX_MESSAGE_BYTES),
            ctx.auth.clone(),
        )),
    };
    let consumer = service::consumer(&ctx, ctx.subjects.questions(), projection::Tracking);
    service::run(ctx, server, consumer, listener, shutdown).await
}

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
    tokio::spawn(forget_pins_every(PIN_SWEEP, ctx.clone(), shutdown.clone()));
    let api = Intake::new(ctx.clone(), reference, vault);
    let server = GrpcServer {
        service_name: "kenduren.intake.v1.IntakeService",
        routes: tonic::service::Routes::new(tonic::service::interceptor::InterceptedService::new(
            IntakeServiceServer::new(api).max_decoding_message_size(service::MAX_MESSAGE_BYTES),
            ctx.auth.clone(),
        )),
    };
    // Every subject, not only questions: the rating window needs routing's HolidaysSet
    // (`.v1.routing.`), and NATS 2.9 takes one filter per consumer. The handler ignores
    // what it does not track.
    let filter = ctx.subjects.all();
    widen_consumer(&ctx, &filter).await?;
    let consumer = service::consumer(&ctx, filter, projection::Tracking);
    service::run(ctx, server, consumer, listener, shutdown).await
}

/// How often readable PINs past the replay window are cleared while intake runs. A
/// sweep of its own, not a statement after every submit: that cost every citizen a
/// round trip (about a fifth of SubmitQuestion's throughput in `kenduren bench`).
const PIN_SWEEP: std::time::Duration = std::time::Duration::from_secs(60);

/// Clears PINs past the replay window at once and then every `period` until
/// `shutdown`; a failed sweep is retried at the next one.
async fn forget_pins_every(
    period: std::time::Duration,
    ctx: kenduren_runtime::ServiceContext,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match submit::forget_old_pins(&ctx.pool, ctx.clock.now()).await {
            Ok(0) => {}
            Ok(forgotten) => tracing::info!(forgotten, "cleared tracking PINs past the replay window"),
            Err(e) => tracing::warn!(error = %e, "could not clear tracking PINs past the replay window"),
        }
    }
}

/// Deletes intake's durable consumer if an older version created it with a narrower
/// filter: NATS 2.9 cannot change a consumer's filter, so it would refuse to create it
/// again. The new consumer replays the stream from the start; the inbox skips every
/// event already applied, and the holidays announced before are learnt.
async fn widen_consumer(ctx: &kenduren_runtime::ServiceContext, filter: &str) -> Result<(), RuntimeError> {
    let stream = ctx
        .jetstream
        .get_stream(&ctx.stream)
        .await
        .map_err(|e| RuntimeError::Task(format!("NATS stream {}: {e}", ctx.stream)))?;
    let Ok(info) = stream.consumer_info(NAME).await else {
        return Ok(()); // not created yet
    };
    if info.config.filter_subject != filter {
        tracing::info!(old = %info.config.filter_subject, new = filter, "recreating intake's consumer with a wider filter");
        stream
            .delete_consumer(NAME)
            .await
            .map_err(|e| RuntimeError::Task(format!("deleting consumer {NAME}: {e}")))?;
    }
    Ok(())
}

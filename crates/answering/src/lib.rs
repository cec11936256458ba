//! The answering service: each OPD's inbox, and the answers, follow-ups and
//! rejections its staff and systems write.

mod answer;
mod api;
mod check;
pub mod contact;
mod inbox;
mod lifecycle;
mod projection;
mod question;
mod templates;
mod write;

use kenduren_proto::answering::v1::answering_service_server::AnsweringServiceServer;
use kenduren_runtime::{service, Backbone, CancellationToken, GrpcServer, RuntimeError};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub use api::Answering;
pub use contact::IntakeContacts;

/// Answering's tables (on top of the event store's).
pub static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Service, schema, relay and consumer name.
pub const NAME: &str = "answering";

/// Runs answering, fetching citizens' contacts from intake with `contacts`.
pub async fn run_with_contacts(
    backbone: &Backbone,
    listener: TcpListener,
    shutdown: CancellationToken,
    contacts: IntakeContacts,
) -> Result<(), RuntimeError> {
    let ctx = backbone.service(NAME, &MIGRATIONS).await?;
    let server = GrpcServer {
        service_name: "kenduren.answering.v1.AnsweringService",
        routes: tonic::service::Routes::new(tonic::service::interceptor::InterceptedService::new(
            AnsweringServiceServer::new(Answering::with_contacts(ctx.clone(), contacts))
                .max_decoding_message_size(service::MAX_MESSAGE_BYTES),
            ctx.auth.clone(),
        )),
    };
    let consumer = service::consumer(&ctx, ctx.subjects.questions(), projection::Inboxes);
    service::run(ctx, server, consumer, listener, shutdown).await
}

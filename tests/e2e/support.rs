//! Spawns the real services against a fresh database and an own stream and subject
//! prefix, and hands out typed gRPC clients; `stop` removes everything it made.

use std::{future::Future, time::Duration};

use kenduren::{reference, RunningSystem, ServiceAddrs};
use kenduren_proto::{
    answering::v1::answering_service_client::AnsweringServiceClient,
    intake::v1::intake_service_client::IntakeServiceClient,
    reporting::v1::reporting_service_client::ReportingServiceClient,
    routing::v1::routing_service_client::RoutingServiceClient,
};
use kenduren_runtime::BackboneSettings;
use sqlx::{Connection, Executor, PgConnection};
use tonic::transport::Channel;
use uuid::Uuid;

/// The admin connection used to create and drop test databases.
fn admin_url() -> String {
    std::env::var("KENDUREN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn nats_url() -> String {
    std::env::var("KENDUREN_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A running system of its own, with clients.
pub struct TestSystem {
    pub system: Option<RunningSystem>,
    pub intake: IntakeServiceClient<Channel>,
    pub routing: RoutingServiceClient<Channel>,
    pub answering: AnsweringServiceClient<Channel>,
    pub reporting: ReportingServiceClient<Channel>,
    pub settings: BackboneSettings,
    database: String,
}

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("valid uri")
        .connect()
        .await
        .expect("service reachable")
}

impl TestSystem {
    /// Creates a database, a stream and a prefix named by a fresh UUID and starts the services.
    pub async fn start() -> Self {
        let id = Uuid::new_v4().simple().to_string();
        let database = format!("kt_{id}");
        let mut admin = PgConnection::connect(&admin_url())
            .await
            .expect("postgres reachable");
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .await
            .expect("create test database");
        let mut url = url_without_db(&admin_url());
        url.push_str(&database);
        let settings = BackboneSettings {
            database_url: url,
            nats_url: nats_url(),
            stream: format!("KT_{id}"),
            subject_prefix: format!("kt{}", &id[..12]),
            stream_replicas: 1,
            pool_size: 4,
        };
        let reference = reference::load(None).expect("shipped reference data");
        let system = RunningSystem::start(settings.clone(), ServiceAddrs::ephemeral(), reference)
            .await
            .expect("services start");
        let a = system.addrs;
        Self {
            intake: IntakeServiceClient::new(channel(a.intake).await),
            routing: RoutingServiceClient::new(channel(a.routing).await),
            answering: AnsweringServiceClient::new(channel(a.answering).await),
            reporting: ReportingServiceClient::new(channel(a.reporting).await),
            system: Some(system),
            settings,
            database,
        }
    }

    /// Stops the services, deletes the stream and drops the database.
    pub async fn stop(mut self) {
        if let Some(system) = self.system.take() {
            let js = system.backbone.jetstream.clone();
            system.stop().await.expect("services stop cleanly");
            let _ = js.delete_stream(&self.settings.stream).await;
        }
        let mut admin = PgConnection::connect(&admin_url())
            .await
            .expect("postgres reachable");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.database
            )))
            .await
            .expect("drop test database");
    }
}

fn url_without_db(url: &str) -> String {
    match url.rfind('/') {
        Some(i) if i > "postgres://".len() => url[..=i].to_owned(),
        _ => format!("{url}/"),
    }
}

/// Polls `check` until it returns `Some` or 20 seconds pass.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

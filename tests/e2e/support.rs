//! Spawns the real services against a fresh database and an own stream and subject
//! prefix, and hands out typed gRPC clients; `stop` removes everything it made.

use std::{future::Future, time::Duration};

use chrono::{DateTime, Utc};
use kenduren::{reference, RunningSystem, ServiceAddrs};
use kenduren_auth::{BearerToken, Role, TokenKey};
use kenduren_proto::{
    answering::v1::answering_service_client::AnsweringServiceClient,
    intake::v1::intake_service_client::IntakeServiceClient,
    reporting::v1::reporting_service_client::ReportingServiceClient,
    routing::v1::routing_service_client::RoutingServiceClient,
};
use kenduren_runtime::{BackboneSettings, Clock};
use sqlx::{Connection, Executor, PgConnection};
use tonic::{service::interceptor::InterceptedService, transport::Channel};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use uuid::Uuid;

/// The admin connection used to create and drop test databases.
fn admin_url() -> String {
    std::env::var("KENDUREN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn nats_url() -> String {
    std::env::var("KENDUREN_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A channel that sends a bearer token.
pub type Authed = InterceptedService<Channel, BearerToken>;

/// A running system of its own, with clients for the usual roles.
pub struct TestSystem {
    pub system: Option<RunningSystem>,
    /// As the citizen desk.
    pub intake: IntakeServiceClient<Authed>,
    /// As an admin.
    pub routing: RoutingServiceClient<Authed>,
    /// As DISPENDUKCAPIL, the OPD the shipped rules route `kependudukan` to.
    pub answering: AnsweringServiceClient<Authed>,
    /// As an analyst.
    pub reporting: ReportingServiceClient<Authed>,
    pub settings: BackboneSettings,
    pub key: TokenKey,
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
        Self::start_with_clock(Clock::system()).await
    }

    /// Like [`TestSystem::start`], with the services' clock shifted to read `start` now.
    pub async fn start_at(start: DateTime<Utc>) -> Self {
        Self::start_with_clock(Clock::shifted(Clock::shift_to(start))).await
    }

    async fn start_with_clock(clock: Clock) -> Self {
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
            // Small pools: several systems run at once against one server (max_connections 100).
            pool_size: 2,
            auth_key: TokenKey::generate_base64(),
            clock,
            ..BackboneSettings::default()
        };
        let key = TokenKey::from_base64(&settings.auth_key).expect("generated key");
        let reference = reference::load(None).expect("shipped reference data");
        let system = RunningSystem::start(settings.clone(), ServiceAddrs::ephemeral(), reference)
            .await
            .expect("services start");
        let a = system.addrs;
        // The listeners are bound before the services have migrated their schemas; a
        // service reports SERVING once it has, so tests may then read its tables.
        for addr in [a.intake, a.routing, a.answering, a.reporting] {
            let health = HealthClient::new(channel(addr).await);
            eventually("the service reports SERVING", || {
                let mut health = health.clone();
                async move {
                    let status = health.check(HealthCheckRequest::default()).await.ok()?;
                    (status.into_inner().status == ServingStatus::Serving as i32).then_some(())
                }
            })
            .await;
        }
        let as_role = |role: &str| {
            let token = key
                .mint(
                    "test",
                    &role.parse::<Role>().expect("role"),
                    Duration::from_secs(600),
                )
                .expect("mint");
            BearerToken::new(&token).expect("token fits a header")
        };
        Self {
            intake: IntakeServiceClient::new(InterceptedService::new(
                channel(a.intake).await,
                as_role("desk"),
            )),
            routing: RoutingServiceClient::new(InterceptedService::new(
                channel(a.routing).await,
                as_role("admin"),
            )),
            answering: AnsweringServiceClient::new(InterceptedService::new(
                channel(a.answering).await,
                as_role("opd:DISPENDUKCAPIL"),
            )),
            reporting: ReportingServiceClient::new(InterceptedService::new(
                channel(a.reporting).await,
                as_role("analyst"),
            )),
            system: Some(system),
            settings,
            key,
        }
    }

    /// A second instance of all four services against the same database and stream,
    /// as when an operator scales every service to two replicas.
    pub async fn start_another_instance(&self) -> RunningSystem {
        let reference = reference::load(None).expect("shipped reference data");
        RunningSystem::start(self.settings.clone(), ServiceAddrs::ephemeral(), reference)
            .await
            .expect("second instance starts")
    }

    /// A desk client for another instance's intake.
    pub async fn intake_at(&self, addr: std::net::SocketAddr) -> IntakeServiceClient<Authed> {
        IntakeServiceClient::new(self.channel_with_token(addr, &self.token("desk")).await)
    }

    /// Where the services listen.
    pub fn addrs(&self) -> ServiceAddrs {
        self.system.as_ref().expect("running").addrs
    }

    /// A channel to `addr` that sends `token` (any text, even a forged one; empty sends none).
    pub async fn channel_with_token(&self, addr: std::net::SocketAddr, token: &str) -> Authed {
        InterceptedService::new(
            channel(addr).await,
            BearerToken::new(token).expect("token fits a header"),
        )
    }

    /// A valid token for `role` (e.g. `opd:DINKES`).
    pub fn token(&self, role: &str) -> String {
        self.key
            .mint(
                "test",
                &role.parse::<Role>().expect("role"),
                Duration::from_secs(600),
            )
            .expect("mint")
    }

    /// Stops the services, deletes the stream and drops the database.
    pub async fn stop(mut self) {
        if let Some(system) = self.system.take() {
            system.stop().await.expect("services stop cleanly");
        }
        // On a connection of its own: stopping drained and closed the system's, and a
        // stream deleted through it was silently left behind.
        drop_deployment(&self.settings).await;
    }
}

/// Deletes the stream and database of `settings` (for tests that took the system apart).
pub async fn drop_deployment(settings: &BackboneSettings) {
    let client = async_nats::connect(&settings.nats_url).await.expect("nats");
    let _ = async_nats::jetstream::new(client)
        .delete_stream(&settings.stream)
        .await;
    let database = settings
        .database_url
        .rsplit('/')
        .next()
        .expect("database name")
        .to_owned();
    let mut admin = PgConnection::connect(&admin_url())
        .await
        .expect("postgres reachable");
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
        )))
        .await
        .expect("drop test database");
}

fn url_without_db(url: &str) -> String {
    match url.rfind('/') {
        Some(i) if i > "postgres://".len() => url[..=i].to_owned(),
        _ => format!("{url}/"),
    }
}

/// Waits until `question_id` is in the inbox of the OPD `answering` acts for, and returns
/// the version to pass back as `expected_version`.
pub async fn in_inbox(answering: &AnsweringServiceClient<Authed>, question_id: &str) -> i64 {
    eventually("the question in the OPD's inbox", || {
        let mut answering = answering.clone();
        let id = question_id.to_owned();
        async move {
            let request = kenduren_proto::answering::v1::ListInboxRequest {
                page_size: 500,
                ..Default::default()
            };
            let items = answering.list_inbox(request).await.ok()?.into_inner().items;
            items.into_iter().find(|i| i.question_id == id).map(|i| i.version)
        }
    })
    .await
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

//! What every process-level test of the `kenduren` binary needs: where the test
//! Postgres and NATS are, free ports, a database and stream of its own, the
//! `KENDUREN_*` environment a service is configured by, tokens, and a child process
//! that cannot outlive a failed test. Each test target includes it with `mod common;`
//! and uses only part of it, hence the `dead_code` allowance there.

use std::{
    path::Path,
    process::{Child, Command},
    time::{Duration, Instant},
};

use kenduren_auth::{BearerToken, TokenKey};
use sqlx::{Connection, Executor, PgConnection};
use tonic::{service::interceptor::InterceptedService, transport::Endpoint};

/// The test Postgres server's administrative URL.
pub fn admin_url() -> String {
    std::env::var("KENDUREN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The NATS server the tests run against.
pub fn nats_url() -> String {
    std::env::var("KENDUREN_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A free port on the loopback interface (bound and released at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The `kenduren` binary cargo built for these tests.
pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kenduren"))
}

/// A database of its own on the test server, with the stream name and subject prefix
/// that go with it, so tests running side by side never see each other's data.
pub struct Scratch {
    /// The random id every name here is made from.
    pub id: String,
    /// URL of the scratch database.
    pub url: String,
}

impl Scratch {
    /// Creates a fresh database `kt_<id>`; the stream appears when a service starts.
    pub async fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut admin = PgConnection::connect(&admin_url()).await.expect("postgres");
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE kt_{id}")))
            .await
            .expect("create database");
        let base = admin_url();
        let url = format!("{}kt_{id}", &base[..=base.rfind('/').expect("url has a path")]);
        Self { id, url }
    }

    /// The JetStream stream of this scratch deployment.
    pub fn stream(&self) -> String {
        format!("KT_{}", self.id)
    }

    /// The first token of every subject this scratch deployment publishes.
    pub fn prefix(&self) -> String {
        format!("kt{}", &self.id[..12])
    }

    /// A connection to the scratch database.
    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url).await.expect("service database")
    }

    /// Drops the database, closing whatever connections are still open on it.
    pub async fn drop_database(self) {
        let mut admin = PgConnection::connect(&admin_url()).await.expect("postgres");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS kt_{} WITH (FORCE)",
                self.id
            )))
            .await
            .expect("drop database");
    }

    /// Deletes the stream from the plain-text test NATS server (best effort: cleanup
    /// must not fail a test that passed), then drops the database.
    pub async fn drop_all(self) {
        if let Ok(client) = async_nats::connect(nats_url()).await {
            let _ = async_nats::jetstream::new(client)
                .delete_stream(self.stream())
                .await;
        }
        self.drop_database().await;
    }
}

/// Sets what every `kenduren` service reads to reach its backbone: database, NATS,
/// stream, subject prefix and signing key, with metrics off and a small pool.
pub fn backbone_env<'c>(
    command: &'c mut Command,
    scratch: &Scratch,
    nats_url: &str,
    key: &str,
) -> &'c mut Command {
    command
        .env("KENDUREN_DATABASE_URL", &scratch.url)
        .env("KENDUREN_NATS_URL", nats_url)
        .env("KENDUREN_STREAM", scratch.stream())
        .env("KENDUREN_SUBJECT_PREFIX", scratch.prefix())
        .env("KENDUREN_AUTH_KEY", key)
        .env("KENDUREN_METRICS_ADDR", "off")
        .env("KENDUREN_POOL_SIZE", "2")
}

/// Sets where `kenduren dev` listens: intake, routing, answering and reporting on
/// `ports`, in that order.
pub fn dev_addrs_env(command: &mut Command, ports: [u16; 4]) -> &mut Command {
    command
        .env("KENDUREN_INTAKE_ADDR", format!("127.0.0.1:{}", ports[0]))
        .env("KENDUREN_ROUTING_ADDR", format!("127.0.0.1:{}", ports[1]))
        .env("KENDUREN_ANSWERING_ADDR", format!("127.0.0.1:{}", ports[2]))
        .env("KENDUREN_REPORTING_ADDR", format!("127.0.0.1:{}", ports[3]))
}

/// A token for `role` (as written on the command line, e.g. `opd:DISPENDUKCAPIL`),
/// valid for ten minutes.
pub fn mint(key: &TokenKey, subject: &str, role: &str) -> String {
    key.mint(subject, &role.parse().expect("role"), Duration::from_secs(600))
        .expect("token")
}

/// A plain-text channel that sends `token` with every call.
pub type Authed = InterceptedService<tonic::transport::Channel, BearerToken>;

/// Connects to the service on `port` with `token`, retrying until it listens (at most
/// `within`).
pub async fn authed_channel(port: u16, token: &str, within: Duration) -> Authed {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(channel) = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("uri")
            .connect()
            .await
        {
            return InterceptedService::new(channel, BearerToken::new(token).expect("token"));
        }
        assert!(Instant::now() < deadline, "service on {port} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A process a test started, killed when dropped: also when an assertion fails, so a
/// failing run leaves no server behind.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

//! One isolated deployment of the real `kenduren` binary: its own database, stream and
//! subject prefix, services started as separate processes the way an operator starts
//! them, stopped by a real signal, and a client that submits a burst of questions.

use std::{
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use kenduren_auth::{BearerToken, Role, TokenKey};
use kenduren_proto::{
    events::v1::{Channel, Location, QuestionKind},
    intake::v1::{intake_service_client::IntakeServiceClient, SubmitQuestionRequest},
};
use sqlx::{Connection, Executor, PgConnection};
use tonic::{service::interceptor::InterceptedService, transport::Endpoint};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

/// KENDUREN_SHUTDOWN_GRACE given to every service: a stop must finish well inside it.
pub const GRACE_SECONDS: u64 = 15;

fn admin_url() -> String {
    std::env::var("KENDUREN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The NATS server the tests run against.
pub fn nats_url() -> String {
    std::env::var("KENDUREN_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A free port on the loopback interface.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

/// The signal an operator stops a service with.
#[derive(Debug, Clone, Copy)]
pub enum Signal {
    /// What container runtimes and Kubernetes send.
    Term,
    /// Ctrl-C in a terminal.
    Int,
}

/// A deployment's isolated database, stream, subject prefix and signing key.
pub struct Deployment {
    id: String,
    /// URL of the deployment's own database (every service has a schema in it).
    pub database_url: String,
    key: String,
}

impl Deployment {
    /// Creates a fresh database; the stream appears when the first service starts.
    pub async fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut admin = PgConnection::connect(&admin_url()).await.expect("postgres");
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE kt_{id}")))
            .await
            .expect("create database");
        let base = admin_url();
        let database_url = format!("{}kt_{id}", &base[..=base.rfind('/').expect("url has a path")]);
        Self {
            id,
            database_url,
            key: TokenKey::generate_base64(),
        }
    }

    /// The deployment's JetStream stream.
    pub fn stream(&self) -> String {
        format!("KT_{}", self.id)
    }

    /// The first token of every subject the deployment publishes.
    pub fn prefix(&self) -> String {
        format!("kt{}", &self.id[..12])
    }

    /// Starts `kenduren <service>` on `port`, configured only through the environment.
    pub fn start(&self, service: &'static str, port: u16) -> Process {
        let child = Command::new(env!("CARGO_BIN_EXE_kenduren"))
            .arg(service)
            .env("KENDUREN_DATABASE_URL", &self.database_url)
            .env("KENDUREN_NATS_URL", nats_url())
            .env("KENDUREN_STREAM", self.stream())
            .env("KENDUREN_SUBJECT_PREFIX", self.prefix())
            .env("KENDUREN_AUTH_KEY", &self.key)
            .env("KENDUREN_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("KENDUREN_METRICS_ADDR", "off")
            .env("KENDUREN_POOL_SIZE", "2")
            .env("KENDUREN_SHUTDOWN_GRACE", GRACE_SECONDS.to_string())
            // Long enough for a probe every 50 ms to see NOT_SERVING before the port closes.
            .env("KENDUREN_DRAIN_DELAY", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("kenduren {service} starts: {e}"));
        Process { service, port, child }
    }

    /// An intake client with a desk token, on the intake listening at `port`.
    pub async fn intake_client(&self, port: u16) -> Intake {
        let key = TokenKey::from_base64(&self.key).expect("key");
        let token = key
            .mint("burst", &Role::Desk, Duration::from_secs(600))
            .expect("token");
        let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        IntakeServiceClient::new(InterceptedService::new(
            channel,
            BearerToken::new(&token).expect("token"),
        ))
    }

    /// A connection to the deployment's database.
    pub async fn db(&self) -> PgConnection {
        PgConnection::connect(&self.database_url)
            .await
            .expect("service database")
    }

    /// Deletes the stream and the database.
    pub async fn drop_all(self) {
        let client = async_nats::connect(nats_url()).await.expect("nats");
        let _ = async_nats::jetstream::new(client)
            .delete_stream(self.stream())
            .await;
        let mut admin = PgConnection::connect(&admin_url()).await.expect("postgres");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS kt_{} WITH (FORCE)",
                self.id
            )))
            .await
            .expect("drop database");
    }
}

/// Intake's client as the desk holds it.
pub type Intake = IntakeServiceClient<InterceptedService<tonic::transport::Channel, BearerToken>>;

/// One running `kenduren <service>` process.
pub struct Process {
    service: &'static str,
    port: u16,
    child: Child,
}

/// How a signalled process went away.
pub struct Stopped {
    /// The exit status.
    pub status: ExitStatus,
    /// From the signal to the exit.
    pub took: Duration,
    /// Whether a health probe saw NOT_SERVING between the signal and the exit.
    pub saw_not_serving: bool,
}

impl Process {
    /// The process's overall gRPC health, `None` while it does not answer.
    pub async fn health(&self) -> Option<i32> {
        let channel = Endpoint::from_shared(format!("http://127.0.0.1:{}", self.port))
            .ok()?
            .connect()
            .await
            .ok()?;
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .ok()?;
        Some(reply.into_inner().status)
    }

    /// Waits until the service reports SERVING.
    pub async fn wait_serving(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.health().await != Some(ServingStatus::Serving as i32) {
            assert!(
                Instant::now() < deadline,
                "{} did not become SERVING",
                self.service
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `signal` and probes health until the process exits; fails the test if it
    /// is still running a few seconds past the grace period.
    pub async fn stop(mut self, signal: Signal) -> Stopped {
        let name = match signal {
            Signal::Term => "-TERM",
            Signal::Int => "-INT",
        };
        let signalled = Instant::now();
        assert!(Command::new("kill")
            .args([name, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success());
        let mut saw_not_serving = false;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Stopped {
                    status,
                    took: signalled.elapsed(),
                    saw_not_serving,
                };
            }
            saw_not_serving |= self.health().await == Some(ServingStatus::NotServing as i32);
            if signalled.elapsed() > Duration::from_secs(GRACE_SECONDS + 5) {
                let _ = self.child.kill();
                panic!("{} did not exit within the grace period", self.service);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asserts what an operator expects of a stop: NOT_SERVING first, exit 0, in time.
    pub async fn stop_gracefully(self, signal: Signal) {
        let service = self.service;
        let stopped = self.stop(signal).await;
        assert!(
            stopped.status.success(),
            "{service} exit status {}",
            stopped.status
        );
        assert!(
            stopped.took < Duration::from_secs(GRACE_SECONDS),
            "{service} took {:?}",
            stopped.took
        );
        assert!(
            stopped.saw_not_serving,
            "{service}'s health never reported NOT_SERVING while draining"
        );
    }
}

impl Drop for Process {
    /// A failed test must not leave the binary running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn submission(n: usize) -> SubmitQuestionRequest {
    SubmitQuestionRequest {
        request_id: format!("burst-{n}"),
        kind: QuestionKind::Question as i32,
        category: "kependudukan".into(),
        text: format!("Pertanyaan nomor {n}"),
        channel: Channel::Web as i32,
        location: Some(Location {
            kecamatan: "Bangil".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Submits up to `limit` questions, 8 at a time, until the first refusal; the ids of
/// the accepted ones collect in `accepted`.
pub fn burst(client: Intake, limit: usize, accepted: Arc<Mutex<Vec<String>>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        futures::stream::iter(0..limit)
            .map(|n| {
                let mut client = client.clone();
                async move { client.submit_question(submission(n)).await }
            })
            .buffer_unordered(8)
            .take_while(|r| futures::future::ready(r.is_ok()))
            .for_each(|r| {
                if let Ok(ok) = r {
                    accepted.lock().expect("lock").push(ok.into_inner().question_id);
                }
                futures::future::ready(())
            })
            .await;
    })
}

/// Counts rows with `sql` until `done` holds for the count, failing after `within`.
pub async fn wait_for_count(
    db: &mut PgConnection,
    sql: &'static str,
    within: Duration,
    done: impl Fn(i64) -> bool,
) -> i64 {
    let deadline = Instant::now() + within;
    loop {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut *db).await.expect(sql);
        if done(n) {
            return n;
        }
        assert!(Instant::now() < deadline, "still {n} after {within:?}: {sql}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

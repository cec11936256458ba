//! One isolated deployment of the real `kenduren` binary: its own database, stream and
//! subject prefix, services started as separate processes the way an operator starts
//! them, stopped by a real signal, and a client that submits a burst of questions.

use std::{
    process::{Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use kenduren_auth::TokenKey;
use kenduren_proto::{
    events::v1::{Channel, Location, QuestionKind},
    intake::v1::{intake_service_client::IntakeServiceClient, SubmitQuestionRequest},
};
use sqlx::PgConnection;
use tonic::transport::Endpoint;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

use crate::common::{authed_channel, backbone_env, binary, mint, nats_url, Authed, Reaped, Scratch};

/// KENDUREN_SHUTDOWN_GRACE given to every service: a stop must finish well inside it.
pub const GRACE_SECONDS: u64 = 15;

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
    scratch: Scratch,
    key: String,
}

impl Deployment {
    /// Creates a fresh database; the stream appears when the first service starts.
    pub async fn new() -> Self {
        Self {
            scratch: Scratch::new().await,
            key: TokenKey::generate_base64(),
        }
    }

    /// The deployment's JetStream stream.
    pub fn stream(&self) -> String {
        self.scratch.stream()
    }

    /// The first token of every subject the deployment publishes.
    pub fn prefix(&self) -> String {
        self.scratch.prefix()
    }

    /// Starts `kenduren <service>` on `port`, configured only through the environment.
    pub fn start(&self, service: &'static str, port: u16) -> Process {
        let mut command = Command::new(binary());
        command.arg(service);
        let child = backbone_env(&mut command, &self.scratch, &nats_url(), &self.key)
            .env("KENDUREN_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("KENDUREN_SHUTDOWN_GRACE", GRACE_SECONDS.to_string())
            // Long enough for a probe every 50 ms to see NOT_SERVING before the port closes.
            .env("KENDUREN_DRAIN_DELAY", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("kenduren {service} starts: {e}"));
        Process {
            service,
            port,
            child: Reaped(child),
        }
    }

    /// An intake client with a desk token, on the intake listening at `port`.
    pub async fn intake_client(&self, port: u16) -> Intake {
        let token = mint(&TokenKey::from_base64(&self.key).expect("key"), "burst", "desk");
        IntakeServiceClient::new(authed_channel(port, &token, Duration::from_secs(10)).await)
    }

    /// A connection to the deployment's database.
    pub async fn db(&self) -> PgConnection {
        self.scratch.connect().await
    }

    /// Deletes the stream and the database.
    pub async fn drop_all(self) {
        self.scratch.drop_all().await;
    }
}

/// Intake's client as the desk holds it.
pub type Intake = IntakeServiceClient<Authed>;

/// One running `kenduren <service>` process.
pub struct Process {
    service: &'static str,
    port: u16,
    child: Reaped,
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
            .args([name, &self.child.0.id().to_string()])
            .status()
            .expect("kill")
            .success());
        let mut saw_not_serving = false;
        loop {
            if let Some(status) = self.child.0.try_wait().expect("wait") {
                return Stopped {
                    status,
                    took: signalled.elapsed(),
                    saw_not_serving,
                };
            }
            saw_not_serving |= self.health().await == Some(ServingStatus::NotServing as i32);
            if signalled.elapsed() > Duration::from_secs(GRACE_SECONDS + 5) {
                let _ = self.child.0.kill();
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

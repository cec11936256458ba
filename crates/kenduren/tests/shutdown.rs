//! The real binary, as an operator runs it: SIGTERM in the middle of a burst of
//! submissions reports NOT_SERVING first, exits 0 within the grace period, and every
//! submission a client saw accepted is stored and published once the service is back.

use std::{
    process::{Child, Command, Stdio},
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

const GRACE_SECONDS: u64 = 15;

fn admin_url() -> String {
    std::env::var("KENDUREN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn nats_url() -> String {
    std::env::var("KENDUREN_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

struct Deployment {
    id: String,
    database_url: String,
    key: String,
    port: u16,
}

impl Deployment {
    async fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut admin = PgConnection::connect(&admin_url()).await.expect("postgres");
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE kt_{id}")))
            .await
            .expect("create database");
        let base = admin_url();
        let database_url = format!("{}kt_{id}", &base[..=base.rfind('/').expect("url has a path")]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        Self {
            id,
            database_url,
            key: TokenKey::generate_base64(),
            port,
        }
    }

    fn stream(&self) -> String {
        format!("KT_{}", self.id)
    }

    fn start_intake(&self) -> Child {
        Command::new(env!("CARGO_BIN_EXE_kenduren"))
            .arg("intake")
            .env("KENDUREN_DATABASE_URL", &self.database_url)
            .env("KENDUREN_NATS_URL", nats_url())
            .env("KENDUREN_STREAM", self.stream())
            .env("KENDUREN_SUBJECT_PREFIX", format!("kt{}", &self.id[..12]))
            .env("KENDUREN_AUTH_KEY", &self.key)
            .env("KENDUREN_LISTEN_ADDR", format!("127.0.0.1:{}", self.port))
            .env("KENDUREN_METRICS_ADDR", "off")
            .env("KENDUREN_POOL_SIZE", "2")
            .env("KENDUREN_SHUTDOWN_GRACE", GRACE_SECONDS.to_string())
            .env("KENDUREN_DRAIN_DELAY", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("kenduren intake starts")
    }

    async fn health(&self) -> Option<i32> {
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

    async fn wait_serving(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.health().await != Some(ServingStatus::Serving as i32) {
            assert!(Instant::now() < deadline, "intake did not become SERVING");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn drop_all(self) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_loses_no_accepted_submission() {
    let deployment = Deployment::new().await;
    let mut child = deployment.start_intake();
    deployment.wait_serving().await;

    let key = TokenKey::from_base64(&deployment.key).expect("key");
    let token = key
        .mint("burst", &Role::Desk, Duration::from_secs(600))
        .expect("token");
    let channel = Endpoint::from_shared(format!("http://127.0.0.1:{}", deployment.port))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let client = IntakeServiceClient::new(InterceptedService::new(
        channel,
        BearerToken::new(&token).expect("token"),
    ));
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let burst = {
        let accepted = accepted.clone();
        tokio::spawn(async move {
            futures::stream::iter(0..100_000)
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
    };
    while accepted.lock().expect("lock").len() < 50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let terminated = Instant::now();
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let mut saw_not_serving = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        saw_not_serving |= deployment.health().await == Some(ServingStatus::NotServing as i32);
        assert!(
            terminated.elapsed() < Duration::from_secs(GRACE_SECONDS + 5),
            "did not exit within the grace period"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = burst.await;
    assert!(status.success(), "exit status {status}");
    assert!(
        terminated.elapsed() < Duration::from_secs(GRACE_SECONDS),
        "took {:?}",
        terminated.elapsed()
    );
    assert!(
        saw_not_serving,
        "health never reported NOT_SERVING while draining"
    );

    // Back up: the relay publishes anything the stop left behind.
    let accepted = accepted.lock().expect("lock").clone();
    let mut child = deployment.start_intake();
    deployment.wait_serving().await;
    let mut db = PgConnection::connect(&deployment.database_url)
        .await
        .expect("service database");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (pending,): (i64,) = sqlx::query_as("SELECT count(*) FROM intake.outbox WHERE NOT published")
            .fetch_one(&mut db)
            .await
            .expect("outbox");
        if pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{pending} events still unpublished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored: Vec<(String,)> = sqlx::query_as("SELECT stream_id FROM intake.events")
        .fetch_all(&mut db)
        .await
        .expect("events");
    let stored: std::collections::HashSet<String> = stored.into_iter().map(|(s,)| s).collect();
    let missing: Vec<&String> = accepted.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} accepted submissions not stored: {missing:?}",
        missing.len()
    );

    let js = async_nats::jetstream::new(async_nats::connect(nats_url()).await.expect("nats"));
    let mut stream = js.get_stream(deployment.stream()).await.expect("stream");
    let on_stream = stream.info().await.expect("info").state.messages;
    assert_eq!(
        on_stream as usize,
        stored.len(),
        "every stored event published exactly once"
    );
    assert!(stored.len() >= accepted.len());

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    deployment.drop_all().await;
}

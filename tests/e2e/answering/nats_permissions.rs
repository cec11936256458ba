//! The shipped NATS permission model, on a private nats-server: an OPD's user receives
//! its own questions' events through its durable consumer (set up and printed by the
//! same code as `kenduren watch`), and the server refuses it a consumer filtered on
//! another OPD's subjects and a subscription to them.
//!
//! The server runs a copy of the shipped deploy/nats/accounts.conf as it is, and of
//! deploy/nats/nats-server.conf with only what a test cannot use changed: its own port
//! and store directory, no monitoring port (tests run in parallel), and no
//! `sync_interval` when the installed nats-server is older than 2.10 (it rejects it).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use async_nats::{
    jetstream::{self, consumer::pull},
    ConnectOptions, Event,
};
use futures::StreamExt;
use kenduren::watch;
use kenduren_bus::{CloudEvent, StreamSettings, Subjects};
use kenduren_domain::OpdCode;
use kenduren_proto::{events::v1::QuestionRouted, EventMessage};
use prost::Message;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::support::eventually;

/// The prefix and stream the shipped accounts.conf was generated for.
const PREFIX: &str = "kenduren";
const STREAM: &str = "KENDUREN";

/// Kills the private server when the test ends, also when it fails.
struct PrivateServer {
    child: Child,
    dir: PathBuf,
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The nats-server binary: `KENDUREN_TEST_NATS_SERVER`, else the first on `PATH` or in
/// the sbin directories Debian's package uses.
fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KENDUREN_TEST_NATS_SERVER") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .expect(
            "nats-server not found on PATH or in /usr/sbin: install it (`sudo apt-get install -y \
             nats-server`; `make test` does so when run as root) or set KENDUREN_TEST_NATS_SERVER",
        )
}

/// (major, minor) of the binary, from `nats-server --version` ("nats-server: v2.9.10").
fn server_version(binary: &Path) -> (u32, u32) {
    let out = Command::new(binary)
        .arg("--version")
        .output()
        .expect("nats-server --version runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.rsplit('v').next().unwrap_or_default().trim();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// The shipped nats-server.conf, changed only where a test must: port, store directory,
/// monitoring port, and `sync_interval` on a server too old to know it.
fn test_server_conf(shipped: &str, port: u16, store: &Path, sync_interval_known: bool) -> String {
    let mut changed = [false; 3];
    let lines: Vec<String> = shipped
        .lines()
        .filter_map(|line| {
            let setting = line.trim_start();
            if setting.starts_with("listen:") {
                changed[0] = true;
                Some(format!("listen: 127.0.0.1:{port}"))
            } else if setting.starts_with("http:") {
                changed[1] = true;
                None
            } else if setting.starts_with("store_dir:") {
                changed[2] = true;
                Some(format!("  store_dir: \"{}\"", store.display()))
            } else if setting.starts_with("sync_interval:") && !sync_interval_known {
                None
            } else {
                Some(line.to_owned())
            }
        })
        .collect();
    assert_eq!(
        changed, [true; 3],
        "deploy/nats/nats-server.conf no longer has listen / http / store_dir where this test expects them"
    );
    lines.join("\n")
}

/// Starts nats-server with copies of the shipped configuration; every password is
/// `pw-<variable>`.
fn start_server(port: u16) -> PrivateServer {
    let dir = std::env::temp_dir().join(format!("kenduren-nats-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let shipped = repo_root().join("deploy/nats");
    std::fs::copy(shipped.join("accounts.conf"), dir.join("accounts.conf")).expect("copy accounts.conf");
    let binary = server_binary();
    let conf = dir.join("nats-server.conf");
    let text = std::fs::read_to_string(shipped.join("nats-server.conf")).expect("nats-server.conf");
    let sync_interval_known = server_version(&binary) >= (2, 10);
    std::fs::write(
        &conf,
        test_server_conf(&text, port, &dir.join("jetstream"), sync_interval_known),
    )
    .expect("server config");
    // Each user's password is an environment variable; the server parses its value as
    // config text, hence the quotes.
    let accounts = std::fs::read_to_string(dir.join("accounts.conf")).expect("accounts.conf");
    let mut command = Command::new(&binary);
    command
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for var in accounts.split('$').skip(1).filter_map(|rest| {
        let var: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        var.ends_with("_PASSWORD").then_some(var)
    }) {
        command.env(&var, format!("\"pw-{var}\""));
    }
    let child = command.spawn().expect("nats-server starts");
    PrivateServer { child, dir }
}

async fn routed_to(js: &jetstream::Context, subjects: &Subjects, opd: &str) -> String {
    let question_id = uuid::Uuid::now_v7().to_string();
    let payload = QuestionRouted {
        question_id: question_id.clone(),
        opd_code: opd.into(),
        ..Default::default()
    };
    let event = CloudEvent {
        id: uuid::Uuid::now_v7(),
        source: "/kenduren/routing".into(),
        ty: QuestionRouted::TYPE.into(),
        time: Default::default(),
        subject: question_id.clone(),
        stream_version: 2,
        causation_id: None,
        traceparent: None,
        data: payload.encode_to_vec().into(),
    };
    js.publish_with_headers(
        subjects.question(Some(opd), QuestionRouted::NAME),
        event.to_headers().expect("headers"),
        event.data.clone(),
    )
    .await
    .expect("publish")
    .await
    .expect("stored");
    question_id
}

/// Waits for the server's permissions violation that mentions `needle`.
async fn violation(events: &mut UnboundedReceiver<Event>, needle: &str) -> String {
    eventually(&format!("a permissions violation for {needle}"), || {
        let next = events.try_recv().ok();
        async move {
            match next {
                Some(Event::ServerError(e))
                    if e.to_string().to_lowercase().contains("permissions violation")
                        && e.to_string().contains(needle) =>
                {
                    Some(e.to_string())
                }
                _ => None,
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opd_nats_user_gets_its_own_events_and_is_refused_another_opds_subjects() {
    let port = free_port();
    let _server = start_server(port);
    let url = format!("nats://127.0.0.1:{port}");
    let services = eventually("the private nats-server to accept the services user", || {
        let url = url.clone();
        async move {
            ConnectOptions::new()
                .user_and_password("kenduren-services".into(), "pw-KENDUREN_SERVICES_PASSWORD".into())
                .connect(&url)
                .await
                .ok()
        }
    })
    .await;
    let subjects = Subjects::new(PREFIX).expect("prefix");
    let js = jetstream::new(services);
    kenduren_bus::ensure_stream(&js, &StreamSettings::new(STREAM, subjects.clone()))
        .await
        .expect("stream");
    let own = routed_to(&js, &subjects, "DISPENDUKCAPIL").await;
    let foreign = routed_to(&js, &subjects, "DINKES").await;

    // The OPD's side, with the same code as `kenduren watch`.
    let opd = OpdCode::parse("DISPENDUKCAPIL").expect("code");
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let client = watch::connect_options(&opd)
        .user_and_password(
            "opd-DISPENDUKCAPIL".into(),
            "pw-OPD_DISPENDUKCAPIL_PASSWORD".into(),
        )
        .event_callback(move |e| {
            let tx = events_tx.clone();
            async move {
                let _ = tx.send(e);
            }
        })
        .connect(&url)
        .await
        .expect("OPD user logs in");
    let mut opd_js = jetstream::new(client.clone());
    // A refused request gets no reply: fail fast instead of the default wait.
    opd_js.set_timeout(Duration::from_secs(2));

    // A consumer on another OPD's subjects, under its own name or the other OPD's: the
    // server refuses to forward the request (tried first, so "it already exists with
    // another filter" cannot be the reason).
    for name in ["opd-DISPENDUKCAPIL", "opd-DINKES"] {
        let refused = opd_js
            .create_consumer_on_stream(
                pull::Config {
                    durable_name: Some(name.into()),
                    filter_subject: subjects.opd("DINKES"),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ..Default::default()
                },
                STREAM,
            )
            .await;
        assert!(
            refused.is_err(),
            "{name} filtered on DINKES's subjects was created"
        );
        let message = violation(
            &mut events,
            &format!("CONSUMER.CREATE.{STREAM}.{name}.{PREFIX}.v1.question.DINKES"),
        )
        .await;
        assert!(message.to_lowercase().contains("publish"), "{message}");
    }

    let consumer = watch::consumer(&opd_js, STREAM, &subjects, &opd)
        .await
        .expect("own durable consumer");
    let mut batch = consumer
        .fetch()
        .max_messages(10)
        .expires(Duration::from_secs(1))
        .messages()
        .await
        .expect("fetch");
    let mut printed = Vec::new();
    while let Some(m) = batch.next().await {
        let m = m.expect("message");
        printed.push(watch::describe(&m));
        m.ack().await.expect("ack");
    }
    assert_eq!(printed.len(), 1, "{printed:#?}");
    assert!(
        printed[0].contains(&format!("QuestionRouted  question {own}"))
            && printed[0].contains("opd_code: \"DISPENDUKCAPIL\""),
        "{}",
        printed[0]
    );
    assert!(!printed[0].contains(&foreign), "{}", printed[0]);

    // Only the OPD's own consumer exists on the stream.
    let stream = js.get_stream(STREAM).await.expect("stream");
    let names: Vec<String> = stream
        .consumer_names()
        .map(|n| n.expect("consumer name"))
        .collect()
        .await;
    assert_eq!(names, ["opd-DISPENDUKCAPIL"]);

    // Another OPD's subjects: the server refuses the subscription.
    let mut subscription = client.subscribe(subjects.opd("DINKES")).await.expect("sent");
    routed_to(&js, &subjects, "DINKES").await;
    let message = violation(&mut events, &subjects.opd("DINKES")).await;
    assert!(message.to_lowercase().contains("subscription"), "{message}");
    let leaked = tokio::time::timeout(Duration::from_millis(500), subscription.next()).await;
    assert!(!matches!(leaked, Ok(Some(_))), "received another OPD's event");
}

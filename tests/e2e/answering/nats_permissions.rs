//! The shipped NATS permission model, on a private nats-server: an OPD's user receives
//! its own questions' events through its durable consumer, and its subscription to
//! another OPD's subjects is refused as a permissions violation.
//!
//! The users come from deploy/nats/generate-users.py (the generator of the shipped
//! accounts.conf) with this test's own prefix and stream; the server file around it is
//! minimal because the shipped nats-server.conf needs nats-server 2.10+ (sync_interval).

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
use kenduren_bus::{CloudEvent, StreamSettings, Subjects};
use kenduren_proto::{events::v1::QuestionRouted, AnyEvent, EventMessage};
use prost::Message;

use crate::support::eventually;

const SERVER: &str = "/usr/sbin/nats-server";

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

/// Starts nats-server with the generated users; every password is `pw-<user>`.
fn start_server(prefix: &str, stream: &str, port: u16) -> PrivateServer {
    let dir = std::env::temp_dir().join(format!("kenduren-nats-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let accounts = dir.join("accounts.conf");
    let generated = Command::new("python3")
        .arg(repo_root().join("deploy/nats/generate-users.py"))
        .args(["--prefix", prefix, "--stream", stream, "--out"])
        .arg(&accounts)
        .stdout(Stdio::null())
        .status()
        .expect("python3 runs the generator");
    assert!(generated.success(), "generate-users.py failed");
    let conf = dir.join("server.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{port}\njetstream {{ store_dir: \"{}\" }}\ninclude \"accounts.conf\"\n",
            dir.join("js").display()
        ),
    )
    .expect("server config");
    // Each user's password is an environment variable; the server parses its value as
    // config text, hence the quotes.
    let text = std::fs::read_to_string(&accounts).expect("accounts.conf");
    let mut command = Command::new(SERVER);
    command
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for var in text.split('$').skip(1).filter_map(|rest| {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opd_nats_user_gets_its_own_events_and_is_refused_another_opds_subjects() {
    let (prefix, stream) = ("kenduren", "KENDUREN");
    let port = free_port();
    let _server = start_server(prefix, stream, port);
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
    let subjects = Subjects::new(prefix).expect("prefix");
    let js = jetstream::new(services);
    kenduren_bus::ensure_stream(&js, &StreamSettings::new(stream, subjects.clone()))
        .await
        .expect("stream");
    let own = routed_to(&js, &subjects, "DISPENDUKCAPIL").await;
    routed_to(&js, &subjects, "DINKES").await;

    // The OPD's side, as `kenduren watch` does it.
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let opd = ConnectOptions::new()
        .user_and_password(
            "opd-DISPENDUKCAPIL".into(),
            "pw-OPD_DISPENDUKCAPIL_PASSWORD".into(),
        )
        .custom_inbox_prefix("_INBOX.opd-DISPENDUKCAPIL")
        .event_callback(move |e| {
            let tx = events_tx.clone();
            async move {
                let _ = tx.send(e);
            }
        })
        .connect(&url)
        .await
        .expect("OPD user logs in");
    let opd_js = jetstream::new(opd.clone());
    let consumer = opd_js
        .create_consumer_on_stream(
            pull::Config {
                durable_name: Some("opd-DISPENDUKCAPIL".into()),
                filter_subject: subjects.opd("DISPENDUKCAPIL"),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
            stream,
        )
        .await
        .expect("own durable consumer");
    let mut batch = consumer
        .fetch()
        .max_messages(10)
        .expires(Duration::from_secs(1))
        .messages()
        .await
        .expect("fetch");
    let mut received = Vec::new();
    while let Some(m) = batch.next().await {
        let m = m.expect("message");
        let ce = CloudEvent::from_message(m.headers.as_ref(), m.payload.clone()).expect("CloudEvent");
        let AnyEvent::QuestionRouted(routed) = AnyEvent::decode(&ce.ty, &ce.data).expect("payload") else {
            panic!("unexpected {}", ce.ty);
        };
        m.ack().await.expect("ack");
        received.push((routed.question_id, routed.opd_code));
    }
    assert_eq!(received, [(own.clone(), "DISPENDUKCAPIL".to_owned())]);

    // Another OPD's subjects: the server refuses the subscription.
    let mut foreign = opd.subscribe(subjects.opd("DINKES")).await.expect("sent");
    routed_to(&js, &subjects, "DINKES").await;
    let violation = eventually("a permissions violation for DINKES's subjects", || {
        let next = events.try_recv().ok();
        async move {
            match next {
                Some(Event::ServerError(e))
                    if e.to_string().to_lowercase().contains("permissions violation") =>
                {
                    Some(e.to_string())
                }
                _ => None,
            }
        }
    })
    .await;
    assert!(violation.contains("DINKES"), "{violation}");
    let leaked = tokio::time::timeout(Duration::from_millis(500), foreign.next()).await;
    assert!(!matches!(leaked, Ok(Some(_))), "received another OPD's event");
}

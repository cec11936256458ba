//! gRPC over TLS and NATS over TLS, set up the two ways an operator can: in process
//! (mutual TLS required: a question flows end to end, answering reaches intake over
//! mutual TLS for the contact), and the `kenduren` binary configured only by the
//! documented `KENDUREN_*TLS*` environment variables (server-only TLS, then mutual TLS
//! once `KENDUREN_TLS_CLIENT_CA` is set). Each time a caller without TLS, or without a
//! client certificate where one is required, is turned away by the transport: the
//! refusals are health checks, which need no token, so they cannot pass by being
//! UNAUTHENTICATED.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{backbone_env, binary, free_port, mint, Reaped, Scratch};

use kenduren::{reference, RunningSystem, ServiceAddrs};
use kenduren_auth::{BearerToken, TokenKey};
use kenduren_proto::{
    answering::v1::{answering_service_client::AnsweringServiceClient, GetQuestionRequest},
    events::v1::{Channel, Location, QuestionKind},
    intake::v1::{intake_service_client::IntakeServiceClient, Citizen, SubmitQuestionRequest},
};
use kenduren_runtime::{BackboneSettings, TlsSettings};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tonic::{
    service::interceptor::InterceptedService,
    transport::{Certificate, ClientTlsConfig, Endpoint, Identity},
};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

#[allow(dead_code)]
mod common;

struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// A CA, a certificate for 127.0.0.1/localhost (services and NATS) and a client certificate.
    fn new(dir: &Path) -> Self {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("key")).expect("ca");
        let write = |name: &str, text: String| std::fs::write(dir.join(name), text).expect("write pem");
        write("ca.pem", ca.pem());
        for (name, sans) in [
            ("server", vec!["localhost".to_owned(), "127.0.0.1".to_owned()]),
            ("client", vec!["answering".to_owned()]),
        ] {
            let key = KeyPair::generate().expect("key");
            let cert = CertificateParams::new(sans)
                .expect("params")
                .signed_by(&key, &ca)
                .expect("sign");
            write(&format!("{name}.pem"), cert.pem());
            write(&format!("{name}.key"), key.serialize_pem());
        }
        Self { dir: dir.to_owned() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).expect("pem")
    }
}

/// A private nats-server that only speaks TLS.
fn start_nats(pki: &Pki, port: u16) -> Child {
    let store = pki.dir.join("jetstream");
    let config = pki.dir.join("nats.conf");
    std::fs::write(
        &config,
        format!(
            "listen: 127.0.0.1:{port}\njetstream {{ store_dir: {:?} }}\ntls {{ cert_file: {:?}, key_file: {:?} }}\n",
            store,
            pki.path("server.pem"),
            pki.path("server.key")
        ),
    )
    .expect("nats config");
    Command::new(std::env::var("KENDUREN_TEST_NATS_SERVER").unwrap_or_else(|_| "nats-server".into()))
        .arg("-c")
        .arg(&config)
        .spawn()
        .expect("nats-server starts (install the nats-server package)")
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What both tests run against: a temporary directory holding a PKI, a nats-server
/// there that only speaks TLS, and a scratch database.
struct World {
    dir: PathBuf,
    pki: Pki,
    nats_port: u16,
    nats: Reaped,
    db: Scratch,
}

impl World {
    /// Everything set up under a fresh directory named `tag-<uuid>`.
    async fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{tag}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let pki = Pki::new(&dir);
        let nats_port = free_port();
        let nats = Reaped(start_nats(&pki, nats_port));
        wait_for_port(nats_port, "nats-server");
        let db = Scratch::new().await;
        Self {
            dir,
            pki,
            nats_port,
            nats,
            db,
        }
    }

    /// Deletes the stream through `js` (the private NATS speaks only TLS), stops that
    /// NATS, drops the database and removes the directory.
    async fn clean_up(self, js: &async_nats::jetstream::Context) {
        let _ = js.delete_stream(self.db.stream()).await;
        drop(self.nats);
        self.db.drop_database().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Why a health check got no answer.
#[derive(Debug)]
enum Refusal {
    /// The connection was refused while it was being set up.
    Connect(tonic::transport::Error),
    /// The connection came up (TLS 1.3 lets a client finish its side first) but the
    /// call failed.
    Call(tonic::Status),
}

/// `grpc.health.v1.Health/Check` over `endpoint`: the serving status, or why there
/// was none. Bounded, so a server that hangs on a stranger fails rather than stalls.
async fn health(endpoint: Endpoint) -> Result<i32, Refusal> {
    let channel = endpoint
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(Refusal::Connect)?;
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map_err(Refusal::Call)?;
    Ok(reply.into_inner().status)
}

/// The error chain of `e`, outermost first.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        text.push_str(&format!(": {cause}"));
        next = cause.source();
    }
    text
}

/// The health check needs no token, so a server that served `endpoint` would answer
/// it: only a refusal by the transport passes here. A status the client made from a
/// broken connection carries the transport error as its source (its code varies with
/// how the connection broke: INTERNAL for a peer not speaking HTTP/2, CANCELLED for one
/// that hung up, UNKNOWN for a TLS alert); a status a server sent has no source.
async fn assert_turned_away(endpoint: Endpoint, who: &str) {
    match health(endpoint).await {
        Ok(status) => panic!("{who} was answered: health status {status}"),
        Err(Refusal::Connect(e)) => eprintln!("{who}: refused while connecting: {}", chain(&e)),
        Err(Refusal::Call(status)) => {
            let transport = std::error::Error::source(&status)
                .is_some_and(|e| e.downcast_ref::<tonic::transport::Error>().is_some());
            assert!(
                transport,
                "{who} was refused with {:?} ({}), not by the transport",
                status.code(),
                chain(&status)
            );
            eprintln!("{who}: connection broken at the first call: {}", chain(&status));
        }
    }
}

fn https(addr: impl std::fmt::Display, tls: ClientTlsConfig) -> Endpoint {
    Endpoint::from_shared(format!("https://{addr}"))
        .expect("uri")
        .tls_config(tls)
        .expect("tls")
}

fn http(addr: impl std::fmt::Display) -> Endpoint {
    Endpoint::from_shared(format!("http://{addr}")).expect("uri")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_and_nats_talk_only_tls_and_mutual_tls_keeps_strangers_out() {
    let world = World::new("kenduren-tls").await;
    let (pki, db, nats_port) = (&world.pki, &world.db, world.nats_port);
    let key_text = TokenKey::generate_base64();
    let settings = BackboneSettings {
        database_url: db.url.clone(),
        nats_url: format!("nats://127.0.0.1:{nats_port}"),
        stream: db.stream(),
        subject_prefix: db.prefix(),
        auth_key: key_text.clone(),
        pool_size: 2,
        tls: TlsSettings {
            server_cert: Some(pki.path("server.pem")),
            server_key: Some(pki.path("server.key")),
            client_ca: Some(pki.path("ca.pem")),
            ca: Some(pki.path("ca.pem")),
            client_cert: Some(pki.path("client.pem")),
            client_key: Some(pki.path("client.key")),
            nats_ca: Some(pki.path("ca.pem")),
            ..Default::default()
        },
        ..BackboneSettings::default()
    };
    let system = RunningSystem::start(
        settings,
        ServiceAddrs::ephemeral(),
        reference::load(None).expect("reference"),
    )
    .await
    .expect("services start over TLS");
    let key = TokenKey::from_base64(&key_text).expect("key");
    let token = |role: &str| mint(&key, "tls", role);
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(pki.read("ca.pem")))
        .identity(Identity::from_pem(pki.read("client.pem"), pki.read("client.key")));
    let secure = |addr: std::net::SocketAddr, role: &str| {
        let tls = tls.clone();
        let bearer = BearerToken::new(&token(role)).expect("token");
        async move {
            let channel = Endpoint::from_shared(format!("https://{addr}"))
                .expect("uri")
                .tls_config(tls)
                .expect("tls")
                .connect()
                .await
                .expect("TLS connection");
            InterceptedService::new(channel, bearer)
        }
    };

    let a = system.addrs;
    let mut desk = IntakeServiceClient::new(secure(a.intake, "desk").await);
    let submitted = desk
        .submit_question(SubmitQuestionRequest {
            request_id: "tls-1".into(),
            kind: QuestionKind::Question as i32,
            category: "kependudukan".into(),
            text: "KTP hilang".into(),
            channel: Channel::Web as i32,
            location: Some(Location {
                kecamatan: "Bangil".into(),
                ..Default::default()
            }),
            citizen: Some(Citizen {
                name: "Ani".into(),
                phone: "081200000000".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("submitted over TLS")
        .into_inner();

    // Routed through NATS over TLS, and the contact fetched from intake over mutual TLS.
    let mut opd = AnsweringServiceClient::new(secure(a.answering, "opd:DISPENDUKCAPIL").await);
    let deadline = Instant::now() + Duration::from_secs(20);
    let question = loop {
        let got = opd
            .get_question(GetQuestionRequest {
                question_id: submitted.question_id.clone(),
                opd_code: String::new(),
            })
            .await;
        if let Ok(r) = got {
            break r.into_inner().question.expect("question");
        }
        assert!(
            Instant::now() < deadline,
            "question never reached the OPD over TLS"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(question.contact.expect("contact over mutual TLS").name, "Ani");

    // The same health check that a caller with the client certificate gets answered
    // is turned away in plaintext, and over TLS without a client certificate.
    let ca_only = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pki.read("ca.pem")));
    for addr in [a.intake, a.routing, a.answering, a.reporting] {
        let served = health(https(addr, tls.clone()))
            .await
            .expect("health over mutual TLS");
        assert_eq!(served, ServingStatus::Serving as i32, "{addr} over mutual TLS");
        assert_turned_away(http(addr), &format!("a plaintext caller of {addr}")).await;
        assert_turned_away(
            https(addr, ca_only.clone()),
            &format!("a caller of {addr} without a client certificate"),
        )
        .await;
    }

    let js = system.backbone.jetstream.clone();
    system.stop().await.expect("stops");
    world.clean_up(&js).await;
}

/// `kenduren intake` configured only through the environment, as in a container.
struct Intake<'a> {
    pki: &'a Pki,
    db: &'a Scratch,
    nats_port: u16,
    port: u16,
    key: &'a str,
}

impl Intake<'_> {
    /// Starts the binary with server TLS and NATS TLS from `KENDUREN_*` variables;
    /// `mutual` adds `KENDUREN_TLS_CLIENT_CA`, which makes a client certificate required.
    fn start(&self, mutual: bool) -> Reaped {
        let mut command = Command::new(binary());
        command.arg("intake");
        backbone_env(
            &mut command,
            self.db,
            &format!("nats://127.0.0.1:{}", self.nats_port),
            self.key,
        )
        .env("KENDUREN_NATS_TLS_CA", self.pki.path("ca.pem"))
        .env("KENDUREN_LISTEN_ADDR", format!("127.0.0.1:{}", self.port))
        .env("KENDUREN_TLS_CERT", self.pki.path("server.pem"))
        .env("KENDUREN_TLS_KEY", self.pki.path("server.key"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
        if mutual {
            command.env("KENDUREN_TLS_CLIENT_CA", self.pki.path("ca.pem"));
        } else {
            command.env_remove("KENDUREN_TLS_CLIENT_CA");
        }
        Reaped(command.spawn().expect("kenduren intake starts"))
    }

    /// Waits until a caller with `tls` gets SERVING.
    async fn wait_serving(&self, tls: &ClientTlsConfig) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = health(https(format!("127.0.0.1:{}", self.port), tls.clone())).await;
            if matches!(got, Ok(s) if s == ServingStatus::Serving as i32) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "intake over TLS never SERVING: {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `kenduren submit` as the desk, TLS set by `KENDUREN_TLS_CA` and, with
    /// `certificate`, `KENDUREN_TLS_CLIENT_CERT`/`_KEY`: whether it was accepted, and
    /// what it printed.
    fn submit(&self, certificate: bool) -> (bool, String) {
        let token = mint(&TokenKey::from_base64(self.key).expect("key"), "tls", "desk");
        let mut command = Command::new(binary());
        command
            .args(["submit", "--text", "KTP hilang", "--category", "kependudukan"])
            .args([
                "--kecamatan",
                "Bangil",
                "--name",
                "Ani",
                "--phone",
                "081200000000",
            ])
            .env("KENDUREN_INTAKE_URL", format!("https://127.0.0.1:{}", self.port))
            .env("KENDUREN_TOKEN", token)
            .env("KENDUREN_TLS_CA", self.pki.path("ca.pem"))
            .env_remove("KENDUREN_TLS_CLIENT_CERT")
            .env_remove("KENDUREN_TLS_CLIENT_KEY");
        if certificate {
            command
                .env("KENDUREN_TLS_CLIENT_CERT", self.pki.path("client.pem"))
                .env("KENDUREN_TLS_CLIENT_KEY", self.pki.path("client.key"));
        }
        let out = command.output().expect("kenduren submit runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_takes_tls_from_the_environment_server_only_then_mutual() {
    let world = World::new("kenduren-tls-env").await;
    let (pki, db, nats_port) = (&world.pki, &world.db, world.nats_port);
    let key = TokenKey::generate_base64();
    let intake = Intake {
        pki,
        db,
        nats_port,
        port: free_port(),
        key: &key,
    };
    let addr = format!("127.0.0.1:{}", intake.port);
    let ca_only = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pki.read("ca.pem")));
    let with_certificate = ca_only
        .clone()
        .identity(Identity::from_pem(pki.read("client.pem"), pki.read("client.key")));

    // Server-only TLS: a caller that trusts the CA is served without a certificate of
    // its own; a plaintext caller is not.
    let child = intake.start(false);
    intake.wait_serving(&ca_only).await;
    let (accepted, printed) = intake.submit(false);
    assert!(accepted, "submit over server-only TLS: {printed}");
    assert!(printed.contains("ticket"), "no ticket printed: {printed}");
    assert_turned_away(http(&addr), "a plaintext caller of server-only TLS").await;

    // The submission reached the NATS server, which speaks only TLS.
    let nats_tls = kenduren_bus::NatsTls {
        ca: pki.path("ca.pem"),
        client_cert: None,
    };
    let client = kenduren_bus::connect_with_tls(
        &format!("nats://127.0.0.1:{nats_port}"),
        "tls-test",
        Some(&nats_tls),
    )
    .await
    .expect("NATS over TLS");
    let js = async_nats::jetstream::new(client);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let on_stream = match js.get_stream(db.stream()).await {
            Ok(mut stream) => stream.info().await.map(|i| i.state.messages).unwrap_or(0),
            Err(_) => 0,
        };
        if on_stream >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the submission never reached NATS over TLS"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(child);

    // With KENDUREN_TLS_CLIENT_CA set, a client certificate is required.
    let child = intake.start(true);
    intake.wait_serving(&with_certificate).await;
    assert_turned_away(
        https(&addr, ca_only.clone()),
        "a caller without a client certificate of mutual TLS",
    )
    .await;
    assert_turned_away(http(&addr), "a plaintext caller of mutual TLS").await;
    let (accepted, printed) = intake.submit(false);
    assert!(
        !accepted,
        "submit without a client certificate was accepted: {printed}"
    );
    let (accepted, printed) = intake.submit(true);
    assert!(accepted, "submit with the client certificate: {printed}");
    drop(child);

    world.clean_up(&js).await;
}

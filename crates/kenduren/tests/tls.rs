//! gRPC over TLS with mutual TLS required, and NATS over TLS: a question flows end to
//! end, answering reaches intake over mutual TLS for the contact, and a caller without
//! TLS or without a client certificate is turned away.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};

use kenduren::{reference, RunningSystem, ServiceAddrs};
use kenduren_auth::{BearerToken, TokenKey};
use kenduren_proto::{
    answering::v1::{answering_service_client::AnsweringServiceClient, GetQuestionRequest},
    events::v1::{Channel, Location, QuestionKind},
    intake::v1::{intake_service_client::IntakeServiceClient, Citizen, SubmitQuestionRequest},
};
use kenduren_runtime::{BackboneSettings, TlsSettings};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use sqlx::{Connection, Executor, PgConnection};
use tonic::{
    service::interceptor::InterceptedService,
    transport::{Certificate, ClientTlsConfig, Endpoint, Identity},
};

fn admin_url() -> String {
    std::env::var("KENDUREN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_and_nats_talk_only_tls_and_mutual_tls_keeps_strangers_out() {
    let dir = std::env::temp_dir().join(format!("kenduren-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pki = Pki::new(&dir);
    let nats_port = free_port();
    let mut nats = start_nats(&pki, nats_port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", nats_port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }

    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut admin = PgConnection::connect(&admin_url()).await.expect("postgres");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE kt_{id}")))
        .await
        .expect("create database");
    let base = admin_url();
    let key_text = TokenKey::generate_base64();
    let settings = BackboneSettings {
        database_url: format!("{}kt_{id}", &base[..=base.rfind('/').expect("path")]),
        nats_url: format!("nats://127.0.0.1:{nats_port}"),
        stream: format!("KT_{id}"),
        subject_prefix: format!("kt{}", &id[..12]),
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
    let token = |role: &str| {
        key.mint("tls", &role.parse().expect("role"), Duration::from_secs(600))
            .expect("token")
    };
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

    // Plaintext, and TLS without a client certificate, are refused.
    let plain = Endpoint::from_shared(format!("http://{}", a.intake))
        .expect("uri")
        .connect()
        .await;
    if let Ok(channel) = plain {
        let refused = IntakeServiceClient::new(channel)
            .track_question(kenduren_proto::intake::v1::TrackQuestionRequest::default())
            .await;
        assert!(refused.is_err(), "a plaintext call was answered");
    }
    let anonymous_tls = Endpoint::from_shared(format!("https://{}", a.intake))
        .expect("uri")
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pki.read("ca.pem"))))
        .expect("tls")
        .connect()
        .await;
    if let Ok(channel) = anonymous_tls {
        let refused = IntakeServiceClient::new(channel)
            .track_question(kenduren_proto::intake::v1::TrackQuestionRequest::default())
            .await;
        assert!(
            refused.is_err(),
            "a caller without a client certificate was answered"
        );
    }

    let js = system.backbone.jetstream.clone();
    system.stop().await.expect("stops");
    let _ = js.delete_stream(format!("KT_{id}")).await;
    let _ = nats.kill();
    let _ = nats.wait();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS kt_{id} WITH (FORCE)"
        )))
        .await
        .expect("drop database");
    let _ = std::fs::remove_dir_all(&dir);
}

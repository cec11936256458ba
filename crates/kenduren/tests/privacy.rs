//! A citizen's name and phone reach only intake's sealed store and an authorised OPD:
//! never the NATS stream, a log line at any level, reporting, or Postgres in readable
//! form — and `EraseCitizen` makes them unreadable for good while the question stays.
//! Runs the real binary (`kenduren dev`) with logging at TRACE.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures::StreamExt;
use kenduren_auth::{BearerToken, TokenKey};
use kenduren_proto::{
    answering::v1::{
        answering_service_client::AnsweringServiceClient, AnswerQuestionRequest, GetQuestionRequest,
    },
    events::v1::{Channel, Location, QuestionKind},
    intake::v1::{
        intake_service_client::IntakeServiceClient, Citizen, EraseCitizenRequest, SubmitQuestionRequest,
        TrackQuestionRequest,
    },
    reporting::v1::{reporting_service_client::ReportingServiceClient, GetQuestionTimelineRequest},
};
use sqlx::{Connection, Executor, PgConnection};
use tonic::{service::interceptor::InterceptedService, transport::Endpoint};

fn admin_url() -> String {
    std::env::var("KENDUREN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn nats_url() -> String {
    std::env::var("KENDUREN_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

type Authed = InterceptedService<tonic::transport::Channel, BearerToken>;

async fn channel(port: u16, key: &TokenKey, role: &str) -> Authed {
    let token = key
        .mint(
            "privacy-test",
            &role.parse().expect("role"),
            Duration::from_secs(600),
        )
        .expect("token");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(ch) = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("uri")
            .connect()
            .await
        {
            return InterceptedService::new(ch, BearerToken::new(&token).expect("token"));
        }
        assert!(Instant::now() < deadline, "service on {port} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Dev {
    child: Child,
    log: std::path::PathBuf,
}

fn start_dev(
    database_url: &str,
    stream: &str,
    prefix: &str,
    key: &str,
    ports: [u16; 4],
    log: std::path::PathBuf,
) -> Dev {
    let file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_kenduren"))
        .arg("dev")
        .env("KENDUREN_DATABASE_URL", database_url)
        .env("KENDUREN_NATS_URL", nats_url())
        .env("KENDUREN_STREAM", stream)
        .env("KENDUREN_SUBJECT_PREFIX", prefix)
        .env("KENDUREN_AUTH_KEY", key)
        .env("KENDUREN_METRICS_ADDR", "off")
        .env("KENDUREN_POOL_SIZE", "2")
        .env("KENDUREN_INTAKE_ADDR", format!("127.0.0.1:{}", ports[0]))
        .env("KENDUREN_ROUTING_ADDR", format!("127.0.0.1:{}", ports[1]))
        .env("KENDUREN_ANSWERING_ADDR", format!("127.0.0.1:{}", ports[2]))
        .env("KENDUREN_REPORTING_ADDR", format!("127.0.0.1:{}", ports[3]))
        .env("RUST_LOG", "trace")
        .env("KENDUREN_LOG_FORMAT", "json")
        .stdout(Stdio::from(file.try_clone().expect("log file")))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("kenduren dev starts");
    Dev { child, log }
}

/// `needle` as text, and as Postgres prints it inside bytea (`\x…` hex).
fn forms(needle: &str) -> [String; 2] {
    [needle.to_owned(), hex_lower(needle.as_bytes())]
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizens_name_and_phone_appear_nowhere_but_the_sealed_store_and_erasure_is_final() {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("Wulandari Kusumaningtyas {}", &id[..6]);
    let phone = format!(
        "0812{}",
        &id.chars()
            .filter(char::is_ascii_digit)
            .chain("98765432".chars())
            .take(8)
            .collect::<String>()
    );
    let mut admin = PgConnection::connect(&admin_url()).await.expect("postgres");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE kt_{id}")))
        .await
        .expect("create database");
    let base = admin_url();
    let database_url = format!("{}kt_{id}", &base[..=base.rfind('/').expect("path")]);
    let (stream, prefix) = (format!("KT_{id}"), format!("kt{}", &id[..12]));
    let key_text = TokenKey::generate_base64();
    let key = TokenKey::from_base64(&key_text).expect("key");
    let ports = [free_port(), free_port(), free_port(), free_port()];
    let log = std::env::temp_dir().join(format!("kenduren-privacy-{id}.log"));
    let mut dev = start_dev(&database_url, &stream, &prefix, &key_text, ports, log);

    let mut desk = IntakeServiceClient::new(channel(ports[0], &key, "desk").await);
    let submitted = eventually("intake to accept the submission", || {
        let mut desk = desk.clone();
        let request = SubmitQuestionRequest {
            request_id: "privacy-1".into(),
            kind: QuestionKind::Question as i32,
            category: "kependudukan".into(),
            text: "Bagaimana mengurus akta kelahiran?".into(),
            channel: Channel::Web as i32,
            location: Some(Location {
                kecamatan: "Bangil".into(),
                ..Default::default()
            }),
            citizen: Some(Citizen {
                name: name.clone(),
                phone: phone.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
        async move { desk.submit_question(request).await.ok().map(|r| r.into_inner()) }
    })
    .await;
    let qid = submitted.question_id.clone();

    let opd = AnsweringServiceClient::new(channel(ports[2], &key, "opd:DISPENDUKCAPIL").await);
    let question = eventually("the question in the OPD's inbox", || {
        let mut opd = opd.clone();
        let qid = qid.clone();
        async move {
            opd.get_question(GetQuestionRequest {
                question_id: qid,
                opd_code: String::new(),
            })
            .await
            .ok()?
            .into_inner()
            .question
        }
    })
    .await;
    let contact = question.contact.expect("the assigned OPD gets the contact");
    assert_eq!(
        (contact.name.as_str(), contact.phone.as_str()),
        (name.as_str(), phone.as_str())
    );
    opd.clone()
        .answer_question(AnswerQuestionRequest {
            question_id: qid.clone(),
            answer: "Datang ke kantor dengan surat keterangan lahir.".into(),
            responder_name: "Budi".into(),
            ..Default::default()
        })
        .await
        .expect("answered");
    let reporting = ReportingServiceClient::new(channel(ports[3], &key, "analyst").await);
    let timeline = eventually("reporting to see the answer", || {
        let mut reporting = reporting.clone();
        let qid = qid.clone();
        async move {
            let t = reporting
                .get_question_timeline(GetQuestionTimelineRequest { question_id: qid })
                .await
                .ok()?;
            (t.get_ref().events.len() >= 3).then(|| format!("{:?}", t.into_inner()))
        }
    })
    .await;

    // Erase: the identity is gone, the question and its history stay.
    let mut as_admin = IntakeServiceClient::new(channel(ports[0], &key, "admin").await);
    let erased = as_admin
        .erase_citizen(EraseCitizenRequest {
            ticket: submitted.ticket.clone(),
            reason: "permintaan warga".into(),
        })
        .await
        .expect("erased")
        .into_inner();
    assert!(erased.erased);
    let again = as_admin
        .erase_citizen(EraseCitizenRequest {
            ticket: submitted.ticket.clone(),
            reason: String::new(),
        })
        .await
        .expect("erasing again is harmless")
        .into_inner();
    assert!(!again.erased);
    let after = opd
        .clone()
        .get_question(GetQuestionRequest {
            question_id: qid.clone(),
            opd_code: String::new(),
        })
        .await
        .expect("the question stays")
        .into_inner()
        .question
        .expect("question");
    assert!(after.contact.is_none(), "contact still readable after erasure");
    let tracked = desk
        .track_question(TrackQuestionRequest {
            ticket: submitted.ticket.clone(),
            tracking_pin: submitted.tracking_pin.clone(),
        })
        .await
        .expect("tracking still works")
        .into_inner();
    assert!(tracked.timeline.iter().any(|e| e.event_type == "CitizenErased"));

    // Stop, then look everywhere.
    let _ = Command::new("kill")
        .args(["-TERM", &dev.child.id().to_string()])
        .status();
    let _ = dev.child.wait();

    let mut found = Vec::new();
    let logs = std::fs::read_to_string(&dev.log).expect("log");
    assert!(
        logs.lines().count() > 100,
        "expected a TRACE-level log, got {} lines",
        logs.lines().count()
    );
    for needle in [&name, &phone] {
        if logs.contains(needle.as_str()) {
            found.push(format!("log contains {needle:?}"));
        }
        if timeline.contains(needle.as_str()) {
            found.push(format!("reporting timeline contains {needle:?}"));
        }
    }

    let js = async_nats::jetstream::new(async_nats::connect(nats_url()).await.expect("nats"));
    let mut s = js.get_stream(&stream).await.expect("stream");
    let total = s.info().await.expect("info").state.messages;
    let consumer = s
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
        .await
        .expect("consumer");
    let mut messages = consumer.messages().await.expect("messages").take(total as usize);
    let (mut erased_events, mut text_seen) = (0, false);
    while let Some(Ok(m)) = messages.next().await {
        // Control: the search does see what is on the stream (the question's text is).
        text_seen |= String::from_utf8_lossy(&m.payload).contains("akta kelahiran");
        let headers = format!("{:?}", m.headers);
        let payload = String::from_utf8_lossy(&m.payload);
        erased_events += usize::from(headers.contains("kenduren.events.v1.CitizenErased"));
        for needle in [&name, &phone] {
            if headers.contains(needle.as_str()) || payload.contains(needle.as_str()) {
                found.push(format!("stream message {} contains {needle:?}", m.subject));
            }
        }
    }
    assert_eq!(erased_events, 1, "exactly one audit event of the erasure");
    assert!(
        text_seen,
        "control failed: the question text was not found on the stream"
    );

    let mut db = PgConnection::connect(&database_url)
        .await
        .expect("service database");
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema, table_name FROM information_schema.tables
         WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_all(&mut db)
    .await
    .expect("tables");
    let mut text_tables = 0;
    for (schema, table) in tables {
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            r#"SELECT t::text FROM "{schema}"."{table}" t"#
        )))
        .fetch_all(&mut db)
        .await
        .expect("rows");
        // Control: the same search finds the question's text (plain or inside bytea).
        text_tables += usize::from(
            forms("akta kelahiran")
                .iter()
                .any(|f| rows.iter().any(|(r,)| r.contains(f))),
        );
        for needle in [&name, &phone] {
            for form in forms(needle) {
                if rows.iter().any(|(r,)| r.contains(&form)) {
                    found.push(format!("{schema}.{table} contains {needle:?}"));
                }
            }
        }
    }
    assert!(
        text_tables >= 4,
        "control failed: question text found in only {text_tables} tables"
    );
    assert!(found.is_empty(), "identity leaked: {found:#?}");

    let _ = js.delete_stream(&stream).await;
    drop(db);
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS kt_{id} WITH (FORCE)"
        )))
        .await
        .expect("drop database");
    let _ = std::fs::remove_file(&dev.log);
}

//! Prometheus series that exist and move when work happens.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    support::{in_inbox, TestSystem},
    walking_skeleton::ktp_question,
};

async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("metrics endpoint");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .expect("request");
    let mut body = String::new();
    stream.read_to_string(&mut body).await.expect("response");
    body
}

/// The sum of a series' samples whose label set contains every `labels` pair.
fn value(body: &str, name: &str, labels: &[&str]) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Holds the intake relay back: ends the session of the active relay (found in
/// `pg_locks`) and takes its advisory lock before the relay retries (it does every second).
async fn hold_intake_relay(database_url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    let key = kenduren_store::relay_lock_key("intake");
    let mut db = sqlx::PgConnection::connect(database_url).await.expect("database");
    let holder: i32 = sqlx::query_scalar(
        "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
         WHERE d.datname = current_database() AND l.locktype = 'advisory' AND l.granted
           AND l.classid = (($1::bigint >> 32) & 4294967295)::oid
           AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1",
    )
    .bind(key)
    .fetch_one(&mut db)
    .await
    .expect("the intake relay holds its lock");
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(holder)
        .execute(&mut db)
        .await
        .expect("terminate");
    // The relay notices at its next round (up to a second); the test asks every 10 ms.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut db)
            .await
            .expect("try lock");
        if locked {
            return db;
        }
        assert!(tokio::time::Instant::now() < deadline, "the relay kept its lock");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_the_named_series_and_they_move_with_work() {
    use sqlx::{Connection, Executor};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    kenduren_runtime::metrics::install_exporter(addr).expect("exporter");
    let mut sys = TestSystem::start().await;
    let url = sys.settings.database_url.clone();
    let before = scrape(addr).await;

    // A refused call is counted with its code.
    let mut empty = ktp_question("metrics-bad");
    empty.text = String::new();
    let refused = sys
        .intake
        .submit_question(empty)
        .await
        .expect_err("empty text refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);

    // The relay is held back and routing cannot finish applying: work piles up.
    let relay_lock = hold_intake_relay(&url).await;
    let mut routing_lock = sqlx::PgConnection::connect(&url).await.expect("database");
    routing_lock.execute("BEGIN").await.expect("begin");
    routing_lock
        .execute("LOCK TABLE routing.inbox IN SHARE MODE")
        .await
        .expect("lock routing's inbox");
    let submitted = sys
        .intake
        .submit_question(ktp_question("metrics-1"))
        .await
        .expect("submitted")
        .into_inner();
    let intake = ["service=\"intake\""];
    eventually_scraped(addr, "an outbox backlog with an age", |body| {
        value(body, "kenduren_outbox_backlog", &intake) >= 1.0
            && value(body, "kenduren_outbox_oldest_age_seconds", &intake) > 0.0
    })
    .await;
    relay_lock.close().await.expect("release the relay");
    let routing = ["consumer=\"routing\""];
    eventually_scraped(addr, "routing's consumer lagging", |body| {
        value(body, "kenduren_consumer_lag", &routing) >= 1.0
    })
    .await;
    routing_lock.execute("ROLLBACK").await.expect("release routing");
    in_inbox(&sys.answering, &submitted.question_id).await;

    // A month later the question is late: routing escalates it.
    let month_later = std::time::SystemTime::now() + Duration::from_secs(30 * 24 * 3600);
    let escalated = sys
        .routing
        .run_escalations(kenduren_proto::routing::v1::RunEscalationsRequest {
            as_of: Some(prost_types::Timestamp::from(month_later)),
        })
        .await
        .expect("escalation sweep")
        .into_inner();
    assert!(!escalated.escalated.is_empty());

    // A message no service can decode is parked by every consumer of its subject.
    let nats = async_nats::connect(&sys.settings.nats_url).await.expect("nats");
    let subjects = kenduren_bus::Subjects::new(&sys.settings.subject_prefix).expect("prefix");
    async_nats::jetstream::new(nats)
        .publish(subjects.question(None, "Poison"), "not a cloud event".into())
        .await
        .expect("publish")
        .await
        .expect("stored");
    let after = eventually_scraped(addr, "dead letter counted, backlog and lag back to 0", |body| {
        value(body, "kenduren_dead_letters", &routing) > value(&before, "kenduren_dead_letters", &routing)
            && value(body, "kenduren_outbox_backlog", &intake) == 0.0
            && value(body, "kenduren_outbox_oldest_age_seconds", &intake) == 0.0
            && value(body, "kenduren_consumer_lag", &routing) == 0.0
    })
    .await;

    for (series, labels) in [
        (
            "kenduren_rpc_requests_total",
            &["service=\"intake\"", "method=\"SubmitQuestion\"", "code=\"Ok\""][..],
        ),
        (
            "kenduren_rpc_requests_total",
            &[
                "service=\"intake\"",
                "method=\"SubmitQuestion\"",
                "code=\"InvalidArgument\"",
            ][..],
        ),
        (
            "kenduren_rpc_duration_seconds_count",
            &["service=\"intake\"", "method=\"SubmitQuestion\"", "code=\"Ok\""][..],
        ),
        (
            "kenduren_rpc_duration_seconds_count",
            &["method=\"SubmitQuestion\"", "code=\"InvalidArgument\""][..],
        ),
        ("kenduren_events_appended_total", &["service=\"intake\""][..]),
        (
            "kenduren_events_published_total",
            &["source=\"/kenduren/intake\""][..],
        ),
        (
            "kenduren_events_consumed_total",
            &["consumer=\"routing\"", "outcome=\"applied\""][..],
        ),
        (
            "kenduren_events_consumed_total",
            &["consumer=\"routing\"", "outcome=\"dead_lettered\""][..],
        ),
        ("kenduren_escalations_total", &["level=\"1\""][..]),
    ] {
        assert!(
            value(&after, series, labels) > value(&before, series, labels),
            "{series} {labels:?} did not move"
        );
    }
    sys.stop().await;
}

/// Scrapes until `check` holds (the sampler writes the gauges every 5 s); returns the body.
async fn eventually_scraped(addr: std::net::SocketAddr, what: &str, check: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let body = scrape(addr).await;
        if check(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

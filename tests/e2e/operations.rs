//! What operators rely on: one trace per question across services, and Prometheus
//! series that move when work happens.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    support::{eventually, in_inbox, TestSystem},
    walking_skeleton::ktp_question,
};

fn attribute(span: &kenduren_telemetry::SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_from_intake_routing_and_answering_share_the_submitters_trace() {
    let spans = kenduren_telemetry::install_in_memory_exporter();
    let mut sys = TestSystem::start().await;
    let trace_id = format!("{:032x}", rand_u128());
    let mut request = tonic::Request::new(ktp_question("trace-1"));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01")
            .parse()
            .expect("header"),
    );
    let submitted = sys
        .intake
        .submit_question(request)
        .await
        .expect("submitted")
        .into_inner();

    in_inbox(&sys.answering, &submitted.question_id).await;
    // Routing applies the submission in this trace and routes it; answering, reporting and
    // intake apply the routed event in the same trace.
    eventually(
        "the RPC and every service's consumer spans in the submitter's trace",
        || {
            let found = kenduren_telemetry::spans_in_trace(&spans, &trace_id);
            let consumers: Vec<String> = found.iter().filter_map(|s| attribute(s, "consumer")).collect();
            let rpc = found.iter().any(|s| s.name.contains("SubmitQuestion"));
            let all = ["routing", "answering", "reporting", "intake"]
                .iter()
                .all(|c| consumers.iter().any(|x| x == c));
            // The relay's send of the submission, in the same trace.
            let publish = found.iter().any(|s| {
                s.name.ends_with(" publish")
                    && s.span_kind == kenduren_telemetry::SpanKind::Producer
                    && attribute(s, "messaging.system").as_deref() == Some("nats")
                    && attribute(s, "messaging.destination.name").is_some_and(|d| s.name.starts_with(&d))
                    && attribute(s, "messaging.message.id")
                        .is_some_and(|id| uuid::Uuid::parse_str(&id).is_ok())
            });
            std::future::ready((rpc && all && publish).then_some(()))
        },
    )
    .await;
    // Consumers are children of a publish span: the send sits between append and handling.
    let found = kenduren_telemetry::spans_in_trace(&spans, &trace_id);
    let publishes: Vec<_> = found.iter().filter(|s| s.name.ends_with(" publish")).collect();
    let consumed = found.iter().filter(|s| s.name.starts_with("process "));
    for span in consumed {
        assert!(
            publishes
                .iter()
                .any(|p| p.span_context.span_id() == span.parent_span_id),
            "consumer span {} is not a child of a publish span",
            span.name
        );
    }
    sys.stop().await;
}

fn rand_u128() -> u128 {
    uuid::Uuid::new_v4().as_u128() | 1
}

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

async fn relay_locks_held(database_url: &str) -> i64 {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(database_url).await.expect("database");
    let (held,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
         WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()",
    )
    .fetch_one(&mut db)
    .await
    .expect("pg_locks");
    held
}

async fn routed_events(database_url: &str) -> Vec<(String, i64)> {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(database_url).await.expect("database");
    sqlx::query_as(
        "SELECT stream_id, count(*) FROM routing.events
         WHERE event_type = 'kenduren.events.v1.QuestionRouted' GROUP BY stream_id",
    )
    .fetch_all(&mut db)
    .await
    .expect("routing events")
}

/// For `consumer`'s inbox: how many of intake's submissions it holds, and how many event
/// ids it holds more than once.
async fn inbox_counts(database_url: &str, consumer: &str) -> (i64, i64) {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(database_url).await.expect("database");
    let applied: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {consumer}.inbox i JOIN intake.events e USING (event_id)
         WHERE i.consumer = $1 AND e.event_type = 'kenduren.events.v1.QuestionSubmitted'"
    )))
    .bind(consumer)
    .fetch_one(&mut db)
    .await
    .expect("inbox");
    let repeated: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM (SELECT event_id FROM {consumer}.inbox WHERE consumer = $1
         GROUP BY event_id HAVING count(*) > 1) AS twice"
    )))
    .bind(consumer)
    .fetch_one(&mut db)
    .await
    .expect("inbox");
    (applied, repeated)
}

/// Events one instance's four consumers handled.
fn handled(instance: &kenduren::RunningSystem) -> u64 {
    ["intake", "routing", "answering", "reporting"]
        .iter()
        .map(|c| instance.backbone.handled.get(c))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_once_and_the_survivor_takes_over() {
    let sys = TestSystem::start().await;
    let url = sys.settings.database_url.clone();
    let alone = eventually("the first instance's relays active", || {
        let url = url.clone();
        async move {
            let held = relay_locks_held(&url).await;
            (held >= 4).then_some(held)
        }
    })
    .await;
    let second = sys.start_another_instance().await;
    let mut first_intake = sys.intake.clone();
    let mut second_intake = sys.intake_at(second.addrs.intake).await;
    let mut submitted = Vec::new();
    for n in 0..20 {
        let client = if n % 2 == 0 {
            &mut first_intake
        } else {
            &mut second_intake
        };
        submitted.push(
            client
                .submit_question(ktp_question(&format!("twin-{n}")))
                .await
                .expect("submit")
                .into_inner(),
        );
    }
    let routed = eventually("every question routed", || {
        let url = url.clone();
        async move {
            let routed = routed_events(&url).await;
            (routed.len() == 20).then_some(routed)
        }
    })
    .await;
    assert!(
        routed.iter().all(|(_, n)| *n == 1),
        "a question was routed twice: {routed:?}"
    );
    // Each consumer's inbox holds every submission once, and both instances did work.
    eventually("every consumer applied every submission", || {
        let url = url.clone();
        async move {
            let mut counts = Vec::new();
            for consumer in ["intake", "routing", "answering", "reporting"] {
                counts.push(inbox_counts(&url, consumer).await);
            }
            counts.iter().all(|&(applied, _)| applied == 20).then_some(())
        }
    })
    .await;
    for consumer in ["intake", "routing", "answering", "reporting"] {
        let (_, repeated) = inbox_counts(&url, consumer).await;
        assert_eq!(repeated, 0, "{consumer}'s inbox holds an event twice");
    }
    let first_handled = handled(sys.system.as_ref().expect("running"));
    let second_handled = handled(&second);
    assert!(
        first_handled > 0 && second_handled > 0,
        "both instances consume: first handled {first_handled}, second {second_handled}"
    );
    // Still one relay per service, whichever instance holds it.
    assert_eq!(relay_locks_held(&url).await, alone);

    // The first instance stops; the second takes over publishing and consuming.
    let TestSystem { system, .. } = sys;
    let first = system.expect("running");
    let settings = first.backbone.settings.clone();
    first.stop().await.expect("first instance stops");
    for n in 20..25 {
        second_intake
            .submit_question(ktp_question(&format!("twin-{n}")))
            .await
            .expect("submit to the survivor");
    }
    let routed = eventually("questions submitted after the stop routed", || {
        let url = url.clone();
        async move {
            let routed = routed_events(&url).await;
            (routed.len() == 25).then_some(routed)
        }
    })
    .await;
    assert!(routed.iter().all(|(_, n)| *n == 1));
    second.stop().await.expect("second instance stops");
    crate::support::drop_deployment(&settings).await;
}

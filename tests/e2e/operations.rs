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
            std::future::ready((rpc && all).then_some(()))
        },
    )
    .await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_the_named_series_and_they_move_with_work() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    kenduren_runtime::metrics::install_exporter(addr).expect("exporter");
    let mut sys = TestSystem::start().await;
    let before = scrape(addr).await;
    let submitted = sys
        .intake
        .submit_question(ktp_question("metrics-1"))
        .await
        .expect("submitted")
        .into_inner();
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
    // The sampler runs every 5 s; wait for one round after the work.
    tokio::time::sleep(Duration::from_millis(5500)).await;
    let after = scrape(addr).await;

    let submits = ["service=\"intake\"", "method=\"SubmitQuestion\"", "code=\"Ok\""];
    assert!(
        value(&after, "kenduren_rpc_requests_total", &submits)
            > value(&before, "kenduren_rpc_requests_total", &submits)
    );
    assert!(
        after.contains("kenduren_rpc_duration_seconds_bucket{"),
        "no latency histogram"
    );
    for (series, labels) in [
        ("kenduren_events_appended_total", &["service=\"intake\""][..]),
        (
            "kenduren_events_published_total",
            &["source=\"/kenduren/intake\""][..],
        ),
        (
            "kenduren_events_consumed_total",
            &["consumer=\"routing\"", "outcome=\"applied\""][..],
        ),
        ("kenduren_escalations_total", &["level=\"1\""][..]),
    ] {
        assert!(
            value(&after, series, labels) > value(&before, series, labels),
            "{series} did not move"
        );
    }
    for gauge in [
        "kenduren_outbox_backlog",
        "kenduren_outbox_oldest_age_seconds",
        "kenduren_consumer_lag",
        "kenduren_dead_letters",
    ] {
        assert!(after.lines().any(|l| l.starts_with(gauge)), "{gauge} missing");
    }
    sys.stop().await;
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

//! `kenduren bench` at a tiny size: the report has every figure and the figures agree
//! with each other. No speed is asserted — that is what BENCHMARKS.md is for.

use kenduren_bench::{Probe, Settings, Targets};
use serde_json::Value;

use crate::support::TestSystem;

/// Every figure the report must carry (JSON pointers).
const FIGURES: &[&str] = &[
    "/machine/cpu_model",
    "/machine/cores",
    "/machine/memory_bytes",
    "/machine/kernel",
    "/machine/postgres_version",
    "/machine/nats_version",
    "/floors/postgres_commit",
    "/floors/jetstream_publish",
    "/floors/tonic_unary",
    "/submit_closed",
    "/submit_open/done",
    "/submit_open/offered_per_second",
    "/e2e_sustained/routed",
    "/e2e_sustained/inbox",
    "/e2e_sustained/visible",
    "/e2e_at_rate/offered_per_second",
    "/e2e_at_rate/result/visible",
    "/resources/0/peak_rss_bytes",
    "/resources/0/cpu_seconds",
    "/rebuild/generated/events",
    "/rebuild/generated/questions",
    "/rebuild/generate_per_second",
    "/rebuild/replayed",
    "/rebuild/seconds",
    "/rebuild/events_per_second",
    "/rebuild/questions",
    "/rebuild/dead_letters",
    "/queries/questions",
    "/queries/scorecards_month",
    "/queries/scorecards_year",
    "/queries/unanswered_first_page",
    "/queries/unanswered_by_opd",
    "/queries/unanswered_by_kecamatan",
];

/// The rebuild applied exactly what was generated, and its rate follows from its counts.
fn assert_rebuild(v: &Value, events: f64) {
    let r = |field: &str| num(v, &format!("/rebuild/{field}"));
    assert_eq!(r("generated/events"), events, "generated");
    assert_eq!(r("replayed"), events, "replayed");
    assert_eq!(r("applied"), events, "applied");
    assert_eq!(r("dead_letters"), 0.0, "dead-lettered");
    assert_eq!(r("questions"), r("generated/questions"));
    assert_eq!(r("answered"), r("generated/answered"));
    assert_eq!(r("timeline_rows"), r("generated/question_events"));
    assert_eq!(r("sessions"), r("generated/sessions"));
    assert_eq!(r("check_ins"), r("generated/check_ins"));
    assert!(r("questions") > 0.0 && r("answered") > 0.0 && r("answered") <= r("questions"));
    assert!(r("generated/question_events") < events, "sessions are events too");
    assert!((r("events_per_second") - events / r("seconds")).abs() < 1e-6 * r("events_per_second"));
    assert_eq!(
        v.pointer("/rebuild/complete").and_then(Value::as_bool),
        Some(true)
    );
}

/// Every query answered every call, and the answers match the SQL counts.
fn assert_queries(v: &Value, questions: f64) {
    assert_eq!(num(v, "/queries/questions"), questions);
    assert_eq!(
        v.pointer("/queries/consistent").and_then(Value::as_bool),
        Some(true)
    );
    assert_eq!(
        num(v, "/queries/year_assigned"),
        num(v, "/queries/expected_assigned")
    );
    assert!(num(v, "/queries/expected_assigned") > 0.9 * questions);
    assert_eq!(
        num(v, "/queries/unanswered_total"),
        num(v, "/queries/expected_unanswered")
    );
    assert!(num(v, "/queries/year_opds") >= 20.0);
    let iterations = num(v, "/queries/iterations");
    for q in [
        "scorecards_month",
        "scorecards_year",
        "unanswered_first_page",
        "unanswered_by_opd",
        "unanswered_by_kecamatan",
    ] {
        let at = format!("/queries/{q}");
        assert_throughput(v, &at);
        assert_eq!(num(v, &format!("{at}/ok")), iterations, "{at}");
        assert_eq!(num(v, &format!("{at}/errors")), 0.0, "{at}");
    }
}

fn num(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} is not a number in the report"))
}

/// ok == latency count, rate == ok / seconds, and the percentiles in order.
fn assert_throughput(v: &Value, at: &str) {
    let ok = num(v, &format!("{at}/ok"));
    assert!(ok > 0.0, "{at}: nothing succeeded");
    assert_eq!(ok, num(v, &format!("{at}/latency/count")), "{at}: counts differ");
    let rate = ok / num(v, &format!("{at}/seconds"));
    assert!(
        (num(v, &format!("{at}/per_second")) - rate).abs() < 1e-6 * rate.max(1.0),
        "{at}: rate"
    );
    assert_ordered(v, &format!("{at}/latency"));
}

fn assert_ordered(v: &Value, at: &str) {
    let q: Vec<f64> = ["p50_us", "p90_us", "p99_us", "p999_us", "max_us"]
        .iter()
        .map(|p| num(v, &format!("{at}/{p}")))
        .collect();
    assert!(
        q.windows(2).all(|w| w[0] <= w[1]),
        "{at}: percentiles out of order: {q:?}"
    );
}

/// Every question submitted is accounted for, and each one was routed before it was in
/// the inbox, and in the inbox before reporting showed its answer.
fn assert_end_to_end(v: &Value, at: &str) {
    let submitted = num(v, &format!("{at}/submitted"));
    let completed = num(v, &format!("{at}/completed"));
    assert!(submitted > 0.0, "{at}: nothing submitted");
    assert_eq!(
        completed, submitted,
        "{at}: a question did not make it through the pipeline"
    );
    assert_eq!(num(v, &format!("{at}/incomplete")), 0.0);
    for stage in ["routed", "inbox", "visible"] {
        assert_eq!(num(v, &format!("{at}/{stage}/count")), completed, "{at}/{stage}");
        assert_ordered(v, &format!("{at}/{stage}"));
    }
    assert!(num(v, &format!("{at}/routed/max_us")) <= num(v, &format!("{at}/inbox/max_us")));
    assert!(num(v, &format!("{at}/inbox/max_us")) <= num(v, &format!("{at}/visible/max_us")));
    let rate = completed / num(v, &format!("{at}/seconds"));
    assert!(
        (num(v, &format!("{at}/per_second")) - rate).abs() < 1e-6 * rate.max(1.0),
        "{at}: rate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_benchmark_reports_every_figure_and_they_agree() {
    let sys = TestSystem::start().await;
    let a = sys.addrs();
    let targets = Targets {
        intake_url: format!("http://{}", a.intake),
        answering_url: format!("http://{}", a.answering),
        reporting_url: format!("http://{}", a.reporting),
        database_url: sys.settings.database_url.clone(),
        nats_url: sys.settings.nats_url.clone(),
        subject_prefix: sys.settings.subject_prefix.clone(),
        auth_key: sys.settings.auth_key.clone(),
    };
    let settings = Settings {
        concurrency: 2,
        phase_seconds: 0.3,
        payload_bytes: 128,
        settle_seconds: 30.0,
        opd_workers: 8,
        progress: false,
        rebuild_events: 2_000,
        query_questions: 2_000,
        query_iterations: 10,
        ..Settings::default()
    };
    let me = [Probe {
        name: "in-process".into(),
        pid: None,
    }];
    let report = kenduren_bench::run(&targets, &settings, "in-process", &me)
        .await
        .expect("the benchmark runs");
    let table = report.table();
    let v = serde_json::to_value(&report).expect("the report is JSON");
    sys.stop().await;

    for figure in FIGURES {
        assert!(v.pointer(figure).is_some(), "the report lacks {figure}");
    }
    for at in [
        "/floors/postgres_commit",
        "/floors/jetstream_publish",
        "/floors/tonic_unary",
        "/submit_closed",
        "/submit_open/done",
    ] {
        assert_throughput(&v, at);
    }
    assert_end_to_end(&v, "/e2e_sustained");
    assert_end_to_end(&v, "/e2e_at_rate/result");
    assert!(num(&v, "/resources/0/peak_rss_bytes") >= num(&v, "/resources/0/idle_rss_bytes"));
    assert!(num(&v, "/resources/0/idle_rss_bytes") > 0.0);

    // Each ratio is its figure over its floor, both as reported elsewhere in the JSON.
    // The pipeline's five, the rebuild's one, the five queries'.
    let ratios = v["ratios"].as_array().expect("ratios");
    assert_eq!(ratios.len(), 11);
    for r in ratios {
        let pointer = |field: &str| format!("/{}", r[field].as_str().expect("a path").replace('.', "/"));
        let (value, floor) = (num(&v, &pointer("figure")), num(&v, &pointer("floor")));
        assert_eq!(r["value"].as_f64(), Some(value));
        assert_eq!(r["floor_value"].as_f64(), Some(floor));
        let ratio = r["ratio"].as_f64().expect("ratio");
        assert!((ratio - value / floor).abs() < 1e-9, "{r}");
    }
    assert_rebuild(&v, 2_000.0);
    assert_queries(&v, 2_000.0);
    // The pipeline's three and memory's two, the rebuild's one and the five queries'.
    let targets = v["targets"].as_array().expect("targets");
    assert!(targets.len() >= 11, "{targets:?}");
    for name in [
        "rebuild",
        "GetOpdScorecards, one month",
        "ListUnanswered, by kecamatan",
    ] {
        assert!(
            targets
                .iter()
                .any(|t| t["requirement"].as_str().is_some_and(|r| r.contains(name))),
            "no target for {name}"
        );
    }
    assert!(
        v["not_measured"].as_array().is_some_and(Vec::is_empty),
        "everything ran"
    );
    assert!(
        table.contains("floor: postgres commit")
            && table.contains("submit -> in inbox")
            && table.contains("rebuild: 2000 events replayed")
            && table.contains("ListUnanswered, by OPD"),
        "{table}"
    );
}

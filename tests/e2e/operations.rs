//! What operators rely on: one trace per question across services, Prometheus series
//! that move when work happens, and instances that share the work.

mod metrics;
mod scaling;

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

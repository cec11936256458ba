//! The real `init` path, in its own process: OTLP needs a runtime, init is idempotent, the
//! first guard owns the pipeline, and W3C Trace Context is the global propagator.

use std::time::{Duration, Instant};

use kenduren_telemetry::{current_traceparent, init, LogFormat, LogSettings, TelemetryError};

/// Nothing listens on port 1 of the loopback address: exports fail fast, which is fine.
const DEAD_COLLECTOR: &str = "http://127.0.0.1:1";

#[test]
fn init_is_idempotent_and_exports_only_inside_a_runtime() -> Result<(), Box<dyn std::error::Error>> {
    let settings = LogSettings::new(LogFormat::Json).with_otlp_endpoint(DEAD_COLLECTOR);

    // Outside a Tokio runtime, OTLP export is refused with a clear error, not a panic.
    match init("intake", &settings) {
        Err(TelemetryError::NoTokioRuntime { endpoint }) => assert_eq!(endpoint, DEAD_COLLECTOR),
        Err(other) => return Err(format!("unexpected error: {other}").into()),
        Ok(guard) => return Err(format!("init outside a runtime succeeded: {guard:?}").into()),
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let first = init("intake", &settings)?;
        assert!(first.is_owner());
        let second = init("routing", &settings)?;
        assert!(!second.is_owner());
        let third = init("answering", &LogSettings::default())?;
        assert!(!third.is_owner());
        drop((second, third));

        let fields: Vec<String> = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.fields().map(str::to_owned).collect()
        });
        assert!(fields.iter().any(|field| field == "traceparent"), "{fields:?}");

        let span = tracing::info_span!("work");
        let traceparent = span.in_scope(current_traceparent);
        assert!(traceparent.is_some(), "spans must carry trace ids after init");
        span.in_scope(|| tracing::info!(answer = 42, "logged as JSON"));
        drop(span);
        let request = tonic::codegen::http::Request::builder()
            .uri("/kenduren.intake.v1.Intake/SubmitCall")
            .body(())?;
        let server = kenduren_telemetry::grpc_server_span(&request);
        server.in_scope(|| tracing::info!("handler log line carries the trace id"));
        drop(server);

        // Dropping the owner flushes to the (dead) collector and shuts down, without hanging.
        let started = Instant::now();
        tokio::task::spawn_blocking(move || drop(first)).await?;
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "shutdown took {:?}",
            started.elapsed()
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;

    // After shutdown, init stays a harmless no-op.
    let late = init("reporting", &LogSettings::default())?;
    assert!(!late.is_owner());
    Ok(())
}

//! In-memory span capture for tests (cargo feature `testing`).
//!
//! With the feature on, every pipeline's tracer provider carries a dormant tap. Calling
//! [`install_in_memory_exporter`] installs a test pipeline if none exists yet (so later
//! [`crate::init`] calls by the services under test are no-ops) and wakes the tap, after
//! which every finished, sampled span is also copied into the returned exporter.
//!
//! The pipeline is process-wide, so tests that run in parallel share one exporter: look
//! spans up by trace id with [`spans_in_trace`] rather than counting them all.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SimpleSpanProcessor, Span, SpanProcessor};

pub use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

/// A span processor that forwards to an in-memory exporter once one is attached.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tap {
    slot: Arc<OnceLock<Captured>>,
}

#[derive(Debug)]
struct Captured {
    exporter: InMemorySpanExporter,
    processor: SimpleSpanProcessor<InMemorySpanExporter>,
}

impl Tap {
    /// The exporter the tap copies spans into, attaching one on first use.
    fn exporter(&self) -> InMemorySpanExporter {
        self.slot
            .get_or_init(|| {
                let exporter = InMemorySpanExporter::default();
                Captured {
                    processor: SimpleSpanProcessor::new(exporter.clone()),
                    exporter,
                }
            })
            .exporter
            .clone()
    }
}

impl SpanProcessor for Tap {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if let Some(captured) = self.slot.get() {
            captured.processor.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    /// Keeps the captured spans: tests read them after any owning guard is gone.
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Ensures a telemetry pipeline is installed and returns an exporter that receives every
/// span finished from now on, process-wide. Repeated calls return the same exporter.
///
/// Call it before the code under test calls [`crate::init`]. If a foreign global
/// subscriber is already installed, the returned exporter stays empty (a message says so
/// on stderr).
pub fn install_in_memory_exporter() -> InMemorySpanExporter {
    match crate::init::pipeline_for_tests() {
        Some(pipeline) => pipeline.tap.exporter(),
        None => {
            eprintln!(
                "kenduren-telemetry: another global tracing subscriber is installed; \
                 the in-memory exporter will not receive spans"
            );
            InMemorySpanExporter::default()
        }
    }
}

/// The finished spans whose trace id (32 lower-case hex digits) is `trace_id`.
pub fn spans_in_trace(exporter: &InMemorySpanExporter, trace_id: &str) -> Vec<SpanData> {
    exporter
        .get_finished_spans()
        .unwrap_or_default()
        .into_iter()
        .filter(|span| span.span_context.trace_id().to_string() == trace_id)
        .collect()
}

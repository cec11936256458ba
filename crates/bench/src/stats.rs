//! Latency histograms (HDR, microseconds) and the figures every phase reports.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest latency a histogram records; anything slower is clamped to it (and shows as
/// the maximum), so a stall is never dropped.
const MAX_US: u64 = 120_000_000;

/// A latency recorder: HDR histogram in microseconds, three significant digits.
#[derive(Debug, Clone)]
pub struct Recorder {
    hist: Histogram<u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        // 1 µs .. 120 s at 3 significant digits: the bounds are constants, so this cannot fail.
        let hist = Histogram::new_with_bounds(1, MAX_US, 3).expect("constant histogram bounds");
        Self { hist }
    }

    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(MAX_US)
            .clamp(1, MAX_US);
        self.hist.saturating_record(us);
    }

    /// Adds another recorder's values.
    pub fn merge(&mut self, other: &Recorder) {
        // Same bounds on both sides, so adding cannot fail; saturate rather than panic.
        let _ = self.hist.add(&other.hist);
    }

    /// The summary a report carries.
    pub fn summary(&self) -> Latency {
        let q = |q: f64| {
            if self.hist.is_empty() {
                0
            } else {
                self.hist.value_at_quantile(q)
            }
        };
        Latency {
            count: self.hist.len(),
            p50_us: q(0.50),
            p90_us: q(0.90),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: if self.hist.is_empty() { 0 } else { self.hist.max() },
        }
    }
}

/// Latency percentiles of one measurement, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    /// How many latencies were recorded.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Slowest.
    pub max_us: u64,
}

/// What a load phase did: operations, failures, wall time, rate and latency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Operations that succeeded.
    pub ok: u64,
    /// Operations that failed (not counted in the rate or the latency).
    pub errors: u64,
    /// Wall-clock seconds of the phase.
    pub seconds: f64,
    /// `ok / seconds`.
    pub per_second: f64,
    /// Latency of the successful operations.
    pub latency: Latency,
}

impl Throughput {
    /// Builds the figure from a merged recorder; the rate follows from the counts.
    pub fn new(recorder: &Recorder, errors: u64, elapsed: Duration) -> Self {
        let latency = recorder.summary();
        let seconds = elapsed.as_secs_f64();
        Self {
            ok: latency.count,
            errors,
            seconds,
            per_second: rate(latency.count, seconds),
            latency,
        }
    }
}

/// `count / seconds`, 0 for an empty interval.
pub fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// Milliseconds for the human table.
pub fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_ordered_and_count_every_record() {
        let mut r = Recorder::new();
        for i in 1..=1000u64 {
            r.record(Duration::from_micros(i * 10));
        }
        let s = r.summary();
        assert_eq!(s.count, 1000);
        assert!(s.p50_us <= s.p90_us && s.p90_us <= s.p99_us && s.p99_us <= s.p999_us);
        assert!(s.p999_us <= s.max_us);
        assert!((4_990..=5_010).contains(&s.p50_us), "p50 {}", s.p50_us);
    }

    #[test]
    fn an_empty_recorder_reports_zeros_and_no_rate() {
        let t = Throughput::new(&Recorder::new(), 3, Duration::ZERO);
        assert_eq!(t.ok, 0);
        assert_eq!(t.errors, 3);
        assert_eq!(t.per_second, 0.0);
        assert_eq!(t.latency, Latency::default());
    }
}

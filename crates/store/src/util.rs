//! Small helpers shared by the relay and the consumer: shutdown, backoff, outage logging.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::FutureExt;

/// A shutdown signal that can be polled many times, even after it fired (an `async`
/// block must not be polled again once complete).
pub(crate) struct Shutdown<'a> {
    signal: Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
    fired: bool,
}

impl<'a> Shutdown<'a> {
    pub(crate) fn new(signal: impl Future<Output = ()> + Send + 'a) -> Self {
        Self {
            signal: Box::pin(signal),
            fired: false,
        }
    }

    /// Whether shutdown was requested, without waiting.
    pub(crate) fn requested(&mut self) -> bool {
        if !self.fired && self.signal.as_mut().now_or_never().is_some() {
            self.fired = true;
        }
        self.fired
    }

    /// Resolves when shutdown is requested (at once if it already was). Cancel-safe.
    pub(crate) async fn wait(&mut self) {
        if !self.fired {
            self.signal.as_mut().await;
            self.fired = true;
        }
    }

    /// Sleeps for `duration`; returns `true` if shutdown interrupted the sleep.
    pub(crate) async fn sleep(&mut self, duration: Duration) -> bool {
        tokio::select! {
            _ = self.wait() => true,
            _ = tokio::time::sleep(duration) => false,
        }
    }
}

/// `base * 2^attempt`, capped.
pub(crate) fn exponential(base: Duration, cap: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1u32 << attempt.min(20)).min(cap)
}

/// Exponential backoff that remembers how many failures happened in a row.
#[derive(Debug)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            failures: 0,
        }
    }

    /// The delay before the next attempt after one more failure.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = exponential(self.base, self.cap, self.failures);
        self.failures = self.failures.saturating_add(1);
        delay
    }

    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Logs a dependency outage once when it starts and once when it ends, so a long
/// outage does not flood the logs.
#[derive(Debug)]
pub(crate) struct Outage {
    what: &'static str,
    down: bool,
}

impl Outage {
    pub(crate) fn new(what: &'static str) -> Self {
        Self { what, down: false }
    }

    pub(crate) fn failed(&mut self, error: &dyn Display) {
        if self.down {
            tracing::debug!(dependency = self.what, error = %error, "still failing; retrying");
        } else {
            self.down = true;
            tracing::warn!(dependency = self.what, error = %error, "unreachable or failing; retrying until it is back");
        }
    }

    pub(crate) fn recovered(&mut self) {
        if self.down {
            self.down = false;
            tracing::info!(dependency = self.what, "reachable again");
        }
    }
}

/// At most `max` characters of `text`, for error columns and logs.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let delays: Vec<u128> = (0..9).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
        assert_eq!(
            exponential(Duration::from_secs(1), Duration::from_secs(60), 99),
            Duration::from_secs(60)
        );
    }

    #[tokio::test]
    async fn shutdown_can_be_polled_after_it_fired() {
        let mut s = Shutdown::new(async {});
        assert!(s.requested());
        assert!(s.requested());
        s.wait().await;
        assert!(s.sleep(Duration::from_secs(60)).await);
        let mut never = Shutdown::new(futures::future::pending());
        assert!(!never.requested());
        assert!(!never.sleep(Duration::from_millis(1)).await);
    }
}

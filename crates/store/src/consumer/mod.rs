//! The consumer runner: a durable JetStream pull consumer feeding an [`EventHandler`],
//! exactly once per consumer and in stream order.
//!
//! Each message is applied together with an inbox row and the stream position, then
//! acked; the messages that have already arrived share one transaction, so a burst
//! pays one commit. Redeliveries hit the inbox; a later version arriving
//! before an earlier one is a gap: rolled back and nak'ed with a delay until the gap
//! fills. Messages that cannot be decoded, are poison, or keep failing until their
//! deliveries are nearly exhausted are parked in `dead_letters`, never silently dropped.

mod advisory;
mod apply;
mod handler;
mod settle;

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, consumer::AckPolicy};
use futures::{FutureExt, StreamExt};
use sqlx::PgPool;

use crate::util::{Backoff, Outage, Shutdown};
use crate::StoreError;

pub use apply::dead_letter_count;
pub use handler::{BoxError, EventHandler, HandlerError};

/// Consumer settings.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Durable consumer name; also the inbox key. Use the service name, so the events the
    /// service appended itself (recorded in its inbox) are recognised and skipped.
    pub durable_name: String,
    /// Subject filter, e.g. `Subjects::questions()` (one filter: NATS 2.9).
    pub filter_subject: String,
    /// How long the server waits for an ack before redelivering; above the handler's worst case.
    pub ack_wait: Duration,
    /// Deliveries per message; the runner parks a message at `max_deliver - 1` so it is
    /// never dropped by the server. Zero or less means unlimited (never parked for retries).
    pub max_deliver: i64,
    /// First nak delay after a transient failure; doubles per delivery.
    pub backoff_base: Duration,
    /// Cap of every nak delay, and of retry sleeps.
    pub backoff_cap: Duration,
    /// Messages requested per pull.
    pub batch_size: usize,
    /// First nak delay after a gap; doubles per delivery.
    pub gap_delay: Duration,
    /// How long one pull request waits for messages.
    pub fetch_expires: Duration,
    /// Whether an event whose causing event is not in this consumer's inbox is a gap.
    /// Only enable it when this consumer receives the causing events too.
    pub check_causation: bool,
}

impl ConsumerConfig {
    /// Defaults: ack_wait 30 s, max_deliver 10, backoff 1 s..60 s, batch 64, gap 500 ms.
    pub fn new(durable_name: impl Into<String>, filter_subject: impl Into<String>) -> Self {
        Self {
            durable_name: durable_name.into(),
            filter_subject: filter_subject.into(),
            ack_wait: Duration::from_secs(30),
            max_deliver: 10,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            batch_size: 64,
            gap_delay: Duration::from_millis(500),
            fetch_expires: Duration::from_secs(5),
            check_causation: true,
        }
    }

    fn validate(&self) -> Result<(), StoreError> {
        let name_ok = !self.durable_name.is_empty()
            && self
                .durable_name
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '.' | '*' | '>'));
        let reason = if !name_ok {
            "durable_name must be printable ASCII without '.', '*' or '>'"
        } else if self.filter_subject.is_empty() {
            "filter_subject must not be empty"
        } else if self.batch_size == 0 {
            "batch_size must be positive"
        } else if self.ack_wait.is_zero() || self.fetch_expires.is_zero() {
            "ack_wait and fetch_expires must be positive"
        } else {
            return Ok(());
        };
        Err(StoreError::InvalidConfig {
            reason: reason.into(),
        })
    }

    fn pull_config(&self) -> pull::Config {
        pull::Config {
            durable_name: Some(self.durable_name.clone()),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ack_wait: self.ack_wait,
            max_deliver: self.max_deliver,
            filter_subject: self.filter_subject.clone(),
            ..Default::default()
        }
    }
}

/// How one pull request ended.
enum BatchEnd {
    Drained,
    /// Ended without a message: nothing to do, or a consumer the server no longer knows.
    Idle,
    Failed,
    Shutdown,
}

/// Runs one durable consumer.
#[derive(Debug, Clone)]
pub struct Consumer {
    config: ConsumerConfig,
}

impl Consumer {
    /// A consumer with `config`.
    pub fn new(config: ConsumerConfig) -> Self {
        Self { config }
    }

    /// Consumes `stream_name` until `shutdown` resolves, then finishes the message in hand
    /// and returns `Ok`. NATS and Postgres failures are retried, never returned; only an
    /// invalid configuration is an error.
    pub async fn run<H: EventHandler>(
        self,
        pool: PgPool,
        js: jetstream::Context,
        stream_name: &str,
        handler: H,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), StoreError> {
        self.config.validate()?;
        let watcher = AbortOnDrop(tokio::spawn(advisory::watch(
            pool.clone(),
            js.clone(),
            stream_name.to_owned(),
            self.config.durable_name.clone(),
        )));
        let result = self.pull(pool, js, stream_name, handler, shutdown).await;
        drop(watcher);
        result
    }

    /// The fetch loop of [`Consumer::run`].
    async fn pull<H: EventHandler>(
        self,
        pool: PgPool,
        js: jetstream::Context,
        stream_name: &str,
        handler: H,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), StoreError> {
        let mut shutdown = Shutdown::new(shutdown);
        let mut nats = Outage::new("nats (consumer)");
        let mut db = Outage::new("postgres (consumer)");
        let mut backoff = Backoff::new(Duration::from_millis(200), self.config.backoff_cap);

        while !shutdown.requested() {
            let consumer = tokio::select! {
                _ = shutdown.wait() => break,
                created = js.create_consumer_on_stream(self.config.pull_config(), stream_name) => created,
            };
            let consumer: jetstream::consumer::PullConsumer = match consumer {
                Ok(consumer) => consumer,
                Err(error) => {
                    nats.failed(&error);
                    shutdown.sleep(backoff.next_delay()).await;
                    continue;
                }
            };
            // Pull until something fails, then recreate the consumer handle (cheap, and it
            // recovers from a deleted consumer or a recreated stream).
            loop {
                let batch = tokio::select! {
                    _ = shutdown.wait() => return Ok(()),
                    batch = consumer
                        .batch()
                        .max_messages(self.config.batch_size)
                        .expires(self.config.fetch_expires)
                        .messages() => batch,
                };
                let batch = match batch {
                    Ok(batch) => batch,
                    Err(error) => {
                        nats.failed(&error);
                        shutdown.sleep(backoff.next_delay()).await;
                        break;
                    }
                };
                match self
                    .drain(batch, &pool, &handler, &mut shutdown, &mut nats, &mut db)
                    .await
                {
                    BatchEnd::Drained => backoff.reset(),
                    BatchEnd::Idle => {
                        // A pull on a consumer the server no longer knows (its stream was
                        // deleted and recreated, e.g. by `kenduren republish`, or the server
                        // lost its store) gets no answer at all and ends like an idle one;
                        // without this check the runner would pull on it forever.
                        if let Err(error) = consumer.get_info().await {
                            nats.failed(&error);
                            break;
                        }
                        backoff.reset();
                    }
                    BatchEnd::Shutdown => return Ok(()),
                    BatchEnd::Failed => {
                        shutdown.sleep(backoff.next_delay()).await;
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Processes the messages of one pull request as they arrive.
    async fn drain<H: EventHandler>(
        &self,
        mut batch: pull::Batch,
        pool: &PgPool,
        handler: &H,
        shutdown: &mut Shutdown<'_>,
        nats: &mut Outage,
        db: &mut Outage,
    ) -> BatchEnd {
        let started = tokio::time::Instant::now();
        let mut received = 0usize;
        loop {
            let next = tokio::select! {
                _ = shutdown.wait() => {
                    release(batch, Vec::new()).await;
                    return BatchEnd::Shutdown;
                }
                next = batch.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    nats.recovered();
                    // Whatever else has already arrived goes into the same transaction.
                    let mut chunk = vec![message];
                    let mut failed = None;
                    while chunk.len() < self.config.batch_size {
                        match batch.next().now_or_never() {
                            Some(Some(Ok(message))) => chunk.push(message),
                            Some(Some(Err(error))) => {
                                failed = Some(error);
                                break;
                            }
                            Some(None) | None => break,
                        }
                    }
                    received += chunk.len();
                    let unhandled = self.process_chunk(pool, handler, chunk, shutdown, db).await;
                    if shutdown.requested() {
                        release(batch, unhandled).await;
                        return BatchEnd::Shutdown;
                    }
                    if let Some(error) = failed {
                        nats.failed(&error);
                        return BatchEnd::Failed;
                    }
                }
                Some(Err(error)) => {
                    nats.failed(&error);
                    return BatchEnd::Failed;
                }
                // An empty pull normally ends when it expires; ending at once means the
                // subscription is gone, and looping on it would spin.
                None if received == 0 && started.elapsed() < self.config.fetch_expires / 2 => {
                    nats.failed(&"pull request ended at once without messages");
                    return BatchEnd::Failed;
                }
                None if received == 0 => return BatchEnd::Idle,
                None => return BatchEnd::Drained,
            }
        }
    }
}

/// Counts one handled delivery by what became of it (low cardinality: consumer × outcome).
fn consumed(consumer: &str, outcome: &'static str) {
    metrics::counter!("kenduren_events_consumed_total", "consumer" => consumer.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// Hands back what a stopping consumer received but did not handle (`unhandled`, and
/// whatever else of the pull arrives), so the next instance gets it now rather than
/// after `ack_wait`. The rest of a pull may still be in transit, so this listens briefly
/// first; the naks go out only after the pull's subscription is gone, or the server would
/// redeliver them straight into it. A nak counts as a delivery, as the redelivery after
/// `ack_wait` would.
async fn release(mut batch: pull::Batch, mut unhandled: Vec<jetstream::Message>) {
    while let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_millis(50), batch.next()).await {
        unhandled.push(message);
    }
    drop(batch);
    for message in unhandled {
        if let Err(error) = message.ack_with(jetstream::AckKind::Nak(None)).await {
            tracing::debug!(%error, "nak not sent; the server redelivers after ack_wait");
        }
    }
}

/// Aborts the advisory watcher when the runner returns or is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Acks without waiting for the server's confirmation: the effect is already committed
/// with its inbox row, so a lost ack only means a redelivery the inbox turns into a
/// no-op — and not waiting saves a NATS round trip per message. The client flushes
/// pending acks when its connection drains at shutdown.
async fn ack(message: &jetstream::Message) {
    if let Err(error) = message.ack().await {
        tracing::debug!(%error, "ack not sent; a redelivery will be skipped as duplicate");
    }
}

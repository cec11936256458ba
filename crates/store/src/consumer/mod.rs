//! The consumer runner: a durable JetStream pull consumer feeding an [`EventHandler`],
//! exactly once per consumer and in stream order.
//!
//! Each message is applied in one transaction together with an inbox row and the
//! stream position, then acked. Redeliveries hit the inbox; a later version arriving
//! before an earlier one is a gap: rolled back and nak'ed with a delay until the gap
//! fills. Messages that cannot be decoded, are poison, or keep failing until their
//! deliveries are nearly exhausted are parked in `dead_letters`, never silently dropped.

mod advisory;
mod apply;
mod handler;

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, consumer::AckPolicy, AckKind};
use futures::StreamExt;
use kenduren_bus::CloudEvent;
use sqlx::PgPool;
use tracing::Instrument;

use crate::util::{exponential, Backoff, Outage, Shutdown};
use crate::StoreError;
use apply::{apply, park, DeadLetter, Outcome};

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
                _ = shutdown.wait() => return BatchEnd::Shutdown,
                next = batch.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    nats.recovered();
                    received += 1;
                    self.process(pool, handler, message, shutdown, db).await;
                    if shutdown.requested() {
                        return BatchEnd::Shutdown;
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

    /// Handles one message to the end (ack, nak or park), retrying in place while our
    /// own Postgres bookkeeping fails so that an outage does not burn deliveries.
    async fn process<H: EventHandler>(
        &self,
        pool: &PgPool,
        handler: &H,
        message: jetstream::Message,
        shutdown: &mut Shutdown<'_>,
        db: &mut Outage,
    ) {
        let (sequence, delivered) = match message.info() {
            Ok(info) => (i64::try_from(info.stream_sequence).ok(), info.delivered),
            Err(_) => (None, 1),
        };
        let span = tracing::info_span!(
            "consume event",
            "messaging.system" = "nats",
            "messaging.operation" = "process",
            "messaging.destination.name" = %message.subject,
            "messaging.consumer.group.name" = %self.config.durable_name,
            "messaging.message.id" = tracing::field::Empty,
            "messaging.nats.delivered" = delivered,
            "kenduren.event.type" = tracing::field::Empty,
        );
        async {
            let mut retry = Backoff::new(Duration::from_millis(200), self.config.backoff_cap);
            loop {
                match self
                    .process_once(pool, handler, &message, sequence, delivered)
                    .await
                {
                    Ok(()) => {
                        db.recovered();
                        return;
                    }
                    Err(error) => {
                        db.failed(&error);
                        // Keep the message ours while we wait for Postgres.
                        let _ = message.ack_with(AckKind::Progress).await;
                        if shutdown.sleep(retry.next_delay()).await {
                            // Not acked: the server redelivers it after ack_wait.
                            return;
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await;
    }

    async fn process_once<H: EventHandler>(
        &self,
        pool: &PgPool,
        handler: &H,
        message: &jetstream::Message,
        sequence: Option<i64>,
        delivered: i64,
    ) -> Result<(), sqlx::Error> {
        let headers = message.headers.as_ref();
        let letter = |event_id, error| DeadLetter {
            consumer: &self.config.durable_name,
            event_id,
            subject: message.subject.as_str(),
            stream_sequence: sequence,
            deliveries: Some(delivered),
            error,
            headers,
            payload: &message.payload,
        };

        let event = match CloudEvent::from_message(headers, message.payload.clone()) {
            Ok(event) => event,
            Err(error) => {
                let error = format!("undecodable envelope: {error}");
                consumed(&self.config.durable_name, "dead_lettered");
                tracing::warn!(%error, "parking undecodable message");
                park(pool, &letter(None, error.as_str())).await?;
                ack(message).await;
                return Ok(());
            }
        };
        let span = tracing::Span::current();
        span.record("messaging.message.id", tracing::field::display(event.id));
        span.record("kenduren.event.type", event.ty.as_str());

        let config = &self.config;
        let (reason, base) = match apply(
            pool,
            &config.durable_name,
            config.check_causation,
            handler,
            &event,
        )
        .await?
        {
            Outcome::Applied => {
                consumed(&config.durable_name, "applied");
                tracing::debug!("event applied");
                ack(message).await;
                return Ok(());
            }
            Outcome::Duplicate => {
                consumed(&config.durable_name, "duplicate");
                tracing::debug!("duplicate event skipped");
                ack(message).await;
                return Ok(());
            }
            Outcome::Poison(reason) => {
                consumed(&config.durable_name, "dead_lettered");
                tracing::warn!(%reason, "parking poison event");
                let error = format!("poison: {reason}");
                park(pool, &letter(Some(event.id), error.as_str())).await?;
                ack(message).await;
                return Ok(());
            }
            Outcome::Gap(reason) => (format!("gap: {reason}"), config.gap_delay),
            Outcome::Transient(reason) => (format!("transient: {reason}"), config.backoff_base),
        };
        consumed(
            &config.durable_name,
            if reason.starts_with("gap") { "gap" } else { "retry" },
        );

        if config.max_deliver > 0 && delivered >= config.max_deliver - 1 {
            consumed(&config.durable_name, "dead_lettered");
            tracing::warn!(%reason, delivered, "giving up on event; parking it");
            let error = format!("gave up after {delivered} deliveries: {reason}");
            park(pool, &letter(Some(event.id), error.as_str())).await?;
            ack(message).await;
            return Ok(());
        }
        let attempt = u32::try_from(delivered.saturating_sub(1)).unwrap_or(u32::MAX);
        let delay = exponential(base, config.backoff_cap, attempt);
        tracing::debug!(%reason, ?delay, "event not applied; nak with delay");
        if let Err(error) = message.ack_with(AckKind::Nak(Some(delay))).await {
            tracing::debug!(%error, "nak failed; the server redelivers after ack_wait");
        }
        Ok(())
    }
}

/// Counts one handled delivery by what became of it (low cardinality: consumer × outcome).
fn consumed(consumer: &str, outcome: &'static str) {
    metrics::counter!("kenduren_events_consumed_total", "consumer" => consumer.to_owned(), "outcome" => outcome)
        .increment(1);
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

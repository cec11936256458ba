//! `kenduren watch --opd CODE`: an OPD's own events, printed as they arrive.
//!
//! This is the example an OPD's developers copy. It does the five things any OPD
//! subscriber must do with the shipped NATS configuration (deploy/nats/README.md):
//!
//! 1. log in as the OPD's NATS user (`opd-<CODE>`) with the inbox prefix
//!    `_INBOX.opd-<CODE>` — the only inbox the user may subscribe to;
//! 2. create (or re-bind) the durable pull consumer `opd-<CODE>` on the stream,
//!    filtered on `<prefix>.v1.question.<CODE>.>` — the only consumer and filter the
//!    user may create, so it never sees another OPD's questions;
//! 3. pull messages and decode the CloudEvents headers (`ce-type`, `ce-id`,
//!    `ce-subject` = question id, `ce-time`, …) with [`CloudEvent::from_message`];
//! 4. decode the protobuf payload named by `ce-type` with [`AnyEvent::decode`];
//! 5. ack only after handling, so an event is redelivered if the subscriber dies
//!    half-way (handle events idempotently: `ce-id` identifies each one).
//!
//! Payloads never carry citizen identity; fetch the contact over gRPC
//! (`AnsweringService.GetQuestion`) when the citizen allows it.

use std::time::Duration;

use anyhow::{Context, Result};
use async_nats::jetstream::{self, consumer::pull, AckKind};
use clap::Args;
use futures::StreamExt;
use kenduren_bus::CloudEvent;
use kenduren_proto::AnyEvent;

/// Options of `kenduren watch`.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// The OPD whose events to watch, e.g. DISPENDUKCAPIL.
    #[arg(long)]
    pub opd: String,
    /// NATS URL.
    #[arg(long, env = "KENDUREN_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// JetStream stream name.
    #[arg(long, env = "KENDUREN_STREAM", default_value = "KENDUREN")]
    pub stream: String,
    /// First token of every subject.
    #[arg(long, env = "KENDUREN_SUBJECT_PREFIX", default_value = "kenduren")]
    pub subject_prefix: String,
    /// NATS user (the shipped configuration has `opd-<CODE>`); none for an open server.
    #[arg(long, env = "NATS_USER")]
    pub nats_user: Option<String>,
    /// The NATS user's password.
    #[arg(long, env = "NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// Stop after this many events (0: until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    pub count: u64,
}

/// The OPD's durable consumer name, as the shipped permissions expect it.
pub fn consumer_name(opd: &str) -> String {
    format!("opd-{opd}")
}

/// The inbox prefix the OPD's NATS user may subscribe to.
pub fn inbox_prefix(opd: &str) -> String {
    format!("_INBOX.opd-{opd}")
}

/// Step 1: connects as the OPD, with its own inbox prefix.
pub async fn connect(args: &WatchArgs) -> Result<async_nats::Client> {
    kenduren_domain::OpdCode::parse(&args.opd).context("--opd")?;
    let mut options = async_nats::ConnectOptions::new()
        .name(format!("kenduren-watch-{}", args.opd))
        .custom_inbox_prefix(inbox_prefix(&args.opd));
    if let Some(user) = &args.nats_user {
        options = options.user_and_password(user.clone(), args.nats_password.clone().unwrap_or_default());
    }
    options
        .connect(&args.nats_url)
        .await
        .with_context(|| format!("cannot connect to NATS at {}", args.nats_url))
}

/// Step 2: the OPD's durable pull consumer, filtered on its own subjects. Creating it
/// again with the same configuration re-binds to it and keeps its position.
pub async fn consumer(
    js: &jetstream::Context,
    stream: &str,
    subject_prefix: &str,
    opd: &str,
) -> Result<jetstream::consumer::PullConsumer> {
    let subjects = kenduren_bus::Subjects::new(subject_prefix).context("--subject-prefix")?;
    let config = pull::Config {
        durable_name: Some(consumer_name(opd)),
        filter_subject: subjects.opd(opd),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: Duration::from_secs(30),
        max_deliver: 10,
        ..Default::default()
    };
    // Names the stream instead of looking it up: the OPD user may not list streams.
    js.create_consumer_on_stream(config, stream)
        .await
        .with_context(|| format!("cannot create consumer {} on stream {stream}", consumer_name(opd)))
}

/// Steps 3 and 4: one line describing a received event, or why it cannot be decoded.
pub fn describe(message: &async_nats::Message) -> String {
    let event = match CloudEvent::from_message(message.headers.as_ref(), message.payload.clone()) {
        Ok(e) => e,
        Err(e) => return format!("{}  (not a Kenduren event: {e})", message.subject),
    };
    let payload = match AnyEvent::decode(&event.ty, &event.data) {
        Ok(p) => format!("{p:?}"),
        Err(e) => format!("(payload not decoded: {e:?})"),
    };
    format!(
        "{}  {}  question {}  v{}  id {}\n    {}",
        event.time.to_rfc3339(),
        event.ty.trim_start_matches("kenduren.events.v1."),
        event.subject,
        event.stream_version,
        event.id,
        payload
    )
}

/// Runs `kenduren watch`.
pub async fn run(args: WatchArgs) -> Result<()> {
    let client = connect(&args).await?;
    let js = jetstream::new(client);
    let consumer = consumer(&js, &args.stream, &args.subject_prefix, &args.opd).await?;
    eprintln!(
        "watching {} on stream {} as consumer {} (Ctrl-C to stop)",
        kenduren_bus::Subjects::new(args.subject_prefix.as_str())?.opd(&args.opd),
        args.stream,
        consumer_name(&args.opd)
    );
    let mut messages = consumer.messages().await.context("cannot pull messages")?;
    let mut seen = 0u64;
    loop {
        let next = tokio::select! {
            next = messages.next() => next,
            _ = tokio::signal::ctrl_c() => break,
        };
        let Some(message) = next else { break };
        let message = message.context("pulling a message")?;
        println!("{}", describe(&message));
        // Step 5: ack after handling; a failed ack means the event comes again.
        message
            .ack_with(AckKind::Ack)
            .await
            .map_err(|e| anyhow::anyhow!("ack failed: {e}"))?;
        seen += 1;
        if args.count > 0 && seen >= args.count {
            break;
        }
    }
    Ok(())
}
